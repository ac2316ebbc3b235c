"""Layers, loss modules and initialisers: PyTorch's names, shapes, reprs, default distributions and numbers."""

import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.nn import init

TOLERANCE = {"float32": {"rtol": 1e-5, "atol": 1e-6}, "float64": {"rtol": 1e-10, "atol": 1e-12}}


def copy_torch_weights(ours, theirs):
    """Load the torch module's parameters into ours, through the state dict of plain arrays."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def run_both(torch, ours, theirs, x, dtype, device="cpu"):
    """Forward and backward (for one random upstream gradient) through both; compare output and all gradients."""
    our_x = Tensor(x, device=device, requires_grad=True)
    torch_x = torch.tensor(x, requires_grad=True)
    y, y_ref = ours(our_x), theirs(torch_x)
    np.testing.assert_allclose(y.numpy(), y_ref.detach().numpy(), **TOLERANCE[dtype])
    upstream = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    y.backward(Tensor(upstream, device=device))
    y_ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(our_x.grad.numpy(), torch_x.grad.numpy(), **TOLERANCE[dtype])
    torch_grads = {name: p.grad for name, p in theirs.named_parameters()}
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), torch_grads[name].numpy(), **TOLERANCE[dtype])


def names_and_shapes(module):
    return [(name, tuple(p.shape)) for name, p in module.named_parameters()]


# --- Linear -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
def test_linear_has_torch_names_shapes_and_repr(torch, bias):
    ours, theirs = nn.Linear(3, 2, bias=bias), torch.nn.Linear(3, 2, bias=bias)
    assert names_and_shapes(ours) == names_and_shapes(theirs)
    assert repr(ours) == repr(theirs)
    assert (ours.bias is None) == (not bias)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_matches_torch_with_the_same_weights(torch, device, dtype):
    theirs = torch.nn.Linear(4, 3).to(getattr(torch, dtype))
    ours = nn.Linear(4, 3, dtype=dtype, device=device)
    copy_torch_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(dtype)
    run_both(torch, ours, theirs, x, dtype, device)


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Linear(16, 4000)
    bound = 1 / math.sqrt(16)
    for param in (layer.weight.numpy(), layer.bias.numpy()):
        assert np.abs(param).max() <= bound
        assert np.abs(param).max() > 0.95 * bound  # the whole interval is used
    # U(-a, a) has variance a^2 / 3; 64,000 draws give it within about 1%.
    assert layer.weight.numpy().var() == pytest.approx(bound**2 / 3, rel=0.03)
    assert abs(layer.weight.numpy().mean()) < 0.01 * bound


def test_default_init_is_reproducible_with_manual_seed():
    def build():
        return nn.Sequential(nn.Linear(3, 4), nn.Embedding(5, 2), nn.LayerNorm(2))

    tg.manual_seed(42)
    first = {k: v.numpy().copy() for k, v in build().state_dict().items()}
    tg.manual_seed(42)
    again = build().state_dict()
    different = build().state_dict()
    for name, value in first.items():
        np.testing.assert_array_equal(again[name].numpy(), value)
    assert not np.array_equal(different["0.weight"].numpy(), first["0.weight"])


# --- Embedding --------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding_has_torch_names_shapes_and_repr(torch, padding_idx):
    ours, theirs = nn.Embedding(10, 3, padding_idx), torch.nn.Embedding(10, 3, padding_idx)
    assert names_and_shapes(ours) == names_and_shapes(theirs)
    assert repr(ours) == repr(theirs)
    assert ours.padding_idx == theirs.padding_idx


def test_embedding_init_is_standard_normal_with_the_padding_row_zero():
    table = nn.Embedding(2000, 20, padding_idx=3)
    weight = table.weight.numpy()
    assert not weight[3].any()
    others = np.delete(weight, 3, axis=0)
    assert others.mean() == pytest.approx(0, abs=0.02) and others.std() == pytest.approx(1, rel=0.02)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_with_padding_matches_torch(torch, device, dtype):
    theirs = torch.nn.Embedding(6, 3, padding_idx=0).to(getattr(torch, dtype))
    ours = nn.Embedding(6, 3, padding_idx=0, dtype=dtype, device=device)
    copy_torch_weights(ours, theirs)
    indices = np.array([[0, 2, 5, 2], [1, 0, 0, 3]])
    y = ours(Tensor(indices, device=device))
    y_ref = theirs(torch.tensor(indices))
    np.testing.assert_allclose(y.numpy(), y_ref.detach().numpy(), **TOLERANCE[dtype])
    upstream = np.random.default_rng(2).standard_normal(y.shape).astype(dtype)
    y.backward(Tensor(upstream, device=device))
    y_ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **TOLERANCE[dtype])
    assert not ours.weight.grad.numpy()[0].any()  # the padding row is never trained


def test_embedding_from_pretrained_freezes_by_default():
    table = nn.Embedding.from_pretrained(np.eye(3, dtype="float32"))
    assert not table.weight.requires_grad and list(table.parameters()) == [table.weight]
    np.testing.assert_array_equal(table([2]).numpy(), [[0, 0, 1]])
    assert nn.Embedding.from_pretrained(np.eye(3, dtype="float32"), freeze=False).weight.requires_grad


# --- LayerNorm, Dropout, activations ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "shape, affine, bias", [((5,), True, True), ((3, 5), True, True), ((5,), True, False), ((5,), False, True)]
)
def test_layer_norm_matches_torch(torch, device, dtype, shape, affine, bias):
    theirs = torch.nn.LayerNorm(shape, elementwise_affine=affine, bias=bias).to(getattr(torch, dtype))
    ours = nn.LayerNorm(shape, elementwise_affine=affine, bias=bias, dtype=dtype, device=device)
    assert names_and_shapes(ours) == names_and_shapes(theirs)
    assert repr(ours) == repr(theirs)
    if affine:  # start from PyTorch's ones and zeros, then make them non-trivial in both
        np.testing.assert_array_equal(ours.weight.numpy(), 1)
        assert not bias or not ours.bias.numpy().any()
        with torch.no_grad():
            for param in theirs.parameters():
                param.normal_()
        copy_torch_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((2, 3, 5)).astype(dtype) * 3 + 1
    run_both(torch, ours, theirs, x, dtype, device)


def test_dropout_module_follows_train_and_eval(device):
    drop = nn.Dropout(0.5)
    assert repr(drop) == "Dropout(p=0.5, inplace=False)"  # PyTorch's repr
    with pytest.raises(NotImplementedError, match="inplace=True is not supported"):
        nn.Dropout(0.5, inplace=True)
    x = tg.ones(100, device=device)
    assert drop.training and (drop(x).numpy() == 0).any()
    assert drop.eval()(x) is x
    assert (drop.train()(x).numpy() == 0).any()
    with pytest.raises(ValueError, match="Dropout: p must be a probability"):
        nn.Dropout(-0.1)


@pytest.mark.parametrize("name", ["Tanh", "ReLU", "Sigmoid", "Identity"])
def test_activation_modules_match_torch(torch, name):
    ours, theirs = getattr(nn, name)(), getattr(torch.nn, name)()
    assert repr(ours) == repr(theirs) and list(ours.parameters()) == []
    run_both(torch, ours, theirs, np.linspace(-3, 3, 12).reshape(3, 4), "float64")


# --- loss modules ------------------------------------------------------------------------------------
def test_loss_modules_match_torch(torch):
    rng = np.random.default_rng(0)
    scores, target = rng.standard_normal((4, 3, 5)), rng.integers(0, 3, size=(4, 5))
    weight = np.array([0.2, 1.0, 3.0])
    cases = [
        ("CrossEntropyLoss", {"ignore_index": 2, "label_smoothing": 0.1}, scores, target),
        ("CrossEntropyLoss", {"weight": weight, "reduction": "sum"}, scores, target),
        ("NLLLoss", {"weight": weight, "reduction": "none"}, scores, target),
        ("MSELoss", {}, scores, rng.standard_normal(scores.shape)),
        ("BCELoss", {"weight": weight[:, None]}, 1 / (1 + np.exp(scores)), rng.uniform(size=scores.shape)),
        ("BCEWithLogitsLoss", {"pos_weight": rng.uniform(1, 2, size=5)}, scores, rng.uniform(size=scores.shape)),
    ]
    for name, options, x, y in cases:
        torch_options = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
        ours, theirs = getattr(nn, name)(**options), getattr(torch.nn, name)(**torch_options)
        our_x, torch_x = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        loss, loss_ref = ours(our_x, Tensor(y)), theirs(torch_x, torch.tensor(y))
        np.testing.assert_allclose(loss.numpy(), loss_ref.detach().numpy(), rtol=1e-10, err_msg=name)
        loss.sum().backward()
        loss_ref.sum().backward()
        np.testing.assert_allclose(our_x.grad.numpy(), torch_x.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    with pytest.raises(ValueError, match="MSELoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.MSELoss(reduction="avg")


# --- initialisers -------------------------------------------------------------------------------------
def test_calculate_gain_and_fans_match_torch(torch):
    gains = [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None)]
    gains += [("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5))]
    for nonlinearity, param in gains:
        assert init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15
        )
    weight = tg.zeros(4, 3, 2, 5)
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(4, 3, 2, 5))
    assert init.fan_in_and_fan_out(weight) == expected
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(3,\)"):
        init.xavier_uniform_(tg.zeros(3))


@pytest.mark.parametrize(
    "fill, low, high, std",
    [
        (lambda t: init.uniform_(t, -0.3, 0.5), -0.3, 0.5, 0.8 / math.sqrt(12)),
        (lambda t: init.xavier_uniform_(t, gain=2.0), -2 * math.sqrt(6 / 300), 2 * math.sqrt(6 / 300), None),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), -1 / math.sqrt(100), 1 / math.sqrt(100), None),
        (
            lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
            -math.sqrt(6 / 200),
            math.sqrt(6 / 200),
            None,
        ),
        (lambda t: init.normal_(t, 1.0, 0.5), None, None, 0.5),
        (lambda t: init.xavier_normal_(t), None, None, math.sqrt(2 / 300)),
        (lambda t: init.kaiming_normal_(t, nonlinearity="tanh"), None, None, 5 / 3 / math.sqrt(100)),
    ],
)
def test_random_initialisers_follow_their_distributions(device, fill, low, high, std):
    weight = nn.Parameter(tg.zeros(200, 100, device=device))
    returned = fill(weight)
    assert returned is weight and weight.device == device and weight.requires_grad
    values = weight.numpy()
    if low is not None:
        assert values.min() >= low and values.max() < high
        assert values.min() < low + 0.01 * (high - low) and values.max() > high - 0.01 * (high - low)
        assert values.std() == pytest.approx((high - low) / math.sqrt(12), rel=0.02)
    if std is not None:
        assert values.std() == pytest.approx(std, rel=0.02)


def test_constant_initialisers_and_orthogonal(device):
    weight = tg.zeros(3, 5, dtype="float64", device=device)
    np.testing.assert_array_equal(init.constant_(weight, 0.25).numpy(), 0.25)
    np.testing.assert_array_equal(init.ones_(weight).numpy(), 1)
    np.testing.assert_array_equal(init.zeros_(weight).numpy(), 0)
    for shape in [(3, 5), (5, 3), (4, 2, 3)]:
        q = init.orthogonal_(tg.zeros(shape, dtype="float64", device=device), gain=2.0).numpy().reshape(shape[0], -1)
        small = min(q.shape)
        product = q @ q.T if q.shape[0] == small else q.T @ q
        np.testing.assert_allclose(product, 4 * np.eye(small), atol=1e-12)
    with pytest.raises(TypeError, match="init: cannot fill a tensor of dtype int64"):
        init.normal_(tg.zeros(2, dtype="int64"))
