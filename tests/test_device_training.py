"""A whole recurrent training step runs on array_api_strict, as on NumPy, with the same numbers.

array_api_strict rejects everything outside the Array API standard, which is what would break on
CuPy: if an LSTM, its loss, backward and an Adam update run here, the GPU path has nothing
non-standard left in it.
"""

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn, optim


def train(device: str, steps: int = 5) -> list[float]:
    tg.manual_seed(0)
    lstm, head = nn.LSTM(3, 8, num_layers=2), nn.Linear(8, 4)
    lstm.to(device)
    head.to(device)
    optimizer = optim.Adam([*lstm.parameters(), *head.parameters()], lr=0.05)
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((6, 2, 3)).astype(np.float32), device=device)
    target = tg.Tensor(rng.integers(0, 4, size=(6, 2)), device=device)
    losses = []
    for _ in range(steps):
        output, _ = lstm(x)
        loss = F.cross_entropy(head(output).reshape(12, 4), target.reshape(12))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_([*lstm.parameters(), *head.parameters()], max_norm=1.0)
        optimizer.step()
        assert loss.device == device and lstm.weight_hh_l1.grad.device == device
        losses.append(loss.item())
    return losses


def test_lstm_training_step_on_array_api_strict_matches_numpy():
    strict = train("array_api_strict")
    cpu = train("cpu")
    np.testing.assert_allclose(strict, cpu, rtol=1e-5)
    assert strict[-1] < strict[0]  # and it learns


def test_lstm_training_step_on_every_device_matches_numpy(device):
    """The same five steps on each device of the fixture (CuPy too, where a GPU is usable)."""
    np.testing.assert_allclose(train(device), train("cpu"), rtol=1e-5)
