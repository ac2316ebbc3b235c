"""detect_anomaly (re-exported by tinygrad_rnn.bptt): the first op with NaN/Inf, named with its scope."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, bptt, nn


def exploding_relu_rnn(device="cpu"):
    """h_t = relu(x_t W_ih^T + h_{t-1} W_hh^T) with W_ih = 0, W_hh = 10 I, h_0 = 10, float32:
    h_t = 10^(t+2), which passes float32's max (3.4e38) at t = 37."""
    rnn = nn.RNN(2, 2, nonlinearity="relu", bias=False, device=device)
    rnn.load_state_dict(
        {"weight_ih_l0": np.zeros((2, 2), np.float32), "weight_hh_l0": 10 * np.eye(2, dtype=np.float32)}
    )
    x = tg.zeros(40, 1, 2, device=device)
    h0 = tg.full((1, 1, 2), 10.0, device=device)
    return rnn, x, h0


def test_forward_names_the_first_op_its_scope_and_input_shapes(device):
    rnn, x, h0 = exploding_relu_rnn(device)
    with np.errstate(over="ignore"), bptt.detect_anomaly():
        with pytest.raises(bptt.AnomalyError) as error:
            rnn(x, h0)
    message = str(error.value)
    # the recurrent linear op overflows first (the add and relu after it never run)
    assert "forward of op 'linear' (scope: rnn/l0/fwd/t=37) produced inf" in message
    assert "input shapes: (1, 2), (2, 2)" in message


def test_without_detect_anomaly_the_inf_passes_silently():
    rnn, x, h0 = exploding_relu_rnn()
    with np.errstate(over="ignore", invalid="ignore"):
        output, _ = rnn(x, h0)
    assert np.isinf(output.numpy()[37]).all() and np.isfinite(output.numpy()[36]).all()


def sqrt_gated_steps(zero_at, steps=40):
    """h_t = tanh(h_{t-1} W^T + sqrt(x_t)) in scopes lstm/l0/fwd/t=k; x_t = 0 at one step:
    sqrt(0) = 0 is finite, but its derivative 1 / (2 sqrt(0)) is not."""
    x_values = np.full((steps, 1, 2), 0.25)
    x_values[zero_at] = 0.0
    x = Tensor(x_values, requires_grad=True)
    W = Tensor(np.eye(2) * 0.5, requires_grad=True)
    h = Tensor(np.zeros((1, 2)))
    with tg.scope("lstm"), tg.scope("l0"), tg.scope("fwd"):
        for t in range(steps):
            with tg.scope(f"t={t}"):
                h = (tg.linear(h, W) + x[t].sqrt()).tanh()
    return h.sum()


def test_backward_names_the_first_op_in_backward_order():
    loss = sqrt_gated_steps(zero_at=37)  # forward is finite, so recording raises nothing
    with np.errstate(divide="ignore", invalid="ignore"), bptt.detect_anomaly():
        with pytest.raises(bptt.AnomalyError) as error:
            loss.backward()
    message = str(error.value)
    assert message.startswith("backward of op 'sqrt' (scope: lstm/l0/fwd/t=37) sent to input 0 inf")
    assert "input shapes: (1, 2)" in message


def test_anomaly_mode_ends_with_its_block_even_after_an_error():
    rnn, x, h0 = exploding_relu_rnn()
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(bptt.AnomalyError), bptt.detect_anomaly():
            rnn(x, h0)
        rnn(x, h0)  # no longer checked: no error


def test_finite_graphs_pass_and_the_context_is_the_engines():
    assert bptt.detect_anomaly is tg.detect_anomaly
    x = Tensor(np.full((3, 1, 2), 0.25), requires_grad=True)
    with bptt.detect_anomaly():
        loss = x.sqrt().tanh().sum()
        loss.backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_a_nan_in_the_input_is_reported_with_its_index_and_time_step():
    tg.manual_seed(0)
    rnn = nn.RNN(2, 3)
    x_values = np.ones((6, 2, 2), np.float32)
    x_values[3, 1, 0] = np.nan
    with bptt.detect_anomaly(), pytest.raises(bptt.AnomalyError) as error:
        rnn(Tensor(x_values))
    message = str(error.value)
    # the input projection of all steps is one op; its axis 0 is time (the layer says so)
    assert "forward of op 'linear' (scope: rnn/l0/fwd) produced nan at index (3, 1, 0), time step t=3" in message


def test_an_op_without_a_time_axis_reports_only_the_index():
    with bptt.detect_anomaly(), pytest.raises(bptt.AnomalyError, match=r"produced nan at index \(1, 2\) \(input"):
        Tensor(np.array([[1.0, 1.0, 1.0], [1.0, 1.0, np.nan]])) * 2


def test_a_graph_recorded_inside_detect_anomaly_is_checked_when_backward_runs_outside():
    loss = None
    with bptt.detect_anomaly():
        loss = sqrt_gated_steps(zero_at=5)  # forward finite: nothing raised yet
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(bptt.AnomalyError) as error:
        loss.backward()  # after the block: the ops recorded inside it are still checked
    assert str(error.value).startswith("backward of op 'sqrt' (scope: lstm/l0/fwd/t=5) sent to input 0 inf at index")
    # a graph recorded outside, backpropagated outside, is not checked
    with np.errstate(divide="ignore", invalid="ignore"):
        sqrt_gated_steps(zero_at=5).backward()
