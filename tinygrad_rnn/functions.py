"""An alias kept for old imports: ``cat``, ``stack``, ``where`` and ``linear`` live in ``ops/``.

``cat`` and ``stack`` are in :mod:`tinygrad_rnn.ops.shape`, ``where`` in
:mod:`tinygrad_rnn.ops.arithmetic`, ``linear`` in :mod:`tinygrad_rnn.ops.linalg`, each beside the
op it applies; all four are re-exported by :mod:`tinygrad_rnn.ops` and at the top (``tg.cat``).
New code imports them from there.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn.functions import cat
    >>> cat is tg.ops.cat is tg.cat
    True
"""

from .ops import cat, linear, stack, where

__all__ = ["cat", "linear", "stack", "where"]
