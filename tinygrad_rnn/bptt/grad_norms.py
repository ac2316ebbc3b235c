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

from ..autograd import topological_order
from ..observe import observe_backward
from ..tensor import Tensor


def hidden_grad_norms(loss: Tensor, hiddens: Sequence[Tensor]) -> np.ndarray:
    """||dL/dh_t|| (Frobenius norm, over the batch too) for each tensor of ``hiddens``.

    ``hiddens`` are the states the recurrence computed, in time order (h_0, ..., h_{T-1}, as the
    layers' scopes count); each norm counts every path from h_t to the loss (through later steps
    and directly). A state in the loss's graph that no gradient reaches gets 0; a tensor that is
    not in the loss's graph at all (a state of another forward pass, or computed after the loss)
    is an error naming it. For the states inside an ``nn.RNN``/``nn.LSTM``/``nn.GRU`` layer, pass
    ``bptt.layer_states(loss)["lstm/l0/fwd"]`` (see :func:`~tinygrad_rnn.bptt.layer_states`).

    Runs a backward pass of its own (graph retained, ``.grad`` untouched), or, after a plain
    ``loss.backward()`` run inside :class:`~tinygrad_rnn.bptt.record_backward`, reads its record.
    Returns a float64 NumPy array of length ``len(hiddens)``.
    """
    index = {}
    for t, h in enumerate(hiddens):
        if not isinstance(h, Tensor) or not h.requires_grad:
            raise ValueError(
                f"hidden_grad_norms: hiddens[{t}] does not require grad, so no gradient flows to it; pass the "
                "states computed by the recurrence (a constant initial state has no gradient to measure)"
            )
        index[id(h)] = t
    traceable = isinstance(loss, Tensor) and loss.requires_grad  # else observe_backward says what is wrong
    in_graph = {id(tensor) for tensor in topological_order(loss)} if traceable else set()
    strangers = [f"hiddens[{t}] (shape {h.shape})" for t, h in enumerate(hiddens) if id(h) not in in_graph]
    if strangers and in_graph:
        raise ValueError(
            f"hidden_grad_norms: {', '.join(strangers[:5])}{' ...' if len(strangers) > 5 else ''} "
            f"({len(strangers)} of {len(hiddens)}) are not in the loss's graph, so dL/dh is not defined for them (they "
            "are not zero: the loss never saw them); pass the states that computed this loss, e.g. "
            "bptt.layer_states(loss)[...] for an nn layer"
        )
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

    ``norms[t]`` is drawn at t = 0, 1, ..., counting as the layers' scopes do (``t=0`` is the first
    step), with integer ticks however short the sequence. Needs matplotlib (``pip install
    "tinygrad-rnn[examples]"``). Returns the matplotlib Axes (of a new constrained-layout figure
    when ``ax`` is None, so no label is cut off).
    """
    try:
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ImportError(
            'plot_grad_norms needs matplotlib: pip install "tinygrad-rnn[examples]" (or pip install matplotlib)'
        ) from None
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    curves = norms if isinstance(norms, Mapping) else {"||dL/dh_t||": norms}
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(len(values)), values, marker=".", label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # time steps are whole numbers
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("||dL/dh_t||  (log scale)")
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    return ax
