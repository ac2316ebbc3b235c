"""Every op of tinygrad_rnn declared once; the op tests are generated from these declarations.

In the manner of MyGrad's test factories, an op is a declaration, not a test:

* ``op``: how tinygrad_rnn calls it, on Tensors (``lambda a, b: a + b``);
* ``reference``: the same computation in NumPy, on arrays;
* ``torch``: the same computation in PyTorch (``None``: ``op`` itself works on torch tensors);
* ``cases``: a hypothesis strategy of ``(input shapes, parameters)``, with shapes drawn to be
  mutually broadcastable, size-1 and (where meaningful) size-0 dimensions included;
* ``domain``: the interval each input's values come from (``log`` and ``sqrt`` need positive
  inputs, a divisor must stay away from 0).

``tests/test_op_gradients.py`` turns each declaration into forward, gradient (central finite
differences in float64), dtype, no-mutation and no-aliasing tests on every backend (NumPy and
array-api-strict: every op here is in the Array API standard), and ``tests/test_ops_torch.py``
into PyTorch comparisons. A test there fails if an op class of ``tinygrad_rnn.ops`` has no
declaration here.

Values are drawn uniformly from the domain by a NumPy generator seeded by hypothesis: ties (for
``max``, ``maximum``) and points within eps of a kink (``abs``, ``relu``, ``clip``) then have
probability ~1e-6, so finite differences are valid there.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
from hypothesis import HealthCheck, settings

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

# Fixtures (the ``device`` parameter, conftest's autouse seed) are function-scoped; each
# hypothesis example draws its own data, so sharing them across examples is intended.
given_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass(frozen=True)
class Domain:
    """Values drawn uniformly from [low, high); with a random sign if ``signed`` (low <= |v| < high)."""

    low: float = -3.0
    high: float = 3.0
    signed: bool = False

    def sample(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        values = rng.uniform(self.low, self.high, size=shape)
        return values * rng.choice([-1.0, 1.0], size=shape) if self.signed else values


ANY = Domain()
POSITIVE = Domain(0.1, 3.0)
NONZERO = Domain(0.5, 3.0, signed=True)  # a divisor: finite differences stay accurate


@dataclass(frozen=True)
class OpSpec:
    name: str
    op: Callable[..., Any]
    reference: Callable[..., Any]
    cases: st.SearchStrategy  # of (tuple of input shapes, dict of parameters)
    domain: Domain | tuple[Domain, ...] = ANY
    torch: Callable[..., Any] | None = None
    eps: float = 1e-6  # finite-difference step

    def __repr__(self) -> str:
        return self.name

    def domains(self, n: int) -> tuple[Domain, ...]:
        return self.domain if isinstance(self.domain, tuple) else (self.domain,) * n


@dataclass(frozen=True)
class Case:
    """One drawn example: float64 input arrays and the op's parameters."""

    arrays: tuple[np.ndarray, ...]
    params: dict

    def tensors(self, device: str, dtype: str = "float64", requires_grad: bool = True) -> list[Tensor]:
        return [Tensor(a, dtype=dtype, device=device, requires_grad=requires_grad) for a in self.arrays]


@st.composite
def cases(draw: Any, spec: OpSpec) -> Case:
    shapes, params = draw(spec.cases)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    arrays = tuple(d.sample(rng, s) for d, s in zip(spec.domains(len(shapes)), shapes))
    return Case(arrays, params)


def as_tuple(out: Any) -> tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def single_output(op: Callable[..., Any]) -> Callable[..., Tensor]:
    """``op`` with its outputs (one tensor, or several for split/chunk/unbind) joined into one."""

    def joined(*tensors: Tensor, **params: Any) -> Tensor:
        outs = as_tuple(op(*tensors, **params))
        return outs[0] if len(outs) == 1 else tg.cat([o.reshape(-1) for o in outs])

    return joined


# --- shape and parameter strategies ----------------------------------------------------------
def shapes_only(shapes: st.SearchStrategy) -> st.SearchStrategy:
    return shapes.map(lambda s: (s, {}))


def with_params(shapes: st.SearchStrategy, params: Callable[[tuple], st.SearchStrategy]) -> st.SearchStrategy:
    """Draw the shapes, then parameters that suit them."""
    return shapes.flatmap(lambda s: params(s).map(lambda p: (s, p)))


@st.composite
def _maybe_empty(draw: Any, shapes: st.SearchStrategy) -> tuple:
    """Shapes drawn with sides >= 1, where one example in four gets an axis of size 0 (every
    shape that has it at a size above 1 gets 0 there, so they still broadcast together)."""
    shapes = draw(shapes)
    ndim = max((len(s) for s in shapes), default=0)
    if ndim == 0 or draw(st.integers(0, 3)) != 0:
        return shapes
    axis = draw(st.integers(1, ndim))  # counted from the right, as broadcasting aligns shapes
    holders = [i for i, s in enumerate(shapes) if len(s) >= axis]
    emptied = [i for i in holders if shapes[i][-axis] != 1] or holders[:1]
    return tuple(
        s[: len(s) - axis] + (0,) + s[len(s) - axis + 1 :] if i in emptied else s for i, s in enumerate(shapes)
    )


