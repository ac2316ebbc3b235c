"""bptt.reference: the hand-written BPTT equations, checked against finite differences and PyTorch."""

import numpy as np
import pytest

from tinygrad_rnn.bptt.reference import PARAMS, Weights, reference_bptt

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
T, B, I, H = 5, 2, 3, 4


def problem(cell, seed=0):
    rng = np.random.default_rng(seed)
    weights = Weights.random(cell, I, H, rng)
    x, h0, c0 = rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dh = rng.standard_normal((T, B, H))
    return weights, x, h0, (c0 if cell == "lstm" else None), dh


@pytest.mark.parametrize("cell, nonlinearity", CELLS)
def test_gradients_match_finite_differences(cell, nonlinearity):
    weights, x, h0, c0, dh = problem(cell)

    def loss():  # L = sum_t sum(h_t * dh_t), so dL/dh_t = dh_t
        hs, _ = reference_bptt(cell, x, h0, weights, dh, c0, nonlinearity)
        return float((hs * dh).sum())

    _, grads = reference_bptt(cell, x, h0, weights, dh, c0, nonlinearity)
    checks = [(getattr(weights, name), grads.total(name)) for name in PARAMS] + [(x, grads.x), (h0, grads.h0)]
    if c0 is not None:
        checks.append((c0, grads.c0))
    eps = 1e-6
    for array, analytic in checks:
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            up = loss()
            array[index] = saved - eps
            numeric[index] = (up - loss()) / (2 * eps)
            array[index] = saved
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cell, nonlinearity", CELLS)
def test_matches_pytorch(cell, nonlinearity):
    torch = pytest.importorskip("torch")
    weights, x, h0, c0, dh = problem(cell, seed=1)
    hs, grads = reference_bptt(cell, x, h0, weights, dh, c0, nonlinearity)
    options = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    layer = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](I, H, **options).double()
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    with torch.no_grad():
        for name, key in zip(names, PARAMS):
            getattr(layer, name).copy_(torch.from_numpy(getattr(weights, key)))
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)
    c0_t = torch.tensor(c0[None], requires_grad=True) if c0 is not None else None
    output, _ = layer(x_t, (h0_t, c0_t) if c0 is not None else h0_t)
    (output * torch.from_numpy(dh)).sum().backward()
    np.testing.assert_allclose(hs, output.detach().numpy(), rtol=1e-12, atol=1e-14)
    for name, key in zip(names, PARAMS):
        np.testing.assert_allclose(grads.total(key), getattr(layer, name).grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grads.x, x_t.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grads.h0, h0_t.grad.numpy()[0], rtol=1e-10, atol=1e-13)
    if c0 is not None:
        np.testing.assert_allclose(grads.c0, c0_t.grad.numpy()[0], rtol=1e-10, atol=1e-13)


def test_gate_hook_sees_every_gate_of_every_step_backwards():
    weights, x, h0, c0, dh = problem("lstm")
    seen = []
    reference_bptt("lstm", x, h0, weights, dh, c0, on_gate_grad=lambda t, g, grad: seen.append((t, g)) or grad)
    assert seen == [(t, g) for t in reversed(range(T)) for g in "ifgo"]


def test_unknown_cell_and_nonlinearity():
    weights, x, h0, _, dh = problem("rnn")
    with pytest.raises(ValueError, match="unknown cell 'lstn'"):
        reference_bptt("lstn", x, h0, weights, dh)
    with pytest.raises(ValueError, match="nonlinearity"):
        reference_bptt("rnn", x, h0, weights, dh, nonlinearity="sigmoid")
