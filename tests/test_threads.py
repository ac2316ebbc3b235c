"""Modes are per thread: no_grad, scope and detect_anomaly in one thread never reach another.

Each test forces the interleaving it needs with events (no sleeps, no luck), and is bounded in
time by the events' timeouts.
"""

import threading

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, no_grad

TIMEOUT = 10.0  # seconds any thread waits for another before the test fails


def run_threads(*targets, names=()):
    """Run the targets in threads (named ``names``, if given); re-raise the first exception any of them raised."""
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - reported in the main thread
            errors.append(error)

    threads = [
        threading.Thread(target=guarded, args=(t,), name=n) for t, n in zip(targets, names or [None] * len(targets))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def wait(event):
    assert event.wait(TIMEOUT), "the other thread never got there"


def test_inference_under_no_grad_in_one_thread_while_another_trains():
    rng = np.random.default_rng(0)
    x_values = rng.standard_normal((8, 3))
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True)

    def gradient():
        w.grad = None
        ((Tensor(x_values) @ w) * 3.0).sum().backward()
        return w.grad.numpy().copy()

    expected = gradient()  # alone in one thread; with inference beside it, the same bits
    stop = threading.Event()
    started = threading.Event()
    trained = []

    def infer():
        while not stop.is_set():
            with no_grad():
                started.set()
                (Tensor(x_values) @ w).tanh()

    def train():
        wait(started)
        for _ in range(200):
            trained.append(gradient())
        stop.set()

    run_threads(infer, train)
    np.testing.assert_allclose(expected, 3.0 * x_values.sum(axis=0)[:, None] * np.ones((1, 2)))  # 3 x^T 1
    assert len(trained) == 200
    for grad in trained:
        np.testing.assert_array_equal(grad, expected)


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on():
    # A enters, B enters, A leaves, B leaves: with one global flag B would restore "off" for good
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    after = {}

    def a():
        with no_grad():
            a_in.set()
            wait(b_in)
        after["a"] = tg.is_grad_enabled()
        a_out.set()

    def b():
        wait(a_in)
        with no_grad():
            b_in.set()
            wait(a_out)
            after["b inside"] = tg.is_grad_enabled()
        after["b"] = tg.is_grad_enabled()

    run_threads(a, b)
    assert after == {"a": True, "b inside": False, "b": True}
    assert tg.is_grad_enabled()
    assert (Tensor([1.0], requires_grad=True) * 2).requires_grad


def test_scopes_do_not_leak_between_threads():
    inside, recorded = threading.Event(), threading.Event()
    scopes = {}

    def tagged():
        with tg.scope("lstm"), tg.scope("t=3"):
            inside.set()
            wait(recorded)
            scopes["tagged"] = (Tensor([1.0]) * 2).scope

    def plain():
        wait(inside)
        scopes["plain"] = (Tensor([1.0]) * 2).scope
        with tg.scope("enc"):
            scopes["own"] = tg.current_scope()
        recorded.set()

    run_threads(tagged, plain)
    assert scopes == {"tagged": "lstm/t=3", "plain": "", "own": "enc"}
    assert tg.current_scope() == ""


def test_anomaly_mode_does_not_leak_between_threads():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def checking():
        with tg.detect_anomaly():
            inside.set()
            wait(done)
            with pytest.raises(tg.AnomalyError), np.errstate(divide="ignore"):
                Tensor([0.0]).log()
            seen["checked"] = True

    def unchecked():
        wait(inside)
        with np.errstate(divide="ignore"):
            seen["value"] = Tensor([0.0]).log().item()  # -inf, but this thread is not checking
        done.set()

    run_threads(checking, unchecked)
    assert seen == {"checked": True, "value": -np.inf}


