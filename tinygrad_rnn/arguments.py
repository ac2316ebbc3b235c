"""Checking the arguments of public constructors: sizes, shapes and hyperparameters.

A wrong argument to a factory (``randn(-1)``), a layer (``Linear(3.5, 4)``) or an optimizer
(``SGD(params, lr="0.1")``) is refused here, before anything is built, with an error that names
the function, the argument and the value it got. The types follow Python's convention:

* :class:`TypeError`: the argument has the wrong *type* (a float or a string for a size, None
  for a learning rate, a bool for a number);
* :class:`ValueError`: the type is right but the *value* is not allowed (a negative size, an
  infinite or negative learning rate, a probability above 1, a tuple of the wrong length).

Example:
    >>> size("Linear", "in_features", 3)
    3
    >>> size("Linear", "in_features", 3.5)
    Traceback (most recent call last):
    ...
    TypeError: Linear: in_features must be an int, got 3.5 (float)
    >>> number("SGD", "lr", float("inf"), minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: SGD: lr must be a finite number >= 0, got inf
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any


def _got(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _real(where: str, name: str, value: Any) -> None:
    """A real number (an int, a float, a NumPy scalar), not a bool, a string or None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {_got(value)}")


def size(where: str, name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum`` (a size, a count); bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int, got {_got(value)}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be an int >= {minimum}, got {value}")
    return int(value)


def shape(where: str, sizes: tuple, name: str = "size") -> tuple[int, ...]:
    """The shape of ``f(2, 3)`` or ``f((2, 3))``, each size an int >= 0."""
    if len(sizes) == 1 and not isinstance(sizes[0], numbers.Integral):
        if not isinstance(sizes[0], Sequence) or isinstance(sizes[0], str):
            raise TypeError(f"{where}: {name} must be ints or one tuple of ints, got {_got(sizes[0])}")
        sizes = tuple(sizes[0])
    return tuple(size(where, f"{name}[{i}]" if len(sizes) > 1 else name, n) for i, n in enumerate(sizes))


def number(
    where: str,
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """``value`` as a finite real number in the given range (bounds inclusive unless ``open_*``)."""
    _real(where, name, value)
    low = "" if minimum is None else (" > " if open_low else " >= ") + f"{minimum:g}"
    high = "" if maximum is None else (" < " if open_high else " <= ") + f"{maximum:g}"
    wanted = f"a finite number{low}{' and' if low and high else ''}{high}"
    below = minimum is not None and (value <= minimum if open_low else value < minimum)
    above = maximum is not None and (value >= maximum if open_high else value > maximum)
    if not math.isfinite(value) or below or above:
        raise ValueError(f"{where}: {name} must be {wanted}, got {value!r}")
    return value


def probability(where: str, name: str, value: Any, below_one: bool = False) -> float:
    """``value`` as a probability in [0, 1] (in [0, 1) with ``below_one``, e.g. a dropout rate
    between layers, where 1 would drop everything)."""
    _real(where, name, value)
    if not (0.0 <= value < 1.0 if below_one else 0.0 <= value <= 1.0):
        raise ValueError(f"{where}: {name} must be a probability in [0, 1{')' if below_one else ']'}, got {value!r}")
    return value


def pair(where: str, name: str, value: Any) -> tuple:
    """``value`` as a tuple of exactly two items (e.g. Adam's ``betas``)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{where}: {name} must be a pair (a, b), got {_got(value)}")
    if len(value) != 2:
        raise ValueError(f"{where}: {name} must be a pair (a, b), got {len(value)} values: {tuple(value)!r}")
    return tuple(value)
