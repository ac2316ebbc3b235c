#!/usr/bin/env bash
# The GPU check: one command for a machine with an NVIDIA GPU (CUDA 12 driver), no network needed.
#
#   WHEELS=./wheels OUT=./gpu_results bash benchmarks/gpu_check.sh
#
# 1. installs, offline, what it needs from the folder of wheels $WHEELS (default ./wheels; skipped
#    where that folder is missing and the packages are already there);
# 2. runs the backend-parametrised test suite's cuda half (tests/conftest.py adds "cuda" to the
#    device fixture when CuPy sees a GPU; `pytest -k cuda` selects those runs);
# 3. runs benchmarks/bench_gpu.py: NumPy on all CPU cores, CuPy eager, CuPy compiled (where
#    tinygrad_rnn.compile exists) and PyTorch CUDA's nn.LSTM (where installed);
# 4. writes the results table, the pytest summary and this log to $OUT (default ./gpu_results).
# Without a GPU it runs the CPU-only parts and its last line says the GPU parts were skipped.
# The whole run stays under 8 minutes: each part has its own time limit.
#
# Fetching the wheels (on a machine with the package index; Python 3.12 on the GPU machine):
#   pip download --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.12 \
#       -d wheels cupy-cuda12x array-api-compat array-api-strict numpy graphviz pytest hypothesis \
#       safetensors
# (add `--python-version 3.11` for a Python 3.11 machine, and torch's CUDA wheel if wanted).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-./gpu_results}
WHEELS=${WHEELS:-./wheels}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the checkout itself, no build step needed
PYTHON=${PYTHON:-python3}

echo "== gpu_check: $(date -u +%FT%TZ) on $(hostname), $($PYTHON --version 2>&1)"
if [ -d "$WHEELS" ]; then
    echo "== installing from $WHEELS (offline)"
    $PYTHON -m pip install -q --no-index --find-links "$WHEELS" \
        numpy graphviz pytest hypothesis array-api-compat array-api-strict cupy-cuda12x \
        || echo "!! some wheels were missing; going on with what is installed"
    $PYTHON -m pip install -q --no-index --find-links "$WHEELS" safetensors 2>/dev/null || true
else
    echo "== no wheel folder at $WHEELS: using what is installed"
fi

gpu=$($PYTHON - <<'EOF' 2>/dev/null
import tinygrad_rnn as tg
try:
    tg.backend.get_backend("cuda")
    import cupy
    print(cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
except Exception as error:
    print("")
EOF
)
if [ -n "$gpu" ]; then
    echo "== GPU: $gpu"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true
    echo "== tests on cuda (pytest -k cuda)"
    timeout 300 $PYTHON -m pytest -q -k cuda -p no:cacheprovider tests/ > "$OUT/pytest.txt" 2>&1
    echo "pytest exit code: $?" >> "$OUT/pytest.txt"
else
    echo "== no usable GPU: running the CPU-only parts"
    timeout 300 $PYTHON -m pytest -q -p no:cacheprovider tests/test_backend.py tests/test_device_training.py \
        > "$OUT/pytest.txt" 2>&1
    echo "pytest exit code: $?" >> "$OUT/pytest.txt"
fi
tail -n 15 "$OUT/pytest.txt"

echo "== training-step benchmark"
if [ -n "$gpu" ]; then quick=""; else quick="--quick"; fi
timeout 150 $PYTHON benchmarks/bench_gpu.py $quick --out "$OUT" || echo "!! the benchmark failed or ran out of time"

if [ -n "$gpu" ]; then
    echo "gpu_check: done on $gpu; results in $OUT (results.md, pytest.txt, gpu_check.log)"
else
    echo "gpu_check: no usable GPU here: the GPU parts were skipped (CPU parts ran; results in $OUT)"
fi
