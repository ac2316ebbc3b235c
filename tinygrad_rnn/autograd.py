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

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from . import anomaly as _anomaly
from . import collector as _collector
from . import modes as _modes
from . import recording as _recording
from .backend import FLOAT_SCALARS, backend_of
from .shape_rules import unbroadcast
from .tensor import Tensor  # tensor.py imports this module at its end: see there


class SparseGrad:
    """A gradient that is zero except at ``index``, where it equals ``values``.

    Returned by indexing ops (``x[t]``, embedding lookups): the engine adds ``values`` into the
    input's gradient buffer at ``index`` instead of materialising a mostly-zero array, so
    reading T slices of a sequence costs O(T), not O(T^2), in backward. ``extent``, given when
    the index narrows one axis only (:func:`~tinygrad_rnn.shape_rules.slice_extent`), lets the
    engine join the slices of one tensor in one go (:class:`SliceGrads`); ``values`` then has
    exactly the slice's shape.
    """

    __slots__ = ("index", "values", "advanced", "extent")

    def __init__(self, index: tuple, values: Any, advanced: bool, extent: tuple | None = None):
        self.index = index  # a tuple usable as ``buffer[index]``
        self.values = values
        self.advanced = advanced  # integer-array index: repeated indices must add up
        self.extent = extent  # (axis, start, stop, is_int): the index selects [start, stop) of one axis

    def add_into(self, buffer: Any, backend: Any) -> None:
        """``buffer[index] += values``, in place; repeated integer indices add up."""
        if self.advanced:
            backend.scatter_add(buffer, self.index, self.values)
        else:
            buffer[self.index] += self.values


class SliceGrads:
    """The gradients that reach one tensor through slices of one axis (``x[t]``, ``z[:, :H]``),
    kept until the tensor's turn, then put together in one go.

    Slices that tile the axis, as the T steps of a sequence or an LSTM's four gate blocks do,
    give the gradient as ONE ``stack`` (integer indices) or ``concat`` (slices), the way a
    hand-written BPTT writes its dZ:

        dL/dz = [dL/di | dL/df | dL/dg | dL/do]

    instead of a buffer of zeros and one strided addition per slice (each costs about three plain
    copies). Any other pattern (overlaps, gaps) is added into zeros, slice by slice, as before;
    so is everything once the slices held would outgrow the tensor itself.

    Example:
        >>> from tinygrad_rnn import Tensor
        >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> (x[0] * 10 + x[1]).sum().backward()   # rows 0 and 1 tile axis 0: one stack
        >>> x.grad.tolist()
        [[10.0, 10.0], [1.0, 1.0]]
    """

    __slots__ = ("pieces", "size", "tensor", "xp")

    def __init__(self, tensor: Any, xp: Any):
        self.pieces: list[SparseGrad] = []
        self.size = 0  # elements held in the pieces
        self.tensor, self.xp = tensor, xp

    def add(self, piece: SparseGrad) -> None:
        self.pieces.append(piece)
        self.size += piece.values.size

    @property
    def outgrown(self) -> bool:
        """Whether the pieces hold more elements than the tensor (then one array holds them better)."""
        return self.size > self.tensor._data.size

    def total(self) -> Any:
        """The gradient as a fresh array of the tensor's shape."""
        xp, data = self.xp, self.tensor._data
        ordered = sorted(self.pieces, key=lambda piece: piece.extent[1])
        if _tile(ordered, data):
            axis, _, _, is_int = ordered[0].extent
            return (xp.stack if is_int else xp.concat)([piece.values for piece in ordered], axis=axis)
        buffer = xp.zeros(data.shape, dtype=data.dtype)
        for piece in self.pieces:
            piece.add_into(buffer, self.tensor._backend)
        return buffer


def _tile(ordered: list, data: Any) -> bool:
    """Whether slices, sorted by start, tile one axis of ``data``: all on the same axis and of the
    same kind (integers or slices), start_0 = 0, start_(i+1) = stop_i, stop_last = the axis's size,
    and of ``data``'s dtype (a join never casts; the buffer of zeros does)."""
    axis, _, _, is_int = ordered[0].extent
    end = 0
    for piece in ordered:
        piece_axis, start, stop, piece_is_int = piece.extent
        if start != end or piece_axis != axis or piece_is_int != is_int or piece.values.dtype != data.dtype:
            return False
        end = stop
    return end == data.shape[axis]


