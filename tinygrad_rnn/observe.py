"""observe_backward: a backward pass that only watches; record_backward: one that is kept.

The BPTT tools need to see the gradient on every edge of the graph (a shared weight's gradient
is the sum of the gradients on its edges, one per use), without changing what the user's own
``loss.backward()`` will leave in ``.grad``. :func:`observe_backward` runs the engine's backward
with an edge observer (:func:`tinygrad_rnn.autograd.backward`'s ``on_edge``) and
``retain_graph=True``, then puts every ``.grad`` in the graph back exactly as it was.

A plain ``loss.backward()`` frees the graph's saved arrays, so no second pass can run after it.
Run it inside :class:`record_backward` and the pass keeps a record of every gradient it sends;
the tools (``contributions``, ``hidden_grad_norms``, ``draw_graph(color_by="grad",
show_order=True)``, ``backward_frames``) then read that record instead of running a pass.

Example:
    >>> from tinygrad_rnn import Tensor
    >>> w = Tensor([3.0], requires_grad=True)
    >>> loss = (w * w).sum()
    >>> seen = []
    >>> observe_backward(loss, lambda op, parent, grad: seen.append(op.name))
    >>> seen, w.grad                          # mul sent two gradients to w; w.grad untouched
    (['sum', 'mul', 'mul'], None)
    >>> with record_backward():
    ...     loss.backward()                   # a plain backward: the graph is freed...
    >>> seen = []
    >>> observe_backward(loss, lambda op, parent, grad: seen.append(op.name))
    >>> seen                                  # ...but what it sent was recorded
    ['sum', 'mul', 'mul']
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import autograd
from .tensor import Tensor

#: ``on_edge(op, parent, grad)``: ``op`` (a Function, or a :class:`RecordedOp` when replayed
#: from a record; both have ``.name`` and ``.scope``) sends the array ``grad`` (shaped like
#: ``parent``) to its input tensor ``parent``.
EdgeObserver = Callable[[Any, Tensor, Any], None]


@dataclass(frozen=True)
class RecordedOp:
    """An op as a record remembers it: its name, scope and identity (``id`` of the Function).
    The record keeps no reference to the op itself, so it never keeps a graph alive."""

    name: str
    scope: str
    op_id: int


@dataclass
class BackwardRecord:
    """What one backward pass sent: its seed dL/d(root) and every (op, parent, gradient)."""

    seed: Any
    sends: list[tuple[RecordedOp, Tensor, Any]] = field(default_factory=list)


#: root's grad_fn -> the record of the last backward recorded from it; an entry goes with its graph.
_RECORDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def op_identity(op: Any) -> int:
    """The ``id`` of the Function that sent a gradient, live or replayed from a record."""
    return op.op_id if isinstance(op, RecordedOp) else id(op)


class record_backward:  # noqa: N801 - used like a function, as no_grad is
    """Context manager: every ``backward()`` run inside it (in this thread) keeps a record of the
    gradients it sends, so the tools that measure gradient flow work after a plain
    ``loss.backward()``, which frees the graph.

    The record holds a copy of every gradient sent along an edge (memory like one set of the
    graph's activations) and lives exactly as long as the graph: drop the loss and it is gone.
    Outside the block backward records nothing and costs nothing extra.

    Example:
        >>> import tinygrad_rnn as tg
        >>> lstm = tg.nn.LSTM(2, 3)
        >>> output, _ = lstm(tg.randn(4, 1, 2))
        >>> loss = output.sum()
        >>> with tg.bptt.record_backward():
        ...     loss.backward()                   # frees the graph, keeps a record
        >>> terms = tg.bptt.contributions(loss, lstm.weight_hh_l0)   # read from the record
        >>> list(terms)
        [0, 1, 2, 3]
    """

    def __enter__(self) -> record_backward:
        self._token = autograd.backward_recorder.set(_start_record)
        return self

    def __exit__(self, *exc: Any) -> None:
        autograd.backward_recorder.reset(self._token)


def _start_record(root: Tensor, grad: Any) -> EdgeObserver | None:
    """Begin the record of a backward from ``root``; returns the observer that fills it."""
    if root.grad_fn is None:  # backward of a leaf sends nothing
        return None
    record = BackwardRecord(root.xp.asarray(grad, copy=True))
    _RECORDS[root.grad_fn] = record

    def on_edge(op: Any, parent: Tensor, g: Any) -> None:
        # a copy: the engine may still add into the array it sent
        record.sends.append((RecordedOp(op.name, op.scope, id(op)), parent, parent.xp.asarray(g, copy=True)))

    return on_edge


def recorded(root: Tensor) -> BackwardRecord | None:
    """The record of the last backward run from ``root`` inside :class:`record_backward`, if any."""
    return None if root.grad_fn is None else _RECORDS.get(root.grad_fn)


def freed_op(root: Tensor) -> Any:
    """An op behind ``root`` whose saved arrays a backward without retain_graph freed (or None)."""
    for tensor in autograd.topological_order(root):
        ctx = tensor.grad_fn
        if ctx is not None and ctx.freed:
            return ctx
    return None


def freed_message(caller: str, op: Any) -> str:
    """Why a tool cannot measure gradients over a freed graph, and the three ways out."""
    return (
        f"{caller}: the graph behind this loss was freed by an earlier loss.backward() (op '{op.name}', scope "
        f"'{op.scope or 'top level'}'), and {caller} measures gradients with a backward pass of its own. Either run "
        f"{caller} before loss.backward(), or call loss.backward(retain_graph=True), or run that backward inside "
        f"`with tinygrad_rnn.bptt.record_backward():` (also tinygrad_rnn.viz.record_backward), whose record "
        f"{caller} then reads"
    )


def observe_backward(loss: Tensor, on_edge: EdgeObserver, caller: str = "observe_backward") -> None:
    """Backpropagate from the one-element tensor ``loss``, calling ``on_edge`` on every edge.

    The graph is retained (so ``loss.backward()`` still works afterwards) and no ``.grad``
    changes. If an earlier ``backward()`` freed the graph, the record it left (see
    :class:`record_backward`) is replayed instead; without one this is a RuntimeError that says
    what to do.
    """
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        raise ValueError(
            f"{caller}: loss must be a Tensor that requires grad (the output of ops on tensors created with "
            "requires_grad=True)"
        )
    if loss.numel() != 1:
        raise ValueError(f"{caller}: loss must have one element, got shape {loss.shape}; reduce it first, e.g. .sum()")
    freed = freed_op(loss)
    if freed is None:
        autograd.observe_backward(loss, on_edge)
        return
    record = recorded(loss)
    if record is None:
        raise RuntimeError(freed_message(caller, freed))
    for op, parent, grad in record.sends:
        on_edge(op, parent, grad)
