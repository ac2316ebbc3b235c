"""The tape: the flat list of array-level calls a captured step made, and its replay.

A tape holds *slots*, numbered values: the arrays of the step's arguments, of tensors that
existed before the capture (parameters, buffers: read afresh at each replay, so a change made
between calls is seen), of constants made during the capture (a Python number's 0-d array,
``zeros(...)``), and of every op's output. Its *program* is a list of calls on slots:

* ``forward``: an op's ``forward`` (the very Function instance recorded during the capture, so
  its ``saved`` arrays and attributes are refreshed for its backward), on the arrays of its
  input slots, writing its output slot;
* ``backward``: the nodes the engine backpropagated through, in the order it visited them; each
  node's ``backward`` and the summing of gradients use the engine's own helpers
  (:func:`tinygrad_rnn.autograd._accumulate`, ``_store_grad``), so gradients come out exactly
  as eagerly, into ``.grad``;
* ``step``: an optimizer's update rule on each parameter, reading the group's hyperparameters
  (``lr``, ...) and the optimizer's state (momentum buffers, Adam's step count) at each replay;
* ``clear``: ``zero_grad`` (``clear_grads``) on the parameters it cleared.

Replaying runs these calls and nothing else: no Tensor or Function is created, no graph is
searched (only the returned tensors, and each parameter's new ``.grad``, are new Tensors).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import autograd
from ..backend import FLOAT_SCALARS, dtype_name
from ..tensor import Tensor
from . import trace as _trace

Run = Callable[[list, list], None]  # one program entry: run(values, argument tensors)


def describe(array: Any) -> str:
    """``(32, 8)`` and the dtype when it is not float32: how the dump shows an array."""
    if not hasattr(array, "shape"):
        return repr(array)
    name = dtype_name(array.dtype)
    return f"{tuple(array.shape)}" + ("" if name == "float32" else f" {name}")


def forward_call(ctx: Any, ins: tuple, params: dict, out: int, build_params: Callable | None, scalar: bool) -> Run:
    """A program entry running ``ctx.forward`` on slots ``ins`` into slot ``out``.

    Written out for one and two inputs and no parameters (the common cases), to keep the replay's
    own cost per op to a call and a few list reads. ``build_params`` rebuilds parameters that hold
    tensors (an index tensor in ``x[idx]``) from their slots; ``scalar``: NumPy returns a 0-d result
    as a scalar, which the engine stores as a 0-d array: so does the replay.
    """
    run = _forward_run(ctx.forward, ins, params, out, build_params, scalar)
    run.kind, run.ctxs = "forward", (ctx,)
    return run


def _forward_run(
    forward: Callable, ins: tuple, params: dict, out: int, build_params: Callable | None, scalar: bool
) -> Run:
    if build_params is not None or scalar:

        def run(v, args):
            y = forward(*[v[i] for i in ins], **(build_params(v) if build_params else params))
            v[out] = np.asarray(y) if scalar and isinstance(y, np.generic) else y

        return run
    if len(ins) == 1:
        (a,) = ins
        if params:

            def run(v, args):
                v[out] = forward(v[a], **params)
        else:

            def run(v, args):
                v[out] = forward(v[a])

        return run
    if len(ins) == 2 and not params:
        a, b = ins

        def run(v, args):
            v[out] = forward(v[a], v[b])

        return run

    def run(v, args):
        v[out] = forward(*[v[i] for i in ins], **params)

    return run


def leaf_of(ref: Any, args: list) -> Tensor:
    """A leaf named in the tape: an argument's position (an int) or the tensor itself."""
    return args[ref] if type(ref) is int else ref


def keep_grad(ref: Any, args: list, g: Any, owned: bool) -> None:
    """Store a finished gradient into the ``.grad`` of the leaf ``ref`` names (the engine's helper)."""
    autograd._store_grad(leaf_of(ref, args), g, owned)


