"""One training step of a char-level RNN and LSTM: tinygrad_rnn against hand-written NumPy and PyTorch.

A step: one-hot inputs (T, B, V) -> recurrent layer (hidden H) -> linear head -> softmax cross-entropy
at every step (mean over T*B) -> backward -> plain SGD update. float32, one BLAS thread.

Implementations, all checked first to give the same loss and gradients:
  numpy        hand-written forward + BPTT (input projection, head, loss and weight gradients as one
               matmul each over all steps; only the recurrence is per step) - the practical limit
               for a NumPy engine;
  tinygrad_rnn nn.RNN / nn.LSTM + nn.Linear + F.cross_entropy, gradients by generic backprop (the
               default, composite path);
  tg fused     the same with fused=True: one op per layer whose backward is hand-written BPTT
               (the opt-in path of tinygrad_rnn.nn.fused);
  torch        torch.nn.RNN / nn.LSTM (fused kernels);
  torch-cell   the same cell written from torch ops in a Python loop.

Targets (issue 3): tinygrad_rnn <= 1.2x numpy on the first workload; faster than torch-cell on the
three workloads; time per step flat from T=500 to T=5000. The run ends with each target's verdict,
read off the measured figures. A fourth, BLAS-bound workload (the one ../shared/peers.md adds) shows
what is left of the engine's overhead when the matmuls are large.

Memory: glibc returns freed heap memory to the kernel eagerly, and on some virtual machines touching
such memory again costs microseconds per 4 KiB page. An autodiff library frees and reallocates more
than hand-written NumPy (the recorded graph holds every step's arrays), so it pays this more. The
first workload is therefore measured twice: with the default allocator, and again (same process,
every implementation alike) after asking glibc to keep freed memory (mallopt M_TOP_PAD 64 MiB,
M_TRIM_THRESHOLD 128 MiB; the environment variables MALLOC_TOP_PAD_ / MALLOC_TRIM_THRESHOLD_ do
the same for any program).

Python's cycle collector: PyTorch, imported here for its columns, brings ~150,000 Python objects
that every full collection would walk while the Python-level implementations (tinygrad_rnn,
torch-cell) run. After the imports the benchmark calls gc.freeze(), so collections see only what
the implementations themselves allocate (--no-gc-freeze measures without it).

Run: python benchmarks/bench_train_step.py [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402

LR = 0.1


# ------------------------------------------------------------------------------------------------
# Weights and data shared by every implementation (PyTorch layout: W_ih (G*H, V), W_hh (G*H, H)).
# ------------------------------------------------------------------------------------------------
def make_problem(kind: str, V: int, H: int, B: int, T: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    G = 4 if kind == "lstm" else 1
    k = 1 / np.sqrt(H)

    def u(*shape):
        return rng.uniform(-k, k, shape).astype(np.float32)

    tokens = rng.integers(0, V, size=(T + 1, B))
    onehot = np.eye(V, dtype=np.float32)[tokens[:-1]]  # (T, B, V)
    return dict(
        kind=kind, V=V, H=H, B=B, T=T, X=onehot, Y=tokens[1:],
        W_ih=u(G * H, V), W_hh=u(G * H, H), b_ih=u(G * H), b_hh=u(G * H), W_out=u(V, H), b_out=u(V),
    )  # fmt: skip


PARAM_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh", "W_out", "b_out")


# ------------------------------------------------------------------------------------------------
# Hand-written NumPy forward + BPTT.
# ------------------------------------------------------------------------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_step(p: dict, update: bool = True) -> tuple[float, dict]:
    X, Y, T, B, H, V = p["X"], p["Y"], p["T"], p["B"], p["H"], p["V"]
    W_ih, W_hh, W_out = p["W_ih"], p["W_hh"], p["W_out"]
    lstm = p["kind"] == "lstm"
    # forward: input projection of every step in one matmul, then the recurrence
    xproj = (X.reshape(T * B, V) @ W_ih.T + (p["b_ih"] + p["b_hh"])).reshape(T, B, -1)
    hs = np.zeros((T + 1, B, H), np.float32)
    if lstm:
        cs = np.zeros((T + 1, B, H), np.float32)
        gates = np.empty((T, B, 4 * H), np.float32)  # activated i, f, g, o
        tanh_c = np.empty((T, B, H), np.float32)
    for t in range(T):
        z = xproj[t] + hs[t] @ W_hh.T
        if lstm:
            i, f, g, o = (sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H]), np.tanh(z[:, 2 * H : 3 * H]),
                          sigmoid(z[:, 3 * H :]))  # fmt: skip
            gates[t] = np.concatenate([i, f, g, o], axis=1)
            cs[t + 1] = f * cs[t] + i * g
            tanh_c[t] = np.tanh(cs[t + 1])
            hs[t + 1] = o * tanh_c[t]
        else:
            hs[t + 1] = np.tanh(z)
    hflat = hs[1:].reshape(T * B, H)
    logits = hflat @ W_out.T + p["b_out"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    ys = Y.reshape(-1)
    loss = -logp[np.arange(T * B), ys].mean()
    # backward
    dlogits = np.exp(logp)
    dlogits[np.arange(T * B), ys] -= 1
    dlogits /= T * B
    grads = {"W_out": dlogits.T @ hflat, "b_out": dlogits.sum(axis=0)}
    dH = (dlogits @ W_out).reshape(T, B, H)
    dZ = np.empty((T, B, W_hh.shape[0]), np.float32)
    dh = np.zeros((B, H), np.float32)
    dc = np.zeros((B, H), np.float32)
    for t in reversed(range(T)):
        dh = dh + dH[t]
        if lstm:
            i, f, g, o = gates[t, :, :H], gates[t, :, H : 2 * H], gates[t, :, 2 * H : 3 * H], gates[t, :, 3 * H :]
            do = dh * tanh_c[t]
            dc = dc + dh * o * (1 - tanh_c[t] ** 2)
            di, df, dg = dc * g, dc * cs[t], dc * i
            dc = dc * f
            dZ[t] = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
        else:
            dZ[t] = dh * (1 - hs[t + 1] ** 2)
        dh = dZ[t] @ W_hh
    dZflat = dZ.reshape(T * B, -1)
    grads["W_hh"] = dZflat.T @ hs[:-1].reshape(T * B, H)
    grads["W_ih"] = dZflat.T @ X.reshape(T * B, V)
    grads["b_ih"] = grads["b_hh"] = dZflat.sum(axis=0)
    if update:
        for name in PARAM_NAMES:
            p[name] -= LR * grads[name]
    return float(loss), grads


# ------------------------------------------------------------------------------------------------
# tinygrad_rnn: the library's own layers, generic backprop.
# ------------------------------------------------------------------------------------------------
def tinygrad_model(p: dict, fused: bool = False):
    from tinygrad_rnn import nn

    layer = (nn.LSTM if p["kind"] == "lstm" else nn.RNN)(p["V"], p["H"], fused=fused)
    head = nn.Linear(p["H"], p["V"])
    layer.load_state_dict({"weight_ih_l0": p["W_ih"], "weight_hh_l0": p["W_hh"], "bias_ih_l0": p["b_ih"],
                           "bias_hh_l0": p["b_hh"]})  # fmt: skip
    head.load_state_dict({"weight": p["W_out"], "bias": p["b_out"]})
    params = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0, head.weight, head.bias]
    return layer, head, params, tg.Tensor(p["X"]), tg.Tensor(p["Y"].reshape(-1))


def tinygrad_step(model, update: bool = True) -> float:
    from tinygrad_rnn.nn import functional as F

    layer, head, params, x, y = model
    out, _ = layer(x)
    T, B, H = out.shape
    loss = F.cross_entropy(head(out.reshape(T * B, H)), y)
    for q in params:
        q.grad = None
    loss.backward()
    if update:
        with tg.no_grad():
            for q in params:
                q.data -= LR * q.grad.data
    return loss.item()


# ------------------------------------------------------------------------------------------------
# PyTorch: the fused layers, and the same cell from torch ops.
# ------------------------------------------------------------------------------------------------
def torch_model(torch, p: dict, fused: bool):
    W = {k: torch.tensor(p[k], requires_grad=True) for k in PARAM_NAMES}
    layer = None
    if fused:
        layer = (torch.nn.LSTM if p["kind"] == "lstm" else torch.nn.RNN)(p["V"], p["H"])
        with torch.no_grad():
            for ours, theirs in zip(("W_ih", "W_hh", "b_ih", "b_hh"), ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                                         "bias_hh_l0")):  # fmt: skip
                getattr(layer, theirs).copy_(torch.from_numpy(p[ours]))
        W.update(W_ih=layer.weight_ih_l0, W_hh=layer.weight_hh_l0, b_ih=layer.bias_ih_l0, b_hh=layer.bias_hh_l0)
    return W, layer, torch.from_numpy(p["X"]), torch.from_numpy(p["Y"].reshape(-1)), p


def torch_step(torch, model, update: bool = True) -> float:
    W, layer, X, Y, p = model
    T, B, H = p["T"], p["B"], p["H"]
    if layer is not None:
        out, _ = layer(X)
    else:
        xproj = X @ W["W_ih"].T + W["b_ih"]  # input projection of all steps at once, as in ours
        h = torch.zeros(B, H)
        c = torch.zeros(B, H)
        outs = []
        for t in range(T):
            z = xproj[t] + h @ W["W_hh"].T + W["b_hh"]
            if p["kind"] == "lstm":
                i, f, g, o = z.chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                h = torch.tanh(z)
            outs.append(h)
        out = torch.stack(outs)
    loss = torch.nn.functional.cross_entropy(out.reshape(T * B, H) @ W["W_out"].T + W["b_out"], Y)
    for q in W.values():
        q.grad = None
    loss.backward()
    if update:
        with torch.no_grad():
            for q in W.values():
                q -= LR * q.grad
    return loss.item()


# ------------------------------------------------------------------------------------------------
def check_same_numbers(p: dict, torch) -> float:
    """Worst relative difference of the loss and gradients between the implementations (before timing)."""
    loss_np, g_np = numpy_step(dict(p, **{k: p[k].copy() for k in PARAM_NAMES}), update=False)

    def difference(loss: float, grads: list) -> float:  # grads: arrays in PARAM_NAMES order
        worst = abs(loss - loss_np) / abs(loss_np)
        for name, grad in zip(PARAM_NAMES, grads):
            worst = max(worst, float(np.abs(grad - g_np[name]).max() / (np.abs(g_np[name]).max() + 1e-12)))
        return worst

    worst = 0.0
    for fused in (False, True):
        model = tinygrad_model(p, fused)
        loss = tinygrad_step(model, update=False)
        worst = max(worst, difference(loss, [q.grad.numpy() for q in model[2]]))
        if torch is not None:
            model = torch_model(torch, p, fused)
            loss = torch_step(torch, model, update=False)
            worst = max(worst, difference(loss, [model[0][name].grad.numpy() for name in PARAM_NAMES]))
    return worst


def bench(p: dict, torch, rounds: int, steps: int) -> dict:
    fresh = {k: p[k].copy() for k in PARAM_NAMES}
    runners = {
        "numpy": (lambda: None, lambda _: numpy_step(dict(p, **fresh))),
        "tinygrad_rnn": (lambda: tinygrad_model(p), tinygrad_step),
        "tg fused": (lambda: tinygrad_model(p, fused=True), tinygrad_step),
    }
    if torch is not None:
        runners["torch"] = (lambda: torch_model(torch, p, True), lambda m: torch_step(torch, m))
        runners["torch-cell"] = (lambda: torch_model(torch, p, False), lambda m: torch_step(torch, m))
    models = {name: make() for name, (make, _) in runners.items()}
    calls = {name: (lambda step=step, model=models[name]: step(model)) for name, (_, step) in runners.items()}
    return interleaved_medians(calls, rounds, steps)


def interleaved_medians(calls: dict, rounds: int, steps: int) -> dict:
    """Seconds per call of each function: one warm-up call, then ``rounds`` interleaved rounds of
    ``steps`` calls each (so every function sees the same machine load); the median round."""
    times: dict = {name: [] for name in calls}
    for call in calls.values():
        call()
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(steps):
                call()
            times[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(v) for name, v in times.items()}


WORKLOADS = [  # (label, V, H, B, T)
    ("vocab 65, hidden 128, batch 32, T 50", 65, 128, 32, 50),
    ("vocab 10, hidden 8, batch 1, T 200 (overhead-bound)", 10, 8, 1, 200),
    ("vocab 16, hidden 32, batch 4, T 5000 (long)", 16, 32, 4, 5000),
    # not an issue target: peers.md's fourth workload, where the matmuls dominate the engine's overhead
    ("vocab 256, hidden 512, batch 64, T 35 (BLAS-bound)", 256, 512, 64, 35),
]


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory in the process (see the module docstring); False if not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_TRIM_THRESHOLD, M_TOP_PAD = -1, -2
        return bool(libc.mallopt(M_TOP_PAD, 64 << 20) and libc.mallopt(M_TRIM_THRESHOLD, 128 << 20))
    except (OSError, AttributeError):
        return False


def print_table(workloads: list, kinds: list, torch, rounds: int) -> dict:
    """Measure and print one row per workload and cell; return {(workload label, cell): ms by implementation}."""
    results = {}
    print("| workload | cell | max rel. grad diff | numpy | tinygrad_rnn | tg fused | torch | torch-cell "
          "| tg / torch-cell | fused / torch-cell |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, V, H, B, T in workloads:
        for kind in kinds:
            p = make_problem(kind, V, H, B, T)
            worst = check_same_numbers(p, torch)
            steps = 1 if T >= 1000 or H >= 512 else 5  # about a second per implementation and round
            ms = results[label, kind] = {k: v * 1e3 for k, v in bench(p, torch, rounds, steps).items()}

            def cell(name, ms=ms):
                return f"{ms[name]:.1f} ({ms[name] / ms['numpy']:.2f})" if name in ms else "-"

            def versus_cell(name, ms=ms):
                return f"{ms[name] / ms['torch-cell']:.2f}" if "torch-cell" in ms else "-"

            print(f"| {label} | {kind} | {worst:.1e} | {ms['numpy']:.1f} | {cell('tinygrad_rnn')} | {cell('tg fused')} "
                  f"| {cell('torch')} | {cell('torch-cell')} | {versus_cell('tinygrad_rnn')} "
                  f"| {versus_cell('tg fused')} |")  # fmt: skip
    return results


def print_targets(results: dict, kinds: list, per_step_us: list) -> None:
    """Issue 3's three targets, read off the measured figures (nothing here is assumed)."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    first = WORKLOADS[0][0]
    print("\nTargets (issue 3), from the figures above:")
    for kind in kinds:
        ms = results[first, kind]
        for name in ("tinygrad_rnn", "tg fused"):
            ratio = ms[name] / ms["numpy"]
            print(f"- {kind}, {name}: {ratio:.2f}x numpy on the first workload (<= 1.2x: {verdict(ratio <= 1.2)})")
    target_rows = [ms for (label, _), ms in results.items() if label in {w[0] for w in WORKLOADS[:3]}]
    if all("torch-cell" in ms for ms in target_rows):
        for name in ("tinygrad_rnn", "tg fused"):
            worst = max(ms[name] / ms["torch-cell"] for ms in target_rows)
            print(f"- {name}: at most {worst:.2f}x torch-cell on the three workloads (< 1: {verdict(worst < 1)})")
    growth = per_step_us[-1] / per_step_us[0]
    print(f"- time per step, T=500 -> 5000: x{growth:.2f} (flat within 10%: {verdict(abs(growth - 1) <= 0.1)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--kinds", default="rnn,lstm")
    parser.add_argument("--no-gc-freeze", action="store_true", help="no gc.freeze() after the imports")
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
        print("PyTorch not installed: its columns are skipped")
    if not args.no_gc_freeze:
        gc.collect()
        gc.freeze()  # the imported libraries' objects: out of every later collection (module docstring)
    rounds = 1 if args.quick else 5
    kinds = args.kinds.split(",")
    print("One training step, float32, one thread; median of interleaved rounds; ms (ratio to numpy)\n")
    results = print_table(WORKLOADS, kinds, torch, rounds)
    print("\nTime per step of tinygrad_rnn's RNN step (vocab 16, hidden 32, batch 4): flat in T?\n")
    print("| T | ms per training step | us per time step |")
    print("|---|---|---|")
    lengths = (500, 5000)
    models = {T: tinygrad_model(make_problem("rnn", 16, 32, 4, T)) for T in lengths}
    medians = interleaved_medians({T: (lambda model=models[T]: tinygrad_step(model)) for T in lengths}, rounds + 2, 1)
    for T, median in medians.items():
        print(f"| {T} | {median * 1e3:.1f} | {median / T * 1e6:.1f} |")
    print_targets(results, kinds, [medians[T] / T * 1e6 for T in lengths])
    if keep_freed_memory():
        print("\nThe first workload again, glibc keeping freed memory (mallopt; see the module docstring)\n")
        print_table(WORKLOADS[:1], kinds, torch, rounds)


if __name__ == "__main__":
    main()
