"""SGD: stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([1.0], requires_grad=True)
    >>> opt = tg.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    >>> round(w.item(), 4)    # 1 - 0.1*2 = 0.8, then b = 0.9*2 + 1.6 = 3.4: 0.8 - 0.34
    0.46
"""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, ParamsArg


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's update rule and defaults.

    At each step, with g the gradient and b the momentum buffer (PyTorch's ``momentum_buffer``)::

        g = g + weight_decay * p                          (L2 penalty, if weight_decay != 0)
        b = g                                             (first step)
        b = momentum * b + (1 - dampening) * g            (later steps)   } if momentum != 0
        g = g + momentum * b  (nesterov)   or   g = b     (otherwise)     }
        p = p - lr * g

    Args:
        params: tensors to optimize, or parameter groups (see :class:`Optimizer`).
        lr: learning rate.
        momentum: momentum factor (0: plain SGD).
        dampening: dampening of the momentum.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        weight_decay: L2 penalty coefficient.

    Example:
        >>> import tinygrad_rnn as tg
        >>> w = tg.Tensor([1.0, -1.0], requires_grad=True)
        >>> w.grad = tg.Tensor([1.0, 1.0])
        >>> tg.optim.SGD([w], lr=0.5, weight_decay=1.0).step()    # g = [1, 1] + [1, -1]
        >>> w
        Tensor([ 0., -1.], dtype=float32, requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        nesterov: bool = False,
        weight_decay: float = 0,
    ):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")

    def update(self, xp: Any, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            buffer = grad if buffer is None else momentum * buffer + (1 - group["dampening"]) * grad
            state["momentum_buffer"] = buffer
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        return param - group["lr"] * grad
