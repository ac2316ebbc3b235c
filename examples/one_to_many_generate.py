"""One to many: from a single character, a trained character LSTM writes a paragraph of "Python docs".

One input, many outputs: the model is given one character, predicts a distribution over the next
one, a character is sampled from it (sharpened or flattened by ``--temperature``) and fed back in
as the next input, with the LSTM's state carried along, again and again.

The model is the one ``char_lm.py`` trains and saves (``out/char_lm.npz``, read back with
``tinygrad_rnn.load``); without that checkpoint (or with ``--train``) a small one is trained first,
for about a minute. The score is the share of generated words that are real words of the docs.

    python examples/char_lm.py && python examples/one_to_many_generate.py --start T --length 400
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from char_lm import CharLM, load_checkpoint, train
from common import figure, output, parser, save, setup
from data import Vocab, python_docs_text

import tinygrad_rnn as tg


def generate(
    model: CharLM, vocab: Vocab, start: str, length: int, temperature: float, rng: np.random.Generator
) -> tuple[str, np.ndarray]:
    """``start`` followed by ``length`` sampled characters, and the distribution each was drawn from."""
    ids = vocab.encode(start)
    distributions = []
    model.eval()
    with tg.no_grad():
        scores, state = model(np.array([ids]))  # read the start: scores (1, len(start), vocab)
        for _ in range(length):
            p = (scores[0, -1] / temperature).softmax(axis=-1).numpy().astype(np.float64)
            next_id = int(rng.choice(len(p), p=p / p.sum()))
            distributions.append(p)
            ids.append(next_id)
            scores, state = model(np.array([[next_id]]), state)  # one step: the sample is the next input
    return vocab.decode(ids), np.array(distributions)


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=1, lr=0.005)
    p.add_argument("--checkpoint", type=Path, default=None, help="char_lm.py's checkpoint (default: OUT/char_lm.npz)")
    p.add_argument("--train", action="store_true", help="train a small model first, even if the checkpoint exists")
    p.add_argument("--start", default="T", help="the one character the text grows from")
    p.add_argument("--length", type=int, default=600, help="characters to generate")
    p.add_argument("--temperature", type=float, default=0.7, help="below 1: safer choices; above 1: wilder")
    args = p.parse_args(argv)
    checkpoint = args.checkpoint or output(args, "char_lm.npz")
    metrics: dict = {}
    if args.train or not checkpoint.exists():
        print(f"no checkpoint at {checkpoint} (or --train): training a small model first")
        brief = ["--quick"] if args.quick else ["--epochs", str(args.epochs), "--hidden", "128"]
        _, _, trained = train([*brief, "--lr", str(args.lr), "--seed", str(args.seed), "--out", str(args.out)])
        metrics["train_loss"] = trained["train_loss"]
        checkpoint = trained["checkpoint"]
    if args.quick:
        args.length = min(args.length, 100)
    rng = setup(args)

    model, vocab = load_checkpoint(checkpoint)
    text, distributions = generate(model, vocab, args.start, args.length, args.temperature, rng)
    print("-" * 72 + "\n" + text + "\n" + "-" * 72)

    known = set(re.findall(r"[A-Za-z]+", python_docs_text()))
    words = re.findall(r"[A-Za-z]+", text)
    real_words = sum(word in known for word in words) / max(len(words), 1)
    print(f"generate: {real_words:.0%} of the {len(words)} generated words are words of the Python docs")

    # What the model considered at each of the first steps: the next-character distribution,
    # for the most common characters, with the character actually drawn written below.
    steps = min(60, len(distributions))
    common = np.argsort(-distributions.mean(axis=0))[:24]
    fig, ax = figure(width=12, height=4.5)
    ax.imshow(distributions[:steps, common].T, aspect="auto", cmap="Blues", vmin=0, vmax=1)
    ax.set_yticks(range(len(common)), [repr(vocab.symbols[i])[1:-1] or " " for i in common], fontsize=7)
    ax.set_xticks(range(steps), [repr(c)[1:-1] for c in text[len(args.start) : len(args.start) + steps]], fontsize=7)
    ax.set(
        xlabel=f"the characters drawn, one per step (temperature {args.temperature})",
        ylabel="next character",
        title=f"one to many: P(next character) while writing from {args.start!r}",
    )
    plot = save(fig, output(args, "one_to_many_generate.png"))
    return {**metrics, "text": text, "real_words": real_words, "plot": plot}


if __name__ == "__main__":
    main()
