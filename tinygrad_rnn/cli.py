"""The ``tinygrad-rnn`` command: pictures of a small recurrent network, from the shell.

``tinygrad-rnn graph`` draws the unrolled graph of a small RNN, LSTM or GRU after one backward
pass; ``tinygrad-rnn bptt`` plots ||dL/dh_t|| over time for a tanh RNN and an LSTM side by side,
so the vanishing gradient problem can be seen. The output format follows the file extension.

    tinygrad-rnn graph --cell lstm --steps 3 --hidden 4 --detail op -o graph.svg
    tinygrad-rnn graph --cell rnn --steps 3 --color-by grad --show-order -o graph.png
    tinygrad-rnn bptt --cell rnn lstm --steps 50 -o norms.png

Bad arguments end with a usage message and exit code 2, e.g. ``--steps 0``: "argument --steps:
must be a positive integer, got '0'". So does a picture over the node budget (``--max-nodes``,
default 1500 boxes), checked before anything is built, with the ``--detail`` that fits it.
``python -m tinygrad_rnn`` runs the same command line.

Example:
    >>> args = build_parser().parse_args(["bptt", "--cell", "rnn", "-o", "norms.png"])
    >>> args.cell, args.steps, args.hidden
    (['rnn'], 50, 32)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

import tinygrad_rnn as tg

CELLS = ("rnn", "lstm", "gru")
DETAILS = ("op", "step", "layer", "rolled")
GRAPH_FORMATS = ("svg", "png", "pdf", "dot", "gv")  # dot / gv: the DOT text itself, no renderer needed
PLOT_FORMATS = ("png", "svg", "pdf")
CELL_TITLES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}
MAX_RECORDED = 200_000  # tensors recorded for one picture, at most: past it, building alone takes minutes


def positive_int(text: str) -> int:
    """argparse type: an int >= 1 (a clear message otherwise)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-rnn",
        description="Pictures of backpropagation through time, drawn from tinygrad_rnn's recorded graphs.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{graph,bptt}")

    graph = commands.add_parser(
        "graph",
        help="draw the unrolled graph of a small recurrent model after one backward pass",
        description="Run a 1-layer RNN/LSTM/GRU (input size 2, batch 1, float64) over --steps random inputs, "
        "backpropagate L = mean(output^2), and draw the recorded graph, grouped by time step.",
    )
    graph.add_argument("--cell", choices=CELLS, default="rnn", help="the recurrent cell (default: rnn)")
    graph.add_argument("--steps", type=positive_int, default=3, help="time steps to unroll (default: 3)")
    graph.add_argument("--hidden", type=positive_int, default=4, help="hidden size (default: 4)")
    graph.add_argument(
        "--detail", choices=DETAILS, default="op", help="op: every op; step: one box per step; layer; rolled (×T)"
    )
    graph.add_argument(
        "--color-by", choices=("none", "grad"), default="none", help="grad: shade by gradient norm (log scale)"
    )
    graph.add_argument("--show-order", action="store_true", help="number the nodes in the order backward visits them")
    graph.add_argument(
        "--max-nodes",
        type=positive_int,
        default=None,
        help="the picture's node budget: a larger picture is refused before anything is built "
        "(default: draw_graph's, 1500)",
    )
    graph.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    graph.add_argument(
        "-o",
        "--output",
        required=True,
        help=f"output file; the format follows the extension: {', '.join(GRAPH_FORMATS)}",
    )
    graph.set_defaults(run=run_graph, formats=GRAPH_FORMATS, parser=graph)

    bptt = commands.add_parser(
        "bptt",
        help="plot ||dL/dh_t|| over time for a tanh RNN and an LSTM, side by side",
        description="Unroll each cell (float64, batch 1, PyTorch's initialisation) over --steps random inputs, "
        "take a loss of the last hidden state only, and plot how much gradient reaches every earlier "
        "state, ||dL/dh_t||, on a log scale: a straight falling line is a vanishing gradient.",
    )
    bptt.add_argument(
        "--cell", choices=CELLS, nargs="+", default=["rnn", "lstm"], help="cells to compare (default: rnn lstm)"
    )
    bptt.add_argument("--steps", type=positive_int, default=50, help="time steps (default: 50)")
    bptt.add_argument("--hidden", type=positive_int, default=32, help="hidden size (default: 32)")
    bptt.add_argument(
        "--scale",
        type=positive_float,
        default=1.0,
        help="multiply the recurrent weights W_hh by this (default: 1; try 4 to see gradients explode)",
    )
    bptt.add_argument(
        "--forget-bias",
        type=float,
        default=0.0,
        help="LSTM only: add this to the forget gate's bias (default: 0; try 3 to keep f near 1)",
    )
    bptt.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    bptt.add_argument(
        "-o",
        "--output",
        required=True,
        help=f"output image; the format follows the extension: {', '.join(PLOT_FORMATS)}",
    )
    bptt.set_defaults(run=run_bptt, formats=PLOT_FORMATS, parser=bptt)
    return parser


