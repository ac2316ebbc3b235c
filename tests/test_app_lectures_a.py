"""Three of the lectures' applications, run with ``--quick`` on their real data (a few seconds each).

``sentiment_reviews`` (Rotten Tomatoes snippets), ``stock_forecast`` (daily returns of three
stocks) and ``ner_tagging`` (WNUT-16 tweets): each trains, its loss falls, it saves its figure and
its checkpoint, and a seeded run repeats exactly. One file for the three, so that the fixture
that imports an example (and skips, naming the pip command, when its data wheel is missing) is
written once. The data helpers and the NER scoring are checked by their doctests too.
"""

import doctest
import importlib
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the examples need the examples extra: pip install -e '.[examples]'")
threadpoolctl = pytest.importorskip("threadpoolctl")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

DATA = {"sentiment_reviews": "rotten_tomatoes", "stock_forecast": "daily_stocks", "ner_tagging": "wnut16_tweets"}


def load(monkeypatch, name):
    """The script, imported as a student runs it (from examples/); skipped if its data wheel is missing."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    try:
        getattr(importlib.import_module("lecture_data_a"), DATA[name])()
    except ModuleNotFoundError as missing:  # the message names the pip command
        pytest.skip(str(missing))
    return importlib.import_module(name)


@pytest.fixture(autouse=True)
def restore_threads():
    with threadpoolctl.threadpool_limits(limits=None):  # the examples set one BLAS thread; restore it after
        yield


def quick(monkeypatch, tmp_path, name, *options):
    metrics = load(monkeypatch, name).main(["--quick", "--out", str(tmp_path), *options])
    assert metrics["train_loss"][-1] < metrics["train_loss"][0], metrics["train_loss"]
    assert metrics["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and metrics["checkpoint"].is_file()
    return metrics


# --- many to one: sentiment of review snippets ---------------------------------------------------------


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_sentiment_reviews(monkeypatch, tmp_path, cell):
    metrics = quick(monkeypatch, tmp_path, "sentiment_reviews", "--cell", cell)
    assert 0.5 <= metrics["majority"] <= 1.0 and 0.0 <= metrics["bag_of_words_accuracy"] <= 1.0
    assert len(metrics["most_wrong"]) == 6


@pytest.mark.parametrize("name", DATA)
def test_seeded_runs_repeat(monkeypatch, tmp_path, name):
    first, again = (quick(monkeypatch, tmp_path / d, name, "--epochs", "2") for d in "ab")
    assert first["train_loss"] == again["train_loss"]


def test_data_helpers(monkeypatch):
    load(monkeypatch, "sentiment_reviews")
    failures, tried = doctest.testmod(importlib.import_module("lecture_data_a"))
    assert tried > 0 and failures == 0


# --- many to one and many to many: next-day stock returns -----------------------------------------------


@pytest.mark.parametrize("options", [[], ["--mode", "many-to-one"], ["--target", "size"]])
def test_stock_forecast(monkeypatch, tmp_path, options):
    metrics = quick(monkeypatch, tmp_path, "stock_forecast", *options)
    # daily moves of large stocks are a percent or two: both baselines are that far off, never 0 or 10
    assert 0.3 < metrics["mean_rmse"] < 5 and 0.3 < metrics["persistence_rmse"] < 5


# --- many to many, aligned: named entities in tweets ------------------------------------------------------


def test_ner_tagging(monkeypatch, tmp_path):
    metrics = quick(monkeypatch, tmp_path, "ner_tagging")
    assert 0.0 <= metrics["f1"] <= 1.0 and 0.0 < metrics["baseline_f1"] < 1.0


def test_entity_scores(monkeypatch):
    ner = load(monkeypatch, "ner_tagging")
    failures, tried = doctest.testmod(ner)
    assert tried > 0 and failures == 0
    tags = ["B-person", "I-person", "O", "B-geo-loc"]
    assert ner.entity_scores([ner.spans(tags)], [ner.spans(tags)])["f1"] == 1.0
    # the right span with the wrong type finds nothing, and so does half of a name
    wrong = [ner.spans(["B-company", "I-company", "O", "O"]), ner.spans(["B-person", "O", "O", "O"])]
    assert all(ner.entity_scores([ner.spans(tags)], [w])["f1"] == 0 for w in wrong[:1])
    assert ner.entity_scores([ner.spans(tags)], [wrong[1]])["recall"] == 0


def test_memorised_baseline_tags_what_it_saw(monkeypatch):
    ner = load(monkeypatch, "ner_tagging")
    memorised = ner.Memorised([(["I", "love", "New", "York"], ["O", "O", "B-geo-loc", "I-geo-loc"])])
    assert memorised(["new", "york", "and", "York"]) == {(0, 2, "geo-loc")}  # "York" alone was never an entity
