"""nn.functional: every function and loss against PyTorch (values and gradients, float32 and float64,
on NumPy and array-api-strict), float64 finite-difference gradient checks, and the error messages."""

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import Tensor

TOLERANCE = {"float32": {"rtol": 1e-5, "atol": 1e-6}, "float64": {"rtol": 1e-10, "atol": 1e-12}}
DTYPES = ["float32", "float64"]


def assert_close(ours, theirs, dtype):
    np.testing.assert_allclose(ours, theirs, **TOLERANCE[dtype])


def against_torch(torch, ours, theirs, inputs, device, dtype):
    """``ours(*Tensors)`` vs ``theirs(*torch tensors)`` on the same float arrays: the values, then the
    gradients of every input for the same random upstream gradient dL/dy."""
    inputs = [np.asarray(a, dtype=dtype) for a in inputs]
    our_inputs = [Tensor(a, device=device, requires_grad=True) for a in inputs]
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in inputs]
    y, y_ref = ours(*our_inputs), theirs(*torch_inputs)
    assert y.device == device
    assert y.shape == tuple(y_ref.shape)
    assert_close(y.numpy(), y_ref.detach().numpy(), dtype)
    upstream = np.asarray(np.random.default_rng(1).standard_normal(y.shape), dtype=dtype)
    y.backward(Tensor(upstream, device=device))
    y_ref.backward(torch.tensor(upstream))
    for ours_x, torch_x in zip(our_inputs, torch_inputs):
        assert_close(ours_x.grad.numpy(), torch_x.grad.numpy(), dtype)


def scores(*shape):
    return np.random.default_rng(0).standard_normal(shape) * 2


def classes(shape, num_classes, ignore=None, seed=0):
    """Random class indices; with ``ignore=(value, count)`` the first ``count`` entries are ``value``."""
    target = np.random.default_rng(seed).integers(0, num_classes, size=shape)
    if ignore is not None:
        target.reshape(-1)[: ignore[1]] = ignore[0]
    return target


# (input shape, target shape, keyword arguments) for cross_entropy and nll_loss
CLASS_CASES = [
    ((5, 4), (5,), {}),
    ((5, 4), (5,), {"reduction": "sum"}),
    ((5, 4), (5,), {"reduction": "none"}),
    ((5, 4), (5,), {"ignore_index": -100, "ignore": 2}),
    ((5, 4), (5,), {"ignore_index": 1, "ignore": 2}),  # ignore_index may be a real class
    ((5, 4), (5,), {"weight": True}),
    ((5, 4), (5,), {"weight": True, "ignore_index": 3, "ignore": 2, "reduction": "none"}),
    ((3, 4, 6), (3, 6), {}),  # (N, C, T): a sequence of predictions
    ((3, 4, 6), (3, 6), {"weight": True, "ignore_index": 0, "ignore": 4}),
    ((2, 3, 2, 3), (2, 2, 3), {"reduction": "sum"}),
    ((4,), (), {}),  # one unbatched prediction
]


def class_arguments(torch, input_shape, target_shape, kwargs, dtype, device):
    """(target, our keyword arguments, torch's keyword arguments) for a case of CLASS_CASES."""
    kwargs = dict(kwargs)
    ignore = kwargs.pop("ignore", None)
    num_classes = input_shape[1] if len(input_shape) > 1 else input_shape[0]
    target = classes(target_shape, num_classes, None if ignore is None else (kwargs["ignore_index"], ignore))
    torch_kwargs = dict(kwargs)
    if kwargs.pop("weight", False):
        weight = np.linspace(0.5, 2.0, num_classes).astype(dtype)
        kwargs["weight"] = Tensor(weight, device=device)
        torch_kwargs["weight"] = torch.tensor(weight)
    return target, kwargs, torch_kwargs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("input_shape, target_shape, kwargs", CLASS_CASES)
