"""The opt-in fast path of the sequence layers: all T steps of a recurrence as ONE op.

By default (``fused=False``) a layer records every step's ops and backpropagation through time
is the engine's generic backward over the unrolled graph. With ``nn.RNN(..., fused=True)`` (and
likewise LSTM, GRU) each layer and direction records one :class:`FusedRecurrence` op instead,
whose backward is BPTT written by hand, with the hand-written cell equations of
:mod:`tinygrad_rnn.bptt.reference` (the same functions the reference BPTT runs; nothing is
written twice). It computes what the composite path computes (tests/test_fused.py checks outputs,
states and every gradient against it) and is faster because it groups work as a hand-written
NumPy BPTT does:

* the recurrent weight's gradient over all steps is ONE matmul of the stacked per-step terms,
  dL/dW_hh = sum_t dz_t^T h_{t-1} = [dz_1; ...; dz_T]^T [h_0; ...; h_{T-1}];
* no per-step graph nodes, gradient buffers or Python bookkeeping of the engine.

What it gives up: a graph with one node per layer and direction (no per-step scopes, so no
per-step pictures or :func:`tinygrad_rnn.bptt.contributions`); use the default path to look inside.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn import nn
    >>> tg.manual_seed(0)
    >>> lstm = nn.LSTM(3, 4, fused=True)
    >>> output, (h_n, c_n) = lstm(tg.randn(6, 2, 3))
    >>> output.shape, h_n.shape, output.inputs[0].op       # the output is read from the fused op
    ((6, 2, 4), (1, 2, 4), 'fused_lstm')
"""

from __future__ import annotations

from typing import Any

from ..bptt.reference import Equations, equations_of
from ..function import Function
from ..tensor import Tensor
from .cells import Recurrence, State


def _no_hook(gate: str, grad: Any) -> Any:
    return grad