def broadcastable(n: int, min_side: int = 0) -> st.SearchStrategy:
    """n mutually broadcastable shapes of up to 3 dimensions (sides 0-4 by default)."""
    shapes = hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3, min_side=max(min_side, 1), max_side=4)
    shapes = shapes.map(lambda b: b.input_shapes)
    return _maybe_empty(shapes) if min_side == 0 else shapes


def one_shape(min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4) -> st.SearchStrategy:
    shape = hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=max(min_side, 1), max_side=max_side)
    shapes = shape.map(lambda s: (s,))
    return _maybe_empty(shapes) if min_side == 0 else shapes


def _empty_inner(a: tuple, b: tuple) -> tuple:
    """Shapes of the same matrix product with inner dimension 0 (a sum over nothing: zeros)."""
    return a[:-1] + (0,), (0,) if len(b) == 1 else b[:-2] + (0, b[-1])


def axis_choices(ndim: int, allow_none: bool = True, allow_empty: bool = True) -> st.SearchStrategy:
    """``axis`` as None, one (possibly negative) int, or a tuple of distinct axes."""
    options = [st.none()] if allow_none else []
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    if ndim or allow_empty:
        options.append(hnp.valid_tuple_axes(ndim, min_size=0 if allow_empty else 1))
    return st.one_of(options)


def reduction_params(shapes: tuple, allow_empty: bool = True) -> st.SearchStrategy:
    axis = axis_choices(len(shapes[0]), allow_empty=allow_empty)
    return st.fixed_dictionaries({"axis": axis, "keepdims": st.booleans()})


def scalar_params(values: st.SearchStrategy) -> Callable[[tuple], st.SearchStrategy]:
    return lambda shapes: st.fixed_dictionaries({"s": values})


SCALARS = st.floats(0.5, 2.0)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def _reshape_params(draw: Any, shapes: tuple) -> dict:
    (shape,) = shapes
    size = math.prod(shape)
    if size == 0:  # any arrangement of the same sides holds no elements too
        target = list(draw(st.permutations(shape)))
    else:
        ndim = draw(st.integers(0 if size == 1 else 1, 4))
        target, remaining = [], size
        for _ in range(ndim - 1):
            side = draw(st.sampled_from(_divisors(remaining)))
            target.append(side)
            remaining //= side
        if ndim:
            target.append(remaining)
        if target and draw(st.booleans()):
            target[draw(st.integers(0, len(target) - 1))] = -1  # "whatever is left"
    return {"shape": tuple(target), "packed": draw(st.booleans())}


def _reshape(x: Any, shape: tuple, packed: bool) -> Any:
    return x.reshape(shape) if packed else x.reshape(*shape)


def _view(x: Any, shape: tuple, packed: bool) -> Any:
    return x.view(shape) if packed else x.view(*shape)


@st.composite
def _flatten_params(draw: Any, shapes: tuple) -> dict:
    ndim = len(shapes[0])
    if ndim == 0:
        return {}
    start = draw(st.integers(0, ndim - 1))
    end = draw(st.integers(start, ndim - 1))
    return {"start": start - draw(st.sampled_from([0, ndim])), "end": end - draw(st.sampled_from([0, ndim]))}


def _np_flatten(x: np.ndarray, start: int = 0, end: int = -1) -> np.ndarray:
    if x.ndim == 0:
        return x.reshape(1)
    start, end = start % x.ndim, end % x.ndim
    return x.reshape(*x.shape[:start], math.prod(x.shape[start : end + 1]), *x.shape[end + 1 :])


@st.composite
def _transpose_params(draw: Any, shapes: tuple) -> dict:
    ndim = len(shapes[0])
    if ndim >= 2 and draw(st.booleans()):
        return {}  # the default: the last two axes
    axis = st.integers(-ndim, ndim - 1)
    return {"axis0": draw(axis), "axis1": draw(axis)}


def _np_transpose(x: np.ndarray, axis0: int = -2, axis1: int = -1) -> np.ndarray:
    return np.swapaxes(x, axis0, axis1)


def _permute_params(shapes: tuple) -> st.SearchStrategy:
    ndim = len(shapes[0])
    return st.fixed_dictionaries({"axes": st.permutations(range(ndim)).map(tuple), "packed": st.booleans()})


def _squeezable(axis: Any, shape: tuple) -> tuple[int, ...]:
    """The axes squeeze removes: those given (all if None) that have size 1."""
    axes = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
    return tuple(sorted({a % len(shape) for a in axes if shape[a] == 1}))


