"""Reference BPTT: the RNN, LSTM and GRU cells' forward *and backward* equations, written out
by hand in NumPy, with no autodiff engine anywhere.

The cells' equations themselves live in :mod:`tinygrad_rnn.nn.cell_equations` (the fused layers
of ``nn`` run the same functions, and ``nn`` must not import ``bptt``); this module is the BPTT
loop around them, in NumPy.

This is the second road to the same gradient: the engine gets dL/dW by generic backprop over the
recorded, unrolled graph; here every derivative is an equation you can check with pen and paper.
:mod:`tinygrad_rnn.bptt.compare` runs both roads on the same weights and says at which time step
and in which gate they part.

Layout and gates follow PyTorch, for G gates of hidden size H and input size I:
``W_ih`` (G*H, I), ``W_hh`` (G*H, H), ``b_ih`` (G*H,), ``b_hh`` (G*H,), gate blocks in order

* RNN  (G=1): ``h``            h' = tanh(a)  (or relu),  a = x W_ih^T + b_ih + h W_hh^T + b_hh
* LSTM (G=4): ``i, f, g, o``   c' = f*c + i*g,  h' = o*tanh(c')
* GRU  (G=3): ``r, z, n``      n = tanh(x W_in^T + b_in + r*(h W_hn^T + b_hn)),  h' = (1-z)*n + z*h

Every step first computes the two affine maps, ``x_proj = x_t W_ih^T + b_ih`` and
``h_proj = h_{t-1} W_hh^T + b_hh`` (shape (B, G*H)); a cell's equations then turn them into the new
state. Backward mirrors that: a cell's backward equations give dL/dx_proj and dL/dh_proj, and one
shared loop (:func:`reference_bptt`) turns those into the weight, input and state gradients:

    dL/dW_ih|_t = dx_proj^T x_t      dL/db_ih|_t = sum_batch dx_proj      dL/dx_t = dx_proj W_ih
    dL/dW_hh|_t = dh_proj^T h_{t-1}  dL/db_hh|_t = sum_batch dh_proj
    dL/dh_{t-1} = dh_proj W_hh  +  (what reaches h_{t-1} directly, e.g. z*dh' in the GRU)

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w = Weights.random("lstm", input_size=3, hidden_size=2, rng=rng)
    >>> x, h0 = rng.standard_normal((5, 1, 3)), np.zeros((1, 2))   # (T, B, I), (B, H)
    >>> hs, grads = reference_bptt("lstm", x, h0, w, dh=np.ones((5, 1, 2)))  # L = sum_t sum h_t
    >>> grads.W_hh.shape                      # one term dL/dW_hh|_t per step
    (5, 8, 2)
    >>> grads.total("W_hh").shape             # dL/dW_hh = sum_t dL/dW_hh|_t
    (8, 2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..nn.cell_equations import GATES, equations_of, gates_of  # noqa: F401  (GATES: re-exported, as before)

PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")

#: ``on_gate_grad(t, gate, grad) -> grad``: sees (and may replace) dL/d(pre-activation) of one
#: gate at step t, shape (B, H). Useful to print gate gradients, or to inject an error on purpose.
GateHook = Callable[[int, str, np.ndarray], np.ndarray]


@dataclass
class Weights:
    """One cell's parameters in PyTorch's layout (gate blocks stacked along the rows)."""

    W_ih: np.ndarray  # (G*H, I)
    W_hh: np.ndarray  # (G*H, H)
    b_ih: np.ndarray  # (G*H,)
    b_hh: np.ndarray  # (G*H,)

    @classmethod
    def random(
        cls, cell: str, input_size: int, hidden_size: int, rng: np.random.Generator, scale: float | None = None
    ) -> Weights:
        """Uniform(-scale, scale) float64 weights; ``scale`` defaults to PyTorch's 1/sqrt(H)."""
        rows = len(gates_of(cell)) * hidden_size
        scale = 1.0 / np.sqrt(hidden_size) if scale is None else scale

        def draw(*shape: int) -> np.ndarray:
            return rng.uniform(-scale, scale, shape)

        return cls(draw(rows, input_size), draw(rows, hidden_size), draw(rows), draw(rows))


