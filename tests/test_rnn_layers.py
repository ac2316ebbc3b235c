"""Sequence layers (nn.RNN, nn.LSTM, nn.GRU): PyTorch parity with the same weights (outputs, final
states, every gradient), unbatched input, dropout, state dicts both ways, variable lengths, scopes,
truncated BPTT, and the array-api-strict device."""

import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.nn.utils.rnn import pad_sequence, unpad_sequence

KINDS = {  # test id -> (layer class name, extra options)
    "rnn_tanh": ("RNN", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "gru": ("GRU", {}),
}
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}
INPUT, HIDDEN, STEPS = 3, 4, 5  # input_size != hidden_size on purpose


def make_ours(kind, dtype="float32", **options):
    name, extra = KINDS[kind]
    return getattr(nn, name)(INPUT, HIDDEN, dtype=dtype, **extra, **options)


def make_pair(torch, kind, dtype, **options):
    """Our layer and PyTorch's, with PyTorch's (random) weights loaded into ours."""
    name, extra = KINDS[kind]
    reference = getattr(torch.nn, name)(INPUT, HIDDEN, dtype=getattr(torch, dtype), **extra, **options)
    ours = make_ours(kind, dtype, **options)
    ours.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    return ours, reference


def states_of(kind, hidden):
    """The final state as a tuple: (h_n,) or (h_n, c_n)."""
    return tuple(hidden) if kind == "lstm" else (hidden,)


def close(ours, theirs, dtype):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def run_both(torch, ours, reference, kind, x, initial, dtype):
    """Forward both layers on the same data, backward a random weighting of every result; compare all."""
    ours_x = Tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    ours_hx = theirs_hx = None
    if initial is not None:
        ours_hx = tuple(Tensor(s, requires_grad=True) for s in initial)
        theirs_hx = tuple(torch.tensor(s, requires_grad=True) for s in initial)
    pick = (lambda s: s) if kind == "lstm" else (lambda s: None if s is None else s[0])
    output, hidden = ours(ours_x, pick(ours_hx))
    expected_output, expected_hidden = reference(theirs_x, pick(theirs_hx))
    results = (output, *states_of(kind, hidden))
    expected = (expected_output, *states_of(kind, expected_hidden))
    weights = [np.random.randn(*r.shape).astype(dtype) for r in results]
    for ours_result, theirs_result in zip(results, expected):
        assert ours_result.shape == tuple(theirs_result.shape)
        close(ours_result, theirs_result, dtype)

    sum(((r * Tensor(w)).sum() for r, w in zip(results, weights)), Tensor(np.zeros((), dtype))).backward()
    sum((r * torch.tensor(w)).sum() for r, w in zip(expected, weights)).backward()
    theirs_params = dict(reference.named_parameters())
    for name, param in ours.named_parameters():
        close(param.grad, theirs_params[name].grad, dtype)
    close(ours_x.grad, theirs_x.grad, dtype)
    for ours_state, theirs_state in zip(ours_hx or (), theirs_hx or ()):
        close(ours_state.grad, theirs_state.grad, dtype)


