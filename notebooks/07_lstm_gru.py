# %% [markdown]
# # Lesson 7 — LSTM and GRU
#
# **What this lesson teaches.** Lecture 001 ends on the LSTM: an RNN's memory is short-term, and
# the LSTM adds a long-term memory, the **cell state** `c_t`, that the short-term state `h_t`
# communicates with through gates. Here the gates are ordinary ops (sigmoids, tanh, products and
# sums, checked against `nn.LSTMCell` and `nn.GRUCell`), and then the lectures' claim is tested:
# on a delayed-recall task (remember the first input of a 30-step sequence) the RNN fails and the
# LSTM succeeds, and the two gradient-norm curves show why. Last, the step-level picture.
#
# **Notation.** `h_t` (lectures' `a<t>`, `o_t`, `H_t`) is the short-term state, `c_t` the
# long-term one. PyTorch's gate order, used by the library: LSTM rows of `weight_ih` are
# `i, f, g, o` (input, forget, candidate, output); GRU rows are `r, z, n` (reset, update, new).

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import bptt, nn, optim
from tinygrad_rnn.viz import draw_graph

# %% [markdown]
# ## The LSTM step as ops
#
# ```
# i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh)        (four blocks of H)
# i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);  g = tanh(g)
# c' = f * c + i * g          the long-term memory: forget some, write some
# h' = o * tanh(c')           the short-term state: read some of it out
# ```

# %%
IN, H = 3, 4
tg.manual_seed(0)
lstm_cell = nn.LSTMCell(IN, H).double()
W = {name: tg.Tensor(p.numpy()) for name, p in lstm_cell.named_parameters()}


