"""tinygrad_rnn.viz, the picture's content: what draw_graph puts in the DOT text at each level of
detail, gradients, backward order, contributions, detach cuts, devices, determinism, budget."""

import html
import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.bptt import contributions
from tinygrad_rnn.viz import GraphTooLargeError, draw_graph
from tinygrad_rnn.viz.detail import group
from tinygrad_rnn.viz.graph import collect


def hand_rnn(steps=3, device="cpu", dtype="float32"):
    """h_t = tanh(x_t W_ih^T + b + h_{t-1} W_hh^T), unrolled by hand in the layers' scope convention."""
    rng = np.random.default_rng(0)
    make = lambda *shape, **kw: tg.Tensor(rng.standard_normal(shape).astype(dtype), device=device, **kw)  # noqa: E731
    W_ih = make(4, 3, requires_grad=True, name="W_ih")
    W_hh = make(4, 4, requires_grad=True, name="W_hh")
    b = make(4, requires_grad=True, name="b")
    xs = make(steps, 2, 3, name="x")
    h = make(2, 4, name="h0")
    hs = []
    for t in range(steps):
        with tg.scope("rnn"), tg.scope(f"t={t}"):
            h = (tg.linear(xs[t], W_ih, b) + tg.linear(h, W_hh)).tanh()
        hs.append(h)
    loss = (h * h).mean()
    return loss, {"W_ih": W_ih, "W_hh": W_hh, "b": b}, hs


def edges(source):
    """(tail, head, attributes) of every edge in DOT text."""
    return re.findall(r'^\s*("[^"]+"|\w+) -> ("[^"]+"|\w+)(?: \[(.*)\])?$', source, re.M)


def node_label(source, title):
    """The label of the box whose bold title is ``title``."""
    match = re.search(rf'^\s*("[^"]+"|\w+) \[label=<(.*?<b>{re.escape(title)}</b>.*?)> ', source, re.M)
    assert match, f"no box titled {title!r}"
    return match.group(2)


def test_op_level_clusters_parameters_once_and_fan_out_to_every_step():
    loss, params, _ = hand_rnn()
    source = draw_graph(loss, params=params).source
    for t in range(3):
        assert f"label=<t = {t}>" in source
    for name in params:
        assert source.count(f"<b>{name}</b>") == 1  # drawn once
    graph = collect([loss], params)
    drawing = group(graph, "op")
    for name in params:  # a parameter edge into each of the three steps
        key = next(node.key for node in graph.nodes if node.title == name)
        fed = {drawing.by_key[link.dst].scope for link in drawing.links if link.tensor == key and link.kind == "param"}
        assert fed == {"rnn/t=0", "rnn/t=1", "rnn/t=2"}


def test_op_level_spine_carries_the_state_between_steps():
    loss, params, _ = hand_rnn()
    source = draw_graph(loss, params=params).source
    spine = [attrs for _, _, attrs in edges(source) if "penwidth=2.5" in attrs]
    labels = sorted(re.search(r"xlabel=<(.*?)>", attrs).group(1) for attrs in spine)
    assert labels == ["h0", "h₀", "h₁"]  # the initial state (named h0), then the states after steps 0 and 1


def test_lstm_state_edges_are_h_and_c():
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 4)
    out, _ = lstm(tg.randn(3, 2, 3))
    source = draw_graph(out.sum(), params=lstm, detail="step").source
    spine = {re.search(r"xlabel=<(.*?)>", a).group(1) for _, _, a in edges(source) if "penwidth=2.5" in a}
    assert spine == {"h", "c", "h₀", "c₀", "h₁", "c₁"}
    rolled = draw_graph(out.sum(), params=lstm, detail="rolled").source
    assert [attrs for a, b, attrs in edges(rolled) if a == b and "h, c  ×3" in attrs]  # one loop for both states


def test_grad_says_not_computed_before_backward_never_zero():
    loss, params, _ = hand_rnn()
    before = draw_graph(loss, params=params).source
    assert node_label(before, "W_hh").count("grad: not computed") == 1
    assert not re.search(r"grad (0|\[0)", before)
    loss.backward()
    after = draw_graph(loss, params=params).source
    label = node_label(after, "W_hh")
    assert "not computed" not in label
    norm = float(re.search(r"‖·‖ ([0-9.e+-]+)", label).group(1))
    assert norm == pytest.approx(np.linalg.norm(params["W_hh"].grad.numpy()), rel=1e-3)


