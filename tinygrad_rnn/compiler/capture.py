"""The capture: run the step once, eagerly, while a :class:`Recorder` writes down what it does.

The engine's hooks (see :mod:`tinygrad_rnn.recording`) tell the recorder each op, backward node,
optimizer update and ``zero_grad``; the recorder gives every array a slot and turns each event
into a program entry of a :class:`~tinygrad_rnn.compile.tape.Tape`.

What would make a replay silently wrong is caught here, while it happens. During the capture
every tensor the step touches is *watched* (its class is swapped for a subclass whose ``data``
is a property; the original class is put back at the end): reading or writing ``.data`` from
anywhere but the engine means the step used a tensor's value as Python data (``.item()``,
``float()``, ``if loss > 0:``, ``.numpy()``, ``print``, a hand-written update ``w.data -= ...``),
which the tape cannot repeat. That is a :class:`CaptureError` naming the line, except for an
integer argument that needs no gradient (class indices, token ids, lengths): its contents then
become one of the tape's guards (new contents: a new capture). Random numbers drawn outside an
op (``tg.randn`` inside the step) would be frozen too, and are an error as well; dropout draws its
mask inside its op, so each replay draws a new one.
"""

from __future__ import annotations

import linecache
import os
import sys
import threading
from typing import Any

from .. import autograd, recording
from .. import tensor as _tensor
from ..backend import dtype_name
from ..function import Function, _common_dtype, operand_arrays
from ..nn import functional as _functional
from ..nn.module import clear_grads
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from . import tape as _tape
from .guards import Guards, Reach

_DATA = Tensor.__dict__["data"]  # the slot itself, read and written without the watch
_LIBRARY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CaptureError(RuntimeError):
    """The step did something a tape cannot replay; the message says what and what to change."""


# --- reading .data: the engine may, the step's own code may not ---------------------------------
#: Engine code that reads ``.data`` and whose effect the tape records (or that reads only shapes).
_ENGINE = {
    Function.apply.__func__.__code__,
    Tensor.shape.fget.__code__,
    Tensor.ndim.fget.__code__,
    Tensor.dtype.fget.__code__,
    Tensor.backward.__code__,
    Tensor.detach.__code__,  # the cut tensor shares the array: the tape finds its slot by the array
    autograd._backward.__code__,
    autograd._accumulate.__code__,
    autograd._dense.__code__,
    autograd._store_grad.__code__,
    autograd.observe_backward.__code__,
    Optimizer.step.__code__,
    clear_grads.__code__,
    _functional._check_range.__code__,  # a range check: only decides whether to raise
}
_VIA_APPLY = {operand_arrays.__code__, _common_dtype.__code__}  # engine only when called by an op
_READS = {"item": ".item()", "numpy": ".numpy()", "tolist": ".tolist()", "__bool__": "bool() (an if on a tensor)",
          "__float__": "float()", "__int__": "int()", "__repr__": "repr() / print"}  # fmt: skip


def _allowed(frame: Any) -> bool:
    while frame.f_code.co_name in ("<listcomp>", "<genexpr>", "<dictcomp>") and frame.f_back is not None:
        frame = frame.f_back  # a comprehension's frame: judge the function it is in
    code = frame.f_code
    if code in _ENGINE:
        return True
    if code in _VIA_APPLY:
        return frame.f_back is not None and frame.f_back.f_code in _ENGINE
    return isinstance(frame.f_locals.get("self"), Function)  # an op's forward: its tensor parameters are slots


def _user_line(frame: Any) -> tuple[str, str]:
    """The first frame outside the library (the step's own line) and the library call it made."""
    entry = ""
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_LIBRARY):
        entry = _READS.get(frame.f_code.co_name, entry)
        frame = frame.f_back
    if frame is None:
        return "inside the library", entry
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}: {line}", entry


def _get(self: Tensor) -> Any:
    recorder = recording.recorder
    if recorder is not None:
        frame = sys._getframe(1)
        if frame.f_code not in _ENGINE and not _allowed(frame):
            recorder.data_used(self, frame, "read")
    return _DATA.__get__(self)


def _set(self: Tensor, value: Any) -> None:
    recorder = recording.recorder
    if recorder is not None and sys._getframe(1).f_code is not Optimizer.step.__code__:
        recorder.data_used(self, sys._getframe(1), "written")
    _DATA.__set__(self, value)


