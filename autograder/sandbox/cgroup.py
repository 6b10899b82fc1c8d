"""A pids cgroup per worker: a process cap, and a complete list of its processes."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from .proc_tree import kill, reap

__all__ = ["CGROUP_ROOTS", "drain_cgroup", "make_cgroup"]

CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


def make_cgroup(token: str, processes: int) -> Path | None:
    """A pids cgroup capped at ``processes`` for one worker, or None where cgroups are not writable."""
    for root in CGROUP_ROOTS:
        if not (root / "cgroup.procs").exists() or not os.access(root, os.W_OK):
            continue
        if root == Path("/sys/fs/cgroup") and "pids" not in _read(root / "cgroup.subtree_control"):
            continue
        group = root / f"autograder-{token}"
        try:
            group.mkdir()
            (group / "pids.max").write_text(str(processes), encoding="ascii")
            return group
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except OSError:
        return ""


def drain_cgroup(group: Path) -> None:
    """Kill every process left in the worker's cgroup, then remove it."""
    for _ in range(250):
        pids = [int(p) for p in _read(group / "cgroup.procs").split()]
        for pid in pids:
            kill(pid)
            reap(pid)
        if not pids:
            try:
                group.rmdir()  # EBUSY while killed processes are still exiting: try again shortly
                return
            except FileNotFoundError:
                return
            except OSError:
                pass
        time.sleep(0.02)


