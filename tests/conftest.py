"""Shared fixtures: the backends every backend-neutral test runs on, and PyTorch for the comparisons."""

import numpy as np
import pytest
from hypothesis import settings

import tinygrad_rnn as tg

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("ci")

BACKENDS = ["cpu", "array_api_strict"]


@pytest.fixture(params=BACKENDS)
def device(request):
    """Run the test on NumPy and on array-api-strict (which rejects anything non-standard)."""
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