class FusedRecurrence(Function):
    """All steps of a recurrence in one op, its backward (BPTT) written by hand.

    Inputs: ``projections`` (T, B, G*H) = x_t W_ih^T + b_ih for every step, ``weight_hh``
    (G*H, H), ``bias_hh`` (G*H,) if ``has_bias``, then the initial state tensors (B, H) (h, and c
    for the LSTM). Parameters: ``equations`` (a cell's forward/backward equations), ``reverse``
    (run from t = T-1 down to 0), ``valid`` (None, or the (T, B, 1) bool array t < length).

    Output (T + 1, B, S*H) with S = 1 state (h) or 2 (h, c): row t < T is the state after step t
    with h zeroed past a sequence's end (so its h part is the layer's output), row T is the final
    state.
    """

    def forward(self, projections, weight_hh, *rest, equations: Equations, reverse: bool, has_bias: bool, valid=None):
        xp = self.xp
        bias_hh = rest[0] if has_bias else None
        state = tuple(rest[1:] if has_bias else rest)
        steps, batch = projections.shape[:2]
        size, count = weight_hh.shape[1], len(state)
        out = xp.empty((steps + 1, batch, count * size), dtype=projections.dtype)
        h_prev = xp.empty((steps, batch, size), dtype=projections.dtype)  # the h each step starts from
        caches: list = [None] * steps
        for t in reversed(range(steps)) if reverse else range(steps):
            h_prev[t, ...] = state[0]
            h_proj = state[0] @ weight_hh.mT  # h W_hh^T + b_hh: all gates of the step in one matmul
            if bias_hh is not None:
                h_proj += bias_hh
            new, caches[t] = equations.step(projections[t, ...], h_proj, state)
            if valid is None:
                state = new
                out[t, :, :size] = new[0]
            else:  # past a sequence's end: keep the old state, output zero
                keep = valid[t, ...]
                state = tuple(xp.where(keep, n, old) for n, old in zip(new, state))
                out[t, :, :size] = xp.where(keep, new[0], xp.zeros_like(new[0]))
            for k in range(1, count):
                out[t, :, k * size : (k + 1) * size] = state[k]
        for k in range(count):
            out[steps, :, k * size : (k + 1) * size] = state[k]
        self.save_for_backward(equations, caches, h_prev, weight_hh, reverse, has_bias, valid)
        return out

    def backward(self, grad):
        equations, caches, h_prev, weight_hh, reverse, has_bias, valid = self.saved
        xp = self.xp
        steps, batch, size = h_prev.shape
        count = grad.shape[-1] // size
        rows = weight_hh.shape[0]
        d_x_proj_all = xp.empty((steps, batch, rows), dtype=grad.dtype)
        d_h_proj_all = None  # the same array unless the cell's two differ (the GRU's)
        # dL/d(state after the last step) comes from row T; then walk the steps backwards
        d_state = tuple(grad[steps, :, k * size : (k + 1) * size] for k in range(count))
        for t in range(steps) if reverse else reversed(range(steps)):
            d_out = grad[t, :, :size]  # the step's output h_t (row t's c part is the carried state)
            d_carried = tuple(d_state[k] + grad[t, :, k * size : (k + 1) * size] for k in range(1, count))
            d_new = (d_state[0] + d_out, *d_carried)
            if valid is not None:  # past the end the state was carried: its gradient skips the step
                keep = valid[t, ...]
                d_skip = (xp.where(keep, 0 * d_state[0], d_state[0]),) + tuple(
                    xp.where(keep, 0 * d, d) for d in d_carried
                )
                d_new = tuple(xp.where(keep, d, 0 * d) for d in d_new)
            d_x_proj, d_h_proj, direct = equations.step_back(d_new, caches[t], _no_hook)
            caches[t] = None
            d_x_proj_all[t, ...] = d_x_proj
            if d_h_proj is not d_x_proj:
                if d_h_proj_all is None:
                    d_h_proj_all = xp.empty((steps, batch, rows), dtype=grad.dtype)
                d_h_proj_all[t, ...] = d_h_proj
            d_h = d_h_proj @ weight_hh  # dL/d(state before step t): through h_proj ...
            if not isinstance(direct[0], float):  # ... and directly (the GRU's z * dh'; 0.0 for the others)
                d_h += direct[0]
            d_state = (d_h, *direct[1:])
            if valid is not None:
                d_state = tuple(d + skip for d, skip in zip(d_state, d_skip))
        d_h_proj_all = d_x_proj_all if d_h_proj_all is None else d_h_proj_all
        stacked = xp.reshape(d_h_proj_all, (steps * batch, rows))
        grad_weight = stacked.mT @ xp.reshape(h_prev, (steps * batch, size))  # sum_t dz_t^T h_{t-1}
        grad_bias = (xp.sum(stacked, axis=0),) if has_bias else ()
        return (d_x_proj_all, grad_weight, *grad_bias, *d_state)


def fused_unroll(
    recurrence: Recurrence,
    projections: Tensor,
    state: State,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    reverse: bool = False,
    valid: Any = None,
) -> tuple[Tensor, State]:
    """What :func:`tinygrad_rnn.nn.rnn.unroll` computes, as one :class:`FusedRecurrence` op.

    Returns the outputs (T, B, H) and the final state (tensors (B, H)).
    """
    cell, _, nonlinearity = recurrence.name.partition("_")
    equations = equations_of(cell, nonlinearity or "tanh", projections.xp)
    inputs = (projections, weight_hh) + ((bias_hh,) if bias_hh is not None else ()) + tuple(state)
    op = FusedRecurrence.apply(*inputs, equations=equations, reverse=reverse, has_bias=bias_hh is not None, valid=valid)
    if op.grad_fn is not None:
        op.grad_fn.name = f"fused_{recurrence.name}"
    steps, size = projections.shape[0], state[0].shape[-1]
    outputs = op[:steps, :, :size]
    final = tuple(op[steps, :, k * size : (k + 1) * size] for k in range(len(state)))
    return outputs, final
