"""Per-op overhead of the engine: add, matmul, tanh on 4x4 float32 arrays, forward and backward.

For each op, a chain of N ops is built (forward) and backpropagated (backward):

    y_{k+1} = op(y_k, c)        (c a constant 4x4 array; for tanh, y_{k+1} = tanh(y_k))

and timed three ways, side by side in one run:
  numpy   — the same arithmetic written by hand on NumPy arrays (forward values; backward: the
            chain rule by hand, e.g. g = g * (1 - y_k^2) for tanh);
  engine  — tinygrad_rnn Tensors (requires_grad=True, so every op is recorded);
  torch   — PyTorch tensors with requires_grad (when installed).

Overhead = (engine time - numpy time) / N: what the engine adds to each bare NumPy call.
Target (issue 2): at most 3 us per op forward, 5 us per op backward.

Run: python benchmarks/bench_overhead.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402

N = 2000
ROUNDS = 7

rng = np.random.default_rng(0)
C = (rng.standard_normal((4, 4)) * 0.1).astype(np.float32)
X0 = rng.standard_normal((4, 4)).astype(np.float32)


# --- hand-written NumPy: forward values and the chain rule by hand ------------------------------
def numpy_forward(op):
    ys = [X0]
    for _ in range(N):
        y = ys[-1]
        ys.append(y + C if op == "add" else y @ C if op == "matmul" else np.tanh(y))
    return ys


def numpy_backward(op, ys):
    g = np.ones_like(X0)
    for k in range(N, 0, -1):
        if op == "add":
            g = g  # dL/dy_{k-1} = dL/dy_k  (the engine returns it as is too)
        elif op == "matmul":
            g = g @ C.T
        else:
            g = g * (1 - ys[k] * ys[k])
    return g


# --- the engine -------------------------------------------------------------------------------
def engine_forward(op):
    c = tg.Tensor(C)
    y = tg.Tensor(X0, requires_grad=True)
    x = y
    for _ in range(N):
        y = y + c if op == "add" else y @ c if op == "matmul" else y.tanh()
    return x, y


def engine_backward(root):
    tg.autograd.backward(root, np.ones_like(X0), retain_graph=False)


# --- PyTorch ----------------------------------------------------------------------------------
def torch_forward(torch, op):
    c = torch.from_numpy(C)
    y = torch.from_numpy(X0.copy()).requires_grad_()
    for _ in range(N):
        y = y + c if op == "add" else y @ c if op == "matmul" else y.tanh()
    return y


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    rows = []
    for op in ("add", "matmul", "tanh"):
        t = {k: [] for k in ("np_f", "np_b", "tg_f", "tg_b", "th_f", "th_b")}
        for _ in range(ROUNDS):  # interleaved rounds, median taken: robust on a noisy machine
            dt, ys = timed(numpy_forward, op)
            t["np_f"].append(dt)
            t["np_b"].append(timed(numpy_backward, op, ys)[0])
            dt, (_, root) = timed(engine_forward, op)
            t["tg_f"].append(dt)
            t["tg_b"].append(timed(engine_backward, root)[0])
            if torch is not None:
                dt, y = timed(torch_forward, torch, op)
                t["th_f"].append(dt)
                t["th_b"].append(timed(lambda y: y.backward(torch.ones_like(y)), y)[0])
        us = {k: statistics.median(v) / N * 1e6 if v else float("nan") for k, v in t.items()}
        rows.append((op, us))

    print(f"Per-op times in microseconds (4x4 float32, chain of {N} ops, median of {ROUNDS} rounds)\n")
    header = "| op | phase | numpy | engine | engine overhead | target | torch | engine/torch |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    ok = True
    for op, us in rows:
        for phase, key, target in (("forward", "f", 3.0), ("backward", "b", 5.0)):
            overhead = us[f"tg_{key}"] - us[f"np_{key}"]
            ok &= overhead <= target
            print(
                f"| {op} | {phase} | {us[f'np_{key}']:.2f} | {us[f'tg_{key}']:.2f} | {overhead:.2f} | "
                f"<= {target:.0f} | {us[f'th_{key}']:.2f} | {us[f'tg_{key}'] / us[f'th_{key}']:.2f} |"
            )
    print(f"\nall overheads within target: {ok}")


if __name__ == "__main__":
    main()
