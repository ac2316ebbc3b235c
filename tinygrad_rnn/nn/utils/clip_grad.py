"""Gradient clipping: keep one bad batch (an exploding RNN gradient) from wrecking the weights.

Call between ``loss.backward()`` and ``optimizer.step()``. Both functions change the gradients
in place of each parameter (``param.grad`` gets new data) and skip parameters without a gradient.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.zeros(2, requires_grad=True)
    >>> w.grad = tg.Tensor([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0)             # returns the norm before clipping
    5.0
    >>> [round(g, 4) for g in w.grad.tolist()]         # rescaled to norm 1
    [0.6, 0.8]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ...tensor import Tensor

Params = Tensor | Iterable[Tensor]


def _grads(parameters: Params) -> list[Tensor]:
    """The gradients (Tensors) of the parameters that have one."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _norm(array: Any, xp: Any, norm_type: float) -> float:
    """The p-norm of an array, (sum |x|^p)^(1/p), or max |x| for p = inf, as a Python float."""
    if math.prod(array.shape) == 0:
        return 0.0
    if norm_type == math.inf:
        return float(xp.max(xp.abs(array)))
    if norm_type == 2.0:
        return math.sqrt(float(xp.sum(array * array)))
    return float(xp.sum(xp.abs(array) ** norm_type)) ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: Params, max_norm: float, norm_type: float | str = 2.0, error_if_nonfinite: bool = False
) -> float:
    """Rescale the gradients so that their total norm is at most ``max_norm``; return the total norm.

    The total norm is the norm of all gradients joined into one vector, which is the norm of the
    per-parameter norms: ``total = || (||g_1||, ..., ||g_n||) ||_p``. If ``total > max_norm``
    (precisely, as PyTorch: if ``c = max_norm / (total + 1e-6) < 1``), every gradient becomes
    ``g * c``; otherwise the gradients are left as they are.

    A non-finite gradient (one inf, say) makes the total inf, so ``c = 0``: every gradient
    becomes 0 and the infinite entries nan (inf * 0), exactly as in PyTorch. With
    ``error_if_nonfinite=True`` a RuntimeError is raised instead and no gradient is changed.

    Args:
        parameters: a tensor or an iterable of tensors (e.g. ``model.parameters()``).
        max_norm: the largest total norm allowed.
        norm_type: p of the p-norm (``2.0`` by default; ``math.inf`` or ``"inf"`` for the max norm).
        error_if_nonfinite: raise if the total norm is nan or inf (else the gradients become 0 and nan).

    Returns:
        The total norm of the gradients before clipping, as a Python float.

    Example:
        >>> import tinygrad_rnn as tg
        >>> a, b = tg.zeros(1, requires_grad=True), tg.zeros(1, requires_grad=True)
        >>> a.grad, b.grad = tg.Tensor([-6.0]), tg.Tensor([8.0])
        >>> clip_grad_norm_([a, b], max_norm=20.0)         # below the limit: unchanged
        10.0
        >>> clip_grad_norm_([a, b], max_norm=1.0, norm_type="inf")
        8.0
        >>> round(b.grad.item(), 5)
        1.0
    """
    norm_type = float(norm_type)
    grads = _grads(parameters)
    if not grads:
        return 0.0
    norms = [_norm(g.data, g.xp, norm_type) for g in grads]
    total = _norm(np.asarray(norms), np, norm_type)  # the norm of the norms (Python floats, so NumPy)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total {norm_type}-norm of the gradients is {total}, so they cannot be "
            "clipped; check the loss for nan/inf, or pass error_if_nonfinite=False"
        )
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1.0:
        for g in grads:
            g.data = g.data * coefficient
    return total


def clip_grad_value_(parameters: Params, clip_value: float) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``.

    Example:
        >>> import tinygrad_rnn as tg
        >>> w = tg.zeros(3, requires_grad=True)
        >>> w.grad = tg.Tensor([-5.0, 0.5, 2.0])
        >>> clip_grad_value_([w], 1.0)
        >>> w.grad
        Tensor([-1. ,  0.5,  1. ], dtype=float32)
    """
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value!r}")
    for g in _grads(parameters):
        g.data = g.xp.clip(g.data, -clip_value, clip_value)
