"""Python's cycle collector and the recorded graph: paused while a graph is recorded and backpropagated.

A recorded graph holds no reference cycles (a tensor points to its op, the op to its inputs, never
back), so reference counting frees it. But CPython's cycle collector visits every live container
object now and then, and the graph of a T-step loop is many live objects (a tensor, an op and a
few tuples per recorded op): left running, its full collections walk the whole growing graph, and
a step of a long sequence gets slower as T grows (about 25% slower per step at T = 5000 than at
T = 200 in ``benchmarks/bench_train_step.py``'s hand-written loop).

So the engine pauses the collector itself, for the span a graph is being built and used:

* the first op recorded after a backward (or at the start) pauses it, in any code: the library's
  layers and a hand-written loop alike;
* after a ``backward`` it runs again as soon as that graph is freed (the caller drops the loss),
  and at the latest :data:`RESUME_AFTER` seconds after the backward, whatever is alive then;
* a recording that never reaches a backward (an evaluation loop run without ``no_grad``, code
  that raised between forward and backward) resumes it after :data:`PAUSE_LIMIT` recorded ops,
  and it stays on until the next backward: a pause is always bounded, so cyclic garbage of the
  rest of the program is never held back for long.

Why not resume at the end of ``backward``: the graph is still alive then (the caller holds the
loss, and :func:`~tinygrad_rnn.draw_graph` may still draw it), and every object of it is young, so
the first collection after the resume walks all of it: about 4 ms per training step at T = 500 and
40 ms at T = 5000 (~8% of the hand-written loop's step), for objects that reference counting frees
a moment later. Waiting for the graph to be freed skips that walk. When a loss outlives its
backward into the next step (``loss = f(x)`` rebinding it only after the next forward), the next
recording takes the pause over, and :data:`RESUME_AFTER` still lets the collector run at least
about once a second; a small daemon thread keeps that promise when nothing else happens (it is
ended at exit, and a graph freed during shutdown does not wait for it).

Only a pause the engine made is undone: a collector the user turned off stays off, and
``gc.collect()`` works as always. The collector is one per process: a backward in one thread
resumes it while another thread records (which pauses it again at its next op); harmless both ways.

:func:`cycle_collector_paused` is the same pause as a ``with`` block, for code that allocates
many small objects without recording (the library's layers and tinygrad_rnn.compile use it).

Example:
    >>> import gc
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([1.0], requires_grad=True)
    >>> loss = (w * 2).sum()          # recording: the collector is paused
    >>> gc.isenabled()
    False
    >>> loss.backward()               # backpropagated, but the graph is still held by ``loss``
    >>> gc.isenabled()
    False
    >>> del loss                      # the graph is freed: the collector runs again
    >>> gc.isenabled()
    True
"""

from __future__ import annotations

import atexit
import gc
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: How many ops a recording may run without reaching a backward before the collector resumes.
PAUSE_LIMIT = 1_000_000

#: Seconds after a backward by which the collector runs again even if its graph is still alive.
RESUME_AFTER = 1.0

#: Function.apply calls :func:`recorded` when a recorded op's tensor id passes this value: -1 when
#: the next recorded op should pause the collector, the id at which the pause expires while paused,
#: and never (infinity) once an expired pause has resumed it (until the next backward).
resume_at: float = -1
_paused_by_engine = False
_graph: weakref.ref | None = None  # the root of the graph whose release resumes the collector
_owed = False  # a backward has finished and its resume has not happened yet (perhaps handed on)
_deadline: float | None = None  # time.monotonic() at which the watcher resumes an owed pause
_lock = threading.RLock()  # a graph's release may run in any thread, and the watcher in its own
_wake = threading.Condition(_lock)
_watcher: threading.Thread | None = None
_stopping = False  # set at exit: the watcher ends


def recorded(tensor_id: int) -> None:
    """An op was recorded past :data:`resume_at`: pause the collector, or end an expired pause."""
    global resume_at, _paused_by_engine, _graph
    with _lock:
        if resume_at < 0:  # the first recorded op of a graph: this graph's pause starts (or goes on)
            resume_at = tensor_id + PAUSE_LIMIT
            _graph = None  # an earlier graph freed during this recording must not resume it
            if gc.isenabled():
                gc.disable()
                _paused_by_engine = True
        else:  # PAUSE_LIMIT ops and no backward: resume, and do not pause again before a backward
            resume_at = float("inf")
            _resume()


def backward_done(root: Any = None) -> None:
    """A backward of the graph behind ``root`` finished: the collector runs again once that graph
    is freed, or by :data:`RESUME_AFTER` seconds from now (at once without a ``root``); the next
    recorded op pauses it again."""
    global resume_at, _graph, _owed, _deadline
    with _lock:
        resume_at = -1
        if not _paused_by_engine:
            return
        if root is None:
            _resume()
            return
        _graph, _owed = weakref.ref(root, _graph_freed), True
        if _deadline is None:  # else the watcher already waits for an earlier (sooner) deadline
            _deadline = time.monotonic() + RESUME_AFTER
            _start_watcher()
            _wake.notify()


def _graph_freed(_reference: weakref.ref) -> None:
    """The backpropagated graph was freed: resume, unless a new recording has taken the pause over.

    It runs wherever the last reference went, even during interpreter shutdown, so it waits for the
    lock only briefly (the watcher holds it for microseconds, but shutdown may freeze it holding
    it): if the lock stays taken, the watcher's deadline resumes the collector instead.
    """
    if not _lock.acquire(timeout=0.1):
        return
    try:
        if _reference is _graph and resume_at < 0:
            _resume()
    finally:
        _lock.release()


def _resume() -> None:
    global _paused_by_engine, _graph, _owed
    _graph, _owed = None, False
    if _paused_by_engine:
        _paused_by_engine = False
        gc.enable()


def _start_watcher() -> None:
    """The daemon thread that resumes the collector at :data:`_deadline` (started once, idle after)."""
    global _watcher
    if _watcher is None or not _watcher.is_alive():
        _watcher = threading.Thread(target=_watch, name="tinygrad_rnn collector resume", daemon=True)
        _watcher.start()


def _watch() -> None:
    """At each deadline: resume the collector if a backward's resume is still owed (its loss kept,
    or its pause handed on to the next recording); one wake-up per deadline, not per backward."""
    global _deadline
    with _lock:
        while not _stopping:
            if _deadline is None:
                _wake.wait()
                continue
            left = _deadline - time.monotonic()
            if left > 0:
                _wake.wait(left)
                continue
            _deadline = None
            if _owed:
                _resume()


def _stop_watcher() -> None:
    """At exit, before the interpreter freezes daemon threads: end the watcher, so that it cannot
    be frozen holding the lock (a loss freed during shutdown would then wait for it forever)."""
    global _stopping
    watcher = _watcher
    if watcher is None:
        return
    with _lock:
        _stopping = True
        _wake.notify()
    watcher.join(timeout=1.0)


atexit.register(_stop_watcher)


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's threads, and a lock the watcher held stays held:
    start from fresh ones (a new watcher starts at the child's first deferred resume)."""
    global _lock, _wake, _watcher, _deadline
    _lock = threading.RLock()
    _wake = threading.Condition(_lock)
    _watcher = _deadline = None  # no watcher waits for the parent's deadline here


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector inside the block (and restore its state on exit, even on error).

    Example:
        >>> with cycle_collector_paused():
        ...     pass
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
