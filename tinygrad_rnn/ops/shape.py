"""Ops that move, select or join elements without arithmetic: their backward routes the
gradient back to where each element came from."""

from __future__ import annotations

import math

from ..autograd import SparseGrad
from ..function import Function


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
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
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
        from .arithmetic import broadcast_shape

        if broadcast_shape(self.name, x.shape, shape) != tuple(shape):
            raise ValueError(f"expand: cannot expand shape {tuple(x.shape)} to {tuple(shape)}")
        return self.xp.broadcast_to(x, shape)

    def backward(self, grad):
        return (grad,)


class GetItem(Function):
    """y = x[key] (ints, slices, None, ..., integer arrays or tensors);
    dL/dx = zeros with dL/dy added at ``key`` (repeated integer indices add up)"""

    def forward(self, x, key):
        key = key if isinstance(key, tuple) else (key,)
        if all(type(k) in _BASIC_INDEX for k in key):  # ints and slices: the common case, taken fast
            if Ellipsis not in key:
                key = (*key, Ellipsis)  # the standard asks for every axis to be indexed
            self.key, self.advanced, self.inner_shape = key, False, None
            return self.index(x, key)
        key = tuple(self.index_array(k, x) if _is_array_like(k) else k for k in key)
        if not any(k is Ellipsis for k in key):  # `in` would compare arrays elementwise
            key = (*key, Ellipsis)  # the standard asks for every axis to be indexed
        self.advanced = any(hasattr(k, "shape") for k in key)
        # None inserts new axes in y; the gradient buffer of x has none, so drop them there.
        self.key = tuple(k for k in key if k is not None)
        self.inner_shape = None if len(self.key) == len(key) else x[self.key].shape
        return self.index(x, key)

    def index(self, x, key):
        """``x[key]``, with a clear error for an index out of range. Backward needs only the key."""
        self.save_for_backward()
        try:
            return _take_rows(self.xp, x, key[0]) if _is_row_lookup(key) else x[key]
        except IndexError as error:
            raise IndexError(f"getitem: index {key} is out of range for shape {tuple(x.shape)}: {error}") from None

    def index_array(self, k, x):
        """An integer index as a backend array, checked against the axis it indexes."""
        xp = self.xp
        k = k.data if hasattr(k, "_backend") else k
        k = xp.asarray(k)
        if k.dtype == xp.bool:
            raise TypeError("getitem: boolean masks are not supported; use where(mask, x, 0)")
        if not xp.isdtype(k.dtype, "integral"):
            raise TypeError(f"getitem: index arrays must hold integers, got dtype {k.dtype}")
        return k

    def backward(self, grad):
        if self.inner_shape is not None:
            grad = self.xp.reshape(grad, self.inner_shape)
        return (SparseGrad(self.key, grad, self.advanced),)


_BASIC_INDEX = (int, slice, type(Ellipsis))


def _is_row_lookup(key) -> bool:
    """``x[idx]`` with one integer array ``idx`` on the leading axis (an embedding lookup)."""
    return len(key) == 2 and hasattr(key[0], "shape") and key[1] is Ellipsis


def _take_rows(xp, x, idx):
    """``x[idx]`` for an integer array ``idx`` of any shape, by the standard's ``take``
    (the standard does not allow an integer array beside a slice or ``...``)."""
    rows = xp.take(x, xp.reshape(idx, (-1,)), axis=0)
    return xp.reshape(rows, (*idx.shape, *x.shape[1:]))


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
        axis_ = axis % max(len(first), 1)
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
