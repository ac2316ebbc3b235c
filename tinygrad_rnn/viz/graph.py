"""The recorded graph as plain data: one node per tensor, one edge per use of a tensor by an op.

:func:`collect` walks the graph behind the roots once (``tg.walk``) and keeps what a picture
needs: the nodes, numbered in the order of the walk (so the same program gives the same
picture, whatever else ran before in the process), which of them are parameters and by what
name, which edges cross a ``detach()`` cut, and the Python scalars folded into their op.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([1.0, 2.0], requires_grad=True)
    >>> graph = collect([(w * 2).tanh()], params={"w": w})
    >>> [(node.key, node.kind, node.title) for node in graph.nodes]
    [('n0', 'param', 'w'), ('n1', 'op', 'mul'), ('n2', 'op', 'tanh')]
    >>> [(edge.src, edge.dst) for edge in graph.edges], graph.nodes[1].constants
    ([('n0', 'n1'), ('n1', 'n2')], ['2'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..autograd import walk
from . import labels


@dataclass
class Node:
    """One tensor of the recorded graph: an op's output (``kind="op"``), a parameter (a leaf
    that requires grad), an input (any other leaf) or a tensor cut from a graph by ``detach()``."""

    key: str  # "n0", "n1", ... in walk order: stable across runs of the same program
    kind: str  # "op" | "param" | "input" | "detached"
    tensor: Any
    title: str  # op name, parameter name or tensor name
    scope: str
    constants: list[str] = field(default_factory=list)  # Python scalars folded into this op


@dataclass
class Edge:
    """A tensor (``src``) used as an input of the op that made ``dst``."""

    src: str
    dst: str
    kind: str = "data"  # "data" | "param" (from a parameter) | "cut" (across a detach())


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    roots: list[str]
    by_key: dict[str, Node] = field(default_factory=dict)
    consumers: dict[str, list[Edge]] = field(default_factory=dict)
    tensor_key: dict[int, str] = field(default_factory=dict)  # id(tensor) -> node key

    def __post_init__(self) -> None:
        self.by_key = {node.key: node for node in self.nodes}
        for edge in self.edges:
            self.consumers.setdefault(edge.src, []).append(edge)


def collect(roots: Sequence[Any], params: Mapping[str, Any] | None = None) -> Graph:
    """Read the graph recorded behind ``roots``; ``params`` names parameters (dotted names)."""
    names = {id(tensor): name for name, tensor in (params or {}).items()}
    tensors = list(walk(*roots))
    nodes: list[Node] = []
    key_of: dict[int, str] = {}
    by_global_id: dict[int, str] = {}
    folded: set[int] = set()
    for tensor in tensors:
        if _is_scalar_constant(tensor):
            folded.add(id(tensor))
            continue
        key = f"n{len(nodes)}"
        key_of[id(tensor)] = key
        by_global_id[tensor.id] = key
        nodes.append(Node(key, _kind(tensor), tensor, _title(tensor, names), tensor.scope))
    node_of = {node.key: node for node in nodes}
    edges: list[Edge] = []
    for tensor in tensors:
        if id(tensor) in folded:
            continue
        key = key_of[id(tensor)]
        for parent in tensor.inputs:
            if id(parent) in folded:
                node_of[key].constants.append(labels.summary(parent.numpy()))
                continue
            kind = "param" if node_of[key_of[id(parent)]].kind == "param" else "data"
            edges.append(Edge(key_of[id(parent)], key, kind))
        cut = tensor.detached_from
        if cut is not None and cut[0] in by_global_id:  # the tensor it was cut from is drawn too
            edges.append(Edge(by_global_id[cut[0]], key, "cut"))
    graph = Graph(nodes, edges, [key_of[id(root)] for root in roots if id(root) in key_of])
    graph.tensor_key = key_of
    return graph


def _is_scalar_constant(tensor: Any) -> bool:
    """A Python number used in an op (``h * 0.5``): shown inside the op's box, not as a node."""
    return (
        tensor.is_leaf
        and not tensor.requires_grad
        and tensor.name is None
        and tensor.detached_from is None
        and tensor.ndim == 0
    )


def _kind(tensor: Any) -> str:
    if not tensor.is_leaf:
        return "op"
    if tensor.requires_grad:
        return "param"
    return "detached" if tensor.detached_from is not None else "input"


def _title(tensor: Any, names: Mapping[int, str]) -> str:
    if id(tensor) in names:
        return names[id(tensor)]
    if not tensor.is_leaf:
        return tensor.op
    if tensor.name:
        return tensor.name
    if tensor.requires_grad:
        return "parameter"
    return "detached" if tensor.detached_from is not None else "input"