def test_values_full_when_small_summarised_when_large():
    w = tg.Tensor([1.5, -2.0], requires_grad=True, name="small")
    big = tg.Tensor(np.arange(100, dtype=np.float32).reshape(10, 10), requires_grad=True, name="big")
    source = draw_graph((w * 2).sum() + big.sum(), show_values=True).source
    assert "value [1.5, -2]" in node_label(source, "small")
    assert "value mean 49.5 std 28.87 ‖·‖ 573" in node_label(source, "big")


@pytest.mark.parametrize(
    "kind, first_line", [("RNN", "h' = tanh("), ("LSTM", "i,f,o = sigmoid("), ("GRU", "r,z = sigmoid(")]
)
def test_step_level_one_box_per_step_with_the_cells_equations(kind, first_line):
    tg.manual_seed(0)
    layer = getattr(nn, kind)(3, 5)
    out, _ = layer(tg.randn(4, 2, 3))
    source = draw_graph(out.sum(), params=layer, detail="step").source
    for t in range(4):
        label = node_label(source, f"t = {t}")
        assert html.escape(first_line) in label
        assert f"in: linear[{t}] (2, {dict(RNN=5, LSTM=20, GRU=15)[kind]})" in label
        assert "out: h&#x27; (2, 5)" in label
    assert "cluster" in source and "layer 0 · forward" in source


def test_layer_and_rolled_levels_for_a_stacked_bidirectional_gru():
    tg.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    out, _ = gru(tg.randn(5, 2, 3))
    layer = draw_graph(out.sum(), params=gru, detail="layer").source
    assert layer.count("<b>forward</b>") == 2 and layer.count("<b>backward</b>") == 2
    assert layer.count("× 5 steps") == 4
    rolled = draw_graph(out.sum(), params=gru, detail="rolled").source
    loops = [(a, b, attrs) for a, b, attrs in edges(rolled) if a == b]
    assert len(loops) == 4 and all("h  ×5" in attrs for _, _, attrs in loops)
    assert rolled.count("<b>cell</b>") == 4
    for name, _ in gru.named_parameters():  # every parameter drawn once at every level
        assert layer.count(f"<b>{name}</b>") == 1 and rolled.count(f"<b>{name}</b>") == 1


def test_bidirectional_step_boxes_keep_time_left_to_right():
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 4, bidirectional=True)
    out, _ = lstm(tg.randn(3, 2, 3))
    source = draw_graph(out.sum(), params=lstm, detail="step").source
    backward = [(a, b, attrs) for a, b, attrs in edges(source) if "bwd/t=" in a and "bwd/t=" in b]
    # the state goes from t+1 to t; the edge is written t -> t+1 with its arrow at the tail
    assert backward and all("dir=back" in attrs for _, _, attrs in backward)
    assert all(int(a[-2]) + 1 == int(b[-2]) for a, b, _ in backward)


def test_same_program_same_dot_text():
    def picture():
        tg.manual_seed(0)
        lstm = nn.LSTM(3, 4)
        out, _ = lstm(tg.randn(3, 2, 3))
        return draw_graph(out.sum(), params=lstm, detail="op", show_values=True).source

    first = picture()
    tg.randn(7)  # more tensors created in between: global ids move on, the picture must not
    assert picture() == first


def test_node_budget_suggests_a_coarser_detail():
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 4)
    out, _ = lstm(tg.randn(20, 2, 3))
    with pytest.raises(GraphTooLargeError, match=r"detail='step' \(\d+ boxes\)") as error:
        draw_graph(out.sum(), params=lstm, max_nodes=100)
    assert "max_nodes=100" in str(error.value)
    assert draw_graph(out.sum(), params=lstm, detail="step", max_nodes=100).source


def test_color_by_grad_legend_log_scale_and_gradients_left_alone():
    loss, params, _ = hand_rnn()
    loss.backward(retain_graph=True)
    grads = {name: p.grad.numpy().copy() for name, p in params.items()}
    source = draw_graph(loss, params=params, color_by="grad").source
    assert "‖gradient‖" in source and "log scale" in source
    colors = {re.search(r'color="(#[0-9a-f]{6})"', a).group(1) for _, _, a in edges(source) if "color=" in a}
    assert len(colors) > 4  # shades, not one colour
    for name, p in params.items():  # the measuring backward pass did not add into .grad
        np.testing.assert_array_equal(p.grad.numpy(), grads[name])


