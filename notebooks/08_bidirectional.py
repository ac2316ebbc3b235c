# %% [markdown]
# # Lesson 8 — Bidirectional RNNs
#
# **What this lesson teaches.** Lecture 000 tells the story of kings X and Y in six sentences and
# scores each sentence on three features, power, conflict and revenge. Whether a sentence is the
# start of the fight that ends the story cannot be read from the sentences before it: the answer
# depends on what comes **later**. A one-directional RNN reads left to right only; a bidirectional
# RNN runs a second RNN right to left and joins both states at every step (lectures 000 and 004).
# Here: the story as a `(6 steps, 3 features)` sequence, a task whose answer at step `t` depends on
# step `t + 1`, a bidirectional model beating the one-directional one, and its picture.
#
# **Notation.** At step `t` the forward state `h→_t` has read `x_1..x_t`, the backward state
# `h←_t` has read `x_t..x_T`; the output sees `[h→_t, h←_t]`. In `nn.RNN(..., bidirectional=True)`
# the backward direction's weights end in `_reverse` (`weight_hh_l0_reverse`), PyTorch's names.

# %%
import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn, optim
from tinygrad_rnn.viz import draw_graph

# %% [markdown]
# ## The story of kings X and Y, as features
#
# The lecture's table (s5's power is written "0.6+"; read as 0.6):

# %%
sentences = [
    "X and Y were from enemy kingdoms; both powerful, they went to war. Y killed X.",
    "X had a son, Jr X.",
    "Jr X grew up to be a powerful king and attacked Y.",
    "Y killed Jr X.",
    "Jr X had a son, S Jr X.",
    "He grew up, attacked Y and killed Y.",
]
features = np.array(  # power, conflict, revenge (lecture 000, s1..s6)
    [[0.6, 0.0, 0.0], [0.75, 0.1, 0.0], [0.75, 0.8, 0.0], [0.9, 0.9, 0.0], [0.6, 0.7, 0.1], [0.61, 0.72, 0.4]]
)
for k, (text, (power, conflict, revenge)) in enumerate(zip(sentences, features), start=1):
    print(f"s{k}: power {power:.2f} conflict {conflict:.2f} revenge {revenge:.2f}  {text}")
story = tg.Tensor(features[:, None, :])  # (6 steps, batch 1, 3 features)
assert story.shape == (6, 1, 3)

# %% [markdown]
# ## Two directions from `Tensor` ops
#
# The forward RNN reads s1..s6, the backward RNN s6..s1 with its own weights; each step's output
# joins the two states. At step 3 the forward state depends on s1..s3 only, the backward one on
# s3..s6: the gradient of the backward state at step 3 with respect to s5 is not zero, the forward
# one's is.

# %%
tg.manual_seed(8)
HIDDEN = 4
Wf_x, Wf_h, Wb_x, Wb_h = (tg.randn(*shape) * 0.5 for shape in [(3, HIDDEN), (HIDDEN, HIDDEN)] * 2)
x = tg.Tensor(features[:, None, :], requires_grad=True, name="story")
forward_states, backward_states = [None] * 6, [None] * 6
h = tg.zeros(1, HIDDEN, dtype="float64")
for t in range(6):
    with tg.scope("fwd"), tg.scope(f"t={t}"):
        h = (x[t] @ Wf_x.double() + h @ Wf_h.double()).tanh()
    forward_states[t] = h
h = tg.zeros(1, HIDDEN, dtype="float64")
for t in reversed(range(6)):
    with tg.scope("bwd"), tg.scope(f"t={t}"):
        h = (x[t] @ Wb_x.double() + h @ Wb_h.double()).tanh()
    backward_states[t] = h
outputs = [tg.cat([f, b], axis=1) for f, b in zip(forward_states, backward_states)]
assert outputs[2].shape == (1, 2 * HIDDEN)


def sensitivity(state: tg.Tensor) -> np.ndarray:
    """|d sum(state) / d x_k| summed over features, for each sentence k."""
    x.zero_grad()
    state.sum().backward(retain_graph=True)
    return np.abs(x.grad.numpy()).sum(axis=(1, 2))


