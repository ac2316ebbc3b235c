# %% [markdown]
# # Lesson 6 — tanh
#
# **What this lesson teaches.** Lecture 002's activation function,
# `tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})`, with `-1 < tanh(x) < 1`: plotted with its derivative
# `1 - tanh(x)^2`, checked to be zero-centred (unlike the sigmoid), and shown to **saturate**: for
# large `|x|` its derivative is almost 0, and every saturated step multiplies the gradient of
# lesson 5 by that almost-0 factor. First the op itself (`Tensor.tanh`, and a tanh written from
# `exp`), then `nn.Tanh` and an `nn.RNNCell` driven into saturation.

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import bptt, nn
from tinygrad_rnn.viz import draw_graph

# %% [markdown]
# ## tanh from its definition, and its derivative from the engine

# %%
xs = np.linspace(-5, 5, 201)
x = tg.Tensor(xs, requires_grad=True, name="x")
by_definition = (x.exp() - (-x).exp()) / (x.exp() + (-x).exp())  # the lecture's formula, as ops
y = x.tanh()
y.sum().backward()  # d(sum tanh x_i)/dx_i = tanh'(x_i)
derivative = x.grad.numpy()
assert np.allclose(by_definition.numpy(), np.tanh(xs), rtol=1e-12) and np.allclose(y.numpy(), np.tanh(xs), rtol=1e-15)
assert np.allclose(derivative, 1 - np.tanh(xs) ** 2, rtol=1e-12)  # tanh' = 1 - tanh^2
assert tg.gradcheck(lambda t: t.tanh(), tg.Tensor(np.linspace(-3, 3, 7), requires_grad=True))
assert (np.abs(y.numpy()) < 1).all() and y.numpy().max() > 0.999  # -1 < tanh(x) < 1, approaching both

# %%
sigmoid = 1 / (1 + np.exp(-xs))
fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(xs, y.numpy(), label="tanh(x)")
ax.plot(xs, derivative, label="tanh'(x) = 1 - tanh(x)²")
ax.plot(xs, sigmoid, "--", label="sigmoid(x)", alpha=0.6)
ax.plot(xs, sigmoid * (1 - sigmoid), ":", label="sigmoid'(x)", alpha=0.8)
ax.axhline(0, color="grey", lw=0.5)
ax.axvline(0, color="grey", lw=0.5)
ax.axvspan(-5, -3, color="red", alpha=0.08)
ax.axvspan(3, 5, color="red", alpha=0.08, label="saturated: tanh' < 0.01")
ax.legend(fontsize=8)
ax.set_xlabel("x")
plt.show()

# %% [markdown]
# ## Zero-centred
#
# tanh is odd, `tanh(-x) = -tanh(x)`, with `tanh(0) = 0`: over symmetric inputs its outputs average
# to 0 (the lecture's "centred around origin"). The sigmoid's average 0.5: every unit downstream
# sees a positive bias. And tanh's slope at 0 is 1, four times the sigmoid's 0.25.

# %%
assert np.allclose(np.tanh(-xs), -np.tanh(xs)) and np.tanh(0.0) == 0.0
print(f"mean of tanh over [-5, 5]: {y.numpy().mean():+.2e}, of sigmoid: {sigmoid.mean():.3f}")
assert abs(y.numpy().mean()) < 1e-12 and abs(sigmoid.mean() - 0.5) < 1e-12
assert derivative[100] == 1.0 and np.isclose((sigmoid * (1 - sigmoid))[100], 0.25)

# %% [markdown]
# ## Saturation
#
# Beyond `|x| = 3` the derivative is below 0.01; at `|x| = 5` below 0.0002. A unit whose input sits
# there passes almost no gradient back.

# %%
for point in (0, 1, 2, 3, 5):
    print(f"tanh'({point}) = {1 - np.tanh(point) ** 2:.5f}")
assert 1 - np.tanh(3) ** 2 < 0.01 and 1 - np.tanh(5) ** 2 < 2e-4

