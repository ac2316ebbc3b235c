"""The array-level tape: every NumPy call a replay makes, written down once and replayed as one
straight-line Python function.

A replay of a :class:`~tinygrad_rnn.compiler.tape.Tape` still runs the library's ops: each op's
``forward`` and ``backward`` method, the engine's gradient bookkeeping (a dict of gradients, the
checks at every edge, :class:`~tinygrad_rnn.autograd.WeightTerms` objects). That costs about a
microsecond of Python per op, however small the arrays: most of what separates a replay from
hand-written NumPy. So, on NumPy, the third call of a compiled step runs its replay once more
while a :class:`Tracer` watches the arrays themselves: every array of the replay is a
:class:`Traced` array (an ``ndarray`` subclass whose ufuncs, NumPy functions, indexing and
in-place updates are written down as they run), and the ops' namespace ``xp`` is one whose
functions are written down too. The list of calls becomes the source of one Python function,
one line per call::

    r21 = matmul(r5, r20)     # h W_hh^T
    r22 = add(r19, r21)       # + the step's input projection
    ...

From the fourth call on, that function *is* the forward and backward: no op, no Tensor, no dict
of gradients. What it cannot repeat stays with the op-level replay, decided while tracing:

* ``zero_grad``, the optimizer's ``step`` and the storing of ``.grad`` stay calls of the tape's own
  entries (a scheduler's lr, Adam's step count are read at each replay, as before);
* a Python decision on array *values* (``if bool(...)``) becomes a guard: the function checks it
  again and, when it turns out otherwise, stops before anything it did is visible, and the call
  runs the op-level replay instead (which raises the op's own clear error, say for a class index
  out of range). Any other read of values (``int()``, ``float()``, ``.item()``) makes the trace
  unusable: the step keeps its op-level replay;
* so does any array the trace cannot account for (made outside the watched namespace, an output
  buffer that is no array of the trace), a random draw (dropout), another array library, or a
  tape too long to write out as one function (:data:`LIMIT` calls).

Every such case is simply "not traced": the op-level replay is always there, and gives the same
numbers (the same calls, in the same order).
"""

from __future__ import annotations

import keyword
import math
import re
import threading
import types
from typing import Any

import numpy as np

from . import joins

#: The most array calls written out as one function (a T = 5000 loop would make a function of
#: 100 000 lines: Python compiles that slowly, and its op-level replay is fast enough already).
LIMIT = 20_000

_active = threading.local()  # .tracer: the Tracer of this thread's tracing replay, if any


class GuardFailed(Exception):
    """A value-dependent decision of the traced replay came out otherwise: replay op by op instead."""


def _tracer() -> Tracer | None:
    return getattr(_active, "tracer", None)


def plain(x: Any) -> Any:
    """``x`` as a plain ndarray (the same memory) if it is Traced."""
    return x.view(np.ndarray) if isinstance(x, Traced) else x


def _plain_all(x: Any) -> Any:
    if isinstance(x, Traced):
        return x.view(np.ndarray)
    if type(x) in (tuple, list):
        return type(x)(_plain_all(item) for item in x)
    return x


