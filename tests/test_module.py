"""nn.Module and the containers: names, tree walking, modes, devices, state dicts (and PyTorch both ways)."""

import re
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn


def build(model, library):
    """Nested modules of every kind: a Sequential, a ModuleList, a plain child, a child of a child."""
    model.embed = library.Embedding(7, 4)
    model.body = library.Sequential(library.Linear(4, 5), library.Tanh(), library.Dropout(0.5))
    model.heads = library.ModuleList([library.Linear(5, 3), library.Linear(5, 2, bias=False)])
    model.norm = library.LayerNorm(3)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        build(self, nn)

    def forward(self, tokens):
        hidden = self.body(self.embed(tokens))
        return self.norm(self.heads[0](hidden)), self.heads[1](hidden)


def torch_model(torch):
    """The same architecture built from torch.nn."""
    model = torch.nn.Module()
    build(model, torch.nn)
    return model


def test_named_parameters_have_torch_dotted_names_in_torch_order(torch):
    ours = [(name, p.shape) for name, p in Model().named_parameters()]
    theirs = [(name, tuple(p.shape)) for name, p in torch_model(torch).named_parameters()]
    assert ours == theirs
    assert ours[:3] == [("embed.weight", (7, 4)), ("body.0.weight", (5, 4)), ("body.0.bias", (5,))]
    assert [name for name, _ in Model().named_modules()] == [name for name, _ in torch_model(torch).named_modules()]


def test_children_and_named_modules():
    model = Model()
    assert [name for name, _ in model.named_children()] == ["embed", "body", "heads", "norm"]
    assert list(model.children()) == [model.embed, model.body, model.heads, model.norm]
    assert dict(model.named_modules())["heads.1"] is model.heads[1]
    assert len(list(model.parameters())) == 8


def test_a_shared_parameter_is_listed_once():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].weight = model[0].weight  # tied weights
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def tied(library):
    """An embedding and an output layer sharing one weight (the usual char-LM tying)."""
    model = library.Sequential(library.Embedding(5, 3), library.Linear(3, 5))
    model[1].weight = model[0].weight
    return model


def test_tied_weights_are_in_the_state_dict_under_each_name_and_load_both_ways(torch):
    ours, theirs = tied(nn), tied(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0.weight", "1.weight", "1.bias"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]  # once each
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})  # strict: no unexpected key
    assert ours[0].weight is ours[1].weight
    np.testing.assert_array_equal(ours[1].weight.numpy(), theirs[1].weight.detach().numpy())
    tied_back = tied(torch.nn)
    tied_back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    tokens = np.array([[0, 4, 2]])
    np.testing.assert_allclose(
        ours(tokens).numpy(), tied_back(torch.from_numpy(tokens)).detach().numpy(), rtol=1e-6, atol=1e-6
    )


def test_recurse_false_and_shared_modules_follow_torch(torch):
    def shared_linear_twice(library):
        shared = library.Linear(2, 2)
        model = library.Sequential(shared, library.Tanh(), shared)
        model.register_buffer("scale", library.Linear(1, 1).weight.detach() * 0 + 1)
        return model

    ours, theirs = shared_linear_twice(nn), shared_linear_twice(torch.nn)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()] == ["", "0", "1"]
    everything = [n for n, _ in ours.named_modules(remove_duplicate=False)]
    assert everything == [n for n, _ in theirs.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert list(ours.parameters(recurse=False)) == [] and len(list(ours.parameters())) == 2
    assert [n for n, _ in ours.named_buffers(recurse=False)] == ["scale"]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_assigning_a_plain_tensor_to_a_parameter_or_module_slot_is_an_error():
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"cannot assign a Tensor to 'weight', which is a registered Parameter"):
        model[0].weight = tg.ones(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign a int to '0', which is a registered Module"):
        setattr(model, "0", 3)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]  # nothing was unregistered
    model[0].bias = None  # None is allowed, as in PyTorch: an absent optional parameter
    model[0].weight = nn.Parameter(tg.zeros(2, 2))  # and so is another Parameter
    assert [n for n, _ in model.named_parameters()] == ["0.weight"]


