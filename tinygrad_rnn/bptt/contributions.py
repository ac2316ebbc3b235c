"""contributions: a shared weight's gradient, split into one term per time step.

A recurrent weight W is used once per time step, so the engine's ``W.grad`` is a sum over time,

    dL/dW = sum_t dL/dW|_(t),

where dL/dW|_(t) is the gradient that arrives at W along the edge from the op of step t that
uses it (with everything that step's output does to the loss, through all later steps, already
inside it). :func:`contributions` returns those terms: it watches every edge gradient of a
backward pass and groups the ones entering ``param`` by the ``t=k`` component of the *consuming*
op's scope (``lstm/l0/fwd/t=3`` -> 3).

Example:
    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([[0.5]], requires_grad=True)
    >>> h = tg.ones(1, 1)
    >>> for t in range(3):
    ...     with tg.scope(f"t={t}"):
    ...         h = tg.linear(h, w).tanh()   # h_t = tanh(h_{t-1} w^T)
    >>> terms = contributions(h.sum(), w)
    >>> list(terms)
    [0, 1, 2]
    >>> h.sum().backward()
    >>> bool(abs(sum(term.item() for term in terms.values()) - w.grad.item()) < 1e-6)
    True
"""

from __future__ import annotations

from typing import Any

from ..observe import observe_backward
from ..tensor import Tensor

Key = int | str | None


def scope_key(scope: str, by: str) -> Key:
    """The value of the ``by=value`` component of a scope path, or None if it has none.

    ``scope_key("lstm/l0/fwd/t=3", "t") == 3`` (numbers become ints);
    ``by="scope"`` gives the whole path (None at top level).
    """
    if by == "scope":
        return scope or None
    prefix = f"{by}="
    for part in reversed(scope.split("/")):  # the innermost component wins
        if part.startswith(prefix):
            value = part[len(prefix) :]
            return int(value) if value.isdigit() else value
    return None


def contributions(loss: Tensor, param: Tensor, by: str = "t") -> dict[Key, Tensor]:
    """The terms dL/dW|_(k) of dL/dW = sum_k dL/dW|_(k), for ``W = param``, grouped by scope.

    Args:
        loss: a one-element tensor whose graph has not been freed (call this before
            ``loss.backward()``, or after ``loss.backward(retain_graph=True)``).
        param: a tensor that requires grad and is used in the graph (a weight, a bias, or any
            intermediate tensor).
        by: ``"t"`` (default) groups by the ``t=k`` scope component, giving int keys; any other
            name ``n`` groups by ``n=value`` components; ``"scope"`` by the whole scope path.

    Returns:
        ``{key: term}``, sorted (numbers, then names), each term a Tensor shaped like ``param``.
        Edges from ops whose scope has no ``by`` component (e.g. a layer's input projection
        over all steps at once, in ``lstm/l0/fwd``) are summed under the key ``None``, last.
        The terms always add up to what ``backward`` puts in ``param.grad``.

    Runs a backward pass of its own (graph retained, every ``.grad`` left as it was).

    Only edges that *enter* ``param`` are split. If the weight reaches the steps through an
    intermediate op computed once, e.g. ``WT = W.T`` before the loop and ``h @ WT`` inside it,
    the only edge into ``W`` is the transpose's, outside every step, so everything lands in one
    term (key ``None``). Then either pass the intermediate (``contributions(loss, WT)``) or use
    the weight directly in each step, as ``tg.linear(h, W)`` and the ``nn`` layers do.
    """
    if not isinstance(param, Tensor) or not param.requires_grad:
        raise ValueError("contributions: param must be a Tensor that requires grad (a weight used by the loss)")
    terms: dict[Key, Any] = {}

    def on_edge(op: Any, parent: Tensor, grad: Any) -> None:
        if parent is param:
            key = scope_key(op.scope, by)
            # copy first, never add in place: ``grad`` may be an array the engine still uses
            terms[key] = grad + terms[key] if key in terms else param.xp.asarray(grad, copy=True)

    observe_backward(loss, on_edge, caller="contributions")
    if not terms:
        raise ValueError(
            f"contributions: param (shape {param.shape}, name {param.name!r}) receives no gradient from loss: "
            "it is not used in the loss's graph"
        )
    ordered = sorted(terms, key=lambda k: (k is None, isinstance(k, str), k if k is not None else 0))
    return {key: Tensor._make(terms[key], param._backend, None) for key in ordered}
