"""What every example script shares: its command line, its output folder, progress bars, batching.

Each example is one script with a ``main(argv=None) -> dict`` that trains, prints a final metric,
saves a plot to ``out/<name>.png`` and returns its numbers (the tests call ``main(["--quick"])``).
The pieces below are the same in all of them, so they live here once.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

import tinygrad_rnn as tg

#: ``out/`` at the repository's top (ignored by git), where plots and checkpoints go by default.
OUT = Path(__file__).resolve().parent.parent / "out"


def parser(description: str, epochs: int, lr: float, batch_size: int | None = None) -> argparse.ArgumentParser:
    """The options every example has: ``--quick``, ``--epochs``, ``--lr``, ``--batch-size``, ``--seed``, ``--out``.

    >>> args = parser("demo", epochs=10, lr=0.01).parse_args(["--quick"])
    >>> args.quick, args.epochs, args.lr, args.seed
    (True, 10, 0.01, 0)
    """
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a few seconds on a small slice of the data (for tests)")
    p.add_argument("--epochs", type=int, default=epochs, help="passes over the training data")
    p.add_argument("--lr", type=float, default=lr, help="learning rate")
    if batch_size is not None:
        p.add_argument("--batch-size", type=int, default=batch_size, help="sequences per batch")
    p.add_argument("--seed", type=int, default=0, help="seed of tinygrad_rnn.manual_seed and of the data split")
    p.add_argument("--out", type=Path, default=OUT, help="folder for the plot (and checkpoint)")
    return p


def setup(args: argparse.Namespace) -> np.random.Generator:
    """Seed everything from ``args.seed`` and use one BLAS thread; return a NumPy generator for shuffling.

    One thread, because a recurrent network multiplies small matrices one time step after another:
    a second BLAS thread cannot help there, and on a busy machine its hand-offs made every small
    matmul up to 100 times slower (measured here with OpenBLAS on 2 cores).
    """
    threadpool_limits(1, user_api="blas")
    tg.manual_seed(args.seed)
    return np.random.default_rng(args.seed)


def output(args: argparse.Namespace, filename: str) -> Path:
    """``args.out / filename``, creating the folder."""
    args.out.mkdir(parents=True, exist_ok=True)
    return args.out / filename


def progress(iterable: Iterable, **kwargs: Any) -> tqdm:
    """A tqdm progress bar, shown only when stderr is a terminal (so logs and tests stay clean)."""
    return tqdm(iterable, disable=None, dynamic_ncols=True, **kwargs)


def minibatches(count: int, batch_size: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Indices 0..count-1 cut into batches, shuffled by ``rng`` (in order without one).

    >>> [b.tolist() for b in minibatches(5, 2)]
    [[0, 1], [2, 3], [4]]
    """
    order = np.arange(count) if rng is None else rng.permutation(count)
    return [order[i : i + batch_size] for i in range(0, count, batch_size)]


def pad_ids(sequences: Sequence[Sequence[int]], pad: int) -> tuple[np.ndarray, list[int]]:
    """Right-pad integer sequences into one (B, T) int64 array; return it with the true lengths.

    >>> pad_ids([[5, 6, 7], [8]], pad=0)
    (array([[5, 6, 7],
           [8, 0, 0]]), [3, 1])
    """
    lengths = [len(s) for s in sequences]
    ids = np.full((len(sequences), max(lengths)), pad, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = sequence
    return ids, lengths


def figure(columns: int = 1, width: float = 6.0, height: float = 4.0) -> tuple[Figure, Any]:
    """A matplotlib Figure (no pyplot, no window: it is only saved) with ``columns`` axes side by side."""
    fig = Figure(figsize=(width * columns, height), layout="constrained")
    return fig, fig.subplots(1, columns)


def plot_curves(ax: Any, curves: dict[str, Sequence[float]], xlabel: str, ylabel: str, title: str) -> None:
    """Draw named curves (e.g. train and test loss per epoch) on one axis."""
    for label, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="." if len(values) < 40 else None, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend()


def save(fig: Figure, path: Path) -> Path:
    """Save the figure and say where."""
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")
    return path
