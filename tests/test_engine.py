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
    with pytest.raises(RuntimeError):
        y.backward()  # freed graph: raises inside the paused section
    del y  # the graph is gone: the collector runs again (tests/test_collector.py has the rest)
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


# --- in-place changes between forward and backward ------------------------------------------------
def test_an_in_place_change_of_a_saved_array_is_refused_by_backward():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    x = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    loss = (w * x).sum()  # mul saves w's and x's arrays
    w.data *= 10
    with pytest.raises(
        RuntimeError, match=r"a tensor saved for backward by op 'mul' .* modified in place .*its input 0"
    ):
        loss.backward()


def test_an_in_place_change_of_a_saved_output_is_refused():
    x = Tensor(np.array([0.5, -0.3]), requires_grad=True)
    y = x.tanh()  # tanh saves its output y
    loss = (y + 2.0).sum()  # add saves nothing, so only tanh is hit
    y.data += 1
    with pytest.raises(RuntimeError, match=r"op 'tanh' .*its output"):
        loss.backward()


def test_in_place_changes_that_cannot_change_a_gradient_pass():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w + 1.0).sum()  # add saves nothing: its gradient does not depend on w
    w.data *= 10
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])
    # an out-of-place change leaves the recorded op its old values: the gradient is at the old w
    w, x = Tensor(np.array([1.0, 2.0]), requires_grad=True), Tensor(np.array([3.0, 4.0]), requires_grad=True)
    loss = (w * x).sum()
    w.data = w.data * 10
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])
    # the usual loop: backward, an in-place update, then a new forward and backward
    w.data -= 0.5 * w.grad.data
    (w * x).sum().backward()


def test_an_in_place_change_before_the_op_ran_is_fine_and_retained_graphs_are_checked():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w.data *= 2
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 8.0])
    w.data -= 1.0  # an optimizer step, then a second backward through the old graph
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


# --- the Function protocol: clear errors ----------------------------------------------------------
class BareArray(tg.Function):
    def forward(self, x):
        return x * 2

    def backward(self, grad):
        return grad * 2  # should be (grad * 2,)


def test_backward_returning_a_bare_array_says_what_the_protocol_wants():
    x = Tensor(np.ones(4), requires_grad=True)
    with pytest.raises(TypeError, match=r"backward of op 'barearray' returned a ndarray; .*tuple .*\(grad_x,\)"):
        BareArray.apply(x).sum().backward()


def test_apply_on_a_number_says_it_wants_tensors():
    with pytest.raises(TypeError, match=r"barearray.apply: expected Tensors .*got float.*Tensor\(\.\.\.\)"):
        BareArray.apply(0.5)
    with pytest.raises(TypeError, match=r"got nothing"):
        BareArray.apply()


def test_gradients_of_a_wrong_shape_or_kind_are_named():
    class WrongShape(tg.Function):
        def forward(self, x):
            return x * 1

        def backward(self, grad):
            return (grad[:2],)

    class ReturnsTensor(tg.Function):
        def forward(self, x):
            return Tensor(x)

    x = Tensor(np.ones(4), requires_grad=True)
    with pytest.raises(
        ValueError, match=r"op 'wrongshape' returned a gradient of shape \(2,\) for input 0, which has shape \(4,\)"
    ):
        WrongShape.apply(x).sum().backward()
    with pytest.raises(TypeError, match=r"forward of op 'returnstensor' returned a Tensor"):
        ReturnsTensor.apply(x)


def test_gradcheck_of_a_function_returning_numpy_says_it_needs_a_tensor():
    x = Tensor(np.array([0.3, -1.2]), requires_grad=True)
    with pytest.raises(TypeError, match=r"gradcheck: fn must return a Tensor .*got a ndarray"):
        tg.gradcheck(lambda x: np.tanh(x.numpy()), x)


def test_gradient_over_new_axes_of_size_one_is_the_sum_and_owns_its_memory():
    """A bias added to a batch of 1 (new leading axes of size 1): its gradient is a reshape of the
    upstream gradient (nothing to add up), equal to the sum, and never shares memory with the
    other operand's .grad, nor with the array backward was seeded with."""
    x = Tensor(np.ones((1, 1, 3)), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    empty_x, empty_b = Tensor(np.ones((1, 0)), requires_grad=True), Tensor(np.zeros(0), requires_grad=True)
    seed = np.array([[[1.0, 2.0, 3.0]]])
    (x + b).backward(seed)
    (empty_x + empty_b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), seed.sum(axis=(0, 1)))
    assert b.grad.shape == (3,) and empty_b.grad.shape == (0,)
    assert not np.shares_memory(b.grad.data, x.grad.data) and not np.shares_memory(b.grad.data, seed)
    b.grad.data *= 10  # an in-place change of one gradient leaves the other alone
    np.testing.assert_array_equal(x.grad.numpy(), seed)