def test_zero_grad_set_to_none_false_zeroes_in_place(torch):
    model = nn.Linear(2, 1)
    optimizer = tg.optim.SGD(model.parameters(), lr=0.1)
    for clear in (model.zero_grad, optimizer.zero_grad):
        model(tg.ones(1, 2)).sum().backward()
        grads = [p.grad for p in model.parameters()]
        clear(set_to_none=False)
        assert [p.grad for p in model.parameters()] == grads  # the same tensors, now zero
        assert all((g.numpy() == 0).all() for g in grads)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_reach_every_module():
    model = Model()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    tokens = np.array([[1, 2, 3]])
    first, again = model(tokens)[0].numpy(), model(tokens)[0].numpy()
    np.testing.assert_array_equal(first, again)  # no dropout in evaluation
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_clears_every_gradient():
    model = Model()
    a, b = model(np.array([[1, 2], [3, 0]]))
    (a.sum() + b.sum()).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_to_moves_parameters_in_place_and_gives_the_same_numbers():
    pytest.importorskip("array_api_strict")
    model = Model().eval()
    params = list(model.parameters())
    tokens = np.array([[1, 2, 3], [4, 5, 0]])
    expected = [y.numpy() for y in model(tokens)]
    assert model.to("array_api_strict") is model
    assert list(model.parameters()) == params  # the same Parameter objects (an optimizer keeps working)
    assert all(p.device == "array_api_strict" and p.requires_grad for p in params)
    outputs = model(Tensor(tokens, device="array_api_strict"))
    for y, y_cpu in zip(outputs, expected):
        assert y.device == "array_api_strict"
        np.testing.assert_allclose(y.numpy(), y_cpu, rtol=1e-6, atol=1e-6)
    (outputs[0].sum() + outputs[1].sum()).backward()
    assert model.heads[0].weight.grad.device == "array_api_strict"
    model.to("cpu")
    assert all(p.device == "cpu" for p in params) and model.heads[0].weight.grad.device == "cpu"


def test_double_casts_parameters_for_float64_gradient_checks():
    layer = nn.Linear(3, 2).double()
    assert all(tg.backend.dtype_name(p.dtype) == "float64" for p in layer.parameters())
    x = Tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x: layer(x).tanh(), x)
    assert tg.backend.dtype_name(layer.float().weight.dtype) == "float32"


# --- state dicts -------------------------------------------------------------------------------------
def snapshot(model):
    return {name: p.numpy().copy() for name, p in model.named_parameters()}


def test_state_dict_round_trip_between_two_models():
    source, target = Model(), Model()
    state = source.state_dict()
    assert list(state) == [name for name, _ in source.named_parameters()]
    assert not any(v.requires_grad for v in state.values())
    assert target.load_state_dict(state) == ([], [])
    for name, value in snapshot(target).items():
        np.testing.assert_array_equal(value, state[name].numpy())
    target.heads[0].weight.data[0, 0] = 123.0  # loading copied the arrays: the source is untouched
    assert source.heads[0].weight.numpy()[0, 0] != 123.0


def test_load_state_dict_accepts_plain_numpy_arrays():
    model = nn.Linear(2, 2)
    model.load_state_dict({"weight": np.eye(2, dtype="float32"), "bias": np.array([1.0, 2.0], dtype="float32")})
    np.testing.assert_array_equal(model(Tensor([[3.0, 4.0]])).numpy(), [[4.0, 6.0]])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("norm.bias"), r"missing keys: \['norm.bias'\]"),
        (lambda s: s.update(extra=np.zeros(2, "float32")), r"unexpected keys: \['extra'\]"),
        (
            lambda s: s.update({"heads.0.weight": np.zeros((5, 3), "float32")}),
            r"heads.0.weight: shape \(5, 3\) in the state dict, \(3, 5\) in the model",
        ),
        (
            lambda s: s.update({"heads.0.bias": np.zeros(3)}),
            r"heads.0.bias: dtype float64 in the state dict, float32 in the model",
        ),
    ],
)
def test_load_state_dict_errors_change_nothing(change, message):
    model = Model()
    before = snapshot(model)
    state = {name: value + 1 for name, value in snapshot(Model()).items()}  # every other key is valid
    change(state)
    with pytest.raises(RuntimeError, match=message):
        model.load_state_dict(state)
    for name, value in snapshot(model).items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_lists_take_the_parameters_dtype_and_arrays_are_never_cast_silently():
    model = nn.Linear(2, 1).double()
    model.load_state_dict({"weight": [[1.0, 2.0]], "bias": [0.5]})  # lists: the parameter's dtype, float64
    assert model.weight.dtype == np.float64 and model(Tensor([[1.0, 1.0]]).double()).item() == 3.5
    with pytest.raises(RuntimeError, match=r"weight: dtype float64 in the state dict, float32 in the model"):
        nn.Linear(2, 1).load_state_dict({"weight": np.ones((1, 2)), "bias": np.zeros(1, "float32")})


