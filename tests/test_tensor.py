"""The Tensor itself: construction and dtypes, properties, item/numpy/detach/requires_grad_/
retain_grad/zero_grad, repr, factories and the seeded generator, .to(device)/.to(dtype), and
comparisons (bool tensors, outside the graph)."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.backend import dtype_name


# --- construction ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "dtype", "shape"),
    [
        ([1.0, 2.0], "float32", (2,)),  # Python floats default to float32, as in PyTorch
        ([[1, 2.5], [3, 4]], "float32", (2, 2)),  # ints among floats: still floats
        (1.5, "float32", ()),
        ([1, 2, 3], "int64", (3,)),
        (7, "int64", ()),
        ([True, False], "bool", (2,)),
        ([], "float32", (0,)),
        (np.array([1.0, 2.0]), "float64", (2,)),  # an array keeps its dtype: float64 stays float64
        (np.array([1.0], dtype=np.float32), "float32", (1,)),
        (np.array([[1, 2]], dtype=np.int32), "int32", (1, 2)),
        (np.float64(1.5), "float64", ()),  # NumPy scalars keep their dtype too
        (np.float32(1.5), "float32", ()),
        (np.int64(3), "int64", ()),
    ],
    ids=repr,
)
def test_construction_dtypes(data, dtype, shape):
    x = Tensor(data)
    assert (dtype_name(x.dtype), x.shape, x.device) == (dtype, shape, "cpu")
    np.testing.assert_array_equal(x.numpy(), np.asarray(data))


def test_explicit_dtype_and_device(device):
    x = Tensor([1, 2], dtype="float64", device=device)
    assert (dtype_name(x.dtype), x.device) == ("float64", device)
    y = Tensor(np.array([0.5, 1.5]), dtype=tg.float32, device=device)
    assert dtype_name(y.dtype) == "float32"
    np.testing.assert_array_equal(y.numpy(), [0.5, 1.5])


def test_an_array_api_array_keeps_its_library():
    xp = pytest.importorskip("array_api_strict")
    x = Tensor(xp.asarray([1.0, 2.0], dtype=xp.float64))
    assert x.device == "array_api_strict" and dtype_name(x.dtype) == "float64"
    y = (x * 2).exp().sum(axis=0)
    assert y.device == "array_api_strict" and type(y.data) is type(x.data)


def test_a_tensor_from_a_tensor_has_the_same_values():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor(x)
    assert y.is_leaf and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), x.numpy())


# --- properties --------------------------------------------------------------------------------
def test_properties_of_a_leaf_and_of_an_op_result(device):
    w = Tensor(np.ones((2, 3)), requires_grad=True, name="w", device=device)
    assert (w.shape, w.ndim, w.name, w.requires_grad, w.is_leaf, w.op, w.inputs) == (
        (2, 3),
        2,
        "w",
        True,
        True,
        None,
        (),
    )
    assert (w.numel(), len(w), w.size(), w.size(1)) == (6, 2, (2, 3), 3)
    with tg.scope("t=1"):
        y = w * 2
    assert (y.op, y.inputs[0], y.is_leaf, y.requires_grad, y.scope) == ("mul", w, False, True, "t=1")
    assert y.grad_fn is not None and y.id > w.id  # ids count creations, so the same program numbers alike


def test_item_numpy_and_tolist(device):
    x = Tensor(np.array([[2.5]]), device=device)
    assert x.item() == 2.5 and type(x.item()) is float and float(x) == 2.5
    assert Tensor([3], device=device).item() == 3 and type(Tensor([3], device=device).item()) is int
    values = x.numpy()
    assert type(values) is np.ndarray and values.shape == (1, 1)
    assert Tensor([[1, 2]], device=device).tolist() == [[1, 2]]
    with pytest.raises(ValueError, match=r"item: only a tensor with one element has an item, shape is \(2,\)"):
        Tensor([1.0, 2.0], device=device).item()


def test_detach_cuts_the_graph(device):
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, device=device)
    y = x * 3
    cut = y.detach()
    assert cut.is_leaf and not cut.requires_grad and cut.grad_fn is None
    np.testing.assert_array_equal(cut.numpy(), [3.0, 6.0])
    (cut * x).sum().backward()  # the detached factor is a constant: d/dx (3x_const * x) = 3x_const
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 6.0])


def test_requires_grad_switches_a_leaf_on_and_off(device):
    x = Tensor(np.array([1.0]), device=device)
    assert x.requires_grad_() is x and x.requires_grad
    assert not (x * 2).detach().requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad and not (x * 2).requires_grad
    y = Tensor(np.array([1.0]), requires_grad=True, device=device) * 2
    with pytest.raises(RuntimeError, match=r"requires_grad_: use \.detach\(\) to cut a non-leaf"):
        y.requires_grad_(False)


def test_retain_grad_keeps_an_intermediate_gradient(device):
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, device=device)
    kept, dropped = (x * 2).retain_grad(), x * 3
    (kept * dropped).sum().backward()  # d/dkept = dropped = 3x
    np.testing.assert_array_equal(kept.grad.numpy(), [3.0, 6.0])
    assert dropped.grad is None  # intermediates keep no gradient unless asked
    np.testing.assert_array_equal(x.grad.numpy(), [12.0, 24.0])  # d/dx 6x^2


def test_zero_grad_and_accumulation(device):
    x = Tensor(np.array([1.0]), requires_grad=True, device=device)
    (x * 2).sum().backward()
    (x * 5).sum().backward()
    assert x.grad.item() == 7.0
    x.zero_grad()
    assert x.grad is None
    (x * 5).sum().backward()
    assert x.grad.item() == 5.0


def test_repr_shows_values_dtype_device_op_grad_and_name(device):
    where = "" if device == "cpu" else f", device={device!r}"
    w = Tensor([1.0, 2.0], requires_grad=True, name="w", device=device)
    assert repr(w) == f"Tensor([1., 2.], dtype=float32{where}, requires_grad=True, name='w')"
    assert repr(w * 2) == f"Tensor([2., 4.], dtype=float32{where}, op=mul)"
    assert repr(Tensor([1, 2], device=device)) == f"Tensor([1, 2], dtype=int64{where})"
    long = repr(tg.zeros(1000, device=device))
    assert "..." in long and len(long) < 200  # large tensors are summarised


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1


# --- factories ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "values"),
    [
        (lambda **k: tg.zeros(2, 3, **k), np.zeros((2, 3))),
        (lambda **k: tg.zeros((2, 3), **k), np.zeros((2, 3))),
        (lambda **k: tg.ones(3, **k), np.ones(3)),
        (lambda **k: tg.full((2,), 3.5, **k), np.full(2, 3.5)),
        (lambda **k: tg.eye(3, **k), np.eye(3)),
        (lambda **k: tg.eye(2, 3, **k), np.eye(2, 3)),
    ],
)
def test_constant_factories(device, make, values):
    x = make(device=device)
    assert (x.shape, dtype_name(x.dtype), x.device, x.requires_grad) == (values.shape, "float32", device, False)
    np.testing.assert_array_equal(x.numpy(), values)
    y = make(device=device, dtype="float64", requires_grad=True, name="p")
    assert (dtype_name(y.dtype), y.requires_grad, y.name) == ("float64", True, "p")


def test_arange(device):
    ints = tg.arange(5, device=device)
    assert dtype_name(ints.dtype) == "int64" and ints.tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(2, 8, 3, device=device).tolist() == [2, 5]
    floats = tg.arange(0, 1, 0.25, device=device)
    assert dtype_name(floats.dtype) == "float32" and floats.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert dtype_name(tg.arange(3, dtype="float64", device=device).dtype) == "float64"


def test_like_factories_copy_shape_dtype_and_device(device):
    x = Tensor(np.ones((2, 1)), requires_grad=True, device=device)
    for make, value in ((tg.zeros_like, 0.0), (tg.ones_like, 1.0)):
        y = make(x)
        assert (y.shape, dtype_name(y.dtype), y.device, y.requires_grad) == ((2, 1), "float64", device, False)
        assert np.all(y.numpy() == value)
        assert dtype_name(make(x, dtype="float32").dtype) == "float32"


def test_manual_seed_makes_random_factories_reproducible_on_every_device(device):
    tg.manual_seed(123)
    first = [tg.randn(3, 4, device=device).numpy(), tg.rand(5, device=device).numpy()]
    tg.manual_seed(123)
    again = [tg.randn(3, 4, device=device).numpy(), tg.rand(5, device=device).numpy()]
    tg.manual_seed(123)
    on_cpu = [tg.randn(3, 4).numpy(), tg.rand(5).numpy()]
    for a, b, c in zip(first, again, on_cpu):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)  # one generator: the same seed, the same numbers anywhere
    tg.manual_seed(124)
    assert not np.array_equal(tg.randn(3, 4, device=device).numpy(), first[0])


def test_random_factories_have_the_stated_distributions():
    tg.manual_seed(0)
    normal, uniform = tg.randn(20_000).numpy(), tg.rand(20_000).numpy()
    assert normal.dtype == np.float32 and uniform.dtype == np.float32
    assert abs(normal.mean()) < 0.03 and abs(normal.std() - 1) < 0.03  # 4 standard errors
    assert uniform.min() >= 0.0 and uniform.max() < 1.0 and abs(uniform.mean() - 0.5) < 0.01
    assert tg.randn(2, dtype="float64", requires_grad=True).requires_grad


# --- devices and dtypes ------------------------------------------------------------------------
def test_to_device_moves_values_and_keeps_requires_grad():
    pytest.importorskip("array_api_strict")
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    moved = x.to("array_api_strict")
    assert (moved.device, moved.requires_grad, moved.is_leaf, moved.name) == ("array_api_strict", True, True, "x")
    np.testing.assert_array_equal(moved.numpy(), x.numpy())
    back = moved.cpu()
    assert back.device == "cpu" and type(back.data) is np.ndarray
    assert x.to("cpu") is x  # already there


def test_to_dtype_is_a_differentiable_cast(device):
    x = Tensor(np.array([1.5, -2.0]), requires_grad=True, device=device)
    for y, name in ((x.float(), "float32"), (x.to("float32"), "float32"), (x.to(tg.float32), "float32")):
        assert (dtype_name(y.dtype), y.op, y.device) == (name, "cast", device)
    assert dtype_name(x.float().double().dtype) == "float64"
    (x.float() * 2).sum().backward()
    assert dtype_name(x.grad.dtype) == "float64"
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


# --- comparisons -------------------------------------------------------------------------------
COMPARISONS = {
    "==": (lambda a, b: a == b, np.equal),
    "!=": (lambda a, b: a != b, np.not_equal),
    "<": (lambda a, b: a < b, np.less),
    "<=": (lambda a, b: a <= b, np.less_equal),
    ">": (lambda a, b: a > b, np.greater),
    ">=": (lambda a, b: a >= b, np.greater_equal),
}


@pytest.mark.parametrize("symbol", COMPARISONS)
def test_comparisons_give_bool_tensors_outside_the_graph(device, symbol):
    compare, reference = COMPARISONS[symbol]
    a_values, b_values = np.array([[1.0, 2.0, 3.0]]), np.array([[2.0], [1.0]])
    a = Tensor(a_values, requires_grad=True, device=device)
    b = Tensor(b_values, device=device)
    for result, expected in [
        (compare(a, b), reference(a_values, b_values)),  # broadcasting
        (compare(a, 2.0), reference(a_values, 2.0)),  # a Python scalar
        (compare(a, 2), reference(a_values, 2)),
        (compare(Tensor([1, 2, 3], device=device), 1.5), reference([1, 2, 3], 1.5)),  # int with float
    ]:
        assert dtype_name(result.dtype) == "bool" and result.device == device
        assert not result.requires_grad and result.op is None
        np.testing.assert_array_equal(result.numpy(), expected)


def test_argmax_and_argmin_are_integer_tensors_outside_the_graph(device):
    x = Tensor(np.array([[1.0, 5.0, 3.0], [4.0, 0.0, 2.0]]), requires_grad=True, device=device)
    assert x.argmax(axis=1).tolist() == [1, 0] and x.argmin(axis=1).tolist() == [0, 1]
    assert x.argmax().tolist() == 1 and x.argmax(axis=0, keepdims=True).shape == (1, 3)
    assert not x.argmax(axis=1).requires_grad and dtype_name(x.argmax(axis=1).dtype) == "int64"


def test_comparisons_follow_the_dtype_and_device_rules():
    with pytest.raises(TypeError, match=r"lt: cannot mix float32 and float64"):
        Tensor([1.0]) < Tensor(np.array([2.0]))  # noqa: B015
    pytest.importorskip("array_api_strict")
    with pytest.raises(tg.DeviceError, match="eq: tensors on different devices: 'cpu' and 'array_api_strict'"):
        Tensor([1.0]) == Tensor([1.0], device="array_api_strict")  # noqa: B015


def test_array_likes_keep_their_float64():
    """Only Python floats default to float32; an array-like with its own dtype keeps it."""
    torch = pytest.importorskip("torch")
    assert Tensor(torch.zeros(2, dtype=torch.float64)).dtype == np.float64
    assert Tensor(torch.zeros(2)).dtype == np.float32
    assert Tensor([0.5, 1.5]).dtype == np.float32


# --- what a Tensor refuses, and how it compares with things that are not numbers ------------------
@pytest.mark.parametrize(
    "array",
    [
        np.array([1 + 2j, 3.0]),
        np.array(["a", "b"]),
        np.array([object(), 1], dtype=object),
        np.array(["2024-01-01"], dtype="datetime64[D]"),
        np.array([1, 2], dtype="timedelta64[s]"),
    ],
    ids=lambda a: str(a.dtype),
)
def test_arrays_of_complex_strings_objects_and_dates_are_refused(array):
    with pytest.raises(TypeError, match=r"Tensor: expected numbers .*dtype"):
        Tensor(array)


def test_a_complex_array_is_refused_rather_than_losing_its_imaginary_part():
    with pytest.raises(TypeError, match="imaginary part would be lost"):
        Tensor(np.array([1 + 2j]))
    with pytest.raises(TypeError, match="imaginary part would be lost"):
        Tensor([1 + 2j])


def test_comparing_with_non_numbers_is_false_as_in_pytorch():
    t = Tensor([1.0, 2.0])
    assert (t == "w") is False and (t == None) is False  # noqa: E711 - the point of the test
    assert (t != "w") is True and (t != None) is True  # noqa: E711
    with pytest.raises(TypeError, match="not supported"):
        t < "w"  # noqa: B015
    np.testing.assert_array_equal((t == 2.0).numpy(), [False, True])  # numbers: elementwise, as before


def test_tensors_in_dicts_and_lists_with_names_and_each_other():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    keys = {a: "a", "b": b, None: 0}
    assert keys[a] == "a" and "b" in keys and b not in keys  # hashed by identity
    assert a in [a, b] and a in ["x", None, a]  # identity comes first in `in`
    with pytest.raises(RuntimeError, match=r"truth value of a tensor with 2 elements .*t is x for x in"):
        Tensor([5.0, 6.0]) in [a, b]  # noqa: B015 - compared by value, elementwise: ambiguous
    assert Tensor([1.0]) in [Tensor([1.0])]  # a one-element tensor has a truth value, as in PyTorch


def test_tensor_of_an_array_shares_its_memory_and_the_data_setter_keeps_arrays():
    array = np.zeros(3)
    t = Tensor(array)
    assert t.data is array
    s = Tensor(np.float64(2.0))
    s.data = s.data * 2  # NumPy gives a 0-d result as a scalar: kept an array
    assert isinstance(s.data, np.ndarray) and s.item() == 4.0


def test_python_floats_with_a_dtype_are_rounded_once_to_that_dtype():
    """Found by the course: a float64 tensor from a list must not round through float32 first."""
    assert Tensor([0.7000001], dtype="float64").tolist() == [0.7000001]
    assert Tensor(0.7000001, dtype="float64").item() == 0.7000001
    assert Tensor([0.7000001], dtype="float32").numpy().tobytes() == np.float32(0.7000001).tobytes()
    assert Tensor([0.7000001]).dtype == np.float32  # no dtype: Python floats are float32, as in PyTorch
    model = tg.nn.Linear(1, 1).double()
    model.load_state_dict({"weight": [[1.8]], "bias": [0.0]})
    assert model.weight.tolist() == [[1.8]]


def test_numpy_functions_on_a_tensor_give_its_values_or_refuse_never_an_object_array():
    """np.asarray(t) was an object array of 0-d Tensors (NumPy iterated the tensor), and np.exp(t)
    an object array of Tensors: now the values (as t.numpy()), and a TypeError for a ufunc."""
    t = Tensor([1.0, 2.0], requires_grad=True)
    values = np.asarray(t)
    assert values.dtype == np.float32 and values.tolist() == [1.0, 2.0]
    assert np.asarray([Tensor(1.0), Tensor(2.0)]).dtype == np.float32  # a list of losses, say
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    copied = np.array(t, copy=True)
    copied[0] = 5.0
    assert t.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="does not support ufuncs"):
        np.exp(t)
    # an array on the left of an operator still defers to the tensor: recorded, differentiable
    y = np.ones(2, dtype=np.float32) * 3 + t
    assert isinstance(y, Tensor) and y.op == "add"
    (y * y).sum().backward()
    assert t.grad.tolist() == [8.0, 10.0]
    with pytest.raises(TypeError, match="cannot mix float32 and float64"):
        np.ones(2) + t  # a float64 array never upcasts a float32 tensor silently


def test_matplotlib_plots_a_tensor_by_its_values():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    (line,) = axes.plot(Tensor([0.5, 0.25, 0.125]))
    assert np.asarray(line.get_ydata()).tolist() == [0.5, 0.25, 0.125]
    plt.close(figure)


def test_np_asarray_of_an_intermediate_inside_a_compiled_step_fails_loudly():
    from tinygrad_rnn.compiler import CaptureError

    step = tg.compile(lambda x: x * float(np.asarray(x * 2).sum()))
    with pytest.raises(CaptureError, match="numpy"):
        step(Tensor([1.0, 2.0]))


def test_deepcopy_of_a_model_keeps_independent_weights_as_in_pytorch():
    """copy.deepcopy(model) (keeping the best weights) was a bare "cannot pickle 'module' object"."""
    import copy

    tg.manual_seed(0)
    model = tg.nn.LSTM(2, 3)
    model.weight_hh_l0.grad = tg.ones(12, 3)
    best = copy.deepcopy(model)
    assert [n for n, _ in best.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert all(type(p) is tg.nn.Parameter and p.requires_grad for p in best.parameters())
    assert best.weight_hh_l0.grad.tolist() == model.weight_hh_l0.grad.tolist()
    x = tg.randn(4, 1, 2)
    before = model(x)[0].numpy()
    for p in model.parameters():
        p.data *= 0  # training goes on in place
    np.testing.assert_array_equal(best(x)[0].numpy(), before)
    shared = Tensor([1.0], requires_grad=True)
    a, b = copy.deepcopy([shared, shared])
    assert a is b and a is not shared  # one tensor stays one tensor (the memo)
    with pytest.raises(RuntimeError, match="deepcopy: only leaf tensors can be copied.*op 'mul'"):
        copy.deepcopy(shared * 2)


def test_pickle_round_trips_a_leaf_and_refuses_a_result_of_ops():
    import pickle

    w = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="w")
    back = pickle.loads(pickle.dumps(w))
    assert back.dtype == np.float64 and back.tolist() == w.tolist() and back.requires_grad and back.name == "w"
    assert back.numpy() is not w.numpy()
    model = pickle.loads(pickle.dumps(tg.nn.Linear(2, 3)))
    assert model(tg.ones(1, 2)).shape == (1, 3)
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        pickle.dumps(w.sum())


def test_every_way_of_making_a_tensor_fills_the_same_slots():
    """Tensor(...) and the engine's Tensor._make spell out the slot assignments each (a call less per
    op): a slot added to one and forgotten in the other fails here."""
    import copy

    slots = [name for name in Tensor.__slots__ if not name.startswith("__")]
    x = Tensor(np.ones(2), requires_grad=True)
    made = {"Tensor()": x, "op output": x * 2, "copy.deepcopy": copy.deepcopy(x), "detach": x.detach()}
    for how, tensor in made.items():
        missing = [name for name in slots if not hasattr(tensor, name)]
        assert not missing, f"{how} leaves slots unset: {missing}"
    assert made["op output"].requires_grad and made["op output"].id > x.id