@dataclass
class Gradients:
    """What :func:`reference_bptt` returns: the gradient split into one term per time step.

    ``W_ih[t]`` is dL/dW_ih|_(t), the part of dL/dW_ih that flows through step t; the full
    gradient is their sum, :meth:`total`. ``x[t]`` is dL/dx_t, ``h0`` (and ``c0`` for the LSTM)
    the gradient of the initial state, ``gates[t]`` dL/d(pre-activations) of step t, (B, G*H).
    """

    W_ih: np.ndarray  # (T, G*H, I)
    W_hh: np.ndarray  # (T, G*H, H)
    b_ih: np.ndarray  # (T, G*H)
    b_hh: np.ndarray  # (T, G*H)
    x: np.ndarray  # (T, B, I)
    h0: np.ndarray  # (B, H)
    c0: np.ndarray | None  # (B, H), LSTM only
    gates: np.ndarray  # (T, B, G*H)

    def total(self, name: str) -> np.ndarray:
        """dL/d(parameter) = sum over time steps of the per-step terms."""
        return getattr(self, name).sum(axis=0)


def reference_bptt(
    cell: str,
    x: np.ndarray,
    h0: np.ndarray,
    weights: Weights,
    dh: np.ndarray,
    c0: np.ndarray | None = None,
    nonlinearity: str = "tanh",
    on_gate_grad: GateHook | None = None,
) -> tuple[np.ndarray, Gradients]:
    """Run ``cell`` over ``x`` (T, B, I) from ``h0`` (B, H) and backpropagate through time.

    ``dh`` (T, B, H) is dL/dh_t from outside the recurrence (e.g. ``np.ones`` for
    L = sum_t sum h_t). Returns the hidden states (T, B, H) and the :class:`Gradients`.
    """
    equations = equations_of(cell, nonlinearity)
    steps = x.shape[0]
    state = (h0, np.zeros_like(h0) if c0 is None else c0) if cell == "lstm" else (h0,)
    # forward: keep each step's input state and cache
    h_prev, caches, hs = [], [], []
    for t in range(steps):
        h_prev.append(state[0])
        x_proj = x[t] @ weights.W_ih.T + weights.b_ih
        h_proj = state[0] @ weights.W_hh.T + weights.b_hh
        state, cache = equations.step(x_proj, h_proj, state)
        caches.append(cache)
        hs.append(state[0])
    # backward: from the last step to the first, the shared loop of the module docstring
    per_step = {name: np.zeros((steps, *getattr(weights, name).shape)) for name in PARAMS}
    dx, d_gates = np.zeros_like(x, dtype=float), []
    d_state = tuple(np.zeros_like(s) for s in state)
    for t in reversed(range(steps)):
        d_state = (d_state[0] + dh[t], *d_state[1:])  # dL/dh_t: from step t+1 and from outside

        def hook(gate: str, grad: np.ndarray, t: int = t) -> np.ndarray:
            return grad if on_gate_grad is None else on_gate_grad(t, gate, grad)

        d_x_proj, d_h_proj, direct = equations.step_back(d_state, caches[t], hook)
        d_gates.append(d_x_proj)
        per_step["W_ih"][t] = d_x_proj.T @ x[t]
        per_step["b_ih"][t] = d_x_proj.sum(axis=0)
        per_step["W_hh"][t] = d_h_proj.T @ h_prev[t]
        per_step["b_hh"][t] = d_h_proj.sum(axis=0)
        dx[t] = d_x_proj @ weights.W_ih
        d_h = d_h_proj @ weights.W_hh  # + what reaches h_{t-1} directly (None: nothing)
        d_state = (d_h if direct[0] is None else d_h + direct[0], *direct[1:])
    grads = Gradients(
        **per_step,
        x=dx,
        h0=d_state[0],
        c0=d_state[1] if cell == "lstm" else None,
        gates=np.stack(d_gates[::-1]),
    )
    return np.stack(hs), grads
