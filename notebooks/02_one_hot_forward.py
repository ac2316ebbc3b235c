# %% [markdown]
# # Lesson 2 — Forward propagation with one-hot words
#
# **What this lesson teaches.** How words become the inputs of an RNN (one-hot vectors, an input of
# shape `(time steps, features)`), the unrolled forward pass of lecture 001,
#
# `o_t = f(x_t w_i + o_{t-1} w_h)`,  `ŷ = sigmoid(o_3 w_o)`,  `L = -y log ŷ - (1 - y) log(1 - ŷ)`,
#
# every value printed and checked against a plain NumPy loop, and one step of gradient descent
# `w <- w - η dL/dw` on the `cat mat rat` reviews. First with `Tensor` ops, then with `nn.RNN`.
#
# **Notation.** Lecture 001 writes the hidden state `o_t` (the output of the hidden layer at step
# t; lesson 1's `h_t`, `a<t>`), the input weight `w_i` (`W_xh`; `nn.RNN.weight_ih_l0` is its
# transpose), the recurrent weight `w_h` (`W_hh`; `weight_hh_l0` transposed), the output weight
# `w_o` (`W_hy`) and `f = tanh`.

# %%
import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn, optim
from tinygrad_rnn.viz import draw_graph

# %% [markdown]
# ## One-hot words
#
# The vocabulary of lecture 001's reviews is `movie was good bad not`: five unique words, so each
# word is a vector of five numbers, all 0 but one 1.

# %%
vocabulary = "movie was good bad not".split()


def one_hot(sentence: str, vocabulary: list[str]) -> np.ndarray:
    """(time steps, features): row t is the one-hot vector of word t."""
    return np.eye(len(vocabulary))[[vocabulary.index(word) for word in sentence.split()]]


for word in vocabulary:
    print(f"{word:6s}", one_hot(word, vocabulary)[0].astype(int))
reviews = {"movie was good": 1, "movie was bad": 0, "movie was not good": 0}
for review, sentiment in reviews.items():
    print(f"{review!r:22} -> shape {one_hot(review, vocabulary).shape}, sentiment {sentiment}")
assert (one_hot("movie was good bad not", vocabulary) == np.eye(5)).all()
assert one_hot("movie was not good", vocabulary).shape == (4, 5)  # 4 time steps, 5 features

# %% [markdown]
# ## The `cat mat rat` example
#
# Three reviews of three words each, over the vocabulary `cat mat rat` (lecture 001's BPTT
# example). The notes write the labels 1, 2, 0; a binary cross-entropy needs labels 0 or 1, so the
# second review's label is read here as 1.

# %%
vocab = ["cat", "mat", "rat"]
texts, labels = ["cat mat rat", "rat rat mat", "mat mat cat"], np.array([1.0, 1.0, 0.0])
X = np.stack([one_hot(text, vocab) for text in texts])  # (review, step, feature)
print(X.astype(int))
assert (X[0] == np.eye(3)).all()  # cat = 100, mat = 010, rat = 001: review 1 is the identity matrix
assert (X[1] == [[0, 0, 1], [0, 0, 1], [0, 1, 0]]).all()

# %% [markdown]
# ## The forward pass with `Tensor` ops
#
# Small fixed weights (a hidden layer of 2 units), the initial state `o_0 = 0` ("set of initial
# zeros"), and the recurrence unrolled over the three words of the first review. Every node is
# recorded, so the graph can be drawn and differentiated.

# %%
HIDDEN = 2
rng = np.random.default_rng(2)
w_i0, w_h0, w_o0 = (
    rng.uniform(-1, 1, (3, HIDDEN)),
    rng.uniform(-1, 1, (HIDDEN, HIDDEN)),
    rng.uniform(-1, 1, (HIDDEN, 1)),
)
w_i = tg.Tensor(w_i0, requires_grad=True, name="w_i")
w_h = tg.Tensor(w_h0, requires_grad=True, name="w_h")
w_o = tg.Tensor(w_o0, requires_grad=True, name="w_o")


def forward(x: np.ndarray, y: float) -> tuple[list[tg.Tensor], tg.Tensor, tg.Tensor]:
    """o_1..o_3, ŷ and L for one review x (steps, features) with label y."""
    o, states = tg.zeros(1, HIDDEN, dtype="float64", name="o_0"), []
    for t in range(len(x)):
        with tg.scope(f"t={t + 1}"):
            o = (tg.Tensor(x[t : t + 1], name=f"x_{t + 1}") @ w_i + o @ w_h).tanh()  # o_t = f(x_t w_i + o_{t-1} w_h)
        states.append(o)
    y_hat = (o @ w_o).sigmoid()  # ŷ = sigmoid(o_3 w_o)
    loss = F.binary_cross_entropy(y_hat.reshape(1), tg.Tensor([y], dtype="float64"))  # L = -y log ŷ - (1-y) log(1-ŷ)
    return states, y_hat, loss


