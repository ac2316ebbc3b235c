"""music_generate.py (--quick): an LSTM over note tokens of Irish folk tunes trains (its loss falls), is scored
against unigram and bigram baselines, and writes a tune as ABC and MIDI, a piano roll and a checkpoint."""

import importlib
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def music(example):
    return example("music_generate", "music21")


def test_tunes_train_generate_and_are_written(music, tmp_path):
    metrics = music.main(["--quick", "--out", str(tmp_path), "--start", "A"])
    losses = np.asarray(metrics["train_loss"])
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert Path(metrics["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0 < metrics["bigram_bits"] < metrics["unigram_bits"]  # the previous note helps
    assert metrics["notes"][0] == (69, music.Fraction(1, 8))  # "A": the A below the D above middle C, an eighth
    abc, midi = (tmp_path / "music_generate.abc").read_text(), (tmp_path / "music_generate.mid").read_bytes()
    assert music.abc_notes(abc) == metrics["notes"]  # the ABC written reads back as the generated notes
    assert midi.startswith(b"MThd") and b"MTrk" in midi
    assert "model.lstm.weight_hh_l0" in importlib.import_module("tinygrad_rnn").load(metrics["checkpoint"])


def test_abc_written_reads_back_for_real_tunes(music):
    """to_abc and abc_notes are inverse on the corpus's own notes (accidentals, tuplets, rests, octaves)."""
    for tune in music.folk_tunes()[:300]:
        notes = music.abc_notes(tune)
        assert music.abc_notes(music.to_abc(notes, "again")) == notes


def test_help_and_doctests(music, check_help_and_doctests):
    check_help_and_doctests(music)
