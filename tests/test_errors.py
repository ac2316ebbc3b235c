"""Bad input gets a clear error (the op, the shapes, the dtypes or devices, and what to do),
and the dtype rules hold: a Python scalar never changes a tensor's dtype, float32 and float64
never mix silently."""

import re
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import DeviceError, Function, GradcheckError, Tensor
from tinygrad_rnn.backend import dtype_name


def ones(*shape, device="cpu", dtype="float64"):
    return Tensor(np.ones(shape), dtype=dtype, device=device)


# --- shapes ------------------------------------------------------------------------------------
def test_matmul_inner_dimension_mismatch_names_both_shapes(device):
    with pytest.raises(ValueError, match=re.escape("matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 differ")):
        ones(3, 4, device=device) @ ones(5, 2, device=device)


@pytest.mark.parametrize(
    ("a", "b", "inner"),
    [((4,), (5,), "4 and 5"), ((2, 3), (4,), "3 and 4"), ((3,), (4, 2), "3 and 4"), ((2, 2, 3), (2, 4, 5), "3 and 4")],
)
def test_matmul_mismatch_of_vectors_and_batches(device, a, b, inner):
    with pytest.raises(ValueError, match=re.escape(f"matmul: {a} @ {b}: inner dimensions {inner} differ")):
        ones(*a, device=device).matmul(ones(*b, device=device))


def test_matmul_batch_mismatch_and_scalar_operand(device):
    with pytest.raises(ValueError, match=r"matmul: \(2, 3, 4\) @ \(3, 4, 2\): batch dimensions.*\(2,\) and \(3,\)"):
        ones(2, 3, 4, device=device) @ ones(3, 4, 2, device=device)
    with pytest.raises(ValueError, match=r"matmul: \(\) @ \(3,\): operands must have at least one dimension"):
        ones(device=device) @ ones(3, device=device)


def test_linear_shape_mismatch_names_input_and_weight(device):
    with pytest.raises(ValueError, match=re.escape("linear: input (2, 3) and weight (4, 5)")):
        tg.linear(ones(2, 3, device=device), ones(4, 5, device=device))
    with pytest.raises(ValueError, match=re.escape("linear: bias (3,) does not broadcast to the output (2, 4)")):
        tg.linear(ones(2, 5, device=device), ones(4, 5, device=device), ones(3, device=device))
    with pytest.raises(ValueError, match=re.escape("linear: bias (3, 2, 4) does not broadcast to the output (2, 4)")):
        tg.linear(ones(2, 5, device=device), ones(4, 5, device=device), ones(3, 2, 4, device=device))


@pytest.mark.parametrize(
    ("name", "op"),
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: b - a),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("pow", lambda a, b: a**b),
        ("maximum", lambda a, b: a.maximum(b)),
        ("minimum", lambda a, b: a.minimum(b)),
    ],
)
def test_shapes_that_do_not_broadcast_name_the_op_and_both_shapes(device, name, op):
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(\d, \d\) and \(\d, \d\) cannot be broadcast: axis -1"):
        op(ones(2, 3, device=device), ones(2, 4, device=device))


def test_where_expand_cat_and_split_shape_errors(device):
    x = ones(2, 3, device=device)
    condition = Tensor(np.ones(4, dtype=bool), device=device)
    with pytest.raises(ValueError, match=re.escape("where: shapes (4,) and (2, 3) and (2, 3) cannot be broadcast")):
        tg.where(condition, x, x)
    with pytest.raises(ValueError, match=re.escape("expand: shapes (2, 3) and (3, 3) cannot be broadcast")):
        x.expand(3, 3)
    with pytest.raises(ValueError, match=re.escape("cat: shapes [(2, 3), (3,)] must match except on axis 0")):
        tg.cat([x, ones(3, device=device)])
    with pytest.raises(ValueError, match=re.escape("split: sizes [1, 1] do not add up to 3 (axis 1 of (2, 3))")):
        x.split([1, 1], axis=1)


@pytest.mark.parametrize("shape", [(4, 2), (5, -1), (-1, -1), (0, -1), (7,)])
def test_reshape_to_an_impossible_shape(device, shape):
    with pytest.raises(
        ValueError, match=re.escape(f"reshape: cannot reshape a tensor of shape (2, 3) (6 elements) to {shape}")
    ):
        ones(2, 3, device=device).reshape(shape)


