"""Writing a drawing as DOT: boxes in nested clusters, the recurrent spine, colours and labels.

This is where the picture gets its look:

* time runs left to right (``rankdir=LR``); clusters nest layer -> direction -> time step;
* parameters are green boxes drawn once, outside every cluster, with an edge into each box that
  uses them; inputs are grey; the roots (the loss) are orange;
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

import numpy as np

from ..backend import dtype_name
from . import equations, labels, scopes
from .colors import LogScale
from .detail import Box, Drawing, Link
from .graph import Graph
from .render import GraphPicture
from .trace import BackwardTrace

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
    picture = GraphPicture(
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
    for part, child in sorted(tree["children"].items(), key=_time_order):
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


def _time_order(item: tuple[str, dict]) -> tuple[int, int]:
    """Sort key of sibling clusters: time steps in time order, after the others (kept in place)."""
    step = scopes.step_of(item[0])
    return (0, 0) if step is None else (1, step)


# --- boxes ------------------------------------------------------------------------------------
def _write_box(target, box: Box, graph: Graph, drawing: Drawing, options: Options, order, roots) -> None:
    shape, style, fill = STYLE[box.kind]
    if box.key in roots:
        fill = ROOT_FILL
    lines, grad_norm = (_group_lines if box.kind == "group" else _node_lines)(box, graph, drawing, options)
    note = f"backward #{order[box.key]}" if box.key in order else ""
    title = labels.text(box.title)
    if box.kind == "input" and box.key in drawing.roles and not graph.by_key[box.key].tensor.name:
        title = labels.text(f"initial {drawing.roles[box.key]}")
    if box.kind == "op":
        node = graph.by_key[box.members[0]]
        detail = labels.text(labels.op_detail(node.tensor.grad_fn))
        title = f"{title} {detail}".strip() if detail else title
        if node.constants:
            title += " " + ", ".join(labels.text(c) for c in node.constants)
    attrs = {"label": labels.html_label(title, lines, note), "shape": shape, "style": style, "fillcolor": fill}
    if options.color is not None and grad_norm is not None:
        attrs["fillcolor"] = options.color.fill(grad_norm)
    if box.key == options.current:
        attrs.update(color=CURRENT, penwidth="3")
    target.node(box.key, **attrs)


def _node_lines(box: Box, graph: Graph, drawing: Drawing, options: Options) -> tuple[list[str], float | None]:
    """Lines of a single tensor's box: name, shape and dtype, device, values, gradient."""
    node = graph.by_key[box.members[0]]
    tensor = node.tensor
    lines = []
    if node.kind == "op" and tensor.name:
        lines.append(labels.text(tensor.name))
    lines.append(labels.text(f"{labels.shape(tensor.shape)} {dtype_name(tensor.dtype)}"))
    if tensor.device != "cpu":
        lines.append(labels.text(f"device: {tensor.device}"))
    if node.kind == "detached":
        where = tensor.detached_from[1] or "top level"
        lines.append(labels.text(f"cut by detach() from {where}"))
    if options.show_values:
        lines.append("value " + labels.text(labels.summary(tensor.numpy())))
    grad = _grad_of(node.key, graph, options)
    if options.show_grads and tensor.requires_grad:
        if grad is not None:
            lines.append("grad " + labels.text(labels.summary(grad)))
        elif node.kind == "param":
            lines.append("grad: not computed")
    if options.show_order and options.trace is not None and options.trace.incoming(node.key) > 1:
        lines.append(labels.text(f"grad = sum of {options.trace.incoming(node.key)} (+=)"))
    return lines, None if grad is None else labels.norm(grad)


def _grad_of(key: str, graph: Graph, options: Options) -> np.ndarray | None:
    """dL/d(tensor): measured by the trace, else the tensor's ``.grad`` (leaves, retain_grad)."""
    if options.trace is not None:
        return options.trace.node_grad(key)
    grad = graph.by_key[key].tensor.grad
    return None if grad is None else grad.numpy()


