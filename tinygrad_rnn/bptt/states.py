"""layer_states: the per-step hidden states h_t that nn.RNN / nn.LSTM / nn.GRU record, found by scope.

A recurrent layer computes its states inside its own loop, so a user never holds h_1, ..., h_T;
but every op it records is tagged ``{kind}/l{layer}/{direction}/t={t}``, and the states are the
tensors one step hands to the next (the spine of the graph pictures). :func:`layer_states` reads
them off the graph behind a loss, so ||dL/dh_t|| of a layer is two lines::

    states = bptt.layer_states(loss)                 # {"lstm/l0/fwd": [h_0, ..., h_{T-1}], ...}
    norms = bptt.hidden_grad_norms(loss, states["lstm/l0/fwd"])

The same works for a loop of your own whose steps are tagged with ``tg.scope(f"t={t}")``. A fused
layer (``fused=True``) records one op per layer, so it has no per-step states to find.

Example:
    >>> import tinygrad_rnn as tg
    >>> lstm = tg.nn.LSTM(2, 3, bidirectional=True)
    >>> output, _ = lstm(tg.randn(4, 1, 2))
    >>> states = layer_states(output.sum())
    >>> {scope: len(hs) for scope, hs in states.items()}
    {'lstm/l0/fwd': 4, 'lstm/l0/bwd': 4}
    >>> [h.shape for h in states["lstm/l0/fwd"]][:2]
    [(1, 3), (1, 3)]
"""

from __future__ import annotations

from ..tensor import Tensor


def layer_states(loss: Tensor, role: str = "h") -> dict[str, list[Tensor]]:
    """The states behind ``loss``, ``{sequence scope: [state at t=0, t=1, ...]}``.

    Args:
        loss: the tensor whose graph to search (the loss, or a layer's output).
        role: ``"h"`` (the hidden state) or ``"c"`` (an LSTM's cell state).

    A state of step t is a tensor of scope ``.../t={t}`` passed on to the next step (or, at the
    last step, the state the layer returns); where a step holds several (a masked update), the
    last one it computed is the one passed on. Raises ValueError when the graph holds none.
    """
    from ..viz import scopes
    from ..viz.detail import group
    from ..viz.graph import collect

    if not isinstance(loss, Tensor):
        raise TypeError(f"layer_states: loss must be a Tensor, got {type(loss).__name__}")
    graph = collect([loss])
    drawing = group(graph, "op")
    found: dict[str, dict[int, Tensor]] = {}
    for node in graph.nodes:  # in creation order: a later state of a step replaces an earlier one
        if drawing.roles.get(node.key) == role and scopes.step_of(node.scope) is not None:  # not h_0
            steps = found.setdefault(scopes.sequence_of(node.scope), {})
            steps[scopes.step_of(node.scope)] = node.tensor
    if not found:
        raise ValueError(
            f"layer_states: no recurrent state {role!r} found behind this tensor: its graph has no steps tagged "
            "'t=k' that pass a state on (a fused layer, fused=True, records no per-step states)"
        )
    return {sequence: [steps[t] for t in sorted(steps)] for sequence, steps in found.items()}