def test_color_by_grad_after_a_freeing_backward_says_what_to_do():
    loss, params, _ = hand_rnn()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        draw_graph(loss, params=params, color_by="grad")


def test_show_order_numbers_backward_visits_and_marks_accumulation():
    loss, params, _ = hand_rnn()
    source = draw_graph(loss, params=params, show_order=True).source
    numbers = sorted(int(n) for n in re.findall(r"backward #(\d+)</i>", source))
    ops = sum(1 for node in collect([loss]).nodes if node.kind == "op")
    assert numbers == list(range(1, ops + 1))  # every op, once, 1..N
    assert "backward #1</i>" in node_label(source, "div 8")  # the loss is visited first
    assert "grad = sum of 3 (+=)" in node_label(source, "W_hh")  # three steps add into W_hh
    assert len(re.findall(r"\+= #\d+", source)) >= 9  # each of the 3 x 3 parameter uses is marked


def test_contributions_label_each_fan_out_edge_with_its_term():
    tg.manual_seed(0)
    rnn = nn.RNN(3, 4)
    out, _ = rnn(tg.randn(4, 2, 3))
    loss = (out[-1] * out[-1]).mean()
    terms = contributions(loss, rnn.weight_hh_l0)
    source = draw_graph(loss, params=rnn, detail="step", contributions=terms).source
    drawn = {int(t): float(v) for t, v in re.findall(r"‖dL/dW\|(\d)‖ = ([0-9.e+-]+)", source.translate(SUBSCRIPTS))}
    expected = {t: float(np.linalg.norm(terms[t].numpy())) for t in terms if t is not None}
    assert drawn.keys() == expected.keys()
    for t in expected:
        assert drawn[t] == pytest.approx(expected[t], rel=1e-3, abs=1e-12)
    by_name = draw_graph(loss, params=rnn, detail="step", contributions={"weight_hh_l0": terms}).source
    assert by_name == source
    # Plain numbers name no shape: with one shared weight (the RNN folds b_hh into the input
    # projection) they are W_hh's; with two (a GRU's W_hh and b_hh reach every step) it is an error.
    assert draw_graph(loss, params=rnn, detail="step", contributions={t: 1.0 for t in range(4)}).source
    gru = nn.GRU(3, 4)
    out, _ = gru(tg.randn(4, 2, 3))
    with pytest.raises(ValueError, match="which shared weight"):
        draw_graph(out.sum(), params=gru, detail="step", contributions={t: 1.0 for t in range(4)})


SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def test_detach_cut_drawn_as_a_cut_edge():
    W = tg.Tensor(np.eye(2, dtype=np.float32) * 0.5, requires_grad=True, name="W")
    h = tg.ones(1, 2)
    losses = []
    for chunk in range(2):  # truncated BPTT: two chunks of two steps, the state detached between
        with tg.scope("rnn"):
            for t in range(2 * chunk, 2 * chunk + 2):
                with tg.scope(f"t={t}"):
                    h = tg.linear(h, W).tanh()
        losses.append(h.sum())
        h = h.detach()
    both = draw_graph(*losses).source
    cut = [attrs for _, _, attrs in edges(both) if "arrowhead=tee" in attrs]
    assert len(cut) == 1 and "dashed" in cut[0]
    alone = draw_graph(losses[1]).source
    assert "cut by detach() from rnn/t=1" in node_label(alone, "detached")


def test_device_shown_only_when_not_cpu(device):
    loss, params, _ = hand_rnn(device=device)
    source = draw_graph(loss, params=params, show_values=True, color_by="grad", show_order=True).source
    assert ("device: array_api_strict" in source) == (device == "array_api_strict")
    assert "grad = sum of 3 (+=)" in node_label(source, "W_hh")  # the gradient trace works on every backend


def test_multiple_roots_and_bad_arguments():
    loss, params, hs = hand_rnn()
    source = draw_graph(hs[0], hs[2], params=params).source
    assert source.count('fillcolor="#ffe0b2"') == 2  # both roots highlighted
    with pytest.raises(TypeError, match="Tensors"):
        draw_graph(np.ones(3))
    with pytest.raises(ValueError, match="detail must be one of"):
        draw_graph(loss, detail="steps")
    with pytest.raises(ValueError, match="color_by"):
        draw_graph(loss, color_by="value")