def test_reduction_over_a_missing_axis_or_an_empty_tensor(device):
    with pytest.raises(IndexError, match="sum: axis 2 is out of range for a tensor with 2 dimensions"):
        ones(2, 3, device=device).sum(axis=2)
    with pytest.raises(ValueError, match=re.escape("max: cannot reduce an empty tensor of shape (0, 3)")):
        ones(0, 3, device=device).max(axis=0)


@pytest.mark.parametrize(
    ("op", "call", "axes"),
    [
        ("unsqueeze", lambda x: x.unsqueeze(3), 3),  # the result has 3 axes: -3 to 2
        ("unsqueeze", lambda x: x.unsqueeze(-4), 3),
        ("stack", lambda x: tg.stack([x, x], axis=3), 3),
        ("cat", lambda x: tg.cat([x, x], axis=2), 2),
        ("flatten", lambda x: x.flatten(0, 2), 2),
        ("transpose", lambda x: x.transpose(0, -3), 2),
        ("split", lambda x: x.split(1, axis=2), 2),
        ("chunk", lambda x: x.chunk(2, axis=2), 2),
        ("unbind", lambda x: x.unbind(-3), 2),
        ("softmax", lambda x: x.softmax(axis=2), 2),
        ("logsoftmax", lambda x: x.log_softmax(axis=-3), 2),
    ],
)
def test_an_axis_out_of_range_is_an_error_never_wrapped_around(device, op, call, axes):
    with pytest.raises(
        IndexError, match=rf"^{op}: axis -?\d is out of range for {axes} axes \(use -{axes} to {axes - 1}\)"
    ):
        call(ones(2, 3, device=device))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: x.squeeze(2), "squeeze: axis 2 is out of range for a tensor with 2 dimensions"),
        (lambda x: x.sum(axis=(0, -2)), "sum: axis (0, -2) names an axis twice"),
        (lambda x: x.flatten(1, 0), "flatten: start axis 1 comes after end axis 0 (shape (2, 3))"),
        (lambda x: x.expand(-1, 2, 3), "expand: -1 (keep the size) in (-1, 2, 3) falls on a new axis of shape (2, 3)"),
        (lambda x: x.split(0), "split: the piece size must be at least 1, got 0"),
        (lambda x: x.chunk(0), "chunk: the number of chunks must be at least 1, got 0"),
        (lambda x: tg.cat([x.sum(), x.sum()]), "cat: 0-d tensors have no axis to join along; use stack"),
    ],
)
def test_other_axis_and_size_mistakes(device, call, message):
    with pytest.raises((IndexError, ValueError), match=re.escape(message)):
        call(ones(2, 3, device=device))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: x.sum(axis=True), "sum: axis must be None, an int or a tuple of ints, got True (bool)"),
        (lambda x: x.mean(axis=1.0), "sum: axis must be None, an int or a tuple of ints, got 1.0 (float)"),
        (lambda x: x.max(axis=(0, False)), "max: axis must be None, an int or a tuple of ints, got (0, False)"),
        (lambda x: x.softmax(True), "softmax: axis must be an int, got True (bool)"),
        (lambda x: x.log_softmax("1"), "logsoftmax: axis must be an int, got '1' (str)"),
    ],
)
def test_an_axis_that_is_not_an_int_is_a_type_error(device, call, message):
    """A bool axis summed axis 1 silently (True is an int to Python); a float one was a bare
    "'float' object is not iterable"."""
    with pytest.raises(TypeError, match=re.escape(message)):
        call(ones(2, 3, device=device))


def test_numpy_integer_axes_work_like_ints(device):
    x = tg.Tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), device=device)
    assert x.mean(axis=np.int64(1)).tolist() == x.mean(axis=1).tolist()
    assert x.softmax(np.int32(0)).tolist() == x.softmax(0).tolist()


@pytest.mark.parametrize("axes", [(0, 0), (0, 2), (1,), (0, 1, 2)])
def test_permute_with_a_wrong_axis_order(device, axes):
    with pytest.raises(
        ValueError, match=re.escape(f"permute: {axes} is not an ordering of the 2 axes of shape (2, 3)")
    ):
        ones(2, 3, device=device).permute(axes)