def test_load_state_dict_not_strict_reports_missing_and_unexpected_keys():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    weight = np.ones((3, 2), "float32")
    result = model.load_state_dict({"0.weight": weight, "9.weight": weight}, strict=False)
    assert result.missing_keys == ["0.bias", "2.weight", "2.bias"] and result.unexpected_keys == ["9.weight"]
    np.testing.assert_array_equal(model[0].weight.numpy(), weight)
    with pytest.raises(RuntimeError, match="shape"):  # a wrong shape is an error even when not strict
        model.load_state_dict({"0.weight": weight.T}, strict=False)


def torch_mlp(torch):
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def our_mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_torch_state_dict_loads_and_gives_the_same_outputs(torch):
    theirs, ours = torch_mlp(torch), our_mlp()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(ours(Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_our_state_dict_loads_into_torch_and_gives_the_same_outputs(torch, device):
    theirs, ours = torch_mlp(torch), our_mlp().to(device)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(
        theirs(torch.tensor(x)).detach().numpy(), ours(Tensor(x, device=device)).numpy(), rtol=1e-5, atol=1e-6
    )


# --- apply, freezing, lookups --------------------------------------------------------------------
def test_apply_visits_children_first_as_torch_does(torch):
    ours, theirs = [], []
    Model().apply(lambda m: ours.append(type(m).__name__))
    torch_model(torch).apply(lambda m: theirs.append(type(m).__name__))
    assert ours[:-1] == theirs[:-1] and ours[-1] == "Model"  # the root's class names differ


def test_requires_grad_false_freezes_parameters_through_training():
    model = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 2))
    model[0].requires_grad_(False)
    frozen = model[0].weight.numpy().copy()
    optimizer = tg.optim.Adam(model.parameters(), lr=0.1)
    loss = model(Tensor(np.array([0, 1, 4]))).sum()
    loss.backward()
    optimizer.step()
    assert model[0].weight.grad is None and model[1].weight.grad is not None
    np.testing.assert_array_equal(model[0].weight.numpy(), frozen)
    assert model.requires_grad_() is model and model[0].weight.requires_grad


def test_get_submodule_and_get_parameter_follow_dotted_names(torch):
    model, reference = Model(), torch_model(torch)
    for name, _ in reference.named_parameters():
        assert model.get_parameter(name) is dict(model.named_parameters())[name]
    assert model.get_submodule("heads.1") is model.heads[1] and model.get_submodule("") is model
    with pytest.raises(AttributeError, match=re.escape("no module 'heads.7'")):
        model.get_submodule("heads.7")
    with pytest.raises(AttributeError, match=re.escape("no parameter 'heads.1.bias'")):
        model.get_parameter("heads.1.bias")  # built with bias=False


def test_cpu_brings_parameters_and_buffers_back():
    pytest.importorskip("array_api_strict")
    model = nn.CrossEntropyLoss(weight=[1.0, 2.0])
    model.register_module("inner", nn.Linear(2, 2))
    model.to("array_api_strict").cpu()
    assert {t.device for t in [*model.parameters(), *model.buffers()]} == {"cpu"}


