"""The losses of :mod:`tinygrad_rnn.nn.functional`, each one op: forward and backward side by side.

Why fused: a loss written from the engine's ops (log_softmax, an index, products, a sum, a division)
records five to ten ops and makes dozens of array calls, each costing microseconds of Python however
small the arrays are. A hand-written RNN takes a loss at every time step, on (batch, vocab) scores of a
few dozen numbers, so that cost was most of its training step. As one :class:`~tinygrad_rnn.Function`,
a loss is a handful of array calls forward and one closed-form gradient backward.

Targets and weights are constants (no gradient flows into class indices or class weights): the ops
take them as arrays, prepared and checked by :mod:`nn.functional`. Each op's gradient is tested
against central finite differences in float64 and against PyTorch (tests/test_functional.py and
tests/op_specs.py), including PyTorch's conventions at the points where a formula has a kink.

Example:
    >>> import tinygrad_rnn as tg
    >>> import tinygrad_rnn.nn.functional as F
    >>> loss = F.cross_entropy(tg.zeros(1, 4, requires_grad=True), [2])
    >>> loss.op, round(loss.item(), 4)   # one recorded op; log 4
    ('cross_entropy', 1.3863)
"""

from __future__ import annotations

from typing import Any

from ..backend import backend_of
from ..function import Function, parameter_array
from ..shape_rules import check_index_range

__all__ = ["BCE", "BCEWithLogits", "CrossEntropy", "MSE", "NLL"]


def reduce_loss(xp: Any, loss: Any, reduction: str, count: Any | None) -> tuple[Any, Any]:
    """(the reduced loss, the factor its gradient carries back to every element): ``"mean"`` is the
    sum divided by ``count``, ``"sum"`` the sum, ``"none"`` the loss itself."""
    if reduction == "none":
        return loss, 1.0
    total = xp.sum(loss)
    return (total / count, 1 / count) if reduction == "mean" else (total, 1.0)


