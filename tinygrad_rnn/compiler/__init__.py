"""``tinygrad_rnn.compile``: capture a step once, then replay its flat list of array calls.

An eager step pays, at every op, for what makes the engine readable: a Function instance, a
Tensor, the graph's bookkeeping, a topological sort in backward. The arrays computed are the same
at every step of a training loop: only their values change. So ``compile(fn)`` runs ``fn`` once
eagerly while the engine's hooks record each array-level call it made (forward of each op,
the generic backward, the optimizer's update), and from the next call on replays that tape:
the same calls on new arrays, nothing else (see :mod:`.tape`).

Guards (:mod:`.guards`) decide when a tape may be replayed; a change captures again (up to
``cache_size`` tapes are kept). A step captured again on more consecutive calls than the cache
holds never replays (something it depends on changes at every call): it warns, once, saying why.
What a tape cannot repeat fails loudly during the capture (:mod:`.capture`), or, with
``fallback=True``, makes that call signature run eagerly from then on.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([[0.5]], requires_grad=True)
    >>> opt = tg.optim.SGD([w], lr=0.1)
    >>> @tg.compile
    ... def step(x):
    ...     opt.zero_grad()
    ...     loss = ((x @ w).tanh() ** 2).sum()
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> losses = [round(step(tg.Tensor([[1.0]])).item(), 4) for _ in range(3)]
    >>> losses, step.captures          # one capture, then two replays
    ([0.2136, 0.1625, 0.119], 1)
"""

from __future__ import annotations

import functools
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .. import backend as _backend
from .. import recording
from ..collector import cycle_collector_paused
from ..tensor import Tensor
from .capture import CaptureError, Recorder
from .guards import Reach, call_key, flatten
from .tape import Tape, rebuild

__all__ = ["CaptureError", "Compiled", "compile"]

_capturing = threading.Lock()  # one capture at a time (the hooks are global)