@st.composite
def _expand_params(draw: Any, shapes: tuple) -> dict:
    (shape,) = shapes
    new = draw(st.lists(st.integers(0, 3), max_size=2))
    kept = [draw(st.sampled_from([0, 1, 2, 3, -1]) if n == 1 else st.sampled_from([n, -1])) for n in shape]
    return {"shape": (*new, *kept)}


def _np_expand(x: np.ndarray, shape: tuple) -> np.ndarray:
    lead = len(shape) - x.ndim
    resolved = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return np.broadcast_to(x, resolved)


# --- indexing --------------------------------------------------------------------------------
def _index_container(key: Any, container: str, device: str) -> Any:
    """Integer index arrays of ``key`` as NumPy arrays, Python lists or int64 Tensors."""
    if isinstance(key, tuple):
        return tuple(_index_container(k, container, device) for k in key)
    if not isinstance(key, np.ndarray):
        return key
    if container == "list":
        return key.tolist()
    if container == "tensor":
        return Tensor(key, device=device)
    return key


def _getitem(x: Tensor, key: Any, container: str = "ndarray") -> Tensor:
    return x[_index_container(key, container, x.device)]


def _np_getitem(x: np.ndarray, key: Any, container: str = "ndarray") -> np.ndarray:
    return np.asarray(x[key])


def _basic_index_params(shapes: tuple) -> st.SearchStrategy:
    """Ints, slices (negative steps too), None and Ellipsis, as NumPy's basic indexing allows."""
    return st.fixed_dictionaries({"key": hnp.basic_indices(shapes[0], allow_newaxis=True)})


@st.composite
def _one_array_index_params(draw: Any, shapes: tuple) -> dict:
    """One integer array (repeated and negative indices included) on one axis, slices before it."""
    (shape,) = shapes
    axis = draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    container = draw(st.sampled_from(["ndarray", "list", "tensor"]))
    plain = container == "list"  # a list needs at least one int to be read as an integer array
    index_shape = hnp.array_shapes(min_dims=int(plain), max_dims=2, min_side=int(plain), max_side=4)
    index = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(-n, n - 1)))
    before = tuple(draw(st.slices(side)) for side in shape[:axis])
    key = index if axis == 0 and draw(st.booleans()) else (*before, index)
    if axis == len(shape) - 1 and draw(st.booleans()):
        key = (Ellipsis, index)
    elif draw(st.booleans()):
        key = (*as_tuple(key), Ellipsis)
    return {"key": key, "container": container}


@st.composite
def _every_axis_index_params(draw: Any, shapes: tuple) -> dict:
    """Integer arrays (broadcast together) or ints on every axis, e.g. ``logits[arange(N), targets]``."""
    (shape,) = shapes
    result_shape = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4)
    arrays = draw(hnp.integer_array_indices(shape, result_shape=result_shape))
    key = tuple(int(k) if k.ndim == 0 and draw(st.booleans()) else k for k in arrays)
    return {"key": key, "container": draw(st.sampled_from(["ndarray", "tensor"]))}


# --- joining and splitting -------------------------------------------------------------------
@st.composite
def _cat_cases(draw: Any) -> tuple:
    base = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
    axis = draw(st.integers(-len(base), len(base) - 1))
    sides = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    shapes = tuple(tuple(side if i == axis % len(base) else n for i, n in enumerate(base)) for side in sides)
    return shapes, {"axis": axis}


@st.composite
def _stack_cases(draw: Any) -> tuple:
    (shape,) = draw(one_shape(max_side=3))
    count = draw(st.integers(1, 3))
    return (shape,) * count, {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def _split_params(draw: Any, shapes: tuple) -> dict:
    (shape,) = shapes
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    if draw(st.booleans()):
        sizes = draw(st.integers(1, n + 1))
    else:
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, n])]
    return {"sizes": sizes, "axis": axis}


