"""The course (notebooks/): every lesson executes with its checks, and its exercise copy fails them.

Each lesson runs in a fresh Jupyter kernel (nbclient) with a time limit per cell and per lesson;
a failing assertion in a cell fails its test. The executed notebooks are kept under build/course/
for the documentation site (tests/test_site.py), so the site does not run them again.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.file_modules import load_file

pytest.importorskip("nbclient")
pytest.importorskip("jupytext")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
course = load_file("notebooks/course.py")

LESSON_LIMIT_S = 60  # per lesson, whole notebook (they take a few seconds each on a quiet machine)
IDS = [lesson.stem for lesson in course.LESSONS]


def test_there_are_nine_lessons_in_order():
    assert [stem[:3] for stem in IDS] == [f"{k:02d}_" for k in range(1, 10)]


@pytest.mark.parametrize("lesson", course.LESSONS, ids=IDS)
def test_lesson_executes_and_its_checks_pass(lesson: Path):
    start = time.perf_counter()
    notebook = course.execute(course.to_notebook(lesson.read_text()), timeout=LESSON_LIMIT_S)
    elapsed = time.perf_counter() - start
    course.store(lesson, notebook)  # for the site
    assert elapsed < LESSON_LIMIT_S, f"{lesson.name} took {elapsed:.0f} s (limit {LESSON_LIMIT_S} s)"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    asserting = [cell for cell in code if "assert " in cell.source]
    assert len(asserting) >= 3, f"{lesson.name} checks too little: {len(asserting)} cells assert"
    shown = [o.get("data", {}) for cell in code for o in cell.outputs]
    pictures = [data for data in shown if "image/svg+xml" in data or "<svg" in data.get("text/html", "")]
    assert pictures, f"{lesson.name} draws no graph inline"


@pytest.mark.parametrize("lesson", course.LESSONS, ids=IDS)
def test_exercise_copy_fails_every_check(lesson: Path):
    text = lesson.read_text()
    notebook = course.to_notebook(text)
    solutions = [cell for cell in notebook.cells if course.SOLUTION in course.tags(cell)]
    assert 2 <= len(solutions) <= 3, f"{lesson.name} has {len(solutions)} exercises with solutions (2-3 wanted)"
    exercise = course.execute(course.to_notebook(course.strip_solutions(text)), LESSON_LIMIT_S, allow_errors=True)
    checks = [cell for cell in exercise.cells if course.CHECK in course.tags(cell)]
    assert len(checks) == len(solutions)
    for cell in exercise.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if course.CHECK in course.tags(cell):
            assert errors, f"{lesson.name}: a check passes without its solution:\n{cell.source}"
        elif course.SOLUTION not in course.tags(cell):
            assert not errors, f"{lesson.name}: a cell outside the exercises fails in the exercise copy:\n{cell.source}"


def test_make_exercises_script_writes_every_lesson(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "notebooks" / "make_exercises.py"), str(tmp_path), "--format", "py"],
        capture_output=True,
        text=True,
        check=True,
    )
    written = sorted(tmp_path.glob("*.py"))
    assert [path.stem for path in written] == IDS, result.stdout
    for path in written:
        assert course.BEGIN not in path.read_text() and course.STUB in path.read_text()


def test_course_module_doctests():
    assert doctest.testmod(course, optionflags=doctest.ELLIPSIS).failed == 0
