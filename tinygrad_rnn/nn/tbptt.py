"""Truncated backpropagation through time: carry the hidden state across chunks, cut from the graph.

A long stream is cut into chunks of K steps. Each chunk starts from the state the previous chunk
ended with, so the *values* flow across the whole stream; but the state is detached first, so
backward stops at the chunk's start: memory and time per update are bounded by K, and gradients
see at most K steps back. That is the whole trick:

    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn import nn
    >>> tg.manual_seed(0)
    >>> lstm = nn.LSTM(4, 8)
    >>> stream = tg.randn(100, 1, 4)                  # one long sequence, (T, B, I)
    >>> state = None                                  # zeros at the very start
    >>> for chunk in stream.split(25):                # 4 chunks of 25 steps
    ...     output, state = lstm(chunk, state)        # start where the last chunk ended
    ...     loss = (output * output).mean()
    ...     lstm.zero_grad()
    ...     loss.backward()                           # through these 25 steps only
    ...     # ... optimizer.step() here ...
    ...     state = detach_state(state)               # keep the values, cut the graph
    >>> h, c = state
    >>> h.is_leaf, h.shape
    (True, (1, 1, 8))

(A detached tensor remembers where it was cut, so the graph pictures of ``tinygrad_rnn.viz`` can
draw the cut.)
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor


def detach_state(state: Any) -> Any:
    """``state`` with every tensor detached: a Tensor, a tuple or list of them (nested), or None.

    Example:
        >>> import tinygrad_rnn as tg
        >>> h = tg.ones(2, requires_grad=True) * 2
        >>> h2, c2 = detach_state((h, h))
        >>> h2.requires_grad, h2.tolist()
        (False, [2.0, 2.0])
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected a Tensor, a tuple or list of Tensors, or None; got {type(state).__name__}")