# --- buffers -----------------------------------------------------------------------------------------
class Scaled(nn.Module):
    """A child with a parameter, a persistent buffer, a non-persistent one and an absent one."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.register_buffer("scale", Tensor([2.0, 3.0]))
        self.register_buffer("steps", Tensor(np.array(0)))  # an int64 counter
        self.register_buffer("cache", tg.zeros(2), persistent=False)
        self.register_buffer("mask", None)

    def forward(self, x):
        return self.linear(x) * self.scale


def test_buffers_are_named_saved_but_not_trained():
    model = nn.Sequential(Scaled())
    assert [name for name, _ in model.named_buffers()] == ["0.scale", "0.steps", "0.cache"]
    # PyTorch's order: a module's own parameters and buffers, then its children's
    assert list(model.state_dict()) == ["0.scale", "0.steps", "0.linear.weight", "0.linear.bias"]
    assert all(p.requires_grad for p in model.parameters()) and len(list(model.parameters())) == 2
    model[0].scale = Tensor([5.0, 5.0])  # assigning keeps it a buffer
    np.testing.assert_array_equal(model.state_dict()["0.scale"].numpy(), [5.0, 5.0])
    del model[0].steps
    assert "0.steps" not in model.state_dict()


def test_buffers_load_and_missing_buffers_are_errors():
    source, target = Scaled(), Scaled()
    source.scale.data[:] = 7.0
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target.scale.numpy(), [7.0, 7.0])
    state = source.state_dict()
    del state["scale"]
    with pytest.raises(RuntimeError, match=r"missing keys: \['scale'\]"):
        target.load_state_dict(state)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m: m.register_buffer("a.b", tg.zeros(1)), KeyError, "without '.'"),
        (lambda m: m.register_buffer("x", [1.0]), TypeError, "must be a Tensor or None, got list"),
        (lambda m: m.register_buffer("x", nn.Parameter(tg.zeros(1))), TypeError, "Parameter is registered by"),
        (lambda m: m.register_buffer("linear", tg.zeros(1)), KeyError, "already a parameter or a module"),
        (lambda m: setattr(m, "scale", [1.0, 2.0]), TypeError, "buffer 'scale' must be set to a Tensor"),
    ],
)
def test_buffer_mistakes_are_clear_errors(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(Scaled())


def test_to_moves_buffers_and_casts_only_the_floating_ones():
    model = Scaled().double()
    assert tg.backend.dtype_name(model.scale.dtype) == "float64"
    assert tg.backend.dtype_name(model.steps.dtype) == "int64"
    pytest.importorskip("array_api_strict")
    model.to("array_api_strict")
    assert {b.device for b in model.buffers()} == {"array_api_strict"}
    y = model(Tensor(np.ones((1, 2)), device="array_api_strict"))
    assert y.device == "array_api_strict"


def test_loss_weights_are_buffers_that_load_from_torch_and_back(torch):
    weight = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    scores, targets = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32), np.array([0, 1, 2, 1])
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight))
    ours = nn.CrossEntropyLoss(weight=np.zeros(3, np.float32))  # as in PyTorch, no weight: no 'weight' key
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})  # strict: 'weight' is expected
    expected = theirs(torch.tensor(scores), torch.tensor(targets)).item()
    assert ours(Tensor(scores), targets).item() == pytest.approx(expected, rel=1e-6)
    back = torch.nn.CrossEntropyLoss(weight=torch.zeros(3))
    back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_array_equal(back.weight.numpy(), weight)
    assert list(nn.BCEWithLogitsLoss(pos_weight=[3.0]).state_dict()) == ["pos_weight"]


# --- containers -------------------------------------------------------------------------------------
def test_sequential_indexing_slicing_and_appending(torch):
    first, second, third = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(first, second)
    assert len(model) == 2 and model[0] is first and model[-1] is second and list(model) == [first, second]
    model.append(third)
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and [name for name, _ in tail.named_children()] == ["1", "2"]
    assert tail[0] is second  # a slice holds the same modules
    x = tg.randn(4, 2)
    np.testing.assert_array_equal(model(x).numpy(), third(second(first(x))).numpy())
    assert repr(model) == repr(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)))
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for 3 modules"):
        model[3]
    with pytest.raises(TypeError, match="Sequential: item 1 is a Tensor, not a Module"):
        nn.Sequential(first, tg.ones(2))


def test_sequential_from_an_ordered_dict_keeps_the_names():
    model = nn.Sequential(OrderedDict(encoder=nn.Linear(2, 3), act=nn.Tanh()))
    assert [name for name, _ in model.named_parameters()] == ["encoder.weight", "encoder.bias"]
    assert model[0] is model.encoder


def test_module_list_append_extend_insert_set_delete_renumber():
    a, b, c, d = (nn.Linear(1, 1) for _ in range(4))
    layers = nn.ModuleList([a])
    layers.append(b).extend([c])
    layers.insert(0, d)
    assert list(layers) == [d, a, b, c]
    layers[-1] = nn.Tanh()
    del layers[1]
    assert [name for name, _ in layers.named_children()] == ["0", "1", "2"]
    assert layers[0] is d and layers[1] is b and isinstance(layers[2], nn.Tanh)
    assert [name for name, _ in layers.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert list(layers[1:]) == [b, layers[2]]
    with pytest.raises(NotImplementedError, match="ModuleList does not define forward"):
        layers(tg.ones(1))


def test_repr_shows_options_and_children():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(2, 2)

        def extra_repr(self):
            return "size=2"

    assert repr(Block()) == "Block(\n  size=2\n  (proj): Linear(in_features=2, out_features=2, bias=True)\n)"


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"Broken: call super\(\).__init__\(\) before assigning"):
        Broken()
    with pytest.raises(TypeError, match="add_module: 'x' is a int, not a Module"):
        nn.Module().add_module("x", 3)
