"""tinygrad_rnn.bptt: backpropagation through time, made visible and checkable.

* :func:`contributions` — a shared weight's gradient split into its per-step terms,
  dL/dW = sum_t dL/dW|_(t);
* :func:`hidden_grad_norms` / :func:`plot_grad_norms` — ||dL/dh_t|| for every t: vanishing and
  exploding gradients, measured and drawn; :func:`layer_states` finds the h_t of an nn layer;
* :class:`record_backward` — keep what a plain ``loss.backward()`` sent, for the tools above;
* :mod:`~tinygrad_rnn.bptt.reference` — the RNN, LSTM and GRU backward equations by hand, in NumPy;
* :func:`check_bptt` — the engine against that reference, naming the step and gate that disagree;
* :func:`detect_anomaly` — stop at the first op producing NaN/Inf, naming its scope
  (e.g. ``lstm/l0/fwd/t=37``); the engine's own, re-exported here.

Example:
    >>> from tinygrad_rnn import bptt
    >>> bptt.check_bptt("lstm", steps=3).ok
    True
"""

from ..anomaly import AnomalyError, detect_anomaly
from ..observe import observe_backward, record_backward
from .compare import BPTTReport, Mismatch, check_bptt
from .contributions import contributions, scope_key
from .grad_norms import hidden_grad_norms, plot_grad_norms
from .reference import GATES, Gradients, Weights, reference_bptt
from .states import layer_states

__all__ = [
    "AnomalyError",
    "BPTTReport",
    "GATES",
    "Gradients",
    "Mismatch",
    "Weights",
    "check_bptt",
    "contributions",
    "detect_anomaly",
    "hidden_grad_norms",
    "layer_states",
    "observe_backward",
    "plot_grad_norms",
    "record_backward",
    "reference_bptt",
    "scope_key",
]
