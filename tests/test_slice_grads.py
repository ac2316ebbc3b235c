"""The gradients that reach one tensor through slices of it (autograd.SliceGrads): joined in one
stack or concat when they tile an axis, added into zeros otherwise: the same numbers either way."""

import enum

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, autograd
from tinygrad_rnn.shape_rules import slice_extent

SHAPE = (4, 6)
E = Ellipsis

# keys a user writes, over a (4, 6) tensor: rows, negative rows, blocks of rows or columns, steps,
# ``...``, None, two narrowed axes, the whole tensor
KEYS = [
    (0,), (1,), (2,), (3,), (-1,), (slice(0, 2),), (slice(2, 4),), (slice(1, 3),), (slice(None, None, 2),),
    (E, slice(0, 3)), (E, slice(3, 6)), (slice(None), slice(2, 4)), (slice(None), 5), (E, 0),
    (None, 1), (0, 1), (slice(0, 2), slice(0, 3)), (E,), (slice(None),),
]  # fmt: skip


def loss_of(x: Tensor, keys: list, weights: list) -> Tensor:
    """sum_i sum(w_i * x[key_i]): each slice reaches x with its own gradient w_i."""
    loss = 0.0
    for key, w in zip(keys, weights):
        loss = loss + (x[key] * Tensor(w)).sum()
    return loss


def reference(keys: list, weights: list) -> np.ndarray:
    """dL/dx written out: each slice's gradient added into zeros."""
    grad = np.zeros(SHAPE)
    for key, w in zip(keys, weights):
        view = grad[key]
        grad[key] = view + w.reshape(view.shape)
    return grad


def weights_for(keys: list, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.zeros(SHAPE)[key].shape) for key in keys]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(range(len(KEYS))), min_size=1, max_size=8), st.integers(0, 2**16))
def test_any_mix_of_slices_gives_the_summed_gradient(picks, seed):
    keys = [KEYS[i] for i in picks]
    weights = weights_for(keys, seed)
    x = Tensor(np.zeros(SHAPE), requires_grad=True)
    loss_of(x, keys, weights).backward()
    np.testing.assert_allclose(x.grad.numpy(), reference(keys, weights), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "keys, joined",
    [
        ([(3,), (0,), (2,), (1,)], "stack"),  # every row once, in any order (the T steps of a sequence)
        ([(E, slice(3, 6)), (E, slice(0, 3))], "concat"),  # column blocks (an LSTM's gate blocks)
        ([(slice(2, 4),), (slice(0, 2),)], "concat"),
        ([(E,)], "concat"),  # the whole tensor, as one piece
        ([(0,), (1,), (2,)], None),  # a row left out
        ([(slice(0, 2),), (slice(1, 4),)], None),  # overlapping: row 1 twice
        ([(0,), (1,), (slice(2, 4),)], None),  # integers and slices mixed
        ([(slice(None, None, 2),), (slice(1, None, 2),)], None),  # strided
        ([(slice(0, 2),), (E, slice(0, 6))], None),  # along two axes
    ],
)
def test_slices_that_tile_an_axis_are_joined_in_one_call(keys, joined, monkeypatch):
    """The tiling case makes ONE stack/concat and no buffer of zeros; every other case adds into zeros."""
    weights = weights_for(keys, 0)
    x = Tensor(np.zeros(SHAPE), requires_grad=True)
    calls, xp = [], x._backend.xp  # the engine's namespace (NumPy's functions, see backend.numpy_namespace)
    for name in ("stack", "concat", "zeros"):
        original = getattr(xp, name)
        monkeypatch.setattr(xp, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    loss = loss_of(x, keys, weights)
    calls.clear()
    loss.backward()
    assert calls == ([joined] if joined else ["zeros"])
    np.testing.assert_allclose(x.grad.numpy(), reference(keys, weights), rtol=1e-12, atol=1e-12)


def test_the_joined_gradient_shares_memory_with_no_upstream_gradient():
    x = Tensor(np.zeros(SHAPE), requires_grad=True)
    seeds = [Tensor(np.ones(6)), Tensor(np.ones(6) * 2), Tensor(np.ones(6) * 3), Tensor(np.ones(6) * 4)]
    ys = [x[t] * s for t, s in enumerate(seeds)]
    for y in ys:
        y.retain_grad()
    tg.stack(ys).sum().backward()
    for y in ys:
        assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(1, 5.0)[:, None] * np.ones(SHAPE))


