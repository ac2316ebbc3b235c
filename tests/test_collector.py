"""The cycle collector is paused while a graph is recorded and backpropagated, and only then."""

import gc

import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import collector


@pytest.fixture(autouse=True)
def collector_on():
    """Every test starts with the collector on and no pause pending, and leaves it so."""
    collector.backward_done()
    gc.enable()
    yield
    collector.backward_done()
    gc.enable()


def test_recording_pauses_the_collector_and_freeing_the_graph_resumes_it():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    assert gc.isenabled()
    loss = (w * w).sum()
    assert not gc.isenabled()
    loss.backward()
    assert not gc.isenabled()  # backpropagated, but ``loss`` still holds the graph
    del loss
    assert gc.isenabled()  # freed: no collection had to walk it
    (w * 3).sum().backward()  # the next graph pauses it again; a temporary loss is freed at once
    assert gc.isenabled()


def test_a_loss_kept_after_its_backward_resumes_the_collector_within_a_bound(monkeypatch):
    import time

    monkeypatch.setattr(collector, "RESUME_AFTER", 0.05)
    w = tg.Tensor([1.0], requires_grad=True)
    loss = (w * 2).sum()
    loss.backward()
    assert not gc.isenabled()
    deadline = time.monotonic() + 5
    while not gc.isenabled() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gc.isenabled()  # the watcher resumed it, the graph still alive
    assert loss.item() == 2.0


def test_a_loss_rebound_after_the_next_forward_hands_the_pause_on(monkeypatch):
    """``loss = f(x); loss.backward()`` in a loop frees each graph during the next forward: that
    must not resume the collector while the new graph is recorded; RESUME_AFTER still bounds it."""
    import time

    monkeypatch.setattr(collector, "RESUME_AFTER", 0.2)
    w = tg.Tensor([1.0], requires_grad=True)
    loss = (w * 2).sum()
    loss.backward()
    start = time.monotonic()
    loss = (w * 3).sum()  # the old graph is freed here, while the new one is recorded
    still_paused = not gc.isenabled()
    loss.backward()
    if time.monotonic() - start < 0.2:  # (a slow machine may have reached the bound already)
        assert still_paused
    del loss
    assert gc.isenabled()


def test_a_loop_that_keeps_each_loss_into_the_next_step_still_lets_the_collector_run(monkeypatch):
    """In ``loss = f(x); loss.backward()`` every graph outlives its backward into the next recording,
    so no graph's release can resume the collector: the watcher does, once per RESUME_AFTER."""
    import time

    monkeypatch.setattr(collector, "RESUME_AFTER", 0.05)
    w = tg.Tensor([1.0], requires_grad=True)
    ran = False
    end = time.monotonic() + 5
    while not ran and time.monotonic() < end:
        loss = (w * 2).sum()
        loss.backward()
        ran = gc.isenabled()
    assert ran


def test_a_freed_graph_resumes_the_collector_while_another_thread_briefly_holds_the_lock():
    """The watcher takes the collector's lock for a moment at each deadline: a graph freed in such
    a moment still resumes the collector at once (its release waits briefly, never for good)."""
    import threading

    w = tg.Tensor([1.0], requires_grad=True)
    loss = (w * 2).sum()
    loss.backward()
    holding, done = threading.Event(), threading.Event()

    def hold_the_lock():
        with collector._lock:
            holding.set()
            done.wait(0.03)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    holding.wait()
    del loss  # freed while the lock is held: waits ~30 ms, then resumes
    holder.join()
    assert gc.isenabled()


def test_ops_that_record_nothing_leave_the_collector_alone():
    x = tg.Tensor([1.0, 2.0])  # requires no grad
    (x * 2).sum()
    with tg.no_grad():
        w = tg.Tensor([1.0], requires_grad=True)
        (w * 2).sum()
    assert gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off():
    gc.disable()
    w = tg.Tensor([1.0], requires_grad=True)
    (w * 2).sum().backward()
    assert not gc.isenabled()


def test_a_failing_backward_still_resumes_the_collector():
    w = tg.Tensor([1.0], requires_grad=True)
    loss = (w * 2).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="already"):
        loss.backward()  # the graph was freed: an error
    del loss
    assert gc.isenabled()  # and the collector runs again once the graph is gone


def test_a_pause_without_a_backward_is_bounded(monkeypatch):
    """Code that raises between forward and backward (or evaluates without no_grad) never keeps the
    collector off for more than PAUSE_LIMIT recorded ops; it stays on until the next backward."""
    monkeypatch.setattr(collector, "PAUSE_LIMIT", 50)
    w = tg.Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="user code"):
        y = w * 2
        raise RuntimeError("user code fails while a graph is being recorded")
    assert not gc.isenabled()
    for _ in range(60):
        y = y * 1.0
    assert gc.isenabled()  # the pause expired
    for _ in range(200):
        y = y * 1.0
    assert gc.isenabled()  # and does not start again before a backward
    y.sum().backward()
    (w * 2).sum()
    assert not gc.isenabled()  # after a backward, the next recording pauses again


def test_the_with_block_restores_the_collector_even_on_error():
    with pytest.raises(ValueError), collector.cycle_collector_paused():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()


def test_threads_that_train_at_once_leave_the_collector_on():
    """The collector is one per process: a backward in one thread resumes it while another records
    (which pauses it again at its next op). Whatever the interleaving, each thread's gradients are
    right and the collector runs once every thread's backward is done."""
    import threading

    errors = []

    def train(seed):
        try:
            w = tg.Tensor([float(seed)], requires_grad=True)
            for _ in range(200):
                w.grad = None
                ((w * w).sum() * 0.5).backward()
                assert w.grad.item() == float(seed)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=train, args=(seed,)) for seed in (1, 2, 3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    assert gc.isenabled()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_pauses_and_resumes_the_collector_on_its_own(monkeypatch):
    """The resume watcher is a thread, which a forked child does not inherit: the child starts its
    own, so a loss kept there is bounded too."""
    import os
    import time

    monkeypatch.setattr(collector, "RESUME_AFTER", 0.05)
    w = tg.Tensor([1.0], requires_grad=True)
    kept = (w * 2).sum()
    kept.backward()  # the parent's watcher is running
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 when both ways of resuming work
        ok = False
        try:
            loss = (w * 3).sum()
            loss.backward()
            del loss
            freed_resumes = gc.isenabled()
            loss = (w * 3).sum()
            loss.backward()
            deadline = time.monotonic() + 5
            while not gc.isenabled() and time.monotonic() < deadline:
                time.sleep(0.01)
            ok = freed_resumes and gc.isenabled()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_program_that_ends_with_its_loss_alive_exits():
    """The graph of a loss kept to the end is freed during interpreter shutdown, and its release
    must not wait for a lock the (daemon) resume watcher held when shutdown froze it. That hung
    about half of such runs; five in a row exit."""
    import subprocess
    import sys

    program = (
        "import tinygrad_rnn as tg\nw = tg.Tensor([1.0], requires_grad=True)\nloss = (w * 2).sum()\nloss.backward()\n"
    )
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", program], timeout=60, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