class WeightTerms:
    """A gradient sum_i L_i^T R_i, kept as its factors until it is complete, then ONE product.

    Returned for the weight by ``matmul`` (a @ W: L = a, R = dL/dy) and ``linear`` (x W^T:
    L = dL/dy, R = x). A recurrent weight used at T time steps receives T such terms; stacking
    them gives the same sum as one matrix product, as a hand-written BPTT computes it:

        dL/dW = sum_t L_t^T R_t = [L_1; ...; L_T]^T [R_1; ...; R_T]

    one large product instead of T small ones and T - 1 additions (BLAS is faster on it). The
    engine joins the terms that reach one tensor and multiplies when the tensor's turn comes (or
    when a gradient of another form meets them). Every :attr:`LIMIT` terms are multiplied out
    into ``partial`` on the way, which bounds the memory that waiting terms hold.
    """

    __slots__ = ("lefts", "rights", "partial", "xp")
    LIMIT = 256

    def __init__(self, left: Any, right: Any, xp: Any):
        self.lefts, self.rights, self.partial, self.xp = [left], [right], None, xp

    def join(self, other: WeightTerms) -> WeightTerms:
        """These terms and ``other``'s: their sum (``self``, grown)."""
        self.lefts += other.lefts
        self.rights += other.rights
        if other.partial is not None:
            self.partial = other.partial if self.partial is None else self.partial + other.partial
        if len(self.lefts) >= self.LIMIT:
            self.partial, self.lefts, self.rights = self.total(), [], []
        return self

    def total(self) -> Any:
        """The sum as an array: one matmul of the stacked factors (plus what was multiplied out)."""
        # the terms in the order the forward made them (backward meets them last first): then the
        # stacked left factors of a recurrent weight are the pre-activation gradients in time order,
        # the very stack that a compiled replay already holds as one buffer (compiler/joins.py)
        xp, lefts, rights, partial = self.xp, self.lefts[::-1], self.rights[::-1], self.partial
        if not lefts:
            return partial
        if len(lefts) == 1:
            product = xp.matmul(lefts[0].mT, rights[0])
        else:  # the stacks are scratch (reused by the next product's): only the product is kept
            backend = backend_of(lefts[0])
            product = xp.matmul(backend.scratch_concat(lefts, 0).mT, backend.scratch_concat(rights, 1))
        if partial is not None:
            product += partial
        return product


#: The gradients kept in pieces until their tensor's turn, then made an array by ``.total()``.
DEFERRED = (WeightTerms, SliceGrads)

_pass = threading.local()  # .transposes: what transposed() laid out during this thread's current span


@contextmanager
def arrays_fixed() -> Iterator[None]:
    """A span in which no array an op reads changes in place, so :func:`transposed` may reuse the
    copies it made: one backward pass, a recurrent layer's loop over the steps, a compiled replay
    (whose optimizer steps call :func:`arrays_changed`). Nested spans share the outer one's copies.
    """
    if getattr(_pass, "transposes", None) is not None:  # inside an outer span: its copies serve
        yield
        return
    _pass.transposes = {}
    try:
        yield
    finally:
        _pass.transposes = None


def arrays_changed() -> None:
    """Arrays may have changed in place (an optimizer step inside a replay): forget the copies."""
    memo = getattr(_pass, "transposes", None)
    if memo:
        memo.clear()


