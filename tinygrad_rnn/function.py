"""Function: how a differentiable op is defined, and how it is recorded.

An op is a subclass of :class:`Function` with two methods side by side:

* ``forward(self, *arrays, **params)`` computes the output from backend arrays (NumPy, CuPy, ...)
  using only the Array API namespace ``self.xp``, and states what backward will need with
  ``self.save_for_backward(...)``;
* ``backward(self, grad)`` receives dL/d(output) and returns dL/d(input) for every input, in
  order (``None`` for an input that needs no gradient; ``self.needs_input_grad`` tells which).

One rule for what forward keeps for backward, by kind:

* **arrays** (inputs, outputs, intermediate results, index arrays) go through
  ``self.save_for_backward(...)`` and come back as ``self.saved``: the engine frees them after
  backward (unless ``retain_graph=True``), so a finished graph holds no array memory;
* **Python metadata** (shapes, axes, slices, dtypes, flags, numbers) goes on attributes of the op
  (``self.input_shape = x.shape``): small, and kept with the graph's structure, where pictures
  read it after backward. An index is metadata even when it holds integer arrays (``x[idx]``'s
  key: the picture writes ``x[idx(3,)]``).

An op that needs no arrays (``Reshape``, ``Pad``, ``Sum``) never calls ``save_for_backward``.
An op without a gradient (a comparison, ``argmax``) sets ``differentiable = False`` and defines
no backward: its output never requires grad, and it is still recorded by ``tinygrad_rnn.compile``.

A gradient may have the output's broadcast shape: the engine sums it back to the input's shape
in one place (:func:`tinygrad_rnn.shape_rules.unbroadcast`), so no op has to.

``MyOp.apply(*tensors, **params)`` runs forward and, when gradients are wanted, records the
instance as the output's ``grad_fn``: the instance *is* the backward context.

Example — a cube op, written the way the library writes its own::

    >>> from tinygrad_rnn import Function, Tensor
    >>> class Cube(Function):
    ...     '''y = x^3;  dL/dx = dL/dy * 3 x^2'''
    ...     def forward(self, x):
    ...         self.save_for_backward(x)
    ...         return x * x * x
    ...     def backward(self, grad):
    ...         (x,) = self.saved
    ...         return (grad * 3 * x * x,)
    >>> x = Tensor([2.0], requires_grad=True)
    >>> Cube.apply(x).sum().backward()
    >>> x.grad.item()
    12.0
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from . import anomaly as _anomaly
from . import backend as _backend
from . import collector as _collector
from . import modes as _modes
from . import recording as _recording
from .tensor import Tensor  # tensor.py imports this module at its end: see there


class set_grad_enabled(_modes.ModeBlock):
    """Context manager (or decorator) in which ops record (``True``) or record nothing (``False``):
    ``with set_grad_enabled(training):``. :class:`no_grad` and :class:`enable_grad` are its two cases.

    Per thread (see :mod:`tinygrad_rnn.modes`): other threads keep their own mode.

    Example:
        >>> from tinygrad_rnn import Tensor, set_grad_enabled
        >>> w = Tensor([1.0], requires_grad=True)
        >>> with set_grad_enabled(False):
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    __slots__ = ("enabled",)

    def __init__(self, enabled: bool):
        if not isinstance(enabled, bool):
            raise TypeError(f"set_grad_enabled: expected True or False, got {enabled!r} ({type(enabled).__name__})")
        self.enabled = enabled

    def changed(self, modes: _modes.Modes) -> _modes.Modes:
        return modes._replace(grad_enabled=self.enabled)

    def __enter__(self) -> None:
        super().__enter__()

    def __call__(self, fn: Callable) -> Callable:
        enabled = self.enabled

        @functools.wraps(fn)
        def in_grad_mode(*args: Any, **kwargs: Any) -> Any:
            # a new block per call: one instance's tokens must never be shared by two threads
            with set_grad_enabled(enabled):
                return fn(*args, **kwargs)

        return in_grad_mode