def test_cross_entropy_matches_torch(torch, device, dtype, label_smoothing, input_shape, target_shape, kwargs):
    target, ours, theirs = class_arguments(torch, input_shape, target_shape, kwargs, dtype, device)
    against_torch(
        torch,
        lambda x: F.cross_entropy(x, Tensor(target, device=device), label_smoothing=label_smoothing, **ours),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(target), label_smoothing=label_smoothing, **theirs),
        [scores(*input_shape)],
        device,
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("input_shape, target_shape, kwargs", CLASS_CASES)
def test_nll_loss_matches_torch(torch, device, dtype, input_shape, target_shape, kwargs):
    target, ours, theirs = class_arguments(torch, input_shape, target_shape, kwargs, dtype, device)
    against_torch(
        torch,
        lambda x: F.nll_loss(x, target, **ours),  # a NumPy target is accepted as it is
        lambda x: torch.nn.functional.nll_loss(x, torch.tensor(target), **theirs),
        [scores(*input_shape)],
        device,
        dtype,
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 0 / 0
def test_cross_entropy_mean_over_no_target_is_nan_as_in_torch(torch):
    x = scores(3, 4)
    target = np.full(3, -100)
    assert np.isnan(torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(target)).item())
    assert np.isnan(F.cross_entropy(Tensor(x), target).item())
    assert F.cross_entropy(Tensor(x), target, reduction="sum").item() == 0.0


def test_cross_entropy_is_stable_for_huge_scores(torch):
    x = np.array([[1e4, -1e4, 0.0], [-3e4, 2e4, 2e4]], dtype="float32")
    target = np.array([1, 2])
    ours = F.cross_entropy(Tensor(x, requires_grad=True), target)
    theirs = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(target))
    assert np.isfinite(ours.item())
    assert_close(ours.item(), theirs.item(), "float32")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch_in_input_and_target(torch, device, dtype, reduction):
    against_torch(
        torch,
        lambda x, y: F.mse_loss(x, y, reduction=reduction),
        lambda x, y: torch.nn.functional.mse_loss(x, y, reduction=reduction),
        [scores(3, 4), scores(4, 3).T],
        device,
        dtype,
    )


def probabilities(*shape, seed=0):
    return np.random.default_rng(seed).uniform(0.05, 0.95, size=shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(torch, device, dtype, reduction, weighted):
    target = probabilities(3, 4, seed=1).astype(dtype)  # soft targets are allowed
    weight = probabilities(4, seed=2).astype(dtype) if weighted else None

    def ours(p):
        w = None if weight is None else Tensor(weight, device=device)
        return F.binary_cross_entropy(p, Tensor(target, device=device), w, reduction)

    def theirs(p):
        w = None if weight is None else torch.tensor(weight)
        return torch.nn.functional.binary_cross_entropy(p, torch.tensor(target), w, reduction=reduction)

    against_torch(torch, ours, theirs, [probabilities(3, 4)], device, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_clamps_log_at_minus_100_like_torch(torch, dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype=dtype)
    ours = F.binary_cross_entropy(Tensor(p, requires_grad=True), Tensor(y), reduction="none")
    theirs = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(y), reduction="none")
    assert_close(ours.numpy(), theirs.numpy(), dtype)
    ours.sum().backward()
    assert np.isfinite(ours.inputs[0].numpy()).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits_matches_torch(torch, device, dtype, reduction, options):
    x = scores(3, 4)
    x[0, :2] = [60.0, -60.0]  # far beyond where e^x overflows float32's precision
    rng = np.random.default_rng(3)
    weight = rng.uniform(0.5, 2, size=4).astype(dtype) if options in ("weight", "both") else None
    pos_weight = rng.uniform(0.5, 3, size=4).astype(dtype) if options in ("pos_weight", "both") else None

    def ours(x, y):
        return F.binary_cross_entropy_with_logits(x, y, weight, reduction, pos_weight)

    def theirs(x, y):
        def as_torch(a):
            return None if a is None else torch.tensor(a)

        return torch.nn.functional.binary_cross_entropy_with_logits(
            x, y, as_torch(weight), reduction=reduction, pos_weight=as_torch(pos_weight)
        )

    against_torch(torch, ours, theirs, [x, probabilities(3, 4, seed=4)], device, dtype)


def test_binary_cross_entropy_with_logits_is_finite_for_huge_scores():
    x = Tensor(np.array([1e4, -1e4, 500.0, -500.0]), requires_grad=True)
    y = Tensor(np.array([0.0, 1.0, 1.0, 0.0]))
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, 0.0, 0.0], atol=1e-12)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0, 0.0], atol=1e-12)  # sigmoid(x) - y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_with_logits_softplus_matches_logaddexp_over_the_whole_range(dtype):
    """softplus(-x) is computed as max(-x, 0) + log1p(e^-|x|) (NumPy's logaddexp is slow): the same
    values as logaddexp(0, -x) within a few ulps, from -200 to 200 and at the edges of exp's range."""
    x = np.concatenate([np.linspace(-200, 200, 4001), [0.0, 1e-30, -1e-30, 88.7, -88.7, 709.0, -709.0]])
    x = x.astype(dtype)
    loss = F.binary_cross_entropy_with_logits(Tensor(x), Tensor(np.ones_like(x)), reduction="none")
    expected = np.logaddexp(0.0, -x.astype(np.float64))  # y = 1: loss = softplus(-x) itself
    # (atol: a softplus below the dtype's smallest subnormal, e^-104 in float32, rounds to 0)
    np.testing.assert_allclose(
        loss.numpy(), expected, rtol=4 * np.finfo(dtype).eps, atol=np.finfo(dtype).smallest_subnormal
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [False, True])
def test_linear_matches_torch(torch, device, dtype, bias):
    inputs = [scores(2, 3, 4), scores(5, 4)] + ([scores(5)] if bias else [])
    against_torch(torch, F.linear, torch.nn.functional.linear, inputs, device, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -2])