def test_a_new_thread_starts_from_the_defaults_and_blocks_restore_exactly():
    seen = []
    with no_grad(), tg.scope("outer"), tg.detect_anomaly():
        worker = threading.Thread(target=lambda: seen.append((tg.is_grad_enabled(), tg.current_scope())))
        worker.start()
        worker.join(TIMEOUT)
        inner = no_grad()
        with inner, inner:  # one instance entered twice: each exit undoes its own entry
            pass
        assert not tg.is_grad_enabled() and tg.current_scope() == "outer"
    assert seen == [(True, "")]
    assert tg.is_grad_enabled() and tg.current_scope() == ""
    with pytest.raises(ValueError), tg.scope("s"):
        raise ValueError("restored even when the block raises")
    assert tg.current_scope() == ""


def test_two_threads_replaying_one_compiled_step_each_get_their_own_gradient():
    """A replay refreshes the recorded ops' saved arrays in forward for its backward: two threads
    replaying one tape at once mixed them (silently wrong gradients). Thread A pauses between its
    forward and its backward while thread B is let run a whole replay: with the tape's lock B waits
    (A's pause times out, A finishes, then B runs); without it B overwrote A's saved arrays."""
    w = Tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4))  # a constant: each thread's x is its own
    in_a, pause_armed, b_done = threading.Event(), threading.Event(), threading.Event()

    class PauseInA(tg.Function):
        """y = x; in thread A, once armed: stop here (forward done, backward not begun) for a while."""

        def forward(self, x):
            if pause_armed.is_set() and threading.current_thread().name == "A":
                pause_armed.clear()
                in_a.set()
                b_done.wait(0.3)  # B cannot finish while A holds the tape: this times out
            return x * 1.0

        def backward(self, grad):
            return (grad,)

    def input_gradient(x):
        loss = PauseInA.apply(((x @ w).tanh() ** 2).sum())
        loss.backward()
        return x.grad

    step = tg.compile(input_gradient)
    xs = {name: np.random.default_rng(seed).standard_normal((2, 3)) for name, seed in (("A", 1), ("B", 2))}
    want = {name: input_gradient(Tensor(x, requires_grad=True)).numpy() for name, x in xs.items()}
    step(Tensor(xs["A"], requires_grad=True))  # capture
    got = {}

    def thread_a():
        pause_armed.set()
        got["A"] = step(Tensor(xs["A"], requires_grad=True)).numpy()

    def thread_b():
        wait(in_a)
        got["B"] = step(Tensor(xs["B"], requires_grad=True)).numpy()
        b_done.set()

    run_threads(thread_a, thread_b, names=("A", "B"))
    assert step.captures == 1 and step.replays == 2
    for name in ("A", "B"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-12)


def test_enable_grad_and_set_grad_enabled_are_per_thread_blocks_and_decorators():
    w = Tensor([1.0], requires_grad=True)
    with no_grad():
        with tg.enable_grad():
            assert (w * 2).requires_grad
        assert not (w * 2).requires_grad
    for enabled in (True, False):
        with tg.set_grad_enabled(enabled):
            assert (w * 2).requires_grad is enabled

    @tg.set_grad_enabled(False)
    def evaluate():
        return (w * 2).requires_grad

    @tg.enable_grad()
    def train_inside_no_grad():
        return (w * 2).requires_grad

    seen = {}

    def other_thread():
        seen["eval"], seen["train"] = evaluate(), train_inside_no_grad()

    with no_grad():
        assert train_inside_no_grad() and not evaluate()
        run_threads(other_thread, other_thread)  # one decorated function, two threads at once
    assert seen == {"eval": False, "train": True}
    assert tg.is_grad_enabled()
    with pytest.raises(TypeError, match="set_grad_enabled: expected True or False, got 1"):
        tg.set_grad_enabled(1)


