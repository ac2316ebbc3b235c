"""Recurrent cells: one time step of an Elman RNN, an LSTM and a GRU, written as plain tensor math.

Nothing here has a hand-written backward: every line is an ordinary engine op, so the gradient
of a step (and, unrolled, backpropagation through time) is what the engine's generic backward
gives. The layouts are PyTorch's, so its weights load and give the same numbers.

Shapes: B = batch, I = input features, H = hidden features, G = gate blocks of the kind
(1 for the RNN, 4 for the LSTM, 3 for the GRU).

* ``weight_ih`` (G*H, I) and ``weight_hh`` (G*H, H): the gate blocks stacked along the rows,
  in PyTorch's order: i, f, g, o for the LSTM and r, z, n for the GRU;
* ``bias_ih`` and ``bias_hh`` (G*H,): two biases, as in PyTorch (absent with ``bias=False``).

**One step function per kind, shared by everything.** A step takes the input projection of its
time step ``gi`` (B, G*H), the previous state (a tuple ``(h,)``, or ``(h, c)`` for the LSTM, each
(B, H)), and the recurrent weights; it returns the new state, whose first element is the step's
output h'. :func:`input_projection` computes ``gi``: the cells below for one step, the sequence
layers (:mod:`tinygrad_rnn.nn.rnn`) for all time steps in one op before their loop; both then call
the same step.

In the RNN and the LSTM both biases are added to the same pre-activation, so ``b_hh`` joins the
input projection, ``gi = x W_ih^T + (b_ih + b_hh)``, and a step's pre-activation of all gates is
``gi + h W_hh^T`` (one ``linear`` op for the recurrent term of all gates, then an explicit ``+``),
split into gate blocks by slicing (views, no copies). The GRU's ``b_hn`` is scaled by the reset
gate, so there ``gi = x W_ih^T + b_ih`` and the step adds ``b_hh`` itself. Every step is written
literally, one op per symbol of its equations (three sigmoids and a tanh in the LSTM).

Cells used alone add no scope of their own: wrap them in ``tinygrad_rnn.scope`` as you wish.

Example:
    >>> import tinygrad_rnn as tg
    >>> from tinygrad_rnn import nn
    >>> tg.manual_seed(0)
    >>> cell = nn.LSTMCell(3, 5)
    >>> [(name, p.shape) for name, p in cell.named_parameters()]
    [('weight_ih', (20, 3)), ('weight_hh', (20, 5)), ('bias_ih', (20,)), ('bias_hh', (20,))]
    >>> h, c = cell(tg.randn(2, 3))          # state defaults to zeros
    >>> h, c = cell(tg.randn(2, 3), (h, c))  # carry it to the next step
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import arguments
from .. import backend as _backend
from ..creation import zeros
from ..ops import linear
from ..tensor import Tensor
from . import init
from .module import Module, Parameter, zeros_parameter

State = tuple[Tensor, ...]


# --- the step functions: one time step of each kind ---------------------------------------------
# Written as the lecture writes them, one op per symbol: the picture of a step's graph then matches
# its equations op for op. (tinygrad_rnn.compile replays a step without the per-op cost of the
# engine, so nothing is gained by merging ops here; nn.fused has the hand-differentiated path.)
def recurrent_term(h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
    """h W_hh^T (+ b_hh): the part of a step's pre-activation that reads the state, all gates at once.

    The RNN and LSTM layers fold b_hh into gi (see :func:`input_projection`) and pass
    ``bias_hh=None``; a caller that passes it gets it added here, never dropped.
    """
    return linear(h, weight_hh, bias_hh)


def rnn_tanh_step(gi: Tensor, state: State, weight_hh: Tensor, bias_hh: Tensor | None = None) -> State:
    """Elman RNN step:  h' = tanh(gi + h W_hh^T),  gi = x W_ih^T + b_ih + b_hh."""
    (h,) = state
    return ((gi + recurrent_term(h, weight_hh, bias_hh)).tanh(),)


def rnn_relu_step(gi: Tensor, state: State, weight_hh: Tensor, bias_hh: Tensor | None = None) -> State:
    """Elman RNN step with ReLU:  h' = relu(gi + h W_hh^T),  gi = x W_ih^T + b_ih + b_hh."""
    (h,) = state
    return ((gi + recurrent_term(h, weight_hh, bias_hh)).relu(),)


