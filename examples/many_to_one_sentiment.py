"""Many to one: is a word positive or negative? A character-level GRU (or LSTM) reads it and decides.

Data: the 7,217 letter-only words of the VADER sentiment lexicon, each with the mean of ten human
ratings from -4 to +4; the label is the rating's sign. The model sees only the spelling: it has to
learn that "-less", "un-", "joy" and "kill" carry sentiment. Many inputs (the characters), one
output (the class), read from the final hidden state.

Words have different lengths, so a batch is padded to its longest word and the layer is given the
true ``lengths``: past a word's end the state is carried unchanged, so ``h_n`` is the state after
the word's own last letter, exactly as if each word had been run alone.

    python examples/many_to_one_sentiment.py               # GRU, about a minute
    python examples/many_to_one_sentiment.py --cell lstm
"""

from __future__ import annotations

from typing import Any

import numpy as np
from common import figure, minibatches, output, pad_ids, parser, plot_curves, progress, save, setup
from data import Vocab, split, vader_lexicon

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

PAD = "<pad>"


class CharClassifier(nn.Module):
    """Embedding -> GRU/LSTM over the characters -> Linear on the last hidden state."""

    def __init__(self, vocab_size: int, classes: int, embed: int = 16, hidden: int = 64, cell: str = "gru"):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell](embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, ids: np.ndarray, lengths: list[int]) -> tg.Tensor:
        x = self.embedding(ids)  # (B, T) -> (B, T, E)
        _, h_n = self.rnn(x, lengths=lengths)  # h_n: (1, B, H), the state after each word's last letter
        if isinstance(h_n, tuple):  # the LSTM returns (h_n, c_n)
            h_n = h_n[0]
        return self.head(h_n[-1])  # (B, classes)


def evaluate(model: CharClassifier, vocab: Vocab, words: list[str], labels: np.ndarray) -> tuple[float, float, Any]:
    """Mean loss, accuracy and P(positive) of every word, without recording a graph."""
    model.eval()
    probabilities, losses = [], []
    with tg.no_grad():
        for batch in minibatches(len(words), 512):
            ids, lengths = pad_ids([vocab.encode(words[i]) for i in batch], pad=0)
            logits = model(ids, lengths)
            losses.append(F.cross_entropy(logits, labels[batch], reduction="sum").item())
            probabilities.append(logits.softmax(axis=1).numpy()[:, 1])
    model.train()
    p_positive = np.concatenate(probabilities)
    return sum(losses) / len(words), float(((p_positive > 0.5) == labels).mean()), p_positive


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=10, lr=0.005, batch_size=32)
    p.add_argument("--cell", choices=["gru", "lstm"], default="gru")
    p.add_argument("--hidden", type=int, default=64)
    args = p.parse_args(argv)
    rng = setup(args)

    lexicon = vader_lexicon()
    train, test = split(lexicon, test_fraction=0.2, seed=args.seed)
    if args.quick:
        train, test, args.epochs = train[:1000], test[:300], min(args.epochs, 2)
    vocab = Vocab("".join(word for word, _ in lexicon), specials=[PAD])  # PAD gets id 0
    train_words, train_labels = [w for w, _ in train], np.array([r > 0 for _, r in train], dtype=np.int64)
    test_words, test_labels = [w for w, _ in test], np.array([r > 0 for _, r in test], dtype=np.int64)

    model = CharClassifier(len(vocab), classes=2, hidden=args.hidden, cell=args.cell)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    history = {"train loss": [], "test loss": []}
    accuracies = []
    for epoch in range(args.epochs):
        total = 0.0
        batches = minibatches(len(train_words), args.batch_size, rng)
        for batch in progress(batches, desc=f"epoch {epoch + 1}/{args.epochs}"):
            ids, lengths = pad_ids([vocab.encode(train_words[i]) for i in batch], pad=0)
            loss = F.cross_entropy(model(ids, lengths), train_labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        test_loss, test_accuracy, _ = evaluate(model, vocab, test_words, test_labels)
        history["train loss"].append(total / len(train_words))
        history["test loss"].append(test_loss)
        accuracies.append(test_accuracy)
        print(f"epoch {epoch + 1}: train loss {history['train loss'][-1]:.3f}, test accuracy {test_accuracy:.1%}")

    _, test_accuracy, p_positive = evaluate(model, vocab, test_words, test_labels)
    majority = max(test_labels.mean(), 1 - test_labels.mean())
    # Many held-out words are inflections of trained ones ("abandoned" / "abandon"); the words whose first
    # five letters begin no training word show how well the model reads spelling it has never seen.
    seen = {word[:5] for word in train_words}
    new = np.array([word[:5] not in seen for word in test_words])
    new_stem_accuracy = float(((p_positive[new] > 0.5) == test_labels[new]).mean())
    new_majority = max(test_labels[new].mean(), 1 - test_labels[new].mean())
    print(
        f"sentiment ({args.cell}): test accuracy {test_accuracy:.1%} on {len(test_words)} held-out words "
        f"(always guessing the majority class: {majority:.1%}); on the {new.sum()} held-out words with an "
        f"unseen 5-letter stem: {new_stem_accuracy:.1%} (majority: {new_majority:.1%})"
    )
    unseen = ["sunshiny", "gloomful", "unhelpfulness", "lovingly", "hateable", "wonderfulness"]
    _, _, p_unseen = evaluate(model, vocab, unseen, np.zeros(len(unseen), dtype=np.int64))
    print("P(positive) of words outside the lexicon:", ", ".join(f"{w} {p:.2f}" for w, p in zip(unseen, p_unseen)))

    fig, (ax_loss, ax_scatter) = figure(columns=2, width=5)
    plot_curves(ax_loss, history, "epoch", "cross-entropy", f"many to one: char {args.cell.upper()} sentiment")
    ax_accuracy = ax_loss.twinx()
    ax_accuracy.plot(np.arange(1, len(accuracies) + 1), accuracies, color="C2", ls="--", label="test accuracy")
    ax_accuracy.set(ylabel="test accuracy", ylim=(0.4, 1.0))
    ax_accuracy.legend(loc="center right")
    ratings = np.array([r for _, r in test])
    ax_scatter.scatter(ratings, p_positive, s=4, alpha=0.4, c=np.where((p_positive > 0.5) == test_labels, "C0", "C3"))
    ax_scatter.axhline(0.5, color="grey", lw=0.8)
    ax_scatter.axvline(0.0, color="grey", lw=0.8)
    ax_scatter.set(
        xlabel="human rating (-4 .. +4)",
        ylabel="model's P(positive)",
        title=f"held-out words: {test_accuracy:.1%} right (red: wrong)",
    )
    plot = save(fig, output(args, "many_to_one_sentiment.png"))
    return {
        "train_loss": history["train loss"],
        "test_accuracy": test_accuracy,
        "majority": majority,
        "new_stem_accuracy": new_stem_accuracy,
        "plot": plot,
    }


if __name__ == "__main__":
    main()
