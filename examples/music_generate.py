"""One to many: from one starting note, an LSTM writes an Irish folk tune (written out as ABC and MIDI).

Data: the 3,068 tunes of O'Neill's *Music of Ireland* (1850) and *Ryan's Mammoth Collection*
(1883) in ABC notation, from music21's corpus (read as text; music21 is not imported), turned into
notes by ``lecture_data_b.abc_notes``: each note is one token "pitch:duration" (``74:1/8`` is the
D above middle C, an eighth note; ``-1`` is a rest). Tokens seen fewer than 3 times in training
become ``<unk>``; ``</s>`` ends a tune. A tenth of the tunes are held out; tunes of fewer than 16 notes are left out.

The model: ``nn.Embedding`` -> ``nn.LSTM`` -> ``nn.Linear``, trained on whole tunes (padded batches
of similar lengths, ``lengths=``) to predict each next token. One to many: it is given the tune's
start (``<s>``) and one note (``--start``, an ABC note), and samples the rest one token at a time
(sharpened by ``--temperature``), each sample fed back in, until ``</s>``.

The score is the held-out likelihood per token (notes and the tunes' ends), in bits, against two
baselines fitted on the same training tunes: the unigram (token frequencies, add-one smoothed)
and the bigram (the previous token's next-token frequencies, interpolated with the unigram; the
weight chosen on a slice of the training tunes). Written to ``--out``: the generated tune as
``music_generate.abc`` and ``music_generate.mid``, and a piano-roll plot.

    python examples/music_generate.py                 # several minutes
    python examples/music_generate.py --start A --temperature 0.8
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from fractions import Fraction

import numpy as np
from common import minibatches, output, pad_ids, parser, save, setup
from data import Vocab, split
from lecture_data_b import abc_notes, fit, folk_tunes, similar_length_batches
from matplotlib.figure import Figure

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

PAD, START, END, UNK = "<pad>", "<s>", "</s>", "<unk>"
IGNORE = -100  # the target of padded steps: F.cross_entropy skips it
Note = tuple[int, Fraction]  # (MIDI pitch or -1 for a rest, duration in whole notes)


def token(note: Note) -> str:
    """'pitch:duration', e.g. '74:1/8'."""
    return f"{note[0]}:{note[1]}"


def note_of(token_: str) -> Note:
    pitch, duration = token_.split(":")
    return int(pitch), Fraction(duration)


# --- writing a tune out: ABC text and a MIDI file -------------------------------------------------------

_NAMES = ["C", "^C", "D", "^D", "E", "F", "^F", "G", "^G", "A", "^A", "B"]


def to_abc(notes: list[Note], title: str, unit: Fraction = Fraction(1, 8)) -> str:
    """An ABC tune (key C, no meter: a bar line after each whole note's worth) that reads back as ``notes``.

    Accidentals are written where the bar so far would read the note wrong (an ``^F`` lasts to the
    bar line, so a later plain F needs ``=F``).

    >>> notes = [(74, Fraction(1, 8)), (78, Fraction(1, 4)), (77, Fraction(1, 12)), (78, Fraction(3, 8))]
    >>> notes.append((-1, Fraction(1, 8)))
    >>> text = to_abc(notes, "test")
    >>> text.splitlines()[-1]
    'd ^f2 =f2/3 ^f3 z |]'
    >>> abc_notes(text) == notes
    True
    """
    body, bar, position, in_bar = [], [], Fraction(0), {}
    for pitch, duration in notes:
        if position >= 1:  # a whole note's worth since the last bar line
            body.append(" ".join(bar) + " |")
            bar, position, in_bar = [], position - 1, {}
        length = duration / unit
        length_text = "" if length == 1 else str(length) if length.denominator != 1 else str(length.numerator)
        if pitch < 0:
            bar.append("z" + length_text)
        else:
            name, octave = _NAMES[pitch % 12], pitch // 12 - 1
            letter, sharp = name[-1], name.startswith("^")
            accidental = ""
            if in_bar.get((letter, octave), False) != sharp:
                accidental = "^" if sharp else "="
                in_bar[letter, octave] = sharp
            written = letter if octave <= 4 else letter.lower()
            marks = "," * max(0, 4 - octave) + "'" * max(0, octave - 5)
            bar.append(accidental + written + marks + length_text)
        position += duration
    body.append(" ".join(bar) + " |]")
    return f"X:1\nT:{title}\nM:none\nL:{unit}\nK:C\n" + " ".join(body)


def variable_length(value: int) -> bytes:
    """MIDI's variable-length quantity: 7 bits a byte, the high bit set on all but the last.

    >>> variable_length(0), variable_length(480)
    (b'\\x00', b'\\x83`')
    """
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append(0x80 | (value & 0x7F))
    return bytes(reversed(out))


def midi_file(notes: list[Note], bpm: float = 100, ticks_per_quarter: int = 480) -> bytes:
    """A standard MIDI file (format 0, one track, piano) playing ``notes`` at ``bpm`` quarter notes a minute.

    >>> midi_file([(60, Fraction(1, 4))])[:4], len(midi_file([(60, Fraction(1, 4))]))
    (b'MThd', 42)
    """
    events = bytearray(b"\x00\xff\x51\x03" + round(60_000_000 / bpm).to_bytes(3, "big"))  # tempo
    wait = 0
    for pitch, duration in notes:
        ticks = round(duration * 4 * ticks_per_quarter)  # a whole note is 4 quarters
        if pitch < 0:
            wait += ticks
            continue
        events += variable_length(wait) + bytes([0x90, pitch, 80])  # note on, velocity 80
        events += variable_length(ticks) + bytes([0x80, pitch, 0])  # note off
        wait = 0
    events += variable_length(wait) + b"\xff\x2f\x00"  # end of track
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks_per_quarter)
    return header + b"MTrk" + struct.pack(">I", len(events)) + bytes(events)


# --- the baselines: unigram and bigram ----------------------------------------------------------------


def ngram_bits(train: list[list[int]], test: list[list[int]], size: int, weight: float | None) -> float:
    """Mean bits per target token of ``test`` (every token after the first) under a unigram
    (``weight=None``) or a bigram interpolated with it: P(b | a) = w c(a, b) / c(a) + (1 - w) P(b)."""
    unigram = np.bincount([t for s in train for t in s[1:]], minlength=size) + 1.0  # add-one
    unigram /= unigram.sum()
    if weight is None:
        return float(-np.mean([math.log2(unigram[t]) for s in test for t in s[1:]]))
    pairs = Counter((a, b) for s in train for a, b in zip(s, s[1:]))
    contexts = Counter(a for s in train for a in s[:-1])
    bits = []
    for s in test:
        for a, b in zip(s, s[1:]):
            bigram = pairs[a, b] / contexts[a] if contexts[a] else 0.0
            bits.append(-math.log2(weight * bigram + (1 - weight) * unigram[b]))
    return float(np.mean(bits))


# --- the model ------------------------------------------------------------------------------------------


class TuneLM(nn.Module):
    """Embedding -> LSTM -> Linear: scores for the next token at every position."""

    def __init__(self, tokens: int, embed: int = 64, hidden: int = 256):
        super().__init__()
        self.embedding = nn.Embedding(tokens, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True, fused=True)
        self.head = nn.Linear(hidden, tokens)

    def forward(self, ids: np.ndarray, state=None, lengths: list[int] | None = None):
        """ids (B, T) -> scores (B, T, tokens) and the LSTM state (h, c) after the last step."""
        hidden, state = self.lstm(self.embedding(ids), state, lengths=lengths)
        return self.head(hidden), state


def tune_loss(model: TuneLM, tunes: list[list[int]], reduction: str = "mean") -> tuple[tg.Tensor, int]:
    """Cross-entropy of predicting each token of the tunes from the ones before; and how many were predicted."""
    inputs, lengths = pad_ids([t[:-1] for t in tunes], pad=0)
    targets, _ = pad_ids([t[1:] for t in tunes], pad=IGNORE)
    scores, _ = model(inputs, lengths=lengths)
    loss = F.cross_entropy(
        scores.reshape(-1, scores.shape[-1]), targets.reshape(-1), ignore_index=IGNORE, reduction=reduction
    )
    return loss, sum(lengths)


def held_out_bits(model: TuneLM, tunes: list[list[int]]) -> float:
    """Mean bits per predicted token over the held-out tunes."""
    model.eval()
    total, count = 0.0, 0
    with tg.no_grad():
        for b in minibatches(len(tunes), 64):
            loss, n = tune_loss(model, [tunes[i] for i in b], reduction="sum")
            total, count = total + loss.item(), count + n
    model.train()
    return total / count / math.log(2)


def generate(
    model: TuneLM, vocab: Vocab, start: Note, length: int, temperature: float, rng: np.random.Generator
) -> list[Note]:
    """``start`` and the notes sampled after it, one at a time, until ``</s>`` or ``length`` notes."""
    unk, end = vocab.index[UNK], vocab.index[END]
    notes, ids = [start], [vocab.index[START], vocab.index.get(token(start), unk)]
    model.eval()
    with tg.no_grad():
        scores, state = model(np.array([ids]))
        while len(notes) < length:
            logits = scores.numpy()[0, -1].astype(np.float64) / temperature
            logits[[vocab.index[PAD], vocab.index[START], unk]] = -np.inf  # only notes and the end
            p = np.exp(logits - logits.max())
            next_id = int(rng.choice(len(p), p=p / p.sum()))
            if next_id == end:
                break
            notes.append(note_of(vocab.symbols[next_id]))
            scores, state = model(np.array([[next_id]]), state)
    return notes


def piano_roll(ax, notes: list[Note], title: str) -> None:
    """Each note a bar: time (in whole notes) across, pitch up."""
    times = np.cumsum([0] + [float(d) for _, d in notes])
    for (pitch, duration), start in zip(notes, times):
        if pitch >= 0:
            ax.broken_barh([(start, float(duration))], (pitch - 0.4, 0.8), color="C0")
    pitches = [p for p, _ in notes if p >= 0]
    ax.set(xlim=(0, times[-1]), ylim=(min(pitches) - 2, max(pitches) + 2), title=title)
    ax.set(xlabel="time (whole notes)", ylabel="MIDI pitch (60 = middle C)")
    ax.grid(alpha=0.3)


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=6, lr=0.003, batch_size=32)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--start", default="d", help="the one note the tune grows from, in ABC (d: the D above middle C)")
    p.add_argument("--length", type=int, default=200, help="at most this many notes")
    p.add_argument("--temperature", type=float, default=0.9, help="below 1: safer choices; above 1: wilder")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.hidden, args.length = 3, min(args.hidden, 32), min(args.length, 40)
    rng = setup(args)

    train, test = split(folk_tunes(), test_fraction=0.1, seed=args.seed)
    if args.quick:
        train, test = train[:150], test[:30]
    train, test = ([n for n in map(abc_notes, tunes) if len(n) >= 16] for tunes in (train, test))
    counts = Counter(token(n) for tune in train for n in tune)
    vocab = Vocab([t for t, c in counts.items() if c >= 3], specials=[PAD, START, END, UNK])

    def ids(tune: list[Note]) -> list[int]:
        return [vocab.index[START], *(vocab.index.get(token(n), vocab.index[UNK]) for n in tune), vocab.index[END]]

    train_ids, test_ids = [ids(t) for t in train], [ids(t) for t in test]
    unknown = np.mean([i == vocab.index[UNK] for t in test_ids for i in t])
    print(
        f"music: {len(train):,} training tunes ({sum(map(len, train)):,} notes), {len(test)} held out; "
        f"{len(vocab) - 4} note tokens ({unknown:.2%} of held-out tokens are <unk>)"
    )

    fitted, check = train_ids[: int(0.9 * len(train_ids))], train_ids[int(0.9 * len(train_ids)) :]
    weight = min((0.5, 0.7, 0.8, 0.9, 0.95, 0.99), key=lambda w: ngram_bits(fitted, check, len(vocab), w))
    baselines = {
        "unigram": ngram_bits(train_ids, test_ids, len(vocab), None),
        f"bigram (weight {weight})": ngram_bits(train_ids, test_ids, len(vocab), weight),
    }
    print("  baselines: " + ", ".join(f"{name} {bits:.3f} bits per token" for name, bits in baselines.items()))

    model = TuneLM(len(vocab), hidden=args.hidden)
    held_out = []

    def loss_of(b: np.ndarray) -> tg.Tensor:
        return tune_loss(model, [train_ids[i] for i in b])[0]

    def after_epoch(epoch: int, loss: float) -> None:
        held_out.append(held_out_bits(model, test_ids))
        print(f"epoch {epoch + 1}: train {loss / math.log(2):.3f} bits per token, held out {held_out[-1]:.3f}")

    lengths = [len(t) for t in train_ids]
    losses = fit(
        model,
        loss_of,
        lambda: similar_length_batches(lengths, args.batch_size, rng),
        args.epochs,
        args.lr,
        "epoch",
        after_epoch,
    )
    history = {"train": [loss / math.log(2) for loss in losses], "held out": held_out}
    print(
        f"music: held-out {history['held out'][-1]:.3f} bits per token "
        f"(unigram {baselines['unigram']:.3f}, bigram {list(baselines.values())[1]:.3f})"
    )

    (start,) = abc_notes(f"X:1\nK:C\n{args.start}")
    notes = generate(model, vocab, start, args.length, args.temperature, rng)
    abc = to_abc(notes, f"Generated from {args.start} (seed {args.seed}, temperature {args.temperature})")
    output(args, "music_generate.abc").write_text(abc + "\n", encoding="utf-8")
    output(args, "music_generate.mid").write_bytes(midi_file(notes))
    print(abc)
    print(f"tune: {args.out / 'music_generate.abc'}, {args.out / 'music_generate.mid'} ({len(notes)} notes)")

    checkpoint = output(args, "music_generate.npz")
    symbols = [note_of(s) for s in vocab.symbols[4:]]
    tokens = {
        "pitch": np.array([n[0] for n in symbols]),
        "duration": np.array([[n[1].numerator, n[1].denominator] for n in symbols]),
    }
    tg.save({"model": model.state_dict(), "vocab": tokens, "config": {"hidden": args.hidden}}, checkpoint)

    fig = Figure(figsize=(13, 7), layout="constrained")
    axes = fig.subplot_mosaic([["generated", "generated", "curves"], ["real", "real", "curves"]])
    piano_roll(axes["generated"], notes, f"generated from {args.start!r} (temperature {args.temperature})")
    piano_roll(axes["real"], test[0][: len(notes)], "a held-out tune, for comparison")
    ax = axes["curves"]
    epochs = np.arange(1, args.epochs + 1)
    ax.plot(epochs, history["train"], ".-", label="LSTM, training")
    ax.plot(epochs, history["held out"], "o-", label="LSTM, held out")
    for (name, bits), style in zip(baselines.items(), ("--", ":")):
        ax.axhline(bits, color="grey", ls=style, label=f"{name}, held out")
    ax.set(xlabel="epoch", ylabel="bits per token", title="next-note likelihood")
    ax.grid(alpha=0.3)
    ax.legend()
    plot = save(fig, output(args, "music_generate.png"))
    return {
        "train_loss": history["train"],
        "held_out_bits": history["held out"][-1],
        "unigram_bits": baselines["unigram"],
        "bigram_bits": list(baselines.values())[1],
        "notes": notes,
        "abc": abc,
        "plot": plot,
        "checkpoint": checkpoint,
    }


if __name__ == "__main__":
    main()
