"""The examples run end to end on their real data (``--quick``: a small slice, a few seconds each).

Each example's ``main(argv)`` trains, saves its plot and returns its metrics; the tests check that
it finishes, that the plot is a PNG, that the training loss went down, and a few properties of
what it returns. The data loaders and helpers are checked by their doctests.
"""

import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the examples need the examples extra: pip install -e '.[examples]'")
pytest.importorskip("tqdm")
threadpoolctl = pytest.importorskip("threadpoolctl")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def examples_path(monkeypatch):
    """Import the scripts as a student runs them: from examples/, which is not a package."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    with threadpoolctl.threadpool_limits(limits=None):  # the examples use one BLAS thread; restore after
        yield


def run(name, tmp_path, *options):
    return importlib.import_module(name).main(["--quick", "--out", str(tmp_path), *options])


def went_down(losses, window=1):
    """The mean of the last ``window`` losses is below the mean of the first ``window``."""
    losses = np.asarray(losses, dtype=float)
    assert np.isfinite(losses).all(), losses
    return losses[-window:].mean() < losses[:window].mean()


def is_png(path):
    return Path(path).is_file() and Path(path).read_bytes()[:8] == PNG


def test_one_to_one_iris(tmp_path):
    metrics = run("one_to_one_iris", tmp_path)
    assert is_png(metrics["plot"]) and metrics["plot"].parent == tmp_path
    assert went_down(metrics["train_loss"], window=5)
    assert metrics["test_accuracy"] > 0.8  # 3 classes: chance is 1/3


def test_seeded_runs_repeat_exactly(tmp_path):
    first = run("one_to_one_iris", tmp_path / "a", "--epochs", "5")
    again = run("one_to_one_iris", tmp_path / "b", "--epochs", "5")
    other = run("one_to_one_iris", tmp_path / "c", "--epochs", "5", "--seed", "1")
    assert first["train_loss"] == again["train_loss"]
    assert first["train_loss"] != other["train_loss"]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_many_to_one_sentiment(tmp_path, cell):
    metrics = run("many_to_one_sentiment", tmp_path, "--cell", cell)
    assert is_png(metrics["plot"])
    assert went_down(metrics["train_loss"])
    assert 0.5 <= metrics["majority"] <= 1.0 and 0.0 <= metrics["test_accuracy"] <= 1.0


def test_many_to_one_forecast(tmp_path):
    metrics = run("many_to_one_forecast", tmp_path)
    assert is_png(metrics["plot"])
    assert went_down(metrics["train_loss"])
    # persistence on Seattle's 2015 maxima is a few degrees off; a model that learned nothing is ~6 C off
    assert 1.0 < metrics["persistence_rmse"] < 5.0
    assert metrics["test_rmse"] < 5.0


def test_many_to_many_tagging(tmp_path):
    metrics = run("many_to_many_tagging", tmp_path)
    assert is_png(metrics["plot"])
    assert went_down(metrics["train_loss"], window=3)
    assert 0.0 < metrics["baseline_accuracy"] < 1.0


def test_char_lm_checkpoint_then_generate(tmp_path):
    trained = run("char_lm", tmp_path)
    assert is_png(trained["plot"]) and trained["checkpoint"].is_file()
    assert went_down(trained["train_loss"], window=3)
    assert trained["valid_bits_per_char"] < np.log2(103) + 1  # far from a uniform guess over ~100 symbols
    # one to many, from the checkpoint just written: no training, one seed character, many outputs
    generated = run("one_to_many_generate", tmp_path, "--start", "a", "--length", "40")
    assert "train_loss" not in generated
    assert generated["text"].startswith("a") and len(generated["text"]) == 41
    assert is_png(generated["plot"]) and 0.0 <= generated["real_words"] <= 1.0


def test_one_to_many_trains_without_a_checkpoint(tmp_path):
    metrics = run("one_to_many_generate", tmp_path, "--checkpoint", str(tmp_path / "missing.npz"), "--length", "5")
    assert went_down(metrics["train_loss"], window=3)
    assert (tmp_path / "char_lm.npz").is_file() and len(metrics["text"]) == 6


def test_seq2seq_g2p(tmp_path):
    metrics = run("seq2seq_g2p", tmp_path)
    assert is_png(metrics["plot"])
    assert went_down(metrics["train_loss"])
    assert 0.0 <= metrics["word_accuracy"] <= metrics["phoneme_accuracy"] <= 1.0


SCRIPTS = sorted(  # the scripts with a main(argv); helper modules (common, data, ...) have none
    p.stem for p in EXAMPLES.glob("*.py") if p.stem != "demo" and "\ndef main(" in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("name", SCRIPTS)
def test_help(name, capsys):
    with pytest.raises(SystemExit) as exit:
        importlib.import_module(name).main(["--help"])
    assert exit.value.code == 0 and "--quick" in capsys.readouterr().out


def test_script_runs_from_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "one_to_one_iris.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and is_png(tmp_path / "one_to_one_iris.png")


@pytest.mark.parametrize("name", ["data", "common", "char_lm", "seq2seq_g2p"])
def test_doctests(name):
    failures, tried = doctest.testmod(importlib.import_module(name))
    assert tried > 0 and failures == 0
