"""tinygrad_rnn.viz: see the recorded graph, and backpropagation through time.

* :func:`draw_graph` draws the graph behind a loss (or several outputs) with Graphviz: ops and
  tensors, parameters drawn once and fanning out to every step, nested clusters per layer,
  direction and time step, four levels of detail, gradients coloured on a log scale, the order
  of backward, ``detach()`` cuts and per-step gradient terms of a shared weight;
* :func:`backward_frames` writes one picture per backward step, to step through backprop;
* :class:`record_backward` keeps what a plain ``loss.backward()`` sent, for the two above.

See ``docs/graphs.md`` for pictures and what they show.

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([0.5], requires_grad=True, name="w")
    >>> picture = tg.viz.draw_graph((w * w).tanh())
    >>> print(picture.source.splitlines()[0])
    digraph {
"""

from ..observe import record_backward
from . import render
from .draw import GraphTooLargeError, draw_graph
from .frames import backward_frames
from .render import DotNotFoundError, find_dot


def __getattr__(name: str) -> type:
    if name == "GraphPicture":  # made on first use, so that importing viz does not import graphviz
        return render.GraphPicture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DotNotFoundError",
    "GraphPicture",
    "GraphTooLargeError",
    "backward_frames",
    "draw_graph",
    "find_dot",
    "record_backward",
]
