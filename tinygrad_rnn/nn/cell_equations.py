"""The RNN, LSTM and GRU cells' forward *and backward* equations, by hand, on plain arrays.

Two parts of the library run these same functions, so they are written once, here in ``nn``:

* :mod:`tinygrad_rnn.nn.fused` (the ``fused=True`` layers) runs them over a whole sequence as one
  op, on the layer's backend (``xp`` is NumPy, CuPy or any Array API namespace);
* :mod:`tinygrad_rnn.bptt.reference` runs them in NumPy beside the engine, to check its BPTT.

No Tensor and no autodiff engine appear here: every derivative is an equation you can check with
pen and paper. Gate blocks follow PyTorch's layout, for G gates of hidden size H:

* RNN  (G=1): ``h``            h' = tanh(a)  (or relu),  a = x_proj + h_proj
* LSTM (G=4): ``i, f, g, o``   c' = f*c + i*g,  h' = o*tanh(c')
* GRU  (G=3): ``r, z, n``      n = tanh(x_proj_n + r*h_proj_n),  h' = (1-z)*n + z*h

where ``x_proj = x_t W_ih^T + b_ih`` and ``h_proj = h_{t-1} W_hh^T + b_hh`` (shape (B, G*H)).

Example:
    >>> import numpy as np
    >>> lstm = equations_of("lstm")
    >>> x_proj, h_proj = np.zeros((1, 8)), np.zeros((1, 8))      # B = 1, H = 2: all gates at 0
    >>> (h, c), cache = lstm.step(x_proj, h_proj, (np.zeros((1, 2)), np.ones((1, 2))))
    >>> c                                                      # f*c + i*g = 0.5*1 + 0.5*0
    array([[0.5, 0.5]])
    >>> d_x_proj, d_h_proj, (d_h, d_c) = lstm.step_back((np.zeros((1, 2)), np.ones((1, 2))), cache, lambda g, d: d)
    >>> d_c                                                    # dL/dc = dL/dc' * f
    array([[0.5, 0.5]])
"""

from __future__ import annotations

import numpy as np

GATES: dict[str, tuple[str, ...]] = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def sigmoid(a: np.ndarray, xp=np) -> np.ndarray:
    """1 / (1 + e^-a), written through tanh as the engine's sigmoid op is: e^-a cannot overflow
    (an input of -200 gives 0 with no warning) and the fused and composite paths agree."""
    return 0.5 * xp.tanh(0.5 * a) + 0.5


def split_blocks(a: np.ndarray, blocks: int) -> list:
    """The gate blocks of ``a`` (..., blocks*H) along the last axis, as views."""
    size = a.shape[-1] // blocks
    return [a[..., k * size : (k + 1) * size] for k in range(blocks)]


def gates_of(cell: str) -> tuple[str, ...]:
    if cell not in GATES:
        raise ValueError(f"reference_bptt: unknown cell {cell!r}; choose one of {sorted(GATES)}")
    return GATES[cell]


# --- the cells: forward equations beside backward equations -----------------------------------
# step(x_proj, h_proj, state) -> (new_state, cache);  state is (h,) or, for the LSTM, (h, c).
# step_back(d_new_state, cache, hook) -> (d_x_proj, d_h_proj, d_state_direct), where
# d_state_direct is the part of dL/d(previous state) that does not pass through h_proj, one entry
# per state (None where there is none: h in the RNN and the LSTM).
# ``xp`` is the array library (NumPy for the reference; the fused layers pass their backend's).


class Equations:
    """What the cells' equations share: the array library ``xp``, and the cell's ``name`` (that of
    its :class:`~tinygrad_rnn.nn.cells.Recurrence`: ``rnn_tanh``, ``rnn_relu``, ``lstm``, ``gru``)."""

    name = ""

    def __init__(self, xp=np):
        self.xp = xp