def backward_call(root_key: int, seed: int, nodes: list, grad_slots: list) -> Run:
    """A program entry replaying one ``backward``: ``nodes`` are ``(key, ctx, store, parents)``
    in the engine's order; ``store`` names the leaf (or retained tensor) whose ``.grad`` receives
    the node's gradient; ``parents`` the ``(index, tensor)`` inputs that take a gradient.

    What the engine looks up at every node is worked out here, once: each gradient's number (its
    key in ``grads``) and each edge's parent and the shape its gradient must have. A gradient that
    is the first to reach its parent, already of the parent's shape, is stored as it is (the
    engine's own fast path); every other case goes through
    :func:`~tinygrad_rnn.autograd._accumulate`, so the sums come out exactly as eagerly (a shared
    weight's terms included: summed as one matmul, see :class:`~tinygrad_rnn.autograd.WeightTerms`).
    """
    accumulate, DEFERRED = autograd._accumulate, autograd.DEFERRED
    number: dict[int, int] = {}  # id(tensor) -> its gradient's key in grads during the replay
    for key, *_ in nodes:
        number.setdefault(key, len(number))
    plan = []
    for key, ctx, store, parents in nodes:
        edges = []
        for index, parent in parents:
            data = parent._data
            edges.append((index, number.setdefault(id(parent), len(number)), parent, type(data), data.shape))
        plan.append((number[key], ctx, store, tuple(edges)))
    root = number[root_key]

    def run(v, args):
        keep = getattr(v, "keep_grad", keep_grad)  # a traced replay writes the stores down (trace.py)
        grads = {root: v[seed]}
        owned: set = set()
        for n, ctx, store, edges in plan:
            g = grads.pop(n)
            if type(g) in DEFERRED:  # every term or slice of this gradient is in: put together once
                g = g.total()
                owned.add(n)
            if store is not None:
                keep(store, args, g, n in owned)
            if ctx is None:
                continue
            input_grads = ctx.backward(g)
            xp = ctx.xp
            for index, p, parent, kind, shape in edges:
                parent_grad = input_grads[index]
                if parent_grad is None:
                    continue
                same_kind = type(parent_grad) is kind or type(parent_grad) in FLOAT_SCALARS
                if same_kind and p not in grads and parent_grad.shape == shape:
                    grads[p] = parent_grad
                else:
                    accumulate(grads, owned, parent, parent_grad, xp, ctx, p)
        for slot, ref in grad_slots:
            v[slot] = leaf_of(ref, args).grad.data

    run.kind, run.ctxs, run.grad_slots = "backward", tuple(ctx for _, ctx, _, _ in plan if ctx is not None), grad_slots
    return run


def step_call(optimizer: Any, entries: list) -> Run:
    """A program entry replaying ``optimizer.step()``: ``entries`` are ``(group index, param, slot)``;
    the group dicts and the optimizer's state are read at each replay (a scheduler's lr, Adam's t,
    and what ``load_state_dict`` put in place of both)."""
    update = optimizer.update

    def run(v, args):
        groups, state = optimizer.param_groups, optimizer.state
        for index, param, slot in entries:
            group = groups[index]
            key = id(param)
            param.data = update(param.xp, param.data, param.grad.data, state.setdefault(key, {}), group)
            v[slot] = param.data
        autograd.arrays_changed()  # an update may have been in place: no copy made before it holds

    run.kind = "step"
    return run


def clear_call(params: list, set_to_none: bool) -> Run:
    """A program entry replaying ``zero_grad``: ``clear_grads`` on the same parameters."""
    from ..nn.module import clear_grads

    def run(v, args):
        clear_grads(params, set_to_none)

    run.kind = "clear"
    return run


