"""detect_anomaly: stop at the first op whose output (forward) or input gradient (backward)
holds NaN or Inf, and say which op, where (its scope, e.g. ``lstm/l0/fwd/t=37``), at which
element, and on what shapes.

Which ops are checked: every op recorded inside ``with detect_anomaly():`` (its forward then, and
its backward later, even when ``backward()`` is called after the block has closed), and every op
whose backward runs inside the block. Like every mode it is per thread (:mod:`tinygrad_rnn.modes`).

Where one op covers all time steps (a recurrent layer's input projection of shape (T, B, G*H)),
the layer says which axis is time with :class:`time_axis`, and the message names the step:
``... produced nan at index (3, 0, 0), time step t=3``.

Example:
    >>> import numpy as np
    >>> from tinygrad_rnn import Tensor
    >>> x = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    >>> with detect_anomaly(), np.errstate(divide="ignore"):  # (NumPy's own log(0) warning aside)
    ...     y = x.log()
    Traceback (most recent call last):
    ...
    tinygrad_rnn.anomaly.AnomalyError: forward of op 'log' (scope: top level) produced inf at index (1,) ...
"""

from __future__ import annotations

from typing import Any

from . import modes as _modes


class AnomalyError(FloatingPointError):
    """An op produced NaN or Inf while :func:`detect_anomaly` was active."""


class detect_anomaly(_modes.ModeBlock):
    """Check every op's output and every gradient for NaN/Inf inside the block (slower)."""

    __slots__ = ()

    def changed(self, modes: _modes.Modes) -> _modes.Modes:
        return modes._replace(anomaly=True)

    def __enter__(self) -> None:
        super().__enter__()


class time_axis(_modes.ModeBlock):
    """Tell :func:`detect_anomaly` that, for the ops recorded inside the block, axis ``axis`` of a
    sequence array (one with more than two axes, ``steps`` long on that axis) is time.

    Only the messages use it. Example (what ``nn.RNN`` does around its input projection)::

        with time_axis(0, steps=T):
            projections = linear(x, weight_ih, bias)     # (T, B, G*H)
    """

    __slots__ = ("axis", "steps")

    def __init__(self, axis: int, steps: int):
        self.axis, self.steps = axis, steps

    def changed(self, modes: _modes.Modes) -> _modes.Modes:
        return modes._replace(time_axis=(self.axis, self.steps))

    def __enter__(self) -> None:
        super().__enter__()


def check(phase: str, op: Any, arrays: Any, inputs: tuple) -> None:
    """Raise AnomalyError if any float array in ``arrays`` holds NaN or Inf."""
    xp = op.xp
    for index, array in enumerate(arrays):
        if array is None or not hasattr(array, "dtype"):
            continue
        if not xp.isdtype(array.dtype, "real floating"):
            continue
        if bool(xp.all(xp.isfinite(array))):
            continue
        kind = "nan" if bool(xp.any(xp.isnan(array))) else "inf"
        what = "produced" if phase == "forward" else f"sent to input {index}"
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise AnomalyError(
            f"{phase} of op '{op.name}' (scope: {getattr(op, 'scope', '') or 'top level'}) {what} {kind} "
            f"{_where(array, xp, getattr(op, 'time_axis', None))} (input shapes: {shapes}); "
            "look at the inputs of this op, or lower the learning rate / clip gradients"
        )


def _where(array: Any, xp: Any, time: tuple[int, int] | None) -> str:
    """``at index (3, 0, 5)`` of the first non-finite element (in C order), with ``time step t=3``
    where ``time`` = (axis, steps) says which axis of a sequence array is time."""
    shape = tuple(array.shape)
    flat = int(xp.argmax(xp.astype(~xp.isfinite(xp.reshape(array, (-1,))), xp.int8)))
    index = []
    for size in reversed(shape):
        flat, position = divmod(flat, size)
        index.append(position)
    index = tuple(reversed(index))
    text = f"at index {index}"
    if time is not None:
        axis, steps = time
        if len(shape) > 2 and -len(shape) <= axis < len(shape) and shape[axis] == steps:
            text += f", time step t={index[axis]}"
    return text
