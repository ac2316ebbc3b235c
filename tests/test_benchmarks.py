"""The training-step benchmark compares like with like: before timing anything it checks that every
implementation (hand-written NumPy BPTT, the composite and fused layers, PyTorch) gives the same loss
and gradients. Run that check here on small sizes, so the benchmark cannot drift into timing
different maths. (Nothing is timed in the tests.)"""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_train_step.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_train_step", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
