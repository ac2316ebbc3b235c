# %% [markdown]
# # Lesson 4 — BPTT is a sum over paths
#
# **What this lesson teaches.** Lecture 000 derives the gradient of the input weight `w_xH` of a
# three-step RNN as **three chain-rule products, one per step**: the weight is used at every step,
# so the loss reaches it along three paths. Lecture 004 writes the same as
# `dL/dW = sum_t dL/dW|_(t)`. Here each of the three terms is computed by hand, by
# `bptt.contributions` (the engine's gradient split by time step) and checked by `gradcheck`
# (central finite differences): all equal. Then the picture, with each fan-out edge of the shared
# weight labelled with its term, and the order of backward with the `+=` where paths meet.
#
# **Notation.** Lecture 000: `H_t = f(w_xH x_t + w_HH H_{t-1})`, `Ŷ = σ(w_HY H_3)`,
# `L = (Y - Ŷ)^2`, with `f = tanh` here. Its `H_t` is lesson 1's `h_t` (`a<t>`, lecture 001's
# `o_t`); `w_xH`, `w_HH`, `w_HY` are `W_xh` (`weight_ih_l0`), `W_hh` (`weight_hh_l0`), `W_hy`.

# %%
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import bptt, nn
from tinygrad_rnn.viz import draw_graph

x = [0.5, -1.0, 2.0]  # x_1, x_2, x_3
Y = 1.0  # the target
values = {"w_xH": 0.7, "w_HH": -0.6, "w_HY": 1.3}


def forward(w_xH: tg.Tensor, w_HH: tg.Tensor, w_HY: tg.Tensor) -> tuple[tg.Tensor, list[tg.Tensor]]:
    H, states = tg.zeros(1, dtype="float64", name="H_0"), []
    for t, x_t in enumerate(x, start=1):
        with tg.scope(f"t={t}"):
            H = (w_xH * x_t + w_HH * H).tanh()  # H_t = tanh(w_xH x_t + w_HH H_{t-1})
        states.append(H)
    Y_hat = (w_HY * H).sigmoid()  # Ŷ = σ(w_HY H_3)
    return ((Y - Y_hat) ** 2).sum(), states  # L = (Y - Ŷ)^2


weights = {name: tg.Tensor(np.array([v]), requires_grad=True, name=name) for name, v in values.items()}
loss, states = forward(**weights)
H1, H2, H3 = (H.item() for H in states)
print(f"H_1 = {H1:.6f}, H_2 = {H2:.6f}, H_3 = {H3:.6f}, L = {loss.item():.6f}")

# %% [markdown]
# ## The three terms by hand
#
# With `a = w_HY H_3`: `dL/dŶ = -2 (Y - Ŷ)`, `dŶ/dH_3 = σ'(a) w_HY`, and for tanh
# `∂H_t/∂w_xH = (1 - H_t^2) x_t` (the direct dependence, with `H_{t-1}` held fixed) and
# `∂H_t/∂H_{t-1} = (1 - H_t^2) w_HH`. The lecture's three products:
#
# ```
# dL/dw_xH = dL/dŶ · dŶ/dH_3 · ∂H_3/∂w_xH                                   (path through step 3)
#          + dL/dŶ · dŶ/dH_3 · ∂H_3/∂H_2 · ∂H_2/∂w_xH                       (path through step 2)
#          + dL/dŶ · dŶ/dH_3 · ∂H_3/∂H_2 · ∂H_2/∂H_1 · ∂H_1/∂w_xH           (path through step 1)
# ```

# %%
w_xH, w_HH, w_HY = values.values()
sigma = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
Y_hat = sigma(w_HY * H3)
dL_dYhat = -2 * (Y - Y_hat)
dYhat_dH3 = Y_hat * (1 - Y_hat) * w_HY  # σ'(a) = σ(a)(1 - σ(a))
dH3_dH2, dH2_dH1 = (1 - H3**2) * w_HH, (1 - H2**2) * w_HH
by_hand = {
    3: dL_dYhat * dYhat_dH3 * (1 - H3**2) * x[2],
    2: dL_dYhat * dYhat_dH3 * dH3_dH2 * (1 - H2**2) * x[1],
    1: dL_dYhat * dYhat_dH3 * dH3_dH2 * dH2_dH1 * (1 - H1**2) * x[0],
}
for t, term in sorted(by_hand.items()):
    print(f"dL/dw_xH|_(t={t}) by hand = {term:+.8f}")

# %% [markdown]
# ## The same terms from the engine, and the total from finite differences
#
# `bptt.contributions(loss, w)` watches one backward pass and groups the gradients entering `w` by
# the time step of the op that used it (its scope `t=1`, `t=2`, `t=3`). Their sum is the `.grad`
# that `backward()` leaves; `gradcheck` compares that with central finite differences.

# %%
terms = bptt.contributions(loss, weights["w_xH"])
loss.backward(retain_graph=True)
for t in (1, 2, 3):
    print(f"t={t}: by hand {by_hand[t]:+.10f}   contributions {terms[t].item():+.10f}")
    assert np.isclose(terms[t].item(), by_hand[t], rtol=1e-12, atol=0)
