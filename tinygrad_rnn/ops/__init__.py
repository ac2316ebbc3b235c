"""The library's ops, one family per file, each forward beside its backward.

* ``arithmetic`` — ``+ - * / ** neg``, ``maximum``, ``minimum``, ``where``, ``clip``, and the
  comparisons ``== != < <= > >=`` (ops without a gradient: ``differentiable = False``)
* ``unary``      — ``exp log sqrt tanh sigmoid relu abs`` and dtype casts
* ``reduce``     — ``sum max min logsumexp softmax log_softmax``, and ``argmax argmin`` (no gradient)
* ``shape``      — ``reshape permute expand getitem pad cat``
* ``linalg``     — ``matmul``, ``linear``
* ``composite``  — ``mean var flatten transpose squeeze unsqueeze expand split chunk unbind``: made
  of the ops above, with no backward of their own

The functions of several tensors live beside their ops and are re-exported here and at the top
(``tg.cat``): :func:`~.shape.cat`, :func:`~.shape.stack`, :func:`~.arithmetic.where`,
:func:`~.linalg.linear`. Every op and composition has a method of the same name on
:class:`~tinygrad_rnn.tensor.Tensor`.
"""

from . import arithmetic, composite, linalg, reduce, shape, unary
from .arithmetic import where
from .linalg import linear
from .shape import cat, stack

__all__ = ["arithmetic", "cat", "composite", "linalg", "linear", "reduce", "shape", "stack", "unary", "where"]
