"""tinygrad_rnn.compile's array-level replay (compiler/trace.py): from the third call, a step on NumPy
runs as one function of NumPy calls. It computes what the op-level replay (and the eager step)
computes; what it cannot repeat stays op by op, and a value-dependent decision is asked again."""

import threading

import numpy as np
import pytest

import tinygrad_rnn as tg
from tests.tracing import traced_run
from tinygrad_rnn import nn
from tinygrad_rnn.compiler import trace
from tinygrad_rnn.nn import functional as F

STEPS = 8


def layer_problem(kind, optimizer, **options):
    """A layer with a head and cross-entropy at every step, trained by ``optimizer``."""
    tg.manual_seed(0)
    layer = getattr(nn, kind)(3, 4, dtype="float64", **options)
    head = nn.Linear(4 * (2 if options.get("bidirectional") else 1), 5, dtype="float64")
    params = [*layer.parameters(), *head.parameters()]
    opt = tg.optim.Adam(params, lr=0.02) if optimizer == "adam" else tg.optim.SGD(params, lr=0.1, momentum=0.9)
    scheduler = tg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    def step(x, y):
        opt.zero_grad()
        out, _ = layer(x)
        T, B, H = out.shape
        loss = F.cross_entropy(head(out.reshape(T * B, H)), y.reshape(T * B))
        loss.backward()
        opt.step()
        return loss, out

    return step, scheduler, params


def hand_loop_problem(optimizer):
    """The lectures' cell written by hand, a loss at every step."""
    rng = np.random.default_rng(0)
    W = {k: tg.Tensor(0.4 * rng.standard_normal(s), requires_grad=True) for k, s in
         {"xh": (3, 4), "hh": (4, 4), "hy": (4, 5), "b": (4,)}.items()}  # fmt: skip
    params = list(W.values())
    opt = tg.optim.Adam(params, lr=0.02) if optimizer == "adam" else tg.optim.SGD(params, lr=0.1, momentum=0.9)
    scheduler = tg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    def step(x, y):
        opt.zero_grad()
        h = tg.zeros(x.shape[1], 4, dtype="float64")
        loss = 0.0
        for t in range(x.shape[0]):
            h = (x[t] @ W["xh"] + h @ W["hh"] + W["b"]).tanh()
            loss = loss + F.cross_entropy(h @ W["hy"], y[t])
        loss = loss / x.shape[0]
        loss.backward()
        opt.step()
        return loss, h

    return step, scheduler, params


def data(steps=STEPS, seed=1):
    rng = np.random.default_rng(seed)
    return [(tg.Tensor(rng.standard_normal((5, 2, 3))), tg.Tensor(rng.integers(0, 5, (5, 2)))) for _ in range(steps)]


def train(make, compiled, batches):
    step, scheduler, params = make()
    run = tg.compile(step) if compiled else step
    outputs = []
    for x, y in batches:
        loss, last = run(x, y)
        outputs.append((loss.item(), last.numpy().copy(), [p.grad.numpy().copy() for p in params]))
        scheduler.step()
    return outputs, [p.numpy() for p in params], run


