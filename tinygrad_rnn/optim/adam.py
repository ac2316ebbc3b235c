"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay.

The two share one update rule; they differ only in how weight decay enters:

* ``Adam``: as an L2 penalty added to the gradient, ``g = g + weight_decay * p``, which then
  passes through the adaptive scaling (so heavily-updated weights are decayed less);
* ``AdamW`` (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"): as a separate
  shrink of the weight, ``p = p * (1 - lr * weight_decay)``, outside the adaptive scaling.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([1.0, -1.0], requires_grad=True)
    >>> w.grad = tg.Tensor([3.0, -0.001])
    >>> tg.optim.Adam([w], lr=0.1).step()    # the first step moves each weight by lr, whatever |g|
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, -0.9]
"""

from __future__ import annotations

import math
from typing import Any

from .. import arguments
from .optimizer import Optimizer, ParamsArg


class Adam(Optimizer):
    """Adam (Kingma & Ba), with PyTorch's update rule and defaults.

    At step t (from 1), with g the gradient::

        g = g + weight_decay * p            (Adam, if weight_decay != 0)
        p = p * (1 - lr * weight_decay)     (AdamW instead)
        m = beta1 * m + (1 - beta1) * g             first moment  (``exp_avg``)
        v = beta2 * v + (1 - beta2) * g^2           second moment (``exp_avg_sq``)
        v_max = max(v_max, v)                       (amsgrad only: ``max_exp_avg_sq``, used for v)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Args:
        params: tensors to optimize, or parameter groups (see :class:`Optimizer`).
        lr: learning rate.
        betas: decay rates (beta1, beta2) of the moving averages of g and g^2.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty (Adam) or decoupled decay rate (AdamW).
        amsgrad: use the running maximum of v (Reddi et al., "On the Convergence of Adam and Beyond").

    Example:
        >>> import tinygrad_rnn as tg
        >>> w = tg.Tensor([2.0], requires_grad=True)
        >>> opt = tg.optim.Adam([w], lr=0.1)
        >>> for _ in range(100):
        ...     opt.zero_grad()
        ...     ((w - 5.0) ** 2).sum().backward()
        ...     opt.step()
        >>> abs(w.item() - 5.0) < 0.2
        True
    """

    decoupled_weight_decay = False  # AdamW sets True

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
    ):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        name = type(self).__name__
        group["betas"] = arguments.pair(name, "betas", group["betas"])
        for i, beta in enumerate(group["betas"]):
            arguments.number(name, f"betas[{i}]", beta, 0.0, 1.0, open_high=True)

    def update(self, xp: Any, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        lr, weight_decay, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] = t = state["step"] + 1
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                param = param * (1 - lr * weight_decay)
            else:
                grad = grad + weight_decay * param
        state["exp_avg"] = m = beta1 * state["exp_avg"] + (1 - beta1) * grad
        state["exp_avg_sq"] = v = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = v = xp.maximum(state["max_exp_avg_sq"], v)
        denominator = xp.sqrt(v) / math.sqrt(1 - beta2**t) + group["eps"]
        return param - (lr / (1 - beta1**t)) * m / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p = p * (1 - lr * weight_decay)`` before the Adam step.

    Same arguments as :class:`Adam`, except ``weight_decay`` defaults to 1e-2 (as in PyTorch).

    Example:
        >>> import tinygrad_rnn as tg
        >>> w = tg.Tensor([1.0], requires_grad=True)
        >>> w.grad = tg.Tensor([0.0])      # no gradient: only the decay acts
        >>> tg.optim.AdamW([w], lr=0.1, weight_decay=0.5).step()
        >>> w                              # 1 * (1 - 0.1 * 0.5)
        Tensor([0.95], dtype=float32, requires_grad=True)
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
