"""RMSprop: divide the gradient by a running root-mean-square of recent gradients (Hinton).

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([1.0, -1.0], requires_grad=True)
    >>> w.grad = tg.Tensor([4.0, -0.5])
    >>> tg.optim.RMSprop([w], lr=0.01, alpha=0.75).step()   # step = lr * g / sqrt(0.25 g^2) = 2 lr
    >>> w
    Tensor([ 0.98, -0.98], dtype=float32, requires_grad=True)
"""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, ParamsArg


class RMSprop(Optimizer):
    """RMSprop, with PyTorch's update rule and defaults.

    At each step, with g the gradient::

        g = g + weight_decay * p                      (if weight_decay != 0)
        v = alpha * v + (1 - alpha) * g^2             (``square_avg``)
        a = alpha * a + (1 - alpha) * g               (centered only: ``grad_avg``)
        d = sqrt(v - a^2) + eps   (centered)   or   d = sqrt(v) + eps
        b = momentum * b + g / d;  p = p - lr * b    (if momentum > 0: ``momentum_buffer``)
        p = p - lr * g / d                            (otherwise)

    Args:
        params: tensors to optimize, or parameter groups (see :class:`Optimizer`).
        lr: learning rate.
        alpha: smoothing constant of the moving averages.
        eps: added to the denominator for numerical stability.
        momentum: momentum factor.
        centered: normalise by an estimate of the gradient's variance instead of its second moment.
        weight_decay: L2 penalty coefficient.

    Example:
        >>> import tinygrad_rnn as tg
        >>> w = tg.Tensor([3.0], requires_grad=True)
        >>> opt = tg.optim.RMSprop([w], lr=0.05, centered=True, momentum=0.5)
        >>> for _ in range(200):
        ...     opt.zero_grad()
        ...     (w * w).sum().backward()
        ...     opt.step()
        >>> abs(w.item()) < 0.1
        True
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0,
        centered: bool = False,
        weight_decay: float = 0,
    ):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def update(self, xp: Any, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        alpha, momentum, weight_decay = group["alpha"], group["momentum"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        if weight_decay != 0:
            grad = grad + weight_decay * param
        state["square_avg"] = v = alpha * state["square_avg"] + (1 - alpha) * grad * grad
        if group["centered"]:
            state["grad_avg"] = a = alpha * state["grad_avg"] + (1 - alpha) * grad
            v = v - a * a
        denominator = xp.sqrt(v) + group["eps"]
        if momentum > 0:
            state["momentum_buffer"] = step = momentum * state["momentum_buffer"] + grad / denominator
        else:
            step = grad / denominator
        return param - group["lr"] * step
