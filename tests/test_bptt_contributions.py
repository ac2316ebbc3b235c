"""bptt.contributions: a shared weight's gradient split into its per-time-step terms."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, bptt, nn


def float64_lstm(device, bidirectional=False):
    lstm = nn.LSTM(3, 4, bidirectional=bidirectional, dtype="float64", device=device)
    x = Tensor(np.random.randn(6, 2, 3), device=device)
    output, _ = lstm(x)
    return lstm, (output * output).sum()


@pytest.mark.parametrize("name", ["weight_hh_l0", "bias_hh_l0", "weight_ih_l0"])
def test_terms_sum_to_grad_in_float64(device, name):
    lstm, loss = float64_lstm(device)
    param = getattr(lstm, name)
    terms = bptt.contributions(loss, param)
    loss.backward()
    total = sum(term.numpy() for term in terms.values())
    np.testing.assert_allclose(total, param.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert all(term.device == device and term.shape == param.shape for term in terms.values())


def test_keys_are_the_steps_and_none_for_the_input_projection():
    """The recurrent weight is used inside each step's scope (lstm/l0/fwd/t=k); the input
    weight once for all steps, in lstm/l0/fwd, which has no t: its one term is under None."""
    lstm, loss = float64_lstm("cpu")
    assert list(bptt.contributions(loss, lstm.weight_hh_l0)) == [0, 1, 2, 3, 4, 5]
    assert list(bptt.contributions(loss, lstm.weight_ih_l0)) == [None]


def test_by_scope_keeps_the_directions_apart():
    lstm, loss = float64_lstm("cpu", bidirectional=True)
    keys = list(bptt.contributions(loss, lstm.weight_hh_l0_reverse, by="scope"))
    assert keys == [f"lstm/l0/bwd/t={t}" for t in range(6)]


def scalar_rnn(w_value, h0, xs):
    """h_t = tanh(w h_{t-1} + x_t) for t = 1..3, each step in scope t=k; L = h_3."""
    w = Tensor(np.array(w_value), requires_grad=True)
    h = Tensor(np.array(h0))
    for t, x in enumerate(xs, start=1):
        with tg.scope(f"t={t}"):
            h = (w * h + x).tanh()
    return w, h


def test_one_term_is_the_hand_expanded_chain_rule():
    w_value, h0, xs = 0.7, 0.3, [0.5, -1.0, 0.25]
    w, loss = scalar_rnn(w_value, h0, xs)
    terms = bptt.contributions(loss, w)
    h1 = np.tanh(w_value * h0 + xs[0])
    h2 = np.tanh(w_value * h1 + xs[1])
    h3 = np.tanh(w_value * h2 + xs[2])
    # dL/dw|_(1): w's use at step 1, carried to L = h_3 through steps 2 and 3:
    #   dh3/dh2 * dh2/dh1 * dh1/dw|_(1) = (1 - h3^2) w * (1 - h2^2) w * (1 - h1^2) h0
    term_1 = (1 - h3**2) * w_value * (1 - h2**2) * w_value * (1 - h1**2) * h0
    term_3 = (1 - h3**2) * h2  # the last step's use reaches L directly
    assert terms[1].item() == pytest.approx(term_1, rel=1e-12)
    assert terms[3].item() == pytest.approx(term_3, rel=1e-12)
    loss.backward()
    assert sum(t.item() for t in terms.values()) == pytest.approx(w.grad.item(), rel=1e-12)


def test_leaves_grad_alone_and_the_graph_usable():
    w, loss = scalar_rnn(0.7, 0.3, [0.5, -1.0, 0.25])
    earlier = Tensor(np.array(5.0))
    w.grad = earlier
    bptt.contributions(loss, w)
    assert w.grad is earlier  # untouched
    w.grad = None
    loss.backward()  # the graph was retained
    assert w.grad is not None


def test_a_weight_reached_through_an_op_outside_the_loop_lands_in_one_term():
    """As the docstring says: W.T computed once outside the loop gives W a single edge."""
    W = Tensor(np.random.randn(3, 3) * 0.5, requires_grad=True)
    WT = W.T
    h = Tensor(np.ones((1, 3)))
    for t in range(4):
        with tg.scope(f"t={t}"):
            h = (h @ WT).tanh()
    loss = h.sum()
    assert list(bptt.contributions(loss, W)) == [None]
    assert list(bptt.contributions(loss, WT)) == [0, 1, 2, 3]  # the intermediate splits by step


def test_clear_errors():
    w, loss = scalar_rnn(0.7, 0.3, [0.5])
    unused = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="receives no gradient"):
        bptt.contributions(loss, unused)
    with pytest.raises(ValueError, match="requires grad"):
        bptt.contributions(loss, Tensor(np.ones(2)))
    with pytest.raises(ValueError, match="one element"):
        bptt.contributions(w * Tensor(np.ones(2)), w)
    loss.backward()  # frees the graph
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        bptt.contributions(loss, w)


def test_scope_key():
    assert bptt.scope_key("lstm/l0/fwd/t=37", "t") == 37
    assert bptt.scope_key("lstm/l0/fwd", "t") is None
    assert bptt.scope_key("enc/layer=l0/t=2", "layer") == "l0"
    assert bptt.scope_key("lstm/l0/fwd/t=3", "scope") == "lstm/l0/fwd/t=3"
    assert bptt.scope_key("", "scope") is None
