"""Many to many: tag every character of Python source as name, keyword, operator, string, comment ...

Data: modules of Python's own standard library, labelled by Python's ``tokenize`` module: each
character gets one of seven tags (space, name, keyword, op, number, string, comment). A model
that sees only the characters has to rediscover the tokenizer's rules: that ``#`` starts a comment
until the end of the line, that quotes open and close strings, that ``def`` is a keyword but
``define`` is a name. One output per input, aligned in time.

The files are cut into chunks of 128 characters. A bidirectional LSTM reads each chunk both ways,
so the tag of a character can depend on what comes after it too (``i`` in ``if`` vs ``id``).
Whole files are held out for testing. The baseline is the best tag for each character on its own
(the most frequent one in training: ``(`` is always op, but ``e`` could be anything).

    python examples/many_to_many_tagging.py              # a few minutes
"""

from __future__ import annotations

import numpy as np
from common import figure, minibatches, output, parser, plot_curves, progress, save, setup
from data import TAGS, python_source_tags
from matplotlib.patches import Patch, Rectangle

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

COLORS = {
    "space": "white",
    "name": "black",
    "keyword": "C0",
    "op": "C1",
    "number": "C4",
    "string": "C2",
    "comment": "C7",
}


class Tagger(nn.Module):
    """Embedding of each byte -> bidirectional LSTM -> Linear: one score per tag at every position."""

    def __init__(self, tags: int, embed: int = 32, hidden: int = 64):
        super().__init__()
        self.embedding = nn.Embedding(128, embed)  # ASCII code points
        self.lstm = nn.LSTM(embed, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, tags)

    def forward(self, ids: np.ndarray) -> tg.Tensor:
        output, _ = self.lstm(self.embedding(ids))  # (B, T) -> (B, T, E) -> (B, T, 2H)
        return self.head(output)  # (B, T, tags)


def chunks(pairs: list[tuple[str, list[int]]], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut every file into whole chunks of ``length`` characters: (N, length) char codes and tags."""
    ids, tags = [], []
    for source, labels in pairs:
        for start in range(0, len(source) - length + 1, length):
            ids.append([ord(c) for c in source[start : start + length]])
            tags.append(labels[start : start + length])
    return np.array(ids, dtype=np.int64), np.array(tags, dtype=np.int64)


def predict(model: Tagger, ids: np.ndarray) -> np.ndarray:
    """The most likely tag of every character, (N, T)."""
    with tg.no_grad():
        return np.concatenate([model(ids[b]).numpy().argmax(axis=-1) for b in minibatches(len(ids), 256)])


def draw_tagged(ax, text: str, predicted: np.ndarray, truth: np.ndarray) -> None:
    """The text, each character coloured by its predicted tag; wrong ones on a red background."""
    row = col = 0
    for char, tag, true in zip(text, predicted, truth):
        if char == "\n":
            row, col = row + 1, 0
            continue
        if tag != true:
            ax.add_patch(Rectangle((col - 0.5, -row - 0.5), 1, 1, color="#fbb"))
        if not char.isspace():
            ax.text(col, -row, char, color=COLORS[TAGS[tag]], family="monospace", ha="center", va="center", fontsize=8)
        col += 1
    ax.set(xlim=(-1, 80), ylim=(-row - 1, 1), xticks=[], yticks=[])
    legend = [Patch(color=color, label=name) for name, color in COLORS.items() if name != "space"]
    ax.legend(handles=legend + [Patch(color="#fbb", label="wrong")], loc="lower right", fontsize=7, ncols=4)


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=2, lr=0.005, batch_size=32)
    p.add_argument("--files", type=int, default=40, help="standard-library modules to read (10%% held out)")
    p.add_argument("--length", type=int, default=128, help="characters per chunk")
    p.add_argument("--hidden", type=int, default=64)
    args = p.parse_args(argv)
    if args.quick:
        args.files, args.epochs = 4, 1
    rng = setup(args)

    pairs = python_source_tags(max_files=args.files)
    held_out = max(1, len(pairs) // 10)
    train_ids, train_tags = chunks(pairs[:-held_out], args.length)
    test_ids, test_tags = chunks(pairs[-held_out:], args.length)
    if args.quick:
        train_ids, train_tags, test_ids, test_tags = train_ids[:320], train_tags[:320], test_ids[:64], test_tags[:64]
    print(f"tagging: {train_ids.size:,} training characters, {test_ids.size:,} held-out ones")

    # Baseline: each character's most frequent tag in training, whatever its neighbours.
    counts = np.zeros((128, len(TAGS)), dtype=np.int64)
    np.add.at(counts, (train_ids.ravel(), train_tags.ravel()), 1)
    baseline_accuracy = float((counts.argmax(axis=1)[test_ids] == test_tags).mean())

    model = Tagger(len(TAGS), hidden=args.hidden)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    history = {"train loss": []}
    batches = [b for _ in range(args.epochs) for b in minibatches(len(train_ids), args.batch_size, rng)]
    for step, batch in enumerate(progress(batches, desc="batches")):
        logits = model(train_ids[batch])  # (B, T, tags)
        loss = F.cross_entropy(logits.transpose(1, 2), train_tags[batch])  # PyTorch's (N, C, T) layout
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history["train loss"].append(loss.item())
        if step % 50 == 0:
            print(f"step {step}: loss {loss.item():.3f}")

    predicted = predict(model, test_ids)
    test_accuracy = float((predicted == test_tags).mean())
    print(
        f"tagging: per-character accuracy on held-out files {test_accuracy:.1%} "
        f"(each character's most frequent tag: {baseline_accuracy:.1%})"
    )
    per_tag = {
        name: float((predicted[test_tags == k] == k).mean()) for k, name in enumerate(TAGS) if (test_tags == k).any()
    }
    print("recall per tag:", ", ".join(f"{name} {value:.1%}" for name, value in per_tag.items()))

    fig, (ax_loss, ax_text) = figure(columns=2, width=6.5, height=6)
    plot_curves(
        ax_loss, history, "training step (batch)", "cross-entropy per character", "many to many: tagging source"
    )
    sample = slice(min(24, len(test_ids) - 8), min(24, len(test_ids) - 8) + 8)  # 8 chunks of held-out code
    text = "".join(chr(c) for c in test_ids[sample].ravel())
    shown = len("\n".join(text.split("\n")[:28]))  # the first 28 lines of them
    draw_tagged(ax_text, text[:shown], predicted[sample].ravel(), test_tags[sample].ravel())
    ax_text.set_title("held-out source, each character coloured by its predicted tag")
    plot = save(fig, output(args, "many_to_many_tagging.png"))
    return {
        "train_loss": history["train loss"],
        "test_accuracy": test_accuracy,
        "baseline_accuracy": baseline_accuracy,
        "plot": plot,
    }


if __name__ == "__main__":
    main()
