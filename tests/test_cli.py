"""The tinygrad-rnn command line, end to end: real files, checked to be valid SVG / PNG."""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tinygrad_rnn import cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


def read_png(path):
    """Decode the PNG (a truncated or fake file fails here) and return its pixels."""
    image = pytest.importorskip("matplotlib.image")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return image.imread(path)


def svg_texts(path):
    root = ET.parse(path).getroot()  # raises on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return [element.text for element in root.iter(f"{SVG}text") if element.text]


def viz_or_skip():
    try:
        from tinygrad_rnn import viz

        return viz.draw_graph
    except (ImportError, AttributeError):
        pytest.skip("tinygrad_rnn.viz.draw_graph is not available yet")


# --- arguments -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command, options",
    [("graph", ["--cell", "--steps", "--detail", "--color-by", "--show-order"]), ("bptt", ["--cell"])],
)
def test_help(capsys, command, options):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: tinygrad-rnn {command}" in text
    assert all(option in text for option in options)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["graph", "--cell", "transformer", "-o", "g.svg"], "invalid choice: 'transformer'"),
        (["graph", "--steps", "0", "-o", "g.svg"], "--steps: must be a positive integer, got '0'"),
        (["graph", "--hidden", "four", "-o", "g.svg"], "--hidden: must be a positive integer, got 'four'"),
        (["graph", "--detail", "everything", "-o", "g.svg"], "invalid choice: 'everything'"),
        (["graph", "--color-by", "value", "-o", "g.svg"], "invalid choice: 'value'"),
        (["graph", "-o", "graph.txt"], "cannot tell the format of 'graph.txt'"),
        (["graph", "-o", "no/such/dir/g.svg"], "does not exist"),
        (["bptt", "--steps", "50"], "the following arguments are required: -o/--output"),
        (["bptt", "--scale", "-1", "-o", "n.png"], "--scale: must be a positive number"),
        (["bptt", "-o", "norms.gif"], "cannot tell the format of 'norms.gif'"),
        ([], "the following arguments are required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_rnn.cli", "bptt", "--steps", "-3", "-o", "x.png"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "tinygrad-rnn bptt: error: argument --steps" in result.stderr


# --- tinygrad-rnn bptt ---------------------------------------------------------------------------
def test_bptt_writes_a_png_with_a_panel_per_cell(tmp_path, capsys):
    out = tmp_path / "norms.png"
    assert cli.main(["bptt", "--cell", "rnn", "lstm", "--steps", "30", "--hidden", "8", "-o", str(out)]) == 0
    pixels = read_png(out)
    assert pixels.shape[1] > pixels.shape[0] > 100  # two panels side by side: wider than high
    printed = capsys.readouterr().out
    assert "tanh RNN: ||dL/dh_0|| / ||dL/dh_29|| = " in printed and "LSTM:" in printed  # t from 0, as scopes


def test_bptt_writes_svg_with_one_axes_per_cell(tmp_path):
    out = tmp_path / "norms.svg"
    assert cli.main(["bptt", "--cell", "gru", "lstm", "--steps", "10", "--hidden", "4", "-o", str(out)]) == 0
    svg_texts(out)  # well-formed SVG
    ids = {element.get("id") for element in ET.parse(out).getroot().iter()}
    assert {"axes_1", "axes_2"} <= ids and "axes_3" not in ids


def test_the_plotted_measurements_vanish_and_explode_as_configured():
    """What the bptt command draws: a tanh RNN's gradient vanishes over 40 steps with PyTorch's
    initialisation and explodes with W_hh x 4; an LSTM whose forget gate sits near 1 keeps it."""
    rnn = cli.state_grad_norms("rnn", steps=40, hidden=16)
    assert rnn[0] / rnn[-1] < 1e-6
    assert cli.factor_per_step_back(rnn) < 0.8
    exploding = cli.state_grad_norms("rnn", steps=40, hidden=16, scale=4.0)
    assert exploding[0] / exploding[-1] > 1e2
    assert cli.factor_per_step_back(exploding) > 1.0
    lstm = cli.state_grad_norms("lstm", steps=40, hidden=16)
    kept = cli.state_grad_norms("lstm", steps=40, hidden=16, forget_bias=3.0)
    assert cli.factor_per_step_back(lstm) < 0.8 < cli.factor_per_step_back(kept)
    # The geometric mean counts every step back, the first one too, where the kept LSTM's norm drops
    # about x0.1 at once; after it the forget gate keeps more than 0.9 per step (the old line fit
    # blurred the two into "x1").
    assert cli.factor_per_step_back(kept[:-1]) > 0.9
    assert kept[0] / kept[-1] > 1e6 * lstm[0] / lstm[-1]


# --- tinygrad-rnn graph --------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_graph_svg_shows_each_step_and_the_shared_weight(tmp_path, cell):
    viz_or_skip()
    out = tmp_path / "graph.svg"
    assert cli.main(["graph", "--cell", cell, "--steps", "3", "--hidden", "4", "--detail", "op", "-o", str(out)]) == 0
    root = ET.parse(out).getroot()
    titles = [element.text for element in root.iter(f"{SVG}title") if element.text]
    text = " ".join(svg_texts(out))
    assert "weight_hh_l0" in text
    assert sum("cluster" in title for title in titles) >= 3  # one cluster per time step (and more)
    for t in range(3):
        assert re.search(rf"\bt ?= ?{t}\b", text), f"no label for step {t}"


def test_graph_png(tmp_path):
    viz_or_skip()
    out = tmp_path / "graph.png"
    assert cli.main(["graph", "--cell", "rnn", "--steps", "2", "-o", str(out)]) == 0
    height, width, _ = read_png(out).shape
    assert width > height > 50


def test_graph_colour_by_grad_and_backward_order_reach_the_picture(tmp_path):
    """--color-by grad adds the gradient legend (log scale), --show-order numbers backward's visits."""
    viz_or_skip()
    plain, shaded = tmp_path / "plain.svg", tmp_path / "shaded.svg"
    assert cli.main(["graph", "--cell", "lstm", "--steps", "2", "-o", str(plain)]) == 0
    argv = ["graph", "--cell", "lstm", "--steps", "2", "--color-by", "grad", "--show-order", "-o", str(shaded)]
    assert cli.main(argv) == 0
    plain_text, shaded_text = " ".join(svg_texts(plain)), " ".join(svg_texts(shaded))
    assert "log scale" in shaded_text and "log scale" not in plain_text
    assert "backward #1" in shaded_text and "backward #" not in plain_text


@pytest.mark.parametrize("detail", ["step", "layer", "rolled"])
def test_graph_detail_levels_write_dot_text(tmp_path, detail):
    viz_or_skip()
    out = tmp_path / "graph.dot"
    assert cli.main(["graph", "--cell", "gru", "--steps", "4", "--detail", detail, "-o", str(out)]) == 0
    source = out.read_text()
    assert source.lstrip().startswith("digraph")
    assert "weight_hh_l0" in source


# --- issue 10: advice in command-line terms, budgets before building, honest statistics ----------
def test_a_picture_over_the_budget_is_refused_with_command_line_advice(capsys, tmp_path):
    out = tmp_path / "g.svg"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["graph", "--steps", "1000", "-o", str(out)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert re.search(r"use --detail step \(\d+ boxes\), or --max-nodes \d+ to draw it anyway", err)
    assert "detail=" not in err and "Traceback" not in err  # no Python syntax
    assert not out.exists()
    with pytest.raises(SystemExit):
        cli.main(["graph", "--steps", "3", "--max-nodes", "5", "-o", str(out)])
    assert "more than --max-nodes 5" in capsys.readouterr().err


def test_a_huge_unroll_is_refused_before_it_is_built(capsys, tmp_path, monkeypatch):
    built = []
    real = cli.small_model
    monkeypatch.setattr(
        cli, "small_model", lambda cell, steps, *rest, **kw: built.append(steps) or real(cell, steps, *rest, **kw)
    )
    for detail in ("op", "rolled"):  # rolled fits the picture budget, but recording 100000 steps would not
        with pytest.raises(SystemExit) as exit_:
            cli.main(["graph", "--steps", "100000", "--detail", detail, "-o", str(tmp_path / "g.svg")])
        assert exit_.value.code == 2
    assert max(built) <= 2  # only the 1- and 2-step models the estimate is measured on
    assert "use fewer --steps" in capsys.readouterr().err


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_predicted_picture_size_is_the_real_one(cell):
    from tinygrad_rnn.viz.detail import DETAILS, group
    from tinygrad_rnn.viz.graph import collect

    predicted = cli.predicted_sizes(cell, 5, 3)
    layer, loss = cli.small_model(cell, 5, 3, 0)
    graph = collect([loss], dict(layer.named_parameters()))
    assert predicted == {"recorded": len(graph.nodes), **{d: len(group(graph, d).boxes) for d in DETAILS}}


def test_the_step_back_statistic_is_the_geometric_mean_whatever_the_curve():
    bent = [1e-3, 1e-3, 1e-3, 1.0]  # flat, then one sharp step: a line fit says little about either
    assert cli.factor_per_step_back(bent) == pytest.approx(0.1)  # (1e-3 / 1)^(1/3)
    assert "single steps x0.001 to x1" in cli.describe_steps_back(bent)
    assert cli.factor_per_step_back([2.0]) is None
    assert cli.describe_steps_back([2.0]) == "one step: no step back to measure"
    assert "t = 0" in cli.describe_steps_back([0.0, 1.0])  # underflow named, no 'x0' or 'xnan'


def test_bptt_prints_the_rate_it_measured_and_no_nan(capsys, tmp_path):
    argv = ["bptt", "--cell", "lstm", "--steps", "12", "--hidden", "4", "--forget-bias", "3", "-o"]
    assert cli.main([*argv, str(tmp_path / "a.png")]) == 0
    printed = float(re.search(r"x([0-9.]+) per step back on average", capsys.readouterr().out).group(1))
    norms = cli.state_grad_norms("lstm", 12, 4, forget_bias=3.0)
    assert printed == pytest.approx((norms[0] / norms[-1]) ** (1 / 11), rel=1e-2)
    assert cli.main(["bptt", "--steps", "1", "--hidden", "4", "-o", str(tmp_path / "b.png")]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out and "no step back to measure" in out


def test_python_dash_m_tinygrad_rnn_runs_the_command_line():
    result = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: tinygrad-rnn" in result.stdout
