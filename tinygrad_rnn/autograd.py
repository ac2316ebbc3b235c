"""Reverse-mode autodiff: walking the recorded graph and running backward over it.

The recorded graph is a DAG of Tensors: a tensor made by an op points to its ``grad_fn`` (the
op's :class:`~tinygrad_rnn.function.Function` instance), which points to its input tensors.

``backward`` (the engine behind ``Tensor.backward``) works in three steps, all iterative, so a
chain of 100,000 ops needs no Python recursion:

1. ``topological_order(root)``: every tensor that requires grad and lies behind the root, each
   after all of its inputs (found with an explicit stack, ordered by creation id);
2. walk that order *backwards*. When a tensor's turn comes, every op that used it has already
   sent its contribution, so its gradient is complete: the sum of all incoming gradients
   (a recurrent weight used at T time steps gets T contributions: dL/dW = sum_t dL/dW|_t);
3. give the complete gradient to the tensor's op, whose ``backward`` returns the inputs'
   gradients, which are summed into their buffers in turn.

After the walk the ops' saved arrays are released (unless ``retain_graph=True``); the graph's
structure stays, so it can still be drawn.

Example:
    >>> from tinygrad_rnn import Tensor
    >>> w = Tensor([3.0], requires_grad=True)
    >>> y = w * w + w          # w is used three times
    >>> y.backward()
    >>> w.grad.item()          # 2w + 1
    7.0
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from . import anomaly as _anomaly
from . import recording as _recording
from .shape_rules import unbroadcast
from .tensor import Tensor  # tensor.py imports this module at its end: see there


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a long graph is recorded or backpropagated.

    A recorded graph holds no reference cycles (a tensor points to its op, the op to its inputs,
    never back), so reference counting frees it. But CPython's cycle collector still visits every
    live object now and then, and a graph of T steps is many live objects: left running, the
    collector makes each step slower as T grows. Other Python autodiff libraries slow down on long
    sequences partly for this reason.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class SparseGrad:
    """A gradient that is zero except at ``index``, where it equals ``values``.

    Returned by indexing ops (``x[t]``, embedding lookups): the engine adds ``values`` into the
    input's gradient buffer at ``index`` instead of materialising a mostly-zero array, so
    reading T slices of a sequence costs O(T), not O(T^2), in backward.
    """

    __slots__ = ("index", "values", "advanced")

    def __init__(self, index: tuple, values: Any, advanced: bool):
        self.index = index  # a tuple usable as ``buffer[index]``
        self.values = values
        self.advanced = advanced  # integer-array index: repeated indices must add up


def topological_order(*roots: Any, only_requires_grad: bool = True) -> list:
    """The tensors behind ``roots``, each listed after all of its inputs.

    Every tensor is created after its inputs, so its ``id`` (a creation counter) is larger than
    theirs: sorting the tensors reachable from the roots by id lists each after its inputs. Finding
    them is a plain search with an explicit stack, safe for graphs of any depth.

    With ``only_requires_grad`` (the default, what backward needs) the search stops at tensors that
    do not require grad; without it, every recorded tensor and constant is listed.
    """
    found: dict[int, Any] = {}
    stack = list(roots)
    while stack:
        tensor = stack.pop()
        if tensor.id in found:
            continue
        found[tensor.id] = tensor
        ctx = tensor._ctx
        if ctx is not None:
            for parent in ctx.inputs:
                if parent.id not in found and (parent.requires_grad or not only_requires_grad):
                    stack.append(parent)
    return [found[i] for i in sorted(found)]


def walk(*roots: Any) -> Iterator[Any]:
    """Every tensor recorded behind ``roots`` (constants and leaves included), inputs first.

    This is the public way to read a recorded graph: each tensor has ``.op`` (the op's name,
    ``None`` for a leaf), ``.inputs``, ``.id`` (a stable creation counter) and ``.scope``.

    Example:
        >>> from tinygrad_rnn import Tensor
        >>> x = Tensor([1.0], requires_grad=True, name="x")
        >>> [t.op or t.name for t in walk(x.tanh() * 2)]
        ['x', 'tanh', None, 'mul']
    """
    return iter(topological_order(*roots, only_requires_grad=False))


# --- hook for tinygrad_rnn.bptt.record_backward (issue 10): one lookup per backward call -------
#: Inside ``with bptt.record_backward():`` (this thread or context only), a function
#: ``(root, grad) -> on_edge`` that starts a record of the backward pass from ``root``; None
#: otherwise. It lets the pictures and the BPTT tools read gradients after a plain backward().
backward_recorder: ContextVar[Any] = ContextVar("backward_recorder", default=None)


def backward(root: Any, grad: Any, retain_graph: bool = False, on_edge: Any = None) -> None:
    """Accumulate d(root)/d(leaf), seeded with ``grad`` (an array shaped like ``root``).

    ``on_edge(op, parent, grad)``, if given, sees every gradient sent along an edge of the
    graph, from the op ``op`` (a Function) to its input ``parent``, before it is summed into the
    parent's buffer: this is how :mod:`tinygrad_rnn.bptt` splits a shared weight's gradient into
    its per-time-step terms, and how the graph renderer learns each edge's gradient.
    """
    if _recording.recorder is not None:  # tinygrad_rnn.compile is capturing: record this backward
        _recording.recorder.backward(root, grad, on_edge)
    recorder = backward_recorder.get()  # hook: bptt.record_backward (see backward_recorder)
    if recorder is not None and on_edge is None:
        on_edge = recorder(root, grad)
    with cycle_collector_paused():
        _backward(root, grad, retain_graph, on_edge)
    if _recording.recorder is not None:  # tinygrad_rnn.compile: this backward is complete
        _recording.recorder.backward_done()


def observe_backward(root: Any, on_edge: Any) -> None:
    """A backward pass that only watches: ``on_edge(op, parent, grad)`` sees every gradient sent
    along an edge (seeded with ones at ``root``); the graph is retained and every ``.grad`` is
    put back as it was. What the BPTT tools and the graph renderer measure gradients with.
    """
    before = [(tensor, tensor.grad) for tensor in topological_order(root)]
    try:
        backward(root, root.xp.ones(root.data.shape, dtype=root.dtype), retain_graph=True, on_edge=on_edge)
    finally:
        for tensor, grad in before:
            tensor.grad = grad


def _backward(root: Any, grad: Any, retain_graph: bool, on_edge: Any) -> None:
    order = topological_order(root)
    grads: dict[int, Any] = {id(root): grad}
    owned: set[int] = set()  # buffers created here, safe to add into in place
    for tensor in reversed(order):
        key = id(tensor)
        g = grads.pop(key, None)
        if g is None:  # no path from the root reaches this tensor's output
            continue
        if _recording.recorder is not None:  # tinygrad_rnn.compile: this node's turn, in this order
            _recording.recorder.backward_node(tensor)
        ctx = tensor._ctx
        if ctx is None or tensor._retains_grad:
            _store_grad(tensor, g, key in owned)
        if ctx is None:
            continue
        if ctx.freed:
            raise RuntimeError(
                f"backward: op '{ctx.name}' (scope '{ctx.scope or 'top level'}') was already "
                "backpropagated through and its saved arrays were freed; to call backward twice "
                "over one graph, pass retain_graph=True to the first call"
            )
        input_grads = ctx.backward(g)
        if _anomaly._enabled:
            _anomaly.check("backward", ctx, [getattr(x, "values", x) for x in input_grads], ctx.inputs)
        if not retain_graph:
            ctx.saved = None
            ctx.freed = True
        xp = ctx.xp
        for parent, parent_grad in zip(ctx.inputs, input_grads):
            if parent_grad is None or not parent.requires_grad:
                continue
            if on_edge is not None:
                on_edge(ctx, parent, _dense(parent_grad, parent, xp))
            _accumulate(grads, owned, parent, parent_grad, xp)


def _accumulate(grads: dict, owned: set, tensor: Any, g: Any, xp: Any) -> None:
    """grads[tensor] += g, allocating a buffer only where two gradients meet."""
    key = id(tensor)
    buffer = grads.get(key)
    if type(g) is SparseGrad:
        if buffer is None:
            buffer = xp.zeros(tensor.shape, dtype=tensor.dtype)
        elif key not in owned:
            buffer = xp.asarray(buffer, copy=True)
        if g.advanced:
            tensor._backend.scatter_add(buffer, g.index, g.values)
        else:
            buffer[g.index] += g.values
        grads[key] = buffer
        owned.add(key)
        return
    if g.shape != tensor.data.shape:
        g = unbroadcast(g, tensor.data.shape, xp)
    if buffer is None:
        grads[key] = g
    elif key in owned:
        buffer += g
        grads[key] = buffer
    else:
        grads[key] = buffer + g
        owned.add(key)


def _dense(g: Any, tensor: Any, xp: Any) -> Any:
    """A gradient as a plain array of the tensor's shape (for ``on_edge`` observers)."""
    if type(g) is SparseGrad:
        grads: dict = {}
        _accumulate(grads, set(), tensor, g, xp)
        return grads[id(tensor)]
    return unbroadcast(g, tensor.shape, xp)


def _store_grad(tensor: Any, g: Any, is_owned: bool) -> None:
    """Add the finished gradient into ``tensor.grad`` (leaves and ``retain_grad()`` tensors)."""
    if tensor.grad is None:
        if not is_owned:  # never let two .grad tensors share (alias) one array
            g = tensor._backend.xp.asarray(g, copy=True)
        tensor.grad = Tensor._make(g, tensor._backend, None)
    else:
        tensor.grad = Tensor._make(tensor.grad.data + g, tensor._backend, None)
