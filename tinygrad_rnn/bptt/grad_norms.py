"""hidden_grad_norms: how much of the loss's gradient reaches each hidden state, ||dL/dh_t||.

For a recurrence h_t = f(h_{t-1}, x_t), backprop multiplies by one Jacobian per step,

    dL/dh_t = dL/dh_{t+1} dh_{t+1}/dh_t  (+ what reaches h_t directly),

so when those Jacobians are small (a tanh RNN with small recurrent weights) the norms shrink
geometrically going back in time -- the vanishing gradient problem -- and when they are large,
they grow: the exploding gradient problem. :func:`hidden_grad_norms` measures it;
:func:`plot_grad_norms` draws it on a log scale, where geometric decay is a straight line.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([[0.5]], requires_grad=True)
    >>> h, hiddens = tg.ones(1, 1), []
    >>> for t in range(4):
    ...     h = (h @ w).tanh()
    ...     hiddens.append(h)
    >>> norms = hidden_grad_norms(h.sum(), hiddens)
    >>> [round(float(n), 3) for n in norms]     # each step back multiplies by about 0.5
    [0.117, 0.246, 0.498, 1.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from .observe import observe_backward


def hidden_grad_norms(loss: Tensor, hiddens: Sequence[Tensor]) -> np.ndarray:
    """||dL/dh_t|| (Frobenius norm, over the batch too) for each tensor of ``hiddens``.

    ``hiddens`` are the states the recurrence computed, in time order (h_1, ..., h_T); each
    norm counts every path from h_t to the loss (through later steps and directly). A state
    that does not lead to the loss gets 0. Runs a backward pass of its own (graph retained,
    ``.grad`` untouched). Returns a float64 NumPy array of length ``len(hiddens)``.
    """
    index = {}
    for t, h in enumerate(hiddens):
        if not isinstance(h, Tensor) or not h.requires_grad:
            raise ValueError(
                f"hidden_grad_norms: hiddens[{t}] does not require grad, so no gradient flows to it; pass the "
                "states computed by the recurrence (a constant initial state has no gradient to measure)"
            )
        index[id(h)] = t
    sums: dict[int, Any] = {}
    if id(loss) in index:  # the loss itself is one of the states: dL/dL = 1
        sums[index[id(loss)]] = loss.xp.ones(loss.data.shape, dtype=loss.dtype)

    def on_edge(op: Any, parent: Tensor, grad: Any) -> None:
        t = index.get(id(parent))
        if t is not None:
            sums[t] = grad + sums[t] if t in sums else loss.xp.asarray(grad, copy=True)  # never add in place

    observe_backward(loss, on_edge, caller="hidden_grad_norms")
    norms = np.zeros(len(hiddens))
    for t, g in sums.items():
        norms[t] = float(hiddens[t].xp.sqrt(hiddens[t].xp.sum(g * g)))
    return norms


def plot_grad_norms(
    norms: Sequence[float] | Mapping[str, Sequence[float]], ax: Any = None, title: str | None = None
) -> Any:
    """Draw ||dL/dh_t|| against t on a log scale; several curves when given ``{label: norms}``.

    Needs matplotlib (``pip install "tinygrad-rnn[examples]"``). Returns the matplotlib Axes.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            'plot_grad_norms needs matplotlib: pip install "tinygrad-rnn[examples]" (or pip install matplotlib)'
        ) from None
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    curves = norms if isinstance(norms, Mapping) else {"||dL/dh_t||": norms}
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("||dL/dh_t||  (log scale)")
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    return ax