fwd3, bwd3 = sensitivity(forward_states[2]), sensitivity(backward_states[2])
print("forward state at s3 depends on:", (fwd3 > 0).astype(int), " backward state at s3:", (bwd3 > 0).astype(int))
assert (fwd3[3:] == 0).all() and (fwd3[:3] > 0).all()  # only the past
assert (bwd3[:2] == 0).all() and (bwd3[2:] > 0).all()  # only the future (and now)

# %% [markdown]
# ## A task that needs the future
#
# Random six-sentence stories (features drifting in [0, 1]); the label of sentence `t` is 1 when
# the **next** sentence's conflict is higher than this one's (the last sentence: 0). One-directional
# and bidirectional `nn.RNN`s of the same hidden size, each with a linear head on every step, are
# trained the same way.

# %%
data = np.random.default_rng(0)


def stories(n: int) -> tuple[tg.Tensor, tg.Tensor]:
    x = np.clip(0.5 + np.cumsum(data.normal(0, 0.2, (6, n, 3)), axis=0), 0, 1)
    rising = np.zeros((6, n), dtype=np.int64)
    rising[:-1] = x[1:, :, 1] > x[:-1, :, 1]
    return tg.Tensor(x.astype(np.float32)), tg.Tensor(rising)


def train(bidirectional: bool) -> tuple[nn.RNN, nn.Linear]:
    tg.manual_seed(0)
    model = nn.RNN(3, 8, bidirectional=bidirectional)
    head = nn.Linear(8 * (2 if bidirectional else 1), 2)
    optimizer = optim.Adam([*model.parameters(), *head.parameters()], lr=0.03)
    for _ in range(150):
        x, y = stories(64)
        output, _ = model(x)
        loss = F.cross_entropy(head(output).permute(1, 2, 0), y.T)  # (batch, classes, steps)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, head


x_test, y_test = stories(500)
models, accuracy = {}, {}
for name, bidirectional in (("one-directional", False), ("bidirectional", True)):
    model, head = train(bidirectional)
    output, _ = model(x_test)
    predicted = head(output).argmax(axis=2).numpy()
    accuracy[name] = float((predicted[:-1] == y_test.numpy()[:-1]).mean())  # steps with a next sentence
    models[name] = (model, head)
    print(f"{name}: accuracy {accuracy[name]:.1%}")
assert accuracy["bidirectional"] > 0.9 and accuracy["bidirectional"] > accuracy["one-directional"] + 0.2

# %% [markdown]
# On the kings' story itself (its conflict rises at s1→s2, s2→s3, s3→s4 and s5→s6):

# %%
truth = [int(features[t + 1, 1] > features[t, 1]) for t in range(5)] + [0]
for name, (model, head) in models.items():
    output, _ = model(story.float())
    print(f"{name:16s}", head(output).argmax(axis=2).numpy()[:, 0], "  truth", np.array(truth))
assert truth == [1, 1, 1, 0, 1, 0]

# %% [markdown]
# ## The picture: two directions
#
# One box per layer and direction (`detail="layer"`): the `forward` and `backward` RNNs read the
# same inputs, and `cat` joins their states at every step.

# %%
model, head = models["bidirectional"]
output, _ = model(story.float())
draw_graph(head(output).sum(), params=model, detail="layer")

# %% [markdown]
# ## Exercises
#
# 1. Write `majority_baseline(y)`: the accuracy of always answering the more common label (on the
#    steps that have a next sentence). A model that cannot see the future does little better.
# 2. Write `concat_size(hidden)`: the number of features the head of a bidirectional RNN with
#    `hidden` units per direction sees at each step, and check it against `nn.RNN`'s output.


# %% tags=["solution"]
def majority_baseline(y: np.ndarray) -> float:
    # BEGIN SOLUTION
    rate = float(y[:-1].mean())
    return max(rate, 1 - rate)
    # END SOLUTION


# %% tags=["check"]
baseline = majority_baseline(y_test.numpy())
print(f"always the majority label: {baseline:.1%}")
assert 0.5 <= baseline < 0.6 and accuracy["one-directional"] < baseline + 0.1 < accuracy["bidirectional"]


# %% tags=["solution"]
def concat_size(hidden: int) -> int:
    # BEGIN SOLUTION
    return 2 * hidden
    # END SOLUTION


# %% tags=["check"]
assert nn.RNN(3, 5, bidirectional=True)(story.float())[0].shape == (6, 1, concat_size(5))
