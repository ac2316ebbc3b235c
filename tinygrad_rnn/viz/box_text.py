"""What a box says: a tensor's name, shape, dtype, device, values and gradient, or a group's
equations, inputs and outputs.

Each function returns the box's lines (already escaped for an HTML-like label) and the gradient
norm that colours the box under ``color_by="grad"`` (None when no gradient is known).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..backend import dtype_name
from . import equations, labels, scopes
from .detail import Box, Drawing
from .graph import Graph

if TYPE_CHECKING:
    from .dot import Options


def node_lines(box: Box, graph: Graph, drawing: Drawing, options: Options) -> tuple[list[str], float | None]:
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
    grad = grad_of(node.key, graph, options)
    if options.show_grads and tensor.requires_grad:
        if grad is not None:
            lines.append("grad " + labels.text(labels.summary(grad)))
        elif node.kind == "param":
            lines.append("grad: not computed")
    if options.show_order and options.trace is not None and options.trace.incoming(node.key) > 1:
        lines.append(labels.text(f"grad = sum of {options.trace.incoming(node.key)} (+=)"))
    return lines, None if grad is None else labels.norm(grad)


def grad_of(key: str, graph: Graph, options: Options) -> np.ndarray | None:
    """dL/d(tensor): measured by the trace, else the tensor's ``.grad`` (leaves, retain_grad)."""
    if options.trace is not None:
        return options.trace.node_grad(key)
    grad = graph.by_key[key].tensor.grad
    return None if grad is None else grad.numpy()


def group_lines(box: Box, graph: Graph, drawing: Drawing, options: Options) -> tuple[list[str], float | None]:
    """Lines of a group's box: the cell's equations (or its ops), its inputs and outputs."""
    ops = [graph.by_key[m].tensor.op for m in box.members if graph.by_key[m].kind == "op"]
    is_cell = scopes.step_of(box.scope) is not None or box.title == "cell" or box.steps > 1
    equations_ = equations.cell_equations(scopes.cell_kind(box.scope), ops) if is_cell else []
    lines = [labels.text(line) for line in equations_] or [labels.text(equations.op_counts(ops))]
    if box.steps > 1:
        lines.append(f"× {box.steps} steps")
    inputs, outputs = boundary(box, graph, drawing)
    if inputs:
        lines.append("in: " + labels.text(", ".join(inputs)))
    if outputs:
        lines.append("out: " + labels.text(", ".join(outputs)))
    out_norms = [grad_of(key, graph, options) for key in output_tensors(box, graph, drawing)]
    out_norms = [labels.norm(g) for g in out_norms if g is not None]
    grad_norm = float(np.sqrt(sum(n * n for n in out_norms))) if out_norms else None
    if options.show_grads and grad_norm is not None:
        lines.append(labels.text(f"‖dL/d out‖ {labels.number(grad_norm)}"))
    return lines, grad_norm


def boundary(box: Box, graph: Graph, drawing: Drawing) -> tuple[list[str], list[str]]:
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


def output_tensors(box: Box, graph: Graph, drawing: Drawing) -> list[str]:
    keys = {link.tensor for link in drawing.links_at.get(box.key, ()) if link.src == box.key and link.kind != "cut"}
    keys |= {key for key in graph.roots if drawing.box_of[key] == box.key}
    return sorted(keys, key=lambda k: int(k[1:]))
