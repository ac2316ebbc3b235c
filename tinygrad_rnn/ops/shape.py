"""Ops that move, select or join elements without arithmetic: their backward routes the
gradient back to where each element came from.

Example:
    >>> import tinygrad_rnn as tg
    >>> a, b = tg.ones(2, 3), tg.zeros(2, 3)
    >>> cat([a, b]).shape, stack([a, b]).shape, stack([a, b], axis=-1).shape
    ((4, 3), (2, 2, 3), (2, 3, 2))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .. import backend as _backend
from ..autograd import SparseGrad
from ..function import Function, parameter_array
from ..shape_rules import broadcast_shape, check_index_range, normalize_axis, slice_extent
from ..tensor import Tensor


class Reshape(Function):
    """y = x with a new shape (same elements, same order);  dL/dx = dL/dy reshaped back"""

    def forward(self, x, shape):
        known = math.prod(n for n in shape if n != -1)
        if (
            shape.count(-1) > 1
            or (-1 not in shape and known != math.prod(x.shape))
            or (-1 in shape and (known == 0 or math.prod(x.shape) % known))
        ):
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({math.prod(x.shape)} elements) to {shape}"
            )
        self.input_shape = x.shape
        return self.xp.reshape(x, shape)

    def backward(self, grad):
        return (self.xp.reshape(grad, self.input_shape),)


class Permute(Function):
    """y = x with its axes reordered;  dL/dx = dL/dy with the inverse order"""

    def forward(self, x, axes):
        if not all(-x.ndim <= a < x.ndim for a in axes) or sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
            raise ValueError(f"permute: {axes} is not an ordering of the {x.ndim} axes of shape {tuple(x.shape)}")
        self.axes = axes
        return self.xp.permute_dims(x, axes)

    def backward(self, grad):
        inverse = [0] * len(self.axes)
        for position, axis in enumerate(self.axes):
            inverse[axis % len(self.axes)] = position
        return (self.xp.permute_dims(grad, tuple(inverse)),)


class Expand(Function):
    """y = x broadcast to ``shape``;  dL/dx = dL/dy summed over the copies (done by the engine)"""

    def forward(self, x, shape):
        if broadcast_shape(self.name, x.shape, shape) != tuple(shape):
            raise ValueError(f"expand: cannot expand shape {tuple(x.shape)} to {tuple(shape)}")
        return self.xp.broadcast_to(x, shape)

    def backward(self, grad):
        return (grad,)


_NOT_YET = object()  # an attribute of GetItem not worked out yet (None is a value: no extent)


class GetItem(Function):
    """y = x[key] (ints, slices, None, ..., integer arrays, lists or tensors);
    dL/dx = zeros with dL/dy added at ``key`` (repeated integer indices add up)

    A compiled replay runs this same op again with the same key: a key of ints and slices is
    analysed once, when it is captured, and each replay only indexes the new x with it.
    ``lookup_of`` names an op that looks rows up (``embedding``): its index arrays must lie in
    [0, n), not [-n, n), checked here, so that every replay of a compiled step checks them too."""

    captured_key = _NOT_YET  # the basic key this op ran with, as given (see forward)
    extent = _NOT_YET  # where the slice lies (SparseGrad.extent), worked out at the first backward

    lookup_of: str | None = None

    def forward(self, x, key, lookup_of=None):
        self.lookup_of = lookup_of
        if key is self.captured_key:  # a compiled replay gives the key it captured: analysed then
            return x[self.key]
        self.input_shape, self.extent = x.shape, _NOT_YET
        given = key
        key = key if isinstance(key, tuple) else (key,)
        if all(map(_BASIC_INDEX.__contains__, map(type, key))):  # ints and slices: the common case, taken fast
            if Ellipsis not in key:
                key = (*key, Ellipsis)  # the standard asks for every axis to be indexed
            self.key, self.advanced, self.inner_shape = key, False, None
            y = self.index(x, key)
            self.captured_key = given  # ints and slices only: nothing in it can change
            return y
        key = self.index_arrays(x, key)
        if sum(k is not None and k is not Ellipsis for k in key) < x.ndim and not any(k is Ellipsis for k in key):
            key = (*key, Ellipsis)  # the standard asks for every axis to be indexed
        self.advanced = any(hasattr(k, "shape") for k in key)
        # None inserts new axes in y; the gradient buffer of x has none, so drop them there.
        self.key = tuple(k for k in key if k is not None)  # metadata, index arrays too: pictures show it
        split = _backend.split_array_index(self.key, x.ndim)
        if split is not None:
            y = self.take(x, *split)
            self.inner_shape = None if len(self.key) == len(key) else y.shape
            return y if self.inner_shape is None else y[_new_axes(key)]
        self.inner_shape = None if len(self.key) == len(key) else x[self.key].shape
        return self.index(x, key)

    def index(self, x, key):
        """``x[key]``, with a clear error for an index out of range."""
        try:
            return x[key]
        except IndexError as error:
            raise IndexError(f"getitem: cannot index a tensor of shape {tuple(x.shape)} with {key}: {error}") from None

    def take(self, x, axis, idx, basic):
        """``x[key]`` for one integer array ``idx`` (on ``axis``) among slices and ``...``, by the
        standard's ``take`` (the standard has no integer array beside a slice):
        ``take(x[basic], idx, axis)``, where ``basic`` is the key with ``:`` for the array."""
        xp = self.xp
        part = x[basic]
        y = xp.take(part, xp.reshape(idx, (-1,)), axis=axis)
        return xp.reshape(y, (*part.shape[:axis], *idx.shape, *part.shape[axis + 1 :]))

    def index_arrays(self, x, key):
        """``key`` with each integer list, array or tensor as a backend array of indices in
        [0, n), checked against the size n of the axis it indexes (CuPy would wrap silently)."""
        indexed = sum(k is not None and k is not Ellipsis for k in key)
        axis, converted = 0, []
        for k in key:
            if _is_array_like(k) and axis < x.ndim:
                k = self.index_array(k, axis, x.shape)
            converted.append(k)
            if k is Ellipsis:
                axis += x.ndim - indexed  # the axes that ... stands for
            elif k is not None:
                axis += 1
        return tuple(converted)

    def index_array(self, k, axis, shape):
        """An integer index as a backend array, checked against the axis it indexes."""
        xp = self.xp
        k = parameter_array(k)
        k = xp.asarray(k, dtype=xp.int64) if isinstance(k, list) and not k else xp.asarray(k)  # [] selects nothing
        if k.dtype == xp.bool:
            raise TypeError("getitem: boolean masks are not supported; use where(mask, x, 0)")
        if not xp.isdtype(k.dtype, "integral"):
            raise TypeError(f"getitem: index arrays must hold integers, got dtype {_backend.dtype_name(k.dtype)}")
        n = shape[axis]
        if self.lookup_of is not None:  # rows looked up: no index counts from the end (the lookup's own message)
            why = f"weight {tuple(shape)} has {n} rows"
            check_index_range(self.lookup_of, "input", k, n, why, _backend.backend_of(k).to_numpy)
            return k
        if math.prod(k.shape) and bool(xp.any((k < -n) | (k >= n))):
            raise IndexError(
                f"getitem: index array with values from {int(xp.min(k))} to {int(xp.max(k))} is out of range "
                f"for axis {axis} of size {n} (tensor shape {tuple(shape)})"
            )
        return xp.where(k < 0, k + n, k)

    def backward(self, grad):
        if self.inner_shape is not None:
            grad = self.xp.reshape(grad, self.inner_shape)
        if self.extent is _NOT_YET:  # where the slice lies, so that the engine can join slices (SliceGrads)
            self.extent = None if self.advanced else slice_extent(self.key, self.input_shape)
        return (SparseGrad(self.key, grad, self.advanced, self.extent),)


_BASIC_INDEX = frozenset((int, slice, type(Ellipsis)))


def _new_axes(key) -> tuple:
    """The index that inserts the new axes of ``key``'s ``None`` entries into x[key without None],
    when ``key`` holds one integer array (whose axes then stay in place, as in NumPy)."""
    index = []
    for k in key:
        if hasattr(k, "shape"):
            index += [slice(None)] * k.ndim  # the axes the array's values fill
        else:
            index.append(slice(None) if type(k) is slice else k)  # None and ... stay
    return tuple(index)


def _is_array_like(k) -> bool:
    return isinstance(k, list) or hasattr(k, "shape")


class Pad(Function):
    """y = x surrounded by ``value``: ``widths[i] = (before, after)`` for the leading axes;
    dL/dx = dL/dy with the padding cut away"""

    def forward(self, x, widths, value):
        if len(widths) > x.ndim or any(w < 0 for pair in widths for w in pair):
            raise ValueError(
                f"pad: widths {widths} do not fit shape {tuple(x.shape)} "
                "(at most one (before, after) pair of non-negative ints per axis)"
            )
        widths = widths + ((0, 0),) * (x.ndim - len(widths))
        shape = tuple(n + before + after for n, (before, after) in zip(x.shape, widths))
        self.inside = tuple(slice(before, before + n) for n, (before, _) in zip(x.shape, widths))
        y = self.xp.full(shape, value, dtype=x.dtype)
        y[self.inside] = x
        return y

    def backward(self, grad):
        return (grad[self.inside],)


class Cat(Function):
    """y = the inputs joined along ``axis``;  dL/dx_k = the slice of dL/dy that x_k filled"""

    def forward(self, *xs, axis):
        first = xs[0].shape
        if not first:
            raise ValueError("cat: 0-d tensors have no axis to join along; use stack")
        axis_ = normalize_axis(self.name, axis, len(first))
        for x in xs:
            if len(x.shape) != len(first) or any(a != b for i, (a, b) in enumerate(zip(x.shape, first)) if i != axis_):
                raise ValueError(f"cat: shapes {[tuple(x.shape) for x in xs]} must match except on axis {axis}")
        self.axis = axis_
        self.sizes = [x.shape[axis_] for x in xs]
        return self.xp.concat(xs, axis=axis_)

    def backward(self, grad):
        before = (slice(None),) * self.axis
        grads, start = [], 0
        for n in self.sizes:
            grads.append(grad[(*before, slice(start, start + n), ...)])  # `...`: the standard needs every axis
            start += n
        return tuple(grads)


def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (one :class:`Cat` op)."""
    if not tensors:
        raise ValueError("cat: got no tensors to join; pass a non-empty list of tensors, e.g. cat([a, b])")
    return Cat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis: each gets a new axis of size 1 there, then one :class:`Cat`."""
    if not tensors:
        raise ValueError("stack: got no tensors to stack; pass a non-empty list of tensors, e.g. stack([a, b])")
    axis = normalize_axis("stack", axis, tensors[0].ndim + 1)  # the new axis can also go last
    return cat([t.unsqueeze(axis) for t in tensors], axis=axis)