def lstm_step(gi: Tensor, state: State, weight_hh: Tensor, bias_hh: Tensor | None = None) -> State:
    """LSTM step, gate blocks in PyTorch's order i, f, g, o (each (B, H)):

    [i | f | g | o] = gi + h W_hh^T,  gi = x W_ih^T + b_ih + b_hh     (B, 4H)
    i = sigmoid(i), f = sigmoid(f), g = tanh(g), o = sigmoid(o)
    c' = f * c + i * g
    h' = o * tanh(c')
    """
    h, c = state
    gates = gi + recurrent_term(h, weight_hh, bias_hh)  # (B, 4H): all four pre-activations
    size = c.shape[-1]  # H (an LSTM layer with proj_size feeds back a shorter h)
    i = gates[..., :size].sigmoid()  # input gate: how much of the candidate to write
    f = gates[..., size : 2 * size].sigmoid()  # forget gate: how much of the old cell to keep
    g = gates[..., 2 * size : 3 * size].tanh()  # candidate cell values
    o = gates[..., 3 * size :].sigmoid()  # output gate: how much of the new cell to show
    c_next = f * c + i * g
    return o * c_next.tanh(), c_next


def gru_step(gi: Tensor, state: State, weight_hh: Tensor, bias_hh: Tensor | None) -> State:
    """GRU step, gate blocks in PyTorch's order r, z, n (each (B, H)), gi = x W_ih^T + b_ih:

    r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)          reset gate
    z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)          update gate
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))       candidate (r scales the h part)
    h' = (1 - z) * n + z * h                                z = 1 keeps the old state
    """
    (h,) = state
    gh = recurrent_term(h, weight_hh, bias_hh)  # (B, 3H): all three recurrent terms in one op
    size = h.shape[-1]
    r = (gi[..., :size] + gh[..., :size]).sigmoid()
    z = (gi[..., size : 2 * size] + gh[..., size : 2 * size]).sigmoid()
    n = (gi[..., 2 * size :] + r * gh[..., 2 * size :]).tanh()
    return ((1 - z) * n + z * h,)


@dataclass(frozen=True)
class Recurrence:
    """What tells the kinds of recurrent cell apart: the step function and its sizes.

    ``gates`` is G (the weights have G*H rows), ``states`` is 1 for state ``(h,)`` and 2 for
    ``(h, c)``; ``equations`` is the step's maths as text (for documentation and graph pictures);
    ``folds_bias_hh``: b_hh is added where b_ih is, so it joins the input projection (the step
    then gets ``bias_hh=None``).
    """

    name: str
    gates: int
    states: int
    step: Callable[[Tensor, State, Tensor, Tensor | None], State]
    equations: str
    folds_bias_hh: bool = True


RECURRENCES: dict[str, Recurrence] = {
    "rnn_tanh": Recurrence("rnn_tanh", 1, 1, rnn_tanh_step, "h' = tanh(W_ih x + b_ih + W_hh h + b_hh)"),
    "rnn_relu": Recurrence("rnn_relu", 1, 1, rnn_relu_step, "h' = relu(W_ih x + b_ih + W_hh h + b_hh)"),
    "lstm": Recurrence(
        "lstm",
        4,
        2,
        lstm_step,
        "i,f,o = sigmoid(W_i* x + b_i* + W_h* h + b_h*)\ng = tanh(W_ig x + b_ig + W_hg h + b_hg)\n"
        "c' = f * c + i * g\nh' = o * tanh(c')",
    ),
    "gru": Recurrence(
        "gru",
        3,
        1,
        gru_step,
        "r,z = sigmoid(W_i* x + b_i* + W_h* h + b_h*)\nn = tanh(W_in x + b_in + r * (W_hn h + b_hn))\n"
        "h' = (1 - z) * n + z * h",
        folds_bias_hh=False,
    ),
}