# --- indexing ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [5, -4, (0, 3), (slice(None), 7)], ids=str)
def test_int_index_out_of_range_names_the_shape(device, key):
    with pytest.raises(IndexError, match=re.escape("getitem: cannot index a tensor of shape (3, 3) with")):
        ones(3, 3, device=device)[key]


@pytest.mark.parametrize("make_index", [list, np.array, Tensor], ids=["list", "ndarray", "tensor"])
@pytest.mark.parametrize(("values", "low", "high"), [([0, 3], 0, 3), ([-4, 1, 1], -4, 1)])
def test_integer_array_index_out_of_range_errors_on_every_device(device, make_index, values, low, high):
    """CuPy would wrap an out-of-range array index silently; the engine checks it first."""
    index = make_index(values)
    if isinstance(index, Tensor):
        index = index.to(device)
    message = f"getitem: index array with values from {low} to {high} is out of range for axis 0 of size 3"
    message += " (tensor shape (3, 2))"
    with pytest.raises(IndexError, match=re.escape(message)):
        ones(3, 2, device=device)[index]
    with pytest.raises(IndexError, match=re.escape(message.replace("axis 0", "axis 1").replace("(3, 2)", "(2, 3)"))):
        ones(2, 3, device=device)[:, index]


def test_non_integer_index_arrays_are_refused(device):
    x = ones(3, device=device)
    with pytest.raises(TypeError, match="getitem: index arrays must hold integers, got dtype float64$"):
        x[np.array([0.0, 1.0])]
    with pytest.raises(TypeError, match="getitem: boolean masks are not supported; use where"):
        x[np.array([True, False, True])]


def test_mixed_int_and_array_index_is_refused_outside_numpy():
    """The Array API has no ``x[0, :, idx]``; NumPy (cpu) has, and agrees with NumPy."""
    values = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(Tensor(values)[0, :, [1, 1]].numpy(), values[0, :, [1, 1]])
    pytest.importorskip("array_api_strict")
    with pytest.raises(IndexError, match=re.escape("getitem: cannot index a tensor of shape (2, 3, 4) with")):
        Tensor(values, device="array_api_strict")[0, :, [1, 1]]


# --- dtypes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_or_bool_tensor_cannot_require_grad(device, dtype):
    message = f"requires_grad=True needs a floating tensor, got dtype {dtype} (shape (2,))"
    with pytest.raises(TypeError, match=re.escape(message)):
        Tensor(np.array([1, 0]), dtype=dtype, device=device, requires_grad=True)
    with pytest.raises(TypeError, match=re.escape(message)):
        Tensor(np.array([1, 0]), dtype=dtype, device=device).requires_grad_()
    with pytest.raises(TypeError, match="requires_grad=True needs a floating tensor, got dtype int64"):
        tg.arange(3, device=device).requires_grad_()


@pytest.mark.parametrize(
    ("name", "op"),
    [
        ("add", lambda a, b: a + b),
        ("mul", lambda a, b: b * a),
        ("matmul", lambda a, b: a @ b),
        ("maximum", lambda a, b: a.maximum(b)),
        ("cat", lambda a, b: tg.cat([a, b])),
        ("where", lambda a, b: tg.where(a > 0, a, b)),
    ],
)
def test_float32_and_float64_never_mix_silently(device, name, op):
    a, b = ones(2, 2, device=device, dtype="float32"), ones(2, 2, device=device, dtype="float64")
    with pytest.raises(
        TypeError, match=rf"^{name}: cannot mix float32 and float64 tensors.*\(2, 2\) float32.*\.double\(\)"
    ):
        op(a, b)


def test_a_float64_ndarray_does_not_mix_with_a_float32_tensor():
    x = Tensor([1.0, 2.0])  # float32
    with pytest.raises(TypeError, match="cannot mix float32 and float64"):
        x + np.ones(2)
    with pytest.raises(TypeError, match="cannot mix float32 and float64"):
        np.ones(2) * x  # ndarray on the left: Tensor.__rmul__ answers, not NumPy
    assert dtype_name((np.ones(2, np.float32) * x).dtype) == "float32"


