"""Ending a worker: kill its process group, its descendants and escapees, and reap them all."""

from __future__ import annotations

import os
import signal
import subprocess
from functools import lru_cache
from pathlib import Path

from .cgroup import drain_cgroup
from .proc_tree import carrying, children, descendants, kill, libc, reap

__all__ = ["LIVE_WORKERS", "become_subreaper", "kill_group"]

LIVE_WORKERS: set[int] = set()
"""Pids of workers started by this process and not yet closed (never killed as orphans)."""


@lru_cache(maxsize=1)
def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process (Linux), so none can slip away."""
    try:
        return int(libc().prctl(36, 1, 0, 0, 0)) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def kill_group(proc: subprocess.Popen[bytes], token: str, group: Path | None = None) -> None:
    """SIGKILL the worker, its process group, every descendant and anything carrying its token; reap."""
    doomed = descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in doomed:
        kill(pid)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a zombie that will not die
        pass
    LIVE_WORKERS.discard(proc.pid)
    if group is not None:
        drain_cgroup(group)
    for _ in range(3):
        strays = [p for p in children(os.getpid()) if p not in LIVE_WORKERS] + carrying(token)
        if not strays:
            break
        for pid in strays:
            kill(pid)
        for pid in strays:
            reap(pid)


