"""detect_anomaly: stop at the first op whose output (forward) or input gradient (backward)
holds NaN or Inf, and say which op, where (its scope, e.g. ``lstm/l0/fwd/t=37``) and on what shapes.

Example:
    >>> import numpy as np
    >>> from tinygrad_rnn import Tensor
    >>> x = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    >>> with detect_anomaly():
    ...     y = x.log()
    Traceback (most recent call last):
    ...
    tinygrad_rnn.anomaly.AnomalyError: forward of op 'log' (scope: top level) produced inf ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_enabled = False  # read by Function.apply and autograd.backward


class AnomalyError(FloatingPointError):
    """An op produced NaN or Inf while :func:`detect_anomaly` was active."""


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Check every op's output and every gradient for NaN/Inf inside the block (slower)."""
    global _enabled
    previous, _enabled = _enabled, True
    try:
        yield
    finally:
        _enabled = previous


def check(phase: str, op: Any, arrays: Any, inputs: tuple) -> None:
    """Raise AnomalyError if any float array in ``arrays`` holds NaN or Inf."""
    for index, array in enumerate(arrays):
        if array is None or not hasattr(array, "dtype"):
            continue
        xp = op.xp
        if not xp.isdtype(array.dtype, "real floating"):
            continue
        if bool(xp.all(xp.isfinite(array))):
            continue
        kind = "nan" if bool(xp.any(xp.isnan(array))) else "inf"
        what = "produced" if phase == "forward" else f"sent to input {index}"
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise AnomalyError(
            f"{phase} of op '{op.name}' (scope: {getattr(op, 'scope', '') or 'top level'}) {what} {kind} "
            f"(input shapes: {shapes}); look at the inputs of this op, or lower the learning rate / clip gradients"
        )
