"""tinygrad_rnn.compile: a replayed step computes what the eager step computes, guards capture
again when they must, and what a tape cannot repeat fails loudly (TinyJit's footguns, one test each)."""

import dataclasses
from unittest import mock

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.compiler import CaptureError
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.ops import shape as shape_ops
from tinygrad_rnn.ops.shape import GetItem

STEPS = 20


def onehot(classes, n, dtype, device):
    return tg.Tensor(np.eye(n, dtype=dtype)[classes], device=device)


def layer_problem(kind, dtype, device, optimizer="adam", **options):
    """A layer, a head, an optimizer (and a scheduler) and the step training them."""
    tg.manual_seed(0)
    layer = getattr(nn, kind)(3, 4, dtype=dtype, device=device, **options)
    directions = 2 if options.get("bidirectional") else 1
    head = nn.Linear(4 * directions, 5, dtype=dtype, device=device)
    params = [*layer.parameters(), *head.parameters()]
    if optimizer == "adam":
        opt = tg.optim.Adam(params, lr=0.02)
    else:
        opt = tg.optim.SGD(params, lr=0.1, momentum=0.9)
    scheduler = tg.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

    def step(x, target, lengths):
        opt.zero_grad()
        out, _ = layer(x, lengths=lengths)
        steps, batch, features = out.shape
        logits = head(out.reshape(steps * batch, features))
        loss = -(logits.log_softmax(-1) * target).sum() / (steps * batch)
        loss.backward()
        opt.step()
        return loss

    return step, scheduler, params


def batches(dtype, device, steps=STEPS):
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = tg.Tensor(rng.standard_normal((5, 2, 3)).astype(dtype), device=device)
        yield x, onehot(rng.integers(0, 5, 10), 5, dtype, device)


def train(compiled, make, dtype, device, lengths=None, **options):
    step, scheduler, params = make(dtype=dtype, device=device, **options)
    run = tg.compile(step) if compiled else step
    losses = []
    for x, target in batches(dtype, device):
        losses.append(run(x, target, lengths).item())
        scheduler.step()
    return np.array(losses), [p.numpy().copy() for p in params], run


def assert_same(eager, compiled, dtype):
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(compiled[0], eager[0], rtol=tolerance, atol=tolerance)
    for a, b in zip(eager[1], compiled[1]):
        np.testing.assert_allclose(b, a, rtol=tolerance, atol=tolerance)


LAYER_CASES = [
    ("RNN", {}),
    ("LSTM", {"num_layers": 2}),
    ("GRU", {"bidirectional": True}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "dropout": 0.5}),
    ("GRU", {"num_layers": 2, "dropout": 0.3}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("kind", "options"), LAYER_CASES, ids=[f"{k}-{o}" for k, o in LAYER_CASES])
def test_compiled_layers_train_as_eager(kind, options, dtype, device):
    def make(**kw):
        return layer_problem(kind, **kw, **options)

    eager = train(False, make, dtype, device)
    compiled = train(True, make, dtype, device)
    assert_same(eager, compiled, dtype)
    assert compiled[2].captures == 1 and compiled[2].replays == STEPS - 1


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_lengths_and_sgd_with_momentum(optimizer, device):
    def make(**kw):
        return layer_problem("LSTM", optimizer=optimizer, bidirectional=True, **kw)

    eager = train(False, make, "float64", device, lengths=[5, 3])
    compiled = train(True, make, "float64", device, lengths=[5, 3])
    assert_same(eager, compiled, "float64")
    assert compiled[2].captures == 1


def cell_problem(dtype, device):
    """A hand-written Elman cell, the loss taken at every step."""
    tg.manual_seed(0)
    w_xh = tg.Tensor(tg.randn(3, 4).numpy().astype(dtype) * 0.5, requires_grad=True, device=device)
    w_hh = tg.Tensor(tg.randn(4, 4).numpy().astype(dtype) * 0.5, requires_grad=True, device=device)
    w_hy = tg.Tensor(tg.randn(4, 5).numpy().astype(dtype) * 0.5, requires_grad=True, device=device)
    params = [w_xh, w_hh, w_hy]
    opt = tg.optim.SGD(params, lr=0.1, momentum=0.9)
    scheduler = tg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)

    def step(x, target, lengths=None):
        opt.zero_grad()
        h = tg.zeros(x.shape[1], 4, dtype=dtype, device=device)
        loss = 0.0
        for t in range(x.shape[0]):
            h = (x[t] @ w_xh + h @ w_hh).tanh()
            logits = h @ w_hy
            loss = loss + -(logits.log_softmax(-1) * target[t * 2 : t * 2 + 2]).sum()
        loss.backward()
        opt.step()
        return loss

    return step, scheduler, params


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_hand_written_cell_with_a_loss_at_every_step(dtype, device):
    def make(**kw):
        return cell_problem(**kw)

    assert_same(train(False, make, dtype, device), train(True, make, dtype, device), dtype)


