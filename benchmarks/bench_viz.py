"""Graph pictures: time to build and render the graph of an LSTM, at op and step detail.

Workloads (issue 4 targets, building + rendering, SVG):
  op level:   1-layer nn.LSTM, input 8, hidden 32, batch 4, 50 steps, every op drawn   < 2 s
  step level: the same LSTM over 500 steps, one box per step                         < 2 s

The model runs forward once (not timed); each round then times ``draw_graph(loss, ...)``
(reading the graph, grouping, writing DOT) and ``.render(path)`` (running the ``dot``
program found by ``tinygrad_rnn.viz.find_dot``), separately. Median of ROUNDS rounds. Both dot
programs are measured when present: the system Graphviz and the pip package graphviz-pure.

Run: python benchmarks/bench_viz.py
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import draw_graph, find_dot

ROUNDS = 3
TARGET_SECONDS = 2.0
WORKLOADS = [("op", 50), ("step", 500)]


def lstm_loss(steps: int) -> tuple[tg.Tensor, nn.Module]:
    tg.manual_seed(0)
    model = nn.LSTM(8, 32)
    output, _ = model(tg.randn(steps, 4, 8))
    return (output * output).mean(), model


def programs() -> dict[str, str | None]:
    """The dot programs to measure: what find_dot picks normally, and with system dot hidden."""
    found = {"system dot": shutil.which("dot")}
    real_which = shutil.which
    with mock.patch("shutil.which", lambda name: None if name == "dot" else real_which(name)):
        try:
            found["graphviz-pure"] = find_dot()
        except tg.viz.DotNotFoundError:
            found["graphviz-pure"] = None
    return found


def measure(detail: str, steps: int, program: str, directory: Path) -> tuple[float, float, int]:
    loss, model = lstm_loss(steps)
    build, render = [], []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        picture = draw_graph(loss, params=model, detail=detail)
        middle = time.perf_counter()
        with mock.patch("tinygrad_rnn.viz.render.find_dot", lambda: program):
            picture.render(directory / f"lstm_{detail}_{steps}.svg")
        end = time.perf_counter()
        build.append(middle - start)
        render.append(end - middle)
    boxes = picture.source.count("label=<<table")
    return statistics.median(build), statistics.median(render), boxes


def main() -> None:
    print(f"{'workload':<26}{'dot program':<16}{'boxes':>7}{'build s':>10}{'render s':>10}{'total s':>10}  target")
    with tempfile.TemporaryDirectory() as directory:
        for name, program in programs().items():
            if program is None:
                print(f"{'(all)':<26}{name:<16}  not installed")
                continue
            for detail, steps in WORKLOADS:
                build, render, boxes = measure(detail, steps, program, Path(directory))
                total = build + render
                verdict = "ok" if total < TARGET_SECONDS else "SLOW"
                workload = f"LSTM h32 T={steps} {detail}"
                print(
                    f"{workload:<26}{name:<16}{boxes:>7}{build:>10.3f}{render:>10.3f}{total:>10.3f}"
                    f"  < {TARGET_SECONDS:.0f} s {verdict}"
                )


if __name__ == "__main__":
    main()