def output_format(parser: argparse.ArgumentParser, path: str, formats: Sequence[str]) -> str:
    """The format named by ``path``'s extension, or a usage error (exit code 2)."""
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    if extension not in formats:
        parser.error(f"cannot tell the format of {path!r}: give the output file one of the extensions {formats}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        parser.error(f"the output directory {directory!r} does not exist")
    return extension


# --- tinygrad-rnn graph -------------------------------------------------------------------------
def small_model(cell: str, steps: int, hidden: int, seed: int) -> tuple[Any, tg.Tensor]:
    """A 1-layer float64 ``nn`` layer of ``cell`` and the loss mean(output^2) of one random sequence."""
    from . import nn

    tg.manual_seed(seed)
    layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](2, hidden, dtype="float64")
    x = tg.Tensor(np.random.default_rng(seed).standard_normal((steps, 1, 2)), name="x")
    output, _ = layer(x)
    return layer, (output * output).mean()


def predicted_sizes(cell: str, steps: int, hidden: int) -> dict[str, int]:
    """How many boxes the picture of ``small_model(cell, steps, hidden)`` has at each detail,
    and how many tensors it records (``"recorded"``), without building the model of ``steps``.

    Every time step records the same ops, so each count is a + b * steps: measured on the models
    of 1 and 2 steps, then extrapolated (exact; the tests compare it with the real counts).
    """
    from .viz.detail import group
    from .viz.graph import collect

    def sizes(n: int) -> dict[str, int]:
        layer, loss = small_model(cell, n, hidden, seed=0)
        graph = collect([loss], dict(layer.named_parameters()))
        return {"recorded": len(graph.nodes), **{level: len(group(graph, level).boxes) for level in DETAILS}}

    one, two = sizes(1), sizes(2)
    return {key: one[key] + (two[key] - one[key]) * (steps - 1) for key in one}


def check_budget(args: argparse.Namespace) -> None:
    """Refuse (exit 2), before building anything, a picture over the node budget or a model too
    large to record for a picture, with advice in command-line terms."""
    sizes = predicted_sizes(args.cell, args.steps, args.hidden)
    boxes = sizes[args.detail]
    if sizes["recorded"] > MAX_RECORDED:
        args.parser.error(
            f"--steps {args.steps} would record {sizes['recorded']} tensors (more than {MAX_RECORDED}) before any "
            "picture is drawn; the graph command draws small models: use fewer --steps"
        )
    if boxes <= args.max_nodes:
        return
    fits = [level for level in DETAILS[DETAILS.index(args.detail) + 1 :] if sizes[level] <= args.max_nodes]
    advice = f"--detail {fits[0]} ({sizes[fits[0]]} boxes)" if fits else "fewer --steps"
    args.parser.error(
        f"at --detail {args.detail} the picture of {args.steps} steps has {boxes} boxes, more than --max-nodes "
        f"{args.max_nodes} (slow to lay out, unreadable); use {advice}, or --max-nodes {boxes} to draw it anyway"
    )


def run_graph(args: argparse.Namespace, fmt: str) -> int:
    try:
        from . import viz
    except ImportError as error:
        print(f"tinygrad-rnn graph: the graph renderer tinygrad_rnn.viz is not available ({error})", file=sys.stderr)
        return 1
    args.max_nodes = args.max_nodes or viz.draw.MAX_NODES
    check_budget(args)
    layer, loss = small_model(args.cell, args.steps, args.hidden, args.seed)
    loss.backward(retain_graph=True)  # gradients for --color-by grad; the graph kept for --show-order
    graph = viz.draw_graph(
        loss,
        params=dict(layer.named_parameters()),
        detail=args.detail,
        color_by=None if args.color_by == "none" else args.color_by,
        show_order=args.show_order,
        max_nodes=args.max_nodes,
    )
    if fmt in ("dot", "gv"):
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(graph.source)
    else:
        try:
            graph.render(args.output, format=fmt)
        except (RuntimeError, OSError) as error:  # no dot program, or it failed: say so, exit 1
            print(f"tinygrad-rnn graph: could not render {args.output!r}: {error}", file=sys.stderr)
            return 1
    print(f"wrote {args.output} ({args.cell}, {args.steps} steps, hidden {args.hidden}, detail {args.detail})")
    return 0


