"""The device a grading runs on: the names accepted (one check for every command) and what ``auto`` means here."""

from __future__ import annotations

from .errors import UsageError

__all__ = ["DEVICES", "check_device", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")
"""Accepted as given; ``cuda:N`` names one GPU."""


def check_device(requested: str) -> str:
    """``requested`` if it names a device (auto, cpu, cuda, cuda:N), else a usage error naming it."""
    if requested not in DEVICES and not (requested.startswith("cuda:") and requested[5:].isdigit()):
        raise UsageError(f"--device {requested!r} is not one of auto, cpu, cuda, cuda:N")
    return requested


def resolve_device(requested: str) -> str:
    """``auto`` -> cuda if present else cpu; ``cuda`` without a GPU is a usage error."""
    if check_device(requested) == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda" if requested == "auto" else requested
    if requested == "auto":
        return "cpu"
    raise UsageError(f"--device {requested}: no CUDA device is available here")
