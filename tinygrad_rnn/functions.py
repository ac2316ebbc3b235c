"""Functions of several tensors: joining them (``cat``, ``stack``), choosing between them
(``where``) and the affine map of a layer (``linear``).

Example:
    >>> import tinygrad_rnn as tg
    >>> a, b = tg.ones(2, 3), tg.zeros(2, 3)
    >>> cat([a, b]).shape, stack([a, b]).shape
    ((4, 3), (2, 2, 3))
    >>> where(a > 0, a, b).sum().item()
    6.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import ops
from .tensor import Tensor, _axis


def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return ops.shape.Cat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    axis = _axis("stack", axis, tensors[0].ndim + 1)  # the new axis can also go last
    return cat([t.unsqueeze(axis) for t in tensors], axis=axis)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` as one op; ``weight`` has PyTorch's (out_features, in_features) layout."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ops.linalg.Linear.apply(*inputs)


def where(condition: Tensor | Any, a: Tensor | Any, b: Tensor | Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (differentiable in ``a`` and ``b``)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # two numbers: float32 (or int64) tensors
        device = condition.device if isinstance(condition, Tensor) else None
        a = Tensor(a, device=device)
    condition = condition.data if isinstance(condition, Tensor) else condition
    if not isinstance(a, Tensor):
        a = b._operand(a)
    if not isinstance(b, Tensor):
        b = a._operand(b)
    return ops.arithmetic.Where.apply(a, b, condition=condition)