class Tape:
    """One captured step: its slots, its program, what it returns, and the dump of its calls.

    Built by :class:`~tinygrad_rnn.compiler.capture.Recorder`; run by :meth:`replay`.
    """

    def __init__(
        self,
        template: list,
        live: list,
        arg_slots: list,
        program: list[Run],
        lines: list[str],
        outputs: Any,
        graph: dict,
        made_leaves: dict | None = None,
    ):
        self.template = template  # constants in place, None elsewhere
        self.live = live  # (slot, tensor): tensors from before the capture, read at each replay
        self.arg_slots = arg_slots  # (slot, position of the argument tensor)
        self.program = program
        self.lines = lines
        self.outputs = outputs  # the returned structure, tensors as ("slot", slot, backend)
        self.graph = graph  # slot -> the tensor recorded for it during the capture
        # slot -> a tensor whose .grad is each call's own, as eagerly, where every call's tensors are new:
        # an intermediate kept by retain_grad(), and a leaf the step makes (tg.zeros(..., requires_grad=True))
        self.own_grads = {slot: t for slot, t in graph.items() if t._retains_grad} | dict(made_leaves or {})
        self.last_values: list | None = None
        self.last_args: list | None = None
        self.first_values: list | None = None  # the slots at the start of the last array-level replay
        self.replays = 0
        # the array-level replay (trace.py): None until traced, then the function, or False with
        # ``why_not_traced`` saying why the op-level replay stays
        self.traced: Callable | None | bool = None
        self.why_not_traced: str | None = None
        self.saved_stale = False  # the last replay was array-level: the ops' saved arrays are older
        # Replays share the recorded ops (each forward refreshes its op's saved arrays for the backward
        # that follows): two threads replaying at once would mix their arrays. They take turns.
        self.running = threading.Lock()

    def replay(self, args: list) -> Any:
        """Run the program on the argument tensors ``args`` (flattened); the step's return value."""
        with self.running:
            return self._replay(args)

    def _replay(self, args: list) -> Any:
        self.replays += 1
        self.last_args = args
        for tensor in self.own_grads.values():  # a new call's tensor starts without a gradient
            tensor.grad = None
        if self.traced:
            v = self._values(args)
            self.first_values = v.copy()  # what refresh_saved starts from (a step entry overwrites weights' slots)
            try:
                self.traced(v, args, self.program, autograd._store_grad, leaf_of)
            except _trace.GuardFailed:  # a decision on values went otherwise: op by op (nothing shown yet)
                pass
            else:
                self.last_values, self.saved_stale = v, True
                return self.result(v)
        elif self.traced is None and self.replays == 2:
            return self._traced_replay(args)
        return self._replay_op_by_op(self._values(args), args)

    def _values(self, args: list) -> list:
        """The slots at the start of a replay: constants, tensors from before the capture, arguments."""
        v = self.template.copy()
        for slot, tensor in self.live:
            v[slot] = tensor.data
        for slot, position in self.arg_slots:
            v[slot] = args[position].data
        return v

    def _traced_replay(self, args: list) -> Any:
        """The op-level replay, run once while a :class:`~tinygrad_rnn.compiler.trace.Tracer` writes
        down its array calls; from then on they run as one function (see trace.py)."""
        values = self._values(args)
        if not all(type(x) is np.ndarray for x in values if hasattr(x, "shape")):
            self.traced, self.why_not_traced = False, "an array is not a NumPy array"
            return self._replay_op_by_op(values, args)
        self.first_values = values.copy()
        tracer = _trace.Tracer()
        v = _trace.TracingSlots(values, tracer)
        ctxs = {id(ctx): ctx for run in self.program for ctx in getattr(run, "ctxs", ())}.values()
        namespaces = {id(ctx.xp): _trace.TracingNamespace(ctx.xp) for ctx in ctxs}
        originals = [(ctx, ctx.xp) for ctx in ctxs]
        for ctx in ctxs:
            ctx.xp = namespaces[id(ctx.xp)]
        _trace.trace_active(tracer)
        try:
            with autograd.arrays_fixed():
                for index, run in enumerate(self.program):
                    if run.kind in ("step", "clear"):
                        tracer.entry(index, has_effects=run.kind == "step")
                    tracer.in_forward = run.kind == "forward"
                    run(v, args)
                    if run.kind == "backward":
                        tracer.grad_slots(run.grad_slots)
        except Exception:
            if tracer.unguarded_effects:  # gradients stored or weights changed: the error is the step's own
                raise
            self.traced, self.why_not_traced = False, "the traced replay raised"
            return self._replay_op_by_op(self._values(args), args)
        finally:
            _trace.trace_active(None)
            for ctx, xp in originals:
                ctx.xp = xp
        values = [_trace.plain(x) for x in v]
        self.traced, self.why_not_traced = tracer.compile(kept_slots=set(output_slots(self.outputs)))
        self.last_values, self.saved_stale = values, True  # the ops saved traced arrays: refreshed if asked
        return self.result(values)

    def _replay_op_by_op(self, v: list, args: list) -> Any:
        with autograd.arrays_fixed():  # parameters change only in step entries, which say so
            for run in self.program:
                run(v, args)
        self.last_values, self.saved_stale = v, False
        return self.result(v)

    def refresh_saved(self) -> None:
        """After an array-level replay, run the ops' forwards once more on the last values, so that
        their saved arrays are the last call's (what a backward over :meth:`Compiled.graph` needs)."""
        if not self.saved_stale:
            return
        v = list(self.first_values)
        with autograd.arrays_fixed():
            for run in self.program:
                if run.kind == "forward":
                    run(v, self.last_args)
        self.last_values, self.saved_stale = v, False  # the function kept only what the step returns

    def result(self, v: list) -> Any:
        """The return value, each tensor a new Tensor around its slot's array (never reused later:
        every replay computes new arrays), with the gradient this call kept for it (retain_grad())."""

        def tensor_of(slot: tuple) -> Tensor:
            tensor = Tensor._make(v[slot[1]], slot[2], None)
            recorded = self.own_grads.get(slot[1])
            if recorded is not None and recorded.grad is not None:
                tensor.grad = Tensor._make(recorded.grad.data, slot[2], None)
            return tensor

        return rebuild(self.outputs, tensor_of)

    def array_calls(self) -> str:
        """The array-level replay's source (one line per NumPy call; see trace.py), or why there is none."""
        if self.traced:
            return self.traced.source
        if self.traced is None:
            return "not traced yet: the third call of a compiled step writes down its array calls"
        return f"no array-level replay ({self.why_not_traced}): every call replays op by op"

    def __str__(self) -> str:
        """One line per array call with its shapes (written when asked for: a capture only notes them)."""
        return "\n".join(line if isinstance(line, str) else line[0](*line[1]) for line in self.lines)


def output_slots(spec: Any) -> Iterator[int]:
    """The slots of the tensors in a step's recorded return value ``spec`` (see :func:`rebuild`)."""
    kind = spec[0]
    if kind == "slot":
        yield spec[1]
    elif kind == "dict":
        for item in spec[1].values():
            yield from output_slots(item)
    elif kind != "const":
        for item in spec[1]:
            yield from output_slots(item)


def rebuild(spec: Any, tensor_of: Callable[[tuple], Any]) -> Any:
    """The step's return value from its recorded shape ``spec``: tuples, lists and dicts as they were,
    constants as they were, and each ``("slot", ...)`` entry replaced by ``tensor_of(entry)``."""
    kind = spec[0]
    if kind == "slot":
        return tensor_of(spec)
    if kind == "const":
        return spec[1]
    if kind == "dict":
        return {key: rebuild(item, tensor_of) for key, item in spec[1].items()}
    items = [rebuild(item, tensor_of) for item in spec[1]]
    return tuple(items) if kind == "tuple" else items
