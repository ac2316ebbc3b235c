"""backward_frames: one picture per backward step, to step through backprop in class.

Frame 0 shows the graph before backward; frame k shows it after the k-th op has run its
backward: the ops visited so far are numbered, the gradients sent so far colour their edges
(on one log scale for all frames, so colours can be compared), every tensor shows the gradient
accumulated in it *so far* (watch a shared weight's ``+=`` fill up), and the op that just ran is
outlined in black.

Example:
    >>> import tempfile
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([0.5], requires_grad=True, name="w")
    >>> loss = (w * w).tanh()
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     paths = backward_frames(loss, directory, format="svg")
    ...     [p.rsplit("/", 1)[-1] for p in paths]
    ['step_000.svg', 'step_001.svg', 'step_002.svg']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..tensor import Tensor
from .colors import LogScale
from .dot import Options, build
from .draw import MAX_NODES, all_norms, prepare
from .trace import trace_backward


def backward_frames(
    loss: Tensor,
    directory: str | os.PathLike,
    params: Any = None,
    detail: str = "op",
    format: str = "png",  # noqa: A002
    show_values: bool = False,
    max_nodes: int = MAX_NODES,
) -> list[str]:
    """Write ``step_000.<format>``, ``step_001.<format>``, ... into ``directory``; return their paths.

    Args mean what they mean for :func:`~tinygrad_rnn.viz.draw_graph`. Like
    ``draw_graph(color_by="grad")`` this runs its own backward pass (every ``.grad`` is left as
    it was), so call it before ``loss.backward()``, after ``loss.backward(retain_graph=True)``, or
    after a backward run inside ``with tg.viz.record_backward():`` (it then reads that record).
    """
    graph, drawing = prepare((loss,), params, detail, max_nodes)
    trace = trace_backward(graph, caller="backward_frames")
    scale = LogScale(all_norms(trace))
    directory = Path(directory)
    paths = []
    for k in range(len(trace.order) + 1):
        current = drawing.box_of[trace.order[k - 1]] if k else None
        options = Options(
            show_values=show_values,
            trace=trace.first_steps(k),
            color=scale,
            show_order=True,
            current=current,
        )
        paths.append(build(graph, drawing, options).render(directory / f"step_{k:03d}.{format}", format=format))
    return paths