class RNNEquations(Equations):
    """h' = act(x_proj + h_proj), act = tanh or relu."""

    def __init__(self, nonlinearity: str = "tanh", xp=np):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"reference_bptt: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(xp)
        self.nonlinearity = nonlinearity
        self.name = f"rnn_{nonlinearity}"

    def step(self, x_proj, h_proj, state):
        xp = self.xp
        a = x_proj + h_proj
        if self.nonlinearity == "tanh":
            h = xp.tanh(a)
            return (h,), (None, h)  # tanh' needs only the output: keep no pre-activation
        return (xp.maximum(a, xp.zeros_like(a)),), (a, None)  # relu' needs only the pre-activation

    def step_back(self, d_state, cache, hook):
        (dh,) = d_state
        a, h = cache
        # tanh'(a) = 1 - h^2;  relu'(a) = 1 where a > 0
        da = hook("h", dh * (1 - h * h) if self.nonlinearity == "tanh" else self.xp.where(a > 0, dh, 0 * dh))
        return da, da, (None,)


class LSTMEquations(Equations):
    """i, f, o = sigmoid(.), g = tanh(.) of the blocks of x_proj + h_proj;
    c' = f*c + i*g;  h' = o*tanh(c')."""

    name = "lstm"

    def step(self, x_proj, h_proj, state):
        xp = self.xp
        h, c = state
        a_i, a_f, a_g, a_o = split_blocks(x_proj + h_proj, 4)
        i, f, g, o = sigmoid(a_i, xp), sigmoid(a_f, xp), xp.tanh(a_g), sigmoid(a_o, xp)
        c_new = f * c + i * g
        tanh_c = xp.tanh(c_new)
        return (o * tanh_c, c_new), (c, i, f, g, o, tanh_c)

    def step_back(self, d_state, cache, hook):
        dh, dc_in = d_state
        c, i, f, g, o, tanh_c = cache
        do = dh * tanh_c  # h' = o*tanh(c')
        dc = dc_in + dh * o * (1 - tanh_c**2)  # c' reaches L directly (next step) and through h'
        di, df, dg = dc * g, dc * c, dc * i  # c' = f*c + i*g
        da = self.xp.concat(
            [
                hook("i", di * i * (1 - i)),  # sigmoid' = s(1-s)
                hook("f", df * f * (1 - f)),
                hook("g", dg * (1 - g * g)),  # tanh' = 1 - tanh^2
                hook("o", do * o * (1 - o)),
            ],
            axis=1,
        )
        return da, da, (None, dc * f)  # dL/dc = dc' * f


class GRUEquations(Equations):
    """r, z = sigmoid(.) of the r, z blocks of x_proj + h_proj;
    n = tanh(x_proj_n + r * h_proj_n)  (the reset gate scales h W_hn^T + b_hn, as in PyTorch);
    h' = (1 - z)*n + z*h."""

    name = "gru"

    def step(self, x_proj, h_proj, state):
        xp = self.xp
        (h,) = state
        x_r, x_z, x_n = split_blocks(x_proj, 3)
        h_r, h_z, h_n = split_blocks(h_proj, 3)
        r, z = sigmoid(x_r + h_r, xp), sigmoid(x_z + h_z, xp)
        n = xp.tanh(x_n + r * h_n)
        return ((1 - z) * n + z * h,), (h, h_n, r, z, n)

    def step_back(self, d_state, cache, hook):
        (dh,) = d_state
        h, h_n, r, z, n = cache
        da_n = hook("n", dh * (1 - z) * (1 - n * n))  # d/d(x_n + r*h_n)
        da_z = hook("z", dh * (h - n) * z * (1 - z))  # dh'/dz = h - n
        da_r = hook("r", da_n * h_n * r * (1 - r))
        d_x_proj = self.xp.concat([da_r, da_z, da_n], axis=1)
        d_h_proj = self.xp.concat([da_r, da_z, da_n * r], axis=1)
        return d_x_proj, d_h_proj, (dh * z,)  # h' = ... + z*h


CELLS = {"rnn": RNNEquations, "lstm": LSTMEquations, "gru": GRUEquations}


def equations_of(cell: str, nonlinearity: str = "tanh", xp=np) -> Equations:
    """The forward/backward equations of ``cell`` ("rnn", "lstm" or "gru") on the array library ``xp``."""
    gates_of(cell)  # a clear error for an unknown cell
    return RNNEquations(nonlinearity, xp) if cell == "rnn" else CELLS[cell](xp)
