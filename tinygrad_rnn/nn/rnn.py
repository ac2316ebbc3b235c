"""Sequence layers: RNN, LSTM and GRU over whole sequences, stacked and optionally bidirectional.

A layer is literally the loop PyTorch's documentation describes, written with tensor ops, so
backpropagation through time is the engine's generic backward over the unrolled graph. The three
kinds share **one** loop (:func:`unroll`) and differ only by their step function and gate count
(a :class:`~tinygrad_rnn.nn.cells.Recurrence`, the same one the cells use).

Shapes (T = time steps, B = batch, I = input_size, H = hidden_size, L = num_layers,
D = 2 if bidirectional else 1):

* input: (T, B, I), or (B, T, I) with ``batch_first=True``, or unbatched (T, I);
* ``hx``: (L*D, B, H) (unbatched: (L*D, H)); for the LSTM a tuple ``(h_0, c_0)`` of those;
  zeros when omitted;
* output: (T, B, D*H) (batch_first: (B, T, D*H); unbatched: (T, D*H)): the last layer's h_t,
  forward and reverse directions concatenated on the last axis;
* ``h_n`` (and ``c_n``): (L*D, B, H), index ``layer * D + direction``; never batch-first.

Parameters, named as PyTorch names them, per layer k and direction (suffix ``_reverse``):
``weight_ih_l{k}`` (G*H, I for k=0 else D*H), ``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}``,
``bias_hh_l{k}`` (G*H,), with G = 1 (RNN), 4 (LSTM, gates i,f,g,o), 3 (GRU, gates r,z,n); all
initialised from U(-1/sqrt(H), 1/sqrt(H)).

An LSTM with ``proj_size`` P > 0 (PyTorch's LSTMP) projects each step's output, h_t = (o_t * tanh(c_t))
W_hr^T, by ``weight_hr_l{k}`` (P, H): h_t, ``h_0``/``h_n`` and the output have P features instead of H
(c keeps H), and ``weight_hh_l{k}`` is (4H, P).

How a layer runs, per layer and direction:

1. the input projections of all T steps in **one** op: ``gi = linear(x, W_ih, b_ih + b_hh)``
   (T, B, G*H) (the GRU keeps ``b_hh`` for its steps: see :func:`~tinygrad_rnn.nn.cells.input_projection`);
2. the loop over time: ``state = step(gi[t], state, W_hh)``; inside, all gates of a step come
   from one ``linear`` op of h, ``linear(h, W_hh, gi[t])`` = h W_hh^T + gi_t (W_hh is used
   directly in each step, so in a graph the shared weight fans out to every step, and
   ``tinygrad_rnn.bptt`` can read its per-step gradient terms);
3. the outputs h_t joined by one ``cat`` at the end.

With ``fused=True`` steps 2 and 3 are one op instead, whose backward is written by hand
(:mod:`tinygrad_rnn.nn.fused`): same numbers, no per-step nodes.

Between layers, ``dropout`` (training mode only) is applied to each layer's output but the last.

**Variable-length batches**: pass ``lengths`` (one int per sequence, 0 <= length <= T) with a
right-padded batch (see :func:`tinygrad_rnn.nn.utils.rnn.pad_sequence`). At a step past a
sequence's end the state is carried unchanged (``where(t < length, new, old)``) and the output is
zero, so each sequence's outputs and final state equal running it alone; the reverse direction
starts from ``h_0`` at the sequence's own last step, exactly as PyTorch's packed sequences do.
A :class:`~tinygrad_rnn.nn.utils.rnn.PackedSequence` input runs this way too, and the output then
comes packed the same way (PyTorch's interface).

**Scopes** (the graph renderer, :mod:`tinygrad_rnn.viz`, relies on this convention): every node a
layer records is tagged ``{kind}/l{layer}/{direction}/t={t}`` where ``kind`` is the class name
lower-cased (``rnn``, ``lstm``, ``gru``), ``direction`` is ``fwd`` or ``bwd`` and ``t`` is the
position in the sequence (the ``bwd`` direction visits ``t=T-1`` first). What belongs to a
direction but to no single step (the input projection over all steps, picking the initial state,
joining the outputs) is in ``{kind}/l{layer}/{direction}``; joining the two directions and the
dropout after a layer in ``{kind}/l{layer}``; layout changes and stacking ``h_n`` in ``{kind}``.
Scopes opened by the caller come first, e.g. ``encoder/lstm/l0/fwd/t=3``.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn import nn
    >>> tg.manual_seed(0)
    >>> lstm = nn.LSTM(input_size=3, hidden_size=5, num_layers=2, bidirectional=True)
    >>> output, (h_n, c_n) = lstm(tg.randn(7, 2, 3))      # (T, B, I)
    >>> output.shape, h_n.shape, c_n.shape
    ((7, 2, 10), (4, 2, 5), (4, 2, 5))
    >>> output.scope, output.inputs[1].scope             # joining the directions, the bwd outputs
    ('lstm/l1', 'lstm/l1/bwd')
    >>> h_n.inputs[0].inputs[0].scope                    # the last state of layer 0, fwd: a step's node
    'lstm/l0/fwd/t=6'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import arguments
from ..anomaly import time_axis
from ..autograd import arrays_fixed
from ..creation import zeros
from ..ops import cat, linear, stack, where
from ..scope import scope
from ..tensor import Tensor
from .cells import (
    RECURRENCES,
    Recurrence,
    State,
    check_input,
    check_state,
    input_projection,
    split_state,
    uniform_parameter,
)
from .functional import dropout
from .fused import fused_unroll
from .module import Module
from .utils.rnn import PackedSequence, checked_lengths, pad_packed_sequence, repack_like


def unroll(
    recurrence: Recurrence,
    projections: Tensor,
    state: State,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    reverse: bool = False,
    valid: Any = None,
    weight_hr: Tensor | None = None,
) -> tuple[Tensor, State]:
    """Run ``recurrence``'s step over time: the one loop behind every sequence layer.

    Args:
        projections: (T, B, G*H), the input projections of all steps (``x_t W_ih^T + b_ih + b_hh``,
            for the GRU ``x_t W_ih^T + b_ih``: see :func:`~tinygrad_rnn.nn.cells.input_projection`).
        bias_hh: the bias the step adds itself (the GRU's), else None.
        state: the initial state, a tuple of (B, H) tensors (``(h,)`` or ``(h, c)``).
        reverse: run from t = T-1 down to 0 (the ``bwd`` direction of a bidirectional layer).
        valid: None, or a (T, B, 1) bool array: ``valid[t, b]`` is ``t < length_b``. Where it is
            False the state is carried unchanged and the output is zero.
        weight_hr: an LSTM's output projection (P, H), or None: each step's h' becomes h' W_hr^T.

    Returns:
        the outputs h_1 ... h_T as one (T, B, H) tensor, in time order, and the final state.

    Each step is recorded in the scope ``t={t}`` (inside whatever scope the caller opened).
    """
    steps = range(projections.shape[0])
    outputs: list[Tensor] = [None] * len(steps)  # type: ignore[list-item]
    with arrays_fixed():  # the weights do not change during the loop: W_hh^T is laid out once
        for t in reversed(steps) if reverse else steps:
            with scope(f"t={t}"):
                new = recurrence.step(projections[t], state, weight_hh, bias_hh)
                if weight_hr is not None:  # LSTMP: h' = (o * tanh(c')) W_hr^T
                    new = (linear(new[0], weight_hr), *new[1:])
                if valid is None:
                    outputs[t] = new[0]
                else:  # past a sequence's end: keep the old state, output zero
                    keep = valid[t, ...]  # (B, 1)
                    outputs[t] = where(keep, new[0], 0.0)
                    new = tuple(where(keep, n, old) for n, old in zip(new, state))
                state = new
    return cat(outputs).reshape(len(outputs), *outputs[0].shape), state  # one op joins the T steps


def valid_steps(name: str, lengths: Any, steps: int, batch: int, like: Tensor) -> Any:
    """The (T, B, 1) bool array ``t < lengths[b]`` on ``like``'s device, checking ``lengths``."""
    array = checked_lengths(name, lengths, batch, steps, shortest=0)
    valid = np.arange(steps)[:, None, None] < array[None, :, None]
    return Tensor(valid, device=like.device).data


class RNNBase(Module):
    """The sequence layer of any :class:`~tinygrad_rnn.nn.cells.Recurrence` (see the module docstring).

    ``forward(input, hx=None, lengths=None)`` returns ``(output, h_n)``, or
    ``(output, (h_n, c_n))`` for the LSTM.
    """

    #: The key in ``RECURRENCES`` of the layer's kind (LSTM and GRU set it; RNN passes ``recurrence``).
    kind: str = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: str | None = None,
        dtype: Any = None,
        *,
        fused: bool = False,
        recurrence: Recurrence | None = None,
    ):
        super().__init__()
        recurrence = recurrence or RECURRENCES[self.kind]
        name = type(self).__name__
        input_size = arguments.size(name, "input_size", input_size, minimum=1)
        hidden_size = arguments.size(name, "hidden_size", hidden_size, minimum=1)
        num_layers = arguments.size(name, "num_layers", num_layers, minimum=1)
        proj_size = arguments.size(name, "proj_size", proj_size)
        arguments.probability(name, "dropout", dropout, below_one=True)
        if not 0 <= proj_size < hidden_size:
            raise ValueError(f"{name}: proj_size must be in [0, hidden_size={hidden_size}), got {proj_size}")
        if proj_size and recurrence.name != "lstm":
            raise ValueError(f"{name}: proj_size is for the LSTM only (as in PyTorch), got proj_size={proj_size}")
        self.recurrence = recurrence
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        self.fused = fused  # opt-in: one hand-differentiated op per layer and direction (nn.fused)
        self.proj_size = proj_size
        self.output_size = proj_size or hidden_size  # the features of h (P with a projection, else H)
        directions = 2 if bidirectional else 1
        rows, bound = recurrence.gates * hidden_size, 1.0 / math.sqrt(hidden_size)  # float, not np.float64
        for layer in range(num_layers):
            features = input_size if layer == 0 else directions * self.output_size
            for direction in range(directions):
                suffix = self._suffix(layer, direction)
                setattr(self, f"weight_ih{suffix}", uniform_parameter((rows, features), bound, dtype, device))
                setattr(self, f"weight_hh{suffix}", uniform_parameter((rows, self.output_size), bound, dtype, device))
                if bias:
                    setattr(self, f"bias_ih{suffix}", uniform_parameter((rows,), bound, dtype, device))
                    setattr(self, f"bias_hh{suffix}", uniform_parameter((rows,), bound, dtype, device))
                if proj_size:
                    setattr(
                        self, f"weight_hr{suffix}", uniform_parameter((proj_size, hidden_size), bound, dtype, device)
                    )

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]:
        """``(weight_ih, weight_hh, bias_ih, bias_hh, weight_hr)`` of one layer and direction (the biases
        may be None; so is ``weight_hr`` unless an LSTM has a ``proj_size``)."""
        suffix = self._suffix(layer, direction)
        kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        return tuple(getattr(self, f"{kind}{suffix}", None) for kind in kinds)

    def forward(
        self,
        input: Tensor | PackedSequence,  # noqa: A002 - PyTorch's name
        hx: Tensor | tuple[Tensor, Tensor] | None = None,
        lengths: Sequence[int] | Any = None,
    ) -> tuple[Tensor | PackedSequence, Any]:
        """Run the layer; see the module docstring for shapes, ``lengths`` and scopes.

        ``input`` may be a :class:`~tinygrad_rnn.nn.utils.rnn.PackedSequence`, as in PyTorch: it
        runs as its padded batch with its ``lengths``, and the output comes packed the same way.
        """
        name = type(self).__name__
        if self.fused and self.proj_size:
            raise NotImplementedError(
                f"{name}: fused=True does not support proj_size yet; use the default path (layer.fused = False)"
            )
        with scope(name.lower()):  # every node the layer records, packing included, is under its name
            if not isinstance(input, PackedSequence):
                return self._run(name, input, hx, lengths)
            if lengths is not None:
                raise ValueError(f"{name}: a PackedSequence carries its own lengths; do not pass lengths= as well")
            padded, lengths = pad_packed_sequence(input, batch_first=self.batch_first)
            output, state = self._run(name, padded, hx, lengths)
            return repack_like(output, lengths, input, self.batch_first), state

    def _run(self, name: str, input: Tensor, hx: Any, lengths: Any) -> tuple[Tensor, Any]:  # noqa: A002
        """The layer on a padded batch (T, B, I) (or batch first, or unbatched), inside its scope."""
        check_input(name, input, self.input_size, self.weight_ih_l0, (2, 3))
        batched = input.ndim == 3
        directions = 2 if self.bidirectional else 1
        if not batched:
            x = input.unsqueeze(1)
        elif self.batch_first:
            x = input.permute(1, 0, 2)
        else:
            x = input
        steps, batch = x.shape[:2]
        if steps == 0:  # as PyTorch: there is no last state to return
            raise ValueError(
                f"{name}: the input of shape {input.shape} has a sequence length T = 0; a recurrent layer needs "
                "at least one time step (the time axis is "
                + ("1, batch_first=True)" if batched and self.batch_first else "0)")
            )
        initial = self._initial_state(name, hx, input, batched, batch)
        if lengths is not None and not batched:
            raise ValueError(f"{name}: lengths needs a batched input, got the unbatched shape {input.shape}")
        valid = None if lengths is None else valid_steps(name, lengths, steps, batch, x)
        final: list[State] = []
        for layer in range(self.num_layers):
            with scope(f"l{layer}"):
                outputs = []
                for direction in range(directions):
                    weight_ih, weight_hh, bias_ih, bias_hh, weight_hr = self.weights(layer, direction)
                    with scope("bwd" if direction else "fwd"):
                        # (T, B, G*H): all steps at once; the bias the steps still add (GRU)
                        with time_axis(0, steps):  # detect_anomaly names the step of a bad projection
                            projections, bias_hh = input_projection(self.recurrence, x, weight_ih, bias_ih, bias_hh)
                        if initial is None:
                            state = tuple(
                                zeros(batch, size, dtype=x.dtype, device=x.device) for size in self._state_sizes()
                            )
                        else:
                            state = tuple(s[layer * directions + direction] for s in initial)
                        run = fused_unroll if self.fused else unroll  # the same arguments and results
                        hs, state = run(
                            self.recurrence, projections, state, weight_hh, bias_hh, bool(direction), valid, weight_hr
                        )
                        outputs.append(hs)
                    final.append(state)
                x = outputs[0] if directions == 1 else cat(outputs, axis=2)
                if self.dropout and self.training and layer < self.num_layers - 1:
                    x = dropout(x, self.dropout, training=True)
        if not batched:
            x = x.squeeze(1)
        elif self.batch_first:
            x = x.permute(1, 0, 2)
        states = tuple(stack([s[i] for s in final]) for i in range(self.recurrence.states))
        if not batched:
            states = tuple(s.squeeze(1) for s in states)
        return x, (states[0] if self.recurrence.states == 1 else states)

    def _initial_state(self, name: str, hx: Any, input: Tensor, batched: bool, batch: int) -> State | None:  # noqa: A002
        """The given initial state as (L*D, B, H) tensors, checked (None: start from zeros)."""
        if hx is None:
            return None
        rows = self.num_layers * (2 if self.bidirectional else 1)
        state = tuple(
            check_state(name, s, (rows, batch, size) if batched else (rows, size), input, what)
            for s, what, size in zip(split_state(name, self.recurrence, hx), ("h_0", "c_0"), self._state_sizes())
        )
        return state if batched else tuple(s.unsqueeze(1) for s in state)

    def _state_sizes(self) -> tuple[int, ...]:
        """The features of each state tensor: (h,) or (h, c); h has proj_size of them when projected."""
        return (self.output_size, self.hidden_size)[: self.recurrence.states]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.recurrence.name == "rnn_relu":
            text += ", nonlinearity='relu'"
        options = (
            ("bias", True),
            ("batch_first", False),
            ("dropout", 0.0),
            ("bidirectional", False),
            ("proj_size", 0),
            ("fused", False),
        )
        for option, default in options:
            if getattr(self, option) != default:
                text += f", {option}={getattr(self, option)}"
        return text


