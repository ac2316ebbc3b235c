"""The picture of tinygrad_rnn's imports, and the check that they point one way.

Every module of the package is read with :mod:`ast` (nothing is imported or run); each
``import``/``from ... import`` of another module of the package is an edge, wherever it stands
(top of the file or inside a function; ``if TYPE_CHECKING:`` blocks are skipped: they never run).
Each module belongs to a layer, and a module may import only its own layer and the layers below:

    core (tensor, function, autograd, ops, backend, ...) -> nn -> {optim, viz} -> {bptt, compiler} -> cli

(``optim``, ``bptt`` and ``viz`` stand side by side: none imports another.) The package's
``__init__.py`` files only re-export, so they are drawn but not checked.

Run ``python tools/import_graph.py`` to print any edge that breaks the rule and to write
``docs/img/imports.svg`` (with Graphviz's ``dot``, or graphviz-pure, as the library renders).

Example:
    >>> edges = import_edges()
    >>> ("tinygrad_rnn.nn.fused", "tinygrad_rnn.nn.cell_equations") in edges
    True
    >>> upward_edges(edges)
    []
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_rnn"
LAYERS = {
    "core": 0,
    "nn": 1,
    "optim": 2,
    "viz": 2,
    "bptt": 3,  # the BPTT tools find a layer's per-step states through the pictures' scope grouping
    "compiler": 3,
    "cli": 4,
}  # what each layer may import: <=
COLORS = {
    "core": "#dbe9f6",
    "nn": "#e3f1dc",
    "optim": "#fbeed5",
    "bptt": "#f6dde0",
    "viz": "#ece1f3",
    "compiler": "#e0f0ee",
    "cli": "#eeeeee",
}


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(module: str, package: Path = PACKAGE) -> bool:
    return (package.parent / module.replace(".", "/") / "__init__.py").is_file()


def layer_of(module: str) -> str:
    """The layer named by the first name below the package (``nn``, ``viz``, ...); else ``core``."""
    first = module.split(".")[1] if "." in module else ""
    return first if first in LAYERS else "cli" if first == "__main__" else "core"


def _skips_type_checking(tree: ast.AST) -> list[ast.AST]:
    """Every import statement of ``tree``, except those under ``if TYPE_CHECKING:``."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The package's modules that one import statement of ``module`` loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:  # relative: from the module's package, one level up per extra dot
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        # ``from . import nn`` names a module; ``from .tensor import Tensor`` names a module's member
        names = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix for alias in node.names]
    return [name for name in names if name in known]


def import_edges(package: Path = PACKAGE) -> set[tuple[str, str]]:
    """Every (importer, imported) pair of modules of the package."""
    paths = sorted(package.rglob("*.py"))
    known = {module_name(p, package) for p in paths}
    edges = set()
    for path in paths:
        module = module_name(path, package)
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in _skips_type_checking(tree):
            for target in _imported(node, module, path.name == "__init__.py", known):
                if target != module:
                    edges.add((module, target))
    return edges


def upward_edges(edges: set[tuple[str, str]], package: Path = PACKAGE) -> list[tuple[str, str]]:
    """The edges that break the layering: a module importing a higher layer or a sibling layer."""
    bad = []
    for importer, imported in sorted(edges):
        if is_package(importer, package):
            continue  # a package's __init__.py: re-exports only
        mine, theirs = layer_of(importer), layer_of(imported)
        if LAYERS[theirs] > LAYERS[mine] or (mine != theirs and LAYERS[theirs] == LAYERS[mine]):
            bad.append((importer, imported))
    return bad


def dot_source(edges: set[tuple[str, str]]) -> str:
    """The DOT text of the picture: one cluster per layer, lowest at the bottom."""
    modules = sorted({m for edge in edges for m in edge})
    short = {m: m.removeprefix("tinygrad_rnn.") for m in modules}
    lines = ["digraph imports {", '  rankdir=BT; newrank=true; node [shape=box, style="rounded,filled", fontsize=10];']
    for layer in LAYERS:
        members = [m for m in modules if layer_of(m) == layer and m != "tinygrad_rnn"]
        lines.append(f'  subgraph cluster_{layer} {{ label="{layer}"; style=filled; color="{COLORS[layer]}";')
        lines += [f'    "{short[m]}";' for m in members]
        lines.append("  }")
    bad = set(upward_edges(edges))
    for importer, imported in sorted(edges):
        if importer == "tinygrad_rnn":
            continue  # the top-level facade imports everything: left out so the layers stay readable
        style = " [color=red, penwidth=2]" if (importer, imported) in bad else ' [color="#00000055"]'
        lines.append(f'  "{short[importer]}" -> "{short[imported]}"{style};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.path.insert(0, str(PACKAGE.parent))
    from tinygrad_rnn.viz.render import find_dot

    edges = import_edges()
    bad = upward_edges(edges)
    for importer, imported in bad:
        print(f"layering: {importer} ({layer_of(importer)}) imports {imported} ({layer_of(imported)})")
    out = PACKAGE.parent / "docs" / "img" / "imports.svg"
    svg = subprocess.run([find_dot(), "-Tsvg"], input=dot_source(edges).encode(), capture_output=True, check=True)
    out.write_bytes(svg.stdout)
    print(f"{len(edges)} imports between {len({m for e in edges for m in e})} modules; {len(bad)} against the layers")
    print(f"wrote {out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