class no_grad(set_grad_enabled):
    """``set_grad_enabled(False)``: ops record nothing (no graph, no saved arrays).

    Example:
        >>> from tinygrad_rnn import Tensor, no_grad
        >>> w = Tensor([1.0], requires_grad=True)
        >>> with no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """``set_grad_enabled(True)``: ops record again, inside a ``no_grad()`` block.

    Example:
        >>> from tinygrad_rnn import Tensor, no_grad, enable_grad
        >>> w = Tensor([1.0], requires_grad=True)
        >>> with no_grad():
        ...     with enable_grad():
        ...         y = w * 2
        >>> y.requires_grad
        True
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(True)


def is_grad_enabled() -> bool:
    """Whether ops record in the calling thread (False inside ``no_grad()``)."""
    return _modes.current().grad_enabled


class Function:
    """Base class of every differentiable op. See the module docstring for how to write one."""

    #: The op's name in graphs and error messages; defaults to the lower-cased class name.
    name: str = ""
    #: False for an op without a gradient (a comparison, argmax): its output never requires grad,
    #: but it is an op all the same, so tinygrad_rnn.compile records and replays it.
    differentiable: bool = True

    # What every recorded op has, in slots: most ops then need no attribute dictionary at all (one
    # object fewer per recorded op); an op's own attributes (``self.input_shape = ...``) go in one.
    __slots__ = ("inputs", "saved", "needs_input_grad", "xp", "scope", "freed", "__dict__")
    inputs: tuple  # the input Tensors (the node's parents in the graph)
    saved: tuple | None  # what forward kept for backward; None once backward has freed it
    needs_input_grad: tuple  # one bool per input
    xp: Any  # the Array API namespace of the inputs
    scope: str  # the scope path the op was recorded in
    freed: bool  # True once a backward without retain_graph released ``saved``
    anomaly_checked: bool = False  # recorded inside detect_anomaly(): backward checks it too
    time_axis: tuple[int, int] | None = None  # (axis, steps) for anomaly messages (anomaly.time_axis)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__.lower()

    # --- the two methods an op defines -------------------------------------------------------
    def forward(self, *arrays: Any, **params: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Any) -> tuple:
        raise NotImplementedError(f"{self.name}: backward is not defined")

    def refused(self, *arrays: Any, **params: Any) -> None:
        """Called when ``forward`` raised a ValueError or TypeError (the array library refusing
        its operands, most often): raise a clearer error naming the op and what is wrong with the
        operands, or return to let the original error through (the default). Kept out of ``forward``
        so that an op's happy path is the equation alone."""

    def save_for_backward(self, *values: Any) -> None:
        """Keep what backward needs (arrays or small Python values); freed after backward."""
        self.saved = values

    # --- running and recording ---------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the op on Tensors and record it when any input requires grad."""
        ctx = _new(cls)
        modes = _modes.current()  # this thread's modes, read once per op
        try:
            # one and two inputs (nearly every op) spelled out: a loop and a list cost more than the op
            if len(inputs) == 1:
                (first,) = inputs
                arrays, needs_input_grad = (first._data,), (first.requires_grad,)
            elif len(inputs) == 2:
                first, second = inputs
                a, b = first._data, second._data
                if second._backend is first._backend and a.dtype is b.dtype:
                    arrays = (a, b)
                else:
                    arrays = _checked_operands(cls.name, inputs)
                needs_input_grad = (first.requires_grad, second.requires_grad)
            else:
                first = inputs[0]
                arrays, needs_input_grad = operand_arrays(cls.name, inputs), tuple([t.requires_grad for t in inputs])
            backend = first._backend
        except (AttributeError, IndexError):  # not Tensors: the slow path says what apply wants
            raise _not_tensors(cls, inputs) from None
        ctx.xp = backend.xp
        ctx.needs_input_grad = needs_input_grad
        ctx.scope = modes.scope
        ctx.freed = False
        requires_grad = modes.grad_enabled and True in needs_input_grad and cls.differentiable
        if requires_grad:
            ctx.inputs = inputs
        try:
            out = ctx.forward(*arrays, **params) if params else ctx.forward(*arrays)
        except (ValueError, TypeError):  # the op may say why, in its words (shapes that do not broadcast)
            ctx.refused(*arrays, **params)
            raise
        if modes.anomaly:  # checked now, and its backward later, wherever backward is called
            ctx.anomaly_checked, ctx.time_axis = True, modes.time_axis
            _anomaly.check("forward", ctx, (out,), inputs)
        result = Tensor._make(out, backend, ctx if requires_grad else None, modes.scope)
        if requires_grad and result.id > _collector.resume_at:  # pauses the cycle collector: see collector.py
            _collector.recorded(result.id)
        if _recording.recorder is not None:  # tinygrad_rnn.compile is capturing: record this op
            _recording.recorder.op(ctx, inputs, params, result)
        return result

    def __repr__(self) -> str:
        return f"<{self.name} at {getattr(self, 'scope', '') or 'top level'}>"


