"""tinygrad_rnn.viz, rendered for real: SVG parsed as XML, PNG/PDF, the dot program fallback and
the missing-dot error, hostile names (hypothesis), backward frames, Jupyter."""

import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import DotNotFoundError, backward_frames, draw_graph, find_dot, render

SVG = "{http://www.w3.org/2000/svg}"
HAS_DOT = shutil.which("dot") is not None


def pure_dot():
    """The graphviz-pure program, found as find_dot finds it with system dot hidden (or None)."""
    real = shutil.which
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(render.shutil, "which", lambda name: None if name == "dot" else real(name))
            return find_dot()
    except DotNotFoundError:
        return None


needs_dot = pytest.mark.skipif(not HAS_DOT and pure_dot() is None, reason="no dot program installed")


def svg_of(picture, tmp_path, name="graph.svg"):
    return ET.parse(picture.render(tmp_path / name)).getroot()


def texts(element):
    """All text of an SVG element, one string per <text>."""
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def groups(root, kind):
    """{title: <g>} of the SVG groups of a kind ('node', 'edge', 'cluster')."""
    return {g.find(f"{SVG}title").text: g for g in root.iter(f"{SVG}g") if g.get("class") == kind}


def bus_points(keys):
    return {key for key in keys if key.startswith("bus")}


def small_lstm(steps=3):
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 4)
    out, _ = lstm(tg.randn(steps, 2, 3))
    return (out * out).mean(), lstm


@needs_dot
def test_svg_has_the_step_clusters_parameter_nodes_and_fan_out_edges(tmp_path):
    loss, lstm = small_lstm()
    root = svg_of(draw_graph(loss, params=lstm), tmp_path)
    clusters = [" ".join(texts(g)) for g in groups(root, "cluster").values()]
    for t in range(3):
        assert f"t = {t}" in clusters
    assert "LSTM · layer 0 · forward" in clusters
    nodes = groups(root, "node")
    names = {name: key for key, g in nodes.items() for name in texts(g)[:1]}
    for name, _ in lstm.named_parameters():
        assert name in names, name
    edge_titles = set(groups(root, "edge"))
    w_hh = names["weight_hh_l0"]
    bus = {title.split("->")[1] for title in edge_titles if title.startswith(f"{w_hh}->")}
    assert len(bus) == 1  # weight_hh_l0 feeds one bus ...
    points, frontier = set(), set(bus)
    while frontier:  # ... that runs along the steps
        points |= frontier
        frontier = {t.split("->")[1] for t in edge_titles if t.split("->")[0] in frontier & bus_points(frontier)}
        frontier -= points
    fed = {p for p in points if not p.startswith("bus")}
    assert len(fed) == 3  # and branches into the linear op of each of the three steps
    assert {" ".join(texts(nodes[key]))[:6] for key in fed} == {"linear"}


@needs_dot
@pytest.mark.parametrize("detail", ["op", "step", "layer", "rolled"])
def test_every_detail_renders_to_valid_svg(tmp_path, detail):
    tg.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    out, _ = gru(tg.randn(3, 2, 3))
    loss = out.sum()
    root = svg_of(draw_graph(loss, params=gru, detail=detail, color_by="grad", show_order=True), tmp_path)
    all_text = " ".join(texts(root))
    assert "‖gradient‖" in all_text and "backward #1" in all_text
    if detail in ("step", "rolled", "layer"):
        assert "n = tanh(W_in x + b_in + r * (W_hn h + b_hn))" in all_text


@needs_dot
def test_png_and_pdf(tmp_path):
    loss, lstm = small_lstm(2)
    picture = draw_graph(loss, params=lstm, detail="step")
    png = picture.render(tmp_path / "graph", format="png")
    assert png.endswith("graph.png") and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    if HAS_DOT:  # graphviz-pure writes SVG and PNG only
        assert open(picture.render(tmp_path / "graph.pdf"), "rb").read(5) == b"%PDF-"