def assert_same(eager, compiled):
    for (loss_e, out_e, grads_e), (loss_c, out_c, grads_c) in zip(eager[0], compiled[0]):
        assert loss_c == pytest.approx(loss_e, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(out_c, out_e, rtol=1e-12, atol=1e-12)
        for a, b in zip(grads_c, grads_e):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(compiled[1], eager[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


CASES = [
    ("RNN", "sgd", {}),
    ("LSTM", "adam", {"num_layers": 2}),
    ("GRU", "sgd", {"bidirectional": True}),
    ("hand loop", "adam", {}),
    ("hand loop", "sgd", {}),
]


@pytest.mark.parametrize(("kind", "optimizer", "options"), CASES, ids=[f"{k}-{o}-{p}" for k, o, p in CASES])
def test_steps_replay_at_array_level_and_train_as_eagerly(kind, optimizer, options):
    """Layers and the hand-written loop, SGD with momentum and Adam with a scheduler (its lr and
    Adam's step count are read by the tape's own step entry): the array-level function runs from
    the third call on, and every loss, returned state, gradient and weight is the eager one."""

    def make():
        return hand_loop_problem(optimizer) if kind == "hand loop" else layer_problem(kind, optimizer, **options)

    batches = data()
    eager = train(make, False, batches)
    compiled = train(make, True, batches)
    assert_same(eager, compiled)
    tape = compiled[2].tape
    assert tape.traced, tape.why_not_traced
    assert compiled[2].captures == 1 and tape.replays == STEPS - 1
    assert "def run(" in tape.array_calls() and "del r" in tape.array_calls()  # values freed after their last use


def test_the_array_level_function_runs_no_op():
    """After the trace, a replay calls no op's forward or backward: only NumPy (and the tape's
    zero_grad, store and step entries)."""
    step, _, _ = hand_loop_problem("sgd")
    run = tg.compile(step)
    (x, y), *_ = data(1)
    for _ in range(3):
        run(x, y)
    calls = []
    forward, backward = tg.ops.unary.Tanh.forward, tg.ops.unary.Tanh.backward
    tg.ops.unary.Tanh.forward = lambda self, a: calls.append("forward") or forward(self, a)
    tg.ops.unary.Tanh.backward = lambda self, g: calls.append("backward") or backward(self, g)
    try:
        run(x, y)
    finally:
        tg.ops.unary.Tanh.forward, tg.ops.unary.Tanh.backward = forward, backward
    assert calls == []


def test_class_indices_are_checked_again_in_every_array_level_replay():
    """cross_entropy's check of its targets is a yes/no guard of the function: a bad index (or one
    to ignore) in a later call replays op by op, which raises the op's own error (or ignores it);
    good indices again run the function again."""
    w = tg.Tensor(np.linspace(-1, 1, 15).reshape(3, 5), requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.0)  # lr 0: w stays, so every call can be checked against one eager call

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(x @ w, y)
        loss.backward()
        return loss

    run = tg.compile(step)
    x = tg.Tensor(np.arange(6.0).reshape(2, 3) / 6)
    for y in ([0, 4], [1, 2], [3, 3]):
        run(x, tg.Tensor(y))
    assert run.tape.traced
    with pytest.raises(IndexError, match=r"cross_entropy: target of shape \(2,\) holds \[5\]"):
        run(x, tg.Tensor([5, 0]))
    with pytest.raises(IndexError, match="holds \\[-1\\]"):
        run(x, tg.Tensor([0, -1]))
    ignored = run(x, tg.Tensor([-100, 2])).item()
    assert ignored == pytest.approx(F.cross_entropy(x @ w, tg.Tensor([-100, 2])).item(), abs=1e-12)
    assert run.tape.traced and run.captures == 1  # still the same tape, still traced


def test_what_the_trace_cannot_repeat_replays_op_by_op(device):
    """Dropout (a random draw), a read of a value (an ignore_index that is a class), another array
    library: no array-level function; the op-level replay goes on (the tests of test_compile.py
    show it equals eager)."""
    tg.manual_seed(0)
    dropout = nn.Dropout(0.5)
    cases = {
        "dropout": (lambda x, y: dropout(x).sum(), "outside the traced namespace"),
        "ignore_index": (lambda x, y: F.cross_entropy(x, y, ignore_index=1), "int() read an array's value"),
    }
    for name, (fn, why) in cases.items():
        run = tg.compile(fn)
        x, y = tg.randn(4, 3, dtype="float64", device=device), tg.Tensor([0, 1, 2, 1], device=device)
        for _ in range(4):
            run(x, y)
        if device != "cpu":
            why = "not a NumPy array"
        assert run.tape.traced is False and why in run.tape.why_not_traced, name
        assert "no array-level replay" in run.tape.array_calls()


def test_the_graph_after_an_array_level_replay_holds_the_last_calls_values_and_saved_arrays():
    """``graph()`` refreshes the ops' saved arrays from the last call (the function does not keep
    them): a backward over it gives the last call's gradients, as eagerly."""
    step, _, params = hand_loop_problem("sgd")
    run = tg.compile(step)
    batches = data(5)
    for x, y in batches:
        run(x, y)
    assert run.tape.traced
    loss = run.graph()[0]
    before = [p.data.copy() for p in params]
    for p in params:
        p.grad = None
    # the weights the last call used: one SGD step before the ones now held. Recompute eagerly from them.
    eager_step, _, eager_params = hand_loop_problem("sgd")
    eager_run = eager_step
    for x, y in batches[:-1]:
        eager_run(x, y)
    eager_loss, _ = eager_step(*batches[-1])
    assert loss.item() == pytest.approx(eager_loss.item(), abs=1e-12)
    loss.backward(retain_graph=True)
    want = [p.grad.numpy() for p in eager_params]  # the last eager call's gradients
    for p, g, b in zip(params, want, before):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(p.data, b)  # a backward over the graph leaves the weights alone


def test_threads_replay_their_own_compiled_steps_at_array_level():
    """Tracing is per thread (the watched namespace belongs to one tape's replay): two threads train
    their own steps at once and each gets the numbers it gets alone."""
    batches = data()
    want = train(lambda: hand_loop_problem("adam"), True, batches)[1]
    results, errors = {}, []

    def worker(name):
        try:
            results[name] = train(lambda: hand_loop_problem("adam"), True, batches)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for outcome in results.values():
        assert outcome[2].tape.traced
        for a, b in zip(outcome[1], want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# --- the tracer itself ---------------------------------------------------------------------------------
def test_the_function_recomputes_from_new_inputs():
    xp = trace.TracingNamespace(tg.backend.numpy_namespace())

    def body(a, b):
        c = xp.tanh(a @ b) * 2.0 + 1
        c[0] += 5  # a view changed in place, written down too
        return xp.sum(c, axis=1)

    a, b = np.arange(6.0).reshape(2, 3) / 10, np.ones((3, 2))
    _, run, why = traced_run(body, a, b)
    assert why is None
    new_a = a + 1
    v = [new_a, b, None]
    run(v, [], [], None, None)
    want = np.tanh(new_a @ b) * 2.0 + 1
    want[0] += 5
    np.testing.assert_allclose(v[2], want.sum(axis=1))


def test_a_yes_no_decision_is_a_guard_and_other_reads_refuse_the_trace():
    def decides(a):
        return a * 2 if bool((a > 0).all()) else a

    _, run, why = traced_run(decides, np.ones(3))
    assert why is None
    run([np.full(3, 4.0), None], [], [], None, None)
    with pytest.raises(trace.GuardFailed):
        run([np.full(3, -1.0), None], [], [], None, None)
    _, run, why = traced_run(lambda a: a * int(a.sum()), np.ones(3))
    assert run is False and "int()" in why


def test_arrays_the_trace_did_not_make_are_refused_or_left_out():
    made_outside = np.ones(3)
    _, run, why = traced_run(lambda a: a + made_outside, np.ones(3))
    assert run is False and "outside the traced namespace" in why
    _, run, why = traced_run(lambda a: np.add(a, 1, out=made_outside), np.ones(3))
    assert run is False and "changed an array the trace did not make" in why
    _, run, why = traced_run(lambda a: np.multiply(a, 2, out=a), np.ones(3))  # an input: never changed
    assert run is False
    scratch = np.empty(6)  # a NumPy function's out= that is no array of the trace: a new array instead
    tracer, run, why = traced_run(lambda a: np.concatenate([a, a], out=scratch), np.arange(3.0))
    assert why is None
    v = [np.arange(3.0) + 10, None]
    run(v, [], [], None, None)
    np.testing.assert_array_equal(v[1], [10, 11, 12, 10, 11, 12])
    assert v[1] is not scratch


def test_a_traced_array_outside_a_trace_is_a_plain_array():
    traced = trace.Tracer().input(np.arange(3.0), 0)
    result = traced * 2
    assert type(result) is np.ndarray and result.tolist() == [0.0, 2.0, 4.0] and int(traced[1]) == 1


class PickLargest(tg.Function):
    """y = x.flat[argmax x] (a value read by ndarray.argmax, which the trace does not see)."""

    def forward(self, x):
        self.shape, flat = x.shape, x.reshape(-1)
        self.index = flat.argmax()
        return flat[self.index]

    def backward(self, grad):
        g = np.zeros(self.shape).reshape(-1)
        g[self.index] = grad
        return (g.reshape(self.shape),)


class CopyTwice(tg.Function):
    """y = 2 x written by np.copyto (an in-place function returning nothing)."""

    def forward(self, x):
        out = self.xp.zeros_like(x)
        self.xp.copyto(out, 2 * x)
        return out

    def backward(self, grad):
        return (2 * grad,)


@pytest.mark.parametrize("case", ["argmax", "copyto", "after step"])
def test_calls_the_trace_cannot_see_keep_the_op_level_replay(case):
    """A value read by an unwatched method, a function that changes an argument in place, an op on
    arrays only the tape's entries made (the weights after the step): refused, and equal to eager."""

    def make():
        w = tg.Tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True)
        opt = tg.optim.SGD([w], lr=0.3)

        def step(x):
            opt.zero_grad()
            y = {"argmax": lambda: PickLargest.apply(w * x), "copyto": lambda: CopyTwice.apply(w * x)}.get(
                case, lambda: (w * x).tanh()
            )()
            loss = (y * y).sum()
            loss.backward()
            opt.step()
            return loss, w * w  # w * w: on the updated weights

        return step

    rng = np.random.default_rng(0)
    xs = [tg.Tensor(rng.standard_normal((2, 3))) for _ in range(6)]
    eager, run = make(), tg.compile(make())
    for x in xs:
        (a, wa), (b, wb) = eager(x), run(x)
        assert b.item() == pytest.approx(a.item(), abs=1e-12)
        np.testing.assert_allclose(wb.numpy(), wa.numpy(), atol=1e-12)
    assert run.tape.traced is False


def test_a_retained_intermediate_gradient_is_each_calls_own():
    """retain_grad() on an intermediate: the returned tensor carries this call's gradient, and the
    graph's tensor the last call's, as eagerly (where every call's tensors are new), never a sum."""
    w = tg.Tensor(np.ones(3), requires_grad=True)

    def step(x):
        h = x * w
        h.retain_grad()
        loss = (h * h).sum()
        loss.backward()
        return loss, h

    run = tg.compile(step)
    for i in range(5):
        x = tg.Tensor(np.arange(3.0) + i)
        _, h = run(x)
        _, eager_h = step(x)
        np.testing.assert_array_equal(h.grad.numpy(), eager_h.grad.numpy())
    assert run.tape.traced
    np.testing.assert_array_equal(run.graph()[1].grad.numpy(), eager_h.grad.numpy())


@pytest.mark.parametrize("bad", [-1, 7])
def test_an_embedding_index_out_of_range_raises_in_every_replay(bad):
    """The lookup checks its indices in the op (not only in nn.functional, which runs at capture
    only): a negative index no longer wraps to the last row in a replay."""
    tg.manual_seed(0)
    emb = nn.Embedding(5, 2)
    opt = tg.optim.SGD(emb.parameters(), lr=0.1)

    def step(idx):
        opt.zero_grad()
        loss = emb(idx).sum()
        loss.backward()
        opt.step()
        return loss

    run = tg.compile(step)
    for calls in range(5):  # the op-level replay (call 2), then the array-level one (call 5)
        run(tg.Tensor(np.array([0, 1, 2])))
        if calls in (0, 3):
            with pytest.raises(IndexError, match=r"embedding: .* valid indices are 0 to 4"):
                run(tg.Tensor(np.array([0, bad, 2])))
    assert run.tape.traced


def _flat_written(a):
    p = np.tanh(a)
    p.flat[0] = 7.0
    return p * 1


def _taken_into(a):
    p = np.tanh(a)
    a.take([0, 1, 2], axis=0, out=p)
    return p * 1


def _dot_into(a):
    p, q = np.tanh(a), a * 2
    q.dot(q, p)
    return p * 1


def _reshaped_in_place(a):
    p = np.tanh(a)
    p.shape = (9,)
    return p * 1


@pytest.mark.parametrize("body", [_flat_written, _taken_into, _dot_into, _reshaped_in_place])
def test_an_array_changed_by_a_method_no_line_repeats_refuses_the_trace(body):
    """Found in review: writes NumPy makes without a ufunc or a function (``.flat``, a method's
    ``out=``, ``.shape =``) would be left out of the function silently."""
    _, run, why = traced_run(body, np.ones((3, 3)))
    assert run is False and any(what in why for what in ("changed an array in place", ".flat used", ".shape was set"))


def test_a_retained_gradient_cleared_between_two_backwards_is_cleared_in_every_replay():
    w = tg.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)

    def step(x, clear):
        h = x * w
        h.retain_grad()
        (h * h).sum().backward(retain_graph=True)
        if clear:
            h.grad = None  # the step's own zero_grad of h: repeated
        (h * 3).sum().backward()
        return h

    for clear in (True, False):
        run = tg.compile(lambda x, clear=clear: step(x, clear))
        for i in range(5):
            x = tg.Tensor(np.arange(3.0) + i)
            np.testing.assert_array_equal(run(x).grad.numpy(), step(x, clear).grad.numpy())
        assert run.tape.traced


def test_setting_a_gradient_the_step_made_to_a_value_fails_loudly():
    w = tg.Tensor(np.ones(3), requires_grad=True)

    def step(x):
        h = x * w
        h.retain_grad()
        h.sum().backward()
        h.grad = tg.zeros(3, dtype="float64")  # not repeated by a replay
        return h

    with pytest.raises(tg.compiler.CaptureError, match="the .grad of a tensor the step made was set"):
        tg.compile(step)(tg.Tensor(np.ones(3)))


def test_a_leaf_the_step_makes_has_each_calls_own_gradient():
    w = tg.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)

    def step(x):
        h0 = tg.zeros(3, dtype="float64", requires_grad=True)  # a new leaf at every call
        ((h0 + x) * w).tanh().sum().backward()
        return h0

    run = tg.compile(step)
    for i in range(5):
        x = tg.Tensor(np.arange(3.0) - i)
        np.testing.assert_array_equal(run(x).grad.numpy(), step(x).grad.numpy())
    assert run.tape.traced