# --- class losses: cross_entropy and nll_loss ------------------------------------------------------
class CrossEntropy(Function):
    """loss_n = -(1 - eps) W_n lp[n, y_n] - (eps / C) v_n sum_c w_c lp[n, c],  lp = log_softmax(s)

    s: scores with classes on ``axis``; y_n = ``target``; v_n = 1 for a target that counts, 0 for
    one equal to ``ignore_index``; w = ``class_weight`` (1 if None); W_n = v_n w_{y_n};
    eps = ``label_smoothing``. ``"mean"`` divides the sum over n by sum_n W_n (PyTorch's weighted
    mean). With lp = s - logsumexp(s) and d lp[n, c] / d s[n, k] = [c = k] - p[n, k] (p = softmax(s)):

        dL/ds[n, k] = g_n (p[n, k] A_n - (1 - eps) W_n [k = y_n] - (eps / C) v_n w_k)
        A_n = (1 - eps) W_n + (eps / C) v_n sum_c w_c          (the row's total target mass)

    g_n = dL/dloss_n (the upstream gradient, divided by sum_n W_n for "mean"). Without smoothing,
    dL/ds = g_n W_n (p - onehot(y_n)): the familiar softmax minus the target.

    On the fast path (every target counts, no class weights: v_n = W_n = 1) the op skips the
    products by v and W: ``counted`` and ``weight_of_target`` are None, standing for all ones.
    """

    name = "cross_entropy"
    from_logits = True

    def forward(self, s, target, class_weight, axis, ignore_index, reduction, label_smoothing):
        xp = self.xp
        self.axis, self.label_smoothing, self.num_classes, self.dtype = axis, label_smoothing, s.shape[axis], s.dtype
        indices = parameter_array(target)
        classes, counted = self.targets(indices, ignore_index, s.shape)
        weight_of_target = counted if class_weight is None else _times(counted, take(xp, class_weight, classes))
        pick = class_index(xp, classes, s.shape, axis)  # x[pick] is x[n, y_n], shaped like the target
        exp_shifted = total = None
        if self.from_logits:
            # lp = s - logsumexp(s) = shifted - log(total), with shifted = s - max_c s (exp never overflows)
            shifted = s - xp.max(s, axis=axis, keepdims=True)
            exp_shifted = xp.exp(shifted)
            total = xp.sum(exp_shifted, axis=axis, keepdims=True)
            log_total = xp.log(total)  # kept along the class axis
            nll = log_total[(slice(None),) * axis + (0, ...)] - shifted[pick]  # -lp[n, y_n]
        else:
            nll = -s[pick]
        loss = _times(weight_of_target, nll)
        if label_smoothing:
            loss = (1 - label_smoothing) * loss
            lp = shifted - log_total if self.from_logits else s
            weighted = lp if class_weight is None else lp * along_axis(xp, class_weight, s.ndim, axis)
            loss = loss - (label_smoothing / s.shape[axis]) * _times(counted, xp.sum(weighted, axis=axis))
        count = None
        if reduction == "mean":  # sum_n W_n, the weighted count
            count = indices.size if weight_of_target is None else xp.sum(weight_of_target)
        out, self.scale = reduce_loss(xp, loss, reduction, count)
        self.save_for_backward(classes, counted, weight_of_target, class_weight, exp_shifted, total, pick)
        return out

    def targets(self, indices, ignore_index, input_shape):
        """(classes, counted): the target indices clipped into [0, C) (a safe index on every
        backend), and v_n as floats, or None when every target counts (the fast path).

        A target outside [0, C) that is not ``ignore_index`` raises an IndexError naming it. The
        check costs one reduction on the fast path: cast to unsigned, a negative index wraps to a
        huge number, so "the largest unsigned target is below C" says every target is a class.
        Otherwise (or with an ``ignore_index`` inside [0, C)) the targets that count are those a
        clip leaves alone (and that differ from ``ignore_index``); only when some do not is each
        value looked at."""
        xp, num_classes = self.xp, self.num_classes
        ignores_a_class = 0 <= ignore_index < num_classes  # an ignore_index that is a class (padding 0, say)
        if indices.size and not ignores_a_class:
            # bool(...) rather than int(...) < C: a yes/no question, which a compiled replay asks again
            if bool(xp.max(xp.astype(indices, xp.uint64)) < num_classes):  # the fast path
                return indices, None
        classes = xp.minimum(xp.maximum(indices, 0), num_classes - 1)  # (xp.clip costs more)
        counts = classes == indices
        if ignores_a_class:
            counts = counts & (indices != ignore_index)
        if int(xp.count_nonzero(counts)) == counts.size:
            return classes, None
        why = f"the input {tuple(input_shape)} has {num_classes} classes (ignore_index={ignore_index})"
        check_index_range(self.name, "target", indices, num_classes, why, backend_of(indices).to_numpy, ignore_index)
        return classes, xp.astype(counts, self.dtype)

    def backward(self, grad):
        classes, counted, weight_of_target, class_weight, exp_shifted, total, pick = self.saved
        xp, axis, eps = self.xp, self.axis, self.label_smoothing
        g = grad * self.scale  # g_n (a scalar for "mean" and "sum")
        if not eps and exp_shifted is not None:  # no smoothing: dL/ds = g_n W_n (p - onehot(y_n)), in place
            grad_s = exp_shifted / total  # p, a new array (3 array calls, where the general case makes 7)
            # - onehot(y_n): -1 at one element per target (a scatter costs less than a one-hot matrix)
            backend_of(grad_s).scatter_add(grad_s, pick, xp.asarray(-1, dtype=grad_s.dtype))
            grad_s *= along_class_axis(_times(weight_of_target, g), axis)
            return (grad_s,)
        target_mass = along_class_axis((1 - eps) * _times(weight_of_target, g), axis)  # (1 - eps) g_n W_n
        grad_lp = -target_mass * self.onehot(classes)  # dL/dlp: the term at the target class
        row_total = -target_mass  # sum_c dL/dlp[n, c]
        if eps:
            share = along_class_axis((eps / self.num_classes) * _times(counted, g), axis)  # (eps / C) g_n v_n
            if class_weight is None:
                grad_lp, row_total = grad_lp - share, row_total - share * self.num_classes
            else:
                grad_lp = grad_lp - share * along_axis(xp, class_weight, grad_lp.ndim, axis)
                row_total = row_total - share * xp.sum(class_weight)
        if exp_shifted is None:  # nll_loss: the scores are lp
            return (grad_lp,)
        # log_softmax's backward: dL/ds = dL/dlp - p * sum_c dL/dlp[n, c], p = e^(s - shift) / total
        return (grad_lp - (exp_shifted / total) * row_total,)

    def onehot(self, classes):
        """[k = y_n] as floats, classes on ``self.axis``: one comparison (no scatter) on every backend."""
        xp, axis = self.xp, self.axis
        is_target = along_class_axis(classes, axis) == class_range(xp, self.num_classes, axis, classes.ndim + 1)
        return xp.astype(is_target, self.dtype)


