"""Factories: new tensors filled with constants, ranges or random numbers.

Random numbers come from one NumPy generator (seed it with :func:`manual_seed`), so a seed gives
the same numbers on every device.

Example:
    >>> from tinygrad_rnn import manual_seed, randn, zeros
    >>> manual_seed(0)
    >>> randn(2, 3).shape, zeros(4, dtype="float64").dtype
    ((2, 3), dtype('float64'))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import arguments
from . import backend as _backend
from .tensor import Tensor

Shape = int | Sequence[int]


def _new(make: Any, shape: tuple, dtype: Any, device: str | None, requires_grad: bool, name: str | None) -> Tensor:
    """A new tensor of ``shape`` (already checked) filled by ``make(backend, shape, dtype)``."""
    backend = _backend.get_backend(device)
    data = make(backend, shape, backend.dtype(dtype or _backend.DEFAULT_FLOAT))
    return Tensor(data, requires_grad=requires_grad, name=name)


def zeros(
    *shape: Shape, dtype: Any = None, device: str | None = None, requires_grad: bool = False, name: str | None = None
) -> Tensor:
    return _new(
        lambda b, s, d: b.xp.zeros(s, dtype=d), arguments.shape("zeros", shape), dtype, device, requires_grad, name
    )


def ones(
    *shape: Shape, dtype: Any = None, device: str | None = None, requires_grad: bool = False, name: str | None = None
) -> Tensor:
    return _new(
        lambda b, s, d: b.xp.ones(s, dtype=d), arguments.shape("ones", shape), dtype, device, requires_grad, name
    )


def full(
    shape: Shape,
    value: float,
    dtype: Any = None,
    device: str | None = None,
    requires_grad: bool = False,
    name: str | None = None,
) -> Tensor:
    return _new(
        lambda b, s, d: b.xp.full(s, value, dtype=d),
        arguments.shape("full", (shape,)),
        dtype,
        device,
        requires_grad,
        name,
    )


def randn(
    *shape: Shape, dtype: Any = None, device: str | None = None, requires_grad: bool = False, name: str | None = None
) -> Tensor:
    """Samples of the standard normal distribution."""

    def make(b, s, d):
        return b.random("normal", s, _backend.dtype_name(d))

    return _new(make, arguments.shape("randn", shape), dtype, device, requires_grad, name)


def rand(
    *shape: Shape, dtype: Any = None, device: str | None = None, requires_grad: bool = False, name: str | None = None
) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""

    def make(b, s, d):
        return b.random("uniform", s, _backend.dtype_name(d))

    return _new(make, arguments.shape("rand", shape), dtype, device, requires_grad, name)


def arange(
    start: float, stop: float | None = None, step: float = 1, dtype: Any = None, device: str | None = None
) -> Tensor:
    """Like ``range``: integers give an int64 tensor, floats a float32 one."""
    if stop is None:
        start, stop = 0, start
    for what, value in (("start", start), ("stop", stop), ("step", step)):
        arguments.number("arange", what, value)
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if dtype is None:
        dtype = "int64" if all(isinstance(v, int) for v in (start, stop, step)) else _backend.DEFAULT_FLOAT
    backend = _backend.get_backend(device)
    return Tensor(backend.xp.arange(start, stop, step, dtype=backend.dtype(dtype)))


def eye(
    n: int,
    m: int | None = None,
    dtype: Any = None,
    device: str | None = None,
    requires_grad: bool = False,
    name: str | None = None,
) -> Tensor:
    n = arguments.size("eye", "n", n)
    m = n if m is None else arguments.size("eye", "m", m)
    return _new(lambda b, s, d: b.xp.eye(n, m, dtype=d), (), dtype, device, requires_grad, name)


def zeros_like(tensor: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(tensor.shape, dtype=dtype or tensor.dtype, device=tensor.device, requires_grad=requires_grad)


def ones_like(tensor: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(tensor.shape, dtype=dtype or tensor.dtype, device=tensor.device, requires_grad=requires_grad)
