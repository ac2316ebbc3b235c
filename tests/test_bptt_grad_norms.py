"""bptt.hidden_grad_norms: the vanishing and exploding gradient problems, measured."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, bptt, nn

STEPS, HIDDEN = 12, 8


def tanh_rnn(scale, device="cpu"):
    """h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T), W_hh = scale * (a random orthogonal matrix).

    Inputs are tiny (1e-4), so h stays near 0 and tanh' = 1 - h^2 ~ 1: going back one step
    multiplies dL/dh by W_hh^T diag(1 - h^2) ~ W_hh^T, whose norm is exactly ``scale``.
    The loss reads only the last step: L = sum(h_T * r).
    """
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((HIDDEN, HIDDEN)))
    W_hh = Tensor(scale * q, device=device, requires_grad=True)
    W_ih = Tensor(rng.standard_normal((HIDDEN, 3)), device=device)
    xs = Tensor(1e-4 * rng.standard_normal((STEPS, 1, 3)), device=device)
    h = tg.zeros(1, HIDDEN, dtype="float64", device=device)
    hiddens = []
    for t in range(STEPS):
        with tg.scope(f"t={t}"):
            h = (tg.linear(xs[t], W_ih) + tg.linear(h, W_hh)).tanh()
        hiddens.append(h)
    loss = (h * Tensor(rng.standard_normal((1, HIDDEN)), device=device)).sum()
    return W_hh, loss, hiddens


def ratio_per_step_back(norms):
    """Fit log ||dL/dh_t|| = a + b t; going one step back multiplies the norm by exp(-b)."""
    slope, _ = np.polyfit(np.arange(len(norms)), np.log(norms), 1)
    return float(np.exp(-slope))


@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_norms_change_geometrically_by_the_recurrent_weight_norm(device, scale):
    _, loss, hiddens = tanh_rnn(scale, device)
    norms = bptt.hidden_grad_norms(loss, hiddens)
    assert norms.shape == (STEPS,) and np.all(norms > 0)
    ratio = ratio_per_step_back(norms)
    assert ratio == pytest.approx(scale, rel=0.01)
    if scale < 1:  # vanishing: the first step gets a tiny fraction of the last one's gradient
        assert norms[0] / norms[-1] < 0.5 ** (STEPS - 2)
    else:  # exploding
        assert norms[0] / norms[-1] > 1.5 ** (STEPS - 2)


def test_norm_is_the_norm_of_the_full_gradient_of_each_state():
    """Against retain_grad: the same numbers as the engine's own dL/dh_t."""
    W_hh, loss, hiddens = tanh_rnn(0.9)
    norms = bptt.hidden_grad_norms(loss, hiddens)
    assert W_hh.grad is None  # untouched
    for h in hiddens:
        h.retain_grad()
    loss.backward()
    expected = [np.linalg.norm(h.grad.numpy()) for h in hiddens]
    np.testing.assert_allclose(norms, expected, rtol=1e-12)


def test_states_not_in_the_graph_and_constants_are_refused_zero_gradients_are_zero():
    w = Tensor(np.array([[0.5]]), requires_grad=True)
    h1 = (Tensor(np.ones((1, 1))) @ w).tanh()
    h2 = (h1 @ w).tanh()
    unused = h1 * 3  # computed from h1, but the loss never saw it: dL/d(unused) is not 0, it is undefined
    loss = h1.sum()
    with pytest.raises(ValueError, match=r"hiddens\[1\] \(shape \(1, 1\)\) \(1 of 2\) are not in the loss's graph"):
        bptt.hidden_grad_norms(loss, [h1, unused])
    with pytest.raises(ValueError, match=r"hiddens\[1\] .*, hiddens\[2\] .* \(2 of 3\)"):
        bptt.hidden_grad_norms(loss, [h1, h2, unused])  # h2 was computed after (not into) this loss
    np.testing.assert_array_equal(bptt.hidden_grad_norms((h2 * 0.0).sum(), [h1, h2]), [0.0, 0.0])  # in it, no gradient
    with pytest.raises(ValueError, match=r"hiddens\[0\] does not require grad"):
        bptt.hidden_grad_norms(loss, [Tensor(np.ones((1, 1))), h1])


def test_layer_states_give_dl_dh_of_an_nn_layer():
    """||dL/dh_t|| of the states inside nn.RNN/LSTM/GRU, found by scope, equal the gradients of
    the same states computed by an unrolled cell whose states we hold."""
    tg.manual_seed(0)
    for kind in ("RNN", "LSTM", "GRU"):
        layer = getattr(nn, kind)(2, 3, dtype="float64")
        x = Tensor(np.random.default_rng(1).standard_normal((5, 1, 2)))
        output, _ = layer(x)
        loss = output[-1].sum()
        states = bptt.layer_states(loss)
        assert list(states) == [f"{kind.lower()}/l0/fwd"]
        hs = states[f"{kind.lower()}/l0/fwd"]
        np.testing.assert_allclose(np.stack([h.numpy() for h in hs]), output.numpy(), rtol=1e-12)  # they are h_t
        norms = bptt.hidden_grad_norms(loss, hs)
        for h in hs:
            h.retain_grad()
        loss.backward()
        np.testing.assert_allclose(norms, [np.linalg.norm(h.grad.numpy()) for h in hs], rtol=1e-12)
    with pytest.raises(ValueError, match="no recurrent state 'h' found"):
        bptt.layer_states((Tensor(np.ones(2), requires_grad=True) * 2).sum())


def test_plot_draws_each_curve_on_a_log_scale():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = bptt.plot_grad_norms({"small W": [1e-4, 1e-2, 1.0], "large W": [1e3, 1e1, 1.0]}, title="norms")
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["small W", "large W"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 1, 2])  # t = 0 first, as the scopes
    ax.figure.canvas.draw()
    assert all(float(tick).is_integer() for tick in ax.get_xticks())  # no t = 0.5 for a short sequence
    assert ax.figure.get_layout_engine() is not None  # constrained layout: the y label is not cut off
    assert ax.get_title() == "norms"
    plt.close(ax.figure)