def _get_grad(self: Tensor) -> Any:
    return self.__dict__.get("grad")


def _set_grad(self: Tensor, value: Any) -> None:
    """``t.grad = ...`` during capture. For a tensor the step made (an intermediate kept by
    retain_grad(), a leaf made in the step), the step's own code clearing it is a zero_grad the
    tape repeats; setting it to anything else would not be repeated, and fails."""
    recorder = recording.recorder
    if recorder is not None and recorder.mine() and self.id >= recorder.first_id:
        frame = sys._getframe(1)
        if frame.f_code not in _ENGINE:
            if value is None:
                recorder.clear_grad(self, True)
            else:
                where, _ = _user_line(frame)
                recorder.fail(f"the .grad of a tensor the step made was set during capture ({where})",
                              "the replay would not repeat that: set it to None (which is repeated) or read "
                              "the gradient after the call")  # fmt: skip
    self.__dict__["grad"] = value


_WATCHED: dict[type, type] = {}


def watched_class(cls: type) -> type:
    """``cls`` with ``data`` as a property that reports use outside the engine (same layout)."""
    watched = _WATCHED.get(cls)
    if watched is None:
        watched = type(
            cls.__name__,
            (cls,),
            {
                "__slots__": (),
                "data": property(_get, _set),
                "grad": property(_get_grad, _set_grad),
                "__module__": cls.__module__,
            },  # fmt: skip
        )
        _WATCHED[cls] = watched
    return watched


