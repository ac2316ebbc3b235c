"""Levels of detail: which recorded nodes are drawn together as one box.

* ``"op"``: every op and every leaf is its own box;
* ``"step"``: the ops of one time step (scope ``.../t=k``) become one box per step;
* ``"layer"``: everything of one layer and direction (``lstm/l0/fwd`` and all its steps) is one box;
* ``"rolled"``: all the steps of a layer become one cell with a self-loop marked ×T.

Parameters are never grouped: each is drawn once, with an edge into every box that uses it, so
a shared recurrent weight visibly fans out to every time step. Edges that carry a recurrent
state from one step to the next (h_{t-1} -> h_t, c_{t-1} -> c_t) are marked ``"state"``: they are
drawn as the spine of the picture.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn.viz.graph import collect
    >>> w = tg.Tensor([0.5], requires_grad=True, name="w")
    >>> h = tg.zeros(1)
    >>> for t in range(3):
    ...     with tg.scope("rnn"), tg.scope(f"t={t}"):
    ...         h = (h * w).tanh()
    >>> drawing = group(collect([h]), "step")
    >>> [box.title for box in drawing.boxes]
    ['w', 'input', 't = 0', 't = 1', 't = 2']
    >>> sorted({link.kind for link in drawing.links})
    ['param', 'state']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import scopes
from .graph import Graph

DETAILS = ("op", "step", "layer", "rolled")


@dataclass
class Box:
    """One drawn node: a single recorded node, or a group of them."""

    key: str
    kind: str  # "op" | "param" | "input" | "detached" | "group"
    title: str
    members: list[str]  # keys of the recorded nodes drawn as this box
    cluster: tuple[str, ...]  # scope components of the nested clusters the box is drawn in
    scope: str = ""  # the scope the box stands for (a group's scope; a node's own scope)
    steps: int = 1  # how many time steps a rolled cell or a layer box stands for


@dataclass
class Link:
    """One drawn edge: the tensor ``tensor`` (a recorded node) flowing from box ``src`` to ``dst``."""

    src: str
    dst: str
    kind: str  # "data" | "param" | "state" | "cut" | "loop"
    tensor: str
    edges: list[tuple[str, str]] = field(default_factory=list)  # the recorded edges it stands for
    role: str = ""  # "h" or "c" for a recurrent state


@dataclass
class Drawing:
    boxes: list[Box]
    links: list[Link]
    box_of: dict[str, str]  # recorded node key -> box key
    roles: dict[str, str] = field(default_factory=dict)  # recorded node key -> "h"/"c" for states
    by_key: dict[str, Box] = field(default_factory=dict)
    links_at: dict[str, list[Link]] = field(default_factory=dict)  # box key -> links in or out of it

    def __post_init__(self) -> None:
        self.by_key = {box.key: box for box in self.boxes}
        for link in self.links:
            self.links_at.setdefault(link.src, []).append(link)
            if link.dst != link.src:
                self.links_at.setdefault(link.dst, []).append(link)


def group(graph: Graph, detail: str) -> Drawing:
    """Group the recorded nodes of ``graph`` into boxes and links for one level of detail."""
    if not isinstance(detail, str) or detail not in DETAILS:  # a str first: `in` would call a Tensor's ==
        raise ValueError(
            f"draw_graph: detail must be one of {', '.join(map(repr, DETAILS))}, got {type(detail).__name__} {detail!r}"
        )
    sequences = {scopes.sequence_of(node.scope) for node in graph.nodes} - {None}
    boxes: dict[str, Box] = {}
    box_of: dict[str, str] = {}
    for node in graph.nodes:
        group_scope = None if node.kind == "param" else _group_scope(node.scope, detail, sequences)
        if group_scope is None:
            cluster = () if node.kind == "param" else scopes.parts(node.scope)
            boxes[node.key] = Box(node.key, node.kind, node.title, [node.key], cluster, node.scope)
            box_of[node.key] = node.key
            continue
        key = "g" + group_scope  # scopes never clash with node keys "n0", "n1", ...
        if key not in boxes:
            boxes[key] = _group_box(key, group_scope)
        boxes[key].members.append(node.key)
        box_of[node.key] = key
    if detail in ("layer", "rolled"):
        for box in boxes.values():
            box.steps = len({scopes.step_of(graph.by_key[m].scope) for m in box.members} - {None}) or 1
    links = _links(graph, box_of, detail)
    roles = _roles(graph, links)
    _number_unnamed(boxes.values(), roles)
    return Drawing(list(boxes.values()), links, box_of, roles)


def _number_unnamed(boxes, roles: dict[str, str]) -> None:
    """Two unrelated boxes must not both say ``input`` (or ``parameter``): unnamed ones of a kind
    are numbered, ``input 1``, ``input 2``, ..., in the order of the walk. (An initial state is
    titled ``initial h`` by its role instead; ``Tensor(..., name=...)`` names any other.)"""
    for kind in ("input", "param"):
        unnamed = [box for box in boxes if box.kind == kind and box.title == _UNNAMED[kind] and box.key not in roles]
        if len(unnamed) > 1:
            for number, box in enumerate(unnamed, start=1):
                box.title = f"{box.title} {number}"


_UNNAMED = {"input": "input", "param": "parameter"}  # the title graph.collect gives a tensor without a name


def _group_scope(scope: str, detail: str, sequences: set[str]) -> str | None:
    """The scope a node is grouped under at this level (None: drawn on its own).

    Only what belongs to a sequence is grouped: a time step (``step``), all steps of a layer
    (``rolled``), or a whole layer with what it computes once for all steps (``layer``). Ops
    outside (a loss, the joining of two directions) stay visible at every level.
    """
    step = scopes.step_scope(scope)
    if detail == "step":
        return step
    if detail == "rolled":
        return None if step is None else scopes.sequence_of(scope) + "/t=*"
    if detail == "layer":
        components = scopes.parts(scope)
        for end in range(len(components), 0, -1):  # the longest prefix that holds time steps
            prefix = "/".join(components[:end])
            if prefix in sequences:
                return prefix
    return None


def _group_box(key: str, scope: str) -> Box:
    """The box of a group: a step, a rolled cell, or a whole layer (drawn in its parent's cluster)."""
    components = scopes.parts(scope)
    title = "cell" if components[-1] == "t=*" else scopes.pretty(components[-1])
    return Box(key, "group", title, [], components[:-1], scope)


def _links(graph: Graph, box_of: dict[str, str], detail: str) -> list[Link]:
    links: dict[tuple[str, str, str], Link] = {}
    state_shapes = {
        (scopes.sequence_of(graph.by_key[e.src].scope), graph.by_key[e.src].tensor.shape)
        for e in graph.edges
        if e.kind == "data" and _crosses_steps(graph, e.src, e.dst)
    }
    for edge in graph.edges:
        src, dst = box_of[edge.src], box_of[edge.dst]
        kind = edge.kind
        if kind == "data" and _crosses_steps(graph, edge.src, edge.dst):
            kind = "loop" if src == dst else "state"
        elif kind == "data" and _is_initial_state(graph, edge.src, edge.dst, state_shapes):
            kind = "state"
        if src == dst and (kind != "loop" or detail != "rolled"):
            continue  # inside one box
        role = state_role(graph, edge.src) if kind in ("state", "loop") else ""
        # one edge per tensor; a box of many steps sends one edge per destination, kind and state
        many = detail in ("rolled", "layer") and box_of[edge.src] != edge.src
        link = links.setdefault((src, dst, kind + role if many else edge.src), Link(src, dst, kind, edge.src))
        link.edges.append((edge.src, edge.dst))
        link.role = role
    return list(links.values())


def _roles(graph: Graph, links: list[Link]) -> dict[str, str]:
    """Which tensors are recurrent states: those passed between steps, and the final state of
    each layer, recognised as the output of the same op and shape as a state of that layer."""
    roles = {link.tensor: link.role for link in links if link.role}
    signature: dict[tuple, set] = {}
    for key, role in roles.items():
        node = graph.by_key[key]
        signature.setdefault((scopes.sequence_of(node.scope), node.tensor.op, node.tensor.shape), set()).add(role)
    for node in graph.nodes:
        if node.key not in roles and scopes.step_of(node.scope) is not None:
            found = signature.get((scopes.sequence_of(node.scope), node.tensor.op, node.tensor.shape), set())
            if len(found) == 1 and _leaves_its_step(graph, node):
                roles[node.key] = next(iter(found))
    return roles


def _leaves_its_step(graph: Graph, node) -> bool:
    step = scopes.step_scope(node.scope)
    return any(scopes.step_scope(graph.by_key[e.dst].scope) != step for e in graph.consumers.get(node.key, []))


def _is_initial_state(graph: Graph, src: str, dst: str, state_shapes: set) -> bool:
    """Does this edge bring a layer's initial state (made outside its steps) into a step?"""
    a, b = graph.by_key[src], graph.by_key[dst]
    sequence = scopes.sequence_of(b.scope)
    return (
        sequence is not None
        and scopes.step_of(a.scope) is None
        and (a.scope == sequence or a.kind == "input")
        and (sequence, a.tensor.shape) in state_shapes
    )


def _crosses_steps(graph: Graph, src: str, dst: str) -> bool:
    """Does this edge carry a state from one time step to another of the same layer?"""
    a, b = graph.by_key[src].scope, graph.by_key[dst].scope
    return (
        scopes.step_of(a) is not None
        and scopes.step_of(b) is not None
        and scopes.step_of(a) != scopes.step_of(b)
        and scopes.sequence_of(a) == scopes.sequence_of(b)
    )


def state_role(graph: Graph, key: str) -> str:
    """``"h"`` or ``"c"``: which recurrent state a tensor passed between steps is.

    A tensor's own name wins. Otherwise, in an LSTM, the hidden state h is the one the next step
    multiplies by a weight (a ``linear``, ``matmul`` or a ``cat`` before one); the cell state c
    is only scaled by the forget gate. Every other cell has only h.
    """
    node = graph.by_key[key]
    if node.tensor.name:
        return node.tensor.name
    if scopes.cell_kind(node.scope) != "lstm":
        return "h"
    step = scopes.step_of(node.scope)
    for edge in graph.consumers.get(key, []):
        consumer = graph.by_key[edge.dst]
        if scopes.step_of(consumer.scope) != step and consumer.tensor.op in ("linear", "matmul", "cat"):
            return "h"
    return "c"