class NLL(CrossEntropy):
    """loss_n = -W_n s[n, y_n]  (s: log-probabilities);  dL/ds[n, k] = -g_n W_n [k = y_n]

    Options and the weighted mean as in :class:`CrossEntropy` (of which this is the lp = s case)."""

    name = "nll_loss"
    from_logits = False


def _times(factor: Any, x: Any) -> Any:
    """``factor * x``, where a factor of None stands for ones (v_n or W_n on the fast path)."""
    return x if factor is None else factor * x


def along_class_axis(per_target: Any, axis: int) -> Any:
    """A per-target array (shaped like the target) with a class axis of size 1 inserted at ``axis``
    (a 0-d factor, the scalar g of a reduced loss, broadcasts as it is)."""
    return per_target[(slice(None),) * axis + (None, ...)] if per_target.ndim else per_target


def class_index(xp: Any, classes: Any, shape: tuple, axis: int) -> tuple:
    """The index that picks ``x[n, classes[n, ...], ...]`` from scores of ``shape`` (class axis ``axis``)."""
    if len(shape) == 1:
        return (classes,)
    if len(shape) == 2:
        return (xp.arange(shape[0]), classes)
    positions = [
        xp.reshape(xp.arange(n), tuple(n if i == k else 1 for i in range(len(shape) - 1)))
        for k, n in enumerate(shape[:1] + shape[2:])
    ]
    return (positions[0], classes, *positions[1:])


def class_range(xp: Any, num_classes: int, axis: int, ndim: int) -> Any:
    """0, 1, ..., C - 1 along ``axis`` of an ``ndim``-axis array (to compare class indices with)."""
    return xp.reshape(xp.arange(num_classes), (num_classes,) + (1,) * (ndim - axis - 1))


def take(xp: Any, values: Any, indices: Any) -> Any:
    """``values[indices]`` for a 1-D array ``values`` and an integer array ``indices`` of any shape."""
    return xp.reshape(xp.take(values, xp.reshape(indices, (-1,)), axis=0), indices.shape)


def along_axis(xp: Any, weight: Any, ndim: int, axis: int) -> Any:
    """Per-class weights shaped to broadcast against scores with ``ndim`` axes, classes on ``axis``."""
    return xp.reshape(weight, (weight.shape[0],) + (1,) * (ndim - axis - 1))


# --- elementwise losses -----------------------------------------------------------------------------
class MSE(Function):
    """loss_i = (x_i - y_i)^2;  dL/dx_i = 2 g_i (x_i - y_i),  dL/dy_i = -dL/dx_i"""

    name = "mse_loss"

    def forward(self, x, y, reduction):
        difference = x - y
        out, self.scale = reduce_loss(self.xp, difference * difference, reduction, difference.size)
        self.save_for_backward(difference)
        return out

    def backward(self, grad):
        (difference,) = self.saved
        grad_x = (2 * self.scale) * grad * difference
        return grad_x, -grad_x


