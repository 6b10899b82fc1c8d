"""device: the names accepted and what ``auto`` means here, decided without torch where no GPU can be."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from autograder import device


def test_no_gpu_device_file_means_no_cuda_here():
    """The shortcut ``auto`` takes without importing torch agrees with torch itself on this machine."""
    if not device.gpu_nodes():
        assert not torch.cuda.is_available()


@pytest.mark.parametrize("platform,found,expected", [
    ("linux", [], False),
    ("linux", ["/dev/nvidiactl"], True),
    ("linux", ["/dev/dxg"], True),
    ("darwin", [], True),
    ("win32", [], True),
], ids=["linux_none", "linux_nvidia", "linux_wsl2", "macos", "windows"])
def test_gpu_nodes_answers_no_only_on_linux_without_device_files(monkeypatch, platform, found, expected):
    monkeypatch.setattr(device.sys, "platform", platform)
    monkeypatch.setattr(device.glob, "glob", lambda pattern: [f for f in found if f.startswith(pattern.split("[")[0])])
    assert device.gpu_nodes() is expected


def test_auto_does_not_import_torch_where_no_gpu_device_file_exists():
    """Grading launches its worker before it imports torch (about 1 s): ``auto`` must not import it first."""
    code = ("import sys\nfrom autograder.device import gpu_nodes, resolve_device\n"
            "print(resolve_device('auto'), gpu_nodes(), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    answer, nodes, imported = out.stdout.split()
    if nodes == "False":
        assert (answer, imported) == ("cpu", "False")
    else:
        assert imported == "True" and answer == ("cuda" if torch.cuda.is_available() else "cpu")
