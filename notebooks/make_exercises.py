"""Write the course's exercise copies: every lesson with its solutions taken out.

Usage::

    python notebooks/make_exercises.py OUTDIR            # OUTDIR/01_sequences.ipynb, ... (no outputs)
    python notebooks/make_exercises.py OUTDIR --format py  # the same as percent-format .py files

In each lesson, a cell tagged ``solution`` holds its answer between the lines ``# BEGIN SOLUTION``
and ``# END SOLUTION``; the copy puts ``raise NotImplementedError(...)`` there, so the ``check``
cell after it fails until a student writes the answer (see ``notebooks/course.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course  # noqa: E402  (the course machinery beside this script)


def make_exercises(outdir: Path, fmt: str = "ipynb") -> list[Path]:
    """Write one exercise copy per lesson into ``outdir``; return their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for lesson in course.LESSONS:
        exercise = course.strip_solutions(lesson.read_text())
        target = outdir / f"{lesson.stem}.{fmt}"
        if fmt == "py":
            target.write_text(exercise)
        else:
            jupytext.write(course.to_notebook(exercise), target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="the folder to write the exercise copies into")
    parser.add_argument("--format", choices=("ipynb", "py"), default="ipynb", help="notebooks (default) or .py")
    args = parser.parse_args(argv)
    for path in make_exercises(args.outdir, args.format):
        print(path)


if __name__ == "__main__":
    main()
