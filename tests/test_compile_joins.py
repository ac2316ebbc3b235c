"""Buffer planning in the array-level replay (compiler/joins.py): a join of arrays the step makes
becomes the buffer they are written into, and a join of all of one buffer's pieces, in order, a
view of it; wherever that could change a number (a write after the join, a piece that escapes),
the join stays a copy. Every case runs the written function on new inputs against plain NumPy."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tests.tracing import traced_run
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F


def check(body, *shapes, seed=0):
    """Trace ``body`` on random inputs, run the function on new ones: the same numbers as NumPy.
    Returns the function's source."""
    rng = np.random.default_rng(seed)
    traced_on = [rng.standard_normal(shape) for shape in shapes]
    _, run, why = traced_run(body, *traced_on)
    assert why is None, why
    new = [rng.standard_normal(shape) for shape in shapes]
    want = body(*[a.copy() for a in new])
    want = want if isinstance(want, tuple) else (want,)
    v = [*new, *[None] * len(want)]
    run(v, [], [], None, None)
    for got, expected in zip(v[len(new) :], want):
        np.testing.assert_array_equal(got, expected)
    return run.source


def test_a_join_of_new_arrays_becomes_the_buffer_they_are_written_into():
    def body(a, b):
        joined = np.concatenate([np.tanh(a), a * b, a + 1])  # three ufuncs' results, along axis 0
        stacked = np.stack([np.exp(b), b * 2])
        return joined.sum(axis=0), stacked.sum(axis=1)

    source = check(body, (2, 3), (2, 3))
    assert "concatenate" not in source and "stack" not in source
    assert source.count("empty(") == 2
    assert "tanh(r0, out=r" in source and "[0:2])" in source and "[4:6])" in source


def test_joins_of_joins_along_any_axis_become_parts_of_one_buffer():
    def body(a, b):  # an LSTM's dL/dz: four blocks side by side at each step, the steps stacked
        steps = [np.concatenate([a * t, np.tanh(b), b - t], axis=1) for t in range(3)]
        return np.stack(steps).sum(axis=(1, 2))

    source = check(body, (2, 3), (2, 4))
    assert "concatenate" not in source and "stack" not in source
    assert source.count("empty(") == 1 and "[:, 3:7])" in source
    assert all(f"[{t}]\n" in source for t in range(3))  # each step's block: a part of the stack


def test_a_join_of_all_of_a_buffers_pieces_in_order_is_a_view_of_it():
    def body(a, w):
        pieces = [np.tanh(a * t) for t in range(3)]
        stacked = np.stack(pieces)  # -> a buffer
        flat = np.concatenate(pieces)  # the same arrays, in the same order: the buffer reshaped
        backwards = np.concatenate(pieces[::-1])  # another order: a copy
        return stacked.sum(axis=0), flat @ w, backwards @ w

    source = check(body, (2, 3), (3, 2))
    assert ".reshape((6, 3))" in source
    assert source.count("concatenate(") == 1


def _piece_written_after(a, b):
    p, q = np.tanh(a), b * 2
    joined = np.concatenate([p, q])
    p += 1  # the join holds p as it was
    return joined.sum(axis=0) + p.sum()


def _view_of_piece_written_after(a, b):
    p, q = np.tanh(a), b * 2
    joined = np.concatenate([p, q])
    row = p.reshape(-1)
    row[0] = 7.0
    return joined.sum(axis=0) + p.sum()


def _join_written_after(a, b):
    p, q = np.tanh(a), b * 2
    joined = np.concatenate([p, q])
    joined[0] = 7.0  # p keeps its value
    return joined.sum(axis=0) + p.sum()


def _piece_returned(a, b):
    p, q = np.tanh(a), b * 2
    return np.concatenate([p, q]).sum(axis=0), p


def _piece_from_outside(a, b):
    return np.concatenate([a, b * 2]).sum(axis=0)  # a: an input of the step


def _piece_a_view(a, b):
    return np.concatenate([(b * 2)[0:1], b * 3]).sum(axis=0)


def _piece_twice(a, b):
    p = np.tanh(a)
    return np.concatenate([p, p]).sum(axis=0)


def _other_dtype(a, b):
    return np.concatenate([np.tanh(a), (b > 0) * 2]).sum(axis=0)  # int64 and float64: a cast


@pytest.mark.parametrize(
    "body",
    [_piece_written_after, _view_of_piece_written_after, _join_written_after, _piece_returned,
     _piece_from_outside, _piece_a_view, _piece_twice, _other_dtype],
)  # fmt: skip
def test_a_join_that_could_change_a_number_stays_a_copy(body):
    source = check(body, (2, 3), (2, 3))
    assert "concatenate(" in source and "empty(" not in source