def test_a_thread_replays_while_another_thread_captures():
    """A capture in one thread is no reason for another thread to run eagerly: thread B replays a
    cached tape while thread A, mid-capture of a new shape, waits for it (before, B saw A's global
    recorder, took itself for a nested call and ran eagerly: right numbers, but no replay)."""
    w = Tensor(np.linspace(-1.0, 1.0, 4))
    in_capture, b_done = threading.Event(), threading.Event()

    def f(x):
        if x.shape[0] == 3 and threading.current_thread().name == "A":  # A's capture of a new shape
            in_capture.set()
            wait(b_done)
        return (x * w).tanh().sum(axis=-1)

    step = tg.compile(f)
    step(Tensor(np.ones((2, 4))))  # captured: (2, 4) replays from now on
    got = {}

    def thread_a():
        got["A"] = step(Tensor(np.ones((3, 4)))).numpy()

    def thread_b():
        wait(in_capture)
        got["B"] = step(Tensor(np.full((2, 4), 0.5))).numpy()
        b_done.set()

    run_threads(thread_a, thread_b, names=("A", "B"))
    assert step.captures == 2 and step.replays == 1
    np.testing.assert_allclose(got["B"], np.tanh(0.5 * np.linspace(-1.0, 1.0, 4)).sum() * np.ones(2), rtol=1e-12)
    np.testing.assert_allclose(got["A"], np.tanh(np.linspace(-1.0, 1.0, 4)).sum() * np.ones(3), rtol=1e-12)


def test_four_threads_calling_one_compiled_step_share_its_cache_safely():
    """A stress test, the one test here that cannot force its interleaving with events: four threads
    call one compiled step with three shapes and a cache of two, so tapes are captured, looked up and
    dropped all the time, with the interpreter switching threads every microsecond. Before the
    cache had a lock this failed on every run (``OrderedDict mutated during iteration``, ``pop from
    empty list``, lost counts); with it every call is counted once and every result is right."""
    import sys
    import warnings

    weights = np.linspace(-1.0, 1.0, 4)
    w = Tensor(weights)
    step = tg.compile(lambda x: (x * w).tanh().sum(axis=-1), cache_size=2)
    calls = 200

    def worker(seed):
        def run():
            rng = np.random.default_rng(seed)
            for _ in range(calls):
                x = rng.standard_normal((int(rng.integers(1, 4)), 4))
                np.testing.assert_allclose(step(Tensor(x)).numpy(), np.tanh(x * weights).sum(-1), rtol=1e-12)

        return run

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "captured again on each call": this step does not care
            run_threads(*(worker(seed) for seed in range(4)))
    finally:
        sys.setswitchinterval(interval)
    assert step.captures + step.replays == 4 * calls


def test_two_threads_asking_for_a_new_device_at_once_get_one_backend(monkeypatch):
    """Tensors are on one device when their backends are one object. The first tensors two threads
    make on a device at once used to create two backends for it (then ``linear`` refused to mix
    them: "tensors on different devices: 'cpu' and 'cpu'"). Thread 1 is held inside the creation of
    the cpu backend; thread 2 asks for it meanwhile: now it waits, and both get the same object."""
    from tinygrad_rnn import backend

    monkeypatch.setattr(backend, "_BY_DEVICE", {k: v for k, v in backend._BY_DEVICE.items() if k != "cpu"})
    monkeypatch.setattr(backend, "_BY_ARRAY_TYPE", dict(backend._BY_ARRAY_TYPE))
    creating, second_inside = threading.Event(), threading.Event()
    made = []
    real_namespace = backend.numpy_namespace

    def slow_namespace():
        made.append(threading.current_thread().name)
        if len(made) == 1:
            creating.set()
            second_inside.wait(0.3)  # the second thread waits outside the creation now: this times out
        else:
            second_inside.set()
        return real_namespace()

    monkeypatch.setattr(backend, "numpy_namespace", slow_namespace)
    got = {}

    def first():
        got[1] = backend.get_backend("cpu")

    def second():
        wait(creating)
        got[2] = backend.get_backend("cpu")

    run_threads(first, second, names=("first", "second"))
    assert got[1] is got[2] and made == ["first"]


def test_gpu_and_cuda_name_one_backend():
    from tinygrad_rnn import backend

    if backend._BY_DEVICE.get("cuda") is None:
        try:
            backend.get_backend("cuda")
        except backend.DeviceError:
            pytest.skip("no usable GPU here (CuPy and a device are needed)")
    assert backend.get_backend("gpu") is backend.get_backend("cuda")
