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

_current = ""  # read by every new tensor: the path of the innermost open scope


def current_scope() -> str:
    """The path of the innermost open scope (``""`` outside any)."""
    return _current


class scope:
    """Tag the nodes recorded inside the ``with`` block with ``name``, nested under any open scope.

    (A small class rather than ``@contextmanager``: recurrent layers open one per time step.)
    """

    __slots__ = ("name", "_outer")

    def __init__(self, name: str):
        name = str(name)
        if not name or "/" in name:
            raise ValueError(f"scope: a scope name must be non-empty and contain no '/', got {name!r}")
        self.name = name

    def __enter__(self) -> str:
        global _current
        self._outer = _current
        _current = f"{_current}/{self.name}" if _current else self.name
        return _current

    def __exit__(self, *exc: object) -> None:
        global _current
        _current = self._outer
