"""mkdocs hook: the course's lessons, executed, as pages of the documentation site.

Before mkdocs-jupyter turns notebooks into pages, this adds ``course/<lesson>.ipynb`` for every
lesson in ``notebooks/``: the executed notebook that ``course.executed_path`` keeps under
``build/course/`` (executed again only when the lesson or the library changed; the test suite's
run fills the same cache). So ``mkdocs build`` / ``mkdocs serve`` need no notebook in ``docs/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course  # noqa: E402


@event_priority(100)  # before mkdocs-jupyter's on_files, which makes pages of the .ipynb files
def on_files(files: Files, config) -> Files:
    for lesson in course.LESSONS:
        executed = course.executed_path(lesson)
        files.append(
            File(
                f"course/{executed.name}", str(executed.parent.parent), config["site_dir"], config["use_directory_urls"]
            )
        )
    return files
