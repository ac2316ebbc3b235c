"""Labels: the text inside every box of a graph picture, safely escaped.

Every label is a Graphviz *HTML-like* label (``label=<...>``), so a name can hold anything —
quotes, braces, ``<``, ``>``, ``|``, backslashes, newlines, emoji — and still be drawn as typed:
:func:`text` escapes it once, here, for every box and edge of every picture.

Arrays are summarised the same way everywhere: the full values when there are only a few,
otherwise mean, standard deviation and norm.

Example:
    >>> text('a<b> & "c"|{d}')
    'a&lt;b&gt; &amp; &quot;c&quot;|{d}'
    >>> text("two\\nlines\\x00")
    'two<br/>lines\\\\x00'
    >>> import numpy as np
    >>> summary(np.array([1.0, -2.0]))
    '[1, -2]'
    >>> summary(np.ones((10, 10)))
    'mean 1 std 0 ‖·‖ 10'
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Arrays with at most this many elements are printed in full; larger ones are summarised.
FULL_VALUES = 6
_MAX_NAME = 48  # longer names are cut, with an ellipsis


def text(value: Any) -> str:
    """``value`` as text safe inside an HTML-like label: escaped, newlines as line breaks,
    unprintable characters shown as Python escapes (``\\x00``), very long text shortened."""
    raw = str(value)
    if len(raw) > _MAX_NAME:
        raw = raw[: _MAX_NAME - 1] + "…"
    out = []
    for char in raw:
        if char == "\n":
            out.append("<br/>")
        elif char.isprintable():
            out.append(html.escape(char))
        else:  # control characters, lone surrogates, unassigned code points
            out.append(html.escape(char.encode("unicode_escape", "backslashreplace").decode("ascii")))
    return "".join(out)


def number(x: float) -> str:
    """A float in 4 significant digits (``0.1235``, ``1.2e-07``)."""
    if x == 0:
        return "0"
    return f"{x:.4g}"


def summary(array: np.ndarray) -> str:
    """The values of a small array, or mean/std/norm of a large one."""
    array = np.asarray(array)
    if array.size <= FULL_VALUES:
        flat = [number(float(v)) if array.dtype.kind == "f" else str(v) for v in array.reshape(-1)]
        return flat[0] if array.ndim == 0 else "[" + ", ".join(flat) + "]"
    values = array.astype(np.float64)
    return f"mean {number(values.mean())} std {number(values.std())} ‖·‖ {number(norm(values))}"


def norm(array: np.ndarray) -> float:
    """The Euclidean (Frobenius) norm of an array of any shape."""
    return float(np.sqrt(np.sum(np.square(np.asarray(array, dtype=np.float64)))))


def shape(shape: Sequence[int]) -> str:
    """``(2, 4)``; ``()`` for a scalar."""
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def subscript(k: int | str) -> str:
    """``h`` + subscript(3) gives ``h₃``: time steps as in the equations."""
    return str(k).translate(str.maketrans("0123456789-+", "₀₁₂₃₄₅₆₇₈₉₋₊"))


def html_label(title: str, lines: Sequence[str] = (), note: str = "") -> str:
    """A box label: a bold ``title`` (already escaped) over smaller ``lines`` (already escaped),
    with an optional ``note`` in a small italic line (e.g. the backward visit number)."""
    rows = [f"<b>{title}</b>"] if title else []
    rows += [f'<font point-size="9">{line}</font>' for line in lines if line]
    if note:
        rows.append(f'<font point-size="9"><i>{note}</i></font>')
    cells = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{cells}</table>>'


def op_detail(ctx: Any) -> str:
    """What an op did beyond its name, when that helps a reader: ``[2]`` for ``x[2]``,
    ``.T`` for a transpose. Empty for most ops."""
    if ctx.name == "getitem":
        key = [k for k in getattr(ctx, "key", ()) if k is not Ellipsis]
        return "[" + ", ".join(_index_text(k) for k in key) + "]" if key else ""
    if ctx.name == "permute":
        axes = tuple(getattr(ctx, "axes", ()))
        return ".T" if axes == tuple(reversed(range(len(axes)))) else f"{axes}"
    return ""


def _index_text(k: Any) -> str:
    if isinstance(k, slice):
        start = "" if k.start is None else k.start
        stop = "" if k.stop is None else k.stop
        step = "" if k.step is None else f":{k.step}"
        return f"{start}:{stop}{step}"
    if hasattr(k, "shape"):
        return f"idx{shape(tuple(k.shape))}"
    return str(k)
