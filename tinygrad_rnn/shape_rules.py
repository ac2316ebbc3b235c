"""Shape rules every op follows: broadcasting, its reverse, axis arguments and index ranges.

Plain functions of shapes (and, for :func:`unbroadcast`, one gradient array), shared by the ops,
the engine and :class:`~tinygrad_rnn.tensor.Tensor`; nothing here imports the rest of the library.

* :func:`broadcast_shape` — the shape of ``a + b`` (NumPy's rule), or an error naming the axis;
* :func:`unbroadcast` — a gradient of that shape summed back to an operand's shape;
* :func:`normalize_axis`, :func:`normalize_axes` — ``axis=-1`` and friends as non-negative axes,
  with a clear error instead of a silent wrap-around;
* :func:`split_sizes` — the pieces ``split`` cuts an axis into;
* :func:`check_index_range` — integer indices (token ids, class targets) inside their table.

Example:
    >>> import numpy as np
    >>> broadcast_shape("add", (3, 1), (4,))
    (3, 4)
    >>> unbroadcast(np.ones((3, 4)), (3, 1), np).ravel().tolist()    # each of the 4 copies adds 1
    [4.0, 4.0, 4.0]
    >>> normalize_axis("softmax", -1, 3), normalize_axes("sum", None, 2)
    (2, (0, 1))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any


def broadcast_shape(op: str, *shapes: tuple) -> tuple:
    """The broadcast result shape, or a ValueError naming the op, the shapes and the axis."""
    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result = []
    for axis, sizes in enumerate(zip(*padded)):
        sizes_not_one = {n for n in sizes if n != 1}
        if len(sizes_not_one) > 1:
            listed = " and ".join(str(tuple(s)) for s in shapes)
            raise ValueError(
                f"{op}: shapes {listed} cannot be broadcast: axis {axis - ndim} has sizes "
                f"{' vs '.join(str(p[axis]) for p in padded)} (sizes must match or be 1); "
                "reshape or unsqueeze one operand"
            )
        result.append(sizes_not_one.pop() if sizes_not_one else 1)
    return tuple(result)


def unbroadcast(grad: Any, shape: tuple, xp: Any) -> Any:
    """Sum a gradient of a broadcast result back to the operand's ``shape``.

    Broadcasting copies an operand along new leading axes and along axes of size 1; the
    gradient of a copy is the sum over the copies.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        if grad.size == math.prod(shape):  # the new leading axes all have size 1 (batch 1): nothing to add up
            return xp.reshape(grad, shape)
        grad = xp.sum(grad, axis=tuple(range(extra)))
        if grad.shape == shape:  # only new leading axes (a bias's gradient over the batch): done
            return grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = xp.sum(grad, axis=stretched, keepdims=True)
    return grad if grad.shape == shape else xp.reshape(grad, shape)


def slice_extent(key: tuple, shape: tuple) -> tuple | None:
    """``(axis, start, stop, is_int)`` when the basic index ``key`` narrows one axis of ``shape`` to
    its elements [start, stop), by an integer (``is_int``: the axis is dropped) or a unit-step
    slice (the axis is kept), every other entry being ``:`` or ``...``; None for any other key
    (two axes narrowed, a step, a bool, ...). ``key`` holds no None (GetItem drops them).

    Example:
        >>> slice_extent((3, ...), (50, 32, 512)), slice_extent((..., slice(128, 256)), (32, 512))
        ((0, 3, 4, True), (1, 128, 256, False))
        >>> slice_extent((slice(None), 0), (4, 5)), slice_extent((0, 0), (4, 5))
        ((1, 0, 1, True), None)
        >>> slice_extent((slice(None, None, 2),), (4,)) is None    # a step: not a block of the axis
        True
    """
    where = None
    for position, k in enumerate(key):
        if k is Ellipsis or (type(k) is slice and k.start is None and k.stop is None and k.step is None):
            continue
        if where is not None:  # a second axis narrowed
            return None
        where = position
    if where is None:  # x[...] or x[:]: the whole of axis 0
        return (0, 0, shape[0], False) if shape else None
    dots = key.index(Ellipsis) if Ellipsis in key else len(key)  # positions before ... are axes 0, 1, ...
    axis = where if where < dots else len(shape) - (len(key) - where)
    k, n = key[where], shape[axis]
    if type(k) is int:
        return axis, k % n, k % n + 1, True
    if type(k) is slice:
        start, stop, step = k.indices(n)
        if step == 1 and start <= stop:
            return axis, start, stop, False
    return None


