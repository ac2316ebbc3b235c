"""observe_backward: a backward pass that only watches.

The BPTT tools need to see the gradient on every edge of the graph (a shared weight's gradient
is the sum of the gradients on its edges, one per use), without changing what the user's own
``loss.backward()`` will leave in ``.grad``. This runs the engine's backward with an edge
observer (:func:`tinygrad_rnn.autograd.backward`'s ``on_edge``) and ``retain_graph=True``, then
puts every ``.grad`` in the graph back exactly as it was.

Example:
    >>> from tinygrad_rnn import Tensor
    >>> w = Tensor([3.0], requires_grad=True)
    >>> loss = (w * w).sum()
    >>> seen = []
    >>> observe_backward(loss, lambda op, parent, grad: seen.append(op.name))
    >>> seen, w.grad                          # mul sent two gradients to w; w.grad untouched
    (['sum', 'mul', 'mul'], None)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import autograd
from ..tensor import Tensor

#: ``on_edge(op, parent, grad)``: ``op`` (a Function, with ``.name`` and ``.scope``) sends the
#: array ``grad`` (shaped like ``parent``) to its input tensor ``parent``.
EdgeObserver = Callable[[Any, Tensor, Any], None]


def observe_backward(loss: Tensor, on_edge: EdgeObserver, caller: str = "observe_backward") -> None:
    """Backpropagate from the one-element tensor ``loss``, calling ``on_edge`` on every edge.

    The graph is retained (so ``loss.backward()`` still works afterwards) and no ``.grad``
    changes. The graph must not have been freed by an earlier ``backward()`` without
    ``retain_graph=True``.
    """
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        raise ValueError(
            f"{caller}: loss must be a Tensor that requires grad (the output of ops on tensors created with "
            "requires_grad=True)"
        )
    if loss.numel() != 1:
        raise ValueError(f"{caller}: loss must have one element, got shape {loss.shape}; reduce it first, e.g. .sum()")
    autograd.observe_backward(loss, on_edge)
