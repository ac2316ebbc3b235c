# %% [markdown]
# # Lesson 1 — Sequences and the five problem types
#
# **What this lesson teaches.** A recurrent network reads a sequence one element at a time,
# keeping a hidden state, and the lectures sort the problems it solves into five types by how many
# inputs (`T_x`) and outputs (`T_y`) there are. Here each type gets a tiny model built from
# `Tensor` ops, the picture of its unrolled graph, and a check of how many inputs, outputs and
# losses it has. Then the same shapes from the `nn` layers.
#
# **Notation, lectures and library side by side.**
#
# | lectures | meaning | this library |
# |---|---|---|
# | `x<t>`, `x_t` | input at step t | `x[t]` (time-major: `(T, batch, features)`) |
# | `a<t>` (lecture 002), `h_t` (003, 004), `o_t` (001), `H_t` (000) | hidden state after step t | `h`, the layers' `output[t]` |
# | `y<t>`, `ŷ` | output at step t | the head's output |
# | `w_xh`, `W_xh = U` | input-to-hidden weight | `W_ih` (`nn.RNN.weight_ih_l0`, stored transposed: `x @ W_ih.T`) |
# | `w_hh`, `W_hh = V` | hidden-to-hidden (recurrent) weight | `W_hh` (`weight_hh_l0`) |
# | `w_hy`, `W_hy = W` | hidden-to-output weight | `nn.Linear`'s `weight` |
#
# The types (lectures 002 and 004):
#
# | type | `T_x`, `T_y` | lectures' example |
# |---|---|---|
# | one-to-one | `T_x = T_y = 1` | a traditional neural network |
# | one-to-many | `T_x = 1, T_y > 1` | music generation, image to text |
# | many-to-one | `T_x > 1, T_y = 1` | sentiment classification |
# | many-to-many | `T_x = T_y` | named entity recognition |
# | many-to-many | `T_x != T_y` | machine translation: "I love dogs" -> "Me encantan los perros" |

# %%
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import draw_graph

tg.manual_seed(0)
rng = np.random.default_rng(0)
FEATURES, HIDDEN, OUT = 3, 4, 2

# The weights of lecture 003's h_t = f(W_hh h_{t-1} + W_xh x_t), y_t = W_hy h_t, shared by all steps.
W_xh = tg.Tensor(rng.standard_normal((FEATURES, HIDDEN)) * 0.5, requires_grad=True, name="W_xh")
W_hh = tg.Tensor(rng.standard_normal((HIDDEN, HIDDEN)) * 0.5, requires_grad=True, name="W_hh")
W_hy = tg.Tensor(rng.standard_normal((HIDDEN, OUT)) * 0.5, requires_grad=True, name="W_hy")

# %% [markdown]
# ## One step of the recurrence, and the five ways to unroll it
#
# `step` is the vanilla RNN cell of lecture 004 (`x_t`, `h_{t-1}` in; `tanh`; `h_t` out). An
# unrolled model calls it once per input; where the model has no input at a step (one-to-many,
# the decoder of a translation model) it feeds back its previous output instead, as a music
# generator plays the note it just chose. Each output gets its own squared loss, and the model's
# loss is their sum, `L = sum_t L(ŷ<t>, y<t>)` (lecture 004).

# %%
W_yx = tg.Tensor(rng.standard_normal((OUT, FEATURES)) * 0.5, requires_grad=True, name="W_yx")  # output fed back


def step(x_t: tg.Tensor, h: tg.Tensor, t: int) -> tg.Tensor:
    """h_t = tanh(x_t W_xh + h_{t-1} W_hh), recorded in scope t=<t>."""
    with tg.scope(f"t={t}"):
        return (x_t @ W_xh + h @ W_hh).tanh()


def unroll(Tx: int, Ty: int, encoder_decoder: bool = False) -> dict:
    """A model reading Tx inputs and writing Ty outputs, with one loss per output."""
    inputs = [tg.Tensor(rng.standard_normal((1, FEATURES)), name=f"x<{t + 1}>") for t in range(Tx)]
    h, outputs, t = tg.zeros(1, HIDDEN, dtype="float64"), [], 0
    for x_t in inputs:  # read the inputs
        h = step(x_t, h, t)
        t += 1
        if not encoder_decoder and Tx == Ty:
            outputs.append(h @ W_hy)  # many-to-many (T_x = T_y): an output at every step
    if Tx != Ty or encoder_decoder:  # write the outputs: the first from the last state ...
        outputs.append(h @ W_hy)
        while len(outputs) < Ty:  # ... the next ones from the previous output, fed back
            h = step(outputs[-1] @ W_yx, h, t)
            t += 1
            outputs.append(h @ W_hy)
    targets = [tg.Tensor(rng.standard_normal((1, OUT))) for _ in outputs]
    losses = [((y - target) ** 2).sum() for y, target in zip(outputs, targets)]
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    return {"inputs": inputs, "outputs": outputs, "losses": losses, "loss": total}


