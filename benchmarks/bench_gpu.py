"""A training step of a char-level LSTM on the CPU (NumPy, all cores) and on the GPU (CuPy), side by side.

A step: one-hot inputs (T, B, V) -> nn.LSTM (hidden H) -> nn.Linear head -> cross-entropy at every
step -> backward -> SGD. Columns, each measured in this one run (median of --repeats steps after
warm-up; every step ends in ``loss.item()``, which waits for the GPU):

  numpy            tinygrad_rnn on device "cpu", BLAS on all cores
  cupy eager       tinygrad_rnn on device "cuda"
  cupy compiled    the same step through tinygrad_rnn.compile (where the library has it)
  torch cuda       torch.nn.LSTM + Linear + F.cross_entropy on the GPU (where torch sees one)

Columns that cannot run here say why instead of a time. ``benchmarks/gpu_check.sh`` runs this on a
GPU machine; without a GPU only the numpy column is measured.

Run: python benchmarks/bench_gpu.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn, optim

WORKLOADS = [  # (name, V, H, B, T)
    ("char-LM V65 H128 B32 T50", 65, 128, 32, 50),
    ("BLAS-bound V256 H512 B64 T35", 256, 512, 64, 35),
    ("large V256 H1024 B256 T50", 256, 1024, 256, 50),
]
LR = 0.1


def data(V: int, B: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, V, size=(T + 1, B))
    return np.eye(V, dtype=np.float32)[tokens[:-1]], tokens[1:]


def tinygrad_step(device: str, V: int, H: int, B: int, T: int, compiled: bool) -> Callable[[], float]:
    tg.manual_seed(0)
    lstm, head = nn.LSTM(V, H).to(device), nn.Linear(H, V).to(device)
    optimizer = optim.SGD([*lstm.parameters(), *head.parameters()], lr=LR)
    x_np, y_np = data(V, B, T)
    x, y = tg.Tensor(x_np, device=device), tg.Tensor(y_np.reshape(-1), device=device)

    def step(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        output, _ = lstm(x)
        loss = F.cross_entropy(head(output).reshape(T * B, V), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    if compiled:
        step = tg.compile(step)
    return lambda: step(x, y).item()


def torch_step(V: int, H: int, B: int, T: int) -> Callable[[], float]:
    import torch

    torch.manual_seed(0)
    lstm, head = torch.nn.LSTM(V, H).cuda(), torch.nn.Linear(H, V).cuda()
    optimizer = torch.optim.SGD([*lstm.parameters(), *head.parameters()], lr=LR)
    x_np, y_np = data(V, B, T)
    x, y = torch.from_numpy(x_np).cuda(), torch.from_numpy(y_np.reshape(-1)).cuda()

    def step() -> float:
        output, _ = lstm(x)
        loss = torch.nn.functional.cross_entropy(head(output).reshape(T * B, V), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def why_not(column: str) -> str | None:
    """None where ``column`` can run here, else the reason it cannot."""
    if column == "numpy":
        return None
    try:
        tg.backend.get_backend("cuda")
    except tg.DeviceError as error:
        return "no usable GPU" + (" (CuPy not installed)" if "not installed" in str(error) else "")
    if column == "cupy compiled" and not hasattr(tg, "compile"):
        return "this version has no tinygrad_rnn.compile"
    if column == "torch cuda":
        try:
            import torch
        except ImportError:
            return "torch not installed"
        if not torch.cuda.is_available():
            return "torch sees no GPU (a CPU build?)"
    return None


def median_ms(step: Callable[[], float], repeats: int) -> tuple[float, float]:
    first = step()  # warm-up: CuPy compiles its kernels on first use, compile() captures
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, first


COLUMNS = ("numpy", "cupy eager", "cupy compiled", "torch cuda")


def measure(workload: tuple, repeats: int) -> dict:
    name, V, H, B, T = workload
    row = {"workload": name}
    for column in COLUMNS:
        reason = why_not(column)
        if reason is not None:
            row[column] = f"skipped: {reason}"
            continue
        try:
            if column == "torch cuda":
                step = torch_step(V, H, B, T)
            else:
                step = tinygrad_step("cpu" if column == "numpy" else "cuda", V, H, B, T, column == "cupy compiled")
            ms, first_loss = median_ms(step, repeats)
            row[column] = f"{ms:.2f} ms (first loss {first_loss:.4f})"
        except Exception as error:  # noqa: BLE001 - a column's failure is reported, the others still run
            row[column] = f"FAILED: {type(error).__name__}: {error}"
    return row


def table(rows: list[dict]) -> str:
    lines = ["| workload | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    lines += ["| " + " | ".join([row["workload"], *(row[c] for c in COLUMNS)]) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first workload only, 3 repeats")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", default=None, help="folder for results.md and results.json")
    args = parser.parse_args()
    workloads = WORKLOADS[:1] if args.quick else WORKLOADS
    rows = [measure(w, 3 if args.quick else args.repeats) for w in workloads]
    text = table(rows)
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "results.md"), "w") as file:
            file.write(text + "\n")
        with open(os.path.join(args.out, "results.json"), "w") as file:
            json.dump(rows, file, indent=1)


if __name__ == "__main__":
    main()
