"""The engine's modes, one set per thread: recording on or off, the open scope, anomaly detection.

``no_grad``, ``scope`` and ``detect_anomaly`` change a mode for the code inside their ``with``
block, and only in the thread (or asyncio task) that runs the block, as PyTorch's grad mode is
per thread: a thread that infers under ``no_grad()`` never turns recording off for a thread that
trains, and each thread's graph is tagged with its own scopes.

How: the modes are one immutable :class:`Modes` record held in a ``contextvars.ContextVar``. A
block sets a changed copy on entry and, on exit, puts back exactly the record it found (the
variable's reset token), even when the block raises. A new thread starts from the defaults
(recording on, no scope, no anomaly detection). ``Function.apply`` reads the record once per op.

Example:
    >>> import threading
    >>> from tinygrad_rnn import no_grad, is_grad_enabled
    >>> seen = []
    >>> with no_grad():
    ...     worker = threading.Thread(target=lambda: seen.append(is_grad_enabled()))
    ...     worker.start(); worker.join()
    ...     seen.append(is_grad_enabled())
    >>> seen                     # the other thread still records; this one does not
    [True, False]
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, NamedTuple


class Modes(NamedTuple):
    """What every op reads when it runs (one record per thread; never changed in place)."""

    grad_enabled: bool = True  # record ops on tensors that require grad
    scope: str = ""  # the path of the innermost open scope, e.g. "lstm/l0/fwd/t=3"
    anomaly: bool = False  # check every op's output and gradients for NaN/Inf
    time_axis: tuple[int, int] | None = None  # (axis, steps): which axis of a sequence op is time


_modes: ContextVar[Modes] = ContextVar("tinygrad_rnn_modes", default=Modes())  # noqa: B039 - immutable

#: The calling thread's modes (``current().grad_enabled``, ...): what ``Function.apply`` reads.
current = _modes.get


class ModeBlock:
    """A ``with`` block that changes some modes of its thread and restores them exactly on exit.

    Subclasses say how in ``changed(modes)``. One instance may be entered again while it is open
    (each entry keeps its own token).
    """

    __slots__ = ("_tokens",)

    def changed(self, modes: Modes) -> Modes:
        raise NotImplementedError

    def __enter__(self) -> Any:
        new = self.changed(_modes.get())
        token = _modes.set(new)
        try:
            self._tokens.append(token)
        except AttributeError:  # the first entry of this instance
            self._tokens = [token]
        return new

    def __exit__(self, *exc: object) -> None:
        _modes.reset(self._tokens.pop())
