"""Variable-length batches: pad sequences into one tensor, run a layer with ``lengths``, unpad.

The recurrent layers take a right-padded batch and the true ``lengths``: past each sequence's end
the state is carried unchanged and the output is zero, so outputs and final states equal running
every sequence alone, in both directions (the reverse direction starts at each sequence's own last
step). The recipe:

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

PyTorch code that packs its batches runs unchanged: :func:`pack_padded_sequence`,
:func:`pack_sequence` and :func:`pad_packed_sequence` build and open a :class:`PackedSequence`
laid out as PyTorch's, and the layers accept one (they unpack it, run with ``lengths``, and pack
their output the same way):

    >>> from tinygrad_rnn.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    >>> packed = pack_padded_sequence(padded, lengths, enforce_sorted=False)
    >>> packed.batch_sizes.tolist(), packed.sorted_indices.tolist()   # running: 3 at steps 0-1, then 2, 2, 1
    ([3, 3, 2, 2, 1], [0, 2, 1])
    >>> packed_output, h_n = gru(packed)
    >>> out, out_lengths = pad_packed_sequence(packed_output)
    >>> (out - output).abs().max().item(), out_lengths.tolist()       # the same numbers as with lengths=
    (0.0, [5, 2, 4])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ...creation import full
from ...ops import cat
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


# --- PyTorch's packed layout --------------------------------------------------------------------
class PackedSequence(NamedTuple):
    """Sequences of different lengths packed step by step, laid out as PyTorch's ``PackedSequence``.

    * ``data`` (sum of the lengths, *): step 0 of every sequence, then step 1 of those still
      running, and so on; within a step the sequences come longest first;
    * ``batch_sizes`` (int64, one per step): how many sequences are still running at that step;
    * ``sorted_indices``: the original batch index of the longest, second longest, ... sequence;
      ``unsorted_indices`` its inverse; both None when the batch came sorted.

    Make one with :func:`pack_padded_sequence` or :func:`pack_sequence`, open it with
    :func:`pad_packed_sequence`; ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` take and return one.
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def pack_padded_sequence(
    input: Tensor,  # noqa: A002 - PyTorch's name
    lengths: Sequence[int] | Any,
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a right-padded batch (T, B, *) (``batch_first``: (B, T, *)) of sequences of ``lengths``.

    With ``enforce_sorted`` the lengths must already be in decreasing order (as PyTorch asks);
    otherwise the batch is ordered longest first here (a stable sort) and the order is kept in
    ``sorted_indices``. Differentiable: ``data`` is one integer-array pick of ``input``'s rows.

    Example:
        >>> x = Tensor([[1.0, 4.0], [2.0, 0.0], [3.0, 0.0]])      # (T=3, B=2): lengths 3 and 1
        >>> packed = pack_padded_sequence(x, [3, 1])
        >>> packed.data.tolist(), packed.batch_sizes.tolist()
        ([1.0, 4.0, 2.0, 3.0], [2, 1, 1])
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        got = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"pack_padded_sequence: input must be a padded Tensor (T, B, *) or (B, T, *), got {got}")
    x = _swap_batch_and_time(input) if batch_first else input
    steps, batch = x.shape[:2]
    lengths = checked_lengths("pack_padded_sequence", lengths, batch, steps)
    if enforce_sorted and (np.diff(lengths) > 0).any():
        raise ValueError(
            f"pack_padded_sequence: lengths {lengths.tolist()} are not in decreasing order; sort the batch "
            "longest first, or pass enforce_sorted=False to have it sorted here"
        )
    order = np.arange(batch) if enforce_sorted else np.argsort(-lengths, kind="stable")
    return _pack(x, lengths, order, sorted_batch=enforce_sorted)


def pack_sequence(sequences: Sequence[Tensor | Any], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *) directly: ``pack_padded_sequence(pad_sequence(...), lengths)``.

    Example:
        >>> pack_sequence([Tensor([1.0, 2.0]), Tensor([3.0])]).data.tolist()
        [1.0, 3.0, 2.0]
    """
    padded = pad_sequence(sequences)  # checks the sequences' shapes
    return pack_padded_sequence(padded, [len(s) for s in sequences], enforce_sorted=enforce_sorted)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Open a :class:`PackedSequence`: the padded batch (T, B, *) in the original batch order, and
    the lengths (int64). ``total_length`` pads to that many steps (at least the longest sequence).

    Example:
        >>> padded, lengths = pad_packed_sequence(pack_sequence([Tensor([1.0, 2.0]), Tensor([3.0])]))
        >>> padded.tolist(), lengths.tolist()
        ([[1.0, 3.0], [2.0, 0.0]], [2, 1])
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    data, batch_sizes = sequence.data, sequence.batch_sizes.numpy()
    steps, batch = len(batch_sizes), int(batch_sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                f"pad_packed_sequence: total_length={total_length} is shorter than the longest sequence ({steps} steps)"
            )
        steps = total_length
    order = _batch_order(sequence, batch)
    sorted_lengths = _counts_above(batch_sizes, batch)  # the k-th longest runs while batch_sizes[t] > k
    # row[t, k]: where step t of the k-th longest sequence sits in data; past its end, one padding
    # row appended after data. One integer-array pick builds the whole padded batch.
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    padding_row = int(batch_sizes.sum())
    row = np.full((steps, batch), padding_row)
    for t, (start, size) in enumerate(zip(starts, batch_sizes)):
        row[t, :size] = start + np.arange(size)
    row_of_original = np.empty_like(row)
    row_of_original[:, order] = row  # column b: the original b-th sequence
    padding = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = cat([data, padding])[row_of_original]
    if batch_first:
        padded = _swap_batch_and_time(padded)
    lengths = np.empty(batch, dtype=np.int64)
    lengths[order] = sorted_lengths
    return padded, Tensor(lengths)


def checked_lengths(name: str, lengths: Any, batch: int, steps: int, shortest: int = 1) -> np.ndarray:
    """``lengths`` (a list, array or Tensor) as an int64 array, one per sequence, each in
    ``shortest``..``steps``, else a clear error. Packing needs ``shortest=1`` (PyTorch packs no
    empty sequence); the layers' ``lengths=`` allow 0 (the sequence keeps its initial state)."""
    array = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)
    if array.shape != (batch,) or array.dtype.kind not in "iu" or (array < shortest).any() or (array > steps).any():
        raise ValueError(
            f"{name}: lengths must hold one int per sequence, each in {shortest}..T={steps}, for a batch of "
            f"{batch}; got {lengths!r}"
        )
    return array.astype(np.int64)


def _pack(x: Tensor, lengths: np.ndarray, order: np.ndarray, sorted_batch: bool) -> PackedSequence:
    """Pack the time-major padded ``x`` (T, B, *), taking the sequences in ``order`` at every step."""
    steps, batch = x.shape[:2]
    batch_sizes = _counts_above(lengths, int(lengths.max()))  # step t: the sequences longer than t
    ordered_lengths = lengths[order]
    rows = [t * batch + order[ordered_lengths > t] for t in range(len(batch_sizes))]  # row of (t, b) in x
    data = x.reshape(steps * batch, *x.shape[2:])[np.concatenate(rows)]
    if sorted_batch:
        return PackedSequence(data, Tensor(batch_sizes.astype(np.int64)))
    return PackedSequence(
        data, Tensor(batch_sizes.astype(np.int64)), Tensor(order.astype(np.int64)), Tensor(np.argsort(order))
    )


def repack_like(padded: Tensor, lengths: Tensor, like: PackedSequence, batch_first: bool = False) -> PackedSequence:
    """Pack ``padded`` (T, B, *) the way ``like`` is packed (its sequence order and lengths): what
    a layer given a PackedSequence returns its output as."""
    x = _swap_batch_and_time(padded) if batch_first else padded
    order = _batch_order(like, x.shape[1])
    return _pack(x, lengths.numpy(), order, sorted_batch=like.sorted_indices is None)


def _swap_batch_and_time(x: Tensor) -> Tensor:
    """(T, B, *) <-> (B, T, *)."""
    return x.permute(1, 0, *range(2, x.ndim))


def _batch_order(packed: PackedSequence, batch: int) -> np.ndarray:
    """The original index of the longest, second longest, ... sequence of ``packed``."""
    return np.arange(batch) if packed.sorted_indices is None else packed.sorted_indices.numpy()


def _counts_above(values: np.ndarray, n: int) -> np.ndarray:
    """For k = 0 .. n-1, how many of ``values`` exceed k: the batch sizes of lengths, and back."""
    return (values[None, :] > np.arange(n)[:, None]).sum(axis=1)
