"""Many to many, Tx != Ty: English to Spanish with a GRU encoder-decoder and attention, on Bible verses.

Data: the verses of the King James Bible (1611) and the Reina-Valera (1909), both public domain,
paired verse by verse (``lecture_data_b.bible_pairs``), the pairs with both sides of at most
``--max-chars`` characters; lower-cased, split into words and punctuation. An English sentence
that occurs twice ("And the LORD spake unto Moses, saying,") is kept once, so no held-out
sentence was seen in training. Words seen once in training become ``<unk>``.

The model (Luong et al. 2015, "global attention, general score", without input feeding):

* encoder: ``nn.Embedding`` + bidirectional ``nn.GRU`` over the padded English batch (``lengths=``);
  its two final states, through a ``nn.Linear`` and tanh, start the decoder;
* decoder: ``nn.GRU`` over the Spanish words, trained with **teacher forcing** (its input at step t
  is the true word t-1, ``<s>`` first);
* attention at every decoder step t: scores s_tj = h_t . (W_a e_j) / sqrt(H) over the encoder outputs e_j
  (padded positions get -1e9), weights a_t = softmax(s_t), context c_t = sum_j a_tj e_j, and the
  word scores come from tanh(W_c [c_t; h_t]);
* decoding: **greedy** (each step's most likely word is the next input) and **beam search**
  (``--beam`` partial translations kept at every step, ranked at the end by log-probability per
  word); an ``<unk>`` in the output is replaced by the English word it attends to most (names
  such as "Jair" come through that way).

Scored by chrF (character n-gram F-score, n = 1..6, beta = 2, whitespace ignored, as sacrebleu's
default chrF2; written below) of the held-out translations against the Reina-Valera, lower-cased.
Baselines: the English copied unchanged, and word-for-word translation with a dictionary learned
from the same training pairs (IBM Model 1, five EM iterations).

    python examples/translate_en_es.py               # several minutes
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import numpy as np
from common import figure, minibatches, output, pad_ids, parser, plot_curves, save, setup
from data import Vocab, split
from lecture_data_b import bible_pairs, fit, similar_length_batches

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

PAD, UNK, START, END = "<pad>", "<unk>", "<s>", "</s>"
IGNORE = -100  # the target of padded steps: F.cross_entropy skips it
LECTURE_SENTENCE = "I love dogs"


def words(sentence: str) -> list[str]:
    """Lower-cased words and punctuation marks.

    >>> words("And God said, Let there be light.")
    ['and', 'god', 'said', ',', 'let', 'there', 'be', 'light', '.']
    """
    return re.findall(r"\w+|[^\w\s]", sentence.lower())


def detokenize(tokens: list[str]) -> str:
    """Words joined by spaces, with no space before closing punctuation or after an opening one.

    >>> detokenize(["y", "dijo", "dios", ":", "sea", "la", "luz", "."])
    'y dijo dios: sea la luz.'
    """
    text = " ".join(tokens)
    return re.sub(r"([¿¡(]) ", r"\1", re.sub(r" ([.,;:!?)])", r"\1", text))


# --- the score: chrF ---------------------------------------------------------------------------------


def char_ngrams(sentence: str, n: int) -> Counter:
    """The character n-grams of ``sentence`` with its whitespace removed."""
    text = "".join(sentence.split())
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def chrf(hypotheses: list[str], references: list[str], order: int = 6, beta: float = 2.0) -> float:
    """Corpus chrF (Popovic 2015) in 0..100, computed as sacrebleu's default ``CHRF()`` does.

    For each n = 1..order, the matching character n-grams (clipped counts, whitespace removed) are
    summed over the corpus: precision P_n = matches / hypothesis n-grams, recall R_n = matches /
    reference n-grams. P and R are the means over the orders that occur, and
    chrF = 100 (1 + beta^2) P R / (beta^2 P + R): recall counts beta = 2 times as much as precision.

    >>> round(chrf(["the cat sat"], ["the cat sat"]), 1), round(chrf(["la gata"], ["el gato"]), 1)
    (100.0, 21.9)
    """
    matches, in_hypotheses, in_references = np.zeros(order), np.zeros(order), np.zeros(order)
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        for n in range(1, order + 1):
            h, r = char_ngrams(hypothesis, n), char_ngrams(reference, n)
            matches[n - 1] += sum((h & r).values())
            in_hypotheses[n - 1] += sum(h.values())
            in_references[n - 1] += sum(r.values())
    seen = (in_hypotheses > 0) & (in_references > 0)
    if not seen.any():
        return 0.0
    precision = (matches[seen] / in_hypotheses[seen]).mean()
    recall = (matches[seen] / in_references[seen]).mean()
    if precision + recall == 0:
        return 0.0
    return float(100 * (1 + beta**2) * precision * recall / (beta**2 * precision + recall))


# --- the baseline: a word-for-word dictionary (IBM Model 1) -------------------------------------------


def word_dictionary(pairs: list[tuple[list[str], list[str]]], iterations: int = 5) -> dict[str, str]:
    """Each English word's most likely Spanish word, by IBM Model 1's EM on the training pairs.

    Model 1 says each Spanish word f of a pair was produced by one English word e of the same
    pair (or by an empty word), with probability t(f | e). EM starts from uniform t, shares each f
    among the English words of its pair in proportion to t (E step), and re-estimates t from
    these shares (M step). The dictionary maps e to argmax_f t(f | e).

    >>> pairs = [("the house".split(), "la casa".split()), ("the book".split(), "el libro".split()),
    ...          ("a book".split(), "un libro".split())]
    >>> word_dictionary(pairs)["book"], word_dictionary(pairs)["a"]
    ('libro', 'un')
    """
    null = None
    t: dict = defaultdict(lambda: 1.0)  # t[(e, f)], uniform to start
    for _ in range(iterations):
        counts: dict = defaultdict(float)
        totals: dict = defaultdict(float)
        for english, spanish in pairs:
            sources = [null, *english]
            for f in spanish:
                z = sum(t[e, f] for e in sources)
                for e in sources:
                    share = t[e, f] / z
                    counts[e, f] += share
                    totals[e] += share
        t = defaultdict(float, {(e, f): c / totals[e] for (e, f), c in counts.items()})
    best: dict[str, tuple[float, str]] = {}
    for (e, f), p in t.items():
        if e is not null and p > best.get(e, (0.0, ""))[0]:
            best[e] = (p, f)
    return {e: f for e, (_, f) in best.items()}


# --- the model ------------------------------------------------------------------------------------------


class Translator(nn.Module):
    """Bidirectional GRU encoder, GRU decoder, Luong attention over the encoder's outputs."""

    def __init__(self, source_words: int, target_words: int, embed: int = 128, hidden: int = 256, dropout: float = 0.1):
        super().__init__()
        self.source_embedding = nn.Embedding(source_words, embed, padding_idx=0)
        self.encoder = nn.GRU(embed, hidden, batch_first=True, bidirectional=True, fused=True)
        self.bridge = nn.Linear(2 * hidden, hidden)  # both directions' last states -> the decoder's first
        self.keys = nn.Linear(2 * hidden, hidden, bias=False)  # W_a: what each source position offers
        self.target_embedding = nn.Embedding(target_words, embed, padding_idx=0)
        self.decoder = nn.GRU(embed, hidden, batch_first=True, fused=True)
        self.combine = nn.Linear(2 * hidden + hidden, embed)  # W_c [c_t; h_t], as small as an embedding
        self.head = nn.Linear(embed, target_words)  # (the biggest matmul: keep its input small)
        self.dropout = nn.Dropout(dropout)

    def encode(self, source: np.ndarray, lengths: list[int]) -> tuple[tuple, tg.Tensor]:
        """(B, Tx) word ids -> the memory the decoder attends to, and its initial state (1, B, H)."""
        outputs, h_n = self.encoder(self.dropout(self.source_embedding(source)), lengths=lengths)  # (B, Tx, 2H)
        h_0 = self.bridge(tg.cat([h_n[0], h_n[1]], axis=-1)).tanh().unsqueeze(0)
        padded = np.arange(source.shape[1])[None, :] >= np.array(lengths)[:, None]
        mask = tg.Tensor(np.where(padded, -1e9, 0.0).astype(np.float32)[:, None, :])  # (B, 1, Tx)
        return (outputs, self.keys(outputs), mask), h_0

    def decode(self, inputs: np.ndarray, state: tg.Tensor, memory: tuple) -> tuple[tg.Tensor, tg.Tensor, tg.Tensor]:
        """(B, Ty) target ids -> word scores (B, Ty, V), attention weights (B, Ty, Tx), the last state."""
        outputs, keys, mask = memory
        hidden, state = self.decoder(self.dropout(self.target_embedding(inputs)), state)  # (B, Ty, H)
        scale = 1 / math.sqrt(hidden.shape[-1])  # unscaled, the scores of 256-wide vectors saturate the softmax
        weights = (hidden @ keys.transpose(1, 2) * scale + mask).softmax(
            axis=-1
        )  # a_t = softmax(h_t . W_a e_j / sqrt(H))
        context = weights @ outputs  # c_t = sum_j a_tj e_j: (B, Ty, 2H)
        attended = self.combine(tg.cat([context, hidden], axis=-1)).tanh()
        return self.head(self.dropout(attended)), weights, state

    def forward(self, source: np.ndarray, lengths: list[int], decoder_inputs: np.ndarray) -> tg.Tensor:
        """Teacher forcing: the decoder reads the true previous words."""
        memory, state = self.encode(source, lengths)
        return self.decode(decoder_inputs, state, memory)[0]