def _joined_side_by_side_then_on_top(a, b, w):
    p, q = np.tanh(a), b * 2
    side = np.concatenate([p, q], axis=1)  # a buffer along axis 1: its pieces are columns
    on_top = np.concatenate([p, q])  # the same pieces along axis 0: not side reshaped (a copy)
    return side.sum(axis=0), on_top @ w


def _stacked_on_axis_1_then_on_top(a, b, w):
    p, q = np.tanh(a), b * 2
    return np.stack([p, q], axis=1).sum(axis=0), np.concatenate([p, q]) @ w


def _reshape_a_view_in_the_trace_written_before(a, b, w):
    p, q = np.tanh(a), b * 2
    row = p.reshape(-1)  # a view of p as the trace made it; of a strided part of a buffer, a copy
    row[0] = 7.0
    return np.concatenate([p, q], axis=1).sum(axis=0)


def _reshape_a_copy_in_the_trace_written_after(a, b, w):
    p, q = np.tanh(a.T), b * 2  # F-ordered as the trace made it; as a part of a buffer, C-ordered
    joined = np.concatenate([p, q])
    row = p.reshape(-1)  # a copy of the F-ordered p; of a C-ordered part, a view
    row[0] = 7.0
    return joined.sum(axis=0), row


def _join_laid_out_otherwise(a, b, w):
    joined = np.concatenate([np.tanh(a.T), np.exp(b.T)], axis=1)  # F-ordered pieces: an F-ordered join
    flat = joined.reshape(-1)  # a copy of it; of a C-ordered buffer, a view
    flat[0] = 7.0
    return joined.sum(axis=0), flat.sum()


def _written_through_a_positional_out(a, b, w):
    p, q = np.tanh(a), b * 2
    joined = np.concatenate([p, q])
    np.dot(a, b.T, p)  # p overwritten after the join: its result is p's memory
    return joined.sum(axis=0), p.sum()


@pytest.mark.parametrize(
    "body",
    [_joined_side_by_side_then_on_top, _stacked_on_axis_1_then_on_top, _reshape_a_view_in_the_trace_written_before,
     _reshape_a_copy_in_the_trace_written_after, _join_laid_out_otherwise, _written_through_a_positional_out],
)  # fmt: skip
def test_a_join_whose_pieces_would_alias_otherwise_than_in_the_trace_gives_numpys_numbers(body):
    """Found in review: joins along another axis, memory laid out otherwise than the trace saw it
    (a reshape is a view in one and a copy in the other), a write the trace saw as a call."""
    source = check(body, (3, 3), (3, 3), (3, 2))
    if body is _joined_side_by_side_then_on_top:
        assert ".reshape(" not in source


def test_an_in_place_method_the_trace_cannot_repeat_refuses_it():
    _, run, why = traced_run(lambda a: (a * 2).fill(0.0), np.ones(3))
    assert run is False and ".fill()" in why


def test_a_piece_in_two_joins_is_written_into_the_first():
    def body(a, b):
        p, q = np.tanh(a), b * 2
        first, second = np.concatenate([p, q]), np.concatenate([q, p], axis=1)
        return first.sum(axis=0), second.sum(axis=0)

    source = check(body, (2, 3), (2, 3))
    assert source.count("empty(") == 1 and source.count("concatenate(") == 1


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_compiled_layer_writes_its_states_and_gradients_into_buffers(kind):
    """The recurrent layers' joins (outputs, dL/dz, the recurrent weight's left factors) are buffers;
    the compiled step still trains exactly as the eager one."""

    def problem():
        tg.manual_seed(0)
        layer, head = getattr(nn, kind)(3, 4, dtype="float64"), nn.Linear(4, 5, dtype="float64")
        params = [*layer.parameters(), *head.parameters()]
        opt = tg.optim.SGD(params, lr=0.1)

        def step(x, y):
            opt.zero_grad()
            out, _ = layer(x)
            loss = F.cross_entropy(head(out.reshape(-1, 4)), y.reshape(-1))
            loss.backward()
            opt.step()
            return loss

        return step, params

    rng = np.random.default_rng(1)
    batches = [(tg.Tensor(rng.standard_normal((6, 2, 3))), tg.Tensor(rng.integers(0, 5, (6, 2)))) for _ in range(6)]
    (eager, eager_params), (compiled, compiled_params) = problem(), problem()
    run = tg.compile(compiled)
    for x, y in batches:
        assert run(x, y).item() == pytest.approx(eager(x, y).item(), rel=1e-12)
    for a, b in zip(compiled_params, eager_params):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)
    source = run.tape.array_calls()
    assert "empty(" in source
    if kind != "GRU":  # (the GRU's W_hh meets its gate gradients through r * ...: other arrays)
        assert ".reshape((12, " in source
