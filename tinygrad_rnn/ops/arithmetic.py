"""Elementwise ops of two (or three) operands, with NumPy broadcasting.

Each backward returns gradients in the broadcast output shape; the engine sums them back to each
operand's shape (:func:`~tinygrad_rnn.shape_rules.unbroadcast`).

Example:
    >>> import tinygrad_rnn as tg
    >>> a, b = tg.ones(2, 3), tg.zeros(2, 3)
    >>> where(a > 0, a, b).sum().item(), where(a > 0, 2.0, 0.0).sum().item()
    (6.0, 12.0)
"""

from __future__ import annotations

import operator
from typing import Any

from ..backend import DEFAULT_FLOAT, dtype_name
from ..function import Function, parameter_array
from ..shape_rules import broadcast_shape
from ..tensor import Tensor


class Binary(Function):
    """An elementwise op of two operands: when the array library refuses them, says whether their
    shapes broadcast (which ones, along which axis)."""

    def refused(self, a, b):
        broadcast_shape(self.name, a.shape, b.shape)


class Add(Binary):
    """y = a + b;  dL/da = dL/dy,  dL/db = dL/dy"""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Binary):
    """y = a - b;  dL/da = dL/dy,  dL/db = -dL/dy"""

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Mul(Binary):
    """y = a * b;  dL/da = dL/dy * b,  dL/db = dL/dy * a"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Binary):
    """y = a / b;  dL/da = dL/dy / b,  dL/db = -dL/dy * a / b^2

    Integer divided by integer is true division in the default float32, as in PyTorch
    (``int_tensor / 2``), on every device.
    """

    def forward(self, a, b):
        xp = self.xp
        if not xp.isdtype(a.dtype, "real floating") and not xp.isdtype(b.dtype, "real floating"):
            default = getattr(xp, DEFAULT_FLOAT)
            a, b = xp.astype(a, default), xp.astype(b, default)
        self.save_for_backward(a, b)
        return a / b

    def backward(self, grad):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        grad_a = grad / b
        return (grad_a if need_a else None), (-grad_a * a / b if need_b else None)


class Pow(Binary):
    """y = a ** b;  dL/da = dL/dy * b a^(b-1),  dL/db = dL/dy * y log(a)

    At a = 0 the limits are used, as in PyTorch: dy/da = 0 where b = 0 (y = 1 is constant; not
    0 * inf), and dy/db = 0 where b >= 0 (y log(a) -> 0; log(a) itself is undefined for a <= 0).
    """

    def forward(self, a, b):
        y = a**b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, grad):
        a, b, y = self.saved
        xp = self.xp
        need_a, need_b = self.needs_input_grad
        zero = xp.zeros((), dtype=grad.dtype)
        grad_a = grad * xp.where(b == 0, zero, b * a ** (b - 1)) if need_a else None
        grad_b = grad * xp.where((a == 0) & (b >= 0), zero, y * xp.log(a)) if need_b else None
        return grad_a, grad_b


class Neg(Function):
    """y = -x;  dL/dx = -dL/dy"""

    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)


class Maximum(Binary):
    """y = max(a, b) elementwise; the gradient goes to the larger operand (half each on a tie)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.maximum(a, b)

    def a_wins(self, a, b):
        return a > b

    def backward(self, grad):
        a, b = self.saved
        xp = self.xp
        share_a = xp.astype(self.a_wins(a, b), grad.dtype) + 0.5 * xp.astype(a == b, grad.dtype)
        return grad * share_a, grad * (1 - share_a)


class Minimum(Maximum):
    """y = min(a, b) elementwise; the gradient goes to the smaller operand (half each on a tie)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.minimum(a, b)

    def a_wins(self, a, b):
        return a < b


class Comparison(Binary):
    """y = (a op b) elementwise, a bool array: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``.

    Not differentiable (the output never requires grad), but an op, with every op's device and
    dtype checks (an int compares with a float as a float), so tinygrad_rnn.compile replays it.
    """

    differentiable = False
    compare: Any = None  # the operator function, set by each subclass

    def forward(self, a, b):
        return self.compare(a, b)


class Eq(Comparison):
    compare = operator.eq


class Ne(Comparison):
    compare = operator.ne


class Lt(Comparison):
    compare = operator.lt


class Le(Comparison):
    compare = operator.le


class Gt(Comparison):
    compare = operator.gt


class Ge(Comparison):
    compare = operator.ge


class Where(Function):
    """y = a where condition else b;  dL/da = dL/dy where condition,  dL/db = dL/dy elsewhere"""

    def forward(self, a, b, condition):
        xp = self.xp
        condition = xp.asarray(parameter_array(condition))
        if condition.dtype != xp.bool:
            raise TypeError(f"where: the condition must be a bool array, got dtype {dtype_name(condition.dtype)}")
        broadcast_shape(self.name, condition.shape, a.shape, b.shape)
        self.save_for_backward(condition)
        return xp.where(condition, a, b)

    def backward(self, grad):
        (condition,) = self.saved
        zero = self.xp.zeros((), dtype=grad.dtype)
        return self.xp.where(condition, grad, zero), self.xp.where(condition, zero, grad)


def where(condition: Tensor | Any, a: Tensor | Any, b: Tensor | Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (one :class:`Where` op, differentiable in ``a`` and ``b``)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # two numbers: float32 (or int64) tensors
        device = condition.device if isinstance(condition, Tensor) else None
        a = Tensor(a, device=device)
    if not isinstance(a, Tensor):
        a = b._operand(a)
    if not isinstance(b, Tensor):
        b = a._operand(b)
    return Where.apply(a, b, condition=condition)


class Clip(Function):
    """y = min(max(x, low), high);  dL/dx = dL/dy where low <= x <= high, else 0"""

    def forward(self, x, low, high):
        self.save_for_backward(x)
        self.low, self.high = low, high  # numbers (or None)
        return self.xp.clip(x, low, high)

    def backward(self, grad):
        (x,) = self.saved
        inside = self.xp.ones(x.shape, dtype=self.xp.bool)
        if self.low is not None:
            inside = inside & (x >= self.low)
        if self.high is not None:
            inside = inside & (x <= self.high)
        return (grad * self.xp.astype(inside, grad.dtype),)
