"""What a picture says, rendered with real Graphviz: gate names, distinct input boxes, the file
format a path asks for (issue 10's picture findings)."""

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import draw_graph

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="system Graphviz (dot) not installed")


def rendered_texts(picture, tmp_path):
    root = ET.parse(picture.render(tmp_path / "picture.svg")).getroot()
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def titles(source):
    return set(re.findall(r"<b>([^<]*)</b>", source))


@needs_dot
@pytest.mark.parametrize(
    ("kind", "gates"), [("LSTM", ["i", "f", "g", "o"]), ("GRU", ["r", "z", "n"])], ids=["lstm", "gru"]
)
def test_op_level_gate_slices_are_named_by_their_gate(tmp_path, kind, gates):
    layer = getattr(nn, kind)(2, 3)
    output, _ = layer(tg.randn(2, 1, 2, name="x"))
    picture = draw_graph(output.sum(), params=layer)
    named = {title.split(" = ")[0] for title in titles(picture.source) if " = getitem" in title}
    assert named == set(gates)
    drawn = rendered_texts(picture, tmp_path)
    for gate in gates:  # in the rendered picture, not only in the DOT text
        assert any(text.startswith(f"{gate} = getitem") for text in drawn), gate


def test_gates_cut_from_a_joint_slice_are_named_through_it():
    """A GRU step written with one sigmoid over the r and z blocks together: the joint slice reads
    "r, z", and r and z, cut from it, are still named (the slice is followed back to the G*H block)."""
    from tinygrad_rnn.viz.gates import gate_names

    a = tg.Tensor(np.ones((1, 6), dtype=np.float32), requires_grad=True)  # 3 gates of H = 2
    with tg.scope("gru"), tg.scope("t=0"):
        joint = a[..., :4]
        s = joint.sigmoid()
        r, z, n = s[..., :2], s[..., 2:], a[..., 4:]
    assert [gate_names(t) for t in (joint, r, z, n)] == ["r, z", "r", "z", "n"]


def test_a_slice_that_is_no_gate_block_keeps_its_plain_label():
    w = tg.Tensor(np.ones((1, 8), dtype=np.float32), requires_grad=True)
    with tg.scope("lstm"), tg.scope("t=0"):
        part = w[..., 1:3]  # not a whole block of 8 / 4 = 2 columns
    assert titles(draw_graph(part.sum()).source) >= {"getitem [1:3]"}


@needs_dot
def test_two_unnamed_inputs_get_two_different_titles(tmp_path):
    w = tg.Tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = ((w * tg.Tensor([3.0, 4.0])).sum() - (w * tg.Tensor([5.0, 6.0])).sum()) ** 2
    picture = draw_graph(loss)
    assert {"input 1", "input 2"} <= titles(picture.source) and "input" not in titles(picture.source)
    assert {"input 1", "input 2"} <= set(rendered_texts(picture, tmp_path))
    named = (w * tg.Tensor([3.0, 4.0], name="target")).sum()
    assert "target" in titles(draw_graph(named).source)  # a named tensor keeps its name; one input is "input"


@needs_dot
def test_render_writes_the_format_the_path_names_or_refuses(tmp_path):
    w = tg.Tensor([0.5], requires_grad=True, name="w")
    picture = draw_graph((w * w).tanh())
    path = picture.render(tmp_path / "x.jpg")
    assert path == str(tmp_path / "x.jpg")  # not x.jpg.svg
    assert open(path, "rb").read(3) == b"\xff\xd8\xff"  # a JPEG file
    assert open(picture.render(tmp_path / "y.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert picture.render(tmp_path / "z", format="pdf").endswith("z.pdf")
    with pytest.raises(ValueError, match=r"cannot tell the format of .*'\.gif'"):
        picture.render(tmp_path / "x.gif")
    with pytest.raises(ValueError, match="says png but format='svg'"):
        picture.render(tmp_path / "x.png", format="svg")
    assert not list(tmp_path.glob("x.gif*")) and not list(tmp_path.glob("x.png*"))