def _np_split(x: np.ndarray, sizes: int | list, axis: int) -> list:
    n = x.shape[axis]
    if isinstance(sizes, int):
        sizes = [sizes] * (n // sizes) + ([n % sizes] if n % sizes else [])
    return np.split(x, list(np.cumsum(sizes)[:-1]), axis=axis)


def _axis_params(shapes: tuple) -> st.SearchStrategy:
    ndim = len(shapes[0])
    return st.fixed_dictionaries({"axis": st.integers(-ndim, ndim - 1)})


# --- other parameters ------------------------------------------------------------------------
@st.composite
def _where_cases(draw: Any) -> tuple:
    condition_shape, *shapes = draw(broadcastable(3))
    condition = draw(hnp.arrays(np.bool_, condition_shape))
    return tuple(shapes), {"condition": condition}


def _where(a: Tensor, b: Tensor, condition: np.ndarray) -> Tensor:
    return tg.where(Tensor(condition, device=a.device), a, b)


def _where_scalar(a: Tensor, condition: np.ndarray, s: float) -> Tensor:
    return tg.where(Tensor(condition, device=a.device), a, s)


@st.composite
def _clip_params(draw: Any, shapes: tuple) -> dict:
    return {"min": draw(st.none() | st.floats(-2.0, 0.0)), "max": draw(st.none() | st.floats(0.0, 2.0))}


@st.composite
def _pad_params(draw: Any, shapes: tuple) -> dict:
    ndim = len(shapes[0])
    pair = st.tuples(st.integers(0, 2), st.integers(0, 2))
    return {"widths": draw(st.lists(pair, max_size=ndim)), "value": draw(st.floats(-1.0, 1.0))}


def _np_pad(x: np.ndarray, widths: list, value: float) -> np.ndarray:
    return np.pad(x, list(widths) + [(0, 0)] * (x.ndim - len(widths)), constant_values=value)


@st.composite
def _linear_cases(draw: Any) -> tuple:
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shapes = ((*batch, n_in), (n_out, n_in))
    bias = draw(st.sampled_from(["none", "vector", "broadcast"]))
    if bias == "none":
        return shapes, {}
    if bias == "vector":
        return (*shapes, (n_out,)), {}
    # any shape that broadcasts to the output (..., n_out): a suffix of it, some sizes 1
    output = (*batch, n_out)
    suffix = output[len(output) - draw(st.integers(1, len(output))) :]
    return (*shapes, tuple(n if draw(st.booleans()) else 1 for n in suffix)), {}


# --- NumPy references ------------------------------------------------------------------------
def _np_logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=tuple(range(x.ndim)) if axis is None else axis)


def _np_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# --- PyTorch equivalents (torch is imported only when a PyTorch test runs) -------------------
def _torch() -> Any:
    import torch

    return torch


