#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu 22.04).
# It installs Python 3 (22.04's is 3.10: requirements.txt pins per Python version) and the pinned
# packages; the grader itself runs from this folder.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-pip
# bubblewrap gives the sandbox namespaces where the container allows them; without it (the
# usual case on Gradescope) the student's code runs as an unprivileged user of its own.
apt-get install -y -qq bubblewrap || echo "setup.sh: bubblewrap not installed; the sandbox will use an unprivileged user"
# torch first, from PyTorch's CPU index: the CPU build (PyPI's Linux torch is the CUDA build, about
# 2.5 GB with its nvidia packages, and Gradescope has no GPU). Same pin as requirements.txt.
TORCH=$(grep -E '^torch==' requirements.txt)
python3 -m pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "$TORCH"
python3 -m pip install --no-cache-dir -r requirements.txt
# Fail the build now, not at the first submission, if the grader cannot start.
python3 -m autograder --version
