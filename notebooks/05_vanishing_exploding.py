# %% [markdown]
# # Lesson 5 — Vanishing and exploding gradients
#
# **What this lesson teaches.** Lecture 002's two illustrations, `0.01^12 ≈ 0` (vanishing) and
# `1.8^5 = 18.9` (exploding), and then the same effect **measured** in a tanh RNN: the gradient
# `||dL/dh_t||` reaching each hidden state (`bptt.hidden_grad_norms`) shrinks or grows by a
# roughly constant factor per step back, and that factor follows the scale of the recurrent weight.
# Then gradient clipping, and the picture coloured by gradient.
#
# **Notation.** `h_t` is lecture 002's `a<t>`; `W_hh` its recurrent weight (`nn.RNNCell.weight_hh`).
# Going one step back through `h_t = tanh(W_hh h_{t-1} + W_xh x_t)` multiplies the gradient by
# `W_hhᵀ diag(1 - h_t^2)`: a product of `T` such factors is the lecture's product of numbers.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import bptt, nn
from tinygrad_rnn.viz import draw_graph

# %% [markdown]
# ## The lecture's numbers

# %%
vanishing = 0.01**12
exploding = 1.8**5
print(
    f"0.01^12 = {vanishing:.0e}      1.8^5 = {exploding:.4f}      12 x 3.8 x 2.5 x 6.9 x 5.7 = {12 * 3.8 * 2.5 * 6.9 * 5.7:.2f}"
)
assert math.isclose(vanishing, 1e-24, rel_tol=1e-9)
assert round(exploding, 4) == 18.8957 and round(exploding, 1) == 18.9
assert round(12 * 3.8 * 2.5 * 6.9 * 5.7, 2) == 4483.62

# %% [markdown]
# ## Measured: a tanh RNN built from `Tensor` ops
#
# `W_hh = scale · Q` with `Q` orthogonal (every direction stretched by exactly `scale`), zero
# biases and tiny inputs, so that tanh stays in its linear part and the factor per step is the
# weight's scale alone. The loss reads the last state only; `hidden_grad_norms` measures
# `||dL/dh_t||` for every step.

# %%
HIDDEN, STEPS = 8, 20
Q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((HIDDEN, HIDDEN)))
W_xh = tg.Tensor(np.random.default_rng(6).standard_normal((3, HIDDEN)), requires_grad=True, name="W_xh")


def run(scale: float, input_size: float = 1e-6, steps: int = STEPS) -> tuple[tg.Tensor, list[tg.Tensor], tg.Tensor]:
    W_hh = tg.Tensor(scale * Q, requires_grad=True, name="W_hh")
    h, hiddens = tg.zeros(1, HIDDEN, dtype="float64"), []
    xs = np.random.default_rng(7).standard_normal((steps, 1, 3)) * input_size
    for t in range(steps):
        with tg.scope(f"t={t}"):
            h = (tg.Tensor(xs[t]) @ W_xh + h @ W_hh).tanh()  # h_t = tanh(x_t W_xh + h_{t-1} W_hh)
        hiddens.append(h)
    return h.sum(), hiddens, W_hh


norms = {}
for scale in (0.5, 0.9, 1.1, 1.5):
    loss, hiddens, _ = run(scale)
    norms[scale] = bptt.hidden_grad_norms(loss, hiddens)
    factor = (norms[scale][0] / norms[scale][-1]) ** (1 / (STEPS - 1))  # geometric mean per step back
    print(
        f"scale {scale}: ||dL/dh_0|| / ||dL/dh_T-1|| = {norms[scale][0] / norms[scale][-1]:.2e}, factor per step {factor:.4f}"
    )
    assert math.isclose(factor, scale, rel_tol=1e-3)  # the per-step factor is the weight's scale
assert norms[0.5][0] < 1e-5 * norms[0.5][-1] and norms[1.5][0] > 1e3 * norms[1.5][-1]

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for scale, curve in norms.items():
    ax.semilogy(range(STEPS), curve, marker="o", markersize=3, label=f"W_hh = {scale} Q")
ax.set_xlabel("time step t")
ax.set_ylabel("||dL/dh_t||")
ax.set_title("Gradient reaching each step of a tanh RNN (loss at the last step)")
ax.legend()
plt.show()

# %% [markdown]
# ## The per-step factor against the weight's scale
#
# Over many scales the measured factor lies on the diagonal: the norm of the gradient after `k`
# steps back is `scale^k` times the last one, exactly the lecture's products `0.01^12` and `1.8^5`
# (with `0.01` or `1.8` as the factor).

# %%
scales = np.linspace(0.3, 1.8, 7)
factors = []
for scale in scales:
    loss, hiddens, _ = run(scale)
    curve = bptt.hidden_grad_norms(loss, hiddens)
    factors.append((curve[0] / curve[-1]) ** (1 / (STEPS - 1)))
