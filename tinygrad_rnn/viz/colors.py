"""Colour by gradient norm, on a log scale, with a legend.

Gradient norms along an unrolled recurrence span many orders of magnitude (that *is* the
vanishing/exploding gradient problem), so the colour follows log10 of the norm: faded grey-blue
for the smallest norms in the picture, through blue and purple, to red for the largest. Exact
zeros and non-finite values get their own colours, so they can never be mistaken for small.

Example:
    >>> scale = LogScale([1e-6, 1e-3, 1.0])
    >>> scale.color(1e-6), scale.color(1.0)
    ('#b0bec5', '#c62828')
    >>> scale.position(1e-3)
    0.5
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from . import labels

_ANCHORS = ((0xB0, 0xBE, 0xC5), (0x42, 0xA5, 0xF5), (0x7E, 0x57, 0xC2), (0xC6, 0x28, 0x28))
ZERO = "#9e9e9e"  # exactly zero: no gradient flows here
NONFINITE = "#ff00ff"  # NaN or Inf


class LogScale:
    """Maps gradient norms to colours and pen widths, log10-linearly between the extremes."""

    def __init__(self, norms: Iterable[float]):
        logs = [math.log10(x) for x in norms if x > 0 and math.isfinite(x)]
        self.low = min(logs, default=0.0)
        self.high = max(logs, default=0.0)

    def position(self, x: float) -> float | None:
        """0 for the smallest norm, 1 for the largest; None for zero or non-finite norms."""
        if not (x > 0 and math.isfinite(x)):
            return None
        if self.high == self.low:
            return 1.0
        return min(1.0, max(0.0, (math.log10(x) - self.low) / (self.high - self.low)))

    def color(self, x: float) -> str:
        """The colour of a norm (``#rrggbb``)."""
        if x == 0:
            return ZERO
        p = self.position(x)
        return NONFINITE if p is None else _mix(p)

    def fill(self, x: float) -> str:
        """A lighter colour for filling a box, so its text stays readable."""
        color = self.color(x)
        rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
        return "#" + "".join(f"{round(c + (255 - c) * 0.65):02x}" for c in rgb)

    def width(self, x: float) -> float:
        """Pen width of an edge: 1 for the smallest norm, 4 for the largest."""
        p = self.position(x)
        return 1.0 if p is None else round(1.0 + 3.0 * p, 2)

    def legend(self) -> str:
        """An HTML-like label: the colour key, from the smallest to the largest norm drawn."""
        steps = 5
        rows = []
        for i in range(steps):
            exponent = self.low + (self.high - self.low) * i / (steps - 1)
            x = 10**exponent
            rows.append(
                f'<tr><td bgcolor="{self.color(x)}" width="24"> </td>'
                f'<td align="left"><font point-size="9">{labels.number(x)}</font></td></tr>'
            )
        rows.append(f'<tr><td bgcolor="{ZERO}"> </td><td align="left"><font point-size="9">0</font></td></tr>')
        return (
            '<<table border="0" cellborder="0" cellspacing="2" cellpadding="2">'
            '<tr><td colspan="2"><b>‖gradient‖</b><br/><font point-size="9">log scale</font></td></tr>'
            + "".join(rows)
            + "</table>>"
        )


def _mix(p: float) -> str:
    """The colour at position ``p`` in [0, 1] along the anchors."""
    span = p * (len(_ANCHORS) - 1)
    i = min(int(span), len(_ANCHORS) - 2)
    f = span - i
    a, b = _ANCHORS[i], _ANCHORS[i + 1]
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b))