_new = object.__new__


def parameter_array(value: Any) -> Any:
    """A forward parameter that may be a Tensor (an index, a class target, a mask): its array.

    Eagerly an op receives the Tensor itself; a replay of :func:`tinygrad_rnn.compile` passes the
    tensor's array (rebuilt from the tape's slot), which is returned as it is, like any non-Tensor.
    """
    return value._data if isinstance(value, Tensor) else value


def _not_tensors(cls: type, inputs: tuple) -> TypeError:
    """The error for ``MyOp.apply(0.5)``: apply takes Tensors (its forward receives their arrays)."""
    given = ", ".join(type(x).__name__ for x in inputs) or "nothing"
    return TypeError(
        f"{cls.name}.apply: expected Tensors as positional arguments, got {given}; wrap numbers and "
        f"arrays with Tensor(...) first (non-tensor settings go as keywords: {cls.__name__}.apply(x, axis=1))"
    )


def operand_arrays(op: str, inputs: tuple) -> list:
    """The arrays of several tensors, checked to live on one device and brought to one dtype by
    :func:`_common_dtype`'s rule: what every op (and every comparison) of several tensors needs."""
    first = inputs[0]
    backend, dtype = first._backend, first._data.dtype
    for tensor in inputs:
        # ``is``: a dtype is almost always NumPy's one shared object; anything else takes the full check
        if tensor._backend is not backend or tensor._data.dtype is not dtype:
            return _checked_operands(op, inputs)
    return [t._data for t in inputs]


def _checked_operands(op: str, inputs: tuple) -> list:
    """The slow path of :func:`operand_arrays`: one device (or a DeviceError), one dtype."""
    first = inputs[0]
    for tensor in inputs:
        if tensor._backend is not first._backend:
            raise _backend.DeviceError(
                f"{op}: tensors on different devices: {first.device!r} and {tensor.device!r}; "
                f"move one with .to({first.device!r}) first"
            )
    if all(t._data.dtype == first._data.dtype for t in inputs):
        return [t._data for t in inputs]
    return _common_dtype(op, inputs, first._backend)


def _common_dtype(op: str, inputs: tuple, backend: Any) -> list:
    """Arrays of ``inputs`` in one dtype, by the library's one rule for mixed dtypes.

    Rule: floating dtypes never mix silently — float32 with float64 is an error (convert one
    with ``.float()`` or ``.double()``). Integer and bool operands take the floating operand's
    dtype, so ``int_tensor * float32_tensor`` is float32. Integers of different widths follow
    the array library's own promotion.
    """
    float_names = {_backend.dtype_name(t.dtype) for t in inputs if _backend.is_float(t.dtype)}
    if len(float_names) > 1:
        described = ", ".join(f"{t.shape} {_backend.dtype_name(t.dtype)}" for t in inputs)
        raise TypeError(
            f"{op}: cannot mix float32 and float64 tensors ({described}); tinygrad_rnn never "
            "upcasts silently: convert one with .float() or .double() first"
        )
    if not float_names:
        return [t._data for t in inputs]
    target = backend.dtype(float_names.pop())
    xp = backend.xp
    return [t._data if t._data.dtype == target else xp.astype(t._data, target) for t in inputs]
