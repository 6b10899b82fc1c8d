"""The device a grading runs on: the names accepted (one check for every command) and what ``auto`` means here."""

from __future__ import annotations

import glob
import sys

from .errors import UsageError

__all__ = ["DEVICES", "GPU_NODES", "check_device", "gpu_nodes", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")
"""Accepted as given; ``cuda:N`` names one GPU."""


def check_device(requested: str) -> str:
    """``requested`` if it names a device (auto, cpu, cuda, cuda:N), else a usage error naming it."""
    if requested not in DEVICES and not (requested.startswith("cuda:") and requested[5:].isdigit()):
        raise UsageError(f"--device {requested!r} is not one of auto, cpu, cuda, cuda:N")
    return requested


GPU_NODES = ("/dev/nvidiactl", "/dev/nvidia[0-9]*", "/dev/dxg", "/dev/kfd")
"""Device files without which no GPU reaches torch on Linux: NVIDIA's, WSL2's (``dxg``) and ROCm's (``kfd``)."""


def resolve_device(requested: str) -> str:
    """``auto`` -> cuda if present else cpu; ``cuda`` without a GPU is a usage error.

    ``auto`` on a Linux machine without any GPU device file is cpu without importing torch (about
    1 s): grading launches its worker first, and imports torch while the worker boots.
    """
    if check_device(requested) == "cpu" or (requested == "auto" and not gpu_nodes()):
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda" if requested == "auto" else requested
    if requested == "auto":
        return "cpu"
    raise UsageError(f"--device {requested}: no CUDA device is available here")


def gpu_nodes() -> bool:
    """Whether a GPU device file exists here (always True off Linux, where none is looked for)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(glob.glob(pattern) for pattern in GPU_NODES)
