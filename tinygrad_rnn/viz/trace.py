"""Watching backward: every gradient sent along every edge, in the order the engine sends it.

:func:`trace_backward` runs the engine's own backward over a drawn graph with an ``on_edge``
observer (see :func:`tinygrad_rnn.autograd.backward`) and keeps each gradient it sees. From that
record a picture can colour edges by gradient norm, number the ops in the order backward
visits them, show where several gradients are summed (``+=``), and replay backward step by
step. The pass runs on the retained graph and puts every ``.grad`` back as it was: drawing
never changes your gradients.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn.viz.graph import collect
    >>> w = tg.Tensor([3.0], requires_grad=True)
    >>> y = w * w
    >>> trace = trace_backward(collect([y]))
    >>> trace.order, trace.node_grad("n0"), w.grad is None
    (['n1'], array([6.], dtype=float32), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd import observe_backward
from ..backend import backend_of
from ..observe import freed_message, freed_op, op_identity, recorded
from .graph import Graph


@dataclass(frozen=True)
class Send:
    """One gradient sent by the op that made ``dst`` to its input ``src`` (dL/d src, partial)."""

    src: str
    dst: str
    grad: np.ndarray


class BackwardTrace:
    """The gradients sent during one backward pass, in order; ``seeds`` are the roots' dL/d root."""

    def __init__(self, sends: list[Send], seeds: dict[str, np.ndarray]):
        self.sends = sends
        self.seeds = seeds
        self.order: list[str] = []  # op nodes, in the order their backward ran
        seen: set[str] = set()
        for send in sends:
            if send.dst not in seen:
                seen.add(send.dst)
                self.order.append(send.dst)
        self._edge: dict[tuple[str, str], np.ndarray] = {}
        self._node: dict[str, np.ndarray] = dict(seeds)
        self._incoming: dict[str, int] = {}
        for send in sends:
            pair = (send.src, send.dst)
            self._edge[pair] = send.grad if pair not in self._edge else self._edge[pair] + send.grad
            self._node[send.src] = send.grad if send.src not in self._node else self._node[send.src] + send.grad
            self._incoming[send.src] = self._incoming.get(send.src, 0) + 1

    def edge_grad(self, src: str, dst: str) -> np.ndarray | None:
        """The gradient the op making ``dst`` sent to ``src`` (summed if ``src`` is used twice)."""
        return self._edge.get((src, dst))

    def node_grad(self, key: str) -> np.ndarray | None:
        """dL/d(tensor) accumulated so far: the sum of everything sent to it (None if nothing)."""
        return self._node.get(key)

    def incoming(self, key: str) -> int:
        """How many gradients were summed into this tensor (``+=`` count)."""
        return self._incoming.get(key, 0)

    def step_of(self, key: str) -> int | None:
        """1-based position of an op node in the backward visit order."""
        try:
            return self.order.index(key) + 1
        except ValueError:
            return None

    def first_steps(self, k: int) -> BackwardTrace:
        """The trace as it stood after the first ``k`` ops had run their backward."""
        ops = set(self.order[:k])
        return BackwardTrace([s for s in self.sends if s.dst in ops], self.seeds)


def trace_backward(graph: Graph, caller: str = "draw_graph") -> BackwardTrace:
    """Run backward from every root of ``graph`` (seeded with ones) and record every send.

    When an earlier ``backward()`` has freed the graph, the record it kept inside
    :class:`~tinygrad_rnn.bptt.record_backward` is read instead (seeded as that backward was);
    without one, a clear error says how to get one.
    """
    made_by = {id(node.tensor.grad_fn): node.key for node in graph.nodes if node.kind == "op"}
    roots = {key: graph.by_key[key].tensor for key in graph.roots if graph.by_key[key].tensor.requires_grad}
    freed = [op for op in map(freed_op, roots.values()) if op is not None]
    records = {key: recorded(root) for key, root in roots.items()}
    if freed and None in records.values():
        raise RuntimeError(freed_message(caller, freed[0]))
    sends: list[Send] = []

    def on_edge(op: Any, parent: Any, grad: Any) -> None:
        key = graph.tensor_key.get(id(parent))
        if key is not None:
            sends.append(Send(key, made_by[op_identity(op)], _to_numpy(grad)))

    seeds: dict[str, np.ndarray] = {}
    for key, root in roots.items():
        if freed:  # every root has a record: read it
            seeds[key] = _to_numpy(records[key].seed)
            for op, parent, grad in records[key].sends:
                on_edge(op, parent, grad)
        else:
            seeds[key] = np.ones(root.shape, dtype=root.numpy().dtype)
            observe_backward(root, on_edge)  # every .grad is left as it was
    return BackwardTrace(sends, seeds)


def _to_numpy(array: Any) -> np.ndarray:
    return np.array(backend_of(array).to_numpy(array), copy=True)
