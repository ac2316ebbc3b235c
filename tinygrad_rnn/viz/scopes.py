"""Reading scope paths: which layer, direction and time step a recorded node belongs to.

Recurrent layers tag every node with a path such as ``lstm/l0/fwd/t=3``: the layer kind
(``rnn``, ``lstm``, ``gru``), the layer (``l0``), the direction (``fwd`` or ``bwd``) and the time
step (``t=3``). Nodes computed once for all steps (the input projection) sit in ``lstm/l0/fwd``.
The renderer needs only a few facts from such a path, all read here.

Example:
    >>> step_of("lstm/l0/fwd/t=3")
    3
    >>> sequence_of("lstm/l0/fwd/t=3")
    'lstm/l0/fwd'
    >>> cell_kind("encoder/gru/l1/bwd/t=0")
    'gru'
    >>> pretty("l1"), pretty("bwd"), pretty("t=12")
    ('layer 1', 'backward', 't = 12')
"""

from __future__ import annotations

import functools
import re

_STEP = re.compile(r"t=(-?\d+)$")
_LAYER = re.compile(r"l(\d+)$")
CELL_KINDS = ("rnn", "lstm", "gru")
_DIRECTIONS = {"fwd": "forward", "bwd": "backward", "rev": "backward"}


@functools.lru_cache(maxsize=4096)  # called for every node; scopes repeat
def parts(path: str) -> tuple[str, ...]:
    """The components of a scope path (``()`` for the top level)."""
    return tuple(path.split("/")) if path else ()


@functools.lru_cache(maxsize=4096)  # called for every node; scopes repeat
def step_of(path: str) -> int | None:
    """The time step ``k`` of the innermost ``t=k`` component, or None outside any step."""
    for part in reversed(parts(path)):
        match = _STEP.match(part)
        if match:
            return int(match.group(1))
    return None


@functools.lru_cache(maxsize=4096)  # called for every node; scopes repeat
def step_scope(path: str) -> str | None:
    """The path up to and including its innermost ``t=k`` component (None outside any step)."""
    components = parts(path)
    for i in range(len(components) - 1, -1, -1):
        if _STEP.match(components[i]):
            return "/".join(components[: i + 1])
    return None


@functools.lru_cache(maxsize=4096)  # called for every node; scopes repeat
def sequence_of(path: str) -> str | None:
    """The path that holds the time steps (``lstm/l0/fwd`` for ``lstm/l0/fwd/t=3``)."""
    step = step_scope(path)
    return None if step is None else step.rpartition("/")[0]


@functools.lru_cache(maxsize=4096)  # called for every node; scopes repeat
def cell_kind(path: str) -> str | None:
    """The recurrent cell kind named in the path (innermost wins), or None."""
    for part in reversed(parts(path)):
        if part.lower() in CELL_KINDS:
            return part.lower()
    return None


@functools.lru_cache(maxsize=4096)  # called for every node; scopes repeat
def direction_of(path: str) -> str | None:
    """``"forward"`` or ``"backward"`` when the path names a direction."""
    for part in reversed(parts(path)):
        if part in _DIRECTIONS:
            return _DIRECTIONS[part]
    return None


def pretty(part: str) -> str:
    """A scope component as a reader would say it: ``l0`` -> ``layer 0``, ``t=3`` -> ``t = 3``."""
    if part.lower() in CELL_KINDS:
        return part.upper()
    if part in _DIRECTIONS:
        return _DIRECTIONS[part]
    match = _LAYER.match(part)
    if match:
        return f"layer {match.group(1)}"
    match = _STEP.match(part)
    if match:
        return f"t = {match.group(1)}"
    return part
