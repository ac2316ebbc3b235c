# %% [markdown]
# # Lesson 3 — The two-day RNN
#
# **What this lesson teaches.** Lecture 003's worked example, exactly: a recurrent network with
# one ReLU unit, weights `w1 = 1.8` (input), `w2 = -0.5` (feedback loop), `w3 = 1.1` (output) and
# biases `b1 = b2 = 0`, unrolled over two days, "yesterday" and "today", to predict tomorrow. Then
# what the lecture does not show: the gradient of each weight, by hand and by the engine (and by
# finite differences). First with `Tensor` ops, then with `nn.RNN` and `nn.Linear`.
#
# **Notation.** Lecture 003 writes `h_t = f(w_hh h_{t-1} + w_xh x_t)`, `y_t = w_hy h_t`: here
# `w_xh = w1`, `w_hh = w2`, `w_hy = w3`, `f = ReLU`. In `nn.RNN(1, 1, nonlinearity="relu")` these are
# `weight_ih_l0 = [[w1]]`, `weight_hh_l0 = [[w2]]` and `b1 = bias_ih_l0 + bias_hh_l0`; the head
# `nn.Linear(1, 1)` holds `w3` and `b2`.

# %%
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import draw_graph

W1, W2, W3, B1, B2 = 1.8, -0.5, 1.1, 0.0, 0.0


def parameter(value: float, name: str) -> tg.Tensor:
    return tg.Tensor(np.array([value]), requires_grad=True, name=name)


w1, w2, w3, b1, b2 = (parameter(v, n) for v, n in zip((W1, W2, W3, B1, B2), ("w1", "w2", "w3", "b1", "b2")))


def two_days(yesterday: float, today: float) -> dict[str, tg.Tensor]:
    """The unrolled network: yesterday's output y1 feeds today's sum through w2."""
    with tg.scope("t=yesterday"):
        x1 = tg.Tensor(np.array([yesterday]), name="yesterday")
        z1 = x1 * w1 + b1  # Yesterday x w1 + b1 = x-axis coordinate
        y1 = z1.relu()  # f(x) = max(0, x)
    with tg.scope("t=today"):
        x2 = tg.Tensor(np.array([today]), name="today")
        z2 = x2 * w1 + y1 * w2 + b1  # (Today x w1) + (y1 x w2) + b1
        y2 = z2.relu()
    prediction = y2 * w3 + b2  # y2 x w3 + b2 = prediction for tomorrow
    return {"z1": z1, "y1": y1, "z2": z2, "y2": y2, "prediction": prediction}


# %% [markdown]
# ## The lecture's numbers
#
# The lecture runs the values for yesterday and today through the unrolled network. With both
# values 0 every line of the slides is 0:
#
# ```
# 0 x 1.8 + 0.0 = 0                 f(0) = max(0, 0) = 0
# 0 x 1.8 + (0 x -0.5) + 0.0 = 0    f(0) = max(0, 0) = 0
# 0 x 1.1 + 0.0 = 0                 (the prediction for tomorrow)
# ```

# %%
lecture = two_days(yesterday=0.0, today=0.0)
for name, value in lecture.items():
    print(f"{name:10s} = {value.item()}")
assert all(value.item() == 0.0 for value in lecture.values())  # exactly the slides' zeros
assert (W1, W2, W3, B1, B2) == (1.8, -0.5, 1.1, 0.0, 0.0)

# %% [markdown]
# The same rule on values that are not zero (our numbers, not the lecture's): yesterday 0.5,
# today 1.0. Every value is written out and checked against plain Python arithmetic.

# %%
yesterday, today = 0.5, 1.0
run = two_days(yesterday, today)
z1 = yesterday * W1 + B1
y1 = max(0.0, z1)
z2 = today * W1 + y1 * W2 + B1
y2 = max(0.0, z2)
prediction = y2 * W3 + B2
print(f"z1 = {yesterday} x {W1} + {B1} = {z1:.4f};  y1 = max(0, z1) = {y1:.4f}")
print(f"z2 = {today} x {W1} + {y1:.4f} x {W2} + {B1} = {z2:.4f};  y2 = {y2:.4f}")
print(f"prediction = {y2:.4f} x {W3} + {B2} = {prediction:.4f}")
for name, value in {"z1": z1, "y1": y1, "z2": z2, "y2": y2, "prediction": prediction}.items():
    assert np.isclose(run[name].item(), value, rtol=1e-15, atol=0), name
assert np.isclose(prediction, 1.485)  # (1.8 - 0.45) x 1.1

# %%
draw_graph(run["prediction"], show_values=True)

# %% [markdown]
# ## What the lecture does not show: the gradients
#
# Say tomorrow's true value is `target = 1.0` and the loss is `L = (prediction - target)^2`. The
# chain rule, backwards from the loss (`[z > 0]` is ReLU's derivative: 1 where its input is
# positive, else 0):
#
# * `dL/dp = 2 (p - target)`, `dL/dw3 = dL/dp · y2`, `dL/db2 = dL/dp`
# * `dL/dz2 = dL/dp · w3 · [z2 > 0]`, `dL/dw2 = dL/dz2 · y1`
# * `dL/dz1 = dL/dz2 · w2 · [z1 > 0]`
# * `dL/dw1 = dL/dz2 · today + dL/dz1 · yesterday` — **two terms**: `w1` is used on both days
#   (the shared weight of the unrolled network; lesson 4 generalises this), and the same for
#   `dL/db1 = dL/dz2 + dL/dz1`.

