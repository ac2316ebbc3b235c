"""Variable-length batches: pad sequences into one tensor, run a layer with ``lengths``, unpad.

The recurrent layers take a right-padded batch and the true ``lengths`` (instead of PyTorch's
``PackedSequence``): past each sequence's end the state is carried unchanged and the output is
zero, so outputs and final states equal running every sequence alone, in both directions (the
reverse direction starts at each sequence's own last step). The recipe:

    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn import nn
    >>> from tinygrad_rnn.nn.utils.rnn import pad_sequence, unpad_sequence
    >>> tg.manual_seed(0)
    >>> sequences = [tg.randn(5, 3), tg.randn(2, 3), tg.randn(4, 3)]   # (L_i, I) each
    >>> lengths = [len(s) for s in sequences]
    >>> padded = pad_sequence(sequences)                              # (T=5, B=3, I)
    >>> gru = nn.GRU(3, 4, bidirectional=True)
    >>> output, h_n = gru(padded, lengths=lengths)                    # output is 0 past each end
    >>> output.shape, h_n.shape
    ((5, 3, 8), (2, 3, 4))
    >>> [o.shape for o in unpad_sequence(output, lengths)]
    [(5, 8), (2, 8), (4, 8)]

For a loss over the steps of such a batch, give the padded targets ``ignore_index`` (e.g. -100)
so padded steps count for nothing: ``F.cross_entropy(logits, targets, ignore_index=-100)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...functions import cat
from ...tensor import Tensor


def pad_sequence(sequences: Sequence[Tensor | Any], batch_first: bool = False, padding_value: float = 0.0) -> Tensor:
    """Stack sequences of shapes (L_i, *) into one (T, B, *) tensor (T = max L_i), padding at the end.

    Differentiable (each sequence's gradient is its slice of the padded tensor's gradient).
    Arrays and lists are accepted as well as Tensors.

    Args:
        sequences: B tensors with equal trailing shapes.
        batch_first: return (B, T, *) instead.
        padding_value: the value of the padded positions.

    Example:
        >>> pad_sequence([Tensor([1.0, 2.0, 3.0]), Tensor([4.0])], batch_first=True).tolist()
        [[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]]
    """
    sequences = [s if isinstance(s, Tensor) else Tensor(s) for s in sequences]
    if not sequences:
        raise ValueError("pad_sequence: got no sequences")
    trailing = {s.shape[1:] for s in sequences}
    if any(s.ndim == 0 for s in sequences) or len(trailing) > 1:
        raise ValueError(
            f"pad_sequence: every sequence must be (L_i, *) with the same trailing shape, got "
            f"{[s.shape for s in sequences]}"
        )
    steps = max(s.shape[0] for s in sequences)
    padded = [s.pad(((0, steps - s.shape[0]),), value=padding_value) for s in sequences]
    axis = 0 if batch_first else 1
    return cat([p.unsqueeze(axis) for p in padded], axis=axis)


def unpad_sequence(padded: Tensor, lengths: Sequence[int] | Any, batch_first: bool = False) -> list[Tensor]:
    """The inverse of :func:`pad_sequence`: the B sequences (L_i, *) of a padded (T, B, *) tensor.

    Example:
        >>> padded = pad_sequence([Tensor([1.0, 2.0]), Tensor([3.0])])
        >>> [s.tolist() for s in unpad_sequence(padded, [2, 1])]
        [[1.0, 2.0], [3.0]]
    """
    lengths = lengths.tolist() if hasattr(lengths, "tolist") else list(lengths)
    batch = padded.shape[0 if batch_first else 1]
    if len(lengths) != batch:
        raise ValueError(f"unpad_sequence: {len(lengths)} lengths for a batch of {batch} (shape {padded.shape})")
    if batch_first:
        return [padded[b, :length] for b, length in enumerate(lengths)]
    return [padded[:length, b] for b, length in enumerate(lengths)]
