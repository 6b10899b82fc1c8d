"""The CUDA path: grading on a GPU, timed with CUDA events. Skipped where no GPU exists.

The CUDA timing logic itself (events, synchronisation, the wall-clock cross-check) is
unit-tested on the CPU with a fake ``torch.cuda`` in test_performance.py.
"""

from __future__ import annotations

import pytest
import torch

from autograder import assignment
from autograder.errors import UsageError
from autograder.grading import resolve_device

HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.cuda
"""Skipped without a GPU; a failure instead where AUTOGRADER_REQUIRE_CUDA=1 (see conftest.py, make gpu-check)."""


@needs_cuda
@pytest.mark.slow
@pytest.mark.parametrize("name", assignment.names())
def test_reference_full_marks_on_cuda(grade, name):
    spec = assignment.load(name)
    graded = grade(spec.solution_file.parent, name, device="cuda")
    assert graded.score == 100 and graded.extra["device"].startswith("cuda")
    # every timed record (scaling and deep-graph records of backprop carry no device) ran on CUDA
    timed = [v["device"] for v in graded.extra["tests"].values() if "device" in v]
    assert timed and all(d.startswith("cuda") for d in timed)


def test_auto_device_falls_back_to_cpu_without_cuda():
    assert resolve_device("auto") == ("cuda" if HAS_CUDA else "cpu")
    assert resolve_device("cpu") == "cpu"


@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA")
def test_asking_for_cuda_without_a_gpu_is_a_usage_error():
    with pytest.raises(UsageError, match="no CUDA device"):
        resolve_device("cuda")
