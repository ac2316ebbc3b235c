"""Load a Python file that is not in a package (the course module, a benchmark, a tool) as a module."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_file(relative_path: str) -> ModuleType:
    """The module in ``ROOT / relative_path``, named after the file (``notebooks/course.py``: ``course``)."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
