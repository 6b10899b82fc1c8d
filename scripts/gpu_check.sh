#!/usr/bin/env bash
# The CUDA path on a real GPU, in one go (README "GPU"; autograder/authoring/gpu_check.py does the work).
#
#   scripts/gpu_check.sh WHEELS [OUT]      (make gpu-check WHEELS=... [GPU_CHECK_OUT=...])
#
# On a machine with a GPU, a CUDA build of PyTorch for $GPU_PYTHON (default python3) and no
# internet: makes the venv $GPU_VENV (default .venv-gpu) over that Python's packages, installs the
# project's other dependencies from the wheel folder WHEELS (made by `make gpu-wheels`) without
# touching torch, then runs the check and writes OUT/gpu-check.md and OUT/gpu-check.json
# (default OUT: gpu-check-report). Exit 0 when everything passed, 1 on any failure, 2 for bad input.
set -euo pipefail

usage="usage: scripts/gpu_check.sh WHEELS [OUT]"
wheels=${1:?$usage}
out=${2:-gpu-check-report}
python=${GPU_PYTHON:-python3}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${GPU_VENV:-$repo/.venv-gpu}

if [ ! -d "$wheels" ]; then
    echo "gpu-check: error: no wheel folder at $wheels (make gpu-wheels WHEELS=$wheels on a machine with internet)" >&2
    exit 2
fi
wheels=$(cd "$wheels" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$repo"

start=$(date +%s)
if [ ! -f "$venv/.gpu-check-installed" ]; then
    # Only the standard library is needed for this step: the module imports nothing else at first.
    "$python" -m autograder.authoring.gpu_check install "$wheels" --venv "$venv"
fi
installed=$(( $(date +%s) - start ))
exec "$venv/bin/python" -m autograder.authoring.gpu_check run --out "$out" --install-seconds "$installed" ${GPU_CHECK_ARGS:-}
