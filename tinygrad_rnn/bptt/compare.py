"""Two roads to one gradient: the engine's BPTT against the hand-written reference.

:func:`check_bptt` builds one RNN, LSTM or GRU cell (``tinygrad_rnn.nn``) in float64, gives it the
same random weights as :mod:`tinygrad_rnn.bptt.reference`, unrolls both over the same inputs with
the loss ``L = sum_t sum(h_t * R_t)`` (R fixed and random, so every step gets its own gradient),
and compares, step by step and gate block by gate block,

* the per-step terms dL/dW|_(t) of all four parameters (the engine's come from
  :func:`~tinygrad_rnn.bptt.contributions`; gate ``g`` owns rows ``g*H:(g+1)*H``),
* dL/dx_t, and dL/dh_0 (and dL/dc_0 for the LSTM).

Backward runs from the last step to the first, so an error made at step t spoils every earlier
step too: the report names the *latest* step that disagrees (where backward first goes wrong)
and the gates that disagree there.

Example:
    >>> report = check_bptt("gru", steps=3)
    >>> report.ok, report.max_error < 1e-12
    (True, True)
    >>> def bug(t, gate, grad):                 # break the reference's update gate at step 1
    ...     return grad * 1.01 if (t, gate) == (1, "z") else grad
    >>> report = check_bptt("gru", steps=3, on_gate_grad=bug)
    >>> report.ok, report.step, report.gates
    (False, 1, ['z'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..nn.cell_equations import GATES
from ..scope import scope
from ..tensor import Tensor
from .contributions import contributions
from .reference import PARAMS, GateHook, Weights, reference_bptt

#: the nn cells' parameter names, in the order of reference.PARAMS
ENGINE_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@dataclass
class Mismatch:
    """One block where the engine and the reference disagree."""

    step: int | None  # time step t; None for the initial state
    gate: str | None  # gate block; None for dL/dx_t and the initial state
    what: str  # "W_ih", "W_hh", "b_ih", "b_hh", "x", "h0" or "c0"
    max_error: float  # max |engine - reference| over the block
    scale: float  # max |reference| over the block

    def __str__(self) -> str:
        where = "initial state" if self.step is None else f"t={self.step}"
        gate = f", gate {self.gate}" if self.gate else ""
        error = f"max |engine - reference| = {self.max_error:.3g} (scale {self.scale:.3g})"
        return f"{where}{gate}, dL/d{self.what}: {error}"


@dataclass
class BPTTReport:
    """What :func:`check_bptt` found. ``ok`` is True when every block agrees."""

    cell: str
    steps: int
    max_error: float
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def step(self) -> int | None:
        """The latest time step that disagrees (where backward first goes wrong), or None."""
        steps = [m.step for m in self.mismatches if m.step is not None]
        return max(steps) if steps else None

    @property
    def gates(self) -> list[str]:
        """The gates that disagree at :attr:`step`, in the cell's gate order."""
        found = {m.gate for m in self.mismatches if m.step == self.step and m.gate}
        return [gate for gate in GATES[self.cell] if gate in found]

    def __str__(self) -> str:
        if self.ok:
            return f"{self.cell}, {self.steps} steps: engine and reference agree (max error {self.max_error:.3g})"
        first = [m for m in self.mismatches if m.step == self.step]
        lines = [
            f"{self.cell}, {self.steps} steps: {len(self.mismatches)} blocks disagree; backward first goes wrong "
            f"at t={self.step}, gate(s) {', '.join(self.gates) or '-'}:"
        ]
        lines += [f"  {m}" for m in first]
        return "\n".join(lines)


def check_bptt(
    cell: str = "lstm",
    steps: int = 4,
    batch: int = 2,
    input_size: int = 3,
    hidden_size: int = 4,
    nonlinearity: str = "tanh",
    seed: int = 0,
    device: str = "cpu",
    rtol: float = 1e-7,
    atol: float = 1e-10,
    on_gate_grad: GateHook | None = None,
) -> BPTTReport:
    """Compare the engine's BPTT gradients with the reference's, per time step and gate.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"`` (``nonlinearity`` ``"tanh"``/``"relu"`` for the RNN).
        steps, batch, input_size, hidden_size: sizes of the random problem (drawn from ``seed``).
        device: where the engine runs (the reference is NumPy).
        rtol, atol: a block agrees when ``|engine - reference| <= atol + rtol * |reference|``
            everywhere (both are float64, so the defaults are far above rounding noise).
        on_gate_grad: passed to :func:`~tinygrad_rnn.bptt.reference.reference_bptt`, e.g. to
            inject an error into one gate of the reference and watch it being found.
    """
    if cell not in GATES:
        raise ValueError(f"check_bptt: unknown cell {cell!r}; choose one of {sorted(GATES)}")
    rng = np.random.default_rng(seed)
    weights = Weights.random(cell, input_size, hidden_size, rng)
    x = rng.standard_normal((steps, batch, input_size))
    h0, c0 = rng.standard_normal((batch, hidden_size)), rng.standard_normal((batch, hidden_size))
    weights_of_loss = rng.standard_normal((steps, batch, hidden_size))  # R_t: dL/dh_t from outside
    lstm = cell == "lstm"

    # road 1: the reference, by hand
    _, ref = reference_bptt(cell, x, h0, weights, weights_of_loss, c0 if lstm else None, nonlinearity, on_gate_grad)

    # road 2: the engine, generic backprop over the unrolled graph of an nn cell
    kind = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell]
    options = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    module = kind(input_size, hidden_size, dtype="float64", device=device, **options)
    module.load_state_dict({name: getattr(weights, key) for name, key in zip(ENGINE_NAMES, PARAMS)})
    x_t = Tensor(x, device=device, requires_grad=True)
    initial = [Tensor(s, device=device, requires_grad=True) for s in ((h0, c0) if lstm else (h0,))]
    r_t = Tensor(weights_of_loss, device=device)
    state = tuple(initial) if lstm else initial[0]
    terms = []
    for t in range(steps):
        with scope(f"t={t}"):
            state = module(x_t[t], state)
            h = state[0] if lstm else state
            terms.append((h * r_t[t]).sum())
    loss = terms[0]
    for term in terms[1:]:
        loss = loss + term
    per_step = {key: contributions(loss, getattr(module, name)) for name, key in zip(ENGINE_NAMES, PARAMS)}
    loss.backward()

    # compare block by block
    size, gates = hidden_size, GATES[cell]
    mismatches: list[Mismatch] = []
    max_error = 0.0

    def compare(engine: np.ndarray, reference: np.ndarray, step: int | None, gate: str | None, what: str) -> None:
        nonlocal max_error
        error = np.abs(engine - reference)
        max_error = max(max_error, float(error.max()))
        if not np.all(error <= atol + rtol * np.abs(reference)):
            mismatches.append(Mismatch(step, gate, what, float(error.max()), float(np.abs(reference).max())))

    for t in reversed(range(steps)):
        for key in PARAMS:
            engine = per_step[key][t].numpy() if t in per_step[key] else np.zeros_like(getattr(ref, key)[t])
            for g, gate in enumerate(gates):
                rows = slice(g * size, (g + 1) * size)
                compare(engine[rows], getattr(ref, key)[t][rows], t, gate, key)
        compare(x_t.grad.numpy()[t], ref.x[t], t, None, "x")
    compare(initial[0].grad.numpy(), ref.h0, None, None, "h0")
    if lstm:
        compare(initial[1].grad.numpy(), ref.c0, None, None, "c0")
    return BPTTReport(cell, steps, max_error, mismatches)
