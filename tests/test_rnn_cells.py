"""Recurrent cells (nn.RNNCell, nn.LSTMCell, nn.GRUCell): PyTorch parity with the same weights,
finite-difference gradient checks of every step, batched and unbatched input, errors, devices."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.nn.cells import RECURRENCES, cell_step, input_projection

CELLS = {  # test id -> (cell class name, extra options)
    "rnn_tanh": ("RNNCell", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "lstm": ("LSTMCell", {}),
    "gru": ("GRUCell", {}),
}
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}
INPUT, HIDDEN = 3, 4


def as_tuple(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


def close(ours, theirs, dtype):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("batch", [None, 1, 3], ids=["unbatched", "batch1", "batch3"])
@pytest.mark.parametrize("kind", CELLS)
def test_cell_matches_torch(torch, kind, batch, with_state, bias, dtype):
    name, extra = CELLS[kind]
    reference = getattr(torch.nn, name)(INPUT, HIDDEN, bias=bias, dtype=getattr(torch, dtype), **extra)
    cell = getattr(nn, name)(INPUT, HIDDEN, bias=bias, dtype=dtype, **extra)
    cell.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    batch_shape = () if batch is None else (batch,)
    x = np.random.randn(*batch_shape, INPUT).astype(dtype)
    ours_x, theirs_x = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours_state = theirs_state = None
    if with_state:
        states = [np.random.randn(*batch_shape, HIDDEN).astype(dtype) for _ in range(RECURRENCES[kind].states)]
        ours_state = tuple(Tensor(s, requires_grad=True) for s in states)
        theirs_state = tuple(torch.tensor(s, requires_grad=True) for s in states)
    single = (lambda s: s) if kind == "lstm" else (lambda s: s if s is None else s[0])

    results = as_tuple(cell(ours_x, single(ours_state)))
    expected = as_tuple(reference(theirs_x, single(theirs_state)))
    weights = [np.random.randn(*r.shape).astype(dtype) for r in results]
    for ours_result, theirs_result in zip(results, expected):
        assert ours_result.shape == tuple(theirs_result.shape) == (*batch_shape, HIDDEN)
        close(ours_result, theirs_result, dtype)
    sum(((r * Tensor(w)).sum() for r, w in zip(results, weights)), Tensor(np.zeros((), dtype))).backward()
    sum((r * torch.tensor(w)).sum() for r, w in zip(expected, weights)).backward()
    theirs_params = dict(reference.named_parameters())
    assert [n for n, _ in cell.named_parameters()] == list(theirs_params)
    for param_name, param in cell.named_parameters():
        close(param.grad, theirs_params[param_name].grad, dtype)
    close(ours_x.grad, theirs_x.grad, dtype)
    for ours_s, theirs_s in zip(ours_state or (), theirs_state or ()):
        close(ours_s.grad, theirs_s.grad, dtype)


@pytest.mark.parametrize("kind", CELLS)
def test_our_cell_state_dict_loads_into_torch_and_gives_the_same_state(torch, kind):
    name, extra = CELLS[kind]
    tg.manual_seed(3)
    cell = getattr(nn, name)(INPUT, HIDDEN, dtype="float64", **extra)
    reference = getattr(torch.nn, name)(INPUT, HIDDEN, dtype=torch.float64, **extra)
    reference.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in cell.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((2, INPUT))
    for ours, theirs in zip(as_tuple(cell(Tensor(x))), as_tuple(reference(torch.from_numpy(x)))):
        close(ours, theirs, "float64")


@pytest.mark.parametrize("kind", CELLS)
def test_gradcheck_of_each_step(kind):
    """Finite differences in float64 for the input, every state and every parameter of a step."""
    recurrence = RECURRENCES[kind]
    rows = recurrence.gates * HIDDEN
    shapes = [(2, INPUT)] + [(2, HIDDEN)] * recurrence.states + [(rows, INPUT), (rows, HIDDEN), (rows,), (rows,)]
    inputs = [Tensor(np.random.randn(*s) * 0.7, requires_grad=True) for s in shapes]
    if kind == "rnn_relu":  # keep every pre-activation away from relu's kink at 0
        inputs[0].data[...] = np.abs(inputs[0].data) + 1.0
        for weight in inputs[-4:]:
            weight.data[...] = np.abs(weight.data)

    def step(x, *rest):
        state, params = rest[: recurrence.states], rest[recurrence.states :]
        return tg.cat(cell_step(recurrence, x, state, *params), axis=1)

    assert tg.gradcheck(step, *inputs)


@pytest.mark.parametrize("kind", CELLS)
def test_cells_add_no_scope_of_their_own(kind):
    name, extra = CELLS[kind]
    cell = getattr(nn, name)(INPUT, HIDDEN, **extra)
    with tg.scope("decoder"), tg.scope("t=2"):
        out = as_tuple(cell(tg.randn(2, INPUT)))[0]
    assert {n.scope for n in tg.walk(out) if n.op is not None} == {"decoder/t=2"}


def test_init_is_uniform_in_pytorch_bound_and_seeded():
    bound = 1 / np.sqrt(HIDDEN)
    tg.manual_seed(3)
    cell = nn.LSTMCell(INPUT, HIDDEN)
    values = np.concatenate([p.numpy().ravel() for p in cell.parameters()])
    assert np.all(np.abs(values) <= bound) and values.min() < -0.8 * bound and values.max() > 0.8 * bound
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.LSTMCell(INPUT, HIDDEN).weight_ih.numpy(), cell.weight_ih.numpy())
    assert nn.GRUCell(INPUT, HIDDEN, dtype="float64").weight_hh.dtype == np.float64


def test_clear_errors():
    cell = nn.LSTMCell(INPUT, HIDDEN)
    with pytest.raises(ValueError, match=r"LSTMCell: expected a 1-D or 2-D input .* input_size=3, got shape \(2, 5\)"):
        cell(tg.randn(2, 5))
    with pytest.raises(TypeError, match=r"tuple \(h, c\)"):
        cell(tg.randn(2, INPUT), tg.zeros(2, HIDDEN))
    with pytest.raises(ValueError, match=r"c must be a Tensor of shape \(2, 4\)"):
        cell(tg.randn(2, INPUT), (tg.zeros(2, HIDDEN), tg.zeros(3, HIDDEN)))
    with pytest.raises(TypeError, match="GRUCell: the input is float64 but the parameters are float32"):
        nn.GRUCell(INPUT, HIDDEN)(Tensor(np.zeros((2, INPUT))))
    with pytest.raises(TypeError, match="h is float32 on 'cpu', the input is float64"):
        nn.GRUCell(INPUT, HIDDEN, dtype="float64")(Tensor(np.zeros((2, INPUT))), tg.zeros(2, HIDDEN))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(INPUT, HIDDEN, nonlinearity="gelu")
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == "RNNCell(3, 4, bias=False, nonlinearity='relu')"


@pytest.mark.parametrize("kind", CELLS)
def test_cell_forward_backward_on_each_device(kind, device):
    name, extra = CELLS[kind]
    state = getattr(nn, name)(INPUT, HIDDEN, dtype="float64", **extra).state_dict()
    x = np.random.randn(2, INPUT)
    results = {}
    for where in ("cpu", device):
        cell = getattr(nn, name)(INPUT, HIDDEN, dtype="float64", **extra).to(where)
        cell.load_state_dict(state)
        inputs = Tensor(x, device=where, requires_grad=True)
        out = as_tuple(cell(inputs))
        out = as_tuple(cell(inputs, out if kind == "lstm" else out[0]))  # a second step from the first's state
        assert out[0].device == where
        sum((o * o).sum() for o in out).backward()
        results[where] = [o.numpy() for o in out] + [inputs.grad.numpy()] + [p.grad.numpy() for p in cell.parameters()]
    for a, b in zip(results["cpu"], results[device]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_a_step_given_bias_hh_adds_it_whether_or_not_the_layers_fold_it(kind):
    """The layers fold b_hh into the input projection (RNN, LSTM); a step called with b_hh
    directly must give the same state, not drop the bias."""
    recurrence = RECURRENCES[kind]
    rng = np.random.default_rng(0)
    rows, hidden = recurrence.gates * 3, 3
    x, h = Tensor(rng.standard_normal((2, 4))), Tensor(rng.standard_normal((2, hidden)))
    w_ih, w_hh = Tensor(rng.standard_normal((rows, 4))), Tensor(rng.standard_normal((rows, hidden)))
    b_ih, b_hh = Tensor(rng.standard_normal(rows)), Tensor(rng.standard_normal(rows))
    state = (h,) if recurrence.states == 1 else (h, Tensor(rng.standard_normal((2, hidden))))
    gi, bias_left = input_projection(recurrence, x, w_ih, b_ih, b_hh)
    assert (bias_left is None) == recurrence.folds_bias_hh
    folded = recurrence.step(gi, state, w_hh, bias_left)
    direct = recurrence.step(tg.linear(x, w_ih, b_ih), state, w_hh, b_hh)
    for a, b in zip(folded, direct):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
