"""The opt-in fast path of the sequence layers: all T steps of a recurrence as ONE op.

By default (``fused=False``) a layer records every step's ops and backpropagation through time
is the engine's generic backward over the unrolled graph. With ``nn.RNN(..., fused=True)`` (and
likewise LSTM, GRU) each layer and direction records one :class:`FusedRecurrence` op instead,
whose backward is BPTT written by hand, with the hand-written cell equations of
:mod:`tinygrad_rnn.nn.cell_equations` (the same functions the reference BPTT of
:mod:`tinygrad_rnn.bptt.reference` runs; nothing is written twice). It computes what the
composite path computes (tests/test_fused.py checks outputs, states and every gradient against
it) and is faster because it groups work as a hand-written NumPy BPTT does:

* the recurrent weight's gradient over all steps is ONE matmul of the stacked per-step terms,
  dL/dW_hh = sum_t dz_t^T h_{t-1} = [dz_1; ...; dz_T]^T [h_0; ...; h_{T-1}];
* no per-step graph nodes, gradient buffers or Python bookkeeping of the engine.

What it gives up: a graph with one node per layer and direction (no per-step scopes, so no
per-step pictures or :func:`tinygrad_rnn.bptt.contributions`); use the default path to look inside.
It runs every layer option except an LSTM's ``proj_size`` (the layer says so if asked).

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

from ..function import Function
from ..ops import where
from ..tensor import Tensor
from .cell_equations import Equations, equations_of
from .cells import Recurrence, State


def _no_hook(gate: str, grad: Any) -> Any:
    return grad


def _block(k: int, size: int) -> slice:
    """Where state k (0: h, 1: c) lies along the last axis of a row of ``states``."""
    return slice(k * size, (k + 1) * size)


class FusedRecurrence(Function):
    """All steps of a recurrence in one op, its backward (BPTT) written by hand.

    Inputs: ``projections`` (T, B, G*H), the input projection of every step (for the RNN and
    LSTM it holds b_hh too: see :func:`~tinygrad_rnn.nn.cells.input_projection`), ``weight_hh``
    (G*H, H), ``bias_hh`` (G*H,) if ``has_bias`` (the GRU's), then the initial state tensors (B, H) (h, and c
    for the LSTM). Parameters: ``equations`` (a cell's forward/backward equations), ``reverse``
    (run from t = T-1 down to 0), ``valid`` (None, or the (T, B, 1) bool array t < length: past a
    sequence's end its state is carried unchanged).

    Output: ``states`` (T + 1, B, S*H), S = 1 state (h) or 2 (h, c) side by side, laid out as a
    hand-written NumPy RNN keeps its states: for the forward direction row 0 is the initial state
    and row t + 1 the state after step t; for the reverse direction row T is the initial state and
    row t the state after step t. So step t reads row ``t`` and writes row ``t + 1`` (reverse: reads
    ``t + 1``, writes ``t``), and the rows every step read are one contiguous block for the weight
    gradient's single matmul.
    """

    def forward(self, projections, weight_hh, *rest, equations: Equations, reverse: bool, has_bias: bool, valid=None):
        self.name = f"fused_{equations.name}"  # this recurrence's op: fused_lstm, fused_gru, ...
        xp = self.xp
        bias_hh = rest[0] if has_bias else None
        state = tuple(rest[1:] if has_bias else rest)
        steps, batch = projections.shape[:2]
        size, count = weight_hh.shape[1], len(state)
        states = xp.empty((steps + 1, batch, count * size), dtype=projections.dtype)
        read, write = (1, 0) if reverse else (0, 1)  # row offsets: step t reads row t+read, writes t+write
        for k, part in enumerate(state):
            states[steps if reverse else 0, :, _block(k, size)] = part
        caches: list = [None] * steps
        for t in reversed(range(steps)) if reverse else range(steps):
            h_proj = xp.matmul(state[0], weight_hh.mT)  # h W_hh^T + b_hh: all gates of the step in one matmul
            if bias_hh is not None:
                h_proj += bias_hh
            new, caches[t] = equations.step(projections[t, ...], h_proj, state)
            if valid is not None:  # past a sequence's end: keep the old state
                keep = valid[t, ...]
                new = tuple(xp.where(keep, n, old) for n, old in zip(new, state))
            for k, part in enumerate(new):
                states[t + write, :, _block(k, size)] = part
            state = new
        self.save_for_backward(caches, states, weight_hh, valid)
        self.equations, self.read, self.has_bias = equations, read, has_bias
        return states

    def backward(self, grad):
        caches, states, weight_hh, valid = self.saved
        equations, read = self.equations, self.read
        xp = self.xp
        steps, batch = states.shape[0] - 1, states.shape[1]
        rows, size = weight_hh.shape
        count = states.shape[-1] // size

        def parts(row_grad):  # a row's (B, S*H) gradient as one (B, H) view per state
            return tuple(row_grad[:, _block(k, size)] for k in range(count))

        d_x_proj_all = xp.empty((steps, batch, rows), dtype=grad.dtype)
        d_h_proj_all = None  # the same array unless the cell's two differ (the GRU's)
        d_state = parts(grad[0 if read else steps, ...])  # the last row written: its gradient is complete
        for t in range(steps) if read else reversed(range(steps)):
            d_new = d_state  # dL/d(state after step t)
            if valid is not None:  # past the end the state was carried: its gradient skips the step
                keep = valid[t, ...]
                d_skip = tuple(xp.where(keep, 0 * d, d) for d in d_new)
                d_new = tuple(xp.where(keep, d, 0 * d) for d in d_new)
            d_x_proj, d_h_proj, direct = equations.step_back(d_new, caches[t], _no_hook)  # caches stay: retain_graph
            d_x_proj_all[t, ...] = d_x_proj
            if d_h_proj is not d_x_proj:
                if d_h_proj_all is None:
                    d_h_proj_all = xp.empty((steps, batch, rows), dtype=grad.dtype)
                d_h_proj_all[t, ...] = d_h_proj
            # dL/d(state before step t): through h_proj, along the cell's direct paths (the GRU's z * dh'
            # to h, the LSTM's f * dc' to c; None where there is none), and from outside (the row read)
            d_h = xp.matmul(d_h_proj, weight_hh)
            if direct[0] is not None:
                d_h += direct[0]
            d_state = tuple(d + outside for d, outside in zip((d_h, *direct[1:]), parts(grad[t + read, ...])))
            if valid is not None:
                d_state = tuple(d + skip for d, skip in zip(d_state, d_skip))
        d_h_proj_all = d_x_proj_all if d_h_proj_all is None else d_h_proj_all
        stacked = xp.reshape(d_h_proj_all, (steps * batch, rows))
        h_read = states[read : steps + read, :, :size]  # the h each step read, in time order
        grad_weight = xp.matmul(stacked.mT, xp.reshape(h_read, (steps * batch, size)))  # sum_t dz_t^T h_{t-1}
        grad_bias = (xp.sum(stacked, axis=0),) if self.has_bias else ()
        return (d_x_proj_all, grad_weight, *grad_bias, *d_state)


def fused_unroll(
    recurrence: Recurrence,
    projections: Tensor,
    state: State,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    reverse: bool = False,
    valid: Any = None,
    weight_hr: Tensor | None = None,
) -> tuple[Tensor, State]:
    """What :func:`tinygrad_rnn.nn.rnn.unroll` computes, as one :class:`FusedRecurrence` op; the
    same arguments and results: the outputs (T, B, H) (zero past a sequence's end) and the final
    state (tensors (B, H)). An LSTM's output projection ``weight_hr`` is not supported here.
    """
    if weight_hr is not None:
        raise NotImplementedError("fused_unroll: an LSTM's proj_size (weight_hr) needs the default path (fused=False)")
    cell, _, nonlinearity = recurrence.name.partition("_")
    equations = equations_of(cell, nonlinearity or "tanh", projections.xp)
    inputs = (projections, weight_hh) + ((bias_hh,) if bias_hh is not None else ()) + tuple(state)
    has_bias = bias_hh is not None
    states = FusedRecurrence.apply(*inputs, equations=equations, reverse=reverse, has_bias=has_bias, valid=valid)
    steps, size, count = projections.shape[0], state[0].shape[-1], len(state)
    written = slice(0, steps) if reverse else slice(1, steps + 1)  # the rows after each step, in time order
    outputs = states[written] if count == 1 else states[written, :, :size]
    if valid is not None:  # past a sequence's end the output is zero
        outputs = where(valid, outputs, 0.0)
    last = states[0] if reverse else states[steps]
    final = (last,) if count == 1 else tuple(last[:, _block(k, size)] for k in range(count))
    return outputs, final
