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
    "clip at a lower bound only": (lambda x: x.clip(min=0.0), lambda x: x.clamp(min=0.0)),
    "clip at an upper bound only": (lambda x: x.clip(max=0.0), lambda x: x.clamp(max=0.0)),
    "clip with equal bounds": (lambda x: x.clip(0.0, 0.0), lambda x: x.clamp(0.0, 0.0)),
    "max with ties": (lambda x: x.max(), lambda x: x.amax()),
    "min with ties": (lambda x: x.min(axis=0), lambda x: x.amin(dim=0)),
    "max along an axis with ties": (lambda x: x.reshape(1, 5).max(axis=1), lambda x: x.reshape(1, 5).amax(dim=1)),
    "maximum of equal values": (lambda x: x.maximum(x * 1), lambda x: torch.maximum(x, x * 1)),
    "maximum with a scalar": (lambda x: x.maximum(0.0), lambda x: torch.maximum(x, torch.zeros((), dtype=x.dtype))),
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


# The losses' formulas switch branch, or clamp, at these points: a logit of 0 (where a stable
# formula's max(-x, 0) and |x| both have kinks that must cancel: the true gradient is smooth,
# sigmoid(0) - y = 1/2 - y), and a probability of exactly 0 or 1 (where PyTorch clamps each log at
# -100 and the derivative's denominator p (1 - p) at 1e-12, so the gradient there is +-1e12, not 0).
LOGITS = [0.0, 0.0, 0.0, 1.0, -1.0]
PROBABILITIES = [0.0, 1.0, 0.0, 1.0, 0.5]
TARGETS = [1.0, 0.0, 0.0, 1.0, 0.3]
WEIGHT = [0.5, 1.0, 2.0, 1.5, 1.0]


def _bce_with_logits(functional, tensor, **weights):
    def loss(x):
        kwargs = {k: tensor(v) for k, v in weights.items()}
        return functional.binary_cross_entropy_with_logits(x, tensor(TARGETS), reduction="sum", **kwargs)

    return loss


def _bce(functional, tensor, **weights):
    def loss(p):
        kwargs = {k: tensor(v) for k, v in weights.items()}
        return functional.binary_cross_entropy(p, tensor(TARGETS), reduction="sum", **kwargs)

    return loss


LOSSES_AT_BREAKPOINTS = {
    "binary_cross_entropy_with_logits at x = 0": (_bce_with_logits, LOGITS, {}),
    "binary_cross_entropy_with_logits at x = 0, pos_weight": (_bce_with_logits, LOGITS, {"pos_weight": WEIGHT}),
    "binary_cross_entropy_with_logits at x = 0, weight": (_bce_with_logits, LOGITS, {"weight": WEIGHT}),
    "binary_cross_entropy at p = 0 and 1": (_bce, PROBABILITIES, {}),
    "binary_cross_entropy at p = 0 and 1, weight": (_bce, PROBABILITIES, {"weight": WEIGHT}),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", LOSSES_AT_BREAKPOINTS)
def test_loss_gradients_at_breakpoints_follow_pytorch(name, dtype):
    import tinygrad_rnn.nn.functional as F

    make, values, weights = LOSSES_AT_BREAKPOINTS[name]
    x = Tensor(np.array(values, dtype=dtype), requires_grad=True)
    t = torch.tensor(np.array(values, dtype=dtype), requires_grad=True)
    ours = make(F, lambda v: Tensor(np.array(v, dtype=dtype)), **weights)(x)
    theirs = make(torch.nn.functional, lambda v: torch.tensor(np.array(v, dtype=dtype)), **weights)(t)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-6)