class Traced(np.ndarray):
    """An ndarray whose every operation, while a :class:`Tracer` runs, is written down."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        call = ufunc if method == "__call__" else getattr(ufunc, method)
        result = call(*_plain_all(inputs), **{k: _plain_all(v) for k, v in kwargs.items()})
        tracer = _tracer()
        if tracer is None:
            return result
        if method == "at":  # np.add.at(target, index, values): changes its first input in place
            return tracer.mutate(call, inputs, kwargs, inputs[0])
        return tracer.call(call, inputs, kwargs, result)

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        tracer = _tracer()
        if tracer is None:
            return func(*_plain_all(args), **{k: _plain_all(v) for k, v in kwargs.items()})
        return tracer.function(func, args, kwargs)

    def __getitem__(self, key: Any) -> Any:
        result = plain(self)[_plain_all(key)]
        tracer = _tracer()
        return result if tracer is None else tracer.call(_getitem, (self, key), {}, result)

    def __setitem__(self, key: Any, value: Any) -> None:
        plain(self)[_plain_all(key)] = plain(value)
        tracer = _tracer()
        if tracer is not None:
            tracer.mutate(_setitem, (self, key, value), {}, self)

    def reshape(self, *shape: Any, **kwargs: Any) -> Any:
        return self._method(np.ndarray.reshape, shape, kwargs)

    def astype(self, *args: Any, **kwargs: Any) -> Any:
        return self._method(np.ndarray.astype, args, kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        return self._method(np.ndarray.copy, args, kwargs)

    def _method(self, method: Any, args: tuple, kwargs: dict) -> Any:
        result = method(plain(self), *_plain_all(args), **kwargs)
        tracer = _tracer()
        return result if tracer is None else tracer.call(method, (self, *args), kwargs, result)

    @property
    def T(self) -> Any:  # noqa: N802 - NumPy's name
        return self._method(_transpose, (), {})

    @property
    def mT(self) -> Any:  # noqa: N802 - NumPy's name
        return self._method(_matrix_transpose, (), {})

    # --- reading values: a guard for a yes/no decision, the end of the trace for anything else
    def __bool__(self) -> bool:
        value = bool(plain(self))
        tracer = _tracer()
        if tracer is not None:
            tracer.guard(self, value)
        return value

    def _value_read(self, what: str) -> None:
        tracer = _tracer()
        if tracer is not None:
            tracer.refuse(f"{what} read an array's value")

    def __int__(self) -> int:
        self._value_read("int()")
        return int(plain(self))

    def __float__(self) -> float:
        self._value_read("float()")
        return float(plain(self))

    def __index__(self) -> int:
        self._value_read("an index")
        return plain(self).__index__()

    def item(self, *args: Any) -> Any:
        self._value_read(".item()")
        return plain(self).item(*args)

    def tolist(self) -> Any:
        self._value_read(".tolist()")
        return plain(self).tolist()


def _refusing_in_place(name: str) -> Any:
    """A method of ``Traced`` that changes the array in place where no line could repeat it (``fill``,
    ``sort``): it runs, and the trace is refused."""

    def method(self: Traced, *args: Any, **kwargs: Any) -> Any:
        tracer = _tracer()
        if tracer is not None:
            tracer.refuse(f".{name}() changed an array in place")
        return getattr(plain(self), name)(*args, **kwargs)

    method.__name__ = name
    return method


def _refusing_out(name: str, out_position: int) -> Any:
    """A method of ``Traced`` that NumPy runs without a ufunc (``take``, ``dot``): given an ``out``
    (by keyword or at ``out_position``), it writes into an array where no line repeats it, and the
    trace is refused; without one, its result is an array the trace did not see made (refused
    where it is used)."""

    def method(self: Traced, *args: Any, **kwargs: Any) -> Any:
        tracer = _tracer()
        if tracer is not None and (kwargs.get("out") is not None or len(args) > out_position):
            tracer.refuse(f".{name}(out=...) changed an array in place")
        return getattr(np.ndarray, name)(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in ("fill", "sort", "partition", "put", "itemset", "resize", "setfield", "byteswap"):
    setattr(Traced, _name, _refusing_in_place(_name))
for _name, _position in (("take", 2), ("dot", 1), ("choose", 1), ("compress", 2)):
    setattr(Traced, _name, _refusing_out(_name, _position))


def _flat(self: Traced) -> Any:
    tracer = _tracer()
    if tracer is not None:
        tracer.refuse(".flat used (its writes and reads are no calls the trace sees)")
    return plain(self).flat


def _set_flat(self: Traced, value: Any) -> None:
    _flat(self)
    plain(self).flat = value


def _set_shape(self: Traced, shape: Any) -> None:
    tracer = _tracer()
    if tracer is not None:
        tracer.refuse("an array's .shape was set in place")
    np.ndarray.shape.__set__(self, shape)


Traced.flat = property(_flat, _set_flat)
Traced.shape = property(np.ndarray.shape.__get__, _set_shape)


def _getitem(x: Any, key: Any) -> Any:
    return x[key]


def _setitem(x: Any, key: Any, value: Any) -> None:
    x[key] = value


def _transpose(x: Any) -> Any:
    return x.T


def _matrix_transpose(x: Any) -> Any:
    return x.mT


_transpose.__name__, _matrix_transpose.__name__ = "transpose", "matrix_transpose"  # as the source shows them


def _as_array(call: Any) -> Any:
    """``call``, returning a 0-d array where NumPy returns a scalar (as the trace saw it)."""

    def as_array(*args: Any, **kwargs: Any) -> Any:
        return np.asarray(call(*args, **kwargs))

    as_array.__name__ = getattr(call, "__name__", "call")
    return as_array


class TracingNamespace(types.SimpleNamespace):
    """The ops' ``xp`` while tracing: the NumPy namespace, its functions written down as they run."""

    def __init__(self, xp: Any):
        super().__init__()
        self._xp = xp

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._xp, name)
        if not callable(value) or isinstance(value, type):  # dtypes, constants, submodules: as they are
            return value

        def traced(*args: Any, **kwargs: Any) -> Any:
            tracer = _tracer()
            if tracer is None:
                return value(*args, **kwargs)
            return tracer.function(value, args, kwargs)

        setattr(self, name, traced)
        return traced


