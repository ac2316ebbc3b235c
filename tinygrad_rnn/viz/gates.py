"""Naming the gates: which gate block of an LSTM or GRU step a slice of its pre-activations is.

A cell computes all its gates with one ``linear`` (PyTorch's layout: blocks of H columns, in the
order ``i, f, g, o`` for the LSTM and ``r, z, n`` for the GRU) and then slices the blocks out
along the last axis. At op level those slices would be drawn as ``getitem [3:6]``; this module
says which gate each one is, so the box reads ``f = getitem [3:6]``.

It follows the slice back through any further last-axis slices and shape-keeping ops (a cell
written as ``s = sigmoid(a[..., :2H])``, then ``r, z = s[..., :H], s[..., H:]``, has ``r`` and
``z`` cut from a slice) to the tensor the blocks were cut from, whose width is G*H for G gates,
and names the blocks the slice covers (``"r, z"`` for a slice of two). Nothing depends on the
exact slice text or on how a cell writes its equations, only on the block layout and the cell
kind in the scope.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn.viz.graph import collect
    >>> output, _ = tg.nn.LSTM(2, 3)(tg.randn(1, 1, 2))
    >>> sorted({gate_names(n.tensor) for n in collect([output]).nodes} - {""})
    ['f', 'g', 'i', 'o']
"""

from __future__ import annotations

from typing import Any

from ..nn.cell_equations import GATES
from . import scopes


def gate_names(tensor: Any) -> str:
    """``"f"`` (or ``"r, z"``) when ``tensor`` is a slice of whole gate blocks of an LSTM or GRU
    step; ``""`` otherwise."""
    cell = scopes.cell_kind(tensor.scope)
    cut = _last_axis_slice(tensor) if cell in ("lstm", "gru") else None
    if cut is None:
        return ""
    (start, stop), source = cut, _through_elementwise(tensor.inputs[0])
    while (outer := _last_axis_slice(source)) is not None:  # back to the tensor the blocks were cut from
        start, stop = start + outer[0], stop + outer[0]
        source = _through_elementwise(source.inputs[0])
    gates = GATES[cell]
    width = source.shape[-1]
    if width % len(gates):
        return ""
    size = width // len(gates)
    if start % size or stop % size or stop <= start:
        return ""
    return ", ".join(gates[start // size : stop // size])


def _through_elementwise(tensor: Any) -> Any:
    """Back through ops of one input that keep the shape (a ``sigmoid`` of the blocks keeps them)."""
    while tensor.grad_fn is not None and len(tensor.inputs) == 1 and tensor.inputs[0].shape == tensor.shape:
        tensor = tensor.inputs[0]
    return tensor


def _last_axis_slice(tensor: Any) -> tuple[int, int] | None:
    """``(start, stop)`` when ``tensor`` is ``x[..., start:stop]`` (a step-1 slice of the last axis
    only, in positive bounds), else None."""
    ctx = tensor.grad_fn
    if ctx is None or ctx.name != "getitem" or getattr(ctx, "advanced", True):
        return None
    key = ctx.key
    if len(key) != 2 or key[0] is not Ellipsis or not isinstance(key[1], slice):
        return None
    width = ctx.inputs[0].shape[-1]
    start, stop, step = key[1].indices(width)
    return (start, stop) if step == 1 and stop > start else None