def _torch_reduce(name: str) -> Callable[..., Any]:
    """``torch.<name>(x, dim, keepdim)`` with NumPy's axis conventions (None: all, (): none)."""

    def reduce(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        dims = tuple(range(x.ndim)) if axis is None else axis
        if dims == ():
            return x * 1  # NumPy reduces over no axis; torch would reduce over all
        return getattr(_torch(), name)(x, dims, keepdim=keepdims)

    return reduce


def _torch_var(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _torch().var(x, dim=axis, keepdim=keepdims, correction=1)


def _torch_getitem(x: Any, key: Any, container: str = "ndarray") -> Any:
    """``x[key]`` in torch, which has no negative slice steps: those axes are flipped first."""
    torch = _torch()
    key = key if isinstance(key, tuple) else (key,)
    indexed = sum(k is not None and k is not Ellipsis for k in key)
    axis, converted, flipped = 0, [], []
    for k in key:
        if k is Ellipsis:
            axis += x.ndim - indexed
        elif isinstance(k, slice) and k.step is not None and k.step < 0:
            n = x.shape[axis]
            start, stop, step = k.indices(n)
            count = len(range(start, stop, step))
            k = slice(n - 1 - start, n - 1 - start - step * count, -step) if count else slice(0, 0)
            flipped.append(axis)
        elif isinstance(k, np.ndarray):
            k = torch.as_tensor(k)
        converted.append(k)
        axis += k is not None and k is not Ellipsis
    return (x.flip(flipped) if flipped else x)[tuple(converted)]


def _torch_pad(x: Any, widths: list, value: float) -> Any:
    flat = [w for pair in reversed(list(widths) + [(0, 0)] * (x.ndim - len(widths))) for w in pair]
    return _torch().nn.functional.pad(x, flat, value=value)


def _torch_clip(x: Any, min: Any, max: Any) -> Any:  # noqa: A002 - the op's own parameter names
    return x * 1 if min is None and max is None else x.clamp(min, max)


def _cast_round_trip(x: Tensor) -> Tensor:
    there = x.float() if str(x.dtype).endswith("float64") else x.double()
    return there.to(x.dtype)


# --- the declarations ------------------------------------------------------------------------
def _binary(name: str, op: Callable, reference: Callable, domain: Any = ANY, torch: Any = None) -> OpSpec:
    return OpSpec(name, op, reference, shapes_only(broadcastable(2)), domain, torch)


def _scalar(
    name: str, op: Callable, domain: Domain = ANY, values: Any = SCALARS, reference: Any = None, torch: Any = None
) -> OpSpec:
    """``op(x, s)`` with a Python scalar ``s``; by default the same expression serves NumPy and PyTorch."""
    return OpSpec(name, op, reference or op, with_params(one_shape(), scalar_params(values)), domain, torch)


def _unary(name: str, reference: Callable, domain: Domain = ANY) -> OpSpec:
    return OpSpec(name, lambda x: getattr(x, name)(), reference, shapes_only(one_shape()), domain)


def _reduction(name: str, reference: Callable, torch: Callable, min_side: int = 1) -> OpSpec:
    def op(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return getattr(x, name)(axis=axis, keepdims=keepdims)

    return OpSpec(name, op, reference, with_params(one_shape(min_side=min_side), reduction_params), torch=torch)


def _softmax_like(name: str, reference: Callable) -> OpSpec:
    def op(x: Any, axis: int) -> Any:
        return getattr(x, name)(axis=axis)

    def torch(x: Any, axis: int) -> Any:
        return getattr(x, name)(dim=axis)

    return OpSpec(name, op, reference, with_params(one_shape(min_dims=1, min_side=1), _axis_params), torch=torch)


def _torch_maximum(a: Any, b: Any) -> Any:
    return _torch().maximum(a, b)


def _torch_minimum(a: Any, b: Any) -> Any:
    return _torch().minimum(a, b)


def _torch_scalar(op: Callable) -> Callable:
    """``op(x, s)`` where torch wants ``s`` as a tensor (torch.maximum has no scalar form)."""
    return lambda x, s: op(x, _torch().tensor(s, dtype=x.dtype))


SPECS: list[OpSpec] = [
    # arithmetic, tensor with tensor, broadcasting on both sides
    _binary("add", lambda a, b: a + b, np.add),
    _binary("sub", lambda a, b: a - b, np.subtract),
    _binary("mul", lambda a, b: a * b, np.multiply),
    _binary("truediv", lambda a, b: a / b, np.divide, (ANY, NONZERO)),
    _binary("pow", lambda a, b: a**b, np.power, (Domain(0.5, 2.0), Domain(-2.0, 2.0))),
    _binary("maximum", lambda a, b: a.maximum(b), np.maximum, torch=_torch_maximum),
    _binary("minimum", lambda a, b: a.minimum(b), np.minimum, torch=_torch_minimum),
    OpSpec("neg", lambda x: -x, np.negative, shapes_only(one_shape())),
    # arithmetic with a Python scalar on either side: the scalar takes the tensor's dtype
    _scalar("add_scalar", lambda x, s: x + s),
    _scalar("radd_scalar", lambda x, s: s + x),
    _scalar("sub_scalar", lambda x, s: x - s),
    _scalar("rsub_scalar", lambda x, s: s - x),
    _scalar("mul_scalar", lambda x, s: x * s),
    _scalar("rmul_int", lambda x, s: s * x, values=st.integers(-3, 3)),
    _scalar("div_scalar", lambda x, s: x / s),
    _scalar("rdiv_scalar", lambda x, s: s / x, NONZERO),
    _scalar("pow_scalar", lambda x, s: x**s, POSITIVE),
    _scalar("pow_int", lambda x, s: x**s, values=st.integers(0, 3)),
    _scalar("rpow_scalar", lambda x, s: s**x),
    _scalar(
        "maximum_scalar",
        lambda x, s: x.maximum(s),
        reference=lambda x, s: np.maximum(x, s),
        torch=_torch_scalar(_torch_maximum),
    ),
    _scalar(
        "minimum_scalar",
        lambda x, s: x.minimum(s),
        reference=lambda x, s: np.minimum(x, s),
        torch=_torch_scalar(_torch_minimum),
    ),
    # matrix products
    OpSpec(
        "matmul",
        lambda a, b: a @ b,
        np.matmul,
        shapes_only(
            hnp.mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)", max_dims=2, max_side=4)
            .map(lambda b: b.input_shapes)
            .filter(lambda s: len(s[0]) + len(s[1]) <= 5)
            .flatmap(lambda s: st.sampled_from([s, s, s, _empty_inner(*s)]))
        ),
    ),
    OpSpec(
        "matmul_method",
        lambda a, b: a.matmul(b),
        np.matmul,
        shapes_only(st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 1, 1, 3), (4, 3, 2))])),
    ),
    OpSpec(
        "linear",
        lambda x, w, b=None: tg.linear(x, w, b),
        lambda x, w, b=0.0: x @ w.T + b,
        _linear_cases(),
        torch=lambda x, w, b=None: _torch().nn.functional.linear(x, w, b),
    ),
    # elementwise functions
    _unary("exp", np.exp),
    _unary("log", np.log, POSITIVE),
    _unary("sqrt", np.sqrt, POSITIVE),
    _unary("tanh", np.tanh),
    _unary("sigmoid", _np_sigmoid, Domain(-8.0, 8.0)),
    _unary("relu", lambda x: np.maximum(x, 0)),
    _unary("abs", np.abs),
    _unary("clone", np.copy),
    # reductions
    _reduction("sum", np.sum, _torch_reduce("sum"), min_side=0),
    _reduction("mean", np.mean, _torch_reduce("mean")),
    _reduction("max", np.max, _torch_reduce("amax")),
    _reduction("min", np.min, _torch_reduce("amin")),
    OpSpec(
        "var",
        lambda x, axis=None, keepdims=False: x.var(axis=axis, keepdims=keepdims),
        lambda x, axis=None, keepdims=False: np.var(x, axis=axis, keepdims=keepdims, ddof=1),
        with_params(one_shape(min_dims=1, min_side=2), lambda s: reduction_params(s, allow_empty=False)),
        torch=_torch_var,
    ),
    OpSpec(
        "std",
        lambda x, axis=None, keepdims=False: x.std(axis=axis, keepdims=keepdims),
        lambda x, axis=None, keepdims=False: np.std(x, axis=axis, keepdims=keepdims, ddof=1),
        with_params(one_shape(min_dims=1, min_side=2), lambda s: reduction_params(s, allow_empty=False)),
        torch=lambda x, axis=None, keepdims=False: _torch().std(x, dim=axis, keepdim=keepdims, correction=1),
    ),
    _reduction("logsumexp", _np_logsumexp, _torch_reduce("logsumexp")),
    _softmax_like("softmax", _np_softmax),
    _softmax_like("log_softmax", lambda x, axis: np.log(_np_softmax(x, axis))),
    # shapes
    OpSpec(
        "reshape",
        _reshape,
        lambda x, shape, packed: x.reshape(shape),
        with_params(one_shape(), _reshape_params),
        torch=lambda x, shape, packed: x.reshape(shape),
    ),
    OpSpec(
        "view",
        _view,
        lambda x, shape, packed: x.reshape(shape),
        with_params(one_shape(), _reshape_params),
        torch=lambda x, shape, packed: x.reshape(shape),
    ),
    OpSpec(
        "flatten",
        lambda x, **p: x.flatten(**p),
        _np_flatten,
        with_params(one_shape(), _flatten_params),
        torch=lambda x, start=0, end=-1: x.flatten(start, end),
    ),
    OpSpec(
        "transpose",
        lambda x, **p: x.transpose(**p),
        _np_transpose,
        with_params(one_shape(min_dims=1), _transpose_params),
        torch=lambda x, axis0=-2, axis1=-1: x.transpose(axis0, axis1),
    ),
    OpSpec(
        "T",
        lambda x: x.T,
        lambda x: x.T,
        shapes_only(one_shape()),
        torch=lambda x: x.permute(tuple(reversed(range(x.ndim)))),
    ),
    OpSpec(
        "permute",
        lambda x, axes, packed: x.permute(axes) if packed else x.permute(*axes),
        lambda x, axes, packed: np.transpose(x, axes),
        with_params(one_shape(), _permute_params),
        torch=lambda x, axes, packed: x.permute(axes),
    ),
    OpSpec(
        "squeeze",
        lambda x, axis: x.squeeze(axis),
        lambda x, axis: np.squeeze(x, _squeezable(axis, x.shape)),
        with_params(
            one_shape(max_dims=4, min_side=1, max_side=2),
            lambda s: st.fixed_dictionaries({"axis": axis_choices(len(s[0]))}),
        ),
        torch=lambda x, axis: x.squeeze() if axis is None else x.squeeze(axis),
    ),
    OpSpec(
        "unsqueeze",
        lambda x, axis: x.unsqueeze(axis),
        lambda x, axis: np.expand_dims(x, axis),
        with_params(one_shape(), lambda s: st.fixed_dictionaries({"axis": st.integers(-len(s[0]) - 1, len(s[0]))})),
    ),
    OpSpec("expand", lambda x, shape: x.expand(shape), _np_expand, with_params(one_shape(), _expand_params)),
    # indexing
    OpSpec(
        "getitem_basic",
        _getitem,
        _np_getitem,
        with_params(one_shape(), _basic_index_params),
        torch=_torch_getitem,
    ),
    OpSpec(
        "getitem_array",
        _getitem,
        _np_getitem,
        with_params(one_shape(min_dims=1, min_side=1), _one_array_index_params),
        torch=_torch_getitem,
    ),
    OpSpec(
        "getitem_every_axis",
        _getitem,
        _np_getitem,
        with_params(one_shape(min_dims=1, min_side=1), _every_axis_index_params),
        torch=_torch_getitem,
    ),
    # joining and splitting
    OpSpec(
        "cat",
        lambda *xs, axis: tg.cat(list(xs), axis=axis),
        lambda *xs, axis: np.concatenate(xs, axis=axis),
        _cat_cases(),
        torch=lambda *xs, axis: _torch().cat(xs, dim=axis),
    ),
    OpSpec(
        "stack",
        lambda *xs, axis: tg.stack(list(xs), axis=axis),
        lambda *xs, axis: np.stack(xs, axis=axis),
        _stack_cases(),
        torch=lambda *xs, axis: _torch().stack(xs, dim=axis),
    ),
    OpSpec(
        "split",
        lambda x, sizes, axis: x.split(sizes, axis),
        _np_split,
        with_params(one_shape(min_dims=1, min_side=1), _split_params),
        torch=lambda x, sizes, axis: x.split(sizes, dim=axis),
    ),
    OpSpec(
        "chunk",
        lambda x, chunks, axis: x.chunk(chunks, axis),
        lambda x, chunks, axis: _np_split(x, -(-x.shape[axis] // chunks), axis),
        with_params(
            one_shape(min_dims=1, min_side=1),
            lambda s: st.fixed_dictionaries(
                {"chunks": st.integers(1, 4), "axis": st.integers(-len(s[0]), len(s[0]) - 1)}
            ),
        ),
        torch=lambda x, chunks, axis: x.chunk(chunks, dim=axis),
    ),
    OpSpec(
        "unbind",
        lambda x, axis: x.unbind(axis),
        lambda x, axis: tuple(np.moveaxis(x, axis, 0)),
        with_params(one_shape(min_dims=1, min_side=1), _axis_params),
    ),
    # selection
    OpSpec(
        "where",
        _where,
        lambda a, b, condition: np.where(condition, a, b),
        _where_cases(),
        torch=lambda a, b, condition: _torch().where(_torch().as_tensor(condition), a, b),
    ),
    OpSpec(
        "where_scalar",
        _where_scalar,
        lambda a, condition, s: np.where(condition, a, s),
        with_params(
            one_shape(),
            lambda s: st.fixed_dictionaries({"condition": hnp.arrays(np.bool_, s[0]), "s": SCALARS}),
        ),
        torch=lambda a, condition, s: _torch().where(_torch().as_tensor(condition), a, s),
    ),
    OpSpec(
        "clip",
        lambda x, **p: x.clip(**p),
        lambda x, min, max: np.clip(x, min, max),  # noqa: A006
        with_params(one_shape(), _clip_params),
        torch=_torch_clip,
    ),
    OpSpec(
        "pad", lambda x, **p: x.pad(**p), _np_pad, with_params(one_shape(min_dims=1), _pad_params), torch=_torch_pad
    ),
    # dtype casts, a round trip through the other float dtype (.float()/.double(), .to(dtype)).
    # From float64, it rounds x to float32 (relative error 6e-8), which a finite difference with
    # eps=1e-6 could not see through; eps=1e-2 keeps that error below 1.2e-5 (rtol is 1e-4).
    OpSpec(
        "cast", _cast_round_trip, lambda x: x.astype(np.float32).astype(x.dtype), shapes_only(one_shape()), eps=1e-2
    ),
]


# --- losses (one fused op each, tinygrad_rnn.nn.fused_losses) -----------------------------------
@st.composite
def _class_loss_cases(draw: Any, smoothing: bool) -> tuple:
    """Scores of shape (C,), (N, C) or (N, C, d) with class indices, and every option of the loss."""
    layout = draw(st.sampled_from(["unbatched", "batched", "sequence"]))
    num_classes = draw(st.integers(1, 4))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    n = draw(st.integers(1 if reduction == "mean" else 0, 3))
    shape = {"unbatched": (num_classes,), "batched": (n, num_classes), "sequence": (n, num_classes, 2)}[layout]
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    target = draw(hnp.arrays(np.int64, target_shape, elements=st.integers(0, num_classes - 1)))
    ignore_index = draw(st.sampled_from([-100, 0]))
    if draw(st.booleans()) and target.size:  # some targets ignored
        target.reshape(-1)[: draw(st.integers(1, target.size))] = ignore_index
    if reduction == "mean" and (target == ignore_index).all():  # keep one target: a mean over none is NaN
        ignore_index = -100
        target.reshape(-1)[0] = num_classes - 1
    params = {"target": target, "ignore_index": ignore_index, "reduction": reduction}
    if draw(st.booleans()):
        params["weight"] = np.linspace(0.5, 2.0, num_classes)
    if smoothing:
        params["label_smoothing"] = draw(st.sampled_from([0.0, 0.3]))
    return (shape,), params


def _class_loss(name: str) -> Callable[..., Tensor]:
    """``F.<name>`` on our Tensors, the class weights given in the scores' dtype."""

    def loss(x: Tensor, weight: Any = None, **params: Any) -> Tensor:
        import tinygrad_rnn.nn.functional as F

        if weight is not None:
            weight = Tensor(weight, dtype=x.dtype, device=x.device)
        return getattr(F, name)(x, weight=weight, **params)

    return loss


def _torch_class_loss(name: str) -> Callable[..., Any]:
    def loss(x: Any, target: np.ndarray, weight: Any = None, **params: Any) -> Any:
        torch = _torch()
        weight = None if weight is None else torch.tensor(weight, dtype=x.dtype)
        return getattr(torch.nn.functional, name)(x, torch.as_tensor(target), weight=weight, **params)

    return loss


def _np_class_loss(
    x: np.ndarray,
    target: np.ndarray,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    from_logits: bool = True,
) -> np.ndarray:
    """PyTorch's definition, from the documentation: -(1 - eps) w_y lp_y - (eps / C) sum_c w_c lp_c."""
    axis = 0 if x.ndim == 1 else 1
    num_classes = x.shape[axis]
    lp = np.log(_np_softmax(x, axis)) if from_logits else x
    w = np.ones(num_classes) if weight is None else weight
    counted = target != ignore_index
    classes = np.where(counted, target, 0)
    lp_last, w_shape = np.moveaxis(lp, axis, -1), (1,) * (x.ndim - 1) + (num_classes,)
    onehot = classes[..., None] == np.arange(num_classes)
    target_term = (onehot * lp_last).sum(-1) * w[classes]
    smooth_term = (lp_last * w.reshape(w_shape)).sum(-1) / num_classes
    loss = -(counted * ((1 - label_smoothing) * target_term + label_smoothing * smooth_term))
    if reduction == "none":
        return loss
    return loss.sum() / (counted * w[classes]).sum() if reduction == "mean" else loss.sum()


def _reduced(loss: np.ndarray, reduction: str) -> np.ndarray:
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


@st.composite
def _elementwise_loss_cases(draw: Any, weights: tuple) -> tuple:
    """Input and target of one shape (sides >= 1), a reduction, and optional constant weights."""
    (shape,) = draw(one_shape(min_dims=1, min_side=1, max_side=3))
    params = {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
    for name in weights:
        if draw(st.booleans()):
            params[name] = np.linspace(0.5, 2.0, shape[-1])  # one per entry of the last axis
    return (shape, shape), params


def _elementwise_loss(name: str, torch: bool = False) -> Callable[..., Any]:
    """``F.<name>(x, y, ...)`` (or torch's), constant weights given in the input's dtype."""

    def loss(x: Any, y: Any, **params: Any) -> Any:
        if torch:
            functional = _torch().nn.functional
            weights = {k: _torch().tensor(v, dtype=x.dtype) for k, v in params.items() if k != "reduction"}
        else:
            import tinygrad_rnn.nn.functional as functional

            weights = {k: Tensor(v, dtype=x.dtype, device=x.device) for k, v in params.items() if k != "reduction"}
        return getattr(functional, name)(x, y, reduction=params["reduction"], **weights)

    return loss


def _np_bce_with_logits(x, y, reduction, weight=None, pos_weight=None):  # noqa: ANN001, ANN202
    q = 1.0 if pos_weight is None else pos_weight
    loss = -(q * y * np.log(_np_sigmoid(x)) + (1 - y) * np.log(1 - _np_sigmoid(x)))
    return _reduced(loss * (1.0 if weight is None else weight), reduction)


def _np_bce(p, y, reduction, weight=None):  # noqa: ANN001, ANN202
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return _reduced(loss * (1.0 if weight is None else weight), reduction)


PROBABILITY = Domain(0.05, 0.95)
LOSS_SPECS: list[OpSpec] = [
    OpSpec(
        "cross_entropy",
        _class_loss("cross_entropy"),
        _np_class_loss,
        _class_loss_cases(smoothing=True),
        torch=_torch_class_loss("cross_entropy"),
    ),
    OpSpec(
        "nll_loss",
        _class_loss("nll_loss"),
        functools.partial(_np_class_loss, from_logits=False),
        _class_loss_cases(smoothing=False),
        torch=_torch_class_loss("nll_loss"),
    ),
    OpSpec(
        "mse_loss",
        _elementwise_loss("mse_loss"),
        lambda x, y, reduction: _reduced((x - y) ** 2, reduction),
        _elementwise_loss_cases(()),
        torch=_elementwise_loss("mse_loss", torch=True),
    ),
    OpSpec(
        "binary_cross_entropy_with_logits",
        _elementwise_loss("binary_cross_entropy_with_logits"),
        _np_bce_with_logits,
        _elementwise_loss_cases(("weight", "pos_weight")),
        (ANY, Domain(0.0, 1.0)),
        torch=_elementwise_loss("binary_cross_entropy_with_logits", torch=True),
    ),
    OpSpec(
        "binary_cross_entropy",
        _elementwise_loss("binary_cross_entropy"),
        _np_bce,
        _elementwise_loss_cases(("weight",)),
        (PROBABILITY, Domain(0.0, 1.0)),
        torch=_elementwise_loss("binary_cross_entropy", torch=True),
    ),
]
SPECS += LOSS_SPECS