# --- the recorder ----------------------------------------------------------------------------------
class Recorder:
    """Receives the engine's events during one capture and builds the :class:`Tape`."""

    def __init__(self, args: list, reach: Reach, fallback: bool):
        self.thread = threading.get_ident()
        self.first_id = next(_tensor._ids)  # tensors with a smaller id existed before the capture
        self.reach, self.fallback = reach, fallback
        self.names = reach.parameter_names()
        self.values: list = []  # the capture's array of each slot
        self.labels: list[str] = []  # how the dump names each slot
        self.slot_of: dict[int, int] = {}  # id(tensor) -> slot
        self.slot_of_array: dict[int, int] = {}  # id(array) -> slot (a detached tensor shares its array)
        self.keep: list = []  # everything whose id is a key above stays alive
        self.produced: set[int] = set()  # ids of tensors made by recorded ops
        self.live: list = []
        self.arg_slots: list = []
        self.program: list = []
        self.lines: list[str] = []
        self.graph: dict[int, Tensor] = {}
        self.made_leaves: dict[int, Tensor] = {}  # slot -> a leaf made by the step that takes a gradient
        self.watched: list = []
        self.touched: dict[int, tuple] = {}  # id(leaf) -> (leaf, how the step first used its .grad, grad was None)
        self.value_guards: dict[int, Any] = {}
        self.optimizers: dict[int, Optimizer] = {id(opt): opt for opt in reach.optimizers}
        self.backward_pending: Any = None
        self.error: CaptureError | None = None
        self.args = args
        for position, tensor in enumerate(args):
            if id(tensor) not in self.slot_of:
                slot = self.new_slot(tensor, f"x{position}")
                self.arg_slots.append((slot, position))
                self.watch(tensor)
        for tensor in reach.tensors():
            self.watch(tensor)

    # --- slots ------------------------------------------------------------------------------------
    def new_slot(self, tensor: Tensor, label: str) -> int:
        slot = len(self.values)
        array = _DATA.__get__(tensor)
        self.values.append(array)
        self.labels.append(label)
        self.slot_of[id(tensor)] = slot
        self.slot_of_array[id(array)] = slot
        self.keep.append(tensor)
        return slot

    def source(self, tensor: Tensor) -> int:
        """The slot of a tensor an op reads: made in the step, an argument, from before the step
        (read at each replay), or else a constant made during the capture."""
        slot = self.slot_of.get(id(tensor))
        if slot is not None:
            return slot
        slot = self.slot_of_array.get(id(_DATA.__get__(tensor)))
        if slot is not None:
            self.slot_of[id(tensor)] = slot
            self.keep.append(tensor)
            return slot
        if tensor.id < self.first_id:
            slot = self.new_slot(tensor, self.names.get(id(tensor)) or tensor.name or f"t{len(self.values)}")
            self.live.append((slot, tensor))
            self.watch(tensor)
            return slot
        slot = self.new_slot(tensor, f"c{len(self.values)}")
        if tensor.requires_grad:  # a leaf the step makes: its .grad is each call's own (see Tape)
            self.made_leaves[slot] = tensor
            self.watch(tensor)
        return slot

    def watch(self, tensor: Tensor) -> None:
        cls = type(tensor)
        if cls not in _WATCHED.values():
            self.watched.append((tensor, cls))
            tensor.__class__ = watched_class(cls)

    def restore(self) -> None:
        for tensor, cls in reversed(self.watched):
            tensor.__class__ = cls
        self.watched.clear()

    def label(self, slot: int) -> str:
        return f"{self.labels[slot]} {_tape.describe(self.values[slot])}"

    def mine(self) -> bool:
        return threading.get_ident() == self.thread

    # --- the engine's events ----------------------------------------------------------------------
    def op(self, ctx: Function, inputs: tuple, params: dict, result: Tensor) -> None:
        if not self.mine():
            return
        ins = tuple(self.source(t) for t in inputs)
        build = self.tensor_params(params)
        out = self.new_slot(result, f"v{len(self.values)}")
        self.produced.add(id(result))
        self.graph[out] = result
        scalar = _DATA.__get__(result).ndim == 0
        self.program.append(_tape.forward_call(ctx, ins, dict(params), out, build, scalar))
        self.lines.append((self.op_line, (ctx, ins, params, out)))  # written only if the dump is asked for
        self.watch(result)

    def op_line(self, ctx: Function, ins: tuple, params: dict, out: int) -> str:
        shown = ", ".join(self.label(i) for i in ins)
        extra = "".join(f", {k}={_short(v)}" for k, v in params.items())
        where = f"   [{ctx.scope}]" if ctx.scope else ""
        return f"{self.labels[out]} = {ctx.name}({shown}{extra}) -> {_tape.describe(self.values[out])}{where}"

    def tensor_params(self, params: dict) -> Any:
        """A function rebuilding ``params`` from slots, when they hold tensors (``x[idx]``'s index)."""
        found = {key for key, value in params.items() if _holds_tensor(value)}
        if not found:
            return None
        specs = {key: self.param_spec(value) for key, value in params.items()}

        def build(v):
            return {key: _rebuild(spec, v) for key, spec in specs.items()}

        return build

    def param_spec(self, value: Any) -> Any:
        if isinstance(value, Tensor):
            return ("slot", self.source(value))
        if isinstance(value, tuple):
            return ("tuple", tuple(self.param_spec(item) for item in value))
        return ("const", value)

    def backward(self, root: Tensor, seed: Any, on_edge: Any) -> None:
        if not self.mine():
            return
        if on_edge is not None:
            self.fail("a backward pass with an observer (bptt tools, draw_graph's gradients) ran inside the step",
                      "call those on the step's graph after the call (see Compiled.graph)")  # fmt: skip
        slot = self.slot_of_array.get(id(seed))
        if slot is None:
            slot = len(self.values)
            self.values.append(seed)
            self.labels.append(f"c{slot}")
        self.backward_pending = (id(root), slot, [], [])
        self.lines.append(f"backward from {self.label(self.slot_of.get(id(root), slot))}, seed {self.label(slot)}")

    def backward_node(self, tensor: Tensor) -> None:
        if not self.mine() or self.backward_pending is None:
            return
        ctx = tensor._ctx
        if ctx is not None and id(tensor) not in self.produced:
            self.fail(
                f"backward reached a tensor made by '{ctx.name}' before the capture (the graph of an earlier step)",
                "detach state carried over from earlier steps (h = h.detach()), or pass it in as an argument",
            )
        nodes, stores = self.backward_pending[2], self.backward_pending[3]
        store = None
        if ctx is None or tensor._retains_grad:
            position = next((p for s, p in self.arg_slots if self.args[p] is tensor), None)
            store = tensor if position is None else position
            stores.append(store)
            self.touch(tensor, "backward")
        parents = [(i, p) for i, p in enumerate(ctx.inputs) if p.requires_grad] if ctx is not None else []
        nodes.append((id(tensor), ctx, store, parents))
        self.keep.append(tensor)
        self.lines.append((self.node_line, (tensor, ctx, parents, store)))

    def node_line(self, tensor: Tensor, ctx: Function | None, parents: list, store: Any) -> str:
        slot = self.slot_of.get(id(tensor))
        name = self.labels[slot] if slot is not None else tensor.name or "?"
        lines = []
        if ctx is not None:
            lines.append(f"  grad {name} -> {ctx.name}.backward -> " + ", ".join(
                self.labels[self.slot_of[id(p)]] if id(p) in self.slot_of else "?" for _, p in parents))  # fmt: skip
        if store is not None:
            lines.append(f"  {name}.grad += grad {_tape.describe(_DATA.__get__(tensor))}")
        return "\n".join(lines)

    def backward_done(self) -> None:
        if not self.mine() or self.backward_pending is None:
            return
        root_key, seed, nodes, stores = self.backward_pending
        self.backward_pending = None
        grad_slots = []
        for store in stores:
            leaf = _tape.leaf_of(store, self.args)
            if leaf.grad is not None:
                grad_slots.append((self.new_slot(leaf.grad, f"grad({self.labels[self.source(leaf)]})"), store))
                self.names[id(leaf.grad)] = f"the gradient of {self.labels[self.source(leaf)]}"
                self.watch(leaf.grad)
        self.note_weight_terms(nodes)
        self.program.append(_tape.backward_call(root_key, seed, nodes, grad_slots))

    def note_weight_terms(self, nodes: list) -> None:
        """A dump line for each weight that several ``linear`` / ``matmul`` nodes share (a recurrent
        weight used at every step): the engine sums their terms as one matmul (autograd.WeightTerms)."""
        uses: dict[int, list] = {}
        for _, ctx, _, parents in nodes:
            if type(ctx).__name__ in ("Linear", "MatMul") and any(i == 1 for i, _ in parents):
                uses.setdefault(id(ctx.inputs[1]), []).append(ctx.name)
        for key, kinds in uses.items():
            if len(kinds) > 1 and key in self.slot_of:
                name = self.labels[self.slot_of[key]]
                line = f"  {name}: its {len(kinds)} terms from {kinds[0]} summed as ONE matmul over the steps"
                self.lines.append(line)

    def optimizer_step(self, optimizer: Optimizer) -> None:
        if not self.mine():
            return
        entries = []
        for index, group in enumerate(optimizer.param_groups):
            for param in group["params"]:
                if param.grad is not None:
                    self.touch(param, "step")
                    entries.append((index, param, self.source(param)))
                    hyper = ", ".join(
                        f"{k}={_short(v)}" for k, v in group.items() if k not in ("params", "initial_lr") and v
                    )
                    self.lines.append(
                        f"{self.labels[entries[-1][2]]} = {type(optimizer).__name__}.update("
                        f"{self.label(entries[-1][2])}, its grad; {hyper} read at each replay)"
                    )
        self.program.append(_tape.step_call(optimizer, entries))
        self.optimizers.setdefault(id(optimizer), optimizer)  # guarded: its parameter groups as they are now

    def clear_grad(self, param: Tensor, set_to_none: bool) -> None:
        if not self.mine():
            return
        self.touch(param, "clear")
        self.program.append(_tape.clear_call([param], set_to_none))
        name = self.names.get(id(param)) or param.name or "a tensor"
        self.lines.append(f"{name}.grad = {'None' if set_to_none else '0'}   (zero_grad)")

    def touch(self, leaf: Tensor, how: str) -> None:
        if id(leaf) not in self.touched:
            self.touched[id(leaf)] = (leaf, how, leaf.grad is None)

    # --- what the tape cannot repeat ------------------------------------------------------------
    def data_used(self, tensor: Tensor, frame: Any, how: str) -> None:
        if not self.mine():
            return
        where, entry = _user_line(frame)
        slot = self.slot_of.get(id(tensor))
        position = next((p for s, p in self.arg_slots if s == slot), None)
        data = _DATA.__get__(tensor)
        xp = tensor._backend.xp
        integer = not xp.isdtype(data.dtype, "real floating")
        if how == "read" and position is not None and integer and not tensor.requires_grad:
            self.value_guards[position] = xp.asarray(data, copy=True)  # guarded by value
            return
        what = self.describe_tensor(tensor, slot, position)
        if entry:
            self.fail(f"{entry} on {what} during capture ({where})",
                      "a Python value read from a tensor would be frozen into the tape: return the tensor and "
                      "read it after the call, or compute with tensor ops (tg.where instead of an if)")  # fmt: skip
        else:
            self.fail(f"the .data of {what} was {how} outside an op during capture ({where})",
                      "the replay would not repeat that: use tensor ops and an optimizer inside the step, "
                      "or pass the value in as an argument")  # fmt: skip

    def describe_tensor(self, tensor: Tensor, slot: int | None, position: int | None) -> str:
        shape = f"{tuple(_DATA.__get__(tensor).shape)} {dtype_name(_DATA.__get__(tensor).dtype)}"
        if position is not None:
            return f"argument tensor #{position} {shape}"
        if tensor._ctx is not None:
            return f"the result of '{tensor._ctx.name}' {shape}"
        if id(tensor) in self.produced:
            return f"the result of an op {shape}"
        name = self.names.get(id(tensor)) or tensor.name
        if name and name.startswith("the gradient"):
            return f"{name} {shape} (e.g. clip_grad_norm_ inside the step: not an op yet)"
        return f"{'tensor ' + repr(name) if name else 'a tensor'} {shape}"

    def fail(self, what: str, advice: str) -> None:
        error = CaptureError(f"compile: {what}. {advice[0].upper()}{advice[1:]}.")
        if self.error is None:
            self.error = error
        if not self.fallback:
            raise error

    def random_drawn(self, frame: Any) -> None:
        """A random draw: fine inside an op (dropout), frozen anywhere else."""
        if self.mine() and not isinstance(frame.f_locals.get("self"), Function):
            where, _ = _user_line(frame)
            self.fail(
                f"random numbers were drawn outside an op during capture ({where}); they would be frozen",
                "pass them in as an argument, or draw them inside an op as nn.functional.dropout does",
            )

    # --- the result -----------------------------------------------------------------------------------
    def output_spec(self, value: Any) -> Any:
        if isinstance(value, Tensor):
            return ("slot", self.source(value), value._backend)
        if isinstance(value, (tuple, list)):
            return ("tuple" if isinstance(value, tuple) else "list", [self.output_spec(v) for v in value])
        if isinstance(value, dict):
            return ("dict", {k: self.output_spec(v) for k, v in value.items()})
        return ("const", value)

    def tape(self, result: Any) -> tuple[_tape.Tape, Guards]:
        outputs = self.output_spec(result)
        leaves = []
        for _slot, tensor in self.live:
            entry = self.touched.get(id(tensor))
            depends_on_grad = entry is not None and entry[1] != "clear"
            data = _DATA.__get__(tensor)
            grad_is_none = entry[2] if depends_on_grad else None
            leaves.append((tensor, tuple(data.shape), data.dtype, tensor.requires_grad, grad_is_none))
        template = [None] * len(self.values)
        live_slots = {s for s, _ in self.live} | {s for s, _ in self.arg_slots}
        for slot, array in enumerate(self.values):
            if slot not in live_slots and slot not in self.graph:
                template[slot] = array  # constants (grad slots are overwritten when the replay gets there)
        returned = ", ".join(_describe_spec(outputs, self.labels))
        lines = [*self.lines, f"return {returned}"]
        tape = _tape.Tape(template, self.live, self.arg_slots, self.program, lines, outputs, self.graph,
                          self.made_leaves)  # fmt: skip
        return tape, Guards(self.reach, leaves, self.value_guards, list(self.optimizers.values()))


def _holds_tensor(value: Any) -> bool:
    return isinstance(value, Tensor) or (isinstance(value, tuple) and any(_holds_tensor(v) for v in value))


def _rebuild(spec: Any, v: list) -> Any:
    kind, content = spec
    if kind == "slot":
        return v[content]
    if kind == "tuple":
        return tuple(_rebuild(item, v) for item in content)
    return content


def _short(value: Any) -> str:
    if hasattr(value, "shape"):
        return f"<array {_tape.describe(value)}>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe_spec(spec: Any, labels: list) -> list[str]:
    kind = spec[0]
    if kind == "slot":
        return [labels[spec[1]]]
    if kind == "const":
        return [repr(spec[1])]
    items = spec[1].values() if kind == "dict" else spec[1]
    return [text for item in items for text in _describe_spec(item, labels)]