def transposed(array: Any) -> Any:
    """``array.mT`` for a product; inside an :func:`arrays_fixed` span, from the second time the same
    array is transposed, a contiguous copy of it (made once, reused for the rest of the span).

    A recurrent weight is transposed at every step (h_{t-1} W^T forward, dL/dz_t W^T backward).
    NumPy's BLAS multiplies by a transposed view up to twice as slowly as by a contiguous array at
    RNN sizes, and one copy costs about what one such product loses, so it pays from the second
    use on. Outside a span (or on another library than NumPy) this is the view ``array.mT``.

    Example:
        >>> import numpy as np
        >>> w = np.arange(6.0).reshape(2, 3)
        >>> with arrays_fixed():
        ...     first, second = transposed(w), transposed(w)
        >>> first.flags.c_contiguous, second.flags.c_contiguous, bool((second == w.T).all())
        (False, True, True)
    """
    memo = getattr(_pass, "transposes", None)
    if memo is None:  # outside a span
        return array.mT
    key = id(array)
    if key not in memo:  # the first use: noted (by id only, so the array may still be freed early)
        memo[key] = None
        return array.mT
    copied = memo[key]
    if copied is None:  # the second use: (the array, kept alive so that its id stays its own, its copy)
        copied = memo[key] = (array, backend_of(array).contiguous(array.mT))
    return copied[1]


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
    if tuple(getattr(grad, "shape", ())) != tuple(root._data.shape):  # never broadcast a seed silently
        raise ValueError(
            f"backward: the seed gradient has shape {tuple(getattr(grad, 'shape', ()))} but the tensor "
            f"has shape {tuple(root._data.shape)}; pass an array of the tensor's shape"
        )
    if _recording.recorder is not None:  # tinygrad_rnn.compile is capturing: record this backward
        _recording.recorder.backward(root, grad, on_edge)
    recorder = backward_recorder.get()  # hook: bptt.record_backward (see backward_recorder)
    if recorder is not None and on_edge is None:
        on_edge = recorder(root, grad)
    try:
        with arrays_fixed():  # one backward pass: the arrays it reads do not change
            _backward(root, grad, retain_graph, on_edge)
    finally:
        _collector.backward_done(root)  # the cycle collector runs again once this graph is freed
    if _recording.recorder is not None:  # tinygrad_rnn.compile: this backward is complete
        _recording.recorder.backward_done()


def observe_backward(root: Any, on_edge: Any) -> None:
    """A backward pass that only watches: ``on_edge(op, parent, grad)`` sees every gradient sent
    along an edge (seeded with ones at ``root``); the graph is retained and every ``.grad`` is
    put back as it was. What the BPTT tools and the graph renderer measure gradients with.
    """
    before = [(tensor, tensor.grad) for tensor in topological_order(root)]
    try:
        backward(root, root.xp.ones(root._data.shape, dtype=root.dtype), retain_graph=True, on_edge=on_edge)
    finally:
        for tensor, grad in before:
            tensor.grad = grad


#: The stamp (a tensor-id counter value) of the latest in-place change of any tensor's ``.data``
#: (``w.data *= 10``), set by ``Tensor.data``'s setter. An op recorded after it (its output's id
#: is larger) cannot have saved a changed array, so backward checks only older ops: none at all in
#: the usual loop (optimizer step, then forward, then backward).
last_inplace_change = -1


def _backward(root: Any, grad: Any, retain_graph: bool, on_edge: Any) -> None:
    order = topological_order(root)
    grads: dict[int, Any] = {id(root): grad}
    owned: set[int] = set()  # buffers created here, safe to add into in place
    check_every_op = _modes.current().anomaly  # else only the ops recorded inside detect_anomaly()
    changed_after = last_inplace_change
    for tensor in reversed(order):
        key = id(tensor)
        g = grads.pop(key, None)
        if g is None:  # no path from the root reaches this tensor's output
            continue
        if type(g) in DEFERRED:  # every term or slice of this gradient is in: put together once
            g = g.total()
            owned.add(key)
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
        if tensor.id < changed_after:  # some tensor was changed in place after this op ran
            _check_saved_unchanged(tensor, ctx)
        input_grads = ctx.backward(g)
        inputs = ctx.inputs
        if type(input_grads) is not tuple or len(input_grads) != len(inputs):
            input_grads = _protocol_checked(ctx, input_grads)
        if check_every_op or ctx.anomaly_checked:
            _anomaly.check("backward", ctx, [_checkable(x) for x in input_grads], inputs)
        if not retain_graph:
            ctx.saved = None
            ctx.freed = True
        xp = ctx.xp
        for parent, parent_grad in zip(inputs, input_grads):
            if parent_grad is None or not parent.requires_grad:
                continue
            if on_edge is not None:
                on_edge(ctx, parent, _dense(parent_grad, parent, xp))
            parent_key, data = id(parent), parent._data
            # the common case in a few lines: the first gradient to reach ``parent``, already its shape
            # (an array like the parent's, or the NumPy scalar that 0-d arithmetic returns: a loss's)
            same_kind = type(parent_grad) is type(data) or type(parent_grad) in FLOAT_SCALARS
            if same_kind and parent_key not in grads and parent_grad.shape == data.shape:
                grads[parent_key] = parent_grad
            else:
                _accumulate(grads, owned, parent, parent_grad, xp, ctx)


