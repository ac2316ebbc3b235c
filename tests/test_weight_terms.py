"""A shared weight's gradient summed as one product (autograd.WeightTerms), and the contiguous
transposes of one backward pass (autograd.transposed): the same numbers as the per-step sums."""

import threading

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Tensor, autograd


def recurrent_loss(W: Tensor, U: Tensor, xs: list, extra=None) -> Tensor:
    """h_t = tanh(x_t @ U + h_{t-1} @ W): W and U are used at every step (matmul), plus ``extra``."""
    h = tg.zeros(xs[0].shape[0], W.shape[0], dtype="float64")
    loss = 0.0
    for x in xs:
        h = (x @ U + h @ W).tanh()
        loss = loss + (h * h).sum()
    return loss if extra is None else loss + extra


def numpy_reference(W: np.ndarray, U: np.ndarray, xs: list) -> tuple[np.ndarray, np.ndarray]:
    """dL/dW and dL/dU of recurrent_loss by hand-written BPTT, summed step by step."""
    hs = [np.zeros((xs[0].shape[0], W.shape[0]))]
    for x in xs:
        hs.append(np.tanh(x @ U + hs[-1] @ W))
    dW, dU, dh = np.zeros_like(W), np.zeros_like(U), np.zeros_like(hs[0])
    for t in range(len(xs), 0, -1):
        dz = (dh + 2 * hs[t]) * (1 - hs[t] ** 2)
        dW += hs[t - 1].T @ dz
        dU += xs[t - 1].T @ dz
        dh = dz @ W.T
    return dW, dU


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    W, U = rng.standard_normal((5, 5)) * 0.4, rng.standard_normal((3, 5)) * 0.4
    xs = [rng.standard_normal((4, 3)) for _ in range(7)]
    return W, U, xs