models = {
    "one-to-one": unroll(1, 1),
    "one-to-many (music generation)": unroll(1, 4),
    "many-to-one (sentiment)": unroll(4, 1),
    "many-to-many, T_x = T_y (named entities)": unroll(4, 4),
    "many-to-many, T_x != T_y (translation: 3 words -> 4)": unroll(3, 4, encoder_decoder=True),
}
for name, model in models.items():
    print(f"{name:55s} inputs {len(model['inputs'])}, outputs {len(model['outputs'])}, losses {len(model['losses'])}")

# %% [markdown]
# **Checked:** the number of inputs, outputs and losses of each type, and that the recorded graph
# behind each loss really reads every input (walking the graph finds exactly the `x<t>` leaves).

# %%
expected = {  # (T_x, T_y): the lectures' table
    "one-to-one": (1, 1),
    "one-to-many (music generation)": (1, 4),
    "many-to-one (sentiment)": (4, 1),
    "many-to-many, T_x = T_y (named entities)": (4, 4),
    "many-to-many, T_x != T_y (translation: 3 words -> 4)": (3, 4),
}
for name, (Tx, Ty) in expected.items():
    model = models[name]
    assert len(model["inputs"]) == Tx and len(model["outputs"]) == Ty and len(model["losses"]) == Ty, name
    leaves_read = [node.name for node in tg.walk(model["loss"]) if (node.name or "").startswith("x<")]
    assert sorted(leaves_read) == sorted(x.name for x in model["inputs"]), (name, leaves_read)

# %% [markdown]
# ## The unrolled graphs
#
# Time runs left to right, one box per step; the green parameter boxes are drawn once and branch
# into every step that uses them (weight sharing). Compare the shapes: one-to-many has one grey
# input box and four losses; many-to-one has four inputs and one loss.

# %%
draw_graph(models["one-to-many (music generation)"]["loss"], detail="step")

# %%
draw_graph(models["many-to-one (sentiment)"]["loss"], detail="step")

# %%
draw_graph(models["many-to-many, T_x != T_y (translation: 3 words -> 4)"]["loss"], detail="step")

# %% [markdown]
# ## The same shapes from the `nn` layers
#
# `nn.RNN` runs the recurrence over a whole `(T, batch, features)` tensor and returns every hidden
# state (`output`, shape `(T, batch, hidden)`) and the last one (`h_n`). Many-to-many puts a head on
# `output`; many-to-one on `h_n`; one-to-many feeds a one-step input and then its own outputs back.

# %%
rnn, head = nn.RNN(FEATURES, HIDDEN), nn.Linear(HIDDEN, OUT)
x = tg.randn(4, 2, FEATURES)  # T_x = 4 steps, a batch of 2 sequences
output, h_n = rnn(x)
many_to_many, many_to_one = head(output), head(h_n[0])
print("many-to-many:", many_to_many.shape, " many-to-one:", many_to_one.shape)
assert many_to_many.shape == (4, 2, OUT) and many_to_one.shape == (2, OUT)
assert np.allclose(output.numpy()[-1], h_n.numpy()[0])  # the last output is the final state

# %% [markdown]
# ## Exercises
#
# 1. Write `types_of(Tx, Ty)`, which names the lectures' type of a problem with `Tx` inputs and
#    `Ty` outputs (`"one-to-one"`, `"one-to-many"`, `"many-to-one"`, `"many-to-many"`).
# 2. Count the uses of the recurrent weight: in a model that runs the cell `n` times, the
#    weight's gradient is a sum of `n` terms (one per use). Write `uses_of_W_hh(model)`, which counts
#    the ops in the model's graph that take `W_hh` as an input.
# 3. (Discussion) Image to text is one-to-many: what is the one input, and what does the model feed
#    itself at the later steps?


# %% tags=["solution"]
def types_of(Tx: int, Ty: int) -> str:
    # BEGIN SOLUTION
    if Tx == 1:
        return "one-to-one" if Ty == 1 else "one-to-many"
    return "many-to-one" if Ty == 1 else "many-to-many"
    # END SOLUTION


# %% tags=["check"]
assert [types_of(*shape) for shape in [(1, 1), (1, 4), (4, 1), (4, 4), (3, 4)]] == [
    "one-to-one",
    "one-to-many",
    "many-to-one",
    "many-to-many",
    "many-to-many",
]


# %% tags=["solution"]
def uses_of_W_hh(model: dict) -> int:
    # BEGIN SOLUTION
    return sum(any(parent is W_hh for parent in node.inputs) for node in tg.walk(model["loss"]))
    # END SOLUTION


# %% tags=["check"]
assert uses_of_W_hh(models["many-to-one (sentiment)"]) == 4
assert uses_of_W_hh(models["one-to-many (music generation)"]) == 4  # 1 input step + 3 fed-back steps
assert uses_of_W_hh(models["many-to-many, T_x != T_y (translation: 3 words -> 4)"]) == 6