class Tracer:
    """Writes down a replay's array calls; :meth:`function` turns them into one Python function.

    Values are *raw slots*: the replay's inputs (read from the op-level tape's slots at each run),
    and the result of every call. An entry is a call of a function on slots and constants.
    """

    def __init__(self) -> None:
        self.slot_of: dict[int, int] = {}  # id(Traced) -> raw slot
        self.alive: list = []  # every Traced written down (so that no id is reused while tracing)
        self.inputs: dict[int, int] = {}  # raw slot -> the op-level slot it is read from
        self.produced: set[int] = set()  # raw slots made by a call (the only ones a call may change)
        self.lines: list[tuple] = []  # ("call", fn, args, kwargs, out) | ("mutate", fn, args, kwargs)
        # | ("guard", slot, value) | ("entry", index) | ("store", ref, slot, owned) | ("slot", slot, raw)
        self.refused: str | None = None
        self.unguarded_effects = False  # an entry with effects has run: a later guard could not undo it
        self.count = 0
        self.in_forward = False  # an op's forward entry is running (its output must be traced)

    # --- values ------------------------------------------------------------------------------
    def input(self, array: Any, slot: int) -> Traced:
        traced = self._new(array)
        self.inputs[self.slot_of[id(traced)]] = slot
        return traced

    def _new(self, array: Any) -> Traced:
        traced = array.view(Traced)
        self.slot_of[id(traced)] = len(self.alive)
        self.alive.append(traced)
        return traced

    def refuse(self, why: str) -> None:
        if self.refused is None:
            self.refused = why

    def spec(self, x: Any) -> Any:
        """How an argument is written: ("r", raw slot), a constant, or a tuple/list/dict of those."""
        if isinstance(x, Traced):
            raw = self.slot_of.get(id(x))
            if raw is None:
                self.refuse(f"an array of shape {x.shape} came from a call the trace does not see")
                return ("const", None)
            return ("r", raw)
        if isinstance(x, np.ndarray):  # an array from outside the trace: it could be stale next time
            self.refuse(f"an array of shape {x.shape} was made outside the traced namespace")
            return ("const", None)
        if isinstance(x, np.generic):  # a value read by a method the trace does not see (argmax())
            self.refuse(f"a NumPy scalar {x!r} came from a call the trace does not see")
            return ("const", None)
        if type(x) in (tuple, list):
            return ("seq", type(x), [self.spec(item) for item in x])
        if type(x) is dict:
            return ("dict", {k: self.spec(v) for k, v in x.items()})
        return ("const", x)

    # --- calls -------------------------------------------------------------------------------
    def call(self, fn: Any, args: tuple, kwargs: dict, result: Any) -> Any:
        """A call that returns a new value (or, given ``out=``, fills one of the trace's arrays)."""
        self.count += 1
        out = kwargs.get("out")
        if out is not None:
            target = out[0] if type(out) is tuple else out
            if type(out) is tuple and len(out) != 1:
                self.refuse(f"{getattr(fn, '__name__', fn)} with several outputs")
            self._check_mutable(target, fn)
            self.lines.append(("mutate", fn, self.spec(args), self.spec(kwargs)))
            return target
        if isinstance(result, np.generic):
            fn, result = _as_array(fn), np.asarray(result)
        if not isinstance(result, np.ndarray):
            if isinstance(result, (tuple, list)) and any(isinstance(item, np.ndarray) for item in result):
                self.refuse(f"{getattr(fn, '__name__', fn)} returned several arrays")
            return result  # a Python value (a shape, a dtype test): it depends on shapes only
        traced = self._new(result)
        raw = self.slot_of[id(traced)]
        self.produced.add(raw)
        self.lines.append(("call", fn, self.spec(args), self.spec(kwargs), raw))
        return traced

    def function(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        """A NumPy function (through ``__array_function__`` or the traced namespace). An ``out=``
        that is no array of the trace (a thread's scratch buffer) is left out: the result is new."""
        out = kwargs.get("out")
        if out is not None and not (isinstance(out, Traced) and self.slot_of.get(id(out)) in self.produced):
            kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        result = fn(*_plain_all(args), **{k: _plain_all(v) for k, v in kwargs.items()})
        if result is None:  # np.copyto, np.put, ...: an argument changed in place, which no line repeats
            self.refuse(f"{getattr(fn, '__name__', fn)} returned nothing (it changes an argument in place)")
        return self.call(fn, args, kwargs, result)

    def mutate(self, fn: Any, args: tuple, kwargs: dict, target: Any) -> Any:
        """A call that changes ``target`` in place (``x[key] = value``, ``np.add.at``)."""
        self.count += 1
        self._check_mutable(target, fn)
        self.lines.append(("mutate", fn, self.spec(args), self.spec(kwargs)))
        return target

    def _check_mutable(self, target: Any, fn: Any) -> None:
        raw = self.slot_of.get(id(target)) if isinstance(target, Traced) else None
        if raw not in self.produced:  # an input, a constant, or an array from elsewhere
            self.refuse(f"{getattr(fn, '__name__', fn)} changed an array the trace did not make")

    def guard(self, x: Traced, value: bool) -> None:
        if self.unguarded_effects:
            self.refuse("a decision on an array's value came after gradients were stored")
        self.lines.append(("guard", self.spec(x), value))

    # --- the op-level tape's own entries -----------------------------------------------------
    def entry(self, index: int, has_effects: bool) -> None:
        """The op-level program's entry ``index`` runs as it is (zero_grad, an optimizer step)."""
        self.lines.append(("entry", index))
        self.unguarded_effects |= has_effects

    def store(self, ref: Any, g: Any, owned: bool) -> None:
        """A gradient stored into ``.grad`` (the engine's ``_store_grad``), by the tape's leaf ``ref``."""
        self.lines.append(("store", ref, self.spec(g), owned))
        self.unguarded_effects = True

    def grad_slots(self, pairs: list) -> None:
        self.lines.append(("grad_slots", pairs))

    def slot(self, slot: int, value: Any) -> None:
        """The op-level slot ``slot`` now holds ``value`` (an op's output)."""
        if isinstance(value, Traced):
            self.lines.append(("slot", slot, self.spec(value)[1]))
        elif self.in_forward:  # an op's output the trace did not see made (Python operators on plain arrays)
            self.refuse("an op's output came from arrays the trace does not see")
        # (otherwise a plain value is a tape entry's own write, which the entry makes again)

    # --- the function ------------------------------------------------------------------------
    def compile(self, kept_slots: Any = None) -> tuple[Any, str | None]:
        """(the replay function, None), or (False, why not) when the trace cannot be replayed.

        ``kept_slots``: the op-level slots the function must fill (what the step returns); None, all.
        Every other op output lives only as long as the arrays need it, as in hand-written NumPy (the
        tape recomputes the forward values if :meth:`Compiled.graph` asks for them).
        """
        if self.refused is None and self.count > LIMIT:
            self.refuse(f"{self.count} array calls, more than trace.LIMIT = {LIMIT}")
        if self.refused is not None:
            return False, self.refused
        if kept_slots is not None:
            self.lines = [line for line in self.lines if line[0] != "slot" or line[1] in kept_slots]
        self.lines = joins.plan(self.lines, self.alive)
        source, names = self.source()
        try:
            code = compile(source, "<tinygrad_rnn.compile: array-level replay>", "exec")
        except (SyntaxError, ValueError, MemoryError) as error:  # a constant we cannot write: stay op by op
            return False, f"its source did not compile ({error})"
        exec(code, names)  # noqa: S102 - our own generated source: one line per recorded call
        run = names["run"]
        run.source = source
        return run, None

    def source(self) -> tuple[str, dict]:
        """The replay function's source and its globals: ``run(v, args, entries, store, leaf_of)``."""
        names: dict = {}
        by_id: dict[int, str] = {}

        def constant(value: Any) -> str:
            if value is None or value is Ellipsis or type(value) in (bool, int, str):
                return "..." if value is Ellipsis else repr(value)
            if type(value) is float and math.isfinite(value):
                return repr(value)
            name = by_id.get(id(value))
            if name is None:
                name = by_id[id(value)] = _name_for(value, names)
                names[name] = value
            return name

        def write(spec: Any) -> str:
            kind = spec[0]
            if kind == "r":
                return f"r{spec[1]}"
            if kind == "const":
                return constant(spec[1])
            if kind == "dict":
                return "{" + ", ".join(f"{k!r}: {write(v)}" for k, v in spec[1].items()) + "}"
            if kind == "view":  # a part of a buffer (joins.py)
                return f"r{spec[1]}[{_index_text(spec[2])}]"
            if kind == "reshape":
                return f"r{spec[1]}.reshape({spec[2]!r})"
            inner = "".join(write(item) + ", " for item in spec[2])
            return f"({inner})" if spec[1] is tuple else f"[{inner}]"

        def arguments(args: Any, kwargs: Any) -> str:
            return ", ".join([write(a) for a in args[2]] + [f"{k}={write(v)}" for k, v in kwargs[1].items()])

        dying, used = self._last_uses()
        body = [f"    r{raw} = v[{slot}]" for raw, slot in self.inputs.items() if raw in used]
        for number, line in enumerate(self.lines):
            kind = line[0]
            if kind in ("call", "mutate"):
                fn, args, kwargs = line[1], line[2], line[3]
                if fn is _getitem:
                    text = f"{write(args[2][0])}[{write(args[2][1])}]"
                elif fn is _setitem:
                    text = f"{write(args[2][0])}[{write(args[2][1])}] = {write(args[2][2])}"
                else:
                    text = f"{constant(fn)}({arguments(args, kwargs)})"
                body.append(f"    r{line[4]} = {text}" if kind == "call" else f"    {text}")
            elif kind == "guard":
                body.append(f"    if {'not ' if line[2] else ''}{write(line[1])}:\n        raise GuardFailed")
            elif kind == "entry":
                body.append(f"    entries[{line[1]}](v, args)")
            elif kind == "store":
                body.append(f"    store(leaf_of({constant(line[1])}, args), {write(line[2])}, {line[3]})")
            elif kind == "grad_slots":
                for slot, ref in line[1]:
                    body.append(f"    v[{slot}] = leaf_of({constant(ref)}, args).grad.data")
            elif kind == "slot":
                body.append(f"    v[{line[1]}] = r{line[2]}")
            elif kind == "buffer":
                body.append(f"    r{line[1]} = {constant(np.empty)}({line[2]!r}, {constant(line[3])})")
            elif kind == "alias":
                body.append(f"    r{line[1]} = {write(line[2])}")
            if number in dying:
                body.append("    del " + ", ".join(f"r{raw}" for raw in dying[number]))
        names["GuardFailed"] = GuardFailed
        return "def run(v, args, entries, store, leaf_of):\n" + "\n".join(body or ["    pass"]) + "\n", names

    def _last_uses(self) -> tuple[dict, set]:
        """({line number: raw slots used for the last time there}, every raw slot used): a value is
        freed right after its last use, as eagerly."""
        last: dict[int, int] = {}

        def walk(spec: Any, number: int) -> None:
            if spec[0] == "r":
                last[spec[1]] = number
            elif spec[0] == "seq":
                for item in spec[2]:
                    walk(item, number)
            elif spec[0] == "dict":
                for item in spec[1].values():
                    walk(item, number)
            elif spec[0] in ("view", "reshape"):
                last[spec[1]] = number

        for number, line in enumerate(self.lines):
            kind = line[0]
            if kind == "call":
                walk(line[2], number)
                walk(line[3], number)
                last.setdefault(line[4], number)  # a result never used dies where it is made
            elif kind == "mutate":
                walk(line[2], number)
                walk(line[3], number)
            elif kind in ("guard", "store"):
                walk(line[1] if kind == "guard" else line[2], number)
            elif kind == "slot":
                last[line[2]] = number
            elif kind == "buffer":
                last.setdefault(line[1], number)
            elif kind == "alias":
                walk(line[2], number)
                last.setdefault(line[1], number)
        by_line: dict[int, list] = {}
        for raw, number in last.items():
            by_line.setdefault(number, []).append(raw)
        return by_line, set(last)


def _index_text(index: tuple) -> str:
    """An index of ints and slices as Python writes it: ``(slice(None), slice(0, 32))`` -> ``:, 0:32``."""

    def one(item: Any) -> str:
        if type(item) is int:
            return str(item)
        start, stop = "" if item.start is None else item.start, "" if item.stop is None else item.stop
        return f"{start}:{stop}"

    return ", ".join(one(item) for item in index)


_TAKEN = {"v", "args", "entries", "store", "leaf_of", "run", "GuardFailed"}


def _name_for(value: Any, names: dict) -> str:
    """A readable global name for a constant of the function: a NumPy function by its own name
    (``tanh``, ``add_reduce``, ``matmul``), anything else ``k0``, ``k1``, ..."""
    name = getattr(value, "__name__", None) if callable(value) and not isinstance(value, type) else None
    if isinstance(value, np.dtype):
        name = str(value)  # float32
    owner = getattr(value, "__self__", None)
    if name and isinstance(owner, np.ufunc):
        name = f"{owner.__name__}_{name}"
    if not name or not name.isidentifier() or keyword.iskeyword(name) or name in _TAKEN or re.fullmatch(r"r\d+", name):
        name = "k"
    candidate, number = name, 1
    while candidate in names or candidate == "k":
        candidate, number = f"{name}{number}", number + 1
    return candidate


class TracingSlots(list):
    """The op-level replay's slots while tracing: an op's output written into a slot is noted (the
    function writes it too, for the step's result and :meth:`Compiled.graph`), and a stored
    gradient goes through :meth:`keep_grad`, which writes the store down."""

    def __init__(self, values: list, tracer: Tracer):
        super().__init__()
        self.tracer = tracer
        for slot, value in enumerate(values):
            self.append(tracer.input(value, slot) if type(value) is np.ndarray else value)

    def __setitem__(self, slot: Any, value: Any) -> None:
        list.__setitem__(self, slot, value)
        self.tracer.slot(slot, value)

    def keep_grad(self, ref: Any, args: list, g: Any, owned: bool) -> None:
        from ..autograd import _store_grad
        from .tape import leaf_of

        self.tracer.store(ref, g, owned)
        _store_grad(leaf_of(ref, args), plain(g), owned)


def trace_active(tracer: Tracer | None) -> None:
    """Make ``tracer`` this thread's tracer (None: stop tracing)."""
    _active.tracer = tracer
