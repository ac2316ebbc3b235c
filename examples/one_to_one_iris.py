"""One to one: classify iris flowers from their four measurements with a small MLP.

The baseline the sequence examples grow from: one input vector, one output, no time axis. A
two-layer perceptron, ``Linear(4, 16) -> Tanh -> Linear(16, 3)``, trained full-batch with Adam on
80% of Fisher's 150 flowers and scored on the other 20%.

    python examples/one_to_one_iris.py            # about a second
"""

from __future__ import annotations

import numpy as np
from common import figure, output, parser, plot_curves, progress, save, setup
from data import iris, split

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn


def accuracy(model: nn.Module, x: tg.Tensor, y: np.ndarray) -> float:
    with tg.no_grad():
        return float((model(x).numpy().argmax(axis=1) == y).mean())


def main(argv: list[str] | None = None) -> dict:
    args = parser(__doc__.splitlines()[0], epochs=200, lr=0.02).parse_args(argv)
    if args.quick:
        args.epochs = min(args.epochs, 50)
    setup(args)

    features, labels, species = iris()
    train, test = split(range(len(labels)), test_fraction=0.2, seed=args.seed)
    mean, std = features[train].mean(axis=0), features[train].std(axis=0)  # standardise with train statistics
    x_train, x_test = (tg.Tensor(((features[i] - mean) / std).astype(np.float32)) for i in (train, test))
    y_train, y_test = labels[train], labels[test]

    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    history = {"train loss": [], "test loss": []}
    for _ in progress(range(args.epochs), desc="epochs"):
        loss = F.cross_entropy(model(x_train), y_train)  # one full batch of 120 flowers
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with tg.no_grad():
            history["train loss"].append(loss.item())
            history["test loss"].append(F.cross_entropy(model(x_test), y_test).item())

    test_accuracy = accuracy(model, x_test, y_test)
    print(f"iris: test accuracy {test_accuracy:.1%} on {len(test)} flowers ({', '.join(species)})")

    fig, (ax_loss, ax_map) = figure(columns=2, width=5)
    plot_curves(ax_loss, history, "epoch", "cross-entropy", "one to one: iris MLP")
    # The decision regions over the two petal measurements (the sepal ones held at their mean).
    grid = np.linspace(-2.5, 2.5, 200)
    petal_length, petal_width = np.meshgrid(grid, grid)
    points = np.zeros((petal_length.size, 4), dtype=np.float32)
    points[:, 2], points[:, 3] = petal_length.ravel(), petal_width.ravel()
    with tg.no_grad():
        regions = model(tg.Tensor(points)).numpy().argmax(axis=1).reshape(petal_length.shape)
    colors = ["C0", "C1", "C2"]
    ax_map.contourf(petal_length, petal_width, regions, levels=[-0.5, 0.5, 1.5, 2.5], colors=colors, alpha=0.2)
    standardised = (features - mean) / std
    for k, name in enumerate(species):
        ax_map.scatter(*standardised[labels == k][:, 2:].T, s=12, label=name, color=f"C{k}")
    ax_map.set(xlabel="petal length (standardised)", ylabel="petal width (standardised)", title="decision regions")
    ax_map.legend()
    plot = save(fig, output(args, "one_to_one_iris.png"))
    return {"train_loss": history["train loss"], "test_accuracy": test_accuracy, "plot": plot}


if __name__ == "__main__":
    main()
