"""Tensor: an array, the op that made it, and (after backward) its gradient.

Every method here is a thin, explicit front for an op in ``tinygrad_rnn/ops/`` (where forward
and backward stand side by side) or for a composition of ops (``ops/composite.py``). Nothing is
patched in at import time: what ``a + b`` does is ``Tensor.__add__`` below.

Example:
    >>> from tinygrad_rnn import Tensor
    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="x")
    >>> loss = (x @ x).tanh().sum()
    >>> loss.backward()
    >>> x.grad.shape
    (2, 2)
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend as _backend
from . import modes as _modes
from . import tensor_copy
from .shape_rules import shape_from_args
from .tensor_data import check_numeric, from_python, op_output

_ids = itertools.count()  # stable node ids: the same program numbers its nodes the same way
Axis = int | tuple[int, ...] | None


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    Args:
        data: a Python scalar or (nested) list, a NumPy / CuPy / Array API array, or a Tensor.
            Python floats become float32; an array keeps its dtype (float64 stays float64).
        requires_grad: record ops on this tensor and give it a ``.grad`` in backward.
        dtype: ``"float32"``, ``"float64"``, ``"int64"``, ``"bool"`` or a library dtype.
        device: ``"cpu"`` (NumPy), ``"cuda"`` (CuPy) or ``"array_api_strict"``; default: the
            array's own library, else ``"cpu"``.
        name: shown in graphs and ``repr``.

    Example:
        >>> Tensor([1.0, 2.0], requires_grad=True, name="w")
        Tensor([1., 2.], dtype=float32, requires_grad=True, name='w')
    """

    __slots__ = (
        "_data",
        "_backend",
        "requires_grad",
        "_ctx",
        "id",
        "scope",
        "__dict__",  # the attributes below, once set: most tensors (an op's output) never set them
        "__weakref__",
    )
    # Set on few tensors (leaves, named or detached ones): defaults here, so that making an op's
    # output stores only what every tensor has (the slots above).
    grad: Tensor | None = None
    name: str | None = None
    _retains_grad: bool = False
    detached_from: tuple | None = None  # (id, scope) of the tensor a detach() cut this one from
    _changed_at: int = -1  # set only by an in-place change of .data (see the data property)
    # NumPy's functions on a tensor: ``ndarray + t`` defers to Tensor.__radd__ (recorded, differentiable);
    # a ufunc called on it (``np.exp(t)``) is a TypeError (use ``t.exp()``), never an object array of
    # tensors; ``np.asarray(t)`` (matplotlib, pandas, ...) gives its values, see __array__.
    __array_ufunc__ = None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        device: str | None = None,
        name: str | None = None,
    ):
        if isinstance(data, Tensor):
            data = data._data
        if hasattr(data, "__array_namespace__") and not isinstance(data, np.generic):
            backend = _backend.backend_of(data)
            check_numeric(data.dtype, f"data of type {type(data).__name__} with dtype")
        else:
            data = from_python(data, default_float=dtype is None)  # with a dtype: one rounding, to it
            backend = _backend.get_backend("cpu")
        if device is not None and str(device) != backend.device:
            target = _backend.get_backend(device)
            data = target.from_numpy(backend.to_numpy(data))
            backend = target
        if dtype is not None:
            wanted = backend.dtype(dtype)
            if data.dtype != wanted:
                data = backend.xp.astype(data, wanted)
        # a tensor's slots, as Tensor._make fills them (spelled out in both: a call less per op there)
        self._data, self._backend, self._ctx, self.requires_grad = data, backend, None, False
        self.id, self.scope = next(_ids), _modes.current().scope
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad_()

    @classmethod
    def _make(cls, data: Any, backend: Any, ctx: Any, scope: str | None = None) -> Tensor:
        """Wrap an op's output array without the checks of ``__init__`` (the engine's path).

        ``scope``: the calling thread's scope path, if the caller has already read it.
        """
        if type(data) is not np.ndarray:  # a NumPy scalar, another library's array, or a protocol slip
            data = op_output(data, ctx)
        tensor = _new(cls)
        # the slots __init__ fills, set here directly (a helper both call would cost every op a call)
        tensor._data = data
        tensor._backend = backend
        tensor._ctx = ctx
        tensor.requires_grad = ctx is not None
        tensor.id = next(_ids)
        tensor.scope = _modes.current().scope if scope is None else scope
        return tensor

    # --- the data, and in-place changes to it -------------------------------------------------
    @property
    def data(self) -> Any:
        """The tensor's array (NumPy, CuPy, ...). ``Tensor(array)`` shares the array's memory.

        In-place changes: ``w.data *= 10`` (any ``t.data op= ...``) changes the array that ops
        recorded before it may have saved for backward. Like PyTorch's version counter, the
        change is noted, and a later backward through an op that saved this array refuses with
        "a tensor saved for backward was modified in place" instead of giving a wrong gradient.
        Assigning a new array (``w.data = w.data * 10``) is always safe: recorded ops keep the
        old one. Changes the library cannot see are not detected: writing into the NumPy array
        given to ``Tensor(array)``, into ``t.numpy()``, or ``t.data[i] = v``.
        """
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if value is self._data:  # ``t.data *= 10`` changed the array in place, then assigns it back
            self._changed_at = autograd.last_inplace_change = next(_ids)
        elif type(value) is not np.ndarray and isinstance(value, np.generic):
            value = np.asarray(value)  # NumPy turns 0-d results into scalars; keep arrays
        self._data = value

    # --- what a tensor is -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        """The number of axes, ``ndim`` (PyTorch's spelling)."""
        return self._data.ndim

    @property
    def dtype(self) -> Any:
        return self._data.dtype

    @property
    def device(self) -> str:
        return self._backend.device

    @property
    def xp(self) -> Any:
        """The Array API namespace of the data (``numpy``-like module)."""
        return self._backend.xp

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded op (inputs, parameters)."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Any:
        """The recorded op (a Function instance) that made this tensor, or None."""
        return self._ctx

    @property
    def op(self) -> str | None:
        """The name of the recorded op that made this tensor (None for a leaf)."""
        return None if self._ctx is None else self._ctx.name

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        """The tensors the recorded op was applied to (empty for a leaf)."""
        return () if self._ctx is None else self._ctx.inputs

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def size(self, axis: int | None = None) -> Any:
        return self.shape if axis is None else self.shape[axis]

    def numel(self) -> int:
        return math.prod(self.shape)

    def item(self) -> float | int | bool:
        if self.numel() != 1:
            raise ValueError(f"item: only a tensor with one element has an item, shape is {self.shape}")
        return self.numpy().reshape(()).item()

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU where needed; shares memory on CPU)."""
        return self._backend.to_numpy(self.data)  # .data, not ._data: a read tinygrad_rnn.compile watches

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)``, ``plt.plot(t)``: the values as a NumPy array, as :meth:`numpy` gives them
        (not part of the graph: gradients do not flow back through NumPy).

        Example:
            >>> import numpy as np
            >>> np.asarray(Tensor([1.0, 2.0])) * 2
            array([2., 4.], dtype=float32)
        """
        array = self.numpy()
        if dtype is not None:
            array = array.astype(dtype, copy=False)
        return array.copy() if copy else array

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="Tensor(", threshold=20)
        extras = [f"dtype={_backend.dtype_name(self.dtype)}"]
        if self.device != "cpu":
            extras.append(f"device={self.device!r}")
        if self._ctx is not None:
            extras.append(f"op={self._ctx.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"Tensor({body}, {', '.join(extras)})"

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"bool: the truth value of a tensor with {self.numel()} elements (shape {self.shape}) is "
                "ambiguous. Note that `t in [a, b]` compares t with each element by value (==, "
                "elementwise) unless it is the very same tensor: to ask whether it is one of them, "
                "use any(t is x for x in items), or a dict/set of tensors (hashed by identity)"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__  # tensors are hashed by identity (== is elementwise)

    # --- autodiff ---------------------------------------------------------------------------
    def backward(self, grad: Tensor | Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf behind it.

        Args:
            grad: dL/d(self); may be omitted only for a one-element tensor (a loss).
            retain_graph: keep the ops' saved arrays, so that backward can run again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad, so no graph was recorded; "
                "create the leaves with requires_grad=True (and not inside no_grad())"
            )
        if grad is None:
            if self.numel() != 1:
                raise RuntimeError(
                    f"backward: a tensor of shape {self.shape} is not a scalar; pass grad= "
                    "(dL/d(this tensor), same shape) or reduce it first, e.g. .sum()"
                )
            seed = self.xp.ones(self._data.shape, dtype=self.dtype)
        else:
            seed = grad._data if isinstance(grad, Tensor) else self._backend.xp.asarray(grad)
            if tuple(seed.shape) != self.shape or seed.dtype != self.dtype:
                raise ValueError(
                    f"backward: grad has shape {tuple(seed.shape)} and dtype {_backend.dtype_name(seed.dtype)}, "
                    f"but the tensor has shape {self.shape} and dtype {_backend.dtype_name(self.dtype)}"
                )
        autograd.backward(self, seed, retain_graph)

    def clone(self) -> Tensor:
        """A copy in new memory that stays in the graph (gradients flow back through it), as in PyTorch.

        Example:
            >>> x = Tensor([1.0, 2.0], requires_grad=True)
            >>> y = x.clone()
            >>> x.data *= 0
            >>> y.tolist(), y.op
            ([1.0, 2.0], 'clone')
        """
        return ops.unary.Clone.apply(self)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (gradients do not flow through it).

        The new tensor remembers the ``(id, scope)`` of the tensor it was cut from (not the
        tensor itself, which would keep the old graph in memory), so a graph picture can draw
        the cut, e.g. where truncated BPTT detaches the hidden state.
        """
        cut = Tensor._make(self._data, self._backend, None)
        if self._ctx is not None:
            cut.detached_from = (self.id, self.scope)
        return cut

    # --- copies and pickles: a leaf's values, never a graph (see tensor_copy.py) --------------
    def __deepcopy__(self, memo: dict) -> Tensor:
        """``copy.deepcopy``: a new leaf with copied values, ``requires_grad``, name and ``.grad``."""
        return tensor_copy.deep_copy(self, memo)

    def __reduce__(self) -> tuple:
        """``pickle`` and ``copy.copy``: a leaf's values, device, ``requires_grad`` and name."""
        return tensor_copy.reduction(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not _backend.is_float(self.dtype):
            raise TypeError(
                f"requires_grad=True needs a floating tensor, got dtype {_backend.dtype_name(self.dtype)} "
                f"(shape {self.shape}); create it with dtype='float32' or call .float() first"
            )
        if self._ctx is not None and not requires_grad:
            raise RuntimeError("requires_grad_: use .detach() to cut a non-leaf tensor from the graph")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor in backward (leaves always keep it)."""
        self._retains_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    # --- devices and dtypes ----------------------------------------------------------------
    def to(self, device_or_dtype: str | Any) -> Tensor:
        """Move to a device (``"cpu"``, ``"cuda"``) or cast to a dtype (``"float64"``).

        A cast is differentiable; a device move gives a new leaf with the same values.
        """
        target = str(device_or_dtype)
        if target in _backend.DEVICES:
            if target == self.device:
                return self
            moved = Tensor(self, device=target, name=self.name)
            return moved.requires_grad_() if self.requires_grad else moved
        return ops.unary.Cast.apply(self, dtype=self._backend.dtype(device_or_dtype))

    def float(self) -> Tensor:
        return self.to("float32")

    def double(self) -> Tensor:
        return self.to("float64")

    def cpu(self) -> Tensor:
        return self.to("cpu")

    # --- arithmetic: a Python scalar takes the tensor's dtype ------------------------------
    def _operand(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float)):
            dtype = self.dtype
            if isinstance(other, float) and not _backend.is_float(dtype):
                dtype = _backend.DEFAULT_FLOAT  # int tensor * 0.5 -> float32, never truncated
            return Tensor._make(self.xp.asarray(other, dtype=self._backend.dtype(dtype)), self._backend, None)
        return Tensor(other, device=self.device)

    def __add__(self, other: Any) -> Tensor:
        return ops.arithmetic.Add.apply(self, self._operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.arithmetic.Add.apply(self._operand(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.arithmetic.Sub.apply(self, self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.arithmetic.Sub.apply(self._operand(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.arithmetic.Mul.apply(self, self._operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.arithmetic.Mul.apply(self._operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.arithmetic.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.arithmetic.Div.apply(self._operand(other), self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.arithmetic.Pow.apply(self, self._operand(other))

    def __rpow__(self, other: Any) -> Tensor:
        return ops.arithmetic.Pow.apply(self._operand(other), self)

    def __neg__(self) -> Tensor:
        return ops.arithmetic.Neg.apply(self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.linalg.MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.linalg.MatMul.apply(self._operand(other), self)

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def maximum(self, other: Any) -> Tensor:
        return ops.arithmetic.Maximum.apply(self, self._operand(other))

    def minimum(self, other: Any) -> Tensor:
        return ops.arithmetic.Minimum.apply(self, self._operand(other))

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        """Values limited to [min, max] (numbers; for tensor bounds use .maximum/.minimum).

        Like any Python scalar, a bound keeps the tensor's dtype; a float bound on an int
        tensor gives float32.
        """
        bounds = [b for b in (min, max) if b is not None]
        if not all(isinstance(b, numbers.Real) for b in bounds):
            raise TypeError(f"clip: bounds must be numbers, got {min!r} and {max!r}; use x.maximum(lo).minimum(hi)")
        whole = all(isinstance(b, numbers.Integral) for b in bounds)
        number = int if whole else float  # plain Python numbers, never a NumPy scalar's dtype
        low, high = (None if b is None else number(b) for b in (min, max))
        return ops.arithmetic.Clip.apply(self if whole else self._floating(), low=low, high=high)

    clamp = clip

    # --- comparisons: not differentiable, return bool tensors -----------------------------
    def _compare(self, other: Any, op: type) -> Tensor:
        """The comparison op ``op`` (``ops.arithmetic.Eq``, ``Lt``, ...) of ``self`` and ``other``."""
        return op.apply(self, self._operand(other))

    # Against something that is not numbers (a string, None, a module), a comparison returns
    # NotImplemented, as PyTorch's does: Python then makes ``t == "w"`` False, ``t != None``
    # True and ``t < "w"`` a TypeError, so dict keys and lists mixing tensors and names work.
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, ops.arithmetic.Eq) if _numeric(other) else NotImplemented

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, ops.arithmetic.Ne) if _numeric(other) else NotImplemented

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, ops.arithmetic.Lt) if _numeric(other) else NotImplemented

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, ops.arithmetic.Le) if _numeric(other) else NotImplemented

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, ops.arithmetic.Gt) if _numeric(other) else NotImplemented

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, ops.arithmetic.Ge) if _numeric(other) else NotImplemented

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return ops.reduce.ArgMax.apply(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return ops.reduce.ArgMin.apply(self, axis=axis, keepdims=keepdims)

    # --- elementwise functions (of an int tensor: in float32, as in PyTorch, on every device) --
    def _floating(self) -> Tensor:
        return self if _backend.is_float(self._data.dtype) else self.to(_backend.DEFAULT_FLOAT)

    def exp(self) -> Tensor:
        return ops.unary.Exp.apply(self._floating())

    def log(self) -> Tensor:
        return ops.unary.Log.apply(self._floating())

    def sqrt(self) -> Tensor:
        return ops.unary.Sqrt.apply(self._floating())

    def tanh(self) -> Tensor:
        return ops.unary.Tanh.apply(self._floating())

    def sigmoid(self) -> Tensor:
        return ops.unary.Sigmoid.apply(self._floating())

    def relu(self) -> Tensor:
        return ops.unary.Relu.apply(self)

    def abs(self) -> Tensor:
        return ops.unary.Abs.apply(self)

    __abs__ = abs

    # --- reductions ------------------------------------------------------------------------
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.reduce.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.composite.mean(self, axis, keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.reduce.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.reduce.Min.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Axis = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        """Variance, sum((x - mean)^2) / (N - correction); ``correction=1`` as in PyTorch."""
        return ops.composite.var(self, axis, keepdims, correction)

    def std(self, axis: Axis = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        """Standard deviation, sqrt(var); ``correction=1`` as in PyTorch.

        Example:
            >>> round(Tensor([1.0, 2.0, 3.0, 4.0]).std().item(), 4)   # sqrt(5/3)
            1.291
        """
        return self.var(axis, keepdims, correction).sqrt()

    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.reduce.LogSumExp.apply(self._floating(), axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.reduce.Softmax.apply(self._floating(), axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.reduce.LogSoftmax.apply(self._floating(), axis=axis)

    # --- shape -----------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        shape = shape_from_args(shape)
        return ops.shape.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start: int = 0, end: int = -1) -> Tensor:
        return ops.composite.flatten(self, start, end)

    def permute(self, *axes: int | Sequence[int]) -> Tensor:
        return ops.shape.Permute.apply(self, axes=shape_from_args(axes))

    def transpose(self, axis0: int = -2, axis1: int = -1) -> Tensor:
        return ops.composite.transpose(self, axis0, axis1)

    @property
    def T(self) -> Tensor:  # noqa: N802 - the usual name
        """All axes reversed (the matrix transpose for 2-D)."""
        return self.permute(tuple(reversed(range(self.ndim))))

    def squeeze(self, axis: Axis = None) -> Tensor:
        return ops.composite.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return ops.composite.unsqueeze(self, axis)

    def expand(self, *shape: int | Sequence[int]) -> Tensor:
        return ops.composite.expand(self, shape_from_args(shape))

    def __getitem__(self, key: Any) -> Tensor:
        return ops.shape.GetItem.apply(self, key=key)

    def pad(self, widths: Sequence[tuple[int, int]], value: float = 0.0) -> Tensor:
        """Pad with ``value``; ``widths`` holds one ``(before, after)`` pair per leading axis."""
        return ops.shape.Pad.apply(self, widths=tuple(tuple(w) for w in widths), value=value)

    def split(self, size_or_sizes: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
        """Pieces of ``size`` along ``axis`` (the last one may be shorter), or of given sizes."""
        return ops.composite.split(self, size_or_sizes, axis)

    def chunk(self, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
        """At most ``chunks`` pieces of equal size along ``axis`` (the last one may be shorter)."""
        return ops.composite.chunk(self, chunks, axis)

    def unbind(self, axis: int = 0) -> tuple[Tensor, ...]:
        return ops.composite.unbind(self, axis)


def _numeric(other: Any) -> bool:
    """Whether ``other`` can be compared with a tensor elementwise (numbers, arrays, tensors)."""
    return isinstance(other, (Tensor, numbers.Number, list, tuple)) or hasattr(other, "__array_namespace__")


# --- the one place the import cycle is closed -------------------------------------------------
# Tensor's methods call the ops and the engine, and those make Tensors: tensor -> ops -> function
# -> tensor, and tensor -> autograd -> tensor. The cycle is broken here, and only here: this module
# imports them at its end, once class Tensor exists, so function.py, autograd.py and ops/ import
# Tensor at their top like any other name. (tinygrad_rnn/__init__.py imports this module first.)
from . import autograd, ops  # noqa: E402

_new = object.__new__
