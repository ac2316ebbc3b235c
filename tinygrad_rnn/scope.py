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

from . import modes as _modes


def current_scope() -> str:
    """The path of the innermost open scope in the calling thread (``""`` outside any)."""
    return _modes.current().scope


class scope(_modes.ModeBlock):
    """Tag the nodes recorded inside the ``with`` block with ``name``, nested under any open scope.

    Scopes are per thread (see :mod:`tinygrad_rnn.modes`). (A small class rather than
    ``@contextmanager``: recurrent layers open one per time step.)
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        name = str(name)
        if not name or "/" in name:
            raise ValueError(f"scope: a scope name must be non-empty and contain no '/', got {name!r}")
        self.name = name

    def changed(self, modes: _modes.Modes) -> _modes.Modes:
        return modes._replace(scope=f"{modes.scope}/{self.name}" if modes.scope else self.name)

    def __enter__(self) -> str:
        return super().__enter__().scope
