"""The autodiff engine: accumulation, BPTT as a sum over time, freeing, no_grad, detach."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, no_grad


def test_shared_weight_gets_sum_of_gradients_over_three_time_steps():
    """h_t = tanh(w h_{t-1} + x_t): dL/dw is the sum of three chain-rule paths, one per step."""
    w = Tensor(np.array(0.7), requires_grad=True)
    xs = [0.5, -1.0, 0.25]
    h = Tensor(np.array(0.3))
    for x in xs:
        h = (w * h + x).tanh()
    h.backward()

    hs = [0.3]
    for x in xs:
        hs.append(np.tanh(0.7 * hs[-1] + x))
    # dL/dw = sum_t dL/dh_t * (1 - h_t^2) * h_{t-1}, with dL/dh_{t-1} = dL/dh_t (1 - h_t^2) w
    paths, dh = [], 1.0
    for t in (3, 2, 1):
        dz = dh * (1 - hs[t] ** 2)
        paths.append(dz * hs[t - 1])
        dh = dz * 0.7
    assert len(paths) == 3
    assert w.grad.item() == pytest.approx(sum(paths), rel=1e-12)


def test_tensor_used_many_times_accumulates():
    x = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    (x * x + x + x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([2.0, 3.0]) + 4)


def test_gradients_accumulate_across_backward_calls_until_zero_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    x.zero_grad()
    assert x.grad is None


def test_leaf_gradients_do_not_alias():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)


def test_backward_on_a_chain_of_100000_ops():
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    del y  # freeing a 100,000-deep graph must not overflow the C stack either
    gc.collect()


def test_second_backward_through_freed_graph_raises():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = (x * x).tanh().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0])


def test_saved_arrays_are_freed_after_backward():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x.tanh()
    y.sum().backward()
    assert y.grad_fn.saved is None


def test_graph_is_released_when_the_loss_is_dropped():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x.tanh() * 2
    ref = weakref.ref(y.grad_fn.inputs[0])
    y.sum().backward()
    del y
    assert ref() is None  # no reference cycles keep intermediates alive


def test_non_scalar_backward_needs_grad():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="not a scalar"):
        (x * 2).backward()
    (x * 2).backward(Tensor(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_only_leaves_keep_grad_unless_retain_grad():
    x = Tensor(np.ones(2), requires_grad=True)
    h = x * 3
    kept = (x * 2).retain_grad()
    (h + kept).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(kept.grad.numpy(), [1.0, 1.0])


def test_no_grad_records_nothing():
    x = Tensor(np.ones(2), requires_grad=True)
    with no_grad():
        y = x * 2
    assert y.grad_fn is None and not y.requires_grad

    @no_grad()
    def f(t):
        return t.tanh()

    assert f(x).grad_fn is None
    assert tg.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = Tensor(np.array(2.0), requires_grad=True)
    y = x * x
    z = y.detach() * x
    z.backward()
    assert x.grad.item() == 4.0  # only the direct path: d(y_const * x)/dx = y


def test_stable_ids_and_scopes_and_walk():
    x = Tensor([1.0], requires_grad=True, name="x")
    with tg.scope("layer0"):
        with tg.scope("t=1"):
            y = x.tanh()
        z = y * 2
    nodes = list(tg.walk(z))
    assert [n.op or n.name for n in nodes] == ["x", "tanh", None, "mul"]
    assert y.scope == "layer0/t=1" and z.scope == "layer0"
    assert y.grad_fn.scope == "layer0/t=1"
    ids = [n.id for n in nodes]
    assert len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids)


def test_custom_function_is_public():
    class Cube(tg.Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x * x * x

        def backward(self, grad):
            (x,) = self.saved
            return (grad * 3 * x * x,)

    x = Tensor(np.array([1.5, -2.0]), requires_grad=True)
    assert Cube.apply(x).op == "cube"
    assert tg.gradcheck(lambda t: Cube.apply(t), x)


def test_cycle_collector_is_restored_after_backward_and_errors():
    import gc

    x = Tensor(np.array([1.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        y.backward()  # freed graph: raises inside the paused section
    assert gc.isenabled()
    gc.disable()
    try:
        (x * x).sum().backward()
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


def test_gradcheck_leaves_the_grad_of_other_tensors_in_fn_alone():
    """A model weight used inside fn keeps its .grad (PyTorch's gradcheck does the same)."""
    w = tg.Tensor(np.array([[0.5, -1.0]]), requires_grad=True)
    w.grad = tg.Tensor(np.array([[7.0, 8.0]]))
    x = tg.Tensor(np.array([[0.3], [0.2]]), requires_grad=True)
    assert tg.gradcheck(lambda x: (x @ w).tanh(), x)
    assert w.grad.tolist() == [[7.0, 8.0]]
    v = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert tg.gradcheck(lambda x: (x * v).sum(), x.reshape(2))
    assert v.grad is None
