"""draw_graph: one call from tensors to a picture of the graph recorded behind them.

The steps, each in its own module: :mod:`.graph` reads the recorded graph, :mod:`.trace`
(only when gradients are to be shown flowing) watches a backward pass over it, :mod:`.detail`
groups its nodes into boxes for the level of detail asked for, and :mod:`.dot` writes the boxes
as DOT, which :mod:`.render` turns into SVG or PNG.

Example:
    >>> import tinygrad_rnn as tg
    >>> W = tg.Tensor([[0.5, -0.3], [0.2, 0.1]], requires_grad=True)
    >>> h = tg.zeros(1, 2)
    >>> for t in range(3):
    ...     with tg.scope("rnn"), tg.scope(f"t={t}"):
    ...         h = tg.linear(h + 1.0, W).tanh()
    >>> picture = draw_graph(h.sum(), params={"W": W}, detail="step")
    >>> [f"t = {t}" in picture.source for t in range(3)], picture.source.count("<b>W</b>")  # W drawn once
    ([True, True, True], 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..tensor import Tensor
from . import detail as _detail
from . import labels, scopes
from .colors import LogScale
from .dot import Options, build
from .graph import Graph, collect
from .trace import BackwardTrace, trace_backward

if TYPE_CHECKING:  # graphviz is imported when a picture is made, not here
    from .render import GraphPicture

#: The default node budget: past it dot's layout gets slow and the picture unreadable.
MAX_NODES = 1500


class GraphTooLargeError(ValueError):
    """The picture would have more boxes than the node budget allows."""


def draw_graph(
    *roots: Tensor,
    params: Mapping[str, Tensor] | Any = None,
    detail: str = "op",
    show_values: bool = False,
    show_grads: bool = True,
    color_by: str | None = None,
    show_order: bool = False,
    contributions: Mapping[Any, Any] | None = None,
    max_nodes: int = MAX_NODES,
) -> GraphPicture:
    """Draw the graph recorded behind ``roots`` (the loss, or several outputs).

    Args:
        roots: the tensors whose graph to draw.
        params: names for the parameters: ``dict(model.named_parameters())``, or the model.
        detail: ``"op"`` (every op), ``"step"`` (one box per time step, with the cell's
            equations), ``"layer"`` (one box per layer and direction) or ``"rolled"`` (one cell per
            layer with a self-loop marked ×T).
        show_values: write each tensor's values (in full when small, else mean/std/norm).
        show_grads: write gradients where they exist; a parameter without one says
            "grad: not computed".
        color_by: ``"grad"`` shades boxes and edges by gradient norm (log scale, with a legend).
        show_order: number the boxes in the order backward visits them and mark with ``+=``
            where several gradients are summed into one tensor.
        contributions: per-step gradient terms of a shared weight, labelled on its edges: the
            dict returned by ``tinygrad_rnn.bptt.contributions(loss, W)`` (``{t: dL/dW|_t}``),
            or ``{step or scope: norm}``; ``{W: terms, ...}`` for several weights.
        max_nodes: the node budget; a larger picture raises :class:`GraphTooLargeError` naming a
            coarser ``detail`` that fits.

    ``color_by="grad"`` and ``show_order`` need the gradients of a backward pass. They run one
    of their own over the graph (every ``.grad`` is left as it was; with several roots it starts
    from each with a gradient of ones) when the graph is still there: before ``loss.backward()``
    or after ``loss.backward(retain_graph=True)``. A plain ``loss.backward()`` frees it; run that
    backward inside ``with tg.viz.record_backward():`` and the picture shows what it sent::

        with tg.viz.record_backward():
            loss.backward()
        tg.viz.draw_graph(loss, color_by="grad", show_order=True)

    Returns:
        a :class:`~tinygrad_rnn.viz.render.GraphPicture` (a ``graphviz.Digraph``): ``.source`` is
        the DOT text, ``.render(path)`` writes SVG, PNG or PDF; Jupyter shows it inline.
    """
    if color_by is not None and (
        not isinstance(color_by, str) or color_by != "grad"
    ):  # no `in`: a Tensor's == is elementwise
        raise ValueError(f"draw_graph: color_by must be None or 'grad', got {_describe(color_by)}")
    graph, drawing = prepare(roots, params, detail, max_nodes)
    trace = trace_backward(graph) if color_by == "grad" or show_order else None
    options = Options(
        show_values=show_values,
        show_grads=show_grads,
        trace=trace,
        color=LogScale(all_norms(trace)) if color_by == "grad" else None,
        show_order=show_order,
        contributions=_resolve_contributions(contributions, graph, drawing) if contributions else {},
    )
    return build(graph, drawing, options)


def prepare(roots: tuple, params: Any, detail: str, max_nodes: int) -> tuple[Graph, _detail.Drawing]:
    """The recorded graph behind ``roots`` and its boxes at ``detail``, within the node budget."""
    if not roots or not all(isinstance(root, Tensor) for root in roots):
        raise TypeError(f"draw_graph: pass one or more Tensors to draw, got {[type(r).__name__ for r in roots]}")
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(
            "draw_graph: params names the parameters: a dict {name: tensor} (dict(model.named_parameters())) or "
            f"the model itself, got {type(params).__name__}"
        )
    graph = collect(roots, params)
    drawing = _detail.group(graph, detail)
    if len(drawing.boxes) > max_nodes:
        raise GraphTooLargeError(_budget_message(graph, detail, len(drawing.boxes), max_nodes))
    return graph, drawing


def all_norms(trace: BackwardTrace) -> list[float]:
    """Every gradient norm a picture of this trace can show (for a colour scale that fits them)."""
    return [labels.norm(send.grad) for send in trace.sends] + [labels.norm(g) for g in trace.seeds.values()]


def _budget_message(graph: Graph, detail: str, boxes: int, max_nodes: int) -> str:
    sizes = {level: len(_detail.group(graph, level).boxes) for level in _detail.DETAILS}
    coarser = _detail.DETAILS[_detail.DETAILS.index(detail) + 1 :]
    fits = [level for level in coarser if sizes[level] <= max_nodes]
    advice = (
        f"draw it with detail={fits[0]!r} ({sizes[fits[0]]} boxes)"
        if fits
        else "draw a shorter sequence or a part of the model (fewer roots)"
    )
    return (
        f"draw_graph: at detail={detail!r} this graph has {boxes} boxes, more than max_nodes={max_nodes} "
        f"(a picture that large is slow to lay out and unreadable); {advice}, or raise max_nodes. "
        f"Boxes per level: {', '.join(f'{k}={v}' for k, v in sizes.items())}."
    )


def _resolve_contributions(contributions: Mapping, graph: Graph, drawing: _detail.Drawing) -> dict:
    """{(parameter node, box) -> ‖term‖}: which edge of which shared weight carries which term."""
    if all(isinstance(v, Mapping) for v in contributions.values()):
        per_param = {_param_key(p, graph): terms for p, terms in contributions.items()}
    else:
        per_param = {_guess_param(contributions, graph, drawing): contributions}
    resolved = {}
    for param, terms in per_param.items():
        links = [link for link in drawing.links if link.tensor == param and link.kind == "param"]
        for key, value in terms.items():
            for link in links:
                if _matches(drawing.by_key[link.dst], graph, key):
                    resolved[(param, link.dst)] = _norm_of(value)
                    break
    return resolved


def _norm_of(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    return labels.norm(value.numpy() if isinstance(value, Tensor) else value)


def _matches(box: _detail.Box, graph: Graph, key: Any) -> bool:
    """Is ``box`` the step (``3``, ``"t=3"``) or scope (``"lstm/l0/fwd/t=3"``) named by ``key``?
    ``None`` names what is outside every step (as in ``bptt.contributions``)."""
    scope = box.scope if box.kind == "group" else graph.by_key[box.members[0]].scope
    step = scopes.step_scope(scope)
    if key is None:
        return step is None
    key = f"t={key}" if isinstance(key, int) else str(key)
    return step is not None and (step == key or step.endswith("/" + key))


def _param_key(param: Any, graph: Graph) -> str:
    for node in graph.nodes:
        # identity for a Tensor: ``==`` on a Tensor is elementwise (never compare one with a name)
        if node.kind == "param" and (node.tensor is param if isinstance(param, Tensor) else node.title == param):
            return node.key
    raise ValueError(f"draw_graph: contributions name a parameter {_describe(param)} that is not in the drawn graph")


def _guess_param(terms: Mapping, graph: Graph, drawing: _detail.Drawing) -> str:
    """The shared weight a plain ``{step: term}`` dict belongs to: the one parameter that fans out
    to several boxes (and, when the terms are arrays, has their shape)."""
    shapes = {tuple(v.shape) for v in terms.values() if hasattr(v, "shape")}
    fan_out: dict[str, set] = {}
    for link in drawing.links:
        if link.kind == "param":
            fan_out.setdefault(link.tensor, set()).add(link.dst)
    candidates = [
        key
        for key, dsts in fan_out.items()
        if len(dsts) > 1 and all(shape == graph.by_key[key].tensor.shape for shape in shapes)
    ]
    if len(candidates) != 1:
        names = ", ".join(graph.by_key[k].title for k in candidates) or "none"
        raise ValueError(
            f"draw_graph: cannot tell which shared weight these contributions belong to (candidates: {names}); "
            "pass them as {weight: contributions(loss, weight)}"
        )
    return candidates[0]


def _describe(param: Any) -> str:
    if isinstance(param, Tensor):
        return f"a Tensor of shape {param.shape} (name {param.name!r})"
    return repr(param)