SCALAR_EXPRESSIONS = {
    "x + 2.0": lambda x: x + 2.0,
    "2.0 - x": lambda x: 2.0 - x,
    "x * 1e-3": lambda x: x * 1e-3,
    "x / 3": lambda x: x / 3,
    "3 / x": lambda x: 3 / x,
    "x ** 2": lambda x: x**2,
    "x ** 0.5": lambda x: x**0.5,
    "2.0 ** x": lambda x: 2.0**x,
    "x.maximum(0.5)": lambda x: x.maximum(0.5),
    "where(x > 1, x, 0.0)": lambda x: tg.where(x > 1, x, 0.0),
    "x.clip(0.5, 1.5)": lambda x: x.clip(0.5, 1.5),
    "x.pad(((1, 0),), 2.0)": lambda x: x.pad(((1, 0),), 2.0),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("expression", SCALAR_EXPRESSIONS)
def test_a_python_scalar_never_changes_the_dtype_forward_or_backward(device, dtype, expression):
    x = Tensor(np.array([0.5, 1.0, 2.0]), dtype=dtype, requires_grad=True, device=device)
    y = SCALAR_EXPRESSIONS[expression](x)
    assert dtype_name(y.dtype) == dtype
    y.sum().backward()
    assert dtype_name(x.grad.dtype) == dtype


@pytest.mark.parametrize(
    ("expression", "expected", "dtype"),
    [
        (lambda x: x * 0.5, [0.5, 1.0, 1.5], "float32"),  # never truncated to [0, 1, 1]
        (lambda x: 0.5 * x, [0.5, 1.0, 1.5], "float32"),
        (lambda x: x / 2, [0.5, 1.0, 1.5], "float32"),  # true division, float32 on every device
        (lambda x: 3 / x, [3.0, 1.5, 1.0], "float32"),
        (lambda x: x + 0.25, [1.25, 2.25, 3.25], "float32"),
        (lambda x: x * 2, [2, 4, 6], "int64"),  # an int scalar keeps an int tensor int
        (lambda x: x * Tensor([0.5], device=x.device), [0.5, 1.0, 1.5], "float32"),  # int tensor, float32 tensor
    ],
)
def test_integer_tensor_with_float_scalar_gives_float32(device, expression, expected, dtype):
    y = expression(Tensor([1, 2, 3]).to(device))
    assert dtype_name(y.dtype) == dtype
    np.testing.assert_array_equal(y.numpy(), expected)


@pytest.mark.parametrize(
    ("expression", "reference"),
    [
        (lambda x: x.exp(), np.exp),
        (lambda x: x.log(), np.log),
        (lambda x: x.sqrt(), np.sqrt),
        (lambda x: x.tanh(), np.tanh),
        (lambda x: x.sigmoid(), lambda v: 1 / (1 + np.exp(-v))),
        (lambda x: x.softmax(), lambda v: np.exp(v) / np.exp(v).sum()),
        (lambda x: x.log_softmax(), lambda v: v - np.log(np.exp(v).sum())),
        (lambda x: x.logsumexp(), lambda v: np.log(np.exp(v).sum())),
        (lambda x: x.mean(), np.mean),
        (lambda x: x.clip(0.5, 2.5), lambda v: np.clip(v, 0.5, 2.5)),
        (lambda x: x.clip(np.float64(0.5)), lambda v: np.clip(v, 0.5, None)),  # a NumPy bound: no float64
    ],
)
def test_float_functions_of_an_integer_tensor_give_float32_on_every_device(device, expression, reference):
    y = expression(Tensor([1, 2, 3]).to(device))
    assert dtype_name(y.dtype) == "float32"
    np.testing.assert_allclose(y.numpy(), reference(np.array([1.0, 2.0, 3.0])), rtol=1e-6)


def test_integer_functions_of_an_integer_tensor_stay_integer(device):
    x = Tensor([-1, 2, 3], device=device)
    for y in (x.abs(), x.relu(), x.clip(0, 2), x.clip(np.int64(0)), x.sum(), x.max(), -x, x[1:], tg.where(x > 0, 1, 0)):
        assert dtype_name(y.dtype) == "int64"


def test_where_of_two_numbers_and_clip_with_tensor_bounds(device):
    condition = Tensor([True, False], device=device)
    y = tg.where(condition, 1.0, 0.0)
    assert (dtype_name(y.dtype), y.device, y.tolist()) == ("float32", device, [1.0, 0.0])
    with pytest.raises(
        TypeError, match=r"clip: bounds must be numbers, got Tensor\(.*use x\.maximum\(lo\)\.minimum\(hi\)"
    ):
        ones(2, device=device).clip(ones(1, device=device))


def test_where_needs_a_bool_condition(device):
    x = ones(3, device=device)
    with pytest.raises(TypeError, match="where: the condition must be a bool array, got dtype int64$"):
        tg.where(Tensor(np.array([1, 0, 1]), device=device), x, x)


# --- devices -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "op"),
    [
        ("add", lambda a, b: a + b),
        ("matmul", lambda a, b: b @ a),
        ("cat", lambda a, b: tg.cat([a, b])),
        ("where", lambda a, b: tg.where(b > 0, a, b)),
        ("linear", lambda a, b: tg.linear(a, b)),
    ],
)
def test_tensors_on_different_devices_name_both_devices(name, op):
    pytest.importorskip("array_api_strict")
    cpu, strict = ones(2, 2), ones(2, 2, device="array_api_strict")
    with pytest.raises(DeviceError, match=rf"^{name}: tensors on different devices: '(cpu|array_api_strict)' and '"):
        op(cpu, strict)
    with pytest.raises(DeviceError, match=r"move one with \.to\("):
        op(strict, cpu)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Tensor([1.0], device="cuda"),
        lambda: tg.zeros(2, device="cuda"),
        lambda: tg.randn(2, device="gpu"),
        lambda: Tensor([1.0]).to("cuda"),
    ],
)
def test_cuda_without_cupy_says_how_to_install(monkeypatch, make):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now fails, as on a machine without it
    with pytest.raises(DeviceError, match=r"device 'cuda' needs CuPy.*pip install '?tinygrad-rnn\[cuda\]"):
        make()


