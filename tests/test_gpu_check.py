"""benchmarks/gpu_check.sh, the one command a GPU machine runs, works here too: without a GPU it runs
its CPU-only parts, writes its results, and says on its last line that the GPU parts were skipped."""

import os
import subprocess

import pytest

import tinygrad_rnn as tg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_gpu_check_runs_its_cpu_parts_and_says_what_it_skipped(tmp_path):
    try:
        tg.backend.get_backend("cuda")
    except tg.DeviceError:
        pass
    else:
        pytest.skip("a GPU is usable: run benchmarks/gpu_check.sh itself")
    env = {**os.environ, "OUT": str(tmp_path / "out"), "WHEELS": str(tmp_path / "no-wheels")}
    result = subprocess.run(
        ["bash", os.path.join(ROOT, "benchmarks", "gpu_check.sh")], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("gpu_check: no usable GPU here: the GPU parts were skipped")
    out = tmp_path / "out"
    assert sorted(os.listdir(out)) == ["gpu_check.log", "pytest.txt", "results.json", "results.md"]
    assert "pytest exit code: 0" in (out / "pytest.txt").read_text()
    results = (out / "results.md").read_text()
    assert "| char-LM V65 H128 B32 T50 | " in results and "ms (first loss" in results
    assert results.count("skipped: no usable GPU") == 3  # CuPy eager, compiled and torch CUDA