def input_projection(
    recurrence: Recurrence, x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None, bias_hh: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    """``gi``, the part of a step's pre-activation that does not depend on the state, and the bias
    the step still adds itself.

    x (..., I) -> gi (..., G*H): for the RNN and LSTM ``gi = x W_ih^T + (b_ih + b_hh)`` and no
    bias is left for the step (one bias add over all steps instead of one per step, and b_hh's
    gradient is one sum); for the GRU ``gi = x W_ih^T + b_ih`` and the step adds ``b_hh``.
    """
    if recurrence.folds_bias_hh and bias_hh is not None:
        return linear(x, weight_ih, bias_hh if bias_ih is None else bias_ih + bias_hh), None
    return linear(x, weight_ih, bias_ih), bias_hh


def cell_step(
    recurrence: Recurrence,
    x: Tensor,
    state: State,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
) -> State:
    """One step of ``recurrence`` from the input ``x`` (B, I): the input projection, then the step.

    The functional form of a cell (what the cell modules call), handy for ``gradcheck``.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn import Tensor
        >>> w_ih, w_hh = Tensor(np.full((2, 1), 0.5)), Tensor(np.eye(2))
        >>> (h,) = cell_step(RECURRENCES["rnn_relu"], Tensor(np.ones((1, 1))), (Tensor(np.ones((1, 2))),), w_ih, w_hh)
        >>> h.tolist()
        [[1.5, 1.5]]
    """
    gi, bias_hh = input_projection(recurrence, x, weight_ih, bias_ih, bias_hh)
    return recurrence.step(gi, state, weight_hh, bias_hh)


# --- building blocks shared with the sequence layers -------------------------------------------
def uniform_parameter(shape: tuple[int, ...], bound: float, dtype: Any = None, device: str | None = None) -> Parameter:
    """A parameter drawn from U(-bound, bound) with the seeded generator (PyTorch's RNN init)."""
    return init.uniform_(zeros_parameter(shape, dtype, device), -bound, bound)


def check_input(layer: str, x: Tensor, features: int, weight: Tensor, allowed_ndims: tuple[int, ...]) -> None:
    """Clear errors for an input of the wrong rank, width, dtype or device."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: the input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in allowed_ndims or x.shape[-1] != features:
        ranks = " or ".join(f"{n}-D" for n in allowed_ndims)
        raise ValueError(
            f"{layer}: expected a {ranks} input whose last dimension is input_size={features}, got shape {x.shape}"
        )
    if x.device != weight.device:
        raise _backend.DeviceError(
            f"{layer}: the input is on {x.device!r} but the parameters are on {weight.device!r}; "
            f"move one with .to({weight.device!r}) (or module.to({x.device!r}))"
        )
    if _backend.dtype_name(x.dtype) != _backend.dtype_name(weight.dtype):
        raise TypeError(
            f"{layer}: the input is {_backend.dtype_name(x.dtype)} but the parameters are "
            f"{_backend.dtype_name(weight.dtype)}; convert the input with .float() / .double(), or build "
            f"the layer with dtype={_backend.dtype_name(x.dtype)!r}"
        )


def check_state(layer: str, state: Any, shape: tuple[int, ...], x: Tensor, what: str = "hx") -> Tensor:
    """``state`` if it is a tensor of ``shape`` matching ``x``'s dtype and device, else a clear error."""
    if not isinstance(state, Tensor) or state.shape != shape:
        got = state.shape if isinstance(state, Tensor) else type(state).__name__
        raise ValueError(
            f"{layer}: {what} must be a Tensor of shape {shape} for an input of shape {x.shape}, got {got}"
        )
    if state.device != x.device or _backend.dtype_name(state.dtype) != _backend.dtype_name(x.dtype):
        raise TypeError(
            f"{layer}: {what} is {_backend.dtype_name(state.dtype)} on {state.device!r}, the input is "
            f"{_backend.dtype_name(x.dtype)} on {x.device!r}; they must match"
        )
    return state


def split_state(layer: str, recurrence: Recurrence, hx: Any) -> tuple[Any, ...]:
    """The state as a tuple: ``hx`` for one-tensor states, ``(h, c)`` for the LSTM."""
    if recurrence.states == 1:
        return (hx,)
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"{layer}: the state must be a tuple (h, c), got {type(hx).__name__}")
    return tuple(hx)


