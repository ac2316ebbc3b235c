"""Optimizers and learning-rate schedulers: PyTorch parity step by step, convergence, dtypes, devices."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

SHAPES = [(3, 4), (4,), ()]  # a matrix, a vector and a scalar parameter

# (optimizer name, keyword arguments): every option of every optimizer, each against torch.optim
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.5)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-3)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'defaults'}" for name, kwargs in CASES]


def _gradient_sequence(steps, rng):
    """A gradient per parameter per step; the scalar parameter has no gradient at step 2 (skipped)."""
    grads = [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(steps)]
    grads[2][2] = None
    return grads


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_matches_torch_step_by_step(name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    initial = [rng.standard_normal(shape) for shape in SHAPES]
    ours = [Tensor(a.copy(), requires_grad=True) for a in initial]  # float64
    theirs = [torch.tensor(a, requires_grad=True) for a in initial]
    opt = getattr(tg.optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    for step, grads in enumerate(_gradient_sequence(5, rng)):
        opt.zero_grad()
        ref.zero_grad()
        for p, q, g in zip(ours, theirs, grads):
            if g is not None:
                p.grad, q.grad = Tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=f"step {step}")
            # the state has PyTorch's names and values (momentum_buffer, exp_avg, square_avg, ...)
            assert set(opt.state.get(id(p), {})) == set(ref.state[q]), f"step {step}, param {i}"
            for key, value in opt.state.get(id(p), {}).items():
                expected = ref.state[q][key]
                if key == "step":
                    assert value == int(expected), f"step {step}, param {i}"
                else:
                    np.testing.assert_allclose(value, expected.numpy(), rtol=1e-12, atol=1e-12, err_msg=key)
    # the step without a gradient was skipped by both (the values and states above agree at each step)


def test_step_with_a_closure_recomputes_the_loss_and_returns_it():
    w = Tensor([2.0], requires_grad=True)
    optimizer = tg.optim.SGD([w], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()  # dL/dw = 2w
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 4.0  # the loss before the update
    assert w.item() == 1.0  # 2 - 0.25 * 4
    assert optimizer.step() is None


def test_parameter_groups_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    initial = [rng.standard_normal((2, 3)) for _ in range(3)]
    ours = [Tensor(a.copy(), requires_grad=True) for a in initial]
    theirs = [torch.tensor(a, requires_grad=True) for a in initial]

    def groups(p):
        return [{"params": p[:2]}, {"params": p[2:], "lr": 0.001, "betas": (0.5, 0.6)}]

    opt, ref = tg.optim.Adam(groups(ours), lr=0.1), torch.optim.Adam(groups(theirs), lr=0.1)
    for _ in range(4):
        grads = [rng.standard_normal((2, 3)) for _ in range(3)]
        for p, q, g in zip(ours, theirs, grads):
            p.grad, q.grad = Tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "args"),
    [("StepLR", dict(step_size=3, gamma=0.5)), ("StepLR", dict(step_size=1)), ("ExponentialLR", dict(gamma=0.9))],
)
def test_scheduler_lr_sequence_matches_torch(name, args):
    torch = pytest.importorskip("torch")
    opt = tg.optim.SGD([{"params": [tg.zeros(1, requires_grad=True)]}, {"params": [tg.zeros(1, requires_grad=True)]}])
    opt.param_groups[1]["lr"] = 0.3  # two groups with different initial learning rates
    ref = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]}, {"params": [torch.zeros(1)]}])
    ref.param_groups[1]["lr"] = 0.3
    ours = getattr(tg.optim.lr_scheduler, name)(opt, **args)
    theirs = getattr(torch.optim.lr_scheduler, name)(ref, **args)
    for _ in range(10):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
        assert [g["lr"] for g in opt.param_groups] == ours.get_last_lr()
        opt.step()
        ref.step()
        ours.step()
        theirs.step()


def test_scheduler_state_dict_resumes_the_sequence():
    opt = tg.optim.SGD([tg.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = tg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        scheduler.step()
    resumed_opt = tg.optim.SGD([tg.zeros(1, requires_grad=True)], lr=1.0)
    resumed = tg.optim.lr_scheduler.ExponentialLR(resumed_opt, gamma=0.5)
    resumed.load_state_dict(scheduler.state_dict())
    assert resumed.get_last_lr() == [0.125] == [resumed_opt.param_groups[0]["lr"]]


OPTIONS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05, weight_decay=1e-4)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
]


def _quadratic(device, dtype):
    """f(w) = 1/2 w^T A w - b^T w, with A symmetric positive definite: minimum at w* = A^-1 b."""
    rng = np.random.default_rng(3)
    q = rng.standard_normal((4, 4))
    a, b = (q @ q.T / 4 + np.eye(4)).astype(dtype), rng.standard_normal(4).astype(dtype)
    return Tensor(a, device=device), Tensor(b, device=device), np.linalg.solve(a.astype(np.float64), b)


@pytest.mark.parametrize(("name", "kwargs"), OPTIONS, ids=[name for name, _ in OPTIONS])
def test_minimises_a_quadratic_and_float32_stays_float32(device, name, kwargs):
    a, b, w_star = _quadratic(device, "float32")
    w = tg.zeros(4, device=device, requires_grad=True)
    opt = getattr(tg.optim, name)([w], **kwargs)
    for _ in range(400):
        opt.zero_grad()
        loss = 0.5 * (w * (a @ w)).sum() - (b * w).sum()
        loss.backward()
        opt.step()
    assert w.device == device and tg.backend.dtype_name(w.dtype) == "float32"
    for value in opt.state[id(w)].values():
        if hasattr(value, "shape"):
            assert tg.backend.dtype_name(value.dtype) == "float32"
    np.testing.assert_allclose(w.numpy(), w_star, atol=1e-2)


def test_zero_grad_sets_gradients_to_none():
    w = tg.ones(2, requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no gradient: nothing changes
    assert w.tolist() == [1.0, 1.0]


def _model_and_optimizer(name, kwargs, device="cpu"):
    rng = np.random.default_rng(4)
    params = [Tensor(rng.standard_normal(shape), device=device, requires_grad=True) for shape in SHAPES]
    return params, getattr(tg.optim, name)(params, **kwargs)


def _train(params, opt, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for p in params:
            p.grad = Tensor(rng.standard_normal(p.shape), device=p.device)
        opt.step()


@pytest.mark.parametrize(("name", "kwargs"), OPTIONS, ids=[name for name, _ in OPTIONS])
def test_state_dict_resumes_training_exactly(tmp_path, name, kwargs):
    """Save after 3 steps (through tg.save / tg.load), resume in a fresh optimizer: same weights."""
    params, opt = _model_and_optimizer(name, kwargs)
    _train(params, opt, 3, seed=5)
    tg.save(opt.state_dict(), tmp_path / "opt.npz")
    saved_weights = [p.numpy().copy() for p in params]
    _train(params, opt, 3, seed=6)

    fresh, resumed = _model_and_optimizer(name, {**kwargs, "lr": 123.0})  # lr must come from the file
    for p, w in zip(fresh, saved_weights):
        p.data = w
    resumed.load_state_dict(tg.load(tmp_path / "opt.npz"))
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    assert type(resumed.param_groups[0]["lr"]) is float
    _train(fresh, resumed, 3, seed=6)
    for p, q in zip(params, fresh):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_state_dict_loads_onto_another_device():
    params, opt = _model_and_optimizer("Adam", dict(lr=0.05))
    _train(params, opt, 2, seed=7)
    strict_params, strict_opt = _model_and_optimizer("Adam", dict(lr=0.05), device="array_api_strict")
    strict_opt.load_state_dict(opt.state_dict())
    for p in strict_params:
        for key in ("exp_avg", "exp_avg_sq"):
            assert tg.backend.backend_of(strict_opt.state[id(p)][key]).device == "array_api_strict"
    assert strict_opt.state[id(strict_params[0])]["step"] == 2


def test_state_dict_layout_is_pytorchs():
    params, opt = _model_and_optimizer("SGD", dict(lr=0.1, momentum=0.9))
    _train(params, opt, 1, seed=8)
    state = opt.state_dict()
    assert sorted(state) == ["param_groups", "state"]
    assert state["param_groups"] == [
        dict(lr=0.1, momentum=0.9, dampening=0, nesterov=False, weight_decay=0, params=[0, 1, 2])
    ]
    assert sorted(state["state"]) == [0, 1, 2] and list(state["state"][0]) == ["momentum_buffer"]


def test_load_state_dict_rejects_a_mismatch_and_changes_nothing():
    params, opt = _model_and_optimizer("Adam", dict(lr=0.05))
    _train(params, opt, 1, seed=9)
    before = opt.state_dict()
    other_params, other = _model_and_optimizer("Adam", dict(lr=0.5))
    _train(other_params, other, 2, seed=9)

    wrong_shape = other.state_dict()
    wrong_shape["state"][0]["exp_avg"] = tg.zeros(5, dtype="float64")
    with pytest.raises(ValueError, match=r"exp_avg.*shape \(5,\).*\(3, 4\)"):
        opt.load_state_dict(wrong_shape)
    with pytest.raises(ValueError, match="3 parameters in the state dict, 2"):
        tg.optim.Adam(params[:2]).load_state_dict(before)
    with pytest.raises(ValueError, match="model's state dict"):
        opt.load_state_dict({"weight": tg.zeros(3)})
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert after["state"][0]["step"] == 1
    np.testing.assert_array_equal(after["state"][0]["exp_avg"].numpy(), before["state"][0]["exp_avg"].numpy())


def test_bad_arguments_raise_clear_errors():
    w = tg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        tg.optim.SGD([])
    with pytest.raises(TypeError, match="iterable of tensors"):
        tg.optim.SGD(w)
    with pytest.raises(ValueError, match="does not require grad"):
        tg.optim.SGD([tg.zeros(2)])
    with pytest.raises(ValueError, match="leaf"):
        tg.optim.SGD([w * 2])
    with pytest.raises(ValueError, match="appears twice"):
        tg.optim.SGD([w, w])
    with pytest.raises(ValueError, match="Nesterov"):
        tg.optim.SGD([w], nesterov=True)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0, got -1.0"):
        tg.optim.Adam([w], lr=-1.0)
    with pytest.raises(ValueError, match="beta"):
        tg.optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        tg.optim.SGD([{"params": [w], "momentun": 0.9}])
    w.grad = tg.zeros(3)
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\)"):
        tg.optim.SGD([w]).step()
