"""Buffer planning for the array-level replay: a join of arrays the step makes becomes the buffer
they are written into.

A generic graph joins arrays where hand-written BPTT preallocates one: the T hidden states of a
layer (``concat``), the T gradients of the pre-activations (``stack``), an LSTM's four gate blocks
of dL/dz (``concat`` along the gate axis). Each join copies every element once more. The traced
function (trace.py) knows every array of the step, so it can do what the hand-written code does::

    r26 = tanh(r25)                       r37 = empty((96, 128), float32)   # before the first piece
    ...                           ->      r26 = tanh(r25, out=r37[0:32])    # written in place
    r37 = concatenate((r26, r32, r36))    ...                               # (the join is gone)

and a join of all of one such buffer's pieces, in order, is that buffer reshaped (the recurrent
weight's left factors, stacked again by :class:`~tinygrad_rnn.autograd.WeightTerms`)::

    r92 = concatenate([r86, r81, r76])    r92 = r87.reshape((96, 128))      # r87 = stack([r86, r81, r76])

Both change which arrays share memory, so each is made only when no one could tell: every piece
is a fresh array made by a ufunc or a join of the step (nothing from outside, no view), of the
join's dtype, used in no other join, and never stored as a gradient or returned; nothing writes
into a piece, the join, or a view of either once the join has run (before it, a write into a piece
writes into the buffer, which is what the join would have copied; a call whose result lies in an
argument's memory without being a view of it, ``np.dot(a, b, out)``, counts as a write); and the
memory is laid out as the trace saw it: the buffer's strides are the join's, and a piece's part of
the buffer has the piece's strides (else a reshape that was a view while tracing would be a copy
now, or the other way round, and the aliasing checked above would not be the function's), unless
only ufuncs touch the piece (an LSTM's gate blocks, strided parts of dL/dz). Otherwise the join
stays the copy it was; a join of all of a buffer's pieces is its reshape only when that buffer
was joined along axis 0, as the new join is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

JOINS = (np.concatenate, np.stack)


def _root(array: Any) -> int:
    """Which memory ``array`` is in: the id of the array that owns it."""
    while array.base is not None:
        array = array.base
    return id(array)


def _raws(spec: Any) -> list[int]:
    """Every raw slot a spec (trace.py's argument notation) names."""
    kind = spec[0]
    if kind == "r":
        return [spec[1]]
    if kind == "seq":
        return [raw for item in spec[2] for raw in _raws(item)]
    if kind == "dict":
        return [raw for item in spec[1].values() for raw in _raws(item)]
    return []


def _written(line: tuple) -> int | None:
    """The raw slot a "mutate" line writes into: ``out=``, or the first argument (``x[key] = v``, ``ufunc.at``)."""
    out = line[3][1].get("out")
    target = out if out is not None else line[2][2][0]
    if target[0] == "seq":
        target = target[2][0]
    return target[1] if target[0] == "r" else None


def _join_of(line: tuple) -> tuple[list[int], int] | None:
    """(the pieces, the axis) of a ``concatenate``/``stack`` line that could become a buffer, or None."""
    if line[0] != "call" or line[1] not in JOINS:
        return None
    args, kwargs = line[2][2], line[3][1]
    if len(args) != 1 or args[0][0] != "seq" or set(kwargs) - {"axis", "casting"}:
        return None
    pieces = [item[1] if item[0] == "r" else None for item in args[0][2]]
    axis = kwargs.get("axis", ("const", 0))
    if None in pieces or len(set(pieces)) != len(pieces) or axis[0] != "const" or type(axis[1]) is not int:
        return None
    return pieces, axis[1]


def _writes_out(line: tuple) -> bool:
    """Whether a "call" line's function can write its result into a given array (``out=``)."""
    fn, kwargs = line[1], line[3][1]
    return (isinstance(fn, np.ufunc) and not kwargs) or (fn in JOINS and _join_of(line) is not None)


#: Functions whose result may be a view of an argument (the same memory): any other function whose
#: result is in an argument's memory wrote into it (a positional ``out``, ``np.dot(a, b, c)``).
VIEWS = {"_getitem", "transpose", "matrix_transpose", "permute_dims", "reshape", "ravel", "astype", "asarray",
         "squeeze", "expand_dims", "moveaxis", "swapaxes", "broadcast_to", "diagonal", "real", "imag"}  # fmt: skip


def _writes(lines: list[tuple], alive: list) -> list[tuple[int, int]]:
    """(line number, memory root) of every write: a "mutate" line's target, and a call's result that
    lies in one of its arguments' memory without being a view of it."""
    writes = []
    for number, line in enumerate(lines):
        if line[0] == "mutate":
            raw = _written(line)
            if raw is not None:
                writes.append((number, _root(alive[raw])))
        elif line[0] == "call" and getattr(line[1], "__name__", "") not in VIEWS:
            root = _root(alive[line[4]])
            if any(_root(alive[raw]) == root for raw in _raws(line[2]) + _raws(line[3])):
                writes.append((number, root))
    return writes


def _uses(lines: list[tuple]) -> dict[int, list[int]]:
    """raw slot -> the numbers of the lines that read it or write into it."""
    uses: dict[int, list[int]] = {}
    for number, line in enumerate(lines):
        if line[0] in ("call", "mutate"):
            named = _raws(line[2]) + _raws(line[3])
        elif line[0] in ("guard", "store"):
            named = _raws(line[1] if line[0] == "guard" else line[2])
        elif line[0] == "slot":
            named = [line[2]]
        else:
            continue
        for raw in named:
            uses.setdefault(raw, []).append(number)
    return uses


def plan(lines: list[tuple], alive: list) -> list[tuple]:
    """``lines`` with the joins that can be made buffers so made (see the module docstring).

    ``alive[raw]`` is the traced array of each raw slot, as the trace saw it. New lines:
    ``("buffer", raw, shape, dtype)`` makes an empty array; ``("alias", raw, spec)`` names a part
    of one (``("view", raw, index)``: ``r[index]``, ``("reshape", raw, shape)``), which is also
    what a piece's ``out=`` is.
    """
    made_by = {line[4]: number for number, line in enumerate(lines) if line[0] == "call"}
    escaping = {_root(alive[raw]) for line in lines if line[0] in ("store", "slot")
                for raw in (_raws(line[2]) if line[0] == "store" else [line[2]])}  # fmt: skip
    writes = _writes(lines, alive)
    uses = _uses(lines)

    def same_layout(piece: int, index: tuple, probe: Any, number: int) -> bool:
        """Whether the piece, as a part of the buffer, behaves as the fresh array the trace saw:
        the same strides (so every reshape is a view or a copy as it was), or, for a part that is
        strided where the trace had a C-contiguous array (an LSTM's gate block), a piece that only
        ufuncs read or write, whose results are laid out alike either way."""
        strides, traced = probe[index].strides, alive[piece]
        if strides == traced.strides:
            return True
        if piece in defined or not traced.flags.c_contiguous or list(strides) != sorted(strides, reverse=True):
            return False
        return all(at == number or isinstance(lines[at][1], np.ufunc) for at in uses.get(piece, ()))

    def untouched_after(number: int, raws: list[int]) -> bool:
        roots = {_root(alive[raw]) for raw in raws}
        return not roots & escaping and not any(at > number and root in roots for at, root in writes)

    defined: dict[int, tuple] = {}  # raw -> its "buffer" or "alias" line, written before the line below
    defined_at: dict[int, int] = {}
    pieces_of: dict[int, list[int]] = {}  # a buffer joined along axis 0 -> its pieces, in order
    claimed: set[int] = set()  # pieces already written into a buffer
    out_of: dict[int, tuple] = {}  # a piece made by a call -> the ("view", buffer, index) it writes into
    replaced: dict[int, tuple | None] = {}  # line number -> its new line (None: gone)
    for number, line in enumerate(lines):
        join = _join_of(line)
        if join is None:
            continue
        pieces, axis = join
        raw, whole = line[4], alive[line[4]]
        if axis == 0 and line[1] is np.concatenate and _is_a_buffer_again(pieces, pieces_of, whole, alive):
            source = next(b for b, its in pieces_of.items() if its == pieces)
            if untouched_after(number, [raw, source, *pieces]):
                replaced[number] = ("alias", raw, ("reshape", source, whole.shape))
            continue
        views = _views(line[1], pieces, axis, alive)
        probe = np.empty(whole.shape, whole.dtype)  # the buffer's layout (never touched: no memory used)
        ok = (
            views is not None
            and probe.strides == whole.strides
            and all(p in made_by and p not in claimed and alive[p].dtype == whole.dtype for p in pieces)
            and all(_fresh(alive[p]) and _makes_fresh(p, defined, replaced, lines, made_by) for p in pieces)
            and all(same_layout(p, index, probe, number) for p, index in zip(pieces, views))
            and untouched_after(number, [raw, *pieces])
        )
        if not ok:
            continue
        claimed.update(pieces)
        if axis == 0:
            pieces_of[raw] = pieces
        for piece, index in zip(pieces, views):
            view = ("view", raw, index)
            if piece in defined:  # a join made a buffer earlier: now a part of this one
                defined[piece] = ("alias", piece, view)
            else:
                out_of[piece] = view
        defined[raw] = ("buffer", raw, whole.shape, whole.dtype)
        defined_at[raw] = min(defined_at.get(p, made_by[p]) for p in pieces)
        replaced[number] = None
    if not defined and not replaced:
        return lines
    before: dict[int, list] = {}
    for raw in sorted(defined, reverse=True):  # a buffer before the parts of it made from earlier joins
        before.setdefault(defined_at[raw], []).append(defined[raw])
    planned = []
    for number, line in enumerate(lines):
        planned += before.get(number, [])
        if number in replaced:
            if replaced[number] is not None:
                planned.append(replaced[number])
        elif line[0] == "call" and line[4] in out_of:
            kwargs = ("dict", {**line[3][1], "out": out_of[line[4]]})
            planned.append((*line[:3], kwargs, line[4]))
        else:
            planned.append(line)
    return planned


def _makes_fresh(piece: int, defined: dict, replaced: dict, lines: list, made_by: dict) -> bool:
    """Whether the piece's line, as planned so far, makes a new array that can be written anywhere: a
    ufunc or join that takes ``out=``, or a join made a buffer (not one made a view of another)."""
    if piece in defined:
        return True
    return made_by[piece] not in replaced and _writes_out(lines[made_by[piece]])


def _fresh(traced: Any) -> bool:
    """Whether a traced array owns its memory (it is the view of a plain result that owns its own)."""
    return traced.base is not None and traced.base.base is None


def _views(fn: Any, pieces: list[int], axis: int, alive: list) -> list[tuple] | None:
    """The index of each piece's part of the joined array, or None if the pieces' shapes do not say."""
    shapes = [alive[p].shape for p in pieces]
    before = (slice(None),) * axis
    if fn is np.stack:
        if axis < 0 or any(shape != shapes[0] for shape in shapes):
            return None
        return [(*before, k) for k in range(len(pieces))]
    if any(len(shape) <= axis for shape in shapes) or axis < 0:
        return None
    views, start = [], 0
    for shape in shapes:
        views.append((*before, slice(start, start + shape[axis])))
        start += shape[axis]
    return views


def _is_a_buffer_again(pieces: list[int], pieces_of: dict, whole: Any, alive: list) -> bool:
    """Whether ``concatenate(pieces)`` (axis 0) joins all of one planned buffer's pieces, in order."""
    for buffer, its in pieces_of.items():
        if its == pieces:
            return alive[buffer].size == whole.size
    return False