def _group_lines(box: Box, graph: Graph, drawing: Drawing, options: Options) -> tuple[list[str], float | None]:
    """Lines of a group's box: the cell's equations (or its ops), its inputs and outputs."""
    ops = [graph.by_key[m].tensor.op for m in box.members if graph.by_key[m].kind == "op"]
    is_cell = scopes.step_of(box.scope) is not None or box.title == "cell" or box.steps > 1
    equations_ = equations.cell_equations(scopes.cell_kind(box.scope), ops) if is_cell else []
    lines = [labels.text(line) for line in equations_] or [labels.text(equations.op_counts(ops))]
    if box.steps > 1:
        lines.append(f"× {box.steps} steps")
    inputs, outputs = _boundary(box, graph, drawing)
    if inputs:
        lines.append("in: " + labels.text(", ".join(inputs)))
    if outputs:
        lines.append("out: " + labels.text(", ".join(outputs)))
    out_norms = [_grad_of(key, graph, options) for key in _output_tensors(box, graph, drawing)]
    out_norms = [labels.norm(g) for g in out_norms if g is not None]
    grad_norm = float(np.sqrt(sum(n * n for n in out_norms))) if out_norms else None
    if options.show_grads and grad_norm is not None:
        lines.append(labels.text(f"‖dL/d out‖ {labels.number(grad_norm)}"))
    return lines, grad_norm


def _boundary(box: Box, graph: Graph, drawing: Drawing) -> tuple[list[str], list[str]]:
    """Named shapes of the tensors entering and leaving a group (parameters left out), named as
    in the cell's equations: the states ``h`` (and ``c``) come in and ``h'`` goes out."""
    inputs, outputs = {}, {}
    for key in box.members:  # inputs read inside the group, e.g. x[t] of a tensor without grad
        node = graph.by_key[key]
        if node.kind in ("input", "detached"):
            title = f"initial {drawing.roles[key]}" if key in drawing.roles and not node.tensor.name else node.title
            inputs[key] = f"{title} {labels.shape(node.tensor.shape)}"
    for link in drawing.links_at.get(box.key, ()):
        if link.kind in ("param", "cut", "loop"):
            continue
        node = graph.by_key[link.tensor]
        if link.dst == box.key and link.tensor not in inputs:
            name, shape = link.role or node.tensor.name or node.title, node.tensor.shape
            consumers = [graph.by_key[dst] for _, dst in link.edges]
            if not link.role and all(c.tensor.op == "getitem" for c in consumers):  # uses one slice
                name += "[t]" if box.steps > 1 else labels.op_detail(consumers[0].tensor.grad_fn)
                shape = consumers[0].tensor.shape
            inputs[link.tensor] = f"{name} {labels.shape(shape)}"
        if link.src == box.key and link.tensor not in outputs:
            role = drawing.roles.get(link.tensor)
            name = role + "'" if role else node.tensor.name or "y"
            outputs[link.tensor] = f"{name} {labels.shape(node.tensor.shape)}"
    for key in graph.roots:
        if drawing.box_of[key] == box.key:
            outputs.setdefault(key, labels.shape(graph.by_key[key].tensor.shape))
    return list(dict.fromkeys(inputs.values())), list(dict.fromkeys(outputs.values()))


def _output_tensors(box: Box, graph: Graph, drawing: Drawing) -> list[str]:
    keys = {link.tensor for link in drawing.links_at.get(box.key, ()) if link.src == box.key and link.kind != "cut"}
    keys |= {key for key in graph.roots if drawing.box_of[key] == box.key}
    return sorted(keys, key=lambda k: int(k[1:]))


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
    for number, (kind, links) in enumerate(_buses(drawing)):
        _write_bus(picture, number, kind, links, graph, drawing, options)
        bused.update(id(link) for link in links)
    for link in drawing.links:
        if link.kind == "loop":
            loops.setdefault(link.src, []).append(link)
        elif id(link) not in bused:
            attrs = _link_attrs(link, graph, drawing, options)
            if link.kind == "state" and _runs_backward_in_time(link, drawing):
                attrs["dir"] = "back"  # keeps time left to right
                picture.edge(link.dst, link.src, **attrs)
            else:
                picture.edge(link.src, link.dst, **attrs)
    for src, dst in _time_edges(graph, drawing):
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