def test_embedding_matches_torch_including_padding_gradient(torch, device, dtype, padding_idx):
    indices = np.array([[0, 3, 3, 1], [4, 0, 2, 3]])  # repeated indices: their gradients add up

    def ours(weight):
        return F.embedding(Tensor(indices, device=device), weight, padding_idx=padding_idx)

    def theirs(weight):
        return torch.nn.functional.embedding(torch.tensor(indices), weight, padding_idx=padding_idx)

    against_torch(torch, ours, theirs, [scores(5, 3)], device, dtype)


def test_embedding_padding_row_gets_no_gradient_but_keeps_its_value():
    weight = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    out = F.embedding(np.array([2, 1, 2]), weight, padding_idx=2)
    np.testing.assert_array_equal(out.numpy(), [[4, 5], [2, 3], [4, 5]])
    out.sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy(), [[0, 0], [1, 1], [0, 0]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalized_shape", [(4,), (3, 4)])
def test_layer_norm_matches_torch(torch, device, dtype, normalized_shape):
    def ours(x, w, b):
        return F.layer_norm(x, normalized_shape, w, b, eps=1e-5)

    def theirs(x, w, b):
        return torch.nn.functional.layer_norm(x, normalized_shape, w, b, eps=1e-5)

    inputs = [scores(2, 3, 4) + 3, scores(*normalized_shape), scores(*normalized_shape)]
    against_torch(torch, ours, theirs, inputs, device, dtype)


@pytest.mark.parametrize("num_classes", [-1, 6])
def test_one_hot_matches_torch(torch, device, num_classes):
    indices = np.array([[0, 3], [4, 1]])
    ours = F.one_hot(Tensor(indices, device=device), num_classes)
    theirs = torch.nn.functional.one_hot(torch.tensor(indices), num_classes)
    assert ours.device == device and tg.backend.dtype_name(ours.dtype) == "int64"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert tg.backend.dtype_name(F.one_hot(indices, 5, dtype="float32").dtype) == "float32"


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_activations_match_torch(torch, device, name):
    against_torch(torch, getattr(F, name), getattr(torch.nn.functional, name), [scores(3, 4)], device, "float64")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmaxes_match_torch_with_axis_for_dim(torch, device, name):
    def ours(x):
        return getattr(F, name)(x, axis=0)

    def theirs(x):
        return getattr(torch.nn.functional, name)(x, dim=0)

    against_torch(torch, ours, theirs, [scores(3, 4)], device, "float64")


# --- dropout ------------------------------------------------------------------------------------
def test_dropout_zeroes_about_p_and_scales_the_rest_by_one_over_one_minus_p(device):
    x = tg.ones(200, 100, device=device, requires_grad=True)
    y = F.dropout(x, p=0.3)
    values = y.numpy()
    kept = values != 0
    np.testing.assert_allclose(values[kept], np.float32(1 / 0.7))
    assert abs(kept.mean() - 0.7) < 0.02  # 20,000 draws: the standard deviation is 0.0032
    y.backward(tg.ones(200, 100, device=device))
    np.testing.assert_array_equal(x.grad.numpy(), values)  # dL/dx = mask / (1 - p)


def test_dropout_is_the_identity_in_evaluation_and_for_p_zero(device):
    x = tg.randn(4, 5, device=device)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_with_p_one_drops_everything():
    x = tg.randn(3, 4, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert not y.numpy().any()
    y.sum().backward()
    assert not x.grad.numpy().any()


def test_dropout_mask_is_reproducible_with_manual_seed():
    x = tg.ones(50)
    tg.manual_seed(7)
    first, second = F.dropout(x).numpy(), F.dropout(x).numpy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x).numpy(), first)
    assert (first != second).any()  # each call draws a new mask


