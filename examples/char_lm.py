"""A character-level LSTM language model of Python's documentation, trained with truncated BPTT.

Data: the ~465,000 characters of Python's help topics (``pydoc_data``, shipped with CPython); the
last 10% is held out. The model reads one character at a time and predicts the next one at every
step (many to many, shifted by one).

Truncated backpropagation through time: the training text is laid out as ``batch_size`` parallel
streams, each read in chunks of ``--bptt`` characters. The LSTM's state at the end of a chunk is
the state at the start of the next one (so the model remembers across chunks), but it is
*detached* first, so backward stops at the chunk's start: the cost of an update is bounded by the
chunk length, however long the stream. Gradients are clipped to a total norm of ``--clip``.

The score is bits per character on the held-out text (cross-entropy / ln 2); the reference is the
entropy of the character frequencies (what a model that ignores context reaches). The trained
model is saved with ``tinygrad_rnn.save`` to ``out/char_lm.npz``; ``one_to_many_generate.py``
loads it and writes text.

    python examples/char_lm.py                  # a few minutes
    python examples/one_to_many_generate.py     # then generate from the checkpoint
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from common import figure, output, parser, progress, save, setup
from data import Vocab, python_docs_text

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn


class CharLM(nn.Module):
    """Embedding -> LSTM -> Linear: scores for the next character at every position."""

    def __init__(self, vocab_size: int, embed: int = 32, hidden: int = 256, layers: int = 1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids: np.ndarray, state: tuple[tg.Tensor, tg.Tensor] | None = None):
        """ids (B, T) -> scores (B, T, vocab) and the LSTM state (h, c) after the last step."""
        output, state = self.lstm(self.embedding(ids), state)
        return self.head(output), state


def streams(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Lay a long sequence out as ``batch_size`` parallel streams: (batch_size, len // batch_size).

    >>> streams(np.arange(7), 2)
    array([[0, 1, 2],
           [3, 4, 5]])
    """
    length = len(ids) // batch_size
    return ids[: length * batch_size].reshape(batch_size, length)


def bits_per_char(model: CharLM, data: np.ndarray, bptt: int) -> float:
    """Mean cross-entropy in bits of predicting each next character of ``data`` (B, N), state carried."""
    total, count, state = 0.0, 0, None
    with tg.no_grad():
        for start in range(0, data.shape[1] - 1, bptt):
            inputs, targets = data[:, start : start + bptt], data[:, start + 1 : start + bptt + 1]
            inputs = inputs[:, : targets.shape[1]]
            scores, state = model(inputs, state)
            total += F.cross_entropy(scores.transpose(1, 2), targets, reduction="sum").item()
            count += targets.size
    return total / count / math.log(2)


def save_checkpoint(path: Path, model: CharLM, vocab: Vocab, config: dict) -> None:
    """The weights, the vocabulary (as code points) and the sizes, in one ``tinygrad_rnn.save`` file."""
    code_points = np.array([ord(symbol) for symbol in vocab.symbols], dtype=np.int64)
    tg.save({"model": model.state_dict(), "vocab": code_points, "config": config}, path)


def load_checkpoint(path: Path) -> tuple[CharLM, Vocab]:
    """The model and vocabulary :func:`save_checkpoint` wrote (the file holds dotted keys ``model.*``, ...)."""
    state = tg.load(path)
    vocab = Vocab(chr(int(c)) for c in state["vocab"].numpy())
    config = {
        key.removeprefix("config."): int(value.item()) for key, value in state.items() if key.startswith("config.")
    }
    model = CharLM(len(vocab), **config)
    model.load_state_dict({key.removeprefix("model."): v for key, v in state.items() if key.startswith("model.")})
    return model, vocab