def check_both_weights(W: np.ndarray, U: np.ndarray, xs: list) -> None:
    w, u = Tensor(W, requires_grad=True), Tensor(U, requires_grad=True)
    recurrent_loss(w, u, [Tensor(x) for x in xs]).backward()
    dW, dU = numpy_reference(W, U, xs)
    np.testing.assert_allclose(w.grad.numpy(), dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(u.grad.numpy(), dU, rtol=1e-12, atol=1e-12)


def test_shared_weights_match_step_by_step_bptt(problem):
    check_both_weights(*problem)


def test_a_weight_given_as_a_transposed_view_gets_the_right_gradient(problem):
    """transposed() copies W^T when W itself is a view: the copy must hold W^T, not W."""
    W, U, xs = problem
    w = Tensor(np.ascontiguousarray(W.T).T, requires_grad=True)  # an F-ordered array, same values
    u = Tensor(U, requires_grad=True)
    recurrent_loss(w, u, [Tensor(x) for x in xs]).backward()
    np.testing.assert_allclose(w.grad.numpy(), numpy_reference(W, U, xs)[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("form", ["dense", "sparse"])
@pytest.mark.parametrize("first", [True, False])
def test_terms_meeting_a_gradient_of_another_form(problem, form, first):
    """W also used outside a matmul (a penalty, or an index): both orders of arrival give the sum."""
    W, U, xs = problem
    w, u = Tensor(W, requires_grad=True), Tensor(U, requires_grad=True)
    penalty = (lambda: (w * w).sum()) if form == "dense" else (lambda: (w[1] * 3.0).sum())
    if first:  # the penalty is recorded first, so its gradient reaches W last
        loss = penalty() + recurrent_loss(w, u, [Tensor(x) for x in xs])
    else:
        loss = recurrent_loss(w, u, [Tensor(x) for x in xs], extra=penalty())
    loss.backward()
    expected = numpy_reference(W, U, xs)[0]
    if form == "dense":
        expected = expected + 2 * W
    else:
        expected = expected.copy()
        expected[1] += 3.0
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_more_terms_than_the_limit(problem, monkeypatch):
    """Past WeightTerms.LIMIT waiting terms are stacked early (bounded memory): the same sum."""
    monkeypatch.setattr(autograd.WeightTerms, "LIMIT", 2)
    check_both_weights(*problem)


def test_linear_weight_shared_over_steps_matches_torch_layout():
    """F.linear's weight (out, in) gets sum_t g_t^T x_t from its T terms, as written out by hand."""
    rng = np.random.default_rng(1)
    W = rng.standard_normal((6, 4))
    xs = [rng.standard_normal((3, 4)) for _ in range(5)]
    w = Tensor(W, requires_grad=True)
    loss = sum(((F.linear(Tensor(x), w)) ** 2).sum() for x in xs)
    loss.backward()
    expected = sum((2 * (x @ W.T)).T @ x for x in xs)
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_each_edge_observer_sees_each_steps_term(problem):
    """bptt's on_edge hook still sees one dense term per step (not the joined factors)."""
    W, U, xs = problem
    w, u = Tensor(W, requires_grad=True), Tensor(U, requires_grad=True)
    loss = recurrent_loss(w, u, [Tensor(x) for x in xs])
    terms = []

    def on_edge(op, parent, grad):
        if parent is w:
            assert isinstance(grad, np.ndarray) and grad.shape == W.shape
            terms.append(grad)

    autograd.backward(loss, np.ones(()), retain_graph=True, on_edge=on_edge)
    assert len(terms) == len(xs)
    np.testing.assert_allclose(sum(terms), numpy_reference(W, U, xs)[0], rtol=1e-12, atol=1e-12)


def test_under_detect_anomaly_the_terms_are_checked(problem):
    W, U, xs = problem
    w, u = Tensor(W, requires_grad=True), Tensor(U, requires_grad=True)
    with tg.detect_anomaly():
        recurrent_loss(w, u, [Tensor(x) for x in xs]).backward()
    np.testing.assert_allclose(w.grad.numpy(), numpy_reference(W, U, xs)[0], rtol=1e-12, atol=1e-12)
    bad = Tensor(np.full((3, 5), np.nan))
    v = Tensor(W, requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError):
        (bad @ v).sum().backward()


def test_transposes_belong_to_one_pass_and_one_thread():
    """transposed() copies only inside a backward pass, and each thread's pass keeps its own."""
    a = np.arange(6.0).reshape(2, 3)
    assert not autograd.transposed(a).flags.c_contiguous and not autograd.transposed(a).flags.c_contiguous
    results, errors = [], []

    def train(seed):
        try:
            rng = np.random.default_rng(seed)
            W, U = rng.standard_normal((5, 5)) * 0.4, rng.standard_normal((3, 5)) * 0.4
            xs = [rng.standard_normal((4, 3)) for _ in range(6)]
            for _ in range(20):
                w, u = Tensor(W, requires_grad=True), Tensor(U, requires_grad=True)
                recurrent_loss(w, u, [Tensor(x) for x in xs]).backward()
                np.testing.assert_allclose(w.grad.numpy(), numpy_reference(W, U, xs)[0], rtol=1e-12, atol=1e-12)
            results.append(seed)
        except Exception as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=train, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sorted(results) == [0, 1, 2, 3]
    assert getattr(autograd._pass, "transposes", None) is None  # nothing left behind


def test_transposed_copies_only_inside_a_span_and_forgets_them_when_told():
    a = np.arange(12.0).reshape(3, 4)
    assert not autograd.transposed(a).flags.c_contiguous  # outside a span: the view
    with autograd.arrays_fixed():
        first, second = autograd.transposed(a), autograd.transposed(a)
        assert not first.flags.c_contiguous and second.flags.c_contiguous
        np.testing.assert_array_equal(second, a.T)
        with autograd.arrays_fixed():  # a nested span shares the outer one's copies
            assert autograd.transposed(a) is second
        assert autograd.transposed(a) is second  # the inner span's end keeps the outer's copies
        autograd.arrays_changed()  # e.g. an optimizer step updated ``a`` in place
        a += 1.0
        assert not autograd.transposed(a).flags.c_contiguous
        np.testing.assert_array_equal(autograd.transposed(a), a.T)  # the second use copies anew
    assert getattr(autograd._pass, "transposes", None) is None


class InPlaceSGD(tg.optim.Optimizer):
    """Plain SGD that updates each parameter's array in place (the same array object stays)."""

    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))

    def update(self, xp, param, grad, state, group):
        param -= group["lr"] * grad
        return param


def test_compiled_steps_with_an_in_place_update_see_the_new_weights():
    """Two updates inside one compiled call: the second forward must not reuse W^T from before the
    first update (the replay forgets its copies at each optimizer step)."""

    def make():
        tg.manual_seed(0)
        layer = tg.nn.RNN(3, 4, dtype="float64")
        opt = InPlaceSGD(list(layer.parameters()), lr=0.5)

        def step(x):
            for _ in range(2):
                opt.zero_grad()
                out, _ = layer(x)
                loss = (out * out).sum()
                loss.backward()
                opt.step()
            return loss

        return step, layer

    x = Tensor(np.random.default_rng(2).standard_normal((6, 2, 3)))
    eager, eager_layer = make()
    compiled, compiled_layer = make()
    compiled = tg.compile(compiled)
    for _ in range(4):
        want, got = eager(x), compiled(x)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    for p, q in zip(eager_layer.parameters(), compiled_layer.parameters()):
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-12, atol=1e-12)
