"""The order every tutorial uses: loss.backward() first, then the picture and the BPTT tools.

A plain backward frees the graph's saved arrays, so no tool can run a backward of its own after
it; inside ``record_backward()`` the backward keeps a record of what it sent, which the tools read.
Also: a Tensor never meets ``==`` or ``in`` on a library object (``Tensor.__eq__`` is elementwise).
"""

import gc
import threading
import weakref

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import bptt, nn
from tinygrad_rnn.observe import _RECORDS
from tinygrad_rnn.viz import backward_frames, draw_graph, record_backward


def lstm_loss(seed=0):
    tg.manual_seed(seed)
    lstm = nn.LSTM(2, 3, dtype="float64")
    x = tg.Tensor(np.random.default_rng(seed).standard_normal((3, 1, 2)), name="x")
    out, _ = lstm(x)
    return lstm, (out * out).mean()


@pytest.mark.parametrize("detail", ["op", "step"])
def test_a_recorded_plain_backward_draws_the_same_picture_as_a_retained_graph(detail):
    lstm, loss = lstm_loss()
    loss.backward(retain_graph=True)
    retained = draw_graph(loss, params=lstm, detail=detail, color_by="grad", show_order=True).source
    lstm, loss = lstm_loss()
    with record_backward():
        loss.backward()  # frees the graph
    recorded = draw_graph(loss, params=lstm, detail=detail, color_by="grad", show_order=True).source
    assert recorded == retained
    assert "backward #1" in recorded and "‖gradient‖" in recorded


def test_without_a_record_the_error_names_every_way_out():
    lstm, loss = lstm_loss()
    loss.backward()
    for tool in (
        lambda: draw_graph(loss, color_by="grad"),
        lambda: draw_graph(loss, show_order=True),
        lambda: bptt.contributions(loss, lstm.weight_hh_l0),
        lambda: bptt.hidden_grad_norms(loss, [loss]),
    ):
        with pytest.raises(RuntimeError, match=r"record_backward\(\).*") as error:
            tool()
        assert "retain_graph=True" in str(error.value) and "before loss.backward()" in str(error.value)


def test_backward_frames_and_bptt_tools_read_the_record(tmp_path):
    lstm, loss = lstm_loss()
    expected_terms = bptt.contributions(loss, lstm.weight_hh_l0)
    with record_backward():
        loss.backward()
    terms = bptt.contributions(loss, lstm.weight_hh_l0)
    assert list(terms) == list(expected_terms)
    for t in terms:
        np.testing.assert_allclose(terms[t].numpy(), expected_terms[t].numpy(), rtol=1e-12)
    total = sum(term.numpy() for term in terms.values())
    np.testing.assert_allclose(total, lstm.weight_hh_l0.grad.numpy(), rtol=1e-12)
    w = tg.Tensor([0.5], requires_grad=True, name="w")
    small = (w * w).tanh().sum()
    with record_backward():
        small.backward()
    paths = backward_frames(small, tmp_path, format="svg")  # a real render per backward step
    assert [p.rsplit("/", 1)[-1] for p in paths] == [f"step_00{k}.svg" for k in range(4)]


def test_the_record_lives_as_long_as_the_graph_and_only_inside_the_block():
    gc.collect()
    before = len(_RECORDS)
    _, loss = lstm_loss()
    loss.backward(retain_graph=True)  # outside the block: nothing recorded
    assert len(_RECORDS) == before
    with record_backward():
        loss.backward()
    assert len(_RECORDS) == before + 1
    graph = weakref.ref(loss.grad_fn)
    del loss
    gc.collect()
    assert graph() is None and len(_RECORDS) == before  # the record kept no graph alive


def test_recording_is_per_thread():
    _, loss = lstm_loss()
    started, finish = threading.Event(), threading.Event()

    def recording_thread():
        with record_backward():
            started.set()
            finish.wait(10)

    thread = threading.Thread(target=recording_thread)
    thread.start()
    started.wait(10)
    loss.backward()  # this thread is not recording
    finish.set()
    thread.join()
    with pytest.raises(RuntimeError, match="record_backward"):
        draw_graph(loss, color_by="grad")


def test_contributions_keyed_by_the_weight_tensor_itself():
    """The form the docstring recommends, {weight: terms}: it compared a name with a Tensor key."""
    tg.manual_seed(0)
    rnn = nn.RNN(3, 4)
    out, _ = rnn(tg.randn(4, 2, 3))
    loss = out.sum()
    terms = bptt.contributions(loss, rnn.weight_hh_l0)
    by_tensor = draw_graph(loss, params=rnn, detail="step", contributions={rnn.weight_hh_l0: terms}).source
    by_name = draw_graph(loss, params=rnn, detail="step", contributions={"weight_hh_l0": terms}).source
    assert by_tensor == by_name and "‖dL/dW|" in by_tensor
    stranger = tg.zeros(4, 4, requires_grad=True)
    with pytest.raises(ValueError, match=r"a Tensor of shape \(4, 4\) .* not in the drawn graph"):
        draw_graph(loss, params=rnn, contributions={stranger: terms})


def test_a_tensor_passed_where_a_name_or_option_goes_is_a_clear_error():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with pytest.raises(ValueError, match="color_by must be None or 'grad', got a Tensor"):
        draw_graph(loss, color_by=w)
    with pytest.raises(ValueError, match="detail must be one of .* got Tensor"):
        draw_graph(loss, detail=w)
    with pytest.raises(TypeError, match=r"params names the parameters: .* got list"):
        draw_graph(loss, params=[w])