def test_unknown_device():
    with pytest.raises(DeviceError, match="unknown device 'tpu': use 'cpu', 'cuda' or 'array_api_strict'"):
        Tensor([1.0], device="tpu")


# --- construction ------------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["abc", [1, "a"], None, {"a": 1}, [object()]], ids=repr)
def test_non_numeric_input(data):
    with pytest.raises(TypeError, match=r"Tensor: expected numbers \(bool, int or float\), got data of type"):
        Tensor(data)


@pytest.mark.parametrize("data", [[[1, 2], [3]], [[1.0], [2.0, 3.0]], [1, [2]]], ids=repr)
def test_ragged_input(data):
    with pytest.raises(ValueError, match=r"Tensor: the data is ragged \(rows of different lengths\)"):
        Tensor(data)


# --- backward ----------------------------------------------------------------------------------
def test_backward_on_a_non_scalar_says_to_pass_grad_or_reduce(device):
    y = Tensor(np.ones((2, 3)), requires_grad=True, device=device) * 2
    with pytest.raises(RuntimeError, match=re.escape("backward: a tensor of shape (2, 3) is not a scalar; pass grad=")):
        y.backward()
    with pytest.raises(ValueError, match=re.escape("backward: grad has shape (3,) and dtype")):
        y.backward(Tensor(np.ones(3), device=device))


def test_backward_without_a_graph(device):
    with pytest.raises(RuntimeError, match="backward: this tensor does not require grad"):
        ones(1, device=device).sum().backward()


def test_second_backward_through_a_freed_graph_names_the_op():
    x = Tensor(np.array([1.0]), requires_grad=True)
    with tg.scope("t=0"):
        y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward: op 'sum' \(scope 't=0'\) was already backpropagated"):
        y.backward()


# --- an op's own diagnosis when the array library refuses (Function.refused) --------------------
class _Scale(Function):
    """y = a * b, saying in its own words what is wrong when NumPy refuses the operands."""

    calls = 0

    def forward(self, a, b):
        return a * b

    def refused(self, a, b):
        _Scale.calls += 1
        raise ValueError(f"scale: {a.shape} and {b.shape} do not broadcast")


class _Plain(_Scale):
    refused = Function.refused  # the default: let the array library's own error through


def test_refused_is_asked_only_when_forward_raises_and_its_error_wins():
    _Scale.calls = 0
    assert _Scale.apply(ones(2, 3), ones(3)).shape == (2, 3)
    assert _Scale.calls == 0  # the happy path never asks
    with pytest.raises(ValueError, match=re.escape("scale: (2, 3) and (2,) do not broadcast")):
        _Scale.apply(ones(2, 3), ones(2))
    assert _Scale.calls == 1


