"""Sequence to sequence: spell a word, hear its phonemes. A GRU encoder-decoder learns English pronunciation.

Data: the CMU Pronouncing Dictionary (words of 3 to 10 letters, their first pronunciation, stress
removed: 39 phonemes). "thought" has 7 letters and 3 phonemes (TH AO T), "box" 3 and 4 (B AA K S):
input and output lengths differ and are not aligned, so tagging each letter would not work.

The encoder, a bidirectional GRU, reads the letters (a padded batch with ``lengths``) and its two
final states are squeezed into one vector, the decoder's initial state. The decoder, a GRU over
phonemes, is trained with *teacher forcing*: its input at step t is the true phoneme t-1 (``<s>``
first) and it learns to predict phoneme t, then ``</s>``; padded steps are ignored in the loss
(``ignore_index``). At test time there is no truth to feed: *greedy decoding* feeds back its own
most likely phoneme, one step at a time, until ``</s>``.

Scored on held-out words: phoneme accuracy = 1 - (edit distance to the true pronunciation /
its length), and the share of words pronounced exactly right.

    python examples/seq2seq_g2p.py                       # a few minutes
    python examples/seq2seq_g2p.py --cell lstm
"""

from __future__ import annotations

import numpy as np
from common import figure, minibatches, output, pad_ids, parser, plot_curves, progress, save, setup
from data import Vocab, cmudict_entries, split

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

PAD, START, END = "<pad>", "<s>", "</s>"
IGNORE = -100  # the target of padded steps: F.cross_entropy skips it


class Seq2Seq(nn.Module):
    """Bidirectional GRU/LSTM encoder -> one vector -> GRU/LSTM decoder, scores over phonemes at every step."""

    def __init__(self, letters: int, phonemes: int, embed: int = 32, hidden: int = 128, cell: str = "gru"):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.letter_embedding = nn.Embedding(letters, embed, padding_idx=0)
        self.encoder = rnn(embed, hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, hidden)  # both directions' last states -> the decoder's first
        self.phoneme_embedding = nn.Embedding(phonemes, embed, padding_idx=0)
        self.decoder = rnn(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, phonemes)

    def encode(self, letters: np.ndarray, lengths: list[int]):
        """(B, T_in) letter ids -> the decoder's initial state (1, B, H) (for the LSTM: (h, c))."""
        _, state = self.encoder(self.letter_embedding(letters), lengths=lengths)  # h_n: (2, B, H)
        h_n = state[0] if isinstance(state, tuple) else state
        h_0 = self.bridge(tg.cat([h_n[0], h_n[1]], axis=-1)).tanh().unsqueeze(0)  # forward and backward summaries
        return (h_0, tg.zeros_like(h_0)) if isinstance(state, tuple) else h_0

    def decode(self, inputs: np.ndarray, state):
        """(B, T_out) phoneme ids -> scores (B, T_out, phonemes) and the state after the last step."""
        output, state = self.decoder(self.phoneme_embedding(inputs), state)
        return self.head(output), state

    def forward(self, letters: np.ndarray, lengths: list[int], decoder_inputs: np.ndarray) -> tg.Tensor:
        """Teacher forcing: the decoder reads the true previous phonemes."""
        return self.decode(decoder_inputs, self.encode(letters, lengths))[0]


def batch(words: list[str], pronunciations: list[list[str]], letters: Vocab, phonemes: Vocab):
    """Padded letter ids and lengths, decoder inputs (<s> p1 .. pn) and targets (p1 .. pn </s>)."""
    source, lengths = pad_ids([letters.encode(w) for w in words], pad=0)
    start, end = phonemes.index[START], phonemes.index[END]
    decoder_inputs, _ = pad_ids([[start, *phonemes.encode(p)] for p in pronunciations], pad=0)
    targets, _ = pad_ids([[*phonemes.encode(p), end] for p in pronunciations], pad=IGNORE)
    return source, lengths, decoder_inputs, targets


def greedy_decode(model: Seq2Seq, words: list[str], letters: Vocab, phonemes: Vocab, max_steps: int = 16):
    """Each word's phonemes, decoded one step at a time from the model's own most likely previous phoneme."""
    source, lengths = pad_ids([letters.encode(w) for w in words], pad=0)
    end = phonemes.index[END]
    with tg.no_grad():
        state = model.encode(source, lengths)
        previous = np.full((len(words), 1), phonemes.index[START], dtype=np.int64)
        steps = []
        for _ in range(max_steps):
            scores, state = model.decode(previous, state)  # one step for the whole batch
            previous = scores.numpy()[:, -1].argmax(axis=-1)[:, None]
            steps.append(previous[:, 0])
    decoded = []
    for row in np.stack(steps, axis=1):
        ids = row.tolist()
        decoded.append([phonemes.symbols[i] for i in ids[: ids.index(end) if end in ids else len(ids)]])
    return decoded


def edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance: insertions, deletions and substitutions turning a into b.

    >>> edit_distance("K AE T".split(), "K AA T S".split())
    2
    """
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def score(model: Seq2Seq, pairs: list, letters: Vocab, phonemes: Vocab) -> tuple[float, float, list]:
    """Phoneme accuracy (1 - phoneme error rate), word accuracy and the predictions, by greedy decoding."""
    model.eval()
    predictions = []
    for b in minibatches(len(pairs), 500):
        predictions += greedy_decode(model, [pairs[i][0] for i in b], letters, phonemes)
    model.train()
    errors = sum(edit_distance(p, truth) for p, (_, truth) in zip(predictions, pairs))
    phoneme_accuracy = 1 - errors / sum(len(truth) for _, truth in pairs)
    word_accuracy = float(np.mean([p == truth for p, (_, truth) in zip(predictions, pairs)]))
    return phoneme_accuracy, word_accuracy, predictions


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=6, lr=0.003, batch_size=64)
    p.add_argument("--cell", choices=["gru", "lstm"], default="gru")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--words", type=int, default=50_000, help="training words (of ~100,000)")
    p.add_argument("--test-words", type=int, default=1_000)
    args = p.parse_args(argv)
    if args.quick:
        args.words, args.test_words, args.epochs, args.hidden = 1_000, 100, 2, min(args.hidden, 64)
    rng = setup(args)

    entries = [(word, phones) for word, phones in cmudict_entries(max_length=10) if len(word) >= 3]
    train, test = split(entries, test_fraction=0.1, seed=args.seed)
    train, test = train[: args.words], test[: args.test_words]
    letters = Vocab("".join(word for word, _ in entries), specials=[PAD])
    phonemes = Vocab((p for _, phones in entries for p in phones), specials=[PAD, START, END])
    print(
        f"g2p: {len(train):,} training words, {len(test):,} held out; {len(letters) - 1} letters, "
        f"{len(phonemes) - 3} phonemes"
    )

    model = Seq2Seq(len(letters), len(phonemes), hidden=args.hidden, cell=args.cell)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    history = {"train loss": []}
    accuracies = []
    for epoch in range(args.epochs):
        total = 0.0
        batches = minibatches(len(train), args.batch_size, rng)
        for b in progress(batches, desc=f"epoch {epoch + 1}/{args.epochs}"):
            source, lengths, decoder_inputs, targets = batch(
                [train[i][0] for i in b], [train[i][1] for i in b], letters, phonemes
            )
            scores = model(source, lengths, decoder_inputs)  # (B, T_out, phonemes)
            loss = F.cross_entropy(scores.transpose(1, 2), targets, ignore_index=IGNORE)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += loss.item()
        history["train loss"].append(total / len(batches))
        phoneme_accuracy, word_accuracy, _ = score(model, test, letters, phonemes)
        accuracies.append(phoneme_accuracy)
        print(
            f"epoch {epoch + 1}: train loss {history['train loss'][-1]:.3f}, "
            f"held-out phoneme accuracy {phoneme_accuracy:.1%}, words exactly right {word_accuracy:.1%}"
        )

    phoneme_accuracy, word_accuracy, predictions = score(model, test, letters, phonemes)
    print(
        f"g2p ({args.cell}): held-out phoneme accuracy {phoneme_accuracy:.1%} "
        f"(1 - phoneme error rate), words exactly right {word_accuracy:.1%}"
    )
    examples = []
    for (word, truth), predicted in list(zip(test, predictions))[:14]:
        mark = "ok" if predicted == truth else "  "
        examples.append(f"{mark} {word:<11}{' '.join(predicted):<24}{' '.join(truth)}")
    print("\n".join(examples))

    fig, (ax_loss, ax_table) = figure(columns=2, width=5.5)
    plot_curves(
        ax_loss, history, "epoch", "cross-entropy per phoneme", f"seq2seq {args.cell.upper()}: letters -> phonemes"
    )
    ax_accuracy = ax_loss.twinx()
    ax_accuracy.plot(
        np.arange(1, len(accuracies) + 1), accuracies, "o--", color="C2", label="held-out phoneme accuracy"
    )
    ax_accuracy.set(ylabel="held-out phoneme accuracy", ylim=(0, 1))
    ax_accuracy.legend(loc="center right")
    ax_table.axis("off")
    header = f"   {'word':<11}{'greedy decoding':<24}CMUdict"
    ax_table.text(0, 1, "\n".join([header, *examples]), family="monospace", fontsize=8, va="top")
    ax_table.set_title(f"held-out words: {phoneme_accuracy:.1%} of phonemes, {word_accuracy:.1%} of words right")
    plot = save(fig, output(args, "seq2seq_g2p.png"))
    return {
        "train_loss": history["train loss"],
        "phoneme_accuracy": phoneme_accuracy,
        "word_accuracy": word_accuracy,
        "plot": plot,
    }


if __name__ == "__main__":
    main()