def test_fallback_to_graphviz_pure_when_system_dot_is_missing(tmp_path, monkeypatch):
    program = pure_dot()
    if program is None:
        pytest.skip("graphviz-pure is not installed (pip install tinygrad-rnn[render])")
    real = shutil.which
    monkeypatch.setattr(render.shutil, "which", lambda name: None if name == "dot" else real(name))
    assert "graphviz-pure" in find_dot()
    loss, lstm = small_lstm(2)
    path = draw_graph(loss, params=lstm).render(tmp_path / "pure.svg")
    text = open(path, encoding="utf-8").read()
    assert "graphviz-pure" in text  # written by the fallback program
    assert "weight_hh_l0" in " ".join(texts(ET.fromstring(text)))
    with pytest.raises(RuntimeError, match="graphviz-pure cannot write pdf"):
        draw_graph(loss).render(tmp_path / "pure.pdf")


def test_no_dot_program_at_all_gives_install_commands_and_source_still_works(tmp_path, monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    monkeypatch.setattr(render.sysconfig, "get_path", lambda name: str(tmp_path))
    loss, lstm = small_lstm(2)
    picture = draw_graph(loss, params=lstm)
    assert picture.source.startswith("digraph {")
    with pytest.raises(DotNotFoundError) as error:
        picture.render(tmp_path / "graph.svg")
    message = str(error.value)
    assert "apt-get install graphviz" in message and "pip install tinygrad-rnn[render]" in message
    assert ".source" in message
    assert not (tmp_path / "graph.svg").exists()


HOSTILE = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=24)


@needs_dot
@given(param=HOSTILE, tensor=HOSTILE, scope=HOSTILE.filter(lambda s: "/" not in s))
@example(param='"quoted" {brace} <b>|', tensor="back\\slash\nnewline\t]]>&amp;", scope="t=1")
@example(param="ünïcødé 😀 ∂L/∂W", tensor="\x00\x1b\u202e", scope="<<html>>")
def test_hostile_names_render_to_valid_svg(param, tensor, scope):
    w = tg.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    x = tg.Tensor(np.ones((1, 2), np.float32), name=tensor)
    with tg.scope(scope):
        y = tg.linear(x, w)
        y.name = tensor
    picture = draw_graph(y.sum(), params={param: w}, show_values=True)
    root = ET.fromstring(picture.pipe(format="svg"))  # parses: the SVG is well-formed XML
    shown = "".join(texts(root))
    printable = param.isprintable() and len(param) < 40
    if printable and param.strip() and "  " not in param:
        assert param.strip() in shown  # drawn as typed


@needs_dot
def test_backward_frames_one_picture_per_backward_step(tmp_path):
    w = tg.Tensor(np.full((1, 1), 0.5, np.float32), requires_grad=True, name="w")
    h = tg.ones(1, 1)
    for t in range(3):
        with tg.scope("rnn"), tg.scope(f"t={t}"):
            h = tg.linear(h, w).tanh()
    loss = h.sum()
    ops = sum(1 for node in tg.walk(loss) if node.op)
    paths = backward_frames(loss, tmp_path / "frames", params={"w": w}, format="svg")
    assert len(paths) == ops + 1 and all(p.endswith(f"step_{k:03d}.svg") for k, p in enumerate(paths))
    numbers = [" ".join(texts(ET.parse(p).getroot())).count("backward #") for p in paths]
    assert numbers == list(range(ops + 1))  # frame k shows the first k visited ops
    assert w.grad is None  # the frames ran their own backward and left .grad alone


@needs_dot
def test_jupyter_displays_svg():
    loss, lstm = small_lstm(2)
    bundle = draw_graph(loss, params=lstm, detail="rolled")._repr_mimebundle_()
    assert ET.fromstring(bundle["image/svg+xml"]).tag == f"{SVG}svg"
