"""The library's differentiable ops, one family per file, each forward beside its backward.

* ``arithmetic`` — ``+ - * / ** neg``, ``maximum``, ``minimum``, ``where``, ``clip``
* ``unary``      — ``exp log sqrt tanh sigmoid relu abs`` and dtype casts
* ``reduce``     — ``sum max min logsumexp softmax log_softmax``
* ``shape``      — ``reshape permute expand getitem pad cat``
* ``linalg``     — ``matmul``

``mean``, ``var``, ``stack``, ``split``, ``chunk``, ``unbind``, ``squeeze`` ... are compositions of
these, defined on :class:`~tinygrad_rnn.tensor.Tensor`.
"""

from . import arithmetic, linalg, reduce, shape, unary

__all__ = ["arithmetic", "linalg", "reduce", "shape", "unary"]
