"""Matrix multiplication."""

from __future__ import annotations

from ..function import Function


class MatMul(Function):
    """y = a @ b (batched and broadcast over leading axes; 1-D operands as in NumPy);
    dL/da = dL/dy @ b^T,  dL/db = a^T @ dL/dy"""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul: operands must have at least one dimension, got {tuple(a.shape)} @ {tuple(b.shape)}"
            )
        inner_a, inner_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if inner_a != inner_b:
            raise ValueError(
                f"matmul: {tuple(a.shape)} @ {tuple(b.shape)}: inner dimensions {inner_a} and {inner_b} differ"
            )
        if a.ndim > 2 or b.ndim > 2:
            from .arithmetic import broadcast_shape

            broadcast_shape(self.name, a.shape[:-2], b.shape[:-2])
        self.save_for_backward(a, b)
        return a @ b

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
            grad_a = grad @ b2.mT
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if need_b:
            grad_b = a2.mT @ grad
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b