class BCEWithLogits(Function):
    """Binary cross-entropy of scores x, p = sigmoid(x), with pos_weight q and weight w:

        loss = w [(1 - y) x + L softplus(-x)],   L = 1 + (q - 1) y,   softplus(-x) = log(1 + e^-x)

    (= -w [q y log p + (1 - y) log(1 - p)]), with softplus(-x) = max(-x, 0) + log1p(e^-|x|), which
    never overflows. Both derivatives are smooth everywhere; at x = 0, dL/dx = w (1/2 - y) for q = 1:

        dL/dx = g w [(1 - y) - L sigmoid(-x)]          (= g w (sigmoid(x) - y) for q = 1)
        dL/dy = g w [-x + (q - 1) softplus(-x)]
    """

    name = "binary_cross_entropy_with_logits"

    def forward(self, x, y, weight, pos_weight, reduction):
        xp = self.xp
        # log(1 + e^-x) = max(-x, 0) + log(1 + e^-|x|): the same value as logaddexp(0, -x), which
        # NumPy computes elementwise without SIMD (36 µs on (32, 65) float32, this 7 µs)
        softplus_of_minus_x = xp.maximum(-x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))
        log_weight = 1.0 if pos_weight is None else 1 + (pos_weight - 1) * y  # L
        loss = (1 - y) * x + log_weight * softplus_of_minus_x
        if weight is not None:
            loss = loss * weight
        out, self.scale = reduce_loss(xp, loss, reduction, loss.size)
        self.save_for_backward(x, y, weight, pos_weight, log_weight, softplus_of_minus_x)
        return out

    def backward(self, grad):
        x, y, weight, pos_weight, log_weight, softplus_of_minus_x = self.saved
        need_x, need_y = self.needs_input_grad
        g = grad * self.scale if weight is None else grad * self.scale * weight
        sigmoid_of_minus_x = 0.5 - 0.5 * self.xp.tanh(0.5 * x)  # 1 - sigmoid(x), no overflow
        grad_x = g * ((1 - y) - log_weight * sigmoid_of_minus_x) if need_x else None
        if not need_y:
            return grad_x, None
        grad_y = -x if pos_weight is None else (pos_weight - 1) * softplus_of_minus_x - x
        return grad_x, g * grad_y


# PyTorch's clamps: each log at least -100 (so p = 0 or 1 gives a finite loss), and the
# derivative's denominator p (1 - p) at least 1e-12 (so its gradient there is finite too).
LOG_FLOOR = -100.0
DENOMINATOR_FLOOR = 1e-12
# Smaller than e^-100 in float64, and rounds to float32's smallest subnormal (1.4e-45 < e^-100): the
# log of max(p, TINY), then clamped at -100, is the clamped log without a log(0) warning.
TINY = 1e-45


class BCE(Function):
    """Binary cross-entropy of probabilities p, with weight w (PyTorch's clamps, above):

    loss = -w [y max(log p, -100) + (1 - y) max(log(1 - p), -100)]
    dL/dp = g w (p - y) / max(p (1 - p), 1e-12)     (= -y/p + (1 - y)/(1 - p) inside (0, 1))
    dL/dy = g w [max(log(1 - p), -100) - max(log p, -100)]
    """

    name = "binary_cross_entropy"

    def forward(self, p, y, weight, reduction):
        xp = self.xp
        log_p = xp.maximum(xp.log(xp.clip(p, TINY, None)), LOG_FLOOR)
        log_q = xp.maximum(xp.log(xp.clip(1 - p, TINY, None)), LOG_FLOOR)
        loss = -(y * log_p + (1 - y) * log_q)
        if weight is not None:
            loss = loss * weight
        out, self.scale = reduce_loss(xp, loss, reduction, loss.size)
        self.save_for_backward(p, y, weight, log_p, log_q)
        return out

    def backward(self, grad):
        p, y, weight, log_p, log_q = self.saved
        need_p, need_y = self.needs_input_grad
        g = grad * self.scale if weight is None else grad * self.scale * weight
        grad_p = g * (p - y) / self.xp.maximum(p * (1 - p), DENOMINATOR_FLOOR) if need_p else None
        return grad_p, (g * (log_q - log_p) if need_y else None)