# --- the cell modules ---------------------------------------------------------------------------
class RNNCellBase(Module):
    """A cell: the parameters of one step of ``recurrence`` and a forward over one time step.

    ``forward(input, hx=None)``: input (B, I) or unbatched (I,); state (B, H) or (H,) (a tuple
    ``(h, c)`` of those for the LSTM), zeros when omitted; returns the new state in the same form.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        recurrence: Recurrence,
        device: str | None = None,
        dtype: Any = None,
    ):
        super().__init__()
        name = type(self).__name__
        input_size = arguments.size(name, "input_size", input_size, minimum=1)
        hidden_size = arguments.size(name, "hidden_size", hidden_size, minimum=1)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.recurrence = recurrence
        rows, bound = recurrence.gates * hidden_size, 1.0 / math.sqrt(hidden_size)
        self.weight_ih = uniform_parameter((rows, input_size), bound, dtype, device)
        self.weight_hh = uniform_parameter((rows, hidden_size), bound, dtype, device)
        if bias:
            self.bias_ih = uniform_parameter((rows,), bound, dtype, device)
            self.bias_hh = uniform_parameter((rows,), bound, dtype, device)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def forward(self, input: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None = None) -> Any:  # noqa: A002
        name = type(self).__name__
        check_input(name, input, self.input_size, self.weight_ih, (1, 2))
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        shape = (x.shape[0], self.hidden_size)
        if hx is None:
            state = tuple(zeros(*shape, dtype=x.dtype, device=x.device) for _ in range(self.recurrence.states))
        else:
            wanted = shape if batched else shape[1:]
            state = tuple(
                check_state(name, s, wanted, input, what)
                for s, what in zip(split_state(name, self.recurrence, hx), ("h", "c"))
            )
            state = state if batched else tuple(s.unsqueeze(0) for s in state)
        new = cell_step(self.recurrence, x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        new = new if batched else tuple(s.squeeze(0) for s in new)
        return new[0] if self.recurrence.states == 1 else new

    def extra_repr(self) -> str:
        options = "" if self.bias else ", bias=False"
        if self.recurrence.name == "rnn_relu":
            options += ", nonlinearity='relu'"
        return f"{self.input_size}, {self.hidden_size}{options}"


class RNNCell(RNNCellBase):
    """Elman RNN cell:  h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)  (or relu).

    Args:
        input_size: I;  hidden_size: H;  bias: use ``bias_ih`` and ``bias_hh``;
        nonlinearity: ``"tanh"`` or ``"relu"``;  device, dtype: of the parameters (default cpu, float32).

    Parameters: ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,),
    initialised from U(-1/sqrt(H), 1/sqrt(H)). Input (B, I) or (I,); state and output (B, H) or (H,).

    Example:
        >>> import tinygrad_rnn as tg
        >>> cell = RNNCell(3, 4, nonlinearity="relu")
        >>> cell(tg.randn(3)).shape   # unbatched
        (4,)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: str | None = None,
        dtype: Any = None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, RECURRENCES[f"rnn_{nonlinearity}"], device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(RNNCellBase):
    """LSTM cell (gate order i, f, g, o, as PyTorch):

        [i | f | g | o] = x W_ih^T + b_ih + h W_hh^T + b_hh     (B, 4H)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h' = sigmoid(o) * tanh(c')

    Parameters: ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih`` and ``bias_hh`` (4H,).
    ``forward(input, (h, c))`` returns ``(h', c')``; input (B, I) or (I,), states (B, H) or (H,).

    Example:
        >>> import tinygrad_rnn as tg
        >>> h, c = LSTMCell(3, 4)(tg.randn(2, 3))
        >>> h.shape, c.shape
        ((2, 4), (2, 4))
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: str | None = None, dtype: Any = None
    ):
        super().__init__(input_size, hidden_size, bias, RECURRENCES["lstm"], device, dtype)


class GRUCell(RNNCellBase):
    """GRU cell (gate order r, z, n, as PyTorch):

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h' = (1 - z) * n + z * h

    Parameters: ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``bias_ih`` and ``bias_hh`` (3H,).
    Input (B, I) or (I,); state and output (B, H) or (H,).

    Example:
        >>> import tinygrad_rnn as tg
        >>> GRUCell(3, 4)(tg.randn(2, 3), tg.zeros(2, 4)).shape
        (2, 4)
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: str | None = None, dtype: Any = None
    ):
        super().__init__(input_size, hidden_size, bias, RECURRENCES["gru"], device, dtype)