class RNN(RNNBase):
    """Elman RNN over sequences:  h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)  (or relu).

    Args: ``input_size``, ``hidden_size``, ``num_layers=1``, ``nonlinearity="tanh"|"relu"``,
    ``bias=True``, ``batch_first=False``, ``dropout=0.0``, ``bidirectional=False``, ``device``,
    ``dtype``, and keyword-only ``fused=False`` (the opt-in one-op-per-layer path of
    :mod:`tinygrad_rnn.nn.fused`). ``forward(input, hx=None, lengths=None)`` returns
    ``(output, h_n)``; shapes, parameter names, ``lengths`` and scopes are in the module docstring.

    Example:
        >>> import tinygrad_rnn as tg
        >>> rnn = RNN(3, 4, batch_first=True)
        >>> output, h_n = rnn(tg.randn(2, 6, 3))
        >>> output.shape, h_n.shape
        ((2, 6, 4), (1, 2, 4))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: str | None = None,
        dtype: Any = None,
        *,
        fused: bool = False,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
            fused=fused,
            recurrence=RECURRENCES[f"rnn_{nonlinearity}"],
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM over sequences (gates i, f, g, o; see :class:`~tinygrad_rnn.nn.cells.LSTMCell`).

    Args as :class:`RNN` without ``nonlinearity``, plus ``proj_size=0`` (PyTorch's order: after
    ``bidirectional``): with P > 0 each step's output is projected to P features by
    ``weight_hr_l{k}`` (P, H) (the composite path only). ``forward(input, (h_0, c_0)=None,
    lengths=None)`` returns ``(output, (h_n, c_n))``.

    Example:
        >>> import tinygrad_rnn as tg
        >>> output, (h_n, c_n) = LSTM(3, 4)(tg.randn(5, 3))   # unbatched (T, I)
        >>> output.shape, h_n.shape
        ((5, 4), (1, 4))
        >>> output, (h_n, c_n) = LSTM(3, 4, proj_size=2)(tg.randn(5, 3))
        >>> output.shape, h_n.shape, c_n.shape
        ((5, 2), (1, 2), (1, 4))
    """

    kind = "lstm"


class GRU(RNNBase):
    """GRU over sequences (gates r, z, n; see :class:`~tinygrad_rnn.nn.cells.GRUCell`).

    Args as :class:`RNN` without ``nonlinearity`` (PyTorch's order, in which ``proj_size``, for
    the LSTM only, follows ``bidirectional``). ``forward(input, hx=None, lengths=None)`` returns
    ``(output, h_n)``.

    Example:
        >>> import tinygrad_rnn as tg
        >>> output, h_n = GRU(3, 4, num_layers=2)(tg.randn(5, 2, 3))
        >>> output.shape, h_n.shape
        ((5, 2, 4), (2, 2, 4))
    """

    kind = "gru"
