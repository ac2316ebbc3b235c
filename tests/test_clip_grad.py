"""Gradient clipping: clip_grad_norm_ and clip_grad_value_ against PyTorch, on every backend."""

import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.nn.utils import clip_grad_norm_, clip_grad_value_

SHAPES = [(3, 4), (5,), ()]


def _pair(scale, seed=0):
    """The same float64 gradients on our tensors and on torch tensors (torch imported lazily)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    grads = [scale * rng.standard_normal(shape) for shape in SHAPES]
    ours, theirs = [], []
    for g in grads:
        p, q = tg.zeros(*g.shape, dtype="float64", requires_grad=True), torch.zeros(g.shape, dtype=torch.float64)
        p.grad, q.grad = Tensor(g.copy()), torch.tensor(g)
        ours.append(p)
        theirs.append(q)
    return torch, ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("scale", [0.01, 10.0], ids=["below-max", "above-max"])
def test_clip_grad_norm_matches_torch(norm_type, scale):
    torch, ours, theirs = _pair(scale)
    total = clip_grad_norm_(ours, max_norm=1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, norm_type=norm_type)
    assert type(total) is float
    assert total == pytest.approx(expected.item(), rel=1e-12)
    assert (total > 1.0) == (scale == 10.0)  # both cases are exercised: clipped and left alone
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=0)


def test_clip_grad_norm_rescales_to_max_norm_and_skips_params_without_grad():
    ours = [tg.zeros(*shape, requires_grad=True) for shape in SHAPES]
    for p in ours:
        p.grad = tg.randn(*p.shape) * 10.0
    no_grad = tg.zeros(2, requires_grad=True)
    clip_grad_norm_([*ours, no_grad], max_norm=2.0)
    assert no_grad.grad is None
    assert clip_grad_norm_(ours, max_norm=1e9) == pytest.approx(2.0, rel=1e-6)  # 2 / (total + 1e-6) * total


def test_clip_grad_value_matches_torch():
    torch, ours, theirs = _pair(1.0)
    clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert max(np.abs(p.grad.numpy()).max() for p in ours) == 0.5  # something was clipped


def test_clipping_on_every_device_keeps_float32(device):
    rng = np.random.default_rng(1)
    params = [tg.zeros(*shape, device=device, requires_grad=True) for shape in SHAPES]
    grads = [3 * rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
    for p, g in zip(params, grads):
        p.grad = Tensor(g, device=device)
    total = clip_grad_norm_(iter(params), max_norm=1.0)  # a generator, like model.parameters()
    expected = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    assert total == pytest.approx(expected, rel=1e-5)
    for p, g in zip(params, grads):
        assert p.grad.device == device and tg.backend.dtype_name(p.grad.dtype) == "float32"
        np.testing.assert_allclose(p.grad.numpy(), g / (expected + 1e-6), rtol=1e-5)
    clip_grad_value_(params[0], 0.01)  # a single tensor is accepted too
    assert float(np.abs(params[0].grad.numpy()).max()) == pytest.approx(0.01)


def test_nonfinite_norm_raises_when_asked():
    w = tg.zeros(2, requires_grad=True)
    w.grad = Tensor([math.nan, 1.0])
    with pytest.raises(RuntimeError, match="nan"):
        clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    assert math.isnan(clip_grad_norm_([w], 1.0))
    assert clip_grad_norm_([tg.zeros(1, requires_grad=True)], 1.0) == 0.0  # no gradients at all


@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_one_infinite_gradient_does_what_torch_does(norm_type):
    torch, ours, theirs = _pair(1.0)
    ours[1].grad.data[2] = math.inf
    theirs[1].grad[2] = math.inf
    with np.errstate(invalid="ignore"):  # inf * 0
        total = clip_grad_norm_(ours, max_norm=1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, norm_type=norm_type)
    assert total == expected.item() == math.inf
    for p, q in zip(ours, theirs):  # every gradient times 1 / inf = 0, and inf * 0 = nan where it was inf
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert np.isnan(ours[1].grad.numpy()[2]) and (ours[0].grad.numpy() == 0).all()


def test_one_infinite_gradient_raises_with_error_if_nonfinite_as_torch_and_leaves_the_gradients():
    torch, ours, theirs = _pair(1.0)
    ours[1].grad.data[2] = math.inf
    theirs[1].grad[2] = math.inf
    before = [p.grad.numpy().copy() for p in ours]
    with pytest.raises(RuntimeError, match=r"non-finite|inf"):
        torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match=r"total 2.0-norm of the gradients is inf"):
        clip_grad_norm_(ours, max_norm=1.0, error_if_nonfinite=True)
    for p, q, b in zip(ours, theirs, before):
        np.testing.assert_array_equal(p.grad.numpy(), b)
        np.testing.assert_array_equal(q.grad.numpy(), b)