def lstm_step(x: tg.Tensor, h: tg.Tensor, c: tg.Tensor) -> tuple[tg.Tensor, tg.Tensor]:
    gates = x @ W["weight_ih"].T + W["bias_ih"] + h @ W["weight_hh"].T + W["bias_hh"]
    i, f, g, o = gates.chunk(4, axis=1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c_new = f * c + i * g
    return o * c_new.tanh(), c_new


rng = np.random.default_rng(7)
x, h, c = (tg.Tensor(rng.standard_normal((2, n))) for n in (IN, H, H))
h_ours, c_ours = lstm_step(x, h, c)
h_lib, c_lib = lstm_cell(x, (h, c))
assert np.allclose(h_ours.numpy(), h_lib.numpy(), rtol=1e-12) and np.allclose(c_ours.numpy(), c_lib.numpy(), rtol=1e-12)
print("our LSTM step == nn.LSTMCell")

# %% [markdown]
# ## The GRU step as ops
#
# ```
# r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr),   z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
# n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
# h' = (1 - z) * n + z * h     (z near 1: keep the old state, as the forget gate does)
# ```

# %%
gru_cell = nn.GRUCell(IN, H).double()
G = {name: tg.Tensor(p.numpy()) for name, p in gru_cell.named_parameters()}


def gru_step(x: tg.Tensor, h: tg.Tensor) -> tg.Tensor:
    x_r, x_z, x_n = (x @ G["weight_ih"].T + G["bias_ih"]).chunk(3, axis=1)
    h_r, h_z, h_n = (h @ G["weight_hh"].T + G["bias_hh"]).chunk(3, axis=1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h


assert np.allclose(gru_step(x, h).numpy(), gru_cell(x, h).numpy(), rtol=1e-12)
print("our GRU step == nn.GRUCell")

# %% [markdown]
# ## Delayed recall: the RNN fails, the LSTM succeeds
#
# Each sequence has 30 steps of noise; at step 0 one channel carries a bit (`±1`). After the last
# step the model must say which. The answer's only evidence is 29 steps back. Both models get the
# same hidden size, optimiser and 250 training steps; the LSTM's forget gate starts biased open
# (`b_f = 3`, a common initialisation), so its cell state starts out remembering.

# %%
T, B, HIDDEN = 30, 64, 8
data = np.random.default_rng(0)


def batch(n: int) -> tuple[tg.Tensor, tg.Tensor]:
    bits = data.integers(0, 2, n)
    x = data.standard_normal((T, n, 2)) * 0.5
    x[0, :, 1], x[0, :, 0] = 2 * bits - 1, 0
    return tg.Tensor(x.astype(np.float32)), tg.Tensor(bits.astype(np.int64))


def train(kind: str) -> tuple[nn.Module, nn.Linear]:
    tg.manual_seed(0)
    model, head = getattr(nn, kind)(2, HIDDEN), nn.Linear(HIDDEN, 2)
    if kind == "LSTM":
        bias = model.bias_ih_l0.numpy().copy()
        bias[HIDDEN : 2 * HIDDEN] = 3.0  # the forget gate's rows: f = sigmoid(3) = 0.95 at the start
        model.load_state_dict({**model.state_dict(), "bias_ih_l0": bias})
    optimizer = optim.Adam([*model.parameters(), *head.parameters()], lr=0.01)
    for _ in range(250):
        x, y = batch(B)
        output, _ = model(x)
        loss = F.cross_entropy(head(output[-1]), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, head


x_test, y_test = batch(500)
accuracy = {}
for kind in ("RNN", "LSTM"):
    model, head = train(kind)
    output, _ = model(x_test)
    accuracy[kind] = float((head(output[-1]).argmax(axis=1).numpy() == y_test.numpy()).mean())
    print(f"{kind}: recall accuracy {accuracy[kind]:.1%}")
    if kind == "LSTM":
        lstm = model
    else:
        rnn = model
assert accuracy["RNN"] < 0.65 and accuracy["LSTM"] > 0.95

# %% [markdown]
# ## Why: the two gradient-norm curves
#
# `||dL/dh_t||` for the trained models on test sequences, run step by step with cells holding
# the trained weights: the RNN's gradient reaching step 0 is many orders of magnitude below the
# one at the end, the LSTM's, carried along the cell state, much less so.


# %%
def curve(kind: str, layer: nn.Module) -> np.ndarray:
    cell = (nn.RNNCell if kind == "RNN" else nn.LSTMCell)(2, HIDDEN)
    cell.load_state_dict({name.removesuffix("_l0"): value for name, value in layer.state_dict().items()})
    h = tg.zeros(20, HIDDEN)
    state, hiddens = (h if kind == "RNN" else (h, tg.zeros(20, HIDDEN))), []
    for t in range(T):
        with tg.scope(f"t={t}"):
            state = cell(x_test[t, :20], state)
        hiddens.append(state if kind == "RNN" else state[0])
    return bptt.hidden_grad_norms(hiddens[-1].sum(), hiddens)


curves = {"RNN": curve("RNN", rnn), "LSTM": curve("LSTM", lstm)}
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
for ax, (kind, norms) in zip(axes, curves.items()):
    ax.semilogy(norms, marker="o", markersize=3)
    ax.set_title(f"{kind}: ||dL/dh_t||")
    ax.set_xlabel("time step t")
plt.show()
ratio = {kind: norms[0] / norms[-1] for kind, norms in curves.items()}
print({kind: f"{r:.1e}" for kind, r in ratio.items()})
assert ratio["LSTM"] > 100 * ratio["RNN"]

# %% [markdown]
# ## The step-level picture
#
# A 3-step LSTM, one box per step: each box holds the cell's equations; two blue state edges (`h`
# and `c`) run from step to step.

# %%
tg.manual_seed(0)
small = nn.LSTM(2, 3)
out, _ = small(tg.randn(3, 1, 2))
draw_graph((out[-1] ** 2).sum(), params=small, detail="step")

# %% [markdown]
# ## Exercises
#
# 1. Write `forget_bias_sweep(values)`: for each forget-gate bias, the fraction of the cell state
#    an LSTM keeps per step at the start, `sigmoid(b_f)`, and the fraction left after 29 steps.
# 2. Write `gru_keeps(z, steps)`: with the update gate fixed at `z`, how much of `h_0` survives in
#    `h_steps` when the new content `n` is 0 (`h' = (1 - z) n + z h`)? Check it by running `gru_step`
#    with weights that make `z` constant.


# %% tags=["solution"]
def forget_bias_sweep(values: list[float]) -> list[tuple[float, float]]:
    # BEGIN SOLUTION
    kept = [1 / (1 + np.exp(-b)) for b in values]
    return [(k, k**29) for k in kept]
    # END SOLUTION


# %% tags=["check"]
sweep = forget_bias_sweep([0.0, 3.0])
assert np.isclose(sweep[0][0], 0.5) and sweep[0][1] < 1e-8 and sweep[1][1] > 0.2


# %% tags=["solution"]
def gru_keeps(z: float, steps: int) -> float:
    # BEGIN SOLUTION
    return z**steps
    # END SOLUTION


# %% tags=["check"]
zero = {name: np.zeros(p.shape) for name, p in gru_cell.named_parameters()}
bias = np.zeros(3 * H)
bias[H : 2 * H] = np.log(0.9 / 0.1)  # z = sigmoid(log 9) = 0.9; r and n get 0 input: n = tanh(0) = 0
G = {name: tg.Tensor(value) for name, value in {**zero, "bias_ih": bias}.items()}
state = tg.Tensor(np.ones((1, H)))
for _ in range(5):
    state = gru_step(tg.Tensor(np.zeros((1, IN))), state)
assert np.allclose(state.numpy(), gru_keeps(0.9, 5), rtol=1e-12)