fig, ax = plt.subplots(figsize=(4, 4))
ax.plot(scales, factors, "o", label="measured")
ax.plot(scales, scales, "--", label="factor = scale")
ax.set_xlabel("scale of W_hh")
ax.set_ylabel("factor per step back")
ax.legend()
plt.show()
assert np.allclose(factors, scales, rtol=1e-3)

# %% [markdown]
# ## Gradient clipping
#
# Exploding gradients give huge updates. `nn.utils.clip_grad_norm_` rescales all gradients together
# so that their joint norm is at most `max_norm`: the direction is kept, the step is bounded.

# %%
loss, hiddens, W_hh = run(1.5, input_size=1e-3, steps=STEPS)
loss.backward()
before = W_hh.grad.numpy().copy()
total_norm = nn.utils.clip_grad_norm_([W_xh, W_hh], max_norm=1.0)
after = W_hh.grad.numpy()
joint = math.sqrt(float((W_xh.grad.numpy() ** 2).sum() + (after**2).sum()))
print(f"norm before clipping {total_norm:.1f}, after {joint:.4f}")
assert total_norm > 10 and math.isclose(joint, 1.0, rel_tol=1e-6)  # it was ten times too large
cosine = (before * after).sum() / (np.linalg.norm(before) * np.linalg.norm(after))
assert math.isclose(cosine, 1.0, rel_tol=1e-9)  # same direction

# %% [markdown]
# ## The picture, coloured by gradient
#
# Six steps with a small recurrent weight (`scale 0.5`): read the colours from right to left, the
# gradient fades as it goes back in time (log scale, legend on the picture).

# %%
W_xh.zero_grad()
loss, hiddens, _ = run(0.5, steps=6)
draw_graph(loss, color_by="grad", show_grads=False)

# %% [markdown]
# ## The same with `nn.RNNCell`
#
# `nn.RNNCell` with its default initialisation (uniform in `±1/sqrt(hidden)`), run over 30 steps
# in a loop so that every hidden state is a tensor we hold: the gradient reaching the early steps
# is orders of magnitude smaller than at the end.

# %%
tg.manual_seed(0)
cell = nn.RNNCell(3, 16).double()
xs = np.random.default_rng(8).standard_normal((30, 1, 3))
h, states = tg.zeros(1, 16, dtype="float64"), []
for t in range(30):
    with tg.scope(f"t={t}"):
        h = cell(tg.Tensor(xs[t]), h)
    states.append(h)
curve = bptt.hidden_grad_norms(h.sum(), states)
print(f"||dL/dh_0|| / ||dL/dh_29|| = {curve[0] / curve[-1]:.1e}")
assert curve[0] < 1e-3 * curve[-1]
bptt.plot_grad_norms({"nn.RNNCell(3, 16), default init": curve})
plt.show()

# %% [markdown]
# ## Exercises
#
# 1. After how many steps back has the gradient of the `scale = 0.5` network fallen below `1e-4`
#    of its value at the last step? Write `steps_until(factor, threshold)` (the smallest `k` with
#    `factor^k < threshold`) and check it against the measured curve.
# 2. Write `clip(grads, max_norm)` in NumPy: rescale a list of arrays so that their joint norm is at
#    most `max_norm` (and leave them alone when it already is). Compare with `clip_grad_norm_`.


# %% tags=["solution"]
def steps_until(factor: float, threshold: float) -> int:
    # BEGIN SOLUTION
    return math.floor(math.log(threshold) / math.log(factor)) + 1
    # END SOLUTION


# %% tags=["check"]
k = steps_until(0.5, 1e-4)
measured = norms[0.5] / norms[0.5][-1]
assert k == 14 and measured[-1 - k] < 1e-4 <= measured[-k] * (1 + 1e-3)


# %% tags=["solution"]
def clip(grads: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    # BEGIN SOLUTION
    norm = math.sqrt(sum(float((g**2).sum()) for g in grads))
    return [g * min(1.0, max_norm / norm) for g in grads]
    # END SOLUTION


# %% tags=["check"]
loss, hiddens, W_hh = run(1.5, input_size=1e-3)
W_xh.zero_grad()
loss.backward()
raw = [W_xh.grad.numpy().copy(), W_hh.grad.numpy().copy()]
nn.utils.clip_grad_norm_([W_xh, W_hh], max_norm=2.0)
assert all(
    np.allclose(a, b.grad.numpy(), rtol=1e-6) for a, b in zip(clip(raw, 2.0), [W_xh, W_hh])
)  # (the library, as PyTorch, divides by norm + 1e-6)
assert all(np.array_equal(a, b) for a, b in zip(clip([np.ones(2)], 10.0), [np.ones(2)]))
