"""Matrix multiplication, and the affine map of a linear layer.

Example:
    >>> import tinygrad_rnn as tg
    >>> x, weight, bias = tg.ones(5, 3), tg.ones(2, 3), tg.zeros(2)
    >>> linear(x, weight, bias).shape                       # weight: (out_features, in_features)
    (5, 2)
"""

from __future__ import annotations

from ..autograd import WeightTerms, transposed
from ..function import Function
from ..shape_rules import broadcast_shape
from ..tensor import Tensor


class MatMul(Function):
    """y = a @ b (batched and broadcast over leading axes; 1-D operands as in NumPy);
    dL/da = dL/dy @ b^T,  dL/db = a^T @ dL/dy

    For matrices, b^T is laid out once per backward pass (:func:`~tinygrad_rnn.autograd.transposed`)
    and dL/db is returned as its factors (:class:`~tinygrad_rnn.autograd.WeightTerms`): a weight
    used at every time step then costs one copy and one product over all steps, as in hand BPTT.
    """

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.matmul(a, b)

    def refused(self, a, b):  # the array library refused: say which shapes, and why
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: {tuple(a.shape)} @ {tuple(b.shape)}: operands must have at least one dimension")
        inner_a, inner_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if inner_a != inner_b:
            raise ValueError(
                f"matmul: {tuple(a.shape)} @ {tuple(b.shape)}: inner dimensions {inner_a} and {inner_b} differ"
            )
        broadcast_shape(f"matmul: {tuple(a.shape)} @ {tuple(b.shape)}: batch dimensions", a.shape[:-2], b.shape[:-2])
        raise ValueError(f"matmul: cannot multiply {tuple(a.shape)} @ {tuple(b.shape)}")

    def backward(self, grad):
        a, b = self.saved
        xp = self.xp
        # Treat vectors as matrices: a (n,) as (1, n), b (n,) as (n, 1); the gradient likewise.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            grad = xp.expand_dims(grad, axis=-2 if b.ndim > 1 else 0)
        if b.ndim == 1:
            grad = xp.expand_dims(grad, axis=-1)
        need_a, need_b = self.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            grad_a = xp.matmul(grad, transposed(b) if b.ndim == 2 else b2.mT)
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if need_b and a.ndim == 2 and b.ndim == 2:  # a^T g, summed with b's other terms as one product
            grad_b = WeightTerms(a, grad, xp)
        elif need_b:
            grad_b = xp.matmul(a2.mT, grad)
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b


class Linear(Function):
    """y = x W^T + b  (x: (..., in), W: (out, in), b: (out,) or absent), as one recorded op;
    dL/dx = dL/dy W,  dL/dW = sum over leading axes of dL/dy^T x,  dL/db = sum of dL/dy
    (dL/dW as its factors, :class:`~tinygrad_rnn.autograd.WeightTerms`, summed with the weight's
    other terms as one product)

    One node instead of transpose + matmul + add: the weight is used as stored, in PyTorch's
    (out, in) layout, so a shared recurrent weight fans out into each time step directly.

    As in PyTorch, ``b`` may be any array that broadcasts to the output, not only (out,): a
    recurrent step adds its input projection, y = h W_hh^T + x W_ih^T + b, in this same op. (Its
    gradient is dL/dy, which the engine sums back to b's shape.)
    """

    def forward(self, x, weight, bias=None):
        if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(
                f"linear: input {tuple(x.shape)} and weight {tuple(weight.shape)}: the input's last dimension "
                f"must equal the weight's second (weight is (out_features, in_features))"
            )
        rows = _as_rows(self.xp, x)  # every leading axis is a batch axis: one 2-D matmul
        self.save_for_backward(rows, weight)
        self.input_shape = x.shape
        y = self.xp.matmul(rows, transposed(weight))  # W^T laid out once in a recurrent loop
        if x.ndim != 2:
            y = self.xp.reshape(y, (*x.shape[:-1], weight.shape[0]))
        if bias is not None:
            if bias.shape != y.shape[y.ndim - bias.ndim :]:  # neither (out,) nor y's shape: must broadcast to y
                _check_broadcasts_to(bias.shape, y.shape, weight.shape[0])
            y += bias  # y is a new array: adding in place saves one allocation
        return y

    def backward(self, grad):
        rows, weight = self.saved
        xp = self.xp
        need_x, need_w, *need_b = self.needs_input_grad
        grad_rows = _as_rows(xp, grad)
        grad_x = None
        if need_x:
            grad_x = xp.matmul(grad_rows, weight)
            grad_x = grad_x if len(self.input_shape) == 2 else xp.reshape(grad_x, self.input_shape)
        grad_w = WeightTerms(grad_rows, rows, xp) if need_w else None  # g^T x, summed as one product
        if not need_b:  # no bias given: one gradient per input (a third would cost the engine a check)
            return grad_x, grad_w
        return grad_x, grad_w, grad if need_b[0] else None  # dL/db = dL/dy: the engine sums it to b's shape


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` as one :class:`Linear` op; ``weight`` is (out_features, in_features), as in PyTorch."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Linear.apply(*inputs)


def _check_broadcasts_to(bias_shape: tuple, output_shape: tuple, out_features: int) -> None:
    """A clear error unless a bias of ``bias_shape`` broadcasts to the output (without growing it)."""
    try:
        fits = broadcast_shape("linear", output_shape, bias_shape) == tuple(output_shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"linear: bias {tuple(bias_shape)} does not broadcast to the output {tuple(output_shape)}; "
            f"a bias has shape ({out_features},) (out_features)"
        )


def _as_rows(xp, x):
    """``x`` as a 2-D array of rows: (..., n) -> (prod(...), n)."""
    return x if x.ndim == 2 else xp.reshape(x, (-1, x.shape[-1]))