def train(argv: list[str] | None = None) -> tuple[CharLM, Vocab, dict]:
    """Parse the options, train, save the checkpoint; return the model, its vocabulary and the metrics."""
    p = parser(__doc__.splitlines()[0], epochs=6, lr=0.005, batch_size=32)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bptt", type=int, default=64, help="characters per chunk: how far back gradients reach")
    p.add_argument("--clip", type=float, default=1.0, help="max total gradient norm")
    p.add_argument("--checkpoint", type=Path, default=None, help="where to save (default: OUT/char_lm.npz)")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.epochs = min(args.hidden, 64), 1
    setup(args)

    text = python_docs_text()
    vocab = Vocab(text)
    ids = np.array(vocab.encode(text), dtype=np.int64)
    cut = int(len(ids) * 0.9)
    train_ids, valid_ids = ids[:cut], ids[cut:]
    if args.quick:
        train_ids, valid_ids = train_ids[:40_000], valid_ids[:4_000]
    frequencies = np.bincount(train_ids, minlength=len(vocab)) / len(train_ids)
    unigram_bits = float(-(frequencies[frequencies > 0] * np.log2(frequencies[frequencies > 0])).sum())
    print(f"char LM: {len(train_ids):,} training characters, {len(valid_ids):,} held out, {len(vocab)} symbols")

    config = {"embed": 32, "hidden": args.hidden, "layers": args.layers}
    model = CharLM(len(vocab), **config)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    train_data, valid_data = streams(train_ids, args.batch_size), streams(valid_ids, args.batch_size)
    history = {"train": [], "held out": []}
    losses = []  # bits per char of every update
    for epoch in range(args.epochs):
        state = None  # each epoch starts from zeros
        starts = range(0, train_data.shape[1] - args.bptt - 1, args.bptt)
        bar = progress(starts, desc=f"epoch {epoch + 1}/{args.epochs}")
        for start in bar:
            inputs = train_data[:, start : start + args.bptt]  # (B, K)
            targets = train_data[:, start + 1 : start + args.bptt + 1]  # the next character of each
            state = nn.detach_state(state)  # keep the values, cut the graph: backward stops here
            scores, state = model(inputs, state)
            loss = F.cross_entropy(scores.transpose(1, 2), targets)  # (B, vocab, K) against (B, K)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            losses.append(loss.item() / math.log(2))
            bar.set_postfix(bits=f"{losses[-1]:.2f}")
        epoch_losses = losses[-len(starts) :]
        history["train"].append(float(np.mean(epoch_losses)))
        history["held out"].append(bits_per_char(model, valid_data, args.bptt))
        print(f"epoch {epoch + 1}: train {history['train'][-1]:.3f} bits/char, held out {history['held out'][-1]:.3f}")

    checkpoint = args.checkpoint or output(args, "char_lm.npz")
    save_checkpoint(checkpoint, model, vocab, config)
    print(f"checkpoint: {checkpoint}")
    print(
        f"char LM: held-out {history['held out'][-1]:.3f} bits/char "
        f"(character frequencies alone: {unigram_bits:.3f} bits/char)"
    )

    fig, ax = figure(width=7)
    ax.plot(np.arange(1, len(losses) + 1), losses, color="C0", alpha=0.3, lw=0.8, label="train, per update")
    updates = np.arange(1, args.epochs + 1) * len(starts)
    ax.set(xlabel="update", ylabel="bits per character", title="char LSTM on Python's docs (truncated BPTT)")
    ax.plot(updates, history["held out"], "o-", color="C1", label="held out, end of epoch")
    ax.axhline(unigram_bits, color="grey", ls="--", label="character frequencies alone")
    ax.grid(alpha=0.3)
    ax.legend()
    plot = save(fig, output(args, "char_lm.png"))
    metrics = {
        "train_loss": losses,
        "valid_bits_per_char": history["held out"][-1],
        "unigram_bits_per_char": unigram_bits,
        "checkpoint": checkpoint,
        "plot": plot,
    }
    return model, vocab, metrics


def main(argv: list[str] | None = None) -> dict:
    return train(argv)[2]


if __name__ == "__main__":
    main()
