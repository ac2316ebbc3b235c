"""The rule for backward state (function.py's docstring): arrays through save_for_backward, freed
after backward; Python metadata on attributes. Checked over a graph that uses every kind of op."""

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import autograd, nn


def holds_arrays(value) -> bool:
    if isinstance(value, (tuple, list)):
        return any(holds_arrays(v) for v in value)
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, tg.Tensor)


def test_after_backward_no_op_keeps_an_array():
    x = tg.randn(4, 2, 3, requires_grad=True)
    weight, bias = tg.randn(5, 3, requires_grad=True), tg.randn(5, requires_grad=True)
    y = tg.linear(x, weight, bias).clip(-1.0, 1.0).double().float()
    y = tg.cat([y[np.array([0, 2])], y[1:3].reshape(2, 2, 5).pad(((1, 0),))[1:]], axis=0)
    y = tg.where(y > 0, y.sum(axis=-1, keepdims=True).max(axis=1, keepdims=True) * y, y.softmax(axis=-1))
    output, _ = nn.LSTM(5, 2, fused=True)(y)
    loss = output.logsumexp(axis=-1).sum()
    loss.backward()
    ops = {t.grad_fn for t in autograd.walk(loss) if t.grad_fn is not None}
    kinds = {"getitem", "linear", "clip", "cast", "pad", "reshape", "cat", "where", "sum", "max", "fused_lstm"}
    assert kinds <= {op.name for op in ops}
    for op in ops:
        assert getattr(op, "saved", None) is None, op.name  # freed (or never kept)
        ignored = ("inputs", "saved", "xp", "needs_input_grad", "key")  # an index is metadata, arrays or not
        metadata = {k: v for k, v in vars(op).items() if k not in ignored}
        assert not [k for k, v in metadata.items() if holds_arrays(v)], (op.name, list(metadata))
