"""One to many, image to text: a GRU spells the name of a handwritten digit ("seven"), letter by letter.

Data: scikit-learn's 1,797 handwritten digits (8x8 pixels, 0..16), a fifth held out. The caption
of an image is its digit's English name.

The encoder is one ``nn.Linear`` from the 64 pixels to the decoder's initial state,
h_0 = tanh(W x + b): the image enters once, at the start, and everything after is the decoder's
own. The decoder is a character GRU trained with teacher forcing (its input at step t is the true
letter t-1, ``<s>`` first; it learns letter t, then ``</s>``). At test time it reads its own most
likely previous letter (greedy decoding) until ``</s>``.

Scored by exact-word accuracy on the held-out images. The reference is a classifier with the same
encoder (Linear -> tanh -> Linear to the 10 digits, trained the same way): captioning here is
classification spelled out, so it cannot beat a classifier by much; what it shows is that one
state, set from the image, carries the whole word. Also counted: captions that are no digit's name.

    python examples/digit_captions.py               # about 20 seconds
"""

from __future__ import annotations

import numpy as np
from common import minibatches, output, pad_ids, parser, plot_curves, save, setup
from data import Vocab, split
from lecture_data_b import digit_images, fit
from matplotlib.figure import Figure

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PAD, START, END = "<pad>", "<s>", "</s>"
IGNORE = -100  # the target of padded steps: F.cross_entropy skips it


class Captioner(nn.Module):
    """Pixels -> Linear -> tanh = h_0 of a character GRU -> scores over letters at every step."""

    def __init__(self, letters: int, pixels: int = 64, embed: int = 16, hidden: int = 128):
        super().__init__()
        self.encoder = nn.Linear(pixels, hidden)
        self.embedding = nn.Embedding(letters, embed, padding_idx=0)
        self.decoder = nn.GRU(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, letters)

    def encode(self, images: np.ndarray) -> tg.Tensor:
        """(B, 64) pixels in [0, 1] -> the decoder's initial state (1, B, H)."""
        return self.encoder(tg.Tensor(images)).tanh().unsqueeze(0)

    def decode(self, inputs: np.ndarray, state: tg.Tensor) -> tuple[tg.Tensor, tg.Tensor]:
        """(B, T) letter ids -> scores (B, T, letters) and the state after the last step."""
        hidden, state = self.decoder(self.embedding(inputs), state)
        return self.head(hidden), state

    def forward(self, images: np.ndarray, decoder_inputs: np.ndarray) -> tg.Tensor:
        """Teacher forcing: the decoder reads the true previous letters."""
        return self.decode(decoder_inputs, self.encode(images))[0]


class Classifier(nn.Module):
    """The reference: the same encoder, then a Linear to the 10 digits (no words to spell)."""

    def __init__(self, pixels: int = 64, hidden: int = 128):
        super().__init__()
        self.encoder = nn.Linear(pixels, hidden)
        self.head = nn.Linear(hidden, len(NAMES))

    def forward(self, images: np.ndarray) -> tg.Tensor:
        return self.head(self.encoder(tg.Tensor(images)).tanh())


