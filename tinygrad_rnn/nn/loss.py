"""Loss modules: the losses of :mod:`tinygrad_rnn.nn.functional`, with their options fixed at construction.

``criterion = nn.CrossEntropyLoss(ignore_index=0)`` then ``criterion(scores, targets)`` is
``F.cross_entropy(scores, targets, ignore_index=0)``: the module only remembers the options.
Class weights (``weight``, ``pos_weight``) are buffers, as in PyTorch: they are in ``state_dict()``
(so a PyTorch loss's state dict loads), and ``criterion.to(device)`` moves them with the model.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn import nn
    >>> criterion = nn.CrossEntropyLoss()
    >>> round(criterion(tg.zeros(4, 3), [0, 1, 2, 0]).item(), 4)   # log 3
    1.0986
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss", "NLLLoss"]


class _Loss(Module):
    """Keeps ``reduction`` ("mean", "sum" or "none"), checked when the loss is made."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"

    def _weights(self, **weights: Tensor | Any | None) -> None:
        """Register each weight as a buffer (None when absent), arrays and lists made Tensors."""
        for name, value in weights.items():
            if value is not None:
                value = value.detach() if isinstance(value, Tensor) else Tensor(value)  # a constant
            self.register_buffer(name, value)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy against class indices; see :func:`functional.cross_entropy`.

    Shapes: scores (N, C) or (N, C, d1, ...) or (C,); targets (N,), (N, d1, ...) or ().

    Example:
        >>> criterion = CrossEntropyLoss(ignore_index=0, reduction="sum")
        >>> round(criterion(Tensor([[0.0, 0.0], [0.0, 0.0]]), [1, 0]).item(), 4)   # log 2, once
        0.6931
    """

    def __init__(
        self,
        weight: Tensor | Any | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        self._weights(weight=weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor | Any) -> Tensor:
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices, from log-probabilities; see :func:`functional.nll_loss`.

    Example:
        >>> NLLLoss(reduction="none")(Tensor([[-0.5, -2.0]]), [1]).tolist()
        [2.0]
    """

    def __init__(self, weight: Tensor | Any | None = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._weights(weight=weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor | Any) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Mean squared error; see :func:`functional.mse_loss`.

    Example:
        >>> MSELoss()(Tensor([1.0, 3.0]), Tensor([1.0, 1.0])).item()
        2.0
    """

    def forward(self, input: Tensor, target: Tensor | Any) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities; see :func:`functional.binary_cross_entropy`.

    Example:
        >>> round(BCELoss()(Tensor([0.5]), Tensor([1.0])).item(), 4)   # log 2
        0.6931
    """

    def __init__(self, weight: Tensor | Any | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._weights(weight=weight)

    def forward(self, input: Tensor, target: Tensor | Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of scores, stable for any score; see :func:`functional.binary_cross_entropy_with_logits`.

    Example:
        >>> criterion = BCEWithLogitsLoss(pos_weight=Tensor([3.0]))
        >>> round(criterion(Tensor([0.0]), Tensor([1.0])).item(), 4)   # 3 log 2
        2.0794
    """

    def __init__(
        self, weight: Tensor | Any | None = None, reduction: str = "mean", pos_weight: Tensor | Any | None = None
    ) -> None:
        super().__init__(reduction)
        self._weights(weight=weight, pos_weight=pos_weight)

    def forward(self, input: Tensor, target: Tensor | Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)