def batch(pairs: list[tuple[list[str], list[str]]], source: Vocab, target: Vocab):
    """Padded English ids and lengths, decoder inputs (<s> w1 .. wn) and targets (w1 .. wn </s>)."""
    ids, lengths = pad_ids([encode(english, source) for english, _ in pairs], pad=0)
    start, end = target.index[START], target.index[END]
    inputs, _ = pad_ids([[start, *encode(spanish, target)] for _, spanish in pairs], pad=0)
    targets, _ = pad_ids([[*encode(spanish, target), end] for _, spanish in pairs], pad=IGNORE)
    return ids, lengths, inputs, targets


def encode(tokens: list[str], vocab: Vocab) -> list[int]:
    """Word ids, ``<unk>`` for words the vocabulary lacks."""
    unk = vocab.index[UNK]
    return [vocab.index.get(token, unk) for token in tokens]


def beam_search(
    model: Translator, sentences: list[list[str]], source: Vocab, target: Vocab, beam: int, max_steps: int = 40
) -> tuple[list[list[str]], list[np.ndarray]]:
    """Translate a batch: ``beam`` hypotheses per sentence (``beam=1`` is greedy decoding).

    At each step every live hypothesis is extended by every word; the ``beam`` best by total
    log-probability survive (a finished one, ending in ``</s>``, carries its score unchanged). At
    the end each sentence's best is the one with the highest log-probability per word. Returns the
    translations (``<unk>`` replaced by the most attended English word) and their attention weights.
    """
    ids, lengths = pad_ids([encode(s, source) for s in sentences], pad=0)
    count, vocabulary_size, end = len(sentences), len(target), target.index[END]
    rows = np.repeat(np.arange(count), beam)  # hypothesis row -> its sentence
    with tg.no_grad():
        (outputs, keys, mask), state = model.encode(ids, lengths)
        memory = tuple(tg.Tensor(m.numpy()[rows]) for m in (outputs, keys, mask))
        state = tg.Tensor(state.numpy()[:, rows])
        scores = np.tile(np.r_[0.0, np.full(beam - 1, -np.inf)], count)  # at first, only one hypothesis each
        tokens = np.full((count * beam, 0), 0, dtype=np.int64)
        attention = np.zeros((count * beam, 0, ids.shape[1]), dtype=np.float32)
        finished = np.zeros(count * beam, dtype=bool)
        previous = np.full((count * beam, 1), target.index[START], dtype=np.int64)
        for _ in range(max_steps):
            word_scores, weights, state = model.decode(previous, state, memory)
            log_p = word_scores[:, -1].log_softmax(axis=-1).numpy().astype(np.float64)  # (B * beam, V)
            log_p[finished] = -np.inf
            log_p[finished, 0] = 0.0  # a finished hypothesis goes on with <pad>, at no cost
            totals = (scores[:, None] + log_p).reshape(count, beam * vocabulary_size)
            best = np.argsort(-totals, axis=1, kind="stable")[:, :beam]  # (B, beam)
            parents = (np.arange(count)[:, None] * beam + best // vocabulary_size).ravel()
            chosen = (best % vocabulary_size).ravel()
            scores = totals[np.arange(count)[:, None], best].ravel()
            tokens = np.concatenate([tokens[parents], chosen[:, None]], axis=1)
            attention = np.concatenate([attention[parents], weights.numpy()[parents, -1:]], axis=1)
            finished = finished[parents] | (chosen == end)
            state = tg.Tensor(state.numpy()[:, parents])
            previous = chosen[:, None]
            if finished.all():
                break
    lengths_out = np.array([list(row).index(end) + 1 if end in row else len(row) for row in tokens])
    per_word = (scores / lengths_out).reshape(count, beam)
    translations, attentions = [], []
    for sentence, choice in zip(sentences, per_word.argmax(axis=1)):
        row = len(translations) * beam + choice
        length = lengths_out[row] - (end in tokens[row])
        output_words = []
        for step, token in enumerate(tokens[row, :length]):
            word = target.symbols[token]
            if word == UNK:  # copy the English word the model looked at most
                word = sentence[int(attention[row, step, : len(sentence)].argmax())]
            output_words.append(word)
        translations.append(output_words)
        attentions.append(attention[row, :length, : len(sentence)])
    return translations, attentions


def translate_all(model, sentences, source, target, beam: int, batch_size: int = 100):
    """:func:`beam_search` over ``sentences`` in batches, the model in eval mode (no dropout)."""
    model.eval()
    translations, attentions = [], []
    for b in minibatches(len(sentences), batch_size):
        t, a = beam_search(model, [sentences[i] for i in b], source, target, beam)
        translations += t
        attentions += a
    model.train()
    return translations, attentions


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=12, lr=0.003, batch_size=16)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--max-chars", type=int, default=80, help="keep verse pairs with both sides this short")
    p.add_argument("--beam", type=int, default=5, help="hypotheses kept by beam search")
    p.add_argument("--test-pairs", type=int, default=400)
    args = p.parse_args(argv)
    if args.quick:
        args.max_chars, args.epochs, args.hidden, args.test_pairs = 40, 3, min(args.hidden, 64), 40
    rng = setup(args)

    unique = {}
    for english, spanish in bible_pairs(max_chars=args.max_chars):
        unique.setdefault(english.lower(), (words(english), words(spanish)))
    train, test = split(list(unique.values()), test_fraction=0.1, seed=args.seed)
    test = test[: args.test_pairs]
    source_counts = Counter(w for english, _ in train for w in english)
    target_counts = Counter(w for _, spanish in train for w in spanish)
    source = Vocab([w for w, n in source_counts.items() if n >= 2], specials=[PAD, UNK, START, END])
    target = Vocab([w for w, n in target_counts.items() if n >= 2], specials=[PAD, UNK, START, END])
    print(
        f"translate: {len(train):,} training verse pairs (both sides <= {args.max_chars} characters), "
        f"{len(test)} held out; {len(source):,} English and {len(target):,} Spanish words in the vocabularies"
    )

    references = [detokenize(spanish) for _, spanish in test]
    dictionary = word_dictionary(train)
    baselines = {
        "copy the English": chrf([detokenize(english) for english, _ in test], references),
        "word-for-word dictionary": chrf(
            [detokenize([dictionary.get(w, w) for w in english]) for english, _ in test], references
        ),
    }
    for name, value in baselines.items():
        print(f"  baseline, {name}: chrF {value:.1f}")

    model = Translator(len(source), len(target), hidden=args.hidden)
    greedy_chrf = []
    sentences = [english for english, _ in test]
    spanish_lengths = [len(spanish) for _, spanish in train]

    def loss_of(b: np.ndarray) -> tg.Tensor:
        ids, lengths, inputs, targets = batch([train[i] for i in b], source, target)
        scores = model(ids, lengths, inputs)  # (B, Ty, V): teacher forcing
        return F.cross_entropy(scores.reshape(-1, len(target)), targets.reshape(-1), ignore_index=IGNORE)

    def after_epoch(epoch: int, loss: float) -> None:
        greedy, _ = translate_all(model, sentences, source, target, beam=1)
        greedy_chrf.append(chrf([detokenize(t) for t in greedy], references))
        print(f"epoch {epoch + 1}: train loss {loss:.3f}, held-out chrF (greedy) {greedy_chrf[-1]:.1f}")

    history = {
        "train loss": fit(
            model,
            loss_of,
            lambda: similar_length_batches(spanish_lengths, args.batch_size, rng),
            args.epochs,
            args.lr,
            "epoch",
            after_epoch,
        )
    }

    greedy, _ = translate_all(model, sentences, source, target, beam=1)
    beamed, attentions = translate_all(model, sentences, source, target, beam=args.beam)
    results = {
        **baselines,
        "greedy decoding": chrf([detokenize(t) for t in greedy], references),
        f"beam search ({args.beam})": chrf([detokenize(t) for t in beamed], references),
    }
    beam_name = f"beam search ({args.beam})"
    print(
        f"translate: held-out chrF, greedy {results['greedy decoding']:.1f}, beam {results[beam_name]:.1f}"
        f" (copy {baselines['copy the English']:.1f}, word-for-word {baselines['word-for-word dictionary']:.1f})"
    )
    lecture, lecture_attention = translate_all(model, [words(LECTURE_SENTENCE)], source, target, beam=args.beam)
    lecture_greedy, _ = translate_all(model, [words(LECTURE_SENTENCE)], source, target, beam=1)
    print(f'"{LECTURE_SENTENCE}" -> greedy: "{detokenize(lecture_greedy[0])}", beam: "{detokenize(lecture[0])}"')
    shown = []
    for (english, spanish), translation in list(zip(test, beamed))[:8]:
        shown.append(f"EN  {detokenize(english)}\nES  {detokenize(spanish)}\n->  {detokenize(translation)}")
    print("\n".join(shown))

    checkpoint = output(args, "translate_en_es.npz")
    vocabularies = {
        name: np.array([ord(c) for c in "\n".join(v.symbols)]) for name, v in (("source", source), ("target", target))
    }
    tg.save({"model": model.state_dict(), "vocab": vocabularies, "config": {"hidden": args.hidden}}, checkpoint)

    fig, (ax_loss, ax_scores, ax_attention) = figure(columns=3, width=4.8, height=4.4)
    plot_curves(ax_loss, history, "epoch", "cross-entropy per Spanish word", "teacher forcing")
    ax_chrf = ax_loss.twinx()
    ax_chrf.plot(np.arange(1, len(greedy_chrf) + 1), greedy_chrf, "o--", color="C2", label="held-out chrF (greedy)")
    ax_chrf.set(ylabel="held-out chrF")
    ax_chrf.legend(loc="center right")
    names = list(results)
    ax_scores.barh(names, [results[n] for n in names], color=["C7", "C7", "C0", "C0"])
    for y, name in enumerate(names):
        ax_scores.text(results[name] + 0.5, y, f"{results[name]:.1f}", va="center")
    ax_scores.set(xlabel="chrF on held-out verses (0..100)", title=f"{len(test)} held-out verses")
    ax_scores.invert_yaxis()
    example = next((i for i, (english, _) in enumerate(test) if 6 <= len(english) <= 12), 0)
    weights = attentions[example]
    ax_attention.imshow(weights, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax_attention.set_xticks(range(weights.shape[1]), test[example][0], rotation=70, fontsize=8)
    ax_attention.set_yticks(range(weights.shape[0]), beamed[example], fontsize=8)
    ax_attention.set_title("attention while translating (beam search)", fontsize=10)
    plot = save(fig, output(args, "translate_en_es.png"))
    return {
        "train_loss": history["train loss"],
        "chrf": results,
        "greedy_chrf_per_epoch": greedy_chrf,
        "lecture_sentence": detokenize(lecture[0]),
        "lecture_attention": lecture_attention[0],
        "translations": [detokenize(t) for t in beamed],
        "plot": plot,
        "checkpoint": checkpoint,
    }


if __name__ == "__main__":
    main()