def normalize_axes(op: str, axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple) as a tuple of non-negative axes, with a clear error
    when one is out of range or repeated."""
    if axis is None:  # every axis (``x.sum()``): nothing to check
        return tuple(range(ndim))
    if type(axis) is int and 0 <= axis < ndim:  # one axis in range (``x.sum(1)``): already normal
        return (axis,)
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis) if isinstance(axis, (tuple, list)) else None
    if axes is None or not all(_is_index(a) for a in axes):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r} ({type(axis).__name__})")
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
    axes = tuple(a % ndim for a in axes) if ndim else ()
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis} names an axis twice")
    return axes


def normalize_axis(op: str, axis: int, ndim: int) -> int:
    """One axis in [-ndim, ndim) as a non-negative int, with a clear error when out of range
    (never wrapped around silently)."""
    if not _is_index(axis):
        raise TypeError(f"{op}: axis must be an int, got {axis!r} ({type(axis).__name__})")
    if not -ndim <= axis < ndim:
        raise IndexError(f"{op}: axis {axis} is out of range for {ndim} axes (use -{ndim} to {ndim - 1})")
    return axis % ndim


def _is_index(value: Any) -> bool:
    """An int (NumPy's too), not a bool: ``x.sum(axis=True)`` summed axis 1 silently."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def reduced_count(shape: tuple, axis: int | tuple[int, ...] | None) -> int:
    """How many elements a reduction over ``axis`` combines into each result."""
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, numbers.Integral) else axis
    return math.prod(shape[a] for a in axes)


def shape_from_args(args: tuple) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(args) == 1 and not isinstance(args[0], int):
        return tuple(args[0])
    return tuple(args)


def split_sizes(size_or_sizes: int | Sequence[int], shape: tuple, axis: int) -> list[int]:
    """The piece sizes of ``split`` along ``axis`` of ``shape``: pieces of one size (the last one
    may be shorter), or the sizes given, which must add up to the axis's length.

    Example:
        >>> split_sizes(2, (5, 3), 0), split_sizes([1, 2], (5, 3), 1)
        ([2, 2, 1], [1, 2])
    """
    length = shape[axis]
    if isinstance(size_or_sizes, int):
        if size_or_sizes < 1:
            raise ValueError(f"split: the piece size must be at least 1, got {size_or_sizes}")
        sizes = [size_or_sizes] * (length // size_or_sizes)
        return sizes + [length % size_or_sizes] if length % size_or_sizes else sizes
    sizes = list(size_or_sizes)
    if sum(sizes) != length:
        raise ValueError(f"split: sizes {sizes} do not add up to {length} (axis {axis} of {shape})")
    return sizes


def check_index_range(
    name: str, what: str, indices: Any, size: int, why: str, to_numpy: Any, allowed: int | None = None
) -> None:
    """IndexError unless every index in the array ``indices`` lies in [0, size) or equals ``allowed``
    (an ``ignore_index``); the message lists the bad values. ``to_numpy``: the backend's copy to NumPy.

    Example:
        >>> import numpy as np
        >>> check_index_range("embedding", "input", np.array([0, 7]), 5, "weight (5, 3) has 5 rows", np.asarray)
        Traceback (most recent call last):
        ...
        IndexError: embedding: input of shape (2,) holds [7], out of range: valid indices are 0 to 4, since ...
    """
    outside = (indices < 0) | (indices >= size)
    if allowed is not None:
        outside = outside & (indices != allowed)
    if bool(indices.__array_namespace__().any(outside)):
        bad = sorted({int(v) for v in to_numpy(indices)[to_numpy(outside)]})
        raise IndexError(
            f"{name}: {what} of shape {tuple(indices.shape)} holds {bad[:5]}, out of range: valid indices are "
            f"0 to {size - 1}, since {why}"
        )