# --- float64 gradient checks of each differentiable function ----------------------------------------
def leaf(array, device):
    return Tensor(np.asarray(array, dtype="float64"), device=device, requires_grad=True)


def reseeded_dropout(x):
    tg.manual_seed(3)  # the same mask at every evaluation of the finite differences
    return F.dropout(x, 0.4)


def test_gradcheck_linear_embedding_dropout_layer_norm(device):
    x, w, b = leaf(scores(2, 3), device), leaf(scores(4, 3), device), leaf(scores(4), device)
    assert tg.gradcheck(F.linear, x, w, b)
    indices = Tensor(np.array([[1, 0], [1, 2]]), device=device)
    assert tg.gradcheck(lambda w: F.embedding(indices, w), leaf(scores(3, 2), device))  # padding: no gradient
    assert tg.gradcheck(reseeded_dropout, leaf(scores(3, 4), device))
    gamma, beta = leaf(scores(3), device), leaf(scores(3), device)
    assert tg.gradcheck(lambda x, g, b: F.layer_norm(x, 3, g, b), leaf(scores(2, 3), device), gamma, beta)


def test_gradcheck_losses(device):
    target = Tensor(np.array([[1, -100], [2, 0]]), device=device)
    weight = Tensor(np.array([0.5, 1.0, 2.0]), device=device)

    def ce(x):
        return F.cross_entropy(x, target, weight=weight, label_smoothing=0.1)

    assert tg.gradcheck(ce, leaf(scores(2, 3, 2), device))
    for reduction in ("sum", "none"):  # the fused op's three reductions, each with every option

        def ce_reduced(x, reduction=reduction):
            return F.cross_entropy(x, target, weight=weight, label_smoothing=0.1, reduction=reduction)

        assert tg.gradcheck(ce_reduced, leaf(scores(2, 3, 2), device))
    assert tg.gradcheck(lambda x: F.cross_entropy(x, [2, 0, 1]), leaf(scores(3, 3), device))  # the fast path
    assert tg.gradcheck(lambda x: F.nll_loss(x, target, reduction="none"), leaf(scores(2, 3, 2), device))
    assert tg.gradcheck(F.mse_loss, leaf(scores(2, 3), device), leaf(scores(2, 3).T.copy().T, device))
    y = Tensor(probabilities(2, 3, seed=5), device=device)
    assert tg.gradcheck(lambda p: F.binary_cross_entropy(p, y), leaf(probabilities(2, 3), device))
    pos_weight = Tensor(np.array([0.5, 2.0, 3.0]), device=device)

    def bce_logits(x, y):
        return F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction="sum")

    assert tg.gradcheck(bce_logits, leaf(scores(2, 3), device), leaf(probabilities(2, 3, seed=6), device))


# --- errors name the function, the shapes and what to do --------------------------------------------
@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_losses_reject_bad_targets_clearly(loss):
    x = Tensor(scores(4, 5).astype("float32"))
    name = loss.__name__
    with pytest.raises(TypeError, match=rf"{name}: target must hold integer.*float32 with shape \(4,\)"):
        loss(x, np.zeros(4, dtype="float32"))
    with pytest.raises(ValueError, match=rf"{name}: input of shape \(4, 5\).*target of shape \(4,\).*\(4, 2\)"):
        loss(x, np.zeros((4, 2), dtype="int64"))
    with pytest.raises(IndexError, match=rf"{name}: target of shape \(4,\) holds \[-1, 5\].*0 to 4.*\(4, 5\)"):
        loss(x, np.array([0, 5, -1, 2]))
    with pytest.raises(ValueError, match=rf"{name}: reduction must be .*'avg'"):
        loss(x, np.zeros(4, dtype="int64"), reduction="avg")
    with pytest.raises(ValueError, match=rf"{name}: weight must have shape \(5,\)"):
        loss(x, np.zeros(4, dtype="int64"), weight=np.ones(4, dtype="float32"))
    with pytest.raises(TypeError, match=rf"{name}: weight has dtype float64 but the input has float32"):
        loss(x, np.zeros(4, dtype="int64"), weight=np.ones(5))
    with pytest.raises(ValueError, match=rf"{name}: input must have a class axis"):
        loss(Tensor(1.0), np.zeros((), dtype="int64"))


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_losses_find_a_bad_target_with_every_reduction(loss, reduction):
    name = loss.__name__
    x = Tensor(scores(4, 5).astype("float32"))
    for bad in ([0, 5, 1, 2], [0, -1, 1, 2], [7, -100, -100, -100]):
        with pytest.raises(IndexError, match=rf"{name}: target of shape \(4,\) holds \[-?\d\].*0 to 4"):
            loss(x, np.array(bad), reduction=reduction)
    loss(x, np.array([0, -100, 4, 1]), reduction=reduction)  # ignored and in-range targets are fine


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8", "uint64"])
def test_class_losses_check_targets_of_every_integer_dtype(dtype):
    """The fast check casts targets to unsigned (a negative one wraps to a huge value): the edges of
    [0, C) pass, anything past either end is named, whatever the target's integer dtype."""
    x = Tensor(scores(3, 5))
    info = np.iinfo(dtype)
    ok = np.array([0, 4, 2], dtype=dtype)
    expected = F.cross_entropy(x, ok.astype("int64")).item()
    assert F.cross_entropy(x, ok).item() == expected
    for bad in {5, int(info.max), int(info.min), -1} - set(range(5)):
        if info.min <= bad <= info.max:
            with pytest.raises(IndexError, match=rf"cross_entropy: target of shape \(3,\) holds \[{bad}\]"):
                F.cross_entropy(x, np.array([0, bad, 2], dtype=dtype))