#: A box linked to at least this many time steps of one layer gets a bus (see :func:`_buses`).
BUS_STEPS = 3


def _buses(drawing: Drawing) -> list[tuple[str, list[Link]]]:
    """Fans of edges between one box and many time steps, to be drawn as buses.

    A parameter used at every step (or the input projection sliced at every step) would send T
    separate edges across the picture, and a join of all outputs (``cat``) would receive T; dot
    lays out such fans in time quadratic in T. Drawn as a bus instead, one line runs along the
    steps with a branch into (or out of) each, which is also easier to follow. Returns
    ``("out", links)`` for a fan out of one box and ``("in", links)`` for a fan into one box,
    each list ordered left to right.
    """
    fans: dict[tuple[str, str, str], list[Link]] = {}
    for link in drawing.links:
        if link.kind not in ("param", "data"):
            continue
        src, dst = drawing.by_key[link.src], drawing.by_key[link.dst]
        if _step_scope(dst) is not None and _step_scope(src) is None:
            fans.setdefault(("out", link.src, scopes.sequence_of(dst.scope)), []).append(link)
        elif _step_scope(src) is not None and _step_scope(dst) is None:
            fans.setdefault(("in", link.dst, scopes.sequence_of(src.scope)), []).append(link)
    buses = []
    for (direction, _, _), links in fans.items():
        end = "dst" if direction == "out" else "src"
        steps = {_layout_position(drawing.by_key[getattr(link, end)]) for link in links}
        if len(steps) >= BUS_STEPS:
            links.sort(key=lambda link: _layout_position(drawing.by_key[getattr(link, end)]))
            buses.append((direction, links))
    return buses


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


def _step_scope(box: Box) -> str | None:
    return None if box.kind == "param" else scopes.step_scope(box.scope)


def _layout_position(box: Box) -> int:
    """Where a step stands, left to right: its time step, except for the ops of a backward
    direction at op level, which are laid out in the order they ran (t = T-1 first)."""
    step = scopes.step_of(box.scope)
    return -step if box.kind != "group" and scopes.direction_of(box.scope) == "backward" else step


def _runs_backward_in_time(link: Link, drawing: Drawing) -> bool:
    """A state passed from step t+1 to step t (a reverse-direction layer), between step boxes."""
    src, dst = drawing.by_key[link.src], drawing.by_key[link.dst]
    if src.kind != "group" or dst.kind != "group":
        return False
    a, b = scopes.step_of(src.scope), scopes.step_of(dst.scope)
    return a is not None and b is not None and a > b


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


def _time_edges(graph: Graph, drawing: Drawing) -> list[tuple[str, str]]:
    """Invisible edges that keep each time step to the right of the one before it.

    The first ops of a step, those fed only from outside it (``x[t]``, a slice of the input
    projection), would otherwise be ranked by their inputs, far to the left, stretching every step
    over the whole width; an edge from the state a step receives to each of them places the whole
    step after the previous one.
    """
    step_of = {box.key: scopes.step_scope(box.scope) if box.kind != "param" else None for box in drawing.boxes}
    fed_inside = {link.dst for link in drawing.links if step_of[link.src] == step_of[link.dst]}
    firsts: dict[str, list[str]] = {}
    for box in drawing.boxes:
        if step_of[box.key] is not None and box.key not in fed_inside:
            firsts.setdefault(step_of[box.key], []).append(box.key)
    edges = []
    for link in drawing.links:
        if link.kind == "state":
            edges += [(link.src, first) for first in firsts.get(step_of[link.dst], ()) if first != link.dst]
    return list(dict.fromkeys(edges))
