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

Then the losses, where users put them (a loss at every time step): each of nn.functional's losses
on (1, 8) and (32, 65) float32 inputs (class indices for the class losses), forward alone and
backward alone (loss.backward() of a fresh forward), against torch.nn.functional's same loss on
the same data. Target (issue 11): cross_entropy within 2x of torch's, forward and backward. A last
table times cross_entropy's forward hand-written in NumPy (no tensor, no check: the fewest array
calls) right after, so the run shows how close to torch a NumPy engine can come at all.

Python's cycle collector: PyTorch, imported for its columns, brings ~150,000 Python objects that a
full collection would walk while a chain is being built; after the imports the benchmark calls
gc.freeze() (as bench_train_step.py does), and one untimed warm-up round runs before the timed ones.

Run: python benchmarks/bench_overhead.py [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
import tinygrad_rnn.nn.functional as F  # noqa: E402

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


# --- losses, one call at a time ---------------------------------------------------------------------
LOSS_SHAPES = ((1, 8), (32, 65))
LOSSES = ("cross_entropy", "nll_loss", "log_softmax", "softmax", "mse_loss", "binary_cross_entropy_with_logits")
CALLS = 300  # calls per round


def loss_arguments(name: str, shape: tuple) -> tuple:
    """(input, second argument or None) as float32 NumPy arrays / int64 class indices."""
    gen = np.random.default_rng(1)
    x = gen.standard_normal(shape).astype(np.float32)
    if name in ("cross_entropy", "nll_loss"):
        return x, gen.integers(0, shape[1], size=shape[0])
    if name in ("log_softmax", "softmax"):
        return x, None
    return x, gen.uniform(0, 1, size=shape).astype(np.float32)


def seconds_of_calls(call) -> float:
    """Seconds for CALLS calls of ``call()``."""
    start = time.perf_counter()
    for _ in range(CALLS):
        call()
    return time.perf_counter() - start


def loss_calls(library, functional, tensor, name: str, shape: tuple) -> tuple:
    """(forward, backward) timers: seconds for CALLS forwards; seconds of CALLS backwards alone."""
    x_array, other = loss_arguments(name, shape)
    x = tensor(x_array)
    second = None if other is None else library(other)
    fn = getattr(functional, name)

    def call():
        out = fn(x, 1) if second is None else fn(x, second)
        return out if out.ndim == 0 else out.sum()  # softmaxes: a scalar to backpropagate

    def forward():
        return seconds_of_calls(call)

    def backward():
        spent = 0.0
        for _ in range(CALLS):
            out = call()
            start = time.perf_counter()
            out.backward()
            spent += time.perf_counter() - start
        return spent

    return forward, backward


def loss_rows(torch, rounds: int) -> list:
    """[(loss, shape, {phase: (engine us, torch us)})], interleaved rounds, medians."""
    rows = []
    for name in LOSSES:
        for shape in LOSS_SHAPES:
            timers = {"engine": loss_calls(tg.Tensor, F, lambda a: tg.Tensor(a, requires_grad=True), name, shape)}
            if torch is not None:
                timers["torch"] = loss_calls(
                    torch.from_numpy, torch.nn.functional, lambda a: torch.tensor(a, requires_grad=True), name, shape
                )
            times = {(lib, phase): [] for lib in timers for phase in (0, 1)}
            for forward, backward in timers.values():  # warm-up
                forward(), backward()
            for _ in range(rounds):
                for lib, pair in timers.items():
                    for phase in (0, 1):
                        times[lib, phase].append(pair[phase]())
            us = {k: statistics.median(v) / CALLS * 1e6 for k, v in times.items()}
            rows.append((name, shape, {p: (us["engine", p], us.get(("torch", p), float("nan"))) for p in (0, 1)}))
    return rows


def print_loss_rows(rows: list) -> None:
    print(f"\nLosses: microseconds per call (float32, median of interleaved rounds of {CALLS} calls)\n")
    print("| loss | input | phase | engine | torch | engine/torch |")
    print("|---|---|---|---|---|---|")
    for name, shape, us in rows:
        for phase, label in ((0, "forward"), (1, "backward")):
            ours, theirs = us[phase]
            print(f"| {name} | {shape} | {label} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f} |")
    ce = [(shape, phase, us[phase]) for name, shape, us in rows if name == "cross_entropy" for phase in (0, 1)]
    worst = max(ours / theirs for _, _, (ours, theirs) in ce)
    verdict = "met" if worst <= 2 else "NOT met"
    print(f"\ncross_entropy: at most {worst:.2f}x torch's F.cross_entropy, forward and backward (<= 2x: {verdict})")


def numpy_cross_entropy(x: np.ndarray, classes: np.ndarray) -> np.floating:
    """The same mean cross-entropy, hand-written in NumPy (no tensor, no graph, no target check): the
    fewest array calls a NumPy engine's forward can make, each the cheapest spelling (a ufunc's reduce
    skips the Python wrapper of ``x.max()`` and ``.mean()``). lp = s - max - log(sum(exp(s - max)))."""
    shifted = x - np.maximum.reduce(x, axis=1, keepdims=True)
    nll = np.log(np.add.reduce(np.exp(shifted), axis=1)) - shifted[np.arange(classes.shape[0]), classes]
    return np.add.reduce(nll) / classes.shape[0]


def print_numpy_floor(rows: list, rounds: int) -> None:
    """What hand-written NumPy costs for cross_entropy's forward, beside the engine's and torch's
    figures of the same run: how close to torch any NumPy engine can come on these small inputs."""
    print("\ncross_entropy forward, hand-written NumPy (the floor for a NumPy engine), us per call\n")
    print("| input | numpy | engine | torch | numpy/torch | engine/numpy |")
    print("|---|---|---|---|---|---|")
    for name, shape, us in rows:
        if name != "cross_entropy":
            continue
        x, classes = loss_arguments(name, shape)
        times = [seconds_of_calls(functools.partial(numpy_cross_entropy, x, classes)) for _ in range(rounds + 1)]
        bare = statistics.median(times[1:]) / CALLS * 1e6  # the first round warms up
        ours, theirs = us[0]
        print(f"| {shape} | {bare:.1f} | {ours:.1f} | {theirs:.1f} | {bare / theirs:.2f} | {ours / bare:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    rounds = 2 if args.quick else ROUNDS
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    gc.collect()
    gc.freeze()  # the imported libraries' objects stay out of the collector's walks (see the docstring)
    rows = []
    for op in ("add", "matmul", "tanh"):
        t = {k: [] for k in ("np_f", "np_b", "tg_f", "tg_b", "th_f", "th_b")}
        for round_ in range(rounds + 1):  # interleaved rounds, median taken: robust on a noisy machine
            if round_ == 0:  # the warm-up round, untimed
                engine_backward(engine_forward(op)[1])
                if torch is not None:
                    y = torch_forward(torch, op)
                    y.backward(torch.ones_like(y))
                continue
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

    print(f"Per-op times in microseconds (4x4 float32, chain of {N} ops, median of {rounds} rounds)\n")
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
    worst = max(us["tg_f"] / us["th_f"] for _, us in rows)
    print(
        f"engine forward per op: at most {worst:.2f}x torch's (issue 11: <= 1.0: {'met' if worst <= 1 else 'NOT met'})"
    )
    losses = loss_rows(torch, rounds)
    print_loss_rows(losses)
    if torch is not None:
        print_numpy_floor(losses, rounds)


if __name__ == "__main__":
    main()