def test_a_bad_target_is_named_under_detect_anomaly_too():
    with tg.detect_anomaly(), pytest.raises(IndexError, match=r"cross_entropy: target of shape \(2,\) holds \[3\]"):
        F.cross_entropy(tg.zeros(2, 3, requires_grad=True), [0, 3])


def test_cross_entropy_of_nan_scores_is_nan_not_a_target_error():
    x = scores(2, 3)
    x[1, 0] = np.nan
    assert np.isnan(F.cross_entropy(Tensor(x), [0, 2]).item())


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_losses_refuse_an_empty_class_axis(loss):
    with pytest.raises(ValueError, match=rf"{loss.__name__}: the input of shape \(3, 0\) has an empty class axis"):
        loss(tg.zeros(3, 0), np.zeros(3, dtype="int64"))


def test_each_loss_is_one_recorded_op():
    x = tg.randn(2, 3, requires_grad=True)
    y = tg.rand(2, 3)
    assert F.cross_entropy(x, [0, 2]).op == "cross_entropy"
    assert F.nll_loss(x, [0, 2]).op == "nll_loss"
    assert F.mse_loss(x, y).op == "mse_loss"
    assert F.binary_cross_entropy_with_logits(x, y).op == "binary_cross_entropy_with_logits"
    assert F.binary_cross_entropy(y.requires_grad_(), y.detach()).op == "binary_cross_entropy"


def test_elementwise_losses_reject_bad_targets_clearly():
    x = Tensor(probabilities(3, 4).astype("float32"))
    for loss in (F.mse_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match=rf"{loss.__name__}: target shape \(4, 3\) differs from input shape"):
            loss(x, Tensor(probabilities(4, 3).astype("float32")))
        with pytest.raises(TypeError, match=rf"{loss.__name__}: target has dtype float64"):
            loss(x, probabilities(3, 4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: every input must be a probability"):
        F.binary_cross_entropy(x * 2, x)


def test_other_errors_are_clear(device):
    with pytest.raises(IndexError, match=r"embedding: input of shape \(2,\) holds \[7\].*weight \(5, 3\) has 5 rows"):
        F.embedding([1, 7], tg.randn(5, 3))
    with pytest.raises(TypeError, match=r"embedding: input must hold integer indices.*float32"):
        F.embedding(tg.Tensor([1.0]), tg.randn(5, 3))
    with pytest.raises(ValueError, match=r"embedding: padding_idx 5 must lie within num_embeddings \(5\)"):
        F.embedding([1], tg.randn(5, 3), padding_idx=5)
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got 1.5"):
        F.dropout(tg.ones(2), 1.5)
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing"):
        F.cross_entropy(tg.ones(2, 3), [0, 1], label_smoothing=2.0)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(3,\) must equal the last axes.*\(2, 4\)"):
        F.layer_norm(tg.ones(2, 4), 3)
    with pytest.raises(IndexError, match=r"one_hot: indices of shape \(2,\) holds \[3\]"):
        F.one_hot([0, 3], 3)
    if device != "cpu":
        with pytest.raises(tg.DeviceError, match=r"cross_entropy: target is on device 'cpu'.*\.to\("):
            F.cross_entropy(tg.ones(2, 3, device=device), Tensor(np.array([0, 1])))