engine = {name: w.grad.item() for name, w in weights.items()}  # read before gradcheck runs backward again
total = engine["w_xH"]
assert sorted(terms) == [1, 2, 3] and np.isclose(total, sum(by_hand.values()), rtol=1e-12)
assert tg.gradcheck(lambda w: forward(w, weights["w_HH"], weights["w_HY"])[0], weights["w_xH"])
eps = 1e-6  # and once more, the central difference written out
numeric = (
    forward(tg.Tensor(np.array([w_xH + eps])), *list(weights.values())[1:])[0].item()
    - forward(tg.Tensor(np.array([w_xH - eps])), *list(weights.values())[1:])[0].item()
) / (2 * eps)
print(f"sum of the three terms {sum(by_hand.values()):+.10f}, engine {total:+.10f}, finite differences {numeric:+.10f}")
assert np.isclose(numeric, total, rtol=1e-7)

# %% [markdown]
# **The output weight** has one path only. Lecture 000 writes
# `dL/dw_HY = -2 (Y - Ŷ) σ'(w_HY H_3)`; in full, the chain rule also multiplies by
# `∂(w_HY H_3)/∂w_HY = H_3`:

# %%
dL_dwHY = -2 * (Y - Y_hat) * Y_hat * (1 - Y_hat) * H3
print(f"dL/dw_HY by hand {dL_dwHY:+.10f}, engine {engine['w_HY']:+.10f}")
assert np.isclose(engine["w_HY"], dL_dwHY, rtol=1e-12)

# %% [markdown]
# ## The picture: one branch per path
#
# The shared weight `w_xH` is drawn once; its line branches into each step, and each branch carries
# that step's term `dL/dw_xH|_t`: the three numbers above.

# %%
draw_graph(loss, contributions={"w_xH": terms}, show_grads=False)

# %% [markdown]
# `show_order=True` numbers the ops in the order backward visits them (from the loss back to step
# 1) and marks where gradients are **added** (`+=`): at every tensor used more than once, such as
# `w_xH`, `w_HH` and each `H_t`, whose gradient is the sum of what comes back along its uses.

# %%
draw_graph(loss, show_order=True, show_grads=False)

# %% [markdown]
# ## The same with `nn.RNN`, and a loss at every step
#
# Lecture 004 sums the loss over time steps, `L = sum_t L(ŷ<t>, y<t>)`, and writes
# `dL/dW = sum_t dL/dW|_(t)`. For `nn.RNN` the time steps are scopes `rnn/l0/fwd/t=0 ... t=T-1`;
# `contributions` gives one term per step and they add up to `weight_hh_l0.grad`.

# %%
tg.manual_seed(4)
rnn = nn.RNN(2, 3).double()
inputs = tg.Tensor(np.random.default_rng(4).standard_normal((5, 1, 2)))
output, _ = rnn(inputs)
step_losses = (output**2).sum(axis=(1, 2))  # L_t for t = 0..4
loss_nn = step_losses.sum()
terms_nn = bptt.contributions(loss_nn, rnn.weight_hh_l0)
loss_nn.backward()
assert sorted(terms_nn) == [0, 1, 2, 3, 4]
assert np.allclose(sum(term.numpy() for term in terms_nn.values()), rnn.weight_hh_l0.grad.numpy(), rtol=1e-12)
assert np.abs(terms_nn[0].numpy()).max() == 0.0  # step 0 multiplies by h_{-1} = 0
print({t: float(np.linalg.norm(term.numpy())) for t, term in terms_nn.items()})

# %%
draw_graph(loss_nn, params=rnn, detail="step", contributions={"weight_hh_l0": terms_nn}, show_grads=False)

# %% [markdown]
# ## Exercises
#
# 1. The recurrent weight `w_HH` also has three terms. Write them by hand
#    (`∂H_t/∂w_HH = (1 - H_t^2) H_{t-1}`, with `H_0 = 0`) as a dict `{1: ..., 2: ..., 3: ...}`.
#    Which one is zero, and why?
# 2. Write `central_difference(name, eps)`, the finite-difference derivative of the loss with
#    respect to the weight `name` (`"w_xH"`, `"w_HH"` or `"w_HY"`), and compare it with the engine.

# %% tags=["solution"]
# BEGIN SOLUTION
w_HH_terms = {
    3: dL_dYhat * dYhat_dH3 * (1 - H3**2) * H2,
    2: dL_dYhat * dYhat_dH3 * dH3_dH2 * (1 - H2**2) * H1,
    1: dL_dYhat * dYhat_dH3 * dH3_dH2 * dH2_dH1 * (1 - H1**2) * 0.0,  # H_0 = 0
}
# END SOLUTION

# %% tags=["check"]
engine_terms = bptt.contributions(forward(**weights)[0], weights["w_HH"])
assert all(np.isclose(w_HH_terms[t], engine_terms[t].item(), rtol=1e-12, atol=1e-15) for t in (1, 2, 3))
assert w_HH_terms[1] == 0.0


# %% tags=["solution"]
def central_difference(name: str, eps: float = 1e-6) -> float:
    # BEGIN SOLUTION
    def loss_at(value: float) -> float:
        moved = {**weights, name: tg.Tensor(np.array([value]))}
        return forward(**moved)[0].item()

    return (loss_at(values[name] + eps) - loss_at(values[name] - eps)) / (2 * eps)
    # END SOLUTION


# %% tags=["check"]
for name in values:
    assert np.isclose(central_difference(name), engine[name], rtol=1e-6), name
