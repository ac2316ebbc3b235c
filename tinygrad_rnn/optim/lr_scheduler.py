"""Learning-rate schedulers: change an optimizer's ``lr`` as training goes on.

Call ``scheduler.step()`` once per epoch (after ``optimizer.step()``); it sets the ``lr`` of every
parameter group from that group's initial lr and the number of steps taken so far.

Example:
    >>> import tinygrad_rnn as tg
    >>> opt = tg.optim.SGD([tg.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = tg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     opt.step()
    ...     scheduler.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

from typing import Any

from .. import arguments
from .optimizer import Optimizer


class LRScheduler:
    """Base class: a subclass defines :meth:`lr_at`, the lr of a group after ``epoch`` steps.

    The lr is computed in closed form from the group's initial lr (kept in the group as
    ``"initial_lr"``, as PyTorch does), so it never drifts by repeated rounding.
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._set_lrs()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not define lr_at()")

    def _set_lrs(self) -> None:
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rates."""
        self.last_epoch += 1
        self._set_lrs()

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group, as last set by this scheduler."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: ``last_epoch`` and ``base_lrs`` (not the optimizer's)."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` and set the optimizer's learning rates accordingly."""
        self.last_epoch = int(state_dict["last_epoch"])
        self.base_lrs = [float(lr) for lr in state_dict["base_lrs"]]
        self._set_lrs()


def decay_factor(where: str, gamma: Any) -> float:
    """``gamma``, the factor the lr is multiplied by: a finite number > 0 (a negative one would
    flip the sign of every other step, zero would stop training after one)."""
    return arguments.number(where, "gamma", gamma, 0.0, open_low=True)


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs: lr = lr_0 * gamma^floor(epoch / step_size).

    Example:
        >>> import tinygrad_rnn as tg
        >>> opt = tg.optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1)
        >>> scheduler = StepLR(opt, step_size=3)
        >>> for _ in range(3):
        ...     scheduler.step()
        >>> opt.param_groups[0]["lr"] == 0.1 * 0.1
        True
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = arguments.size("StepLR", "step_size", step_size, minimum=1)
        self.gamma = decay_factor("StepLR", gamma)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: lr = lr_0 * gamma^epoch.

    Example:
        >>> import tinygrad_rnn as tg
        >>> opt = tg.optim.Adam([tg.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = ExponentialLR(opt, gamma=0.5)
        >>> scheduler.step(); scheduler.step()
        >>> scheduler.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = decay_factor("ExponentialLR", gamma)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma**epoch
