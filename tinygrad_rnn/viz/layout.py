"""Layout: keeping time left to right, and dot fast on long sequences.

dot ranks boxes along the data flow (left to right here), so time steps line up by themselves;
three things help it:

* invisible edges place each step's first ops after the previous step (:func:`time_edges`);
* a state passed backward in time (a reverse-direction layer) is drawn reversed between step
  boxes, so the ``t = 0`` box is on the left in both directions (:func:`runs_backward_in_time`);
* a box linked to many steps (a shared weight, the input projection, the join of all outputs)
  gets a bus: one line along the steps with a branch into each (:func:`buses`). T separate edges
  across the picture would make dot's layout time grow as T².
"""

from __future__ import annotations

from . import scopes
from .detail import Box, Drawing, Link
from .graph import Graph

#: A box linked to at least this many time steps of one layer gets a bus (see :func:`buses`).
BUS_STEPS = 3


def time_order(item: tuple[str, dict]) -> tuple[int, int]:
    """Sort key of sibling clusters: time steps in time order, after the others (kept in place)."""
    step = scopes.step_of(item[0])
    return (0, 0) if step is None else (1, step)


def buses(drawing: Drawing) -> list[tuple[str, list[Link]]]:
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
        if step_scope(dst) is not None and step_scope(src) is None:
            fans.setdefault(("out", link.src, scopes.sequence_of(dst.scope)), []).append(link)
        elif step_scope(src) is not None and step_scope(dst) is None:
            fans.setdefault(("in", link.dst, scopes.sequence_of(src.scope)), []).append(link)
    buses = []
    for (direction, _, _), links in fans.items():
        end = "dst" if direction == "out" else "src"
        steps = {layout_position(drawing.by_key[getattr(link, end)]) for link in links}
        if len(steps) >= BUS_STEPS:
            links.sort(key=lambda link: layout_position(drawing.by_key[getattr(link, end)]))
            buses.append((direction, links))
    return buses


def step_scope(box: Box) -> str | None:
    return None if box.kind == "param" else scopes.step_scope(box.scope)


def layout_position(box: Box) -> int:
    """Where a step stands, left to right: its time step, except for the ops of a backward
    direction at op level, which are laid out in the order they ran (t = T-1 first)."""
    step = scopes.step_of(box.scope)
    return -step if box.kind != "group" and scopes.direction_of(box.scope) == "backward" else step


def runs_backward_in_time(link: Link, drawing: Drawing) -> bool:
    """A state passed from step t+1 to step t (a reverse-direction layer), between step boxes."""
    src, dst = drawing.by_key[link.src], drawing.by_key[link.dst]
    if src.kind != "group" or dst.kind != "group":
        return False
    a, b = scopes.step_of(src.scope), scopes.step_of(dst.scope)
    return a is not None and b is not None and a > b


def time_edges(graph: Graph, drawing: Drawing) -> list[tuple[str, str]]:
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
