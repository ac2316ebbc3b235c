"""Shared fixtures: the backends every backend-neutral test runs on, and PyTorch for the comparisons."""

import numpy as np
import pytest
from hypothesis import settings

import tinygrad_rnn as tg

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("ci")


def _gpu_usable() -> bool:
    """CuPy imports and sees a GPU (``benchmarks/gpu_check.sh`` runs the suite's cuda half there)."""
    try:
        tg.backend.get_backend("cuda")
    except tg.DeviceError:
        return False
    return True


BACKENDS = ["cpu", "array_api_strict"] + (["cuda"] if _gpu_usable() else [])


@pytest.fixture(params=BACKENDS)
def device(request):
    """Run the test on NumPy, on array-api-strict (which rejects anything non-standard) and, where
    CuPy finds a GPU, on CuPy (``cuda``; select those runs with ``pytest -k cuda``)."""
    if request.param == "array_api_strict":
        pytest.importorskip("array_api_strict")
    return request.param


@pytest.fixture
def torch():
    """PyTorch, for the tests that compare against it; they skip cleanly where it is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)
    np.random.seed(0)