def test_a_slice_read_many_times_is_folded_into_one_buffer(monkeypatch):
    """x[0] read 50 times holds no more than x's size in waiting pieces: they become an array."""
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    loss = sum((x[0] * float(i)).sum() for i in range(50))
    held = []
    original_add = autograd.SliceGrads.add
    monkeypatch.setattr(autograd.SliceGrads, "add", lambda self, p: held.append(self.size) or original_add(self, p))
    loss.backward()
    assert max(held) <= x.numpy().size
    np.testing.assert_allclose(x.grad.numpy(), [[sum(range(50))] * 3, [0, 0, 0]])


def test_slices_meeting_a_dense_gradient_and_weight_terms():
    """x is sliced per step, multiplied as a weight and used whole: the three kinds of gradient add up."""
    rng = np.random.default_rng(1)
    X, A = rng.standard_normal((3, 3)), rng.standard_normal((2, 3))
    x = Tensor(X, requires_grad=True)
    loss = (x[0] * 2).sum() + (Tensor(A) @ x).sum() + (x[1] * 3).sum() + (x * x).sum() + (x[2] * 5).sum()
    loss.backward()
    expected = np.array([[2.0] * 3, [3.0] * 3, [5.0] * 3]) + A.sum(axis=0)[:, None] + 2 * X
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_observers_see_each_slice_as_a_dense_gradient():
    x = Tensor(np.zeros((2, 2)), requires_grad=True)
    loss = (x[0] * 2).sum() + (x[1] * 3).sum()
    seen = []
    autograd.backward(loss, np.array(1.0), on_edge=lambda op, parent, g: parent is x and seen.append(g))
    assert [g.tolist() for g in seen] in ([[[0, 0], [3, 3]], [[2, 2], [0, 0]]], [[[2, 2], [0, 0]], [[0, 0], [3, 3]]])
    np.testing.assert_array_equal(x.grad.numpy(), [[2, 2], [3, 3]])


@pytest.mark.parametrize(
    "key, shape, span",
    [
        ((-1, E), (5, 2), (0, 4, 5, True)),
        ((E, -2), (3, 4), (1, 2, 3, True)),
        ((slice(None), slice(-3, None), E), (2, 5), (1, 2, 5, False)),
        ((slice(3, 1), E), (5,), None),  # backwards: not a span
        ((slice(2, 2), E), (5,), (0, 2, 2, False)),  # empty
        ((slice(0, 0), E), (0, 3), (0, 0, 0, False)),  # a size-0 axis
        ((E,), (), None),  # a 0-d tensor has no axis
        ((slice(None), slice(None), 1), (2, 3, 4), (2, 1, 2, True)),
        ((True, E), (4, 6), None),  # a bool inserts an axis: not a slice of x
        ((slice(None), False), (4, 6), None),
    ],
)
def test_slice_extent(key, shape, span):
    assert slice_extent(key, shape) == span


class Row(enum.IntEnum):
    FIRST = 1


@pytest.mark.parametrize("key", [True, (None, True), Row.FIRST, (slice(None), np.int64(2))])
def test_keys_of_other_index_types_take_the_buffer_of_zeros(key):
    """bools, int subclasses and NumPy integers are not ints of a basic key: added into zeros."""
    x = Tensor(np.arange(24.0).reshape(4, 6), requires_grad=True)
    (x[key] * 2).sum().backward()
    expected = np.zeros((4, 6))
    view = expected[key]
    expected[key] = view + 2
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_a_seed_of_another_shape_is_refused():
    """The engine never broadcasts the seed: slices would join to the wrong shape, and no error."""
    x = Tensor(np.ones((1, 6)), requires_grad=True)
    with pytest.raises(ValueError, match=r"seed gradient has shape \(\) but the tensor has shape \(6,\)"):
        autograd.backward(x[0], np.array(1.0))
    assert x.grad is None