class Compiled:
    """A compiled step: call it like the function. See :func:`compile`.

    Attributes:
        captures: how many times a tape was captured (a changed guard captures again).
        replays: how many calls replayed a tape.
        last_miss: why the last capture happened (None for the first), e.g. which guard changed.
    """

    def __init__(self, fn: Callable, cache_size: int = 8, fallback: bool = False):
        functools.update_wrapper(self, fn)
        self.fn, self.cache_size, self.fallback = fn, cache_size, fallback
        self._tapes: OrderedDict[Any, list] = OrderedDict()  # key -> [(tape, guards)], least recent first
        self._eager: set = set()  # keys that fell back to eager (fallback=True)
        self._last: Tape | None = None
        self.captures = self.replays = 0
        self.last_miss: str | None = None
        self._captures_in_a_row = 0  # since the last replay: more than the cache holds means none ever replays
        self._warned_never_replays = False
        # Threads may call one compiled step at once: the cache and the counters change under this lock
        # (a replay itself runs outside it, under its tape's own lock; a capture under the capture lock).
        self._bookkeeping = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if recording.recorder is not None and recording.recorder.mine():  # inside a capture: run eagerly, it
            return self.fn(*args, **kwargs)  # records us (another thread's capture does not concern this call)
        tensors: list[Tensor] = []
        key = (flatten(list(args), tensors), flatten(kwargs, tensors), _grad_mode())
        with self._bookkeeping:
            eager = key in self._eager  # fallback=True made these arguments run eagerly
            tape = None if eager else self._replayable(key, tensors)
        if eager:
            return self.fn(*args, **kwargs)
        if tape is not None:
            return tape.replay(tensors)
        return self._capture(key, tensors, args, kwargs)

    def _replayable(self, key: Any, tensors: list) -> Tape | None:
        """The cached tape whose guards hold for this call (counted as a replay), or None (and
        ``last_miss`` says why). Called with the bookkeeping lock held."""
        entries = self._tapes.get(key)
        if entries is None:
            if self._tapes:
                self.last_miss = "a new call signature (argument shapes, dtypes, devices, requires_grad, values)"
            return None
        self._tapes.move_to_end(key)
        miss = None
        for tape, guards in entries:  # the most recently captured first
            reason = guards.failure(tensors)
            if reason is None:
                self.replays += 1
                self._captures_in_a_row = 0
                self._last = tape
                return tape
            miss = miss or reason
        self.last_miss = miss  # what changed since the latest capture
        return None

    def _capture(self, key: Any, tensors: list, args: tuple, kwargs: dict) -> Any:
        with _capturing:
            reach = Reach(self.fn, args, kwargs)
            recorder = Recorder(tensors, reach, self.fallback)
            draw = _backend.Backend.random

            def watched_draw(backend, kind, shape, dtype):
                recorder.random_drawn(sys._getframe(1))
                return draw(backend, kind, shape, dtype)

            _backend.Backend.random = watched_draw
            recording.recorder = recorder
            try:
                with cycle_collector_paused():  # the capture allocates many small objects: see collector.py
                    result = self.fn(*args, **kwargs)
            finally:
                recording.recorder = None
                _backend.Backend.random = draw
                recorder.restore()
            if recorder.backward_pending is not None:
                raise CaptureError("compile: a backward pass did not finish during capture")
            if recorder.error is not None:  # fallback=True: this call ran eagerly, and so will the next ones
                warnings.warn(f"{recorder.error} Calls with these arguments run eagerly.", stacklevel=3)
                with self._bookkeeping:
                    self._eager.add(key)
                return result
            tape, guards = recorder.tape(result)
        with self._bookkeeping:
            never_replays = self._remember(key, tape, guards)
        if never_replays:  # warned outside the lock: a warning filter may run any code
            warnings.warn(never_replays, stacklevel=3)
        return tape.result(recorder.values)

    def _remember(self, key: Any, tape: Tape, guards: Any) -> str | None:
        """Count a capture and cache the tape (dropping the least recently used beyond ``cache_size``);
        the warning to give, once, when nothing replays. Called with the bookkeeping lock held."""
        self.captures += 1
        self._captures_in_a_row += 1
        never_replays = None
        if self._captures_in_a_row > self.cache_size and not self._warned_never_replays:
            self._warned_never_replays = True
            if self.last_miss and self.last_miss.startswith("a new call signature"):
                remedy = "the arguments differ at every call: pad or bucket sequences to a few shapes"
            else:
                remedy = (
                    "something the guards watch changes at every call: pass a changing Python value as a tensor "
                    "argument, and clear gradients with zero_grad() rather than by setting .grad"
                )
            never_replays = (
                f"compile: {self.__name__} was captured again on each of its last {self._captures_in_a_row} "
                f"calls and never replayed, so it runs slower than eagerly (last reason: {self.last_miss}); "
                f"{remedy}"
            )
        self._tapes.setdefault(key, []).insert(0, (tape, guards))
        self._tapes.move_to_end(key)
        while sum(len(entries) for entries in self._tapes.values()) > self.cache_size:
            oldest = next(iter(self._tapes))
            self._tapes[oldest].pop()
            if not self._tapes[oldest]:
                del self._tapes[oldest]
        self._last = tape
        return never_replays

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        """As a method's decorator: ``instance.step(x)`` calls the compiled step with ``instance`` first."""
        return self if instance is None else functools.partial(self, instance)

    @property
    def tape(self) -> Tape:
        """The tape of the last call (``print(step.tape)``: one line per array call, with shapes)."""
        if self._last is None:
            raise RuntimeError(f"compile: {self.__name__} has not been called yet, so nothing is captured")
        return self._last

    def graph(self) -> Any:
        """The last call's return value as the graph recorded during its capture, its tensors holding
        the last call's values: for ``draw_graph``, ``bptt.contributions`` and friends.

        The graph is the captured one (the replay creates none); after a replay its ops' saved arrays
        are the replay's, and are kept, so a backward can run over it (``retain_graph`` style).
        """
        tape = self.tape
        with tape.running:  # not halfway through another thread's replay
            if tape.last_values is not None:
                tape.refresh_saved()
                for slot, tensor in tape.graph.items():
                    tensor.data = tape.last_values[slot]
                    if tensor._ctx is not None:
                        tensor._ctx.freed = False
        return rebuild(tape.outputs, lambda slot: tape.graph.get(slot[1]))


def _grad_mode() -> bool:
    from ..function import is_grad_enabled

    return is_grad_enabled()


def compile(fn: Callable | None = None, *, cache_size: int = 8, fallback: bool = False) -> Any:  # noqa: A001
    """Compile ``fn`` (a training step or a forward-only function); usable as a decorator.

    Args:
        fn: the function; its Tensor arguments (also inside tuples, lists, dicts) are its inputs.
            Parameters and optimizer state are whatever it touches, updated in place as eagerly.
        cache_size: how many tapes to keep (one per combination of guards seen), least recently
            used dropped first.
        fallback: when a step cannot be captured (see :class:`CaptureError`), warn and run such
            calls eagerly instead of raising.

    Returns:
        a :class:`Compiled` callable returning what ``fn`` returns, tensors as new Tensors
        without a graph (``.graph()`` gives the recorded one).
    """
    if fn is None:
        return functools.partial(compile, cache_size=cache_size, fallback=fallback)
    return Compiled(fn, cache_size, fallback)