# %%
z = tg.Tensor(np.array([0.5, 4.0]), requires_grad=True, name="z")
out = nn.Tanh()(z)
out.sum().backward()
assert np.allclose(z.grad.numpy(), 1 - np.tanh([0.5, 4.0]) ** 2)
draw_graph(out.sum(), show_values=True)

# %% [markdown]
# ## What saturation does to lesson 5
#
# The same recurrent weight (`W_hh = 1.5 Q`, which *explodes* the gradient in tanh's linear part)
# with large inputs instead of tiny ones: the hidden units saturate, each step multiplies the
# gradient by `W_hhᵀ diag(1 - h_t²)` with `1 - h_t²` near 0, and the gradient **vanishes** instead.

# %%
HIDDEN, STEPS = 8, 20
Q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((HIDDEN, HIDDEN)))
tg.manual_seed(0)
cell = nn.RNNCell(3, HIDDEN, bias=False).double()
cell.load_state_dict({"weight_ih": np.random.default_rng(6).standard_normal((HIDDEN, 3)), "weight_hh": 1.5 * Q})


def grad_norms(input_size: float) -> tuple[np.ndarray, float]:
    xs = np.random.default_rng(7).standard_normal((STEPS, 1, 3)) * input_size
    h, states = tg.zeros(1, HIDDEN, dtype="float64"), []
    for t in range(STEPS):
        with tg.scope(f"t={t}"):
            h = cell(tg.Tensor(xs[t]), h)
        states.append(h)
    saturation = float(np.mean([np.abs(s.numpy()).mean() for s in states]))
    return bptt.hidden_grad_norms(h.sum(), states), saturation


linear, _ = grad_norms(1e-6)
saturated, mean_abs_h = grad_norms(10.0)
print(f"tiny inputs:  ||dL/dh_0|| / ||dL/dh_T|| = {linear[0] / linear[-1]:.1e}")
print(f"large inputs: ||dL/dh_0|| / ||dL/dh_T|| = {saturated[0] / saturated[-1]:.1e}  (mean |h_t| = {mean_abs_h:.2f})")
assert linear[0] > 1e3 * linear[-1]  # explodes in the linear part
assert saturated[0] < 1e-3 * saturated[-1] and mean_abs_h > 0.9  # vanishes once saturated
bptt.plot_grad_norms({"W_hh = 1.5 Q, tiny inputs": linear, "W_hh = 1.5 Q, saturated": saturated})
plt.show()

# %% [markdown]
# ## Exercises
#
# 1. Write `tanh_prime(x)` in NumPy without calling `np.tanh` (use the exponential form) and check
#    it against the engine's gradient on `xs`.
# 2. The sigmoid is a shifted, scaled tanh: `sigmoid(x) = (1 + tanh(x / 2)) / 2`. Write
#    `sigmoid_from_tanh(t)` for a `Tensor` `t` using `Tensor.tanh` only, and check its values and
#    its gradient against `Tensor.sigmoid`.


# %% tags=["solution"]
def tanh_prime(x: np.ndarray) -> np.ndarray:
    # BEGIN SOLUTION
    return 4 / (np.exp(x) + np.exp(-x)) ** 2  # 1 - tanh^2 = sech^2 = (2 / (e^x + e^-x))^2
    # END SOLUTION


# %% tags=["check"]
assert np.allclose(tanh_prime(xs), derivative, rtol=1e-10)


# %% tags=["solution"]
def sigmoid_from_tanh(t: tg.Tensor) -> tg.Tensor:
    # BEGIN SOLUTION
    return ((t * 0.5).tanh() + 1) * 0.5
    # END SOLUTION


# %% tags=["check"]
a = tg.Tensor(np.linspace(-4, 4, 9), requires_grad=True)
b = tg.Tensor(np.linspace(-4, 4, 9), requires_grad=True)
sigmoid_from_tanh(a).sum().backward()
b.sigmoid().sum().backward()
assert np.allclose(sigmoid_from_tanh(a).numpy(), b.sigmoid().numpy(), rtol=1e-12)
assert np.allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)