def test_the_default_refused_lets_the_array_librarys_error_through():
    with pytest.raises(ValueError, match="could not be broadcast"):
        _Plain.apply(ones(2, 3), ones(2))


def test_an_error_that_is_not_a_refusal_is_not_diagnosed():
    class Broken(_Scale):
        def forward(self, a, b):
            raise KeyError("a bug in the op")

    _Scale.calls = 0
    with pytest.raises(KeyError, match="a bug in the op"):
        Broken.apply(ones(2), ones(2))
    assert _Scale.calls == 0


# --- gradcheck ---------------------------------------------------------------------------------
class _WrongSquare(Function):
    """y = x^2 with a wrong backward (x instead of 2x), to see gradcheck catch it."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, grad):
        (x,) = self.saved
        return (grad * x,)


def test_gradcheck_names_the_input_the_index_and_both_values(device):
    x = Tensor(np.array([1.0, 2.0]), device=device)
    w = Tensor(np.array([3.0, -1.0]), requires_grad=True, device=device)
    pattern = (
        r"gradcheck: input 1 \(shape \(2,\)\) at index \(0,\): engine gradient .*2\.0.* but finite difference 3\.99"
    )
    with pytest.raises(GradcheckError, match=pattern):
        tg.gradcheck(lambda x, w: _WrongSquare.apply(w - x).sum(), x, w)


def test_gradcheck_wants_float64_and_something_to_check():
    with pytest.raises(TypeError, match="gradcheck: input 0 has dtype float32; use float64 inputs"):
        tg.gradcheck(lambda x: x * 2, Tensor([1.0], requires_grad=True))
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        tg.gradcheck(lambda x: x * 2, Tensor(np.array([1.0])))


# --- constructor arguments (issue 10: each was an internal error before) -------------------------
@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: tg.randn(-1), ValueError, "randn: size must be an int >= 0, got -1"),
        (lambda: tg.zeros(2, -3), ValueError, "zeros: size[1] must be an int >= 0, got -3"),
        (lambda: tg.ones(3.5), TypeError, "ones: size must be ints or one tuple of ints, got 3.5 (float)"),
        (lambda: tg.rand("3"), TypeError, "rand: size must be ints or one tuple of ints, got '3' (str)"),
        (lambda: tg.zeros((2, 3.0)), TypeError, "zeros: size[1] must be an int, got 3.0 (float)"),
        (lambda: tg.full(-1, 2.0), ValueError, "full: size must be an int >= 0, got -1"),
        (lambda: tg.eye(2.5), TypeError, "eye: n must be an int, got 2.5 (float)"),
        (lambda: tg.nn.Linear(3.5, 4), TypeError, "Linear: in_features must be an int, got 3.5 (float)"),
        (lambda: tg.nn.Linear(3, "4"), TypeError, "Linear: out_features must be an int, got '4' (str)"),
        (lambda: tg.nn.Linear(-1, 4), ValueError, "Linear: in_features must be an int >= 0, got -1"),
        (lambda: tg.nn.Embedding(10, 2.0), TypeError, "Embedding: embedding_dim must be an int, got 2.0 (float)"),
        (lambda: tg.nn.RNN(3, "4"), TypeError, "RNN: hidden_size must be an int, got '4' (str)"),
        (lambda: tg.nn.LSTM(3.0, 4), TypeError, "LSTM: input_size must be an int, got 3.0 (float)"),
        (lambda: tg.nn.GRU(3, 4, num_layers=0), ValueError, "GRU: num_layers must be an int >= 1, got 0"),
        (lambda: tg.nn.GRU(3, 4, dropout=1.0), ValueError, "GRU: dropout must be a probability in [0, 1), got 1.0"),
        (lambda: tg.nn.Dropout("a"), TypeError, "Dropout: p must be a number, got 'a' (str)"),
        (lambda: tg.nn.RNNCell(2.5, 4), TypeError, "RNNCell: input_size must be an int, got 2.5 (float)"),
        (lambda: tg.nn.LSTMCell("3", 4), TypeError, "LSTMCell: input_size must be an int, got '3' (str)"),
        (lambda: tg.nn.GRUCell(3, True), TypeError, "GRUCell: hidden_size must be an int, got True (bool)"),
        (lambda: tg.nn.GRUCell(3, 0), ValueError, "GRUCell: hidden_size must be an int >= 1, got 0"),
    ],
)
def test_bad_sizes_name_the_function_the_argument_and_the_value(make, error, message):
    with pytest.raises(error, match="^" + re.escape(message)):
        make()


def test_linear_with_no_input_features_is_allowed_as_in_pytorch():
    """PyTorch allows ``Linear(0, 4)`` (weight (4, 0), bias 0, output = bias); so do we: it was a
    ZeroDivisionError inside the initialiser."""
    layer = tg.nn.Linear(0, 4)
    assert layer.weight.shape == (4, 0) and layer.bias.tolist() == [0.0] * 4
    assert layer(tg.zeros(2, 0)).tolist() == [[0.0] * 4] * 2


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda w: tg.optim.SGD([w], lr=None), TypeError, "SGD: lr must be a number, got None (NoneType)"),
        (lambda w: tg.optim.SGD([w], lr="0.1"), TypeError, "SGD: lr must be a number, got '0.1' (str)"),
        (lambda w: tg.optim.SGD([w], lr=float("inf")), ValueError, "SGD: lr must be a finite number >= 0, got inf"),
        (lambda w: tg.optim.Adam([w], lr=-0.1), ValueError, "Adam: lr must be a finite number >= 0, got -0.1"),
        (lambda w: tg.optim.RMSprop([w], alpha=None), TypeError, "RMSprop: alpha must be a number, got None"),
        (lambda w: tg.optim.Adam([w], betas=(0.9,)), ValueError, "Adam: betas must be a pair (a, b), got 1 values"),
        (lambda w: tg.optim.AdamW([w], betas=0.9), TypeError, "AdamW: betas must be a pair (a, b), got 0.9 (float)"),
        (lambda w: tg.optim.Adam([w], betas=(0.9, 1.0)), ValueError, "Adam: betas[1] must be a finite number >= 0"),
    ],
)
def test_bad_hyperparameters_name_the_optimizer_and_the_argument(make, error, message):
    with pytest.raises(error, match="^" + re.escape(message)):
        make(tg.zeros(2, requires_grad=True))


def test_bad_scheduler_factors_and_state_dicts_are_refused():
    opt = tg.optim.SGD([tg.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=re.escape("ExponentialLR: gamma must be a finite number > 0, got -1")):
        tg.optim.lr_scheduler.ExponentialLR(opt, gamma=-1)
    with pytest.raises(TypeError, match=re.escape("StepLR: step_size must be an int, got 2.5 (float)")):
        tg.optim.lr_scheduler.StepLR(opt, step_size=2.5)
    with pytest.raises(TypeError, match=r"^Linear\.load_state_dict: state must be a dict .* got list"):
        tg.nn.Linear(2, 2).load_state_dict([1, 2])
    with pytest.raises(TypeError, match=r"^SGD\.load_state_dict: state_dict must be the dict .* got list"):
        opt.load_state_dict([1, 2])
    with pytest.raises(RuntimeError, match=r"weight: Tensor: expected numbers"):  # names the key
        tg.nn.Linear(1, 1).load_state_dict({"weight": [["a"]], "bias": [0.0]})


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_a_sequence_of_no_steps_is_a_clear_error(kind, batch_first):
    layer = getattr(tg.nn, kind)(2, 3, batch_first=batch_first)
    shape = (1, 0, 2) if batch_first else (0, 1, 2)
    with pytest.raises(
        ValueError, match=rf"^{kind}: the input of shape {re.escape(str(shape))} has a sequence length T = 0"
    ):
        layer(tg.zeros(*shape))


def test_argmax_of_nothing_and_variance_of_one_number_are_clear_errors():
    with pytest.raises(ValueError, match=re.escape("argmax: cannot take the argmax of an empty tensor of shape (0,)")):
        tg.zeros(0).argmax()
    with pytest.raises(
        ValueError, match=re.escape("argmin: cannot take the argmin of an empty tensor of shape (2, 0) along axis 1")
    ):
        tg.zeros(2, 0).argmin(axis=1)
    assert tg.zeros(2, 0).argmax(axis=0).shape == (0,)  # nothing reduced over an empty axis: fine
    with pytest.raises(ValueError, match=r"^var: 1 element\(s\) per result and correction=1 leave N - correction = 0"):
        Tensor(1.0).var()
    assert Tensor(1.0).var(correction=0).item() == 0.0
