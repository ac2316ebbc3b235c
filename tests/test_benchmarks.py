"""The training-step benchmark compares like with like: before timing anything it checks that every
implementation (hand-written NumPy BPTT, the composite and fused layers, PyTorch) gives the same loss
and gradients. Run that check here on small sizes, so the benchmark cannot drift into timing
different maths. (Nothing is timed in the tests.)"""

import pytest

from tests.file_modules import load_file


@pytest.fixture(scope="module")
def bench():
    return load_file("benchmarks/bench_train_step.py")


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_every_implementation_gives_the_same_loss_and_gradients(bench, kind):
    try:
        import torch
    except ImportError:
        torch = None
    problem = bench.make_problem(kind, V=7, H=5, B=3, T=6)
    assert bench.check_same_numbers(problem, torch) < 1e-5  # float32: relative difference


def test_one_training_step_updates_every_parameter(bench):
    problem = bench.make_problem("lstm", V=7, H=5, B=3, T=6)
    for fused in (False, True):
        model = bench.tinygrad_model(problem, fused)
        before = [q.numpy().copy() for q in model[2]]
        bench.tinygrad_step(model)
        assert all((q.numpy() != b).any() for q, b in zip(model[2], before))


def test_the_targets_verdict_follows_the_figures(bench, capsys):
    first, overhead, long = (w[0] for w in bench.WORKLOADS[:3])
    row = {"numpy": 10.0, "tinygrad_rnn": 12.5, "tg fused": 11.0, "torch-cell": 20.0}
    results = {(label, "rnn"): dict(row) for label in (first, overhead, long)}
    results[long, "rnn"]["tg fused"] = 21.0  # slower than torch-cell on one workload
    bench.print_targets(results, ["rnn"], [50.0, 56.0])
    lines = capsys.readouterr().out.splitlines()
    assert "- rnn, tinygrad_rnn: 1.25x numpy on the first workload (<= 1.2x: NOT met)" in lines
    assert "- rnn, tg fused: 1.10x numpy on the first workload (<= 1.2x: met)" in lines
    assert "- tinygrad_rnn: at most 0.62x torch-cell on the three workloads (< 1: met)" in lines
    assert "- tg fused: at most 1.05x torch-cell on the three workloads (< 1: NOT met)" in lines
    assert "- time per step, T=500 -> 5000: x1.12 (flat within 10%: NOT met)" in lines


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_the_hand_written_loops_give_numpys_loss_and_gradients(bench, kind):
    torch = pytest.importorskip("torch")
    problem = bench.make_problem(kind, V=7, H=5, B=3, T=6)
    assert bench.check_hand_loop_numbers(problem, torch) < 1e-5  # float32: relative difference


def test_the_hand_loop_verdict_compares_like_with_like(bench, capsys):
    results = {label: {"numpy": 10.0, "tinygrad_rnn": 9.0, "torch": 10.0} for label, *_ in bench.HAND_WORKLOADS}
    last = bench.HAND_WORKLOADS[-1][0]
    results[last]["tinygrad_rnn"] = 12.5  # slower than the torch loop on one workload
    bench.print_hand_targets(results, [50.0, 53.0])
    lines = capsys.readouterr().out.splitlines()
    assert f"- {bench.HAND_WORKLOADS[0][0]}: tinygrad_rnn loop / torch loop = 0.90 (< 1: met)" in lines
    assert f"- {last}: tinygrad_rnn loop / torch loop = 1.25 (< 1: NOT met)" in lines
    assert "- all four faster than torch: NOT met" in lines
    assert "- hand loop, time per step T=500 -> 5000: x1.06 (flat within 10%: met)" in lines


def test_the_hand_table_pairs_each_round_of_the_two_loops(bench, monkeypatch, capsys):
    """The per-round ratios are tinygrad_rnn's round k over torch's round k (measured back to back),
    and the table prints their range beside the ratio of the medians."""
    rounds = {"numpy": [1.0, 1.0, 1.0], "tinygrad_rnn": [2.0, 4.0, 3.0], "torch": [4.0, 2.0, 3.0]}
    monkeypatch.setattr(bench, "interleaved_rounds", lambda calls, n, steps: rounds)
    monkeypatch.setattr(bench, "check_hand_loop_numbers", lambda p, torch: 0.0)
    monkeypatch.setattr(bench, "hand_model", lambda library, p, torch=None: None)
    seconds, paired = bench.bench_hand_loops(bench.make_problem("rnn", 5, 4, 3, 2), object(), 3, 1)
    assert seconds == {"numpy": 1.0, "tinygrad_rnn": 3.0, "torch": 3.0} and paired == [0.5, 2.0, 1.0]
    bench.print_hand_table([("tiny", "rnn", 5, 4, 3, 2)], object(), 3)
    row = capsys.readouterr().out.splitlines()[-1]
    assert row.endswith("| 3000.0 (3.00) | 3000.0 (3.00) | 1.00 | 0.50 - 2.00 |"), row


def test_time_per_step_gives_both_lengths_rounds_of_equal_work(bench, capsys):
    calls = {500: 0, 5000: 0}

    def step(T):
        calls[T] += 1

    per_step = bench.time_per_step({T: (lambda T=T: step(T)) for T in calls}, rounds=3)
    # one warm-up round and three timed ones; ten short steps for every long one
    assert calls == {500: 4 * 10, 5000: 4 * 1}
    assert len(per_step) == 2 and all(us > 0 for us in per_step)
    assert [line.split(" | ")[0] for line in capsys.readouterr().out.splitlines()] == ["| 500", "| 5000"]


def test_the_numpy_floor_of_cross_entropy_computes_the_same_loss():
    overhead = load_file("benchmarks/bench_overhead.py")
    import numpy as np

    import tinygrad_rnn as tg
    from tinygrad_rnn.nn import functional as F

    for shape in overhead.LOSS_SHAPES:
        x, classes = overhead.loss_arguments("cross_entropy", shape)
        expected = F.cross_entropy(tg.Tensor(x), tg.Tensor(classes)).item()
        assert np.isclose(float(overhead.numpy_cross_entropy(x, classes)), expected, rtol=1e-6)


def test_the_products_alone_table_has_a_row_per_workload(bench, capsys):
    """The BLAS floor runs on any sizes, with or without torch (a '-' for the missing ratio)."""
    try:
        import torch
    except ImportError:
        torch = None
    bench.print_floors([("tiny lstm", "lstm", 5, 4, 3, 2), ("tiny rnn", "rnn", 5, 4, 3, 2)], torch)
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| tiny")]
    assert [row.split(" | ")[0] for row in rows] == ["| tiny lstm", "| tiny rnn"]
    assert all(row.count("|") == 5 for row in rows)
    bench.print_floors([("tiny rnn", "rnn", 5, 4, 3, 2)], None)
    assert capsys.readouterr().out.splitlines()[-1].endswith("| nan | - |")
