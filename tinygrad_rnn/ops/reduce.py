"""Reductions over axes, and the numerically stable softmax family.

A reduction's backward spreads dL/dy back over the reduced axes: it re-inserts them (as
``keepdims=True`` would have kept them) and broadcasts to the input's shape.
"""

from __future__ import annotations

from ..function import Function
from ..shape_rules import normalize_axes, normalize_axis


def check_not_empty(op: str, shape: tuple, axis) -> None:
    """argmax/argmin have no answer over an empty axis: a clear error instead of NumPy's."""
    axes = normalize_axes(op, axis, len(shape))
    if any(shape[a] == 0 for a in axes) or (axis is None and 0 in shape):
        where = "" if axis is None else f" along axis {axis}"
        raise ValueError(f"{op}: cannot take the {op} of an empty tensor of shape {tuple(shape)}{where}")


class ArgMax(Function):
    """y = the index of the largest entry along ``axis`` (of the flattened input if None).

    Not differentiable (an index), but an op, so tinygrad_rnn.compile replays it (greedy sampling)."""

    differentiable = False

    def forward(self, x, axis, keepdims):
        check_not_empty(self.name, tuple(x.shape), axis)
        return self.reduce(x, axis=axis, keepdims=keepdims)

    def reduce(self, x, axis, keepdims):
        return self.xp.argmax(x, axis=axis, keepdims=keepdims)


class ArgMin(ArgMax):
    """y = the index of the smallest entry along ``axis`` (of the flattened input if None)."""

    def reduce(self, x, axis, keepdims):
        return self.xp.argmin(x, axis=axis, keepdims=keepdims)


def degrees_of_freedom(op: str, count: int, correction: int) -> int:
    """N - correction, the divisor of var/std, refused when it is not positive (no variance to
    estimate: the unbiased variance of one number, or of none, is undefined)."""
    if count - correction <= 0:
        raise ValueError(
            f"{op}: {count} element(s) per result and correction={correction} leave N - correction = "
            f"{count - correction} degrees of freedom; pass correction=0 for the population variance"
        )
    return count - correction


class Reduction(Function):
    """Shared by Sum, Max, Min: remembers the axes and the input shape."""

    def forward(self, x, axis, keepdims):
        self.axes = normalize_axes(self.name, axis, x.ndim)
        self.input_shape = x.shape
        self.keepdims = keepdims
        return self.reduce(x)

    def with_kept_axes(self, y):
        """y with the reduced axes re-inserted as size 1 (a no-op if keepdims was used)."""
        if self.keepdims:
            return y
        shape = tuple(1 if i in self.axes else n for i, n in enumerate(self.input_shape))
        return self.xp.reshape(y, shape)


class Sum(Reduction):
    """y = sum of x over axes;  dL/dx = dL/dy copied along the reduced axes"""

    def reduce(self, x):
        return self.xp.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        return (self.xp.broadcast_to(self.with_kept_axes(grad), self.input_shape),)


class Max(Reduction):
    """y = max of x over axes;  dL/dx = dL/dy at the maxima (shared equally among ties)"""

    def reduce(self, x):
        if any(x.shape[a] == 0 for a in self.axes):
            raise ValueError(f"{self.name}: cannot reduce an empty tensor of shape {tuple(x.shape)}")
        y = self.pick(x)
        self.save_for_backward(x, y)
        return y

    def pick(self, x):
        return self.xp.max(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        x, y = self.saved
        xp = self.xp
        is_extreme = xp.astype(x == self.with_kept_axes(y), grad.dtype)
        ties = xp.sum(is_extreme, axis=self.axes, keepdims=True)
        return (is_extreme * (self.with_kept_axes(grad) / ties),)


class Min(Max):
    """y = min of x over axes;  dL/dx = dL/dy at the minima (shared equally among ties)"""

    def pick(self, x):
        return self.xp.min(x, axis=self.axes, keepdims=self.keepdims)


class LogSumExp(Reduction):
    """y = log sum_i e^(x_i), computed as m + log sum_i e^(x_i - m) with m = max x (stable);
    dL/dx = dL/dy * softmax(x)"""

    def reduce(self, x):
        xp = self.xp
        m = xp.max(x, axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))  # all -inf rows: avoid inf - inf
        e = xp.exp(x - m)
        s = xp.sum(e, axis=self.axes, keepdims=True)
        self.save_for_backward(e / s)
        y = xp.log(s) + m
        return y if self.keepdims else xp.reshape(y, tuple(n for i, n in enumerate(x.shape) if i not in self.axes))

    def backward(self, grad):
        (softmax,) = self.saved
        return (self.with_kept_axes(grad) * softmax,)


class Softmax(Function):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m) along ``axis`` (m = max, for stability);
    dL/dx = y * (dL/dy - sum_j dL/dy_j y_j)"""

    def forward(self, x, axis):
        xp = self.xp
        self.axis = axis = normalize_axis(self.name, axis, x.ndim)
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        y = e / xp.sum(e, axis=axis, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return (y * (grad - self.xp.sum(grad * y, axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``axis``;  dL/dx = dL/dy - softmax(x) * sum_j dL/dy_j"""

    def forward(self, x, axis):
        xp = self.xp
        self.axis = axis = normalize_axis(self.name, axis, x.ndim)
        y = x - xp.max(x, axis=axis, keepdims=True)  # shifted: exp never overflows
        y -= xp.log(xp.sum(xp.exp(y), axis=axis, keepdims=True))  # in place: one array fewer
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        xp = self.xp
        grad_x = xp.exp(y)  # softmax(x), then scaled and shifted in place: one new array
        grad_x *= -xp.sum(grad, axis=self.axis, keepdims=True)
        grad_x += grad
        return (grad_x,)
