"""Every op of tests/op_specs.py against PyTorch: the same values and gradients, float32 and float64.

Skipped cleanly where PyTorch is not installed (``pip install torch==2.13.0``; ``.ci/run``
installs it). Each example runs the op in both libraries on the same inputs, compares the
outputs, then backpropagates the same random weighting of the outputs in both and compares
every input's gradient.
"""

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from tests.op_specs import SPECS, as_tuple, cases, given_settings
from tinygrad_rnn import Tensor

torch = pytest.importorskip("torch")

# float32: both libraries round, in different orders; float64: only summation order differs.
TOLERANCE = {"float32": {"rtol": 1e-5, "atol": 1e-5}, "float64": {"rtol": 1e-10, "atol": 1e-12}}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spec", SPECS, ids=str)
@given_settings
@given(data=st.data())
def test_values_and_gradients_match_pytorch(spec, dtype, data):
    case = data.draw(cases(spec), label="case")
    ours = case.tensors("cpu", dtype)
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in case.arrays]
    outs = as_tuple(spec.op(*ours, **case.params))
    expected = as_tuple((spec.torch or spec.op)(*theirs, **case.params))
    assert len(outs) == len(expected)

    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(t.shape).astype(dtype) for t in expected]
    for out, want in zip(outs, expected):
        assert out.shape == tuple(want.shape) and str(out.dtype) == dtype
        np.testing.assert_allclose(out.numpy(), want.detach().numpy(), **TOLERANCE[dtype])

    sum((y * w).sum() for y, w in zip(outs, weights)).backward()
    sum((t * torch.from_numpy(w)).sum() for t, w in zip(expected, weights)).backward()
    for x, t in zip(ours, theirs):
        want = np.zeros(t.shape, dtype) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(x.grad.numpy(), want, **TOLERANCE[dtype])


# At kinks, ties and a zero base the gradient is a convention; these follow PyTorch's.
AT_SPECIAL_POINTS = {
    "abs": (lambda x: x.abs(), None),
    "relu": (lambda x: x.relu(), None),
    "clip at both bounds": (lambda x: x.clip(0.0, 1.0), lambda x: x.clamp(0.0, 1.0)),
    "max with ties": (lambda x: x.max(), lambda x: x.amax()),
    "min with ties": (lambda x: x.min(axis=0), lambda x: x.amin(dim=0)),
    "maximum of equal values": (lambda x: x.maximum(x * 1), lambda x: torch.maximum(x, x * 1)),
    "minimum with a scalar": (lambda x: x.minimum(0.0), lambda x: torch.minimum(x, torch.zeros((), dtype=x.dtype))),
    "x ** 0": (lambda x: x**0, None),
    "x ** 2": (lambda x: x**2, None),
    "zero ** tensor": (lambda x: (x * 0) ** x.relu(), None),
    "sqrt": (lambda x: (x * x).sqrt(), None),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", AT_SPECIAL_POINTS)
def test_gradients_at_kinks_ties_and_zero_follow_pytorch(name, dtype):
    op, torch_op = AT_SPECIAL_POINTS[name]
    values = np.array([0.0, 1.0, 0.0, -1.0, 1.0], dtype=dtype)
    x = Tensor(values, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 inside a branch that where() drops
        op(x).sum().backward()
    (torch_op or op)(t).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
