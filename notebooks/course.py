"""The course's machinery: the lessons in order, converting, executing and stripping them.

The lessons are jupytext percent-format ``.py`` files (reviewable text, no outputs); everything
else is made from them:

* :func:`to_notebook` reads one into a notebook (``nbformat``), with no outputs;
* :func:`execute` runs it in a fresh Jupyter kernel (``nbclient``), cell by cell, with a time limit;
* :func:`executed_path` is the executed ``.ipynb`` the documentation site shows, cached under
  ``build/course/`` and re-executed only when the lesson or the library changed;
* :func:`strip_solutions` turns a lesson into its exercise copy (see ``make_exercises.py``).

Solution convention: a cell tagged ``solution`` (``# %% tags=["solution"]``) holds, between the
lines ``# BEGIN SOLUTION`` and ``# END SOLUTION``, the answer to an exercise; the exercise copy
keeps the rest of the cell and puts ``raise NotImplementedError(...)`` in the answer's place, at
its indentation. The cell after it, tagged ``check``, asserts the answer: it passes in the lesson
and fails in the exercise copy.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LESSONS = sorted(HERE.glob("[0-9][0-9]_*.py"))  # 01_sequences.py ... 09_backward_frames.py
CACHE = Path(os.environ.get("TINYGRAD_RNN_COURSE_CACHE", ROOT / "build" / "course"))

SOLUTION, CHECK = "solution", "check"
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = 'raise NotImplementedError("exercise: write your answer here")'


def to_notebook(text: str) -> nbformat.NotebookNode:
    """A percent-format lesson's text as a notebook without outputs, on the ``python3`` kernel."""
    notebook = jupytext.reads(text, fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def execute(notebook: nbformat.NotebookNode, timeout: float = 60, allow_errors: bool = False) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel (working directory: the repository root); return the notebook.

    ``timeout`` is the limit for each cell, in seconds. A cell that raises stops the run with
    ``nbclient.exceptions.CellExecutionError`` (naming the cell and the error), unless
    ``allow_errors``, when the error is recorded in that cell's outputs and the run goes on.
    """
    from nbclient import NotebookClient

    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()
    return notebook


def tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def strip_solutions(text: str) -> str:
    """The exercise copy of a lesson: each ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block
    replaced by a ``raise NotImplementedError`` at the block's indentation.

    >>> lesson = 'def f(x):\\n    # BEGIN SOLUTION\\n    return 2 * x\\n    # END SOLUTION\\n'
    >>> print(strip_solutions(lesson))
    def f(x):
        raise NotImplementedError("exercise: write your answer here")
    <BLANKLINE>
    """
    pattern = re.compile(rf"^([ \t]*){re.escape(BEGIN)}\n.*?^[ \t]*{re.escape(END)}\n", re.S | re.M)
    stripped, count = pattern.subn(lambda match: f"{match.group(1)}{STUB}\n", text)
    if text.count(BEGIN) != count or text.count(END) != count:
        raise ValueError(
            f"strip_solutions: {text.count(BEGIN)} '{BEGIN}' and {text.count(END)} '{END}' lines do not pair up"
        )
    return stripped


def fingerprint(lesson: Path) -> str:
    """A hash of the lesson's text and of the library's source: when either changes, re-execute."""
    digest = hashlib.sha256(lesson.read_bytes())
    for source in sorted((ROOT / "tinygrad_rnn").rglob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def executed_path(lesson: Path, timeout: float = 60) -> Path:
    """The executed ``.ipynb`` of a lesson under ``CACHE/course/``, executing it if stale or missing."""
    target = CACHE / "course" / (lesson.stem + ".ipynb")
    stamp = target.with_suffix(".sha256")
    key = fingerprint(lesson)
    if not (target.exists() and stamp.exists() and stamp.read_text() == key):
        notebook = execute(to_notebook(lesson.read_text()), timeout=timeout)
        store(lesson, notebook, key)
    return target


def store(lesson: Path, notebook: nbformat.NotebookNode, key: str | None = None) -> Path:
    """Save an executed lesson where :func:`executed_path` looks for it."""
    target = CACHE / "course" / (lesson.stem + ".ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    target.with_suffix(".sha256").write_text(key or fingerprint(lesson))
    return target
