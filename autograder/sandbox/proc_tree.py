"""The process tree of a worker, as /proc shows it, and the signals that end it."""

from __future__ import annotations

import ctypes
import os
import signal
from functools import lru_cache
from typing import Any

__all__ = ["carrying", "children", "descendants", "kill", "libc", "reap"]


@lru_cache(maxsize=1)
def libc() -> Any:
    """The C library of this process (prctl, CPU clocks)."""
    return ctypes.CDLL(None, use_errno=True)


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (all its threads), from /proc."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                out += [int(x) for x in fh.read().split()]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return out




def descendants(root: int) -> list[int]:
    """Every live descendant of ``root`` (from /proc)."""
    out, stack = [], children(root)
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack += children(pid)
    return out


def carrying(token: str) -> list[int]:
    """Processes whose environment still holds a worker's token (detached escapees)."""
    needle = f"AG_WORKER={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if needle in fh.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue
    return found


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def reap(pid: int) -> None:
    """Collect a killed child of ours (orphans re-parented to us through the subreaper)."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass

