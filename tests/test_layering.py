"""The package's structure: the core imports and runs without graphviz, and imports point one way."""

import subprocess
import sys
import textwrap

from tests.file_modules import load_file

WITHOUT_GRAPHVIZ = textwrap.dedent(
    """
    import importlib.abc
    import sys

    class BlockGraphviz(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "graphviz" or name.startswith("graphviz."):
                raise ImportError(f"{name} is blocked by the test")
            return None

    sys.meta_path.insert(0, BlockGraphviz())

    import tinygrad_rnn as tg
    from tinygrad_rnn import nn

    assert "graphviz" not in sys.modules, "importing tinygrad_rnn imported graphviz"
    w = tg.Tensor([[0.5, -1.0]], requires_grad=True)
    loss = (tg.ones(3, 1) @ w).tanh().sum()
    loss.backward()
    assert w.grad.shape == (1, 2)
    lstm = nn.LSTM(2, 3)
    output, (h, c) = lstm(tg.randn(4, 1, 2))
    output.sum().backward()
    assert lstm.weight_hh_l0.grad.shape == (12, 3)
    try:
        tg.viz.draw_graph(loss)
    except ModuleNotFoundError as error:
        assert "pip install graphviz" in str(error), error
    else:
        raise AssertionError("drawing without graphviz did not say what to install")
    assert "graphviz" not in sys.modules
    print("ok")
    """
)


def test_core_and_nn_run_without_graphviz():
    result = subprocess.run([sys.executable, "-c", WITHOUT_GRAPHVIZ], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def load_import_graph():
    return load_file("tools/import_graph.py")


def test_imports_point_one_way():
    """core -> nn -> {optim, bptt, viz} -> cli: no module imports a higher or a sibling layer."""
    graph = load_import_graph()
    edges = graph.import_edges()
    assert ("tinygrad_rnn.nn.fused", "tinygrad_rnn.nn.cell_equations") in edges  # the reader sees real edges
    assert graph.upward_edges(edges) == []


def test_the_checker_sees_an_upward_import(tmp_path):
    """A core module importing nn, even inside a function, is reported."""
    package = tmp_path / "tinygrad_rnn"
    (package / "nn").mkdir(parents=True)
    for name in ("__init__.py", "nn/__init__.py", "nn/layers.py"):
        (package / name).write_text("")
    (package / "tensor.py").write_text("def f():\n    from .nn import layers\n")
    graph = load_import_graph()
    edges = graph.import_edges(package)
    assert graph.upward_edges(edges, package) == [("tinygrad_rnn.tensor", "tinygrad_rnn.nn.layers")]