states, y_hat, loss = forward(X[0], labels[0])
for t, o in enumerate(states, start=1):
    print(f"o_{t} = {o.numpy().round(6)}")
print(f"ŷ = {y_hat.item():.6f},  L = {loss.item():.6f}")

# %% [markdown]
# **Checked against a plain NumPy loop** — the same equations, no library:

# %%
o_np = np.zeros((1, HIDDEN))
for t in range(3):
    o_np = np.tanh(X[0][t : t + 1] @ w_i0 + o_np @ w_h0)
    assert np.allclose(states[t].numpy(), o_np, rtol=1e-12), t
y_np = 1 / (1 + np.exp(-(o_np @ w_o0)))
L_np = -labels[0] * np.log(y_np) - (1 - labels[0]) * np.log(1 - y_np)
assert np.isclose(y_hat.item(), y_np.item(), rtol=1e-12) and np.isclose(loss.item(), L_np.item(), rtol=1e-12)
print("every value agrees with NumPy")

# %%
draw_graph(loss, show_values=True)

# %% [markdown]
# ## One step of gradient descent on all three reviews
#
# `L` depends on `w_o` through `ŷ` only, on `w_i` and `w_h` through every `o_t` (that is lesson 4's
# sum over steps). `backward()` computes all three gradients; the update `w <- w - η dL/dw` lowers
# the mean loss over the three reviews.


# %%
def mean_loss() -> tg.Tensor:
    losses = [forward(x, y)[2] for x, y in zip(X, labels)]
    return sum(losses[1:], losses[0]) / len(losses)


eta = 0.5
before = mean_loss()
before.backward()
by_hand = [w.numpy() - eta * w.grad.numpy() for w in (w_i, w_h, w_o)]  # w <- w - η dL/dw
optim.SGD([w_i, w_h, w_o], lr=eta).step()  # the library's SGD does exactly that
assert all(np.allclose(w.numpy(), new, rtol=1e-12) for w, new in zip((w_i, w_h, w_o), by_hand))
after = mean_loss()
print(f"mean L before {before.item():.6f}, after one step {after.item():.6f}")
assert after.item() < before.item()

# %% [markdown]
# ## The same with `nn.RNN`
#
# `nn.RNN(3, 2, bias=False)` holds `weight_ih_l0 = w_iᵀ` and `weight_hh_l0 = w_hᵀ` (PyTorch's layout,
# `x @ W_ih.T`) and runs all three reviews at once: input `(time steps, batch, features)`.

# %%
rnn = nn.RNN(3, HIDDEN, bias=False).double()
rnn.load_state_dict({"weight_ih_l0": w_i.numpy().T, "weight_hh_l0": w_h.numpy().T})
output, h_n = rnn(tg.Tensor(X.transpose(1, 0, 2)))  # (3 steps, 3 reviews, 3 features)
y_hats = (h_n[0] @ w_o).sigmoid()
for k, text in enumerate(texts):
    own = forward(X[k], labels[k])[1].item()
    print(f"{text!r}: ŷ = {y_hats.numpy()[k, 0]:.6f} (Tensor ops: {own:.6f})")
    assert np.isclose(y_hats.numpy()[k, 0], own, rtol=1e-12)

# %% [markdown]
# ## Exercises
#
# 1. Write `bce(y, y_hat)` in NumPy, the lecture's binary cross-entropy, and check it on the three
#    reviews against `F.binary_cross_entropy`.
# 2. Write `encode(sentence)` for the vocabulary `movie was good bad not` that returns the
#    `(time steps, features)` matrix of a review, and run `nn.RNN(5, 2)` over "movie was not good".


# %% tags=["solution"]
def bce(y: float, y_hat: float) -> float:
    # BEGIN SOLUTION
    return float(-y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat))
    # END SOLUTION


# %% tags=["check"]
for k in range(3):
    expected = F.binary_cross_entropy(y_hats[k], tg.Tensor([labels[k]], dtype="float64")).item()
    assert np.isclose(bce(labels[k], y_hats.numpy()[k, 0]), expected, rtol=1e-10)


# %% tags=["solution"]
def encode(sentence: str) -> np.ndarray:
    # BEGIN SOLUTION
    return one_hot(sentence, vocabulary)
    # END SOLUTION


# %% tags=["check"]
encoded = encode("movie was not good")
assert encoded.shape == (4, 5) and (encoded.sum(axis=1) == 1).all() and encoded[2, 4] == 1
output, _ = nn.RNN(5, 2).double()(tg.Tensor(encoded[:, None, :]))
assert output.shape == (4, 1, 2)
