"""Rendering: finding a ``dot`` program and turning DOT text into SVG or PNG (or PDF).

:class:`GraphPicture` is a :class:`graphviz.Digraph` (so Jupyter shows it inline and ``.source``
is the DOT text) whose rendering uses the first ``dot`` program found by :func:`find_dot`:

1. the system Graphviz, ``dot`` on the ``PATH`` (``apt-get install graphviz``);
2. else the ``graphviz-pure`` program of the pip package of that name, a self-contained port of
   Graphviz (``pip install tinygrad-rnn[render]``; it writes SVG and PNG, not PDF);
3. else :class:`DotNotFoundError`, saying how to install either. ``.source`` still works.

The Python package ``graphviz`` is imported when the first picture is made, not when the library
is: ``GraphPicture`` is defined on first use (a module ``__getattr__``, PEP 562), so ``import
tinygrad_rnn`` and everything below ``viz`` run without it.

Example:
    >>> from tinygrad_rnn.viz.render import GraphPicture
    >>> picture = GraphPicture()
    >>> picture.edge("x", "y")
    >>> picture.source.split()
    ['digraph', '{', 'x', '->', 'y', '}']
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from functools import cache
from pathlib import Path
from typing import Any

FORMATS = ("svg", "png", "pdf", "jpeg")
_ALIASES = {"jpg": "jpeg"}  # suffixes that name a format by another name


class DotNotFoundError(RuntimeError):
    """No program to lay out and render DOT text was found."""


def find_dot() -> str:
    """The path of the ``dot`` program to run: system Graphviz first, then ``graphviz-pure``."""
    system = shutil.which("dot")
    if system:
        return system
    pure = shutil.which("graphviz-pure")
    if pure:
        return pure
    scripts = Path(sysconfig.get_path("scripts"))  # the pip package's program, even if not on PATH
    for candidate in (scripts / "graphviz-pure", scripts / "graphviz-pure.exe"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise DotNotFoundError(
        "rendering a graph needs Graphviz's `dot` program, and neither the system Graphviz (`dot` on the "
        "PATH) nor the pip package graphviz-pure was found. Install one of them:\n"
        "    apt-get install graphviz          (or: brew install graphviz, conda install graphviz)\n"
        "    pip install tinygrad-rnn[render]  (installs graphviz-pure, no system packages needed)\n"
        "The DOT text is available without either, as picture.source."
    )


def __getattr__(name: str) -> Any:
    if name == "GraphPicture":
        return graph_picture_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def graph_picture_class() -> type:
    """The class :class:`GraphPicture`, made (and ``graphviz`` imported) on the first call."""
    try:
        import graphviz
    except ImportError as error:
        raise ModuleNotFoundError(
            f"drawing a graph needs the Python package graphviz ({error}); install it with "
            "`pip install graphviz` (a dependency of tinygrad-rnn, so `pip install tinygrad-rnn` brings it)"
        ) from error

    class GraphPicture(graphviz.Digraph):
        """A graph picture: ``.source`` is its DOT text, ``.render(path)`` writes SVG/PNG/PDF, and
        Jupyter displays it inline (as SVG, rendered by :func:`find_dot`'s program)."""

        def pipe(self, format: str | None = None, encoding: str | None = None, **_ignored) -> bytes | str:  # noqa: A002
            """The rendered picture as bytes (or text, given an ``encoding``)."""
            format = format or "svg"  # noqa: A001
            if format not in FORMATS:
                raise ValueError(f"render: format must be one of {', '.join(FORMATS)}, got {format!r}")
            program = find_dot()
            result = subprocess.run(
                [program, f"-T{format}"], input=self.source.encode("utf-8"), capture_output=True, check=False
            )
            if result.returncode != 0:
                message = result.stderr.decode("utf-8", "replace").strip()
                hint = ""
                if "graphviz-pure" in Path(program).name and "not recognized" in message:
                    hint = f"\ngraphviz-pure cannot write {format}: use svg or png, or apt-get install graphviz"
                raise RuntimeError(f"render: {program} failed to render the graph as {format}: {message}{hint}")
            return result.stdout.decode(encoding) if encoding else result.stdout

        def render(self, path: str | os.PathLike, format: str | None = None) -> str:  # type: ignore[override]  # noqa: A002
            """Write the picture to ``path`` and return the path written.

            The format is ``format`` if given, else the path's suffix (``.svg``, ``.png``, ``.pdf``,
            ``.jpg``/``.jpeg``); a path without a suffix gets the format's (SVG by default). A suffix
            that names no format, or another format than ``format``, is refused: the file would
            otherwise not hold what its name says.
            """
            path = Path(path)
            suffix = path.suffix.lstrip(".").lower()
            suffix = _ALIASES.get(suffix, suffix)
            if format is not None and format not in FORMATS:
                raise ValueError(f"render: format must be one of {', '.join(FORMATS)}, got {format!r}")
            if suffix and suffix not in FORMATS:
                raise ValueError(
                    f"render: cannot tell the format of {str(path)!r} from its suffix {path.suffix!r}; use one of "
                    f"{', '.join('.' + f for f in (*FORMATS, 'jpg'))}, or give a path without a suffix and format="
                )
            if suffix and format and suffix != format:
                raise ValueError(f"render: the path {str(path)!r} says {suffix} but format={format!r}; make them agree")
            format = format or suffix or "svg"  # noqa: A001
            if not suffix:
                path = path.with_name(path.name + "." + format)
            data = self.pipe(format=format)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return str(path)

    GraphPicture.__qualname__ = "GraphPicture"  # as if defined at the top of the module
    return GraphPicture