def caption_batch(labels: np.ndarray, letters: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Decoder inputs (<s> s e v e n) and targets (s e v e n </s>), padded, for each label.

    >>> letters = Vocab("".join(NAMES), specials=[PAD, START, END])
    >>> inputs, targets = caption_batch(np.array([1, 7]), letters)   # one, seven
    >>> inputs.tolist(), targets.tolist()                             # 1 = <s>, 2 = </s>, 0 and -100 = padding
    ([[1, 9, 8, 3, 0, 0], [1, 11, 3, 14, 3, 8]], [[9, 8, 3, 2, -100, -100], [11, 3, 14, 3, 8, 2]])
    """
    start, end = letters.index[START], letters.index[END]
    inputs, _ = pad_ids([[start, *letters.encode(NAMES[y])] for y in labels], pad=0)
    targets, _ = pad_ids([[*letters.encode(NAMES[y]), end] for y in labels], pad=IGNORE)
    return inputs, targets


def greedy_captions(model: Captioner, images: np.ndarray, letters: Vocab, max_steps: int = 8) -> list[str]:
    """Each image's caption, decoded one letter at a time from the model's own previous letter."""
    end = letters.index[END]
    with tg.no_grad():
        state = model.encode(images)
        previous = np.full((len(images), 1), letters.index[START], dtype=np.int64)
        steps = []
        for _ in range(max_steps):
            scores, state = model.decode(previous, state)
            previous = scores.numpy()[:, -1].argmax(axis=-1)[:, None]
            steps.append(previous[:, 0])
    captions = []
    for row in np.stack(steps, axis=1).tolist():
        captions.append(letters.decode(row[: row.index(end)] if end in row else row))
    return captions


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=40, lr=0.003, batch_size=32)
    p.add_argument("--hidden", type=int, default=128)
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.hidden = 4, min(args.hidden, 32)
    rng = setup(args)

    images, labels = digit_images()
    pixels = (images.reshape(len(images), -1) / 16.0).astype(np.float32)  # 0..16 -> 0..1
    train, test = split(range(len(images)), test_fraction=0.2, seed=args.seed)
    train, test = np.array(train), np.array(test)
    letters = Vocab("".join(NAMES), specials=[PAD, START, END])
    print(f"digits: {len(train)} training images, {len(test)} held out; captions from {len(letters) - 3} letters")

    model = Captioner(len(letters), hidden=args.hidden)

    def caption_loss(b: np.ndarray) -> tg.Tensor:
        inputs, targets = caption_batch(labels[train[b]], letters)
        scores = model(pixels[train[b]], inputs)  # (B, T, letters)
        return F.cross_entropy(scores.transpose(1, 2), targets, ignore_index=IGNORE)

    def epoch_batches() -> list[np.ndarray]:
        return minibatches(len(train), args.batch_size, rng)

    history = {"captioner (per letter)": fit(model, caption_loss, epoch_batches, args.epochs, args.lr, "captions")}
    model.eval()
    captions = greedy_captions(model, pixels[test], letters)
    truth = [NAMES[y] for y in labels[test]]
    accuracy = float(np.mean([c == t for c, t in zip(captions, truth)]))
    not_a_name = float(np.mean([c not in NAMES for c in captions]))

    tg.manual_seed(args.seed)
    classifier = Classifier(hidden=args.hidden)

    def classifier_loss(b: np.ndarray) -> tg.Tensor:
        return F.cross_entropy(classifier(pixels[train[b]]), labels[train[b]])

    history["classifier (per image)"] = fit(
        classifier, classifier_loss, epoch_batches, args.epochs, args.lr, "classifier"
    )
    with tg.no_grad():
        classifier_accuracy = float(np.mean(classifier(pixels[test]).numpy().argmax(axis=1) == labels[test]))
    print(
        f"digit captions: {accuracy:.1%} of {len(test)} held-out captions exactly right "
        f"({not_a_name:.1%} are no digit's name); the classifier with the same encoder: {classifier_accuracy:.1%}; "
        f"chance 10%"
    )
    wrong = [f"{t} -> {c}" for c, t in zip(captions, truth) if c != t]
    print("wrong:", ", ".join(wrong[:12]) or "none")

    checkpoint = output(args, "digit_captions.npz")
    config = {"hidden": args.hidden, "letters": np.array([ord(c) for c in "".join(letters.symbols[3:])])}
    tg.save({"model": model.state_dict(), "config": config}, checkpoint)

    fig = Figure(figsize=(13, 5), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.6])
    plot_curves(left.subplots(), history, "epoch", "training cross-entropy", "image -> initial state -> letters")
    grid = right.subplots(4, 8)
    for ax, image, caption, name in zip(grid.flat, images[test], captions, truth):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=16)
        title = caption if caption == name else f"{caption or '(empty)'} ({name})"
        ax.set_title(title, fontsize=10, color="C0" if caption == name else "C3")
        ax.axis("off")
    right.suptitle(f"held-out digits, greedy captions: {accuracy:.1%} exactly right (red: wrong, truth in brackets)")
    plot = save(fig, output(args, "digit_captions.png"))
    return {
        "train_loss": history["captioner (per letter)"],
        "classifier_loss": history["classifier (per image)"],
        "word_accuracy": accuracy,
        "not_a_name": not_a_name,
        "classifier_accuracy": classifier_accuracy,
        "captions": captions,
        "plot": plot,
        "checkpoint": checkpoint,
    }


if __name__ == "__main__":
    main()
