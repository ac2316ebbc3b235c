"""nn.functional: layers and losses as plain functions of tensors, shaped like ``torch.nn.functional``.

The layers here are compositions of the engine's ops (``linear``, ``getitem``, ``where``, ``*`` ...),
so their gradients come from the ops' backward methods. The losses are one op each
(:mod:`tinygrad_rnn.nn.fused_losses`: forward and backward side by side, equations in comments),
because a loss is often taken at every time step on small arrays, where each recorded op costs
more than its arithmetic; this module checks their arguments and hands them over. Targets, class
indices and masks are constants (no gradient flows into them); they may be Tensors, NumPy arrays
or lists.

Conventions, as in PyTorch:

* class axis: axis 1 of an (N, C) or (N, C, d1, d2, ...) input, axis 0 of a (C,) input;
* ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"`` (one loss per element);
* ``ignore_index``: targets equal to it add nothing, and ``"mean"`` averages over the others only.

Example:
    >>> import tinygrad_rnn as tg
    >>> import tinygrad_rnn.nn.functional as F
    >>> logits = tg.Tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
    >>> loss = F.cross_entropy(logits, [0, 2])
    >>> round(loss.item(), 4)   # mean of log(1 + 2 e^-2) and log 3
    0.6691
    >>> loss.backward()
    >>> logits.grad.shape
    (2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import backend as _backend
from ..function import Function
from ..ops import linear, where
from ..ops.shape import GetItem
from ..shape_rules import check_index_range
from ..tensor import Tensor
from . import fused_losses as fused

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "embedding",
    "layer_norm",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]

REDUCTIONS = ("mean", "sum", "none")


# --- linear layers ---------------------------------------------------------------------------------
# ``linear(x, weight, bias=None)`` is the engine's single op tinygrad_rnn.linear: y = x W^T + b,
# with the weight in PyTorch's (out_features, in_features) layout. It is imported above.


def embedding(input: Tensor | Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by integer indices: ``y[..., :] = weight[input[...], :]``.

    The lookup is integer-array indexing, ``weight[input]``, whose backward adds each output
    row's gradient into its weight row (repeated indices add up) without building a dense
    (num_embeddings, dim) gradient per lookup. Rows looked up by ``padding_idx`` get no gradient
    (their value is returned unchanged, as in PyTorch).

    Args:
        input: integer indices of any shape (N, ...), each in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim).
        padding_idx: an index whose row receives no gradient (negative counts from the end).

    Returns:
        (N, ..., embedding_dim)

    Example:
        >>> import tinygrad_rnn as tg
        >>> weight = tg.Tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> embedding([[2, 1, 0]], weight, padding_idx=0).tolist()
        [[[3.0, 4.0], [1.0, 2.0], [0.0, 0.0]]]
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    num_embeddings = weight.shape[0]
    indices = _integer_indices("embedding", "input", input, weight)
    _check_range("embedding", "input", indices, num_embeddings, f"weight {weight.shape} has {num_embeddings} rows")
    rows = GetItem.apply(weight, key=indices, lookup_of="embedding")  # weight[indices], checked at each replay
    if padding_idx is None:
        return rows
    padding_idx = _padding_index("embedding", padding_idx, num_embeddings)
    # Same values everywhere; the gradient flows only through the rows of non-padding positions.
    not_padding = indices.xp.expand_dims(indices.data != padding_idx, axis=-1)
    return where(not_padding, rows, rows.detach())


def _padding_index(name: str, padding_idx: int, num_embeddings: int) -> int:
    """``padding_idx`` in [0, num_embeddings), counting a negative one from the end as PyTorch does."""
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{name}: padding_idx {padding_idx} must lie within num_embeddings ({num_embeddings})")
    return padding_idx % num_embeddings


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by 1/(1-p).

    y = x * m / (1 - p) with m_i ~ Bernoulli(1 - p), so E[y] = x and evaluation needs no
    rescaling: with ``training=False`` (or p = 0) the input is returned unchanged. The mask comes
    from the generator seeded by :func:`tinygrad_rnn.manual_seed`. dL/dx = dL/dy * m / (1 - p).

    Example:
        >>> import tinygrad_rnn as tg
        >>> tg.manual_seed(0)
        >>> dropout(tg.ones(8), p=0.5).tolist()   # each element 0, or 1 / (1 - p)
        [2.0, 0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0  # every element dropped (and nothing to scale)
    return Dropout.apply(input, p=p)


class Dropout(Function):
    """y = x * m / (1 - p), m_i ~ Bernoulli(1 - p);  dL/dx = dL/dy * m / (1 - p)

    The mask is drawn inside the op, so a step replayed by :func:`tinygrad_rnn.compile` draws a
    new one each time, from the same seeded generator as an eager step.
    """

    def forward(self, x, p):
        xp = self.xp
        uniform = _backend.backend_of(x).random("uniform", tuple(x.shape), _backend.dtype_name(x.dtype))
        scale = xp.astype(uniform >= p, x.dtype) / (1.0 - p)  # P(u >= p) = 1 - p for u ~ U[0, 1)
        self.save_for_backward(scale)
        return x * scale

    def backward(self, grad):
        (scale,) = self.saved
        return (grad * scale,)


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` axes, then scale and shift.

    y = (x - mean) / sqrt(var + eps) * weight + bias, with mean and the *biased* variance
    (divided by the number of elements, as PyTorch does) taken over the normalised axes.

    Example:
        >>> import tinygrad_rnn as tg
        >>> y = layer_norm(tg.Tensor([[1.0, 2.0, 3.0]]), 3)
        >>> [round(v, 3) for v in y.tolist()[0]]
        [-1.225, 0.0, 1.225]
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or len(shape) > input.ndim or input.shape[input.ndim - len(shape) :] != shape:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} must equal the last axes of the input, whose shape is {input.shape}"
        )
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    centred = input - input.mean(axes, keepdims=True)
    variance = (centred * centred).mean(axes, keepdims=True)
    y = centred / (variance + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


# --- activations (the Tensor methods, under their torch.nn.functional names) -------------------------
def relu(input: Tensor) -> Tensor:
    """max(x, 0), elementwise (``x.relu()``).

    Example:
        >>> relu(Tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    return input.relu()


def tanh(input: Tensor) -> Tensor:
    """tanh(x), elementwise (``x.tanh()``).

    Example:
        >>> tanh(Tensor([0.0])).tolist()
        [0.0]
    """
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x), elementwise (``x.sigmoid()``).

    Example:
        >>> sigmoid(Tensor([0.0])).tolist()
        [0.5]
    """
    return input.sigmoid()


def softmax(input: Tensor, axis: int = -1) -> Tensor:
    """e^x / sum(e^x) along ``axis`` (PyTorch's ``dim``), computed stably.

    Example:
        >>> softmax(Tensor([[1.0, 1.0]]), axis=1).tolist()
        [[0.5, 0.5]]
    """
    return input.softmax(axis)


def log_softmax(input: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis`` (PyTorch's ``dim``), computed stably.

    Example:
        >>> round(log_softmax(Tensor([1000.0, 1000.0])).tolist()[0], 4)   # log 1/2, no overflow
        -0.6931
    """
    return input.log_softmax(axis)


def one_hot(indices: Tensor | Any, num_classes: int = -1, dtype: Any = "int64") -> Tensor:
    """``y[..., c] = 1 if indices[...] == c else 0``: shape ``indices.shape + (num_classes,)``.

    ``num_classes=-1`` means one more than the largest index. The result is int64 as in
    PyTorch; pass ``dtype="float32"`` to feed it to a layer. Not differentiable.

    Example:
        >>> one_hot([0, 2], 3).tolist()
        [[1, 0, 0], [0, 0, 1]]
    """
    indices = indices if isinstance(indices, Tensor) else Tensor(indices)
    indices = _integer_indices("one_hot", "indices", indices, indices)
    xp = indices.xp
    if num_classes == -1:
        num_classes = int(xp.max(indices.data)) + 1 if indices.numel() else 0
    _check_range("one_hot", "indices", indices, num_classes, f"num_classes is {num_classes}")
    classes = xp.arange(num_classes, dtype=indices.dtype)
    matches = xp.expand_dims(indices.data, axis=-1) == classes
    return Tensor(xp.astype(matches, indices._backend.dtype(dtype)))


# --- losses ----------------------------------------------------------------------------------------
def cross_entropy(
    input: Tensor,
    target: Tensor | Any,
    weight: Tensor | Any | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of unnormalised scores against class indices.

    loss_n = -log softmax(x_n)[y_n] = logsumexp(x_n) - x_n[y_n]  (times ``weight[y_n]`` if given),
    computed as ``nll_loss(log_softmax(input), target)``, so it never overflows. With
    ``label_smoothing`` = eps the target is the mixture (1 - eps) one_hot(y) + eps / C.

    Args:
        input: scores of shape (N, C), (N, C, d1, ...) (class axis 1), or (C,).
        target: integer class indices of shape (N,), (N, d1, ...), or ().
        weight: optional per-class weights, shape (C,).
        ignore_index: a target value that contributes nothing (and is left out of the mean).
        reduction: ``"mean"`` (over non-ignored targets, weighted: sum of losses / sum of
            ``weight[y_n]``), ``"sum"`` or ``"none"`` (shape of ``target``).
        label_smoothing: eps in [0, 1].

    Example:
        >>> import tinygrad_rnn as tg
        >>> scores = tg.zeros(2, 4, 5)             # batch 2, 4 classes, 5 time steps
        >>> round(cross_entropy(scores, tg.zeros(2, 5, dtype="int64")).item(), 4)  # log 4
        1.3863
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing}")
    _check_reduction("cross_entropy", reduction)
    return _class_loss(fused.CrossEntropy, input._floating(), target, weight, ignore_index, reduction, label_smoothing)


def nll_loss(
    input: Tensor,
    target: Tensor | Any,
    weight: Tensor | Any | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities: loss_n = -input[n, y_n].

    Shapes and options as in :func:`cross_entropy` (which is ``nll_loss(log_softmax(x), y)``).

    Example:
        >>> import tinygrad_rnn as tg
        >>> round(nll_loss(tg.Tensor([[-0.5, -1.0], [-2.0, -0.1]]), [1, 1]).item(), 4)  # (1.0 + 0.1) / 2
        0.55
    """
    _check_reduction("nll_loss", reduction)
    return _class_loss(fused.NLL, input, target, weight, ignore_index, reduction, 0.0)


def _class_axis(name: str, input: Tensor) -> int:
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis: shape (C,), (N, C) or (N, C, d1, ...), got ()")
    return 0 if input.ndim == 1 else 1


def _class_loss(
    op: type,
    input: Tensor,
    target: Any,
    weight: Any,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """The fused op ``op`` (:class:`fused_losses.CrossEntropy` or ``NLL``) on checked arguments.

    The target tensor goes into the op, which checks its values (one reduction on the fast path,
    see ``CrossEntropy.targets``): so the check runs in every replay of a compiled step too.
    """
    name, shape = op.name, input.shape
    axis = _class_axis(name, input)
    num_classes = shape[axis]
    if num_classes == 0:
        raise ValueError(
            f"{name}: the input of shape {shape} has an empty class axis (axis {axis} has size 0); "
            "there must be at least one class"
        )
    target = _integer_indices(name, "target", target, input)
    expected = (shape[0], *shape[2:]) if axis else ()
    if target._data.shape != expected:
        raise ValueError(
            f"{name}: input of shape {shape} (classes on axis {axis}) needs a target of "
            f"shape {expected} holding class indices, got target shape {target.shape}"
        )
    if weight is not None:
        weight = _float_weight(name, "weight", weight, input, (num_classes,)).data
    return op.apply(
        input,
        target=target,
        class_weight=weight,
        axis=axis,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


def mse_loss(input: Tensor, target: Tensor | Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: loss_i = (x_i - y_i)^2. ``target`` may require grad too.

    Example:
        >>> import tinygrad_rnn as tg
        >>> mse_loss(tg.Tensor([1.0, 2.0]), tg.Tensor([1.0, 4.0])).item()
        2.0
    """
    _check_reduction("mse_loss", reduction)
    return fused.MSE.apply(input, _same_shape_target("mse_loss", input, target), reduction=reduction)


def binary_cross_entropy(
    input: Tensor, target: Tensor | Any, weight: Tensor | Any | None = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of probabilities: loss_i = -w_i [y_i log p_i + (1 - y_i) log(1 - p_i)].

    As in PyTorch each log is clamped at -100, so p = 0 or 1 gives a finite loss. Prefer
    :func:`binary_cross_entropy_with_logits` on unsquashed scores: it is stable for any score.

    Example:
        >>> import tinygrad_rnn as tg
        >>> round(binary_cross_entropy(tg.Tensor([0.8, 0.4]), tg.Tensor([1.0, 0.0])).item(), 4)
        0.367
    """
    _check_reduction("binary_cross_entropy", reduction)
    target = _same_shape_target("binary_cross_entropy", input, target)
    if bool(input.xp.any((input.data < 0) | (input.data > 1))):
        raise ValueError(
            f"binary_cross_entropy: every input must be a probability in [0, 1] (input shape {input.shape}); "
            "for raw scores use binary_cross_entropy_with_logits"
        )
    if weight is not None:
        weight = _float_weight("binary_cross_entropy", "weight", weight, input).data
    return fused.BCE.apply(input, target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor | Any,
    weight: Tensor | Any | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | Any | None = None,
) -> Tensor:
    """Binary cross-entropy of scores x (logits), p = sigmoid(x), computed without overflow.

    loss = -[pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]
         = (1 - y) x + (1 + (pw - 1) y) softplus(-x),   softplus(-x) = max(-x, 0) + log(1 + e^-|x|)

    which for ``pos_weight`` pw = 1 is the familiar max(x, 0) - x y + log(1 + e^-|x|): e^-|x|
    never exceeds 1, so nothing overflows for any x. ``pos_weight`` (broadcast along the last
    axis, e.g. one per class) weighs the positive examples; ``weight`` each element.

    Example:
        >>> import tinygrad_rnn as tg
        >>> round(binary_cross_entropy_with_logits(tg.Tensor([1000.0, -1000.0]), tg.Tensor([1.0, 0.0])).item(), 4)
        0.0
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    target = _same_shape_target(name, input, target)
    if weight is not None:
        weight = _float_weight(name, "weight", weight, input).data
    if pos_weight is not None:
        pos_weight = _float_weight(name, "pos_weight", pos_weight, input).data
    return fused.BCEWithLogits.apply(input, target, weight=weight, pos_weight=pos_weight, reduction=reduction)


def _same_shape_target(name: str, input: Tensor, target: Any) -> Tensor:
    """The target of an elementwise loss: a float tensor of the input's shape and dtype."""
    target = _constant(name, "target", target, input)
    if target.shape != input.shape:
        raise ValueError(
            f"{name}: target shape {target.shape} differs from input shape {input.shape}; they must be equal "
            "(no broadcasting: a mismatch is almost always a bug; reshape or squeeze one of them)"
        )
    if not _backend.same_dtype(target, input):
        raise TypeError(
            f"{name}: target has dtype {_backend.dtype_name(target.dtype)} and shape {target.shape}, the input "
            f"{_backend.dtype_name(input.dtype)}; the target must have the input's dtype (use .float() or .double())"
        )
    return target


# --- argument checks shared by the functions above ---------------------------------------------
def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _constant(name: str, what: str, value: Any, like: Tensor) -> Tensor:
    """``value`` (a Tensor, array or list) as a Tensor on ``like``'s device."""
    if isinstance(value, Tensor):
        if value.device != like.device:
            raise _backend.DeviceError(
                f"{name}: {what} is on device {value.device!r} but the input is on {like.device!r}; "
                f"move it with .to({like.device!r})"
            )
        return value
    return Tensor(value, device=like.device)


def _float_weight(name: str, what: str, weight: Any, like: Tensor, shape: tuple | None = None) -> Tensor:
    """A constant weight in ``like``'s float dtype (float32 and float64 are never mixed silently)."""
    weight = _constant(name, what, weight, like)
    if shape is not None and weight.shape != shape:
        raise ValueError(f"{name}: {what} must have shape {shape} (one value per class), got {weight.shape}")
    if not _backend.same_dtype(weight, like):
        raise TypeError(
            f"{name}: {what} has dtype {_backend.dtype_name(weight.dtype)} but the input has "
            f"{_backend.dtype_name(like.dtype)}; convert one with .float() or .double()"
        )
    return weight.detach()


def _integer_indices(name: str, what: str, indices: Any, like: Tensor) -> Tensor:
    indices = _constant(name, what, indices, like)
    if not _backend.is_integer(indices._data.dtype):
        raise TypeError(
            f"{name}: {what} must hold integer indices (e.g. dtype int64), got dtype "
            f"{_backend.dtype_name(indices.dtype)} with shape {indices.shape}"
        )
    return indices


def _check_range(name: str, what: str, indices: Tensor, size: int, why: str, allowed: int | None = None) -> None:
    """IndexError unless every index lies in [0, size) (or equals ``allowed``: ignore_index)."""
    check_index_range(name, what, indices.data, size, why, indices._backend.to_numpy, allowed)
