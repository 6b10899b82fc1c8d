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


def test_no_gpu_device_file_means_no_cuda_here():
    """The shortcut ``auto`` takes without importing torch agrees with torch itself on this machine."""
    from autograder.device import gpu_nodes

    if not gpu_nodes():
        assert not HAS_CUDA


@pytest.mark.parametrize("platform,found,expected", [
    ("linux", [], False),
    ("linux", ["/dev/nvidiactl"], True),
    ("linux", ["/dev/dxg"], True),
    ("darwin", [], True),
    ("win32", [], True),
], ids=["linux_none", "linux_nvidia", "linux_wsl2", "macos", "windows"])
def test_gpu_nodes_answers_no_only_on_linux_without_device_files(monkeypatch, platform, found, expected):
    from autograder import device

    monkeypatch.setattr(device.sys, "platform", platform)
    monkeypatch.setattr(device.glob, "glob", lambda pattern: [f for f in found if f.startswith(pattern.split("[")[0])])
    assert device.gpu_nodes() is expected


def test_auto_does_not_import_torch_where_no_gpu_device_file_exists():
    """Grading launches its worker before it imports torch (about 1 s): ``auto`` must not import it first."""
    import subprocess
    import sys

    code = ("import sys\nfrom autograder.device import gpu_nodes, resolve_device\n"
            "print(resolve_device('auto'), gpu_nodes(), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    device, nodes, imported = out.stdout.split()
    if nodes == "False":
        assert (device, imported) == ("cpu", "False")
    else:
        assert imported == "True" and device == ("cuda" if HAS_CUDA else "cpu")
