"""nn.fused: the opt-in one-op-per-layer path gives the composite path's numbers, every option."""

import itertools
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, autograd, nn
from tinygrad_rnn.bptt.reference import equations_of
from tinygrad_rnn.nn.fused import FusedRecurrence

KINDS = {"rnn_tanh": (nn.RNN, {}), "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}), "lstm": (nn.LSTM, {}),
         "gru": (nn.GRU, {})}  # fmt: skip
INPUT, HIDDEN, STEPS, BATCH = 3, 4, 5, 3


def run(kind, fused, seed=0, lengths=None, with_state=False, dtype="float64", **options):
    """Forward + backward of a random weighting of every result; all results and gradients as arrays."""
    cls, extra = KINDS[kind]
    tg.manual_seed(seed)
    layer = cls(INPUT, HIDDEN, dtype=dtype, fused=fused, **extra, **options)
    rng = np.random.default_rng(seed)
    rows = layer.num_layers * (2 if layer.bidirectional else 1)
    shape = (BATCH, STEPS, INPUT) if layer.batch_first else (STEPS, BATCH, INPUT)
    x = Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    initial = None
    if with_state:
        initial = [Tensor(rng.standard_normal((rows, BATCH, HIDDEN)).astype(dtype), requires_grad=True)
                   for _ in range(2 if kind == "lstm" else 1)]  # fmt: skip
    output, hidden = layer(x, None if initial is None else (tuple(initial) if kind == "lstm" else initial[0]), lengths)
    results = [output, *(hidden if kind == "lstm" else (hidden,))]
    loss = sum((r * Tensor(rng.standard_normal(r.shape).astype(dtype))).sum() for r in results)
    loss.backward()
    grads = [x.grad] + [p.grad for p in layer.parameters()] + [s.grad for s in initial or ()]
    return [r.numpy() for r in results] + [g.numpy() for g in grads]


OPTIONS = list(
    itertools.product(KINDS, [1, 2], [False, True], [False, True], [None, [5, 2, 0]], [False, True], [True, False])
)


@pytest.mark.parametrize(
    "kind, num_layers, bidirectional, batch_first, lengths, with_state, bias",
    OPTIONS,
    ids=[
        f"{k}-L{n}-{'bi' if b else 'uni'}-{'bf' if f else 'tf'}-{'len' if le else 'full'}-{'h0' if s else 'zero'}"
        f"-{'bias' if bias else 'nobias'}"
        for k, n, b, f, le, s, bias in OPTIONS
    ],  # fmt: skip
)
def test_fused_equals_composite(kind, num_layers, bidirectional, batch_first, lengths, with_state, bias):
    options = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    composite = run(kind, False, lengths=lengths, with_state=with_state, **options)
    fused = run(kind, True, lengths=lengths, with_state=with_state, **options)
    assert len(composite) == len(fused)
    for a, b in zip(composite, fused):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_fused_float32_stays_float32_and_matches(kind):
    composite = run(kind, False, dtype="float32", bidirectional=True)
    fused = run(kind, True, dtype="float32", bidirectional=True)
    for a, b in zip(composite, fused):
        assert b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_fused_op_gradcheck(kind, masked, reverse):
    """The hand-written backward of the op itself against central finite differences (float64)."""
    cell, _, nonlinearity = kind.partition("_")
    gates, states = {"rnn": (1, 1), "lstm": (4, 2), "gru": (3, 1)}[cell]
    equations = equations_of(cell, nonlinearity or "tanh", np)
    rng = np.random.default_rng(1)
    projections = Tensor(rng.standard_normal((STEPS, 2, gates * HIDDEN)), requires_grad=True)
    weight = Tensor(rng.standard_normal((gates * HIDDEN, HIDDEN)) * 0.5, requires_grad=True)
    bias = Tensor(rng.standard_normal(gates * HIDDEN), requires_grad=True)
    state = [Tensor(rng.standard_normal((2, HIDDEN)), requires_grad=True) for _ in range(states)]
    valid = (np.arange(STEPS)[:, None, None] < np.array([STEPS, 2])[None, :, None]) if masked else None

    def fused(*inputs):
        return FusedRecurrence.apply(*inputs, equations=equations, reverse=reverse, has_bias=True, valid=valid)

    assert tg.gradcheck(fused, projections, weight, bias, *state)


def test_fused_graph_is_one_op_per_layer_and_direction():
    layer = nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, fused=True)
    output, (h_n, c_n) = layer(tg.randn(STEPS, 2, INPUT))
    fused_ops = [t for t in autograd.walk(output, h_n, c_n) if t.op and t.op.startswith("fused_")]
    assert sorted(t.scope for t in fused_ops) == ["lstm/l0/bwd", "lstm/l0/fwd", "lstm/l1/bwd", "lstm/l1/fwd"]
    assert {t.op for t in fused_ops} == {"fused_lstm"}
    assert not any("t=" in t.scope for t in autograd.walk(output))  # no per-step nodes
    assert "fused=True" in repr(layer)


def test_fused_in_no_grad_and_eval_records_nothing():
    layer = nn.GRU(INPUT, HIDDEN, fused=True)
    with tg.no_grad():
        output, h_n = layer(tg.randn(STEPS, 2, INPUT))
    assert output.grad_fn is None and h_n.grad_fn is None
    composite = nn.GRU(INPUT, HIDDEN)
    composite.load_state_dict(layer.state_dict())
    x = tg.randn(STEPS, 2, INPUT)
    np.testing.assert_allclose(layer(x)[0].numpy(), composite(x)[0].numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_fused_backward_twice_with_retain_graph(kind):
    """The op's saved state survives a backward with retain_graph=True (watching tools use it)."""
    cls, extra = KINDS[kind]
    layer = cls(INPUT, HIDDEN, dtype="float64", fused=True, **extra)
    output, _ = layer(Tensor(np.random.default_rng(0).standard_normal((STEPS, 2, INPUT))))
    loss = (output * output).sum()
    tg.bptt.contributions(loss, layer.weight_hh_l0)  # a watching backward, graph retained
    loss.backward(retain_graph=True)
    once = layer.weight_hh_l0.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(layer.weight_hh_l0.grad.numpy(), 2 * once, rtol=1e-12)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_saturated_gates_warn_on_neither_path(kind, fused):
    """Inputs of -200 drive every sigmoid to 0: no overflow warning (under -W error) on either path."""
    cls, extra = KINDS[kind]
    layer = cls(INPUT, HIDDEN, fused=fused, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        output, _ = layer(tg.full((STEPS, BATCH, INPUT), -200.0))
        output.sum().backward()
    assert np.isfinite(output.numpy()).all() and np.isfinite(layer.weight_hh_l0.grad.numpy()).all()
