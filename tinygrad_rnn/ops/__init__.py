"""The library's ops, one family per file, each forward beside its backward.

* ``arithmetic`` — ``+ - * / ** neg``, ``maximum``, ``minimum``, ``where``, ``clip``, and the
  comparisons ``== != < <= > >=`` (ops without a gradient: ``differentiable = False``)
* ``unary``      — ``exp log sqrt tanh sigmoid relu abs`` and dtype casts
* ``reduce``     — ``sum max min logsumexp softmax log_softmax``, and ``argmax argmin`` (no gradient)
* ``shape``      — ``reshape permute expand getitem pad cat``
* ``linalg``     — ``matmul``, ``linear``

The functions of several tensors live beside their ops and are re-exported here and at the top
(``tg.cat``): :func:`~.shape.cat`, :func:`~.shape.stack`, :func:`~.arithmetic.where`,
:func:`~.linalg.linear`. ``mean``, ``var``, ``split``, ``chunk``, ``unbind``, ``squeeze`` ... are
compositions of the ops, defined on :class:`~tinygrad_rnn.tensor.Tensor`.
"""

from . import arithmetic, linalg, reduce, shape, unary
from .arithmetic import where
from .linalg import linear
from .shape import cat, stack

__all__ = ["arithmetic", "cat", "linalg", "linear", "reduce", "shape", "stack", "unary", "where"]
