"""Python's cycle collector and the recorded graph: paused while a graph is recorded and backpropagated.

A recorded graph holds no reference cycles (a tensor points to its op, the op to its inputs, never
back), so reference counting frees it. But CPython's cycle collector visits every live container
object now and then, and the graph of a T-step loop is many live objects (a tensor, an op and a
few tuples per recorded op): left running, its full collections walk the whole growing graph, and
a step of a long sequence gets slower as T grows (about 25% slower per step at T = 5000 than at
T = 200 in ``benchmarks/bench_train_step.py``'s hand-written loop).

So the engine pauses the collector itself, for exactly the span a graph is being built and used:

* the first op recorded after a backward (or at the start) pauses it, in any code: the library's
  layers and a hand-written loop alike;
* the end of every ``backward`` resumes it;
* a recording that never reaches a backward (an evaluation loop run without ``no_grad``, code
  that raised between forward and backward) resumes it after :data:`PAUSE_LIMIT` recorded ops,
  and it stays on until the next backward: a pause is always bounded, so cyclic garbage of the
  rest of the program is never held back for long.

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
    >>> loss.backward()               # the graph is done: it runs again
    >>> gc.isenabled()
    True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: How many ops a recording may run without reaching a backward before the collector resumes.
PAUSE_LIMIT = 1_000_000

#: Function.apply calls :func:`recorded` when a recorded op's tensor id passes this value: -1 when
#: the next recorded op should pause the collector, the id at which the pause expires while paused,
#: and never (infinity) once an expired pause has resumed it (until the next backward).
resume_at: float = -1
_paused_by_engine = False


def recorded(tensor_id: int) -> None:
    """An op was recorded past :data:`resume_at`: pause the collector, or end an expired pause."""
    global resume_at, _paused_by_engine
    if resume_at < 0:  # the first recorded op of a graph
        resume_at = tensor_id + PAUSE_LIMIT
        if gc.isenabled():
            gc.disable()
            _paused_by_engine = True
    else:  # PAUSE_LIMIT ops and no backward: resume, and do not pause again before a backward
        resume_at = float("inf")
        _resume()


def backward_done() -> None:
    """A backward finished: resume the collector, and pause it again at the next recorded op."""
    global resume_at
    resume_at = -1
    _resume()


def _resume() -> None:
    global _paused_by_engine
    if _paused_by_engine:
        _paused_by_engine = False
        gc.enable()


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
