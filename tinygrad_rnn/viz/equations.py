"""The text written in a step box: the cell's equations, or a count of its ops.

The equations are the ones the cells themselves carry (``Recurrence.equations`` in
:mod:`tinygrad_rnn.nn.cells`, one source for documentation and pictures), picked by the layer
kind named in the scope (``rnn``, ``lstm``, ``gru``). In them ``h`` is the state a step receives,
``h'`` the one it passes on, and ``*`` the elementwise product. A scope that names no known cell
kind gets a count of its ops instead.

Example:
    >>> cell_equations("rnn", ["linear", "add", "tanh"])
    ["h' = tanh(W_ih x + b_ih + W_hh h + b_hh)"]
    >>> cell_equations("lstm", [])[-1]
    "h' = o * tanh(c')"
    >>> op_counts(["matmul", "add", "matmul", "tanh"])
    'matmul ×2, add, tanh'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..nn.cells import RECURRENCES


def cell_equations(kind: str | None, ops: Iterable[str]) -> list[str]:
    """The equations of one step of a ``"rnn"``, ``"lstm"`` or ``"gru"`` cell (``[]`` otherwise).

    ``ops`` are the names of the step's ops: an ``rnn`` step with a ``relu`` is the ReLU RNN.
    """
    if kind == "rnn":
        kind = "rnn_relu" if "relu" in ops else "rnn_tanh"
    recurrence = RECURRENCES.get(kind or "")
    return [] if recurrence is None else recurrence.equations.split("\n")


def op_counts(ops: Iterable[str]) -> str:
    """What a group of ops holds, most frequent first: ``'matmul ×2, add, tanh'``."""
    counts = Counter(ops)
    return ", ".join(op if n == 1 else f"{op} ×{n}" for op, n in counts.most_common())
