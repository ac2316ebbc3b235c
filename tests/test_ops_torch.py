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