@pytest.mark.parametrize("fused", [False, True], ids=["composite", "fused"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_first", "batch_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_layer_matches_torch(torch, kind, num_layers, bidirectional, batch_first, with_state, batch, dtype, fused):
    ours, reference = make_pair(
        torch, kind, dtype, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    ours.fused = fused  # the opt-in fused path (nn.fused) must give PyTorch's numbers too
    shape = (batch, STEPS, INPUT) if batch_first else (STEPS, batch, INPUT)
    x = np.random.randn(*shape).astype(dtype)
    rows = num_layers * (2 if bidirectional else 1)
    initial = None
    if with_state:
        initial = tuple(np.random.randn(rows, batch, HIDDEN).astype(dtype) for _ in range(2 if kind == "lstm" else 1))
    run_both(torch, ours, reference, kind, x, initial, dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_without_bias_matches_torch(torch, kind):
    ours, reference = make_pair(torch, kind, "float64", bias=False, num_layers=2, bidirectional=True)
    assert not any("bias" in name for name, _ in ours.named_parameters())
    run_both(torch, ours, reference, kind, np.random.randn(STEPS, 2, INPUT), None, "float64")


@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_matches_torch(torch, kind, with_state):
    ours, reference = make_pair(torch, kind, "float64", num_layers=2, bidirectional=True)
    initial = None
    if with_state:
        initial = tuple(np.random.randn(4, HIDDEN) for _ in range(2 if kind == "lstm" else 1))
    output, hidden = ours(Tensor(np.random.randn(STEPS, INPUT)))
    assert output.shape == (STEPS, 2 * HIDDEN) and states_of(kind, hidden)[0].shape == (4, HIDDEN)
    run_both(torch, ours, reference, kind, np.random.randn(STEPS, INPUT), initial, "float64")


def test_parameter_names_shapes_and_init_follow_pytorch(torch):
    ours = nn.GRU(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    reference = torch.nn.GRU(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in reference.named_parameters()
    ]
    bound = 1 / np.sqrt(HIDDEN)
    values = np.concatenate([p.numpy().ravel() for p in ours.parameters()])
    assert values.dtype == np.float32 and np.all(np.abs(values) <= bound)
    assert values.min() < -0.8 * bound and values.max() > 0.8 * bound  # spread over the whole range
    tg.manual_seed(1)
    first = nn.GRU(INPUT, HIDDEN).weight_hh_l0.numpy()
    tg.manual_seed(1)
    np.testing.assert_array_equal(nn.GRU(INPUT, HIDDEN).weight_hh_l0.numpy(), first)


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_round_trip_to_torch(torch, kind):
    name, extra = KINDS[kind]
    ours = make_ours(kind, num_layers=2, bidirectional=True)
    reference = getattr(torch.nn, name)(INPUT, HIDDEN, num_layers=2, bidirectional=True, **extra)
    reference.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    x = np.random.randn(STEPS, 2, INPUT).astype("float32")
    output, _ = ours(Tensor(x))
    close(output, reference(torch.from_numpy(x))[0], "float32")


def test_dropout_between_layers_only_in_training(torch):
    ours, reference = make_pair(torch, "lstm", "float64", num_layers=2, dropout=0.5)
    reference.eval()
    x = np.random.randn(STEPS, 3, INPUT)
    ours.eval()
    output, (h_n, _) = ours(Tensor(x))
    expected_output, (expected_h, _) = reference(torch.tensor(x))
    close(output, expected_output, "float64")  # eval: dropout off, PyTorch's numbers
    close(h_n, expected_h, "float64")
    ours.train()
    train_output, (train_h, _) = ours(Tensor(x))
    np.testing.assert_array_equal(train_h.numpy()[0], h_n.numpy()[0])  # layer 0 sees no dropout
    assert np.abs(train_output.numpy() - output.numpy()).max() > 1e-3  # layer 1's input was dropped
    # nothing is dropped after the last layer: no zeroed output, and its last step is still h_n
    assert not (train_output.numpy() == 0).any()
    np.testing.assert_array_equal(train_output.numpy()[-1], train_h.numpy()[1])


def test_no_dropout_after_the_last_layer():
    lstm = nn.LSTM(INPUT, HIDDEN, num_layers=1, dropout=0.5, dtype="float64")
    x = Tensor(np.random.randn(STEPS, 2, INPUT))
    training, _ = lstm(x)
    evaluation, _ = lstm.eval()(x)
    np.testing.assert_array_equal(training.numpy(), evaluation.numpy())


# --- variable lengths -----------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_first", "batch_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("kind", KINDS)
def test_lengths_equal_running_each_sequence_alone(kind, bidirectional, batch_first):
    layer = make_ours(kind, "float64", num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    lengths = [5, 2, 4]
    sequences = [Tensor(np.random.randn(n, INPUT), requires_grad=True) for n in lengths]
    rows = 2 * (2 if bidirectional else 1)
    initial = [np.random.randn(rows, len(lengths), HIDDEN) for _ in range(2 if kind == "lstm" else 1)]
    wrap = (lambda s: tuple(s)) if kind == "lstm" else (lambda s: s[0])
    output_weights = [np.random.randn(n, layer.hidden_size * (2 if bidirectional else 1)) for n in lengths]

    padded = pad_sequence(sequences, batch_first=batch_first)
    output, hidden = layer(padded, wrap([Tensor(s) for s in initial]), lengths=lengths)
    pieces = unpad_sequence(output, lengths, batch_first=batch_first)
    loss = sum((p * Tensor(w)).sum() for p, w in zip(pieces, output_weights)) + sum(
        s.sum() for s in states_of(kind, hidden)
    )
    loss.backward()
    batch_grads = {name: p.grad.numpy() for name, p in layer.named_parameters()}
    for b, n in enumerate(lengths):  # outputs are exactly zero at padded positions
        beyond = output.numpy()[b, n:] if batch_first else output.numpy()[n:, b]
        assert beyond.shape[0] == STEPS - n and np.all(beyond == 0)

    layer.zero_grad()
    for b, (sequence, n) in enumerate(zip(sequences, lengths)):
        alone_input = Tensor(sequence.numpy()[None] if batch_first else sequence.numpy()[:, None])
        alone_output, alone_hidden = layer(alone_input, wrap([Tensor(s[:, b : b + 1]) for s in initial]))
        alone = alone_output.numpy()[0] if batch_first else alone_output.numpy()[:, 0]
        np.testing.assert_allclose(pieces[b].numpy(), alone, rtol=1e-12, atol=1e-12)
        for state, alone_state in zip(states_of(kind, hidden), states_of(kind, alone_hidden)):
            np.testing.assert_allclose(state.numpy()[:, b : b + 1], alone_state.numpy(), rtol=1e-12, atol=1e-12)
        alone_loss = (alone_output.reshape(n, -1) * Tensor(output_weights[b])).sum()
        (alone_loss + sum(s.sum() for s in states_of(kind, alone_hidden))).backward()
    for name, param in layer.named_parameters():  # the batch's gradient is the sum of the runs alone
        np.testing.assert_allclose(batch_grads[name], param.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fused", [False, True], ids=["composite", "fused"])
@pytest.mark.parametrize("kind", KINDS)
def test_lengths_match_torch_packed_sequences(torch, kind, fused):
    ours, reference = make_pair(torch, kind, "float32", num_layers=2, bidirectional=True)
    ours.fused = fused
    lengths = [3, 5, 1]
    x = np.random.randn(STEPS, 3, INPUT).astype("float32")
    output, hidden = ours(Tensor(x), lengths=lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), lengths, enforce_sorted=False)
    expected_packed, expected_hidden = reference(packed)
    expected_output, _ = torch.nn.utils.rnn.pad_packed_sequence(expected_packed, total_length=STEPS)
    close(output, expected_output, "float32")
    for state, expected_state in zip(states_of(kind, hidden), states_of(kind, expected_hidden)):
        close(state, expected_state, "float32")


def test_zero_length_sequence_keeps_its_initial_state():
    gru = nn.GRU(INPUT, HIDDEN, dtype="float64")
    h0 = Tensor(np.random.randn(1, 2, HIDDEN))
    output, h_n = gru(Tensor(np.random.randn(STEPS, 2, INPUT)), h0, lengths=np.array([0, 3]))
    np.testing.assert_array_equal(output.numpy()[:, 0], 0.0)
    np.testing.assert_array_equal(h_n.numpy()[0, 0], h0.numpy()[0, 0])


@pytest.mark.parametrize("lengths", [[1, 2], [1, 2, 9], [1, -1, 2], [1.0, 2.0, 3.0]])
def test_bad_lengths_are_rejected(lengths):
    with pytest.raises(ValueError, match="lengths"):
        nn.RNN(INPUT, HIDDEN)(tg.randn(STEPS, 3, INPUT), lengths=lengths)


def test_pad_sequence_is_differentiable_and_keeps_order():
    a = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    b = Tensor(np.ones((1, 2)), requires_grad=True)
    padded = pad_sequence([a, b], padding_value=-1.0)
    assert padded.shape == (3, 2, 2)
    np.testing.assert_array_equal(padded.numpy()[:, 0], a.numpy())
    np.testing.assert_array_equal(padded.numpy()[1:, 1], -1.0)
    (padded * Tensor(np.arange(12.0).reshape(3, 2, 2))).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[0, 1], [4, 5], [8, 9]])
    np.testing.assert_array_equal(b.grad.numpy(), [[2, 3]])
    assert pad_sequence([a, b], batch_first=True).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="trailing shape"):
        pad_sequence([a, Tensor(np.ones((2, 3)))])


# --- scopes: what the graph renderer relies on ----------------------------------------------------
def test_every_node_is_scoped_by_layer_direction_and_step():
    T = 3
    lstm = nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    with tg.scope("encoder"):
        output, (h_n, c_n) = lstm(tg.randn(T, 2, INPUT))
    parameters = {id(p): name for name, p in lstm.named_parameters()}
    nodes = [n for n in tg.walk(output, h_n, c_n) if n.op is not None]
    step = re.compile(r"encoder/lstm/l([01])/(fwd|bwd)/t=(\d)$")
    assert all(n.scope.startswith("encoder/lstm") for n in nodes)
    recurrent_uses, projections = {}, {}
    for node in nodes:
        used = [parameters[id(i)] for i in node.inputs if id(i) in parameters]
        match = step.match(node.scope)
        if match:
            assert int(match[3]) < T
        if any(u.startswith("weight_hh") for u in used):
            assert node.op == "linear" and match, node.scope  # W_hh feeds one linear op inside each step
            recurrent_uses.setdefault(used[0], []).append(int(match[3]))
        if any(u.startswith("weight_ih") for u in used):
            assert node.op == "linear" and re.fullmatch(r"encoder/lstm/l[01]/(fwd|bwd)", node.scope)
            projections[used[0]] = node.shape
    assert {k: sorted(v) for k, v in recurrent_uses.items()} == {
        f"weight_hh_l{layer}{suffix}": list(range(T)) for layer in (0, 1) for suffix in ("", "_reverse")
    }
    assert projections == {  # one projection op per layer and direction, covering all T steps
        f"weight_ih_l{layer}{suffix}": (T, 2, 4 * HIDDEN) for layer in (0, 1) for suffix in ("", "_reverse")
    }


def test_cell_step_math_is_the_layers_step_math():
    """A one-layer layer over T steps equals looping the matching cell with the same weights."""
    for layer, cell in [
        (nn.RNN(INPUT, HIDDEN, nonlinearity="relu"), nn.RNNCell(INPUT, HIDDEN, nonlinearity="relu")),
        (nn.LSTM(INPUT, HIDDEN), nn.LSTMCell(INPUT, HIDDEN)),
        (nn.GRU(INPUT, HIDDEN), nn.GRUCell(INPUT, HIDDEN)),
    ]:
        cell.load_state_dict({name[:-3]: p for name, p in layer.state_dict().items()})
        xs = tg.randn(STEPS, 2, INPUT)
        output, _ = layer(xs)
        state = None
        for t in range(STEPS):
            state = cell(xs[t], state)
            h = state[0] if isinstance(state, tuple) else state
            np.testing.assert_array_equal(h.numpy(), output.numpy()[t])


# --- truncated BPTT -------------------------------------------------------------------------------
def test_truncated_bptt_carries_values_but_cuts_gradients():
    lstm = nn.LSTM(INPUT, HIDDEN, dtype="float64")
    stream = Tensor(np.random.randn(12, 1, INPUT), requires_grad=True)
    full_output, _ = lstm(stream)
    state, outputs = None, []
    for chunk in stream.split(4):
        output, state = lstm(chunk, state)
        outputs.append(output)
        state = nn.detach_state(state)
    last_chunk = outputs[-1]
    np.testing.assert_allclose(tg.cat(outputs).numpy(), full_output.numpy(), rtol=1e-12)  # values flow on
    last_chunk.sum().backward()
    np.testing.assert_array_equal(stream.grad.numpy()[:8], 0.0)  # ... gradients stop at the chunk start
    assert np.abs(stream.grad.numpy()[8:]).min() > 0
    assert all(s.is_leaf and s.detached_from is not None for s in state)
    assert nn.detach_state(None) is None
    with pytest.raises(TypeError, match="detach_state"):
        nn.detach_state({"h": state[0]})


# --- errors ---------------------------------------------------------------------------------------
def test_clear_errors():
    lstm = nn.LSTM(INPUT, HIDDEN, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: expected a 2-D or 3-D input .* input_size=3"):
        lstm(tg.randn(STEPS, 2, INPUT + 1))
    with pytest.raises(TypeError, match="LSTM: the input is float64 but the parameters are float32"):
        lstm(Tensor(np.zeros((STEPS, 2, INPUT))))
    with pytest.raises(ValueError, match=r"h_0 must be a Tensor of shape \(2, 2, 4\)"):
        lstm(tg.randn(STEPS, 2, INPUT), (tg.zeros(1, 2, HIDDEN), tg.zeros(2, 2, HIDDEN)))
    with pytest.raises(TypeError, match=r"tuple \(h, c\)"):
        lstm(tg.randn(STEPS, 2, INPUT), tg.zeros(2, 2, HIDDEN))
    with pytest.raises(ValueError, match="lengths needs a batched input"):
        lstm(tg.randn(STEPS, INPUT), lengths=[STEPS])
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(INPUT, HIDDEN, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(INPUT, HIDDEN, dropout=1.0)
    assert repr(nn.RNN(3, 4, 2, nonlinearity="relu", bidirectional=True)) == (
        "RNN(3, 4, num_layers=2, nonlinearity='relu', bidirectional=True)"
    )


# --- devices --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fused", [False, True], ids=["composite", "fused"])
@pytest.mark.parametrize("kind", KINDS)
def test_forward_backward_on_each_device(kind, device, fused):
    """The same layer on cpu and on `device` gives the same outputs and gradients."""
    results = {}
    state = make_ours(kind, "float64", num_layers=2, bidirectional=True).state_dict()
    x = np.random.randn(STEPS, 2, INPUT)
    for where in ("cpu", device):
        layer = make_ours(kind, "float64", num_layers=2, bidirectional=True, fused=fused)
        layer.load_state_dict(state)
        layer.to(where)
        inputs = Tensor(x, device=where, requires_grad=True)
        output, hidden = layer(inputs, lengths=[STEPS, 3])
        assert output.device == where and states_of(kind, hidden)[0].device == where
        (output.sum() + states_of(kind, hidden)[0].sum()).backward()
        results[where] = [output.numpy(), inputs.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
    for a, b in zip(results["cpu"], results[device]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


PROJ = 2  # an LSTM's proj_size in the tests below (< HIDDEN)


@pytest.mark.parametrize("lengths", [None, [5, 2, 4]], ids=["full", "lengths"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_first", "batch_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_lstm_with_projection_matches_torch(torch, num_layers, bidirectional, batch_first, with_state, lengths):
    options = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, proj_size=PROJ)
    ours, reference = make_pair(torch, "lstm", "float64", **options)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in reference.named_parameters()
    ]
    x = np.random.randn(*((3, STEPS, INPUT) if batch_first else (STEPS, 3, INPUT)))
    rows = num_layers * (2 if bidirectional else 1)
    initial = (np.random.randn(rows, 3, PROJ), np.random.randn(rows, 3, HIDDEN)) if with_state else None
    if lengths is None:
        run_both(torch, ours, reference, "lstm", x, initial, "float64")
        return
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), lengths, batch_first, enforce_sorted=False)
    theirs_hx = None if initial is None else tuple(torch.from_numpy(s) for s in initial)
    expected_packed, expected_hidden = reference(packed, theirs_hx)
    expected, _ = torch.nn.utils.rnn.pad_packed_sequence(expected_packed, batch_first, total_length=STEPS)
    output, hidden = ours(Tensor(x), None if initial is None else tuple(Tensor(s) for s in initial), lengths=lengths)
    close(output, expected, "float64")
    for state, expected_state in zip(hidden, expected_hidden):
        close(state, expected_state, "float64")


def test_lstm_projection_state_dict_goes_both_ways_and_options_are_checked(torch):
    ours = nn.LSTM(INPUT, HIDDEN, num_layers=2, proj_size=PROJ, dtype="float64")
    reference = torch.nn.LSTM(INPUT, HIDDEN, num_layers=2, proj_size=PROJ, dtype=torch.float64)
    reference.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    x = np.random.randn(STEPS, 2, INPUT)
    close(ours(Tensor(x))[0], reference(torch.from_numpy(x))[0], "float64")
    assert "proj_size=2" in repr(ours)
    with pytest.raises(ValueError, match=re.escape("proj_size must be in [0, hidden_size=4), got 4")):
        nn.LSTM(INPUT, HIDDEN, proj_size=HIDDEN)
    with pytest.raises(ValueError, match=re.escape("proj_size is for the LSTM only")):
        nn.GRU(INPUT, HIDDEN, proj_size=PROJ)
    ours.fused = True
    with pytest.raises(NotImplementedError, match="fused=True does not support proj_size"):
        ours(Tensor(x))
    with pytest.raises(ValueError, match=re.escape("h_0 must be a Tensor of shape (2, 2, 2)")):
        nn.LSTM(INPUT, HIDDEN, num_layers=2, proj_size=PROJ)(tg.randn(STEPS, 2, INPUT), (tg.zeros(2, 2, HIDDEN),) * 2)
