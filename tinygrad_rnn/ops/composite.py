"""Tensor methods that are compositions of other ops: no forward or backward of their own.

Their gradients fall out of the ops they are made of (``var`` is a mean, a subtraction, a
product and a sum; ``split`` is one slice per piece), so a picture of the graph shows those ops.
:class:`~tinygrad_rnn.tensor.Tensor` fronts each with a method of the same name.

Example:
    >>> import tinygrad_rnn as tg
    >>> x = tg.arange(6.0).reshape(2, 3)
    >>> [piece.shape for piece in split(x, 2, axis=1)], flatten(x).shape, unsqueeze(x, 0).shape
    ([(2, 2), (2, 1)], (6,), (1, 2, 3))
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from ..shape_rules import normalize_axes, normalize_axis, reduced_count, split_sizes
from ..tensor import Axis, Tensor
from . import reduce, shape


def mean(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """sum(x) / N over ``axis``."""
    return x.sum(axis, keepdims) / reduced_count(x.shape, axis)


def var(x: Tensor, axis: Axis = None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """sum((x - mean)^2) / (N - correction) over ``axis``."""
    deviation = x - x.mean(axis, keepdims=True)
    count = reduced_count(x.shape, axis)
    return (deviation * deviation).sum(axis, keepdims) / reduce.degrees_of_freedom("var", count, correction)


def flatten(x: Tensor, start: int = 0, end: int = -1) -> Tensor:
    """Axes ``start`` to ``end`` (inclusive) merged into one; a 0-d tensor becomes shape (1,)."""
    if x.ndim == 0:
        return x.reshape(1)
    start, end = normalize_axis("flatten", start, x.ndim), normalize_axis("flatten", end, x.ndim)
    if start > end:
        raise ValueError(f"flatten: start axis {start} comes after end axis {end} (shape {x.shape})")
    return x.reshape(*x.shape[:start], math.prod(x.shape[start : end + 1]), *x.shape[end + 1 :])


def transpose(x: Tensor, axis0: int, axis1: int) -> Tensor:
    """``x`` with two axes swapped: a permute."""
    axis0, axis1 = normalize_axis("transpose", axis0, x.ndim), normalize_axis("transpose", axis1, x.ndim)
    axes = list(range(x.ndim))
    axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
    return x.permute(axes)


def squeeze(x: Tensor, axis: Axis = None) -> Tensor:
    """``x`` without the axes of size 1 among ``axis`` (all of them for None): a reshape."""
    axes = {a for a in normalize_axes("squeeze", axis, x.ndim) if x.shape[a] == 1}
    return x.reshape(*(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x: Tensor, axis: int) -> Tensor:
    """``x`` with a new axis of size 1 at ``axis`` (which may be one past the last): a reshape."""
    axis = normalize_axis("unsqueeze", axis, x.ndim + 1)
    return x.reshape(*x.shape[:axis], 1, *x.shape[axis:])


def expand(x: Tensor, new_shape: tuple) -> Tensor:
    """``x`` broadcast to ``new_shape``, where -1 keeps the size of an axis ``x`` has."""
    new = len(new_shape) - x.ndim  # leading axes that x does not have
    if -1 in new_shape[: max(new, 0)]:
        raise ValueError(f"expand: -1 (keep the size) in {new_shape} falls on a new axis of shape {x.shape}")
    new_shape = tuple(n if n != -1 else x.shape[i - new] for i, n in enumerate(new_shape))
    return shape.Expand.apply(x, shape=new_shape)


def split(x: Tensor, size_or_sizes: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
    """Slices of ``x`` along ``axis``: of ``size`` each (the last may be shorter), or of the given sizes."""
    axis = normalize_axis("split", axis, x.ndim)
    sizes = split_sizes(size_or_sizes, x.shape, axis)
    before = (slice(None),) * axis
    starts = itertools.accumulate([0, *sizes])
    return tuple(x[(*before, slice(a, a + n))] for a, n in zip(starts, sizes))


def chunk(x: Tensor, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` slices of equal size along ``axis`` (the last may be shorter)."""
    if chunks < 1:
        raise ValueError(f"chunk: the number of chunks must be at least 1, got {chunks}")
    return split(x, -(-x.shape[normalize_axis("chunk", axis, x.ndim)] // chunks), axis)


def unbind(x: Tensor, axis: int = 0) -> tuple[Tensor, ...]:
    """Every index along ``axis``, each slice without that axis."""
    axis = normalize_axis("unbind", axis, x.ndim)
    before = (slice(None),) * axis
    return tuple(x[(*before, i)] for i in range(x.shape[axis]))
