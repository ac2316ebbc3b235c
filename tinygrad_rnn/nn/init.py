"""nn.init: fill parameters with their starting values, as ``torch.nn.init`` does.

Each ``name_(tensor, ...)`` overwrites ``tensor``'s values in place (the same Tensor object, so
a module keeps its Parameter) and returns it; nothing is recorded in the graph. Random values
come from the generator seeded by :func:`tinygrad_rnn.manual_seed`, so a seed makes a model's
initialisation reproducible on every device. The *distributions* are PyTorch's; the numbers
themselves differ (another random generator), so to reproduce a PyTorch model, load its
state dict.

Fan-in and fan-out follow PyTorch's convention for a weight of shape (out, in, *kernel):
fan_in = in * prod(kernel), fan_out = out * prod(kernel).

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn.nn import init
    >>> tg.manual_seed(0)
    >>> w = init.uniform_(tg.zeros(2, 3), -0.1, 0.1)
    >>> bool(((w.numpy() >= -0.1) & (w.numpy() < 0.1)).all())
    True
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend as _backend
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Replace ``tensor``'s values by the array ``values`` (same shape, cast to its dtype)."""
    tensor.data = tensor.xp.astype(values, tensor.dtype)
    return tensor


def _draw(tensor: Tensor, kind: str) -> Any:
    """Standard normal or U[0, 1) samples shaped and typed like ``tensor``, on its device."""
    if not _backend.is_float(tensor.dtype):
        raise TypeError(f"init: cannot fill a tensor of dtype {tensor.dtype} with random floats")
    return tensor._backend.random(kind, tensor.shape, _backend.dtype_name(tensor.dtype))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples of U[a, b).

    Example:
        >>> w = uniform_(Tensor([0.0, 0.0, 0.0]), 2.0, 3.0)
        >>> bool(((w.numpy() >= 2) & (w.numpy() < 3)).all())
        True
    """
    return _fill(tensor, a + (b - a) * _draw(tensor, "uniform"))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples of N(mean, std^2).

    Example:
        >>> normal_(Tensor([0.0, 0.0]), mean=5.0, std=0.0).tolist()
        [5.0, 5.0]
    """
    return _fill(tensor, mean + std * _draw(tensor, "normal"))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    Example:
        >>> constant_(Tensor([0.0, 0.0]), 0.5).tolist()
        [0.5, 0.5]
    """
    return _fill(tensor, tensor.xp.full(tensor.shape, val, dtype=tensor.dtype))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity: the factor that keeps activations' variance.

    linear, conv*, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);  leaky_relu with slope a: sqrt(2 / (1 + a^2));
    selu: 3/4.

    Example:
        >>> calculate_gain("leaky_relu", 5 ** 0.5) == (1 / 3) ** 0.5
        True
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel); at least 2-D.

    Example:
        >>> import tinygrad_rnn as tg
        >>> fan_in_and_fan_out(tg.zeros(4, 3))
        (3, 4)
    """
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a tensor of at least 2 dimensions, got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return max(fan, 1)  # a zero fan means a tensor with no elements (Linear(0, 4)): nothing is drawn


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Example:
        >>> w = xavier_uniform_(Tensor([[0.0, 0.0, 0.0]] * 3))   # a = sqrt(6 / 6) = 1
        >>> bool((abs(w.numpy()) <= 1).all())
        True
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He: U(-bound, bound) with bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).

    ``nn.Linear`` uses ``a = sqrt(5)``: gain = sqrt(1/3), so bound = 1 / sqrt(fan_in).

    Example:
        >>> import tinygrad_rnn as tg
        >>> w = kaiming_uniform_(tg.zeros(100, 4), a=5 ** 0.5)
        >>> bool((abs(w.numpy()) <= 0.5).all())   # 1 / sqrt(4)
        True
    """
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He: N(0, std^2) with std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain``: the Q of the QR decomposition of a normal sample,
    with the signs of R's diagonal folded in (so Q is uniformly distributed). Often used for
    recurrent weights: an orthogonal W_hh neither grows nor shrinks the hidden state.

    Example:
        >>> import tinygrad_rnn as tg
        >>> q = orthogonal_(tg.zeros(3, 3, dtype="float64")).numpy()
        >>> bool(abs(q @ q.T - tg.eye(3, dtype="float64").numpy()).max() < 1e-12)
        True
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor of at least 2 dimensions, got shape {tensor.shape}")
    xp = tensor.xp
    rows, cols = tensor.shape[0], math.prod(tensor.shape[1:])
    sample = xp.reshape(_draw(tensor, "normal"), (rows, cols))
    if rows < cols:
        sample = sample.mT  # QR of the tall matrix; transpose back below
    q, r = xp.linalg.qr(sample)
    q = q * xp.sign(xp.linalg.diagonal(r))
    if rows < cols:
        q = q.mT
    return _fill(tensor, xp.reshape(q * gain, tensor.shape))