# %%
target = 1.0
dL_dp = 2 * (prediction - target)
dL_dz2 = dL_dp * W3 * (z2 > 0)
dL_dz1 = dL_dz2 * W2 * (z1 > 0)
by_hand = {
    "w1": dL_dz2 * today + dL_dz1 * yesterday,
    "w2": dL_dz2 * y1,
    "w3": dL_dp * y2,
    "b1": dL_dz2 + dL_dz1,
    "b2": dL_dp,
}
loss = (run["prediction"] - target) ** 2
loss.sum().backward()
engine = {"w1": w1, "w2": w2, "w3": w3, "b1": b1, "b2": b2}
for name, value in by_hand.items():
    print(f"dL/d{name}: by hand {value:+.6f}, engine {engine[name].grad.item():+.6f}")
    assert np.isclose(engine[name].grad.item(), value, rtol=1e-12), name

# %% [markdown]
# And both against central finite differences, `(L(w + ε) - L(w - ε)) / 2ε`, with `gradcheck`
# (in float64, away from ReLU's kink at 0):


# %%
def loss_of(w1, w2, w3, b1, b2):
    y1 = (tg.Tensor(np.array([yesterday])) * w1 + b1).relu()
    y2 = (tg.Tensor(np.array([today])) * w1 + y1 * w2 + b1).relu()
    return ((y2 * w3 + b2 - target) ** 2).sum()


assert tg.gradcheck(loss_of, w1, w2, w3, b1, b2)

# %% [markdown]
# At the lecture's own inputs (all zeros) ReLU sits exactly on its kink, `max(0, 0)`. The library
# takes ReLU's derivative at 0 to be 0 (PyTorch's convention), so no gradient reaches `w1`, `w2`,
# `w3` or `b1`: only the output bias `b2` can learn from that example.

# %%
for w in engine.values():
    w.zero_grad()
zero_loss = ((two_days(0.0, 0.0)["prediction"] - target) ** 2).sum()
zero_loss.backward()
print({name: w.grad.item() for name, w in engine.items()})
assert [engine[name].grad.item() for name in ("w1", "w2", "w3", "b1")] == [0.0, 0.0, 0.0, 0.0]
assert engine["b2"].grad.item() == 2 * (0.0 - target)

# %% [markdown]
# ## The same network from `nn` layers
#
# `nn.RNN(1, 1, nonlinearity="relu")` is the unrolled loop above; its input is `(2 days, batch 1,
# 1 feature)`. Its two biases add up to the lecture's `b1`.

# %%
rnn, head = nn.RNN(1, 1, nonlinearity="relu").double(), nn.Linear(1, 1).double()
rnn.load_state_dict(
    {
        name: np.array(value)
        for name, value in [
            ("weight_ih_l0", [[W1]]),
            ("weight_hh_l0", [[W2]]),
            ("bias_ih_l0", [B1]),
            ("bias_hh_l0", [0.0]),
        ]
    }
)
head.load_state_dict({"weight": np.array([[W3]]), "bias": np.array([B2])})
for days in [(0.0, 0.0), (yesterday, today)]:
    output, h_n = rnn(tg.Tensor(np.array(days).reshape(2, 1, 1)))
    tomorrow = head(h_n[0]).item()
    print(f"yesterday {days[0]}, today {days[1]} -> tomorrow {tomorrow:.4f}")
    assert np.isclose(tomorrow, two_days(*days)["prediction"].item(), rtol=1e-15, atol=0)

# %% [markdown]
# ## Exercises
#
# 1. Unroll the network over **three** days (`day_before`, `yesterday`, `today`) with the same
#    weights: write `three_days(day_before, yesterday, today)` returning the prediction, as a
#    Python float, with plain arithmetic. (It is checked against `nn.RNN` on three steps.)
# 2. How many terms does `dL/dw1` have in the three-day network? Write `dL_dw1_terms(...)` that
#    returns them as a list of floats (one per day), for `target = 1.0`; they must add up to the
#    engine's gradient.


# %% tags=["solution"]
def three_days(day_before: float, yesterday: float, today: float) -> float:
    # BEGIN SOLUTION
    y0 = max(0.0, day_before * W1 + B1)
    y1 = max(0.0, yesterday * W1 + y0 * W2 + B1)
    y2 = max(0.0, today * W1 + y1 * W2 + B1)
    return y2 * W3 + B2
    # END SOLUTION


# %% tags=["check"]
days = (1.0, 0.5, 1.0)
_, h_n = rnn(tg.Tensor(np.array(days).reshape(3, 1, 1)))
assert np.isclose(three_days(*days), head(h_n[0]).item(), rtol=1e-12)


# %% tags=["solution"]
def dL_dw1_terms(day_before: float, yesterday: float, today: float) -> list[float]:
    # BEGIN SOLUTION
    z = [day_before * W1 + B1]
    z.append(yesterday * W1 + max(0.0, z[0]) * W2 + B1)
    z.append(today * W1 + max(0.0, z[1]) * W2 + B1)
    dL_dz = [0.0, 0.0, 2 * (max(0.0, z[2]) * W3 + B2 - 1.0) * W3 * (z[2] > 0)]
    dL_dz[1] = dL_dz[2] * W2 * (z[1] > 0)
    dL_dz[0] = dL_dz[1] * W2 * (z[0] > 0)
    return [dL_dz[t] * x for t, x in enumerate((day_before, yesterday, today))]
    # END SOLUTION


# %% tags=["check"]
rnn.zero_grad()
_, h_n = rnn(tg.Tensor(np.array(days).reshape(3, 1, 1)))
((head(h_n[0]) - 1.0) ** 2).sum().backward()
terms = dL_dw1_terms(*days)
assert len(terms) == 3 and np.isclose(sum(terms), rnn.weight_ih_l0.grad.item(), rtol=1e-10)