def _accumulate(grads: dict, owned: set, tensor: Any, g: Any, xp: Any, op: Any = None, key: Any = None) -> None:
    """grads[key] += g, allocating a buffer only where two gradients meet.

    ``key`` names ``tensor``'s entry in ``grads`` and ``owned`` (by default ``id(tensor)``; a compiled
    replay numbers them instead). ``op`` (the Function that sent ``g``) names the culprit if ``g``
    is not a gradient of ``tensor``.
    """
    key = id(tensor) if key is None else key
    buffer = grads.get(key)
    if type(g) is SparseGrad and g.extent is not None and (buffer is None or type(buffer) is SliceGrads):
        _keep_slice(grads, owned, key, tensor, g, xp)
        return
    if type(buffer) is SliceGrads:  # slices meet a gradient of another form: an array first
        buffer = grads[key] = buffer.total()
        owned.add(key)
    if type(g) is WeightTerms or type(buffer) is WeightTerms:
        if buffer is None:
            grads[key] = g
            return
        if type(g) is type(buffer):
            grads[key] = buffer.join(g)
            return
        # terms meet a gradient of another form: the terms become an array, then as below
        if type(g) is WeightTerms:
            g = g.total()
        else:
            buffer = grads[key] = buffer.total()
            owned.add(key)
    if type(g) is SparseGrad:
        if buffer is None:
            buffer = xp.zeros(tensor.shape, dtype=tensor.dtype)
        elif key not in owned:
            buffer = xp.asarray(buffer, copy=True)
        g.add_into(buffer, tensor._backend)
        grads[key] = buffer
        owned.add(key)
        return
    data = tensor._data
    if type(g) is not type(data) and (not hasattr(g, "shape") or hasattr(g, "_backend")):
        raise _not_a_gradient(op, tensor, g)  # not an array (a Tensor, a number, ...)
    if g.shape != data.shape:
        if not _broadcasts_to(data.shape, g.shape):
            raise _not_a_gradient(op, tensor, g)
        g = unbroadcast(g, data.shape, xp)
    if buffer is None:
        grads[key] = g
    elif key in owned:
        buffer += g
        grads[key] = buffer
    else:
        grads[key] = buffer + g
        owned.add(key)


def _keep_slice(grads: dict, owned: set, key: Any, tensor: Any, g: SparseGrad, xp: Any) -> None:
    """Keep a slice's gradient with the others of ``tensor`` (a :class:`SliceGrads`), until its turn
    comes, or until they hold more than ``tensor``: then they become one array, and the slices that
    follow are added into it (``_accumulate``'s SparseGrad case)."""
    pieces = grads.get(key)
    if pieces is None:
        pieces = grads[key] = SliceGrads(tensor, xp)
    pieces.add(g)
    if pieces.outgrown:
        grads[key] = pieces.total()
        owned.add(key)


def _broadcasts_to(shape: tuple, grad_shape: tuple) -> bool:
    """Whether an operand of ``shape`` broadcasts to ``grad_shape`` (so unbroadcast can sum it back)."""
    extra = len(grad_shape) - len(shape)
    if extra < 0:
        return False
    if grad_shape[extra:] == shape:  # only new leading axes (a bias's gradient over the batch)
        return True
    return all(n == m or n == 1 for n, m in zip(reversed(shape), reversed(grad_shape)))


