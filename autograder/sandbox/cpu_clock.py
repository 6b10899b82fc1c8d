"""CPU time of a worker's process tree, on the trusted side (libc CPU clocks, /proc as fallback)."""

from __future__ import annotations

import ctypes
import os

from .proc_tree import children, libc

__all__ = ["process_cpu_seconds", "tree_cpu_seconds"]

TICK = os.sysconf("SC_CLK_TCK")


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def process_cpu_seconds(pid: int, fields: list[str]) -> float:
    """A process's CPU time, all threads (exited ones too), in ns precision; /proc ticks as fallback."""
    clock, ts = ctypes.c_int(), _Timespec()
    try:
        c = libc()
        if c.clock_getcpuclockid(pid, ctypes.byref(clock)) == 0 and c.clock_gettime(clock, ctypes.byref(ts)) == 0:
            return ts.tv_sec + ts.tv_nsec * 1e-9
    except (OSError, AttributeError):
        pass
    return sum(int(x) for x in fields[11:13]) / TICK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and every live descendant, plus the reaped children they waited for."""
    total, stack, seen = 0.0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += process_cpu_seconds(pid, fields) + sum(int(x) for x in fields[13:15]) / TICK
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        stack += children(pid)
    return total
