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

These rows compare the library's *layers* with torch's; torch-cell is a hand-written loop, so
"tinygrad_rnn vs torch-cell" is a layer against a loop, not like for like. The second table is:
the loop a user writes from the lectures, h = tanh(x_t @ W_xh + h @ W_hh + b) (or an LSTM cell) and
loss = loss + F.cross_entropy(h @ W_hy + b_y, y_t) at every step, run as *the same code* on
tinygrad_rnn tensors and on torch tensors (hand_loss), on issue 11's four workloads. Its verdicts
(issue 11: the tinygrad_rnn loop faster than the torch loop on all four; time per step flat from
T=500 to T=5000) close the run. bench_compile.py imports HAND_WORKLOADS, make_problem,
hand_model and hand_step from here.

Targets (issue 3): tinygrad_rnn <= 1.2x numpy on the first workload; faster than torch-cell on the
three workloads; time per step flat from T=500 to T=5000. The run ends with each target's verdict,
read off the measured figures. A fourth, BLAS-bound workload (the one ../shared/peers.md adds) shows
what is left of the engine's overhead when the matmuls are large.

Memory: glibc returns freed heap memory to the kernel eagerly, and on some virtual machines touching
such memory again costs microseconds per 4 KiB page. An autodiff library frees and reallocates more
than hand-written NumPy (the recorded graph holds every step's arrays), so it pays this more. The
first workload is therefore measured twice: with the default allocator, and again (same process,
every implementation alike) after asking glibc to keep freed memory (mallopt M_TOP_PAD 64 MiB,
M_TRIM_THRESHOLD 128 MiB, and M_MMAP_THRESHOLD 32 MiB: once the first two are set, glibc no longer
raises its mmap threshold by itself (up to 32 MiB) as large blocks are freed, so every array over
128 KiB, such as the (1600, 512) stack of an LSTM's steps, would come fresh from the kernel and
fault in page by page at every step: 2.0 ms for that stack's concatenation, 0.34 ms with the third
setting, measured inside a compiled LSTM step; the environment variables MALLOC_TOP_PAD_,
MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_ do the same for any program).

Python's cycle collector: PyTorch, imported here for its columns, brings ~150,000 Python objects
that every full collection would walk while the Python-level implementations (tinygrad_rnn,
torch-cell) run. After the imports the benchmark calls gc.freeze(), so collections see only what
the implementations themselves allocate (--no-gc-freeze measures without it).

Run: python benchmarks/bench_train_step.py [--quick] [--hand-only]
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
# The loop a user writes (issue 11): one cell per step, a loss at every step, the same code run on
# tinygrad_rnn tensors and on torch tensors (only the namespace differs), same weights and data.
#   RNN:  h = tanh(x_t @ W_xh + h @ W_hh + b)
#   LSTM: z = x_t @ W_xh + h @ W_hh + b;  i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of z's quarters;
#         c = f * c + i * g;  h = o * tanh(c)
#   loss = loss + F.cross_entropy(h @ W_hy + b_y, y_t)   at every step; the step's loss is loss / T
# (dividing by T makes it the mean over T * B that the layer rows and hand-written NumPy use).
# The per-step inputs and targets are split once, when the data is prepared, as a data loader would.
# ------------------------------------------------------------------------------------------------
HAND_PARAMS = ("W_xh", "W_hh", "b", "W_hy", "b_y")
HAND_WORKLOADS = [  # (label, cell, V, H, B, T): issue 11's four
    ("RNN V65 H128 B32 T50", "rnn", 65, 128, 32, 50),
    ("LSTM V65 H128 B32 T50", "lstm", 65, 128, 32, 50),
    ("RNN V10 H8 B1 T200 (overhead-bound)", "rnn", 10, 8, 1, 200),
    ("RNN V16 H32 B4 T5000 (long)", "rnn", 16, 32, 4, 5000),
]
#: Interleaved rounds per workload of the hand-loop table: more than the layer table's 5, since its
#: verdicts sit near 1.0, where this shared machine moves a ratio by up to a few tenths from one
#: round to the next (the table prints that range).
HAND_ROUNDS = 9


def hand_weights(p: dict) -> dict:
    """The problem's weights in the hand loop's layout (x @ W: inputs on the left)."""
    return {"W_xh": p["W_ih"].T.copy(), "W_hh": p["W_hh"].T.copy(), "b": p["b_ih"] + p["b_hh"],
            "W_hy": p["W_out"].T.copy(), "b_y": p["b_out"].copy()}  # fmt: skip


def hand_model(library: str, p: dict, torch=None) -> dict:
    """Weights, per-step data and the library's few functions, for :func:`hand_step`."""
    if library == "torch":
        W = {k: torch.tensor(v, requires_grad=True) for k, v in hand_weights(p).items()}
        data = [torch.from_numpy(x) for x in p["X"]], [torch.from_numpy(y) for y in p["Y"]]
        cross_entropy, zeros, no_grad = torch.nn.functional.cross_entropy, torch.zeros, torch.no_grad

        def sgd(q):
            q -= LR * q.grad
    else:
        from tinygrad_rnn.nn import functional as F

        W = {k: tg.Tensor(v, requires_grad=True) for k, v in hand_weights(p).items()}
        data = [tg.Tensor(x) for x in p["X"]], [tg.Tensor(y) for y in p["Y"]]
        cross_entropy, zeros, no_grad = F.cross_entropy, tg.zeros, tg.no_grad

        def sgd(q):
            q.data -= LR * q.grad.data

    return dict(W=W, xs=data[0], ys=data[1], cross_entropy=cross_entropy, zeros=zeros, no_grad=no_grad, sgd=sgd,
                kind=p["kind"], B=p["B"], H=p["H"])  # fmt: skip


def hand_loss(m: dict):
    """The loop of the comment above, in whichever library ``m`` holds."""
    W, H = m["W"], m["H"]
    h = m["zeros"](m["B"], H)
    c = m["zeros"](m["B"], H)
    loss = 0.0
    for x_t, y_t in zip(m["xs"], m["ys"]):
        z = x_t @ W["W_xh"] + h @ W["W_hh"] + W["b"]
        if m["kind"] == "lstm":
            i, f = z[:, :H].sigmoid(), z[:, H : 2 * H].sigmoid()
            g, o = z[:, 2 * H : 3 * H].tanh(), z[:, 3 * H :].sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
        else:
            h = z.tanh()
        loss = loss + m["cross_entropy"](h @ W["W_hy"] + W["b_y"], y_t)
    return loss / len(m["xs"])


def hand_step(m: dict, update: bool = True) -> float:
    loss = hand_loss(m)
    for q in m["W"].values():
        q.grad = None
    loss.backward()
    if update:
        with m["no_grad"]():
            for q in m["W"].values():
                m["sgd"](q)
    return loss.item()


def check_hand_loop_numbers(p: dict, torch) -> float:
    """Worst relative difference of the hand loops' loss and gradients from hand-written NumPy BPTT."""
    loss_np, g_np = numpy_step(dict(p, **{k: p[k].copy() for k in PARAM_NAMES}), update=False)
    expected = {"W_xh": g_np["W_ih"].T, "W_hh": g_np["W_hh"].T, "b": g_np["b_ih"], "W_hy": g_np["W_out"].T,
                "b_y": g_np["b_out"]}  # fmt: skip
    worst = 0.0
    for library in ("tinygrad_rnn", "torch") if torch is not None else ("tinygrad_rnn",):
        model = hand_model(library, p, torch)
        worst = max(worst, abs(hand_step(model, update=False) - loss_np) / abs(loss_np))
        for name, want in expected.items():
            got = model["W"][name].grad.numpy()
            worst = max(worst, float(np.abs(got - want).max() / (np.abs(want).max() + 1e-12)))
    return worst


def bench_hand_loops(p: dict, torch, rounds: int, steps: int) -> tuple[dict, list]:
    """Seconds per training step (median round): hand-written NumPy BPTT (the scale) and the two hand
    loops; and the ratio tinygrad_rnn / torch of each round (both measured back to back, under one
    load: how far this shared machine moves the ratio from one round to the next). No torch: []."""
    fresh = {k: p[k].copy() for k in PARAM_NAMES}
    calls = {"numpy": lambda: numpy_step(dict(p, **fresh))}
    models = {
        library: hand_model(library, p, torch) for library in ("tinygrad_rnn", "torch") if torch or library != "torch"
    }
    for library, model in models.items():
        calls[library] = lambda model=model: hand_step(model)
    times = interleaved_rounds(calls, rounds, steps)
    paired = [ours / theirs for ours, theirs in zip(times["tinygrad_rnn"], times.get("torch", []))]
    return {name: statistics.median(v) for name, v in times.items()}, paired


def print_hand_table(workloads: list, torch, rounds: int) -> dict:
    """One row per workload; return {label: ms by implementation}."""
    results = {}
    print(
        "| workload | max rel. grad diff | numpy BPTT | tinygrad_rnn loop | torch loop | tinygrad_rnn / torch "
        "| per round: min - max |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, kind, V, H, B, T in workloads:
        p = make_problem(kind, V, H, B, T)
        worst = check_hand_loop_numbers(p, torch)
        seconds, paired = bench_hand_loops(p, torch, rounds, 1 if T >= 1000 else 3)
        ms = results[label] = {k: v * 1e3 for k, v in seconds.items()}

        def cell(name, ms=ms):
            return f"{ms[name]:.1f} ({ms[name] / ms['numpy']:.2f})" if name in ms else "-"

        ratio = f"{ms['tinygrad_rnn'] / ms['torch']:.2f}" if "torch" in ms else "-"
        spread = f"{min(paired):.2f} - {max(paired):.2f}" if paired else "-"
        print(
            f"| {label} | {worst:.1e} | {ms['numpy']:.1f} | {cell('tinygrad_rnn')} | {cell('torch')} | {ratio} "
            f"| {spread} |"
        )
    return results


def blas_alone(kind: str, V: int, H: int, B: int, T: int, torch) -> dict:
    """Milliseconds per training step of the hand loop's matrix products alone, with nothing else:
    per time step x_t W_xh, h W_hh and h W_hy forward, g W^T for W_hh and W_hy backward, and the
    three weight terms a^T g. On NumPy as tinygrad_rnn calls them (W^T laid out once, the weight
    terms of the T steps stacked into one product each); on torch as its autograd does (transposed
    views, one product per step and term, summed in place). How much of the loops' difference is
    the BLAS library's (NumPy's OpenBLAS, torch's MKL), not the engines'."""
    G = 4 if kind == "lstm" else 1
    rng = np.random.default_rng(0)

    def arrays(*shape):
        return [rng.standard_normal(shape).astype(np.float32) for _ in range(T)]

    xs, hs, dzs, dys = arrays(B, V), arrays(B, H), arrays(B, G * H), arrays(B, V)
    W_xh, W_hh, W_hy = (rng.standard_normal(s).astype(np.float32) for s in ((V, G * H), (H, G * H), (H, V)))

    def numpy_products():
        W_hh_t, W_hy_t = np.ascontiguousarray(W_hh.T), np.ascontiguousarray(W_hy.T)
        for x, h, dz, dy in zip(xs, hs, dzs, dys):
            np.dot(x, W_xh), np.dot(h, W_hh), np.dot(h, W_hy), np.dot(dz, W_hh_t), np.dot(dy, W_hy_t)
        X, Hs, dZ, dY = (np.concatenate(a) for a in (xs, hs, dzs, dys))
        np.dot(X.T, dZ), np.dot(Hs.T, dZ), np.dot(Hs.T, dY)

    calls = {"numpy": numpy_products}
    if torch is not None:
        txs, ths, tdzs, tdys = ([torch.from_numpy(a) for a in arrays_] for arrays_ in (xs, hs, dzs, dys))
        tW_xh, tW_hh, tW_hy = (torch.from_numpy(w) for w in (W_xh, W_hh, W_hy))

        def torch_products():
            sums = [torch.zeros(V, G * H), torch.zeros(H, G * H), torch.zeros(H, V)]
            for x, h, dz, dy in zip(txs, ths, tdzs, tdys):
                torch.mm(x, tW_xh), torch.mm(h, tW_hh), torch.mm(h, tW_hy), torch.mm(dz, tW_hh.t())
                torch.mm(dy, tW_hy.t())
                sums[0].add_(torch.mm(x.t(), dz)), sums[1].add_(torch.mm(h.t(), dz)), sums[2].add_(torch.mm(h.t(), dy))

        calls["torch"] = torch_products
    return {k: v * 1e3 for k, v in interleaved_medians(calls, 5, 3).items()}


def print_floors(workloads: list, torch) -> None:
    """What no engine removes: the products alone (:func:`blas_alone`), per workload."""
    print("\nThe hand loops' matrix products alone (same calls, no engine): ms per training step\n")
    print("| workload | numpy (OpenBLAS) | torch (MKL) | numpy / torch |")
    print("|---|---|---|---|")
    for label, kind, V, H, B, T in workloads:
        ms = blas_alone(kind, V, H, B, T, torch)
        ratio = f"{ms['numpy'] / ms['torch']:.2f}" if "torch" in ms else "-"
        print(f"| {label} | {ms['numpy']:.2f} | {ms.get('torch', float('nan')):.2f} | {ratio} |")


HAND_TITLE = "The hand-written loop (issue 11): the same code on tinygrad_rnn and on torch tensors; ms (ratio to numpy)"


def print_hand_targets(results: dict, per_step_us: list | None) -> None:
    """Issue 11's targets for the hand-written loop, read off the measured figures (``per_step_us``:
    microseconds per time step at T=500 and T=5000, or None when that was not measured)."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print("\nTargets (issue 11), like for like (the same hand-written loop in both libraries):")
    if all("torch" in ms for ms in results.values()):
        ratios = {label: ms["tinygrad_rnn"] / ms["torch"] for label, ms in results.items()}
        for label, ratio in ratios.items():
            print(f"- {label}: tinygrad_rnn loop / torch loop = {ratio:.2f} (< 1: {verdict(ratio < 1)})")
        print(f"- all four faster than torch: {verdict(all(r < 1 for r in ratios.values()))}")
    if per_step_us is None:
        return
    growth = per_step_us[-1] / per_step_us[0]
    print(
        f"- hand loop, time per step T=500 -> 5000: x{growth:.2f} (flat within 10%: {verdict(abs(growth - 1) <= 0.1)})"
    )


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
    return {name: statistics.median(v) for name, v in interleaved_rounds(calls, rounds, steps).items()}


def interleaved_rounds(calls: dict, rounds: int, steps: int) -> dict:
    """Seconds per call of each function in each of ``rounds`` interleaved rounds (after one warm-up
    call each): {name: [round 1, round 2, ...]}, round k of every function measured back to back."""
    times: dict = {name: [] for name in calls}
    for call in calls.values():
        call()
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(steps):
                call()
            times[name].append((time.perf_counter() - start) / steps)
    return times


def time_per_step(steps: dict, rounds: int) -> list:
    """Microseconds per time step of each ``steps[T]`` (one training step over T time steps), printed
    as table rows. Rounds of equal duration: a round runs max(T) / T training steps of each length,
    so a burst of load on this shared machine falls on both lengths alike (one short step per round
    was at the mercy of a single burst: 0.8 to 1.03 in three repeats of the same code)."""
    repeats = {T: max(steps) // T for T in steps}
    repeated = {T: (lambda step=step, n=repeats[T]: [step() for _ in range(n)]) for T, step in steps.items()}
    medians = interleaved_medians(repeated, rounds, 1)
    per_step = []
    for T, median in medians.items():
        step_seconds = median / repeats[T]
        print(f"| {T} | {step_seconds * 1e3:.1f} | {step_seconds / T * 1e6:.1f} |")
        per_step.append(step_seconds / T * 1e6)
    return per_step


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
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
        return bool(
            libc.mallopt(M_TOP_PAD, 64 << 20)
            and libc.mallopt(M_TRIM_THRESHOLD, 128 << 20)
            and libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        )
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
    parser.add_argument("--hand-only", action="store_true", help="only the hand-written loops' table")
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
    hand_rounds = 1 if args.quick else HAND_ROUNDS
    if args.hand_only:
        print(HAND_TITLE + "\n")
        hand_results = print_hand_table(HAND_WORKLOADS, torch, hand_rounds)
        print_floors(HAND_WORKLOADS, torch)
        print_hand_targets(hand_results, None)
        return
    rounds = 1 if args.quick else 5
    kinds = args.kinds.split(",")
    print("One training step, float32, one thread; median of interleaved rounds; ms (ratio to numpy)\n")
    results = print_table(WORKLOADS, kinds, torch, rounds)
    print("\nTime per step of tinygrad_rnn's RNN step (vocab 16, hidden 32, batch 4): flat in T?\n")
    print("| T | ms per training step | us per time step |")
    print("|---|---|---|")
    lengths = (500, 5000)
    models = {T: tinygrad_model(make_problem("rnn", 16, 32, 4, T)) for T in lengths}
    per_step = time_per_step({T: (lambda model=models[T]: tinygrad_step(model)) for T in lengths}, rounds + 2)
    print_targets(results, kinds, per_step)
    print("\n" + HAND_TITLE + "\n")
    hand_results = print_hand_table(HAND_WORKLOADS, torch, hand_rounds)
    print_floors(HAND_WORKLOADS, torch)
    print("\nTime per step of the tinygrad_rnn hand loop (RNN, vocab 16, hidden 32, batch 4): flat in T?\n")
    print("| T | ms per training step | us per time step |")
    print("|---|---|---|")
    hand_models = {T: hand_model("tinygrad_rnn", make_problem("rnn", 16, 32, 4, T)) for T in lengths}
    hand_per_step = time_per_step({T: (lambda m=hand_models[T]: hand_step(m)) for T in lengths}, rounds + 2)
    if keep_freed_memory():  # after the hand loops, which are measured with the default allocator
        print("\nThe first workload again, glibc keeping freed memory (mallopt; see the module docstring)\n")
        print_table(WORKLOADS[:1], kinds, torch, rounds)
    print_hand_targets(hand_results, hand_per_step)  # the closing verdict


if __name__ == "__main__":
    main()