def _protocol_checked(op: Any, input_grads: Any) -> tuple:
    """``backward``'s result as a tuple with one entry per input, or a TypeError saying what is wanted."""
    count = len(op.inputs)
    is_sequence = isinstance(input_grads, (tuple, list))
    if is_sequence and len(input_grads) >= count and all(g is None for g in input_grads[count:]):
        return tuple(input_grads[:count])  # trailing Nones: an optional input that was not given
    got = f"{type(input_grads).__name__}" + (f" of length {len(input_grads)}" if is_sequence else "")
    one = " (note the comma: return (grad_x,))" if count == 1 else ""
    raise TypeError(
        f"backward of op '{op.name}' returned a {got}; Function.backward must return a tuple with one "
        f"gradient (an array, or None) per input of apply, {count} here{one}"
    )


def _not_a_gradient(op: Any, tensor: Any, g: Any) -> TypeError | ValueError:
    """The error for a backward whose gradient for an input is not an array of a broadcast shape."""
    name = "an op" if op is None else f"op '{op.name}'"
    index = "" if op is None else next((f" {i}" for i, x in enumerate(op.inputs) if x is tensor), "")
    if not hasattr(g, "shape") or hasattr(g, "_backend"):
        return TypeError(
            f"backward of {name} returned a {type(g).__name__} for input{index}; gradients are arrays "
            f"of the input's array library (what forward received), not Tensors or Python numbers"
        )
    return ValueError(
        f"backward of {name} returned a gradient of shape {tuple(g.shape)} for input{index}, which has "
        f"shape {tuple(tensor._data.shape)}; a gradient must have the input's shape (or a shape it broadcasts to)"
    )


def _check_saved_unchanged(tensor: Any, op: Any) -> None:
    """Raise if an array ``op`` saved for backward was changed in place after ``op`` made ``tensor``."""
    saved = getattr(op, "saved", None) or ()
    for role, t in (("its output", tensor), *((f"its input {i}", x) for i, x in enumerate(op.inputs))):
        if getattr(t, "_changed_at", -1) > tensor.id and any(_same_memory(s, t._data) for s in saved):
            named = f", {t.name!r}" if t.name else ""
            raise RuntimeError(
                f"backward: a tensor saved for backward by op '{op.name}' (scope: {op.scope or 'top level'}) "
                f"was modified in place after the op ran ({role}, shape {t.shape}{named}), "
                "so its gradient would be wrong. Change .data in place only between backward and the next "
                "forward (as optimizers do), or out of place (w.data = w.data * 10 leaves the op its old values)"
            )


def _same_memory(saved: Any, array: Any) -> bool:
    """Whether ``saved`` is ``array`` or a view of the same memory (NumPy/CuPy ``.base``)."""
    if saved is array:
        return True
    owner = getattr(array, "base", None)
    owner = array if owner is None else owner
    return getattr(saved, "base", None) is owner or saved is owner


def _dense(g: Any, tensor: Any, xp: Any) -> Any:
    """A gradient as a plain array of the tensor's shape (for ``on_edge`` observers)."""
    if type(g) is SparseGrad:
        dense = xp.zeros(tensor.shape, dtype=tensor.dtype)
        g.add_into(dense, tensor._backend)
        return dense
    if type(g) is WeightTerms:
        return g.total()
    return unbroadcast(g, tensor.shape, xp)


def _checkable(g: Any) -> Any:
    """The array detect_anomaly checks for a gradient (a SparseGrad's values, WeightTerms' sum)."""
    if type(g) is WeightTerms:
        return g.total()
    return getattr(g, "values", g)


def _store_grad(tensor: Any, g: Any, is_owned: bool) -> None:
    """Add the finished gradient into ``tensor.grad`` (leaves and ``retain_grad()`` tensors)."""
    if tensor.grad is None:
        if not is_owned:  # never let two .grad tensors share (alias) one array
            g = tensor._backend.xp.asarray(g, copy=True)
        tensor.grad = Tensor._make(g, tensor._backend, None)
    else:
        tensor.grad = Tensor._make(tensor.grad._data + g, tensor._backend, None)