def test_cross_entropy_class_indices_change_between_replays_and_are_checked_in_each():
    """cross_entropy reads its class indices inside its op: new indices replay the same tape (no new
    capture), with the same numbers as eagerly, ignored targets included; a bad index raises in a replay."""
    layer_step = tg.compile(lambda x, y: F.cross_entropy(x.sum(axis=0), y, ignore_index=1))
    x = tg.randn(4, 3, 5, dtype="float64")
    for y in ([0, 1, 2], [0, 3, 2], [2, 2, 0], [1, 1, 4]):
        y = tg.Tensor(y)
        eager = F.cross_entropy(x.sum(axis=0), y, ignore_index=1).item()
        assert layer_step(x, y).item() == pytest.approx(eager, abs=1e-12)
    assert layer_step.captures == 1
    with pytest.raises(IndexError, match=r"cross_entropy: target of shape \(3,\) holds \[5\].*0 to 4"):
        layer_step(x, tg.Tensor([0, 5, 2]))


# --- guards --------------------------------------------------------------------------------------
def guarded_setup():
    tg.manual_seed(0)
    layer = nn.GRU(3, 4, dropout=0.0, num_layers=2)
    opt = tg.optim.SGD(layer.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        out, _ = layer(x)
        loss = (out * out).mean()
        loss.backward()
        opt.step()
        return loss

    return layer, opt, step


def test_every_guard_captures_again_and_results_stay_equal():
    layer, opt, step = guarded_setup()
    eager_layer, eager_opt, eager_step = guarded_setup()
    compiled = tg.compile(step)

    def both(x, **_):
        ours, theirs = compiled(x).item(), eager_step(x).item()
        assert ours == pytest.approx(theirs, rel=1e-6)

    x = tg.randn(5, 2, 3)
    both(x)
    both(x)
    assert compiled.captures == 1
    changes = [
        ("shape", lambda: None, tg.randn(6, 2, 3)),
        ("dtype", lambda: [m.double() for m in (layer, eager_layer)], tg.randn(5, 2, 3, dtype="float64")),
        ("requires_grad", lambda: None, tg.randn(5, 2, 3, dtype="float64").requires_grad_()),
        ("training", lambda: [m.eval() for m in (layer, eager_layer)], tg.randn(5, 2, 3, dtype="float64")),
        ("dropout", lambda: [setattr(m, "dropout", 0.5) for m in (layer, eager_layer)], None),
        ("parameter frozen", lambda: [m.weight_hh_l1.requires_grad_(False) for m in (layer, eager_layer)], None),
    ]
    for what, change, new_x in changes:
        change()
        x = new_x if new_x is not None else x
        before = compiled.captures
        tg.manual_seed(1)
        ours = compiled(x).item()
        tg.manual_seed(1)
        theirs = eager_step(x).item()
        assert ours == pytest.approx(theirs, rel=1e-6), what
        assert compiled.captures == before + 1, what
        for _ in range(2):  # x.grad appears after the first call (x requires grad): one more capture then
            assert compiled(x).item() == pytest.approx(eager_step(x).item(), rel=1e-6), what
        replays = compiled.replays
        assert compiled(x).item() == pytest.approx(eager_step(x).item(), rel=1e-6), what
        assert compiled.replays == replays + 1, what  # and replayed from then on


def test_grad_mode_and_a_closure_value_are_guards():
    w = tg.Tensor([2.0], requires_grad=True)
    scale = 3.0

    @tg.compile
    def f(x):
        return x * w * scale

    assert f(tg.Tensor([1.0])).item() == 6.0
    scale = 5.0  # noqa: F841 - read by f through its closure
    assert f(tg.Tensor([1.0])).item() == 10.0 and f.captures == 2
    with tg.no_grad():
        assert f(tg.Tensor([1.0])).item() == 10.0
    assert f.captures == 3


def test_a_global_python_value_is_a_guard():
    namespace = {"tg": tg, "OFFSET": 1.0}
    exec("def f(x):\n    return x + OFFSET", namespace)
    f = tg.compile(namespace["f"])
    assert f(tg.Tensor([1.0])).item() == 2.0
    namespace["OFFSET"] = 4.0
    assert f(tg.Tensor([1.0])).item() == 5.0 and f.captures == 2
    assert "OFFSET" in f.last_miss


def test_the_cache_keeps_a_few_tapes():
    f = tg.compile(lambda x: x * 2, cache_size=2)
    for n in (1, 2, 1, 2, 3, 1):
        assert f(tg.ones(n)).tolist() == [2.0] * n
    assert f.captures == 4  # 1, 2 captured; 3 evicts 1; 1 again


# --- footguns ------------------------------------------------------------------------------------
def test_outputs_are_fresh_never_overwritten_by_the_next_replay():
    f = tg.compile(lambda x: (x * 2).tanh())
    first = f(tg.Tensor([0.1]))
    second = f(tg.Tensor([0.2]))
    third = f(tg.Tensor([0.3]))
    assert [first.item(), second.item(), third.item()] == pytest.approx(np.tanh([0.2, 0.4, 0.6]).tolist())
    assert first.grad_fn is None and not first.requires_grad


def test_comparisons_and_argmax_are_replayed_never_stale():
    """A comparison or an argmax inside a step is an op: each replay computes it from the new inputs
    (greedy sampling, masks), with one capture, and gives what an eager call gives."""

    @tg.compile
    def greedy(x):
        scores = x * 2
        return scores.argmax(-1), scores.argmin(-1), tg.where(scores > 0.5, scores, 0.0), scores == 0.0

    for values in ([0.0, 1.0, 0.2], [1.0, 0.0, 0.3], [0.1, 0.2, 3.0]):
        x = tg.Tensor(np.array(values, np.float32))
        got = [t.tolist() for t in greedy(x)]
        scores = x * 2
        want = [scores.argmax(-1), scores.argmin(-1), tg.where(scores > 0.5, scores, 0.0), scores == 0.0]
        assert got == [t.tolist() for t in want]
    assert greedy.captures == 1


def test_comparisons_and_argmax_never_require_grad():
    x = tg.Tensor([1.0, -2.0], requires_grad=True)
    for result in (x > 0, x == x, x.argmax(), x.argmin(0)):
        assert not result.requires_grad and result.grad_fn is None
    (tg.where(x > 0, x, 0.0).sum()).backward()  # the mask is a constant of the graph
    assert x.grad.tolist() == [1.0, 0.0]


def test_a_frozen_branch_and_item_during_capture_fail_loudly():
    @tg.compile
    def branch(x):
        y = x * 2
        if y.sum() > 0:  # data-dependent Python branching
            return y
        return -y

    with pytest.raises(CaptureError, match=r"bool\(\) \(an if on a tensor\).*if y.sum\(\) > 0"):
        branch(tg.Tensor([1.0]))

    @tg.compile
    def logs(x):
        loss = (x * x).sum()
        print(loss.item())
        return loss

    with pytest.raises(CaptureError, match=r"\.item\(\).*return the tensor"):
        logs(tg.Tensor([1.0]))


def test_a_hand_written_update_of_data_fails_loudly():
    w = tg.Tensor([1.0], requires_grad=True)

    @tg.compile
    def step(x):
        loss = (x * w).sum()
        loss.backward()
        w.data = w.data - 0.1 * w.grad.data
        return loss

    with pytest.raises(CaptureError, match="outside an op"):
        step(tg.Tensor([1.0]))


def test_fallback_runs_eagerly_with_a_warning():
    f = tg.compile(lambda x: x * float((x * 2).sum()), fallback=True)
    with pytest.warns(UserWarning, match="run eagerly"):
        assert f(tg.Tensor([1.0, 2.0])).tolist() == [6.0, 12.0]
    assert f(tg.Tensor([1.0, 1.0])).tolist() == [4.0, 4.0]  # eager: not a stale 6.0
    assert f.captures == 0


def test_random_numbers_outside_an_op_fail_loudly():
    f = tg.compile(lambda x: x + tg.randn(*x.shape))
    with pytest.raises(CaptureError, match="random numbers"):
        f(tg.zeros(3))


def test_dropout_masks_are_drawn_anew_and_follow_the_seed():
    f = tg.compile(lambda x: F.dropout(x, 0.5))
    x = tg.ones(64)
    tg.manual_seed(3)
    masks = [f(x).numpy() for _ in range(3)]
    assert not np.array_equal(masks[1], masks[2])
    tg.manual_seed(3)
    eager = [F.dropout(x, 0.5).numpy() for _ in range(3)]
    assert all(np.array_equal(a, b) for a, b in zip(masks, eager))


def test_returned_state_fed_back_as_the_next_input():
    w = tg.Tensor([[0.5, -0.2], [0.1, 0.3]], requires_grad=True)
    step = tg.compile(lambda x, h: (x + h @ w).tanh())
    h_compiled = h_eager = tg.zeros(1, 2)
    for t in range(5):
        x = tg.Tensor([[0.1 * t, -0.2]])
        h_compiled = step(x, h_compiled)
        h_eager = (x + h_eager @ w).tanh().detach()
        np.testing.assert_allclose(h_compiled.numpy(), h_eager.numpy(), rtol=1e-6)
    assert step.captures == 1


def test_the_same_tensor_passed_twice_is_its_own_key():
    f = tg.compile(lambda a, b: a * 2 + b)
    x, y = tg.Tensor([1.0]), tg.Tensor([10.0])
    assert f(x, x).item() == 3.0
    assert f(x, y).item() == 12.0  # not 2 * x + x replayed
    assert f(y, y).item() == 30.0
    assert f.captures == 2


def test_external_writes_between_calls_are_seen():
    w = tg.Tensor([1.0], requires_grad=True)
    f = tg.compile(lambda x: x * w)
    assert f(tg.Tensor([2.0])).item() == 2.0
    w.data = w.data * 3  # between calls: read afresh by the replay
    assert f(tg.Tensor([2.0])).item() == 6.0
    w.data[...] = 5.0
    assert f(tg.Tensor([2.0])).item() == 10.0 and f.captures == 1


def test_an_lr_scheduler_and_adams_step_count_take_effect_without_a_new_capture():
    def run(compiled):
        w = tg.Tensor([1.0, -2.0], dtype="float64", requires_grad=True)
        opt = tg.optim.Adam([w], lr=0.5)
        scheduler = tg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

        def step():
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            opt.step()
            return loss

        run = tg.compile(step) if compiled else step
        values = []
        for _ in range(6):
            run()
            scheduler.step()
            values.append(w.numpy().copy())
        return np.array(values), opt.state[id(w)]["step"], getattr(run, "captures", 1)

    (eager, eager_t, _), (ours, our_t, captures) = run(False), run(True)
    np.testing.assert_allclose(ours, eager, rtol=1e-14)
    assert our_t == eager_t == 6 and captures == 1


def test_gradients_accumulate_across_calls_as_eagerly():
    def run(compiled):
        w = tg.Tensor([1.0, 2.0], dtype="float64", requires_grad=True)

        def step(x):
            (x * w * w).sum().backward()  # no zero_grad: .grad adds up
            return w.grad * 1.0

        f = tg.compile(step) if compiled else step
        return [f(tg.Tensor([1.0, 3.0], dtype="float64")).tolist() for _ in range(4)], w.grad.tolist()

    assert run(True) == run(False)


def test_every_way_a_gradient_reaches_its_tensor_replays_as_eagerly():
    """The replay's backward stores a first gradient of the right shape as it is and sums the rest:
    a broadcast gradient (the bias), slices into one buffer, one array sent to two inputs (add), a
    tensor used twice by one op (x * x), a weight shared by several linear nodes (one summed matmul)."""

    def run(compiled):
        rng = np.random.default_rng(3)
        W = tg.Tensor(0.3 * rng.standard_normal((4, 4)), requires_grad=True)
        b = tg.Tensor(0.3 * rng.standard_normal(4), requires_grad=True)

        def step(x):  # no zero_grad: the .grad of W, b and x add up over the calls, eagerly and replayed
            h = x[0]
            for t in range(1, 3):
                z = tg.linear(h, W) + b  # b: a (4,) gradient summed from (2, 4)
                h = 0.1 * (z[:, :2] * z[:, :2]).sum() + z + x[t]  # slices of z, z used twice, x sliced
            loss = (h * h).sum()
            loss.backward()
            return loss, W.grad * 1.0, b.grad * 1.0

        f = tg.compile(step) if compiled else step
        x = tg.Tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
        results = []
        for _ in range(4):
            loss, gw, gb = f(x)
            results.append((loss.item(), gw.tolist(), gb.tolist(), x.grad.tolist()))
        return results, f

    eager, _ = run(False)
    compiled, f = run(True)
    assert f.captures == 2 and f.replays == 2  # .grad None at the first call, a tensor from then on
    for got, want in zip(compiled, eager):  # float64; W's terms are summed as one matmul: rounding differs
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_indexing_replays_on_each_calls_data():
    """A replayed getitem reuses the analysis of its captured key (ints and slices), never its result:
    each call's own x is indexed, and so is each call's own index tensor."""

    def step(x, rows):
        y = x[1:, ::2] * 3 + x[:2, -1:] + x[rows][:2, 1:3]  # basic keys, then an index tensor, then basic again
        loss = (y * y).sum()
        loss.backward()
        return loss, x.grad * 1.0

    f = tg.compile(step)
    rng = np.random.default_rng(4)
    analysed = []  # every key analysed (GetItem.index) and slice located (slice_extent) in the compiled calls
    index, extent = GetItem.index, shape_ops.slice_extent
    for call in range(4):
        data, picks = rng.standard_normal((3, 4)), rng.integers(0, 3, size=3)
        with (
            mock.patch.object(GetItem, "index", lambda *a, call=call: analysed.append(call) or index(*a)),
            mock.patch.object(shape_ops, "slice_extent", lambda *a, call=call: analysed.append(call) or extent(*a)),
        ):
            got = [a.numpy() for a in f(tg.Tensor(data, requires_grad=True), tg.Tensor(picks))]
        want = [a.numpy() for a in step(tg.Tensor(data, requires_grad=True), tg.Tensor(picks))]
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert f.replays == 3
    assert set(analysed) == {0}  # at the capture only: the replays reuse what it worked out


def test_the_tape_dump_and_the_graph_of_the_last_call():
    w = tg.Tensor([[0.5]], requires_grad=True, name="w")

    @tg.compile
    def f(x):
        h = tg.zeros(1, 1)
        for t in range(3):
            with tg.scope(f"t={t}"):
                h = tg.linear(x[t : t + 1], w, h).tanh()
        return h.sum()

    x = tg.Tensor([[1.0], [2.0], [3.0]])
    f(x)
    value = f(x * 2).item()
    text = str(f.tape)
    assert text.count("= linear(") == 3 and "w (1, 1)" in text and "[t=2]" in text
    loss = f.graph()
    assert loss.item() == pytest.approx(value) and loss.op == "sum"
    terms = tg.bptt.contributions(loss, w)
    assert sorted(terms) == [0, 1, 2]


def test_a_step_reaching_an_earlier_graph_fails_loudly():
    w = tg.Tensor([1.0], requires_grad=True)
    carried = w * 2  # made eagerly, before the capture

    @tg.compile
    def step(x):
        loss = (x * carried).sum()
        loss.backward()
        return loss

    with pytest.raises(CaptureError, match="detach"):
        step(tg.Tensor([1.0]))


def test_the_benchmark_runs_in_quick_mode(capsys):
    """benchmarks/bench_compile.py checks every implementation against numpy before timing it."""
    from tests.file_modules import load_file

    bench = load_file("benchmarks/bench_compile.py")
    bench.main(["--quick"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| rnn") or line.startswith("| lstm")]
    assert len(rows) == 6
    for row in rows[:4]:  # the implementations agree with numpy (float32)
        assert float(row.split("|")[2]) < 1e-5


def test_the_device_is_a_guard():
    pytest.importorskip("array_api_strict")
    f = tg.compile(lambda x: (x * 2).sum())
    assert f(tg.ones(3)).item() == 6.0
    strict = f(tg.Tensor([1.0, 2.0, 3.0], device="array_api_strict"))
    assert strict.device == "array_api_strict" and strict.item() == 12.0
    assert f.captures == 2


def test_reading_gradients_outside_an_op_fails_loudly():
    from tinygrad_rnn.nn.utils import clip_grad_norm_

    layer = nn.Linear(3, 2)
    opt = tg.optim.SGD(layer.parameters(), lr=0.1)

    @tg.compile
    def step(x):
        opt.zero_grad()
        layer(x).sum().backward()
        clip_grad_norm_(layer.parameters(), 0.1)  # scales the gradients outside the tape
        opt.step()

    with pytest.raises(CaptureError, match="the gradient of layer.weight"):
        step(tg.randn(4, 3))


def test_a_compiled_method():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

        @tg.compile
        def predict(self, x):
            return self.linear(x).tanh()

    a, b = Model(), Model()
    x = tg.randn(3, 2)
    np.testing.assert_allclose(a.predict(x).numpy(), a.linear(x).tanh().numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.predict(x).numpy(), b.linear(x).tanh().numpy(), rtol=1e-6)  # b's weights


def test_a_step_that_never_replays_warns_once_saying_why():
    """Setting w.grad = None inside the step is not a zero_grad the tape repeats, so the .grad guard
    fails at every call: each call captures again. It stays correct, but it warns (once) with the
    reason and the remedy, where it used to recapture silently forever."""
    import warnings

    w = tg.Tensor([[0.5, -0.25]], requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1)

    def by_hand(x):
        w.grad = None
        loss = (x @ w).tanh().sum()
        loss.backward()
        return loss

    def with_zero_grad(x):
        opt.zero_grad()
        loss = (x @ w).tanh().sum()
        loss.backward()
        return loss

    x = tg.Tensor([[1.0], [2.0]])
    want = by_hand(x).item()
    compiled = tg.compile(by_hand, cache_size=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses = [compiled(x).item() for _ in range(10)]
    assert losses == [want] * 10 and compiled.captures == 10 and compiled.replays == 0
    warned = [c for c in caught if "never replayed" in str(c.message)]
    never = [str(c.message) for c in warned]
    assert len(never) == 1 and "captured again on each of its last 4 calls" in never[0]
    assert "zero_grad()" in never[0] and ".grad changed between None and a tensor" in never[0]
    assert warned[0].filename == __file__  # points at the caller's line

    fixed = tg.compile(with_zero_grad, cache_size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [fixed(x).item() for _ in range(10)] == [want] * 10
    assert fixed.captures == 1 and fixed.replays == 9


def test_a_python_value_changing_at_every_call_warns_that_nothing_replays():
    """A module attribute (an epoch counter) the step reads, new at every call: the module guard
    captures again each time, and after more captures in a row than the cache holds it warns."""
    import warnings

    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.epoch = 0

        def forward(self, x):
            return x * self.epoch

    model = Counter()
    compiled = tg.compile(lambda x: model(x))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(12):
            model.epoch = epoch
            assert compiled(tg.Tensor([1.0])).tolist() == [float(epoch)]
    assert compiled.replays == 0
    never = [str(c.message) for c in caught if "never replayed" in str(c.message)]
    assert len(never) == 1 and "an attribute of module" in never[0] and "tensor argument" in never[0]


def test_a_new_shape_at_every_call_warns_to_bucket_the_shapes():
    import warnings

    step = tg.compile(lambda x: x.sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for length in range(1, 12):
            step(tg.ones(length))
    never = [str(c.message) for c in caught if "never replayed" in str(c.message)]
    assert len(never) == 1 and "a new call signature" in never[0] and "bucket" in never[0]


# --- tensors and modules the step reaches by name: another object there must never be stale ------
REBOUND = tg.Tensor([2.0])


def test_a_global_tensor_rebound_between_calls_is_captured_again():
    global REBOUND
    step = tg.compile(lambda x: x * REBOUND)
    assert step(tg.Tensor([1.0])).item() == 2.0
    REBOUND = tg.Tensor([10.0])  # the tape read the old tensor: replaying it was a stale 2.0
    try:
        assert step(tg.Tensor([1.0])).item() == 10.0
        assert step.captures == 2 and "another tensor" in step.last_miss and "REBOUND" in step.last_miss
        assert step(tg.Tensor([3.0])).item() == 30.0 and step.replays == 1
    finally:
        REBOUND = tg.Tensor([2.0])


def test_a_closure_tensor_rebound_between_calls_is_captured_again():
    weight = tg.Tensor([2.0])
    step = tg.compile(lambda x: x * weight)
    assert step(tg.Tensor([1.0])).item() == 2.0
    weight = tg.Tensor([10.0])  # noqa: F841 - read by the lambda through its closure cell
    assert step(tg.Tensor([1.0])).item() == 10.0 and step.captures == 2


def test_an_entry_of_a_dict_of_weights_replaced_between_calls_is_captured_again():
    """The lectures' hand-written loop keeps its weights in a dict: re-initialising one entry (a
    notebook cell W["W_hh"] = tg.randn(...)) between calls was silently ignored by the replay."""
    W = {"w": tg.Tensor([2.0], requires_grad=True), "scale": 1.0}
    step = tg.compile(lambda x: (x * W["w"] * W["scale"]).sum())
    assert step(tg.Tensor([1.0])).item() == 2.0
    W["w"] = tg.Tensor([10.0], requires_grad=True)
    assert step(tg.Tensor([1.0])).item() == 10.0 and step.captures == 2
    W["scale"] = 3.0  # a number in the dict is guarded too
    assert step(tg.Tensor([1.0])).item() == 30.0 and step.captures == 3
    assert "W['scale']" in step.last_miss


def test_a_parameter_or_submodule_replaced_by_another_object_is_captured_again():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(1, 1)

        def forward(self, x):
            return self.head(x)

    tg.manual_seed(0)
    model = Model()
    step = tg.compile(lambda x: model(x))
    x = tg.Tensor([[1.0]])
    step(x)
    model.head.weight = nn.Parameter(tg.Tensor([[100.0]]))
    assert step(x).item() == pytest.approx(model(x).item(), abs=1e-6) and step.captures == 2
    assert "replaced by another object" in step.last_miss
    model.head = nn.Linear(1, 1)  # a new submodule
    assert step(x).item() == pytest.approx(model(x).item(), abs=1e-6) and step.captures == 3


def test_a_module_passed_as_an_argument_is_guarded_like_one_reached_by_name():
    """step(model, x): the module's training flag was not among the guards, so model.eval() kept
    replaying the training tape (dropout still applied)."""
    dropout = nn.Dropout(0.5)
    step = tg.compile(lambda module, x: module(x))
    tg.manual_seed(0)
    step(dropout, tg.ones(8))
    dropout.eval()
    assert step(dropout, tg.ones(8)).tolist() == [1.0] * 8 and step.captures == 2


def test_a_parameter_group_added_to_the_optimizer_is_cleared_and_updated():
    """add_param_group between calls: the replay cleared and updated only the old group's
    parameters, so the new one never moved (and its gradient piled up)."""
    w = tg.Tensor([1.0], requires_grad=True)
    v = tg.Tensor([1.0], requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = (x * w * v).sum()
        loss.backward()
        opt.step()
        return loss

    compiled = tg.compile(step)
    compiled(tg.Tensor([1.0]))
    opt.add_param_group({"params": [v], "lr": 0.5})
    w_before, v_before = w.item(), v.item()
    compiled(tg.Tensor([1.0]))
    assert v.item() == pytest.approx(v_before - 0.5 * w_before) and "add_param_group" in compiled.last_miss
    assert w.item() == pytest.approx(w_before - 0.1 * v_before)


def test_a_module_or_optimizer_rebound_to_a_new_object_is_captured_again():
    tg.manual_seed(0)
    model = nn.Linear(1, 1)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        opt.step()
        return loss

    compiled = tg.compile(step)
    x = tg.Tensor([[1.0]])
    compiled(x)
    model = nn.Linear(1, 1)  # a fresh model and its optimizer, as a notebook cell re-run makes them
    opt = tg.optim.SGD(model.parameters(), lr=1.0)
    weight = model.weight.item()
    compiled(x)
    assert model.weight.item() == pytest.approx(weight - 1.0)  # the new model, by the new optimizer
    assert compiled.captures == 2 and "another object" in compiled.last_miss


@dataclasses.dataclass
class Config:
    scale: float = 2.0


def test_an_attribute_of_a_config_object_changed_between_calls_is_captured_again():
    """A number read from a config object (a dataclass of hyperparameters) was frozen into the tape."""
    config = Config()
    step = tg.compile(lambda x: x * config.scale)
    assert step(tg.Tensor([1.0])).item() == 2.0
    config.scale = 5.0
    assert step(tg.Tensor([1.0])).item() == 5.0 and "config.scale" in step.last_miss


def test_a_compiled_method_guards_what_it_reads_from_self():
    """@tg.compile on a method: self arrives as an argument, whose attributes were not guarded at
    all (a changed temperature and self.model.eval() both replayed the old tape)."""

    class Trainer:
        def __init__(self):
            tg.manual_seed(0)
            self.model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
            self.opt = tg.optim.SGD(self.model.parameters(), lr=0.1)
            self.temperature = 1.0

        @tg.compile
        def step(self, x):
            self.opt.zero_grad()
            loss = (self.model(x) / self.temperature).sum()
            loss.backward()
            self.opt.step()
            return loss

    def eager(trainer, x):
        return Trainer.step.fn(trainer, x)

    compiled, reference, x = Trainer(), Trainer(), tg.ones(3, 2)
    for change in (None, "temperature", "eval"):
        if change == "temperature":
            compiled.temperature = reference.temperature = 2.0
        elif change == "eval":
            compiled.model.eval()
            reference.model.eval()
        tg.manual_seed(1)
        got = compiled.step(x).item()
        tg.manual_seed(1)
        assert got == pytest.approx(eager(reference, x).item(), rel=1e-6), change
    assert Trainer.step.captures == 3


BATCHES = [tg.Tensor([float(i)]) for i in range(100)]


def test_a_long_list_the_step_reaches_is_not_guarded_entry_by_entry():
    """A dataset's list of batches reached by name: guarding each of its entries would cost a check
    per entry at every call, so lists longer than MAX_GUARDED_ENTRIES are left out (documented)."""
    from tinygrad_rnn.compiler.guards import MAX_GUARDED_ENTRIES

    assert len(BATCHES) > MAX_GUARDED_ENTRIES
    step = tg.compile(lambda i: BATCHES[0] * i)
    step(tg.Tensor([2.0]))
    step(tg.Tensor([3.0]))
    ((_, guards),) = [entry for entries in step._tapes.values() for entry in entries]
    assert not any(where.startswith("BATCHES[") for where, _, _ in guards.values)
    assert step.replays == 1


def test_an_optimizer_state_dict_loaded_between_calls_takes_effect():
    """load_state_dict replaces the optimizer's parameter groups and state: the replay kept updating
    with the old group's lr and the old momentum buffers (silently ignoring the loaded ones)."""

    def make():
        w = tg.Tensor([1.0, -2.0], requires_grad=True)
        opt = tg.optim.SGD([w], lr=0.1, momentum=0.9)

        def step(x):
            opt.zero_grad()
            loss = ((x * w) ** 2).sum()
            loss.backward()
            opt.step()
            return loss

        return w, opt, step

    x = tg.Tensor([1.0, 0.5])
    w, opt, step = make()
    compiled = tg.compile(step)
    for _ in range(3):
        compiled(x)
    donor_w, donor, donor_step = make()
    for _ in range(5):
        donor_step(x)
    saved = donor.state_dict()
    saved["param_groups"][0]["lr"] = 0.5
    w_eager, opt_eager, step_eager = make()
    for _ in range(3):
        step_eager(x)
    opt.load_state_dict(saved)
    opt_eager.load_state_dict(saved)
    for _ in range(2):
        compiled(x)
        step_eager(x)
    np.testing.assert_allclose(w.numpy(), w_eager.numpy(), rtol=1e-6)
    assert compiled.captures == 1  # the same parameters: replayed, reading the loaded groups and state


def test_state_carried_between_calls_on_self_is_never_replayed_stale():
    """Truncated BPTT written with the state kept on self (self.h = h.detach()): the step rebinds
    self.h, which a replay does not repeat, so a replay always read the first h. Now the changed
    self.h captures again (correct; it warns once nothing replays: pass the state as an argument)."""
    import warnings

    class Stateful:
        def __init__(self):
            tg.manual_seed(0)
            self.cell = nn.RNNCell(2, 3)
            self.h = tg.zeros(1, 3)

        def step(self, x):
            self.h = self.cell(x, self.h).detach()
            return self.h.sum()

    compiled_model, eager_model = Stateful(), Stateful()
    compiled = tg.compile(compiled_model.step)
    x = tg.ones(1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = [compiled(x).item() for _ in range(4)]
    assert got == pytest.approx([eager_model.step(x).item() for _ in range(4)], rel=1e-6)
    assert compiled.replays == 0 and "self.h" in compiled.last_miss
