"""Scopes: tag every node recorded inside a ``with scope(...)`` block with a path.

Recurrent layers wrap each time step in ``scope("t=3")`` inside ``scope("l0")`` inside
``scope("lstm")``, so the node knows it belongs to ``lstm/l0/fwd/t=3``. The graph renderer and the
BPTT tools group nodes by these paths; nothing in the maths depends on them.

Example:
    >>> from tinygrad_rnn import Tensor, scope
    >>> with scope("layer0"), scope("t=3"):
    ...     y = Tensor([1.0]) * 2
    >>> y.scope
    'layer0/t=3'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_current = ""  # read by every new tensor: the path of the innermost open scope


def current_scope() -> str:
    """The path of the innermost open scope (``""`` outside any)."""
    return _current


@contextmanager
def scope(name: str) -> Iterator[str]:
    """Tag the nodes recorded inside the block with ``name``, nested under any open scope."""
    global _current
    name = str(name)
    if not name or "/" in name:
        raise ValueError(f"scope: a scope name must be non-empty and contain no '/', got {name!r}")
    outer = _current
    _current = f"{outer}/{name}" if outer else name
    try:
        yield _current
    finally:
        _current = outer
