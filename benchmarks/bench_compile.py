"""tinygrad_rnn.compile: a replayed training step against hand-written NumPy BPTT, eager and PyTorch.

One training step as in bench_train_step.py (one-hot inputs (T, B, V) -> recurrence (hidden H) ->
linear head -> softmax cross-entropy, mean over T*B -> backward -> plain SGD, lr 0.1; float32, one
BLAS thread), its weights, data and hand-written NumPy BPTT imported from there. Implementations:

  numpy           hand-written forward + BPTT (bench_train_step.numpy_step);
  loop eager      a hand-written loop: the cell written from ops (linear, slices, sigmoid/tanh,
                  * and +), each step's h kept; the head and the loss over all of them after the
                  loop (as numpy does), optim.SGD; run eagerly;
  loop compiled   the same function through tinygrad_rnn.compile;
  per-step-loss   the loop with the head and the loss taken inside it, one step at a time (T small
                  head matmuls and log-softmaxes instead of one each: more array calls than numpy's);
  layer eager     nn.RNN / nn.LSTM (default path: the literal cells) + nn.Linear over all steps;
  layer compiled  the same through tinygrad_rnn.compile;
                  (every compiled step: from its third call on, the array-level function of
                  compiler/trace.py, one line per NumPy call, where the trace allows it; a step of
                  more than trace.LIMIT array calls, the T=5000 loop, replays op by op)
  fused eager / fused compiled   the layer with fused=True (hand-written BPTT in one op);
  torch           torch.nn.RNN / nn.LSTM (fused kernels), when installed.

Every tinygrad variant takes the loss as F.cross_entropy(logits, targets, reduction="sum") / (T*B)
with integer class indices, which its op reads (and checks) in every replay, so new targets need no
new capture. Before timing, each variant's loss and updated weights are checked against numpy's.

Tables: (1) the hand-written loop, RNN and LSTM, on V65 H128 B32 T50; (2) the compiled loop
against torch's nn.RNN on the overhead-bound V10 H8 B1 T200 and the long V16 H32 B4 T5000;
(3) the layers against numpy on V65 H128 B32 T50 and the BLAS-bound LSTM V256 H512 B64 T35;
(4) capture cost: the first two calls of a compiled step (the capture, then the first replay)
against one eager step, and the third (the replay that is traced). Times are medians of
interleaved rounds (every implementation sees the same machine load); ratios are to numpy in the
same run.

Run: python benchmarks/bench_compile.py [--quick]   (--quick: tiny sizes, one round: a smoke run)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_train_step as base  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
import tinygrad_rnn.nn.functional as F  # noqa: E402

LOOP = ("rnn", 65, 128, 32, 50)
VERSUS_TORCH = [("rnn", 10, 8, 1, 200), ("rnn", 16, 32, 4, 5000)]
LAYERS = [("rnn", 65, 128, 32, 50), ("lstm", 65, 128, 32, 50), ("lstm", 256, 512, 64, 35)]
QUICK = ("rnn", 7, 5, 3, 6)


def summed_cross_entropy(logits: tg.Tensor, classes: tg.Tensor) -> tg.Tensor:
    """The summed cross-entropy of the rows of ``logits`` against integer class indices: one op."""
    return F.cross_entropy(logits, classes, reduction="sum")


def targets(p: dict) -> tg.Tensor:
    return tg.Tensor(p["Y"])  # (T, B) class indices


def loop_step(p: dict, loss_per_step: bool = False):
    """The hand-written loop: the cell from ops; the head and the loss over every step's output,
    after the loop (as numpy's BPTT does), or, with ``loss_per_step``, inside it, one step at a time."""
    W = {name: tg.Tensor(p[name].copy(), requires_grad=True) for name in base.PARAM_NAMES}
    opt = tg.optim.SGD(list(W.values()), lr=base.LR)
    H, T, B = p["H"], p["T"], p["B"]
    lstm = p["kind"] == "lstm"

    def step(x, y):
        opt.zero_grad()
        h = c = tg.zeros(B, H)
        projections = tg.linear(x, W["W_ih"], W["b_ih"] + W["b_hh"])  # (T, B, G*H): all steps at once
        hs, loss = [], 0.0
        for t in range(T):
            z = projections[t] + tg.linear(h, W["W_hh"])
            if lstm:
                i, f, g, o = z[:, :H].sigmoid(), z[:, H : 2 * H].sigmoid(), z[:, 2 * H : 3 * H].tanh(), z[:, 3 * H :]
                c = f * c + i * g
                h = o.sigmoid() * c.tanh()
            else:
                h = z.tanh()
            if loss_per_step:
                loss = loss + summed_cross_entropy(tg.linear(h, W["W_out"], W["b_out"]), y[t])
            else:
                hs.append(h)
        if not loss_per_step:
            logits = tg.linear(tg.cat(hs), W["W_out"], W["b_out"])  # (T*B, V): the head over all steps
            loss = summed_cross_entropy(logits, y.reshape(T * B))
        loss = loss / (T * B)
        loss.backward()
        opt.step()
        return loss

    return step, (tg.Tensor(p["X"]), targets(p)), [W[name] for name in base.PARAM_NAMES]


def layer_step(p: dict, fused: bool = False):
    """nn.RNN / nn.LSTM and a head over all steps, trained by optim.SGD."""
    layer, head, params, x, _ = base.tinygrad_model(p, fused)
    opt = tg.optim.SGD(params, lr=base.LR)

    def step(x, y):
        opt.zero_grad()
        out, _ = layer(x)
        T, B, H = out.shape
        loss = summed_cross_entropy(head(out.reshape(T * B, H)), y.reshape(T * B)) / (T * B)
        loss.backward()
        opt.step()
        return loss

    return step, (x, targets(p)), params


def check(p: dict, make, compiled: bool) -> float:
    """Relative difference of the loss and the updated weights from numpy's (before timing)."""
    fresh = dict(p, **{name: p[name].copy() for name in base.PARAM_NAMES})
    loss_np, _ = base.numpy_step(fresh)
    step, args, params = make(p)
    run = tg.compile(step) if compiled else step
    loss = run(*args).item()
    worst = abs(loss - loss_np) / abs(loss_np)
    for name, param in zip(base.PARAM_NAMES, params):
        expected = fresh[name]
        worst = max(worst, float(np.abs(param.numpy() - expected).max() / (np.abs(expected).max() + 1e-12)))
    return worst


MAKERS = {
    "loop": loop_step,
    "per-step-loss": lambda p: loop_step(p, loss_per_step=True),
    "layer": layer_step,
    "fused": lambda p: layer_step(p, fused=True),
}


def variants(p: dict, names: list, torch) -> dict:
    """name -> a call running one training step, for the implementations named."""
    makers = MAKERS
    calls = {}
    if "numpy" in names:
        fresh = {name: p[name].copy() for name in base.PARAM_NAMES}
        calls["numpy"] = lambda: base.numpy_step(dict(p, **fresh))
    for name in names:
        kind, _, mode = name.partition(" ")
        if kind in makers:
            step, args, _ = makers[kind](p)
            run = tg.compile(step) if mode == "compiled" else step
            calls[name] = lambda run=run, args=args: run(*args)
    if "torch" in names and torch is not None:
        model = base.torch_model(torch, p, True)
        calls["torch"] = lambda: base.torch_step(torch, model)
    return calls


def table(title: str, workloads: list, names: list, torch, rounds: int, quick: bool) -> dict:
    print(f"\n{title}\n")
    print("| workload | max rel. diff | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 2) + "|")
    results = {}
    for kind, V, H, B, T in workloads:
        p = base.make_problem(kind, V, H, B, T)
        worst = 0.0
        for name in names:
            family, _, mode = name.partition(" ")
            if family in MAKERS:
                worst = max(worst, check(p, MAKERS[family], mode == "compiled"))
        calls = variants(p, names, torch)
        steps = 1 if T >= 1000 or H >= 512 or quick else 5
        ms = {k: v * 1e3 for k, v in base.interleaved_medians(calls, rounds, steps).items()}
        results[kind, V, H, B, T] = ms
        cells = [f"{ms[n]:.1f} ({ms[n] / ms['numpy']:.2f})" if n in ms else "-" for n in names]
        print(f"| {kind} V{V} H{H} B{B} T{T} | {worst:.1e} | " + " | ".join(cells) + " |")
    return results


def capture_cost(workloads: list, rounds: int) -> None:
    """The first two calls of a compiled step together, against one eager step (median); and the third
    call, the replay that writes down its array calls (compiler/trace.py), against one eager step."""
    print("\nCapture cost: the first two calls of a compiled step (capture + first replay) / one eager step;")
    print("call 3 is the replay traced into the array-level function\n")
    print("| workload | eager step ms | call 1 ms | call 2 ms | (call 1 + call 2) / eager | call 3 ms "
          "| call 3 / eager |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for kind, V, H, B, T in workloads:
        p = base.make_problem(kind, V, H, B, T)
        step, args, _ = layer_step(p)
        step(*args)  # warm
        names = ("call 1", "call 2", "call 3", "eager")
        times: dict[str, list] = {name: [] for name in names}
        for _ in range(max(rounds, 3)):  # fresh compiled steps, interleaved with eager steps: medians
            compiled_step, compiled_args, _ = layer_step(p)
            run = tg.compile(compiled_step)
            for name, call in zip(names, (run, run, run, step)):
                start = time.perf_counter()
                call(*(args if call is step else compiled_args))
                times[name].append(time.perf_counter() - start)
        eager, first, second, third = (statistics.median(times[name]) for name in ("eager", *names[:3]))
        print(f"| {kind} V{V} H{H} B{B} T{T} | {eager * 1e3:.1f} | {first * 1e3:.1f} | {second * 1e3:.1f} "
              f"| {(first + second) / eager:.2f} | {third * 1e3:.1f} | {third / eager:.2f} |")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round (a smoke run)")
    parser.add_argument("--default-malloc", action="store_true", help="do not ask glibc to keep freed memory")
    args = parser.parse_args(argv)
    if not args.default_malloc and not args.quick and base.keep_freed_memory():
        print("glibc keeps freed memory for every implementation alike (mallopt; see bench_train_step.py)")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
        print("PyTorch not installed: its column is skipped")
    gc.collect()
    gc.freeze()  # the imported libraries' objects: out of every later collection (see bench_train_step)
    rounds = 1 if args.quick else 5
    loop = [QUICK] if args.quick else [LOOP, ("lstm", *LOOP[1:])]
    versus = [QUICK] if args.quick else VERSUS_TORCH
    layers = [QUICK, ("lstm", *QUICK[1:])] if args.quick else LAYERS
    print("One training step, float32, one thread; median of interleaved rounds; ms (ratio to numpy)")
    loops = ["numpy", "loop eager", "loop compiled", "per-step-loss eager", "per-step-loss compiled"]
    table("(1) The hand-written loop (cell from ops, loss at every step)", loop, loops, torch, rounds, args.quick)
    table("(2) The compiled loop against PyTorch's nn.RNN", versus, ["numpy", "loop compiled", "torch"], torch,
          rounds, args.quick)  # fmt: skip
    table("(3) The layers (default: literal cells; fused=True: one hand-differentiated op)", layers,
          ["numpy", "layer eager", "layer compiled", "fused eager", "fused compiled", "torch"], torch, rounds,
          args.quick)  # fmt: skip
    capture_cost(layers[:2], rounds)


if __name__ == "__main__":
    main()
