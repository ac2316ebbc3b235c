"""Writing a drawing as DOT: boxes in nested clusters, the recurrent spine, colours and labels.

This is where the picture gets its look:

* time runs left to right (``rankdir=LR``); clusters nest layer -> direction -> time step
  (see :mod:`.layout` for how the order and the speed are kept);
* parameters are green boxes drawn once, outside every cluster, with an edge into each box that
  uses them (a bus with a branch per step, for a weight shared by many steps); inputs are grey;
  the roots (the loss) are orange; what a box says is in :mod:`.box_text`;
* the recurrent state edges (h_{t-1} -> h_t, c_{t-1} -> c_t) are thick blue arrows, kept straight;
* a ``detach()`` cut is a dashed red edge ending in a bar;
* with a backward trace, boxes and edges are shaded by gradient norm (see :mod:`.colors`), op
  boxes carry their backward visit number and ``+=`` marks where gradients are summed.

Nothing here depends on ``id()`` or dict order of anything but the drawing itself, so the same
program always gives the same DOT text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import box_text, gates, labels, layout, render, scopes
from .colors import LogScale
from .detail import Box, Drawing, Link
from .graph import Graph
from .trace import BackwardTrace

if TYPE_CHECKING:  # graphviz is imported when a picture is made, not here
    from .render import GraphPicture

FONT = "Helvetica"
STYLE = {  # box kind -> (shape, style, fill colour)
    "op": ("box", "rounded,filled", "#ffffff"),
    "group": ("box", "rounded,filled", "#e3f2fd"),
    "param": ("box", "filled,bold", "#c8e6c9"),
    "input": ("box", "filled", "#eceff1"),
    "detached": ("box", "filled,dashed", "#eceff1"),
}
ROOT_FILL = "#ffe0b2"
CURRENT = "#000000"  # outline of the op whose backward just ran (backward frames)
EDGE = {  # link kind -> DOT attributes
    "data": {"color": "#616161"},
    "param": {"color": "#2e7d32"},
    "state": {"color": "#1565c0", "penwidth": "2.5", "weight": "10"},
    "cut": {"color": "#c62828", "style": "dashed", "arrowhead": "tee", "constraint": "false"},
    "loop": {"color": "#1565c0", "penwidth": "2.5"},
}


@dataclass
class Options:
    """What to show, beyond the structure: see :func:`tinygrad_rnn.viz.draw_graph`."""

    show_values: bool = False
    show_grads: bool = True
    trace: BackwardTrace | None = None  # gradients seen in a backward pass, when measured
    color: LogScale | None = None  # shade by gradient norm
    show_order: bool = False
    contributions: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (param, box) -> norm
    current: str | None = None  # the box to outline (the op whose backward just ran)


def build(graph: Graph, drawing: Drawing, options: Options) -> GraphPicture:
    """The picture of ``drawing`` (grouped from ``graph``), as a :class:`GraphPicture`."""
    picture = render.GraphPicture(
        graph_attr={
            "rankdir": "LR",
            "newrank": "true",  # rank globally: a bus outside a cluster may order boxes inside it
            "fontname": FONT,
            "nodesep": "0.2",
            "ranksep": "0.3",
            "labeljust": "l",
            "forcelabels": "true",
        },
        node_attr={"fontname": FONT, "fontsize": "11", "margin": "0.08,0.04", "height": "0.3"},
        edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.6"},
    )
    order = _box_order(drawing, options.trace) if options.show_order and options.trace else {}
    roots = {drawing.box_of[key] for key in graph.roots}
    tree = _cluster_tree(drawing.boxes)
    _write_cluster(picture, tree, (), graph, drawing, options, order, roots, [0])
    _write_links(picture, graph, drawing, options)
    if options.color is not None:
        picture.node("legend", label=options.color.legend(), shape="plaintext")
    return picture


# --- clusters ---------------------------------------------------------------------------------
def _cluster_tree(boxes: list[Box]) -> dict:
    """Nested dicts: ``{"boxes": [...], "children": {component: subtree}}`` in first-seen order."""
    tree: dict = {"boxes": [], "children": {}}
    for box in boxes:
        node = tree
        for part in box.cluster:
            node = node["children"].setdefault(part, {"boxes": [], "children": {}})
        node["boxes"].append(box)
    return tree


def _write_cluster(target, tree, path, graph, drawing, options, order, roots, counter) -> None:
    for part, child in sorted(tree["children"].items(), key=layout.time_order):
        title = [scopes.pretty(part)]
        parts = [part]
        while not child["boxes"] and len(child["children"]) == 1:  # fold a cluster holding just one cluster
            ((part, child),) = child["children"].items()
            title.append(scopes.pretty(part))
            parts.append(part)
        name = f"cluster_{counter[0]}"
        counter[0] += 1
        is_step = scopes.step_of(parts[-1]) is not None
        with target.subgraph(name=name) as cluster:
            cluster.attr(
                label="<" + labels.text(" · ".join(title)) + ">",
                style="rounded,filled" if is_step else "rounded",
                color="#90a4ae" if is_step else "#546e7a",
                fillcolor="#f7fbff",
                fontsize="10" if is_step else "12",
            )
            _write_cluster(cluster, child, (*path, *parts), graph, drawing, options, order, roots, counter)
    for box in tree["boxes"]:  # after the clusters: dot then lays out parameters below the steps
        _write_box(target, box, graph, drawing, options, order, roots)


# --- boxes ------------------------------------------------------------------------------------
def _write_box(target, box: Box, graph: Graph, drawing: Drawing, options: Options, order, roots) -> None:
    shape, style, fill = STYLE[box.kind]
    if box.key in roots:
        fill = ROOT_FILL
    describe = box_text.group_lines if box.kind == "group" else box_text.node_lines
    lines, grad_norm = describe(box, graph, drawing, options)
    note = f"backward #{order[box.key]}" if box.key in order else ""
    title = labels.text(box.title)
    if box.kind == "input" and box.key in drawing.roles and not graph.by_key[box.key].tensor.name:
        title = labels.text(f"initial {drawing.roles[box.key]}")
    if box.kind == "op":
        node = graph.by_key[box.members[0]]
        detail = labels.text(labels.op_detail(node.tensor.grad_fn))
        title = f"{title} {detail}".strip() if detail else title
        gate = gates.gate_names(node.tensor)  # "f = getitem [3:6]": which gate block the slice is
        title = f"{labels.text(gate)} = {title}" if gate else title
        if node.constants:
            title += " " + ", ".join(labels.text(c) for c in node.constants)
    attrs = {"label": labels.html_label(title, lines, note), "shape": shape, "style": style, "fillcolor": fill}
    if options.color is not None and grad_norm is not None:
        attrs["fillcolor"] = options.color.fill(grad_norm)
    if box.key == options.current:
        attrs.update(color=CURRENT, penwidth="3")
    target.node(box.key, **attrs)


def _box_order(drawing: Drawing, trace: BackwardTrace) -> dict[str, int]:
    """Boxes numbered 1, 2, ... in the order backward first visits one of their ops."""
    first: dict[str, int] = {}
    for position, key in enumerate(trace.order):
        first.setdefault(drawing.box_of[key], position)
    return {box: rank + 1 for rank, box in enumerate(sorted(first, key=first.__getitem__))}


# --- links ------------------------------------------------------------------------------------
def _write_links(picture: GraphPicture, graph: Graph, drawing: Drawing, options: Options) -> None:
    loops: dict[str, list[Link]] = {}
    bused: set[int] = set()
    for number, (kind, links) in enumerate(layout.buses(drawing)):
        _write_bus(picture, number, kind, links, graph, drawing, options)
        bused.update(id(link) for link in links)
    for link in drawing.links:
        if link.kind == "loop":
            loops.setdefault(link.src, []).append(link)
        elif id(link) not in bused:
            attrs = _link_attrs(link, graph, drawing, options)
            if link.kind == "state" and layout.runs_backward_in_time(link, drawing):
                attrs["dir"] = "back"  # keeps time left to right
                picture.edge(link.dst, link.src, **attrs)
            else:
                picture.edge(link.src, link.dst, **attrs)
    for src, dst in layout.time_edges(graph, drawing):
        picture.edge(src, dst, style="invis")
    for box_key, box_loops in loops.items():
        box = drawing.by_key[box_key]
        roles = ", ".join(dict.fromkeys(link.role for link in box_loops))
        picture.edge(box_key, box_key, xlabel="<" + labels.text(f"{roles}  ×{box.steps}") + ">", **EDGE["loop"])


def _link_attrs(link: Link, graph: Graph, drawing: Drawing, options: Options) -> dict[str, str]:
    """Colour, width, style and label of one edge."""
    attrs = dict(EDGE[link.kind])
    texts = []
    if link.kind == "state":
        step = scopes.step_of(graph.by_key[link.tensor].scope)
        texts.append(link.role + ("" if step is None else labels.subscript(step)))
    contribution = options.contributions.get((link.tensor, link.dst))
    if contribution is not None:
        step = labels.subscript(_step_text(drawing.by_key[link.dst]))
        texts.append(f"‖dL/dW|{step}‖ = {labels.number(contribution)}")
    norm = _link_norm(link, options.trace)
    if options.color is not None and norm is not None:
        attrs["color"] = options.color.color(norm)
        attrs["penwidth"] = str(max(options.color.width(norm), float(attrs.get("penwidth", 1))))
    if options.show_order and options.trace is not None and options.trace.incoming(link.tensor) > 1:
        visits = sorted(v for v in (options.trace.step_of(dst) for _, dst in link.edges) if v is not None)
        if visits:
            texts.append("+= #" + ", #".join(map(str, dict.fromkeys(visits))))
    if options.trace is not None and norm is None and link.kind != "cut":
        attrs["style"] = "dotted"  # no gradient has flowed along this edge (yet)
    tensors = len({src for src, _ in link.edges})
    if tensors > 1:
        texts.append(f"×{tensors}")
    if texts:  # an xlabel: a plain label would make dot double every rank, and its layout time
        attrs["xlabel"] = "<" + "<br/>".join(map(labels.text, texts)) + ">"
    return attrs


def _write_bus(picture, number, direction, links, graph, drawing, options) -> None:
    color = EDGE[links[0].kind]["color"]
    points = [f"bus{number}_{i}" for i in range(len(links))]
    for point in points:
        picture.node(point, label="", shape="point", width="0.05", color=color)
    line = {"arrowhead": "none", "color": color}
    if direction == "out":
        picture.edge(links[0].src, points[0], **line)
    for a, b in zip(points, points[1:]):
        picture.edge(a, b, **line)
    if direction == "in":
        picture.edge(points[-1], links[0].dst, color=color)
    for point, link in zip(points, links):
        attrs = _link_attrs(link, graph, drawing, options)
        if direction == "out":
            picture.edge(point, link.dst, **attrs)
        else:
            picture.edge(link.src, point, arrowhead="none", **attrs)


def _link_norm(link: Link, trace: BackwardTrace | None) -> float | None:
    """‖gradient sent back along a link‖: the sum over the recorded edges it stands for."""
    if trace is None:
        return None
    grads = [trace.edge_grad(src, dst) for src, dst in link.edges]
    grads = [g for g in grads if g is not None]
    return labels.norm(sum(grads[1:], grads[0])) if grads else None


def _step_text(box: Box) -> str:
    step = scopes.step_of(box.scope)
    return "t" if step is None else str(step)