# --- tinygrad-rnn bptt --------------------------------------------------------------------------
def state_grad_norms(
    cell: str, steps: int, hidden: int, scale: float = 1.0, forget_bias: float = 0.0, seed: int = 0
) -> np.ndarray:
    """||dL/dh_t|| for t = 0..steps-1 of one ``nn`` cell unrolled in a loop, L = sum(h_T * r)."""
    from . import bptt, nn

    tg.manual_seed(seed)
    module = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell](hidden, hidden, dtype="float64")
    module.weight_hh.data = module.weight_hh.data * scale
    if cell == "lstm" and forget_bias:
        bias = module.bias_hh.numpy().copy()
        bias[hidden : 2 * hidden] += forget_bias  # gate blocks i, f, g, o
        module.bias_hh.data = tg.Tensor(bias).data
    rng = np.random.default_rng(seed)
    xs = tg.Tensor(rng.standard_normal((steps, 1, hidden)))
    state, hiddens = None, []
    for t in range(steps):
        with tg.scope(f"t={t}"):
            state = module(xs[t], state)
        hiddens.append(state[0] if cell == "lstm" else state)
    loss = (hiddens[-1] * tg.Tensor(rng.standard_normal((1, hidden)))).sum()
    return bptt.hidden_grad_norms(loss, hiddens)


def factor_per_step_back(norms: np.ndarray) -> float | None:
    """The average factor by which ||dL/dh_t|| changes per step back in time: the geometric mean
    (||dL/dh_0|| / ||dL/dh_{T-1}||)^(1/(T-1)) of the T-1 single-step ratios, assuming no shape
    of the curve (a straight-line fit of log norms would be pulled by its ends when the curve
    bends). None when there is no step back (T = 1) or a norm is 0 or not finite.
    """
    norms = np.asarray(norms, dtype=float)
    if len(norms) < 2 or not np.all(np.isfinite(norms) & (norms > 0)):
        return None
    return float((norms[0] / norms[-1]) ** (1.0 / (len(norms) - 1)))


def describe_steps_back(norms: np.ndarray) -> str:
    """What the curve says, in words that hold whatever its shape: the average factor per step
    back and the range of the single steps' factors, or why there is none."""
    norms = np.asarray(norms, dtype=float)
    if len(norms) < 2:
        return "one step: no step back to measure"
    usable = np.isfinite(norms) & (norms > 0)
    if not usable.all():
        bad = int(np.flatnonzero(~usable)[-1])
        return f"||dL/dh_t|| is 0 or not finite at t = {bad} (under- or overflow): no average factor"
    ratios = norms[:-1] / norms[1:]
    return (
        f"x{factor_per_step_back(norms):.3g} per step back on average (geometric mean of {len(ratios)}); "
        f"single steps x{ratios.min():.3g} to x{ratios.max():.3g}"
    )


def run_bptt(args: argparse.Namespace, fmt: str) -> int:
    from . import bptt

    try:
        from matplotlib.figure import Figure
    except ImportError:
        print('tinygrad-rnn bptt: plotting needs matplotlib: pip install "tinygrad-rnn[examples]"', file=sys.stderr)
        return 1
    figure = Figure(figsize=(5 * len(args.cell), 4), layout="constrained")
    axes = figure.subplots(1, len(args.cell), sharey=True, squeeze=False)[0]
    for ax, cell in zip(axes, args.cell):
        norms = state_grad_norms(cell, args.steps, args.hidden, args.scale, args.forget_bias, args.seed)
        settings = [f"H={args.hidden}"] + [f"W_hh ×{args.scale:g}"] * (args.scale != 1)
        settings += [f"forget bias +{args.forget_bias:g}"] * (cell == "lstm" and args.forget_bias != 0)
        factor = factor_per_step_back(norms)
        rate = "no average rate" if factor is None else f"×{factor:.3g} per step back (geometric mean)"
        bptt.plot_grad_norms(norms, ax=ax, title=f"{CELL_TITLES[cell]}, {', '.join(settings)}\n{rate}")
        last = args.steps - 1
        overall = (
            f"||dL/dh_0|| / ||dL/dh_{last}|| = {norms[0] / norms[-1]:.3g} over {last} steps back; " if last else ""
        )
        print(f"{CELL_TITLES[cell]:>8}: {overall}{describe_steps_back(norms)}")
    figure.suptitle("How much of the last step's gradient reaches step t (loss on h_T only)")
    figure.savefig(args.output, format=fmt, dpi=120)
    print(f"wrote {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse exits with 2 on bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    fmt = output_format(args.parser, args.output, args.formats)  # errors in the sub-command's usage
    return args.run(args, fmt)


if __name__ == "__main__":
    sys.exit(main())
