"""Every op, generated from its declaration in tests/op_specs.py, on NumPy and array-api-strict.

For each declared op and each backend (the ``device`` fixture), hypothesis draws shapes,
parameters and values, and checks that

* the forward pass equals the NumPy reference (float64);
* every input's gradient equals central finite differences in float64 (``tg.gradcheck``);
* float32 inputs give float32 outputs and gradients, close to the float64 ones;
* backward leaves the inputs unchanged, and no gradient shares memory with an input or with
  another gradient;

and that every op class of ``tinygrad_rnn.ops`` is declared. A few cases worth stating by
hand follow (repeated indices, casts, ties, large softmax inputs).
"""

import functools
from unittest import mock

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_rnn as tg
from tests.op_specs import SPECS, as_tuple, cases, given_settings, single_output
from tinygrad_rnn import Tensor, autograd
from tinygrad_rnn.backend import dtype_name
from tinygrad_rnn.function import Function

FLOAT32 = {"rtol": 1e-4, "atol": 1e-5}  # float32 rounding over at most a few dozen terms


def _host(array):
    """The NumPy view of a backend array's memory (zero-copy), to test aliasing."""
    return array if isinstance(array, np.ndarray) else np.from_dlpack(array)


@pytest.mark.parametrize("spec", SPECS, ids=str)
@given_settings
@given(data=st.data())
def test_forward_matches_numpy(spec, device, data):
    case = data.draw(cases(spec), label="case")
    outs = as_tuple(spec.op(*case.tensors(device, requires_grad=False), **case.params))
    expected = as_tuple(spec.reference(*case.arrays, **case.params))
    assert len(outs) == len(expected)
    for out, want in zip(outs, expected):
        want = np.asarray(want)
        assert (out.shape, out.device, dtype_name(out.dtype)) == (want.shape, device, "float64")
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=str)
@given_settings
@given(data=st.data())
def test_gradients_match_finite_differences(spec, device, data):
    case = data.draw(cases(spec), label="case")
    fn = functools.partial(single_output(spec.op), **case.params)
    assert tg.gradcheck(fn, *case.tensors(device), eps=spec.eps)


@pytest.mark.parametrize("spec", SPECS, ids=str)
@given_settings
@given(data=st.data())
def test_backward_returns_one_gradient_per_input(spec, device, data):
    """The engine's fast path takes a tuple of exactly one gradient per input; anything else (a list,
    an extra None for an input that was not given) sends every call through a slower check."""
    case = data.draw(cases(spec), label="case")

    def not_one_per_input(op, input_grads):
        raise AssertionError(f"backward of {op.name} returned {type(input_grads).__name__} for {len(op.inputs)} inputs")

    with mock.patch.object(autograd, "_protocol_checked", not_one_per_input):
        outs = as_tuple(spec.op(*case.tensors(device), **case.params))
        sum(y.sum() for y in outs).backward()


def _forward_backward(spec, case, device, dtype):
    """Outputs, inputs and gradients of sum_k sum(w_k * y_k) for fixed random weights w_k."""
    inputs = case.tensors(device, dtype)
    before = [x.numpy().copy() for x in inputs]
    outs = as_tuple(spec.op(*inputs, **case.params))
    rng = np.random.default_rng(0)
    loss = sum((y * Tensor(rng.standard_normal(y.shape), dtype=dtype, device=device)).sum() for y in outs)
    loss.backward()
    for x, values in zip(inputs, before):
        np.testing.assert_array_equal(x.numpy(), values, err_msg=f"{spec.name} changed its input")
    return outs, inputs


@pytest.mark.parametrize("spec", SPECS, ids=str)
@given_settings
@given(data=st.data())
def test_float32_stays_float32_and_backward_mutates_and_aliases_nothing(spec, device, data):
    case = data.draw(cases(spec), label="case")
    outs32, inputs32 = _forward_backward(spec, case, device, "float32")
    outs64, inputs64 = _forward_backward(spec, case, device, "float64")
    for out32, out64 in zip(outs32, outs64):
        assert dtype_name(out32.dtype) == "float32"
        np.testing.assert_allclose(out32.numpy(), out64.numpy(), **FLOAT32)
    for inputs in (inputs32, inputs64):
        for x in inputs:
            assert x.grad is not None and x.grad.shape == x.shape and x.grad.device == device
            assert dtype_name(x.grad.dtype) == dtype_name(x.dtype)
        buffers = [_host(x.data) for x in inputs] + [_host(x.grad.data) for x in inputs]
        for i, a in enumerate(buffers):
            for b in buffers[i + 1 :]:
                assert not np.shares_memory(a, b), f"{spec.name}: a gradient aliases an input or another gradient"
    for x32, x64 in zip(inputs32, inputs64):
        np.testing.assert_allclose(x32.grad.numpy(), x64.grad.numpy(), **FLOAT32)


def _op_classes():
    """Every concrete op (a Function with its own backward) defined in tinygrad_rnn.ops."""
    found, stack = set(), [Function]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("tinygrad_rnn.ops.") and cls.backward is not Function.backward:
            found.add(cls.name)
    return found


@settings(max_examples=1)
@given(data=st.data())
def test_every_op_of_the_library_is_declared_in_a_spec(data):
    recorded = set()
    for spec in SPECS:
        case = data.draw(cases(spec), label=spec.name)
        outs = as_tuple(spec.op(*case.tensors("cpu"), **case.params))
        recorded |= {t.op for t in tg.walk(*outs) if t.op}
    missing = _op_classes() - recorded
    assert not missing, f"ops without a declaration in tests/op_specs.py: {sorted(missing)}"


# --- a few cases worth stating by hand ---------------------------------------------------------
@pytest.mark.parametrize("make_index", [list, np.array, Tensor], ids=["list", "ndarray", "tensor"])
def test_repeated_indices_add_up_in_the_gradient(device, make_index):
    x = Tensor(np.arange(4.0), requires_grad=True, device=device)
    index = make_index([0, 0, 3, 0, -1])
    if isinstance(index, Tensor):
        index = index.to(device)
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 0.0, 2.0])


def test_embedding_lookup_gradient_sums_rows_of_repeated_tokens(device):
    table = Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True, device=device)
    tokens = Tensor(np.array([[1, 2], [1, 1]]), device=device)
    (table[tokens] * 2).sum().backward()
    np.testing.assert_array_equal(table.grad.numpy(), [[0, 0, 0], [6, 6, 6], [2, 2, 2], [0, 0, 0]])


@pytest.mark.parametrize(("source", "target"), [("float64", "float32"), ("float32", "float64")])
def test_cast_backward_returns_the_gradient_in_the_input_dtype(device, source, target):
    x = Tensor(np.array([1.5, -2.0]), dtype=source, requires_grad=True, device=device)
    y = x.to(target)
    assert dtype_name(y.dtype) == target
    y.backward(Tensor(np.array([0.25, 3.0]), dtype=target, device=device))
    assert dtype_name(x.grad.dtype) == source
    np.testing.assert_array_equal(x.grad.numpy(), [0.25, 3.0])


def test_max_shares_the_gradient_equally_between_ties(device):
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), requires_grad=True, device=device)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


def test_softmax_family_is_stable_for_large_inputs(device):
    x = Tensor(np.array([[1000.0, 0.0, -1000.0]]), requires_grad=True, device=device)
    np.testing.assert_allclose(x.softmax().numpy(), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(x.log_softmax().numpy(), [[0.0, -1000.0, -2000.0]])
    np.testing.assert_allclose(x.logsumexp(axis=1).numpy(), [1000.0])
    assert tg.gradcheck(lambda x: x.log_softmax(axis=1), x)
