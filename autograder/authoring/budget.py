"""A Gradescope-like budget for a command: a share of one CPU and a memory cap, in cgroups.

Gradescope's default container gives a grading half a vCPU and 768 MB. ``run`` starts a
command inside fresh cgroups with the same limits, so a grading can be timed as it would
run there: on cgroup v2 one group with ``cpu.max`` ("50000 100000") and ``memory.max``; on
a v1 (or hybrid) hierarchy a ``cpu`` group with ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``
and a ``memory`` group with ``memory.limit_in_bytes``. The groups are made under the
caller's own (so its limits still apply) and need write access there (root, usually).
Every process the command starts inherits them (the sandbox's per-worker ``pids`` group
is a separate v1 hierarchy and does not take the worker out of them); on a pure v2 host
the sandbox's per-worker group is made at the root and would leave them, so there
``run`` refuses to start rather than measure the wrong thing.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

__all__ = ["GRADESCOPE", "Budget", "Limited", "run"]

ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Budget:
    """CPU quota per period (microseconds) and a memory cap (MiB)."""

    quota_us: int = 50_000
    period_us: int = 100_000
    memory_mb: int = 768

    def describe(self) -> str:
        """``50% of one CPU, 768 MB``."""
        return f"{100 * self.quota_us / self.period_us:g}% of one CPU, {self.memory_mb} MB"


GRADESCOPE = Budget()
"""Gradescope's default container: one CPU at 50% and 768 MB."""


@dataclass
class Limited:
    """How a command ended under a budget."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float | None
    """CPU time of the command and everything it started (cpuacct), whatever else ran on the machine."""
    peak_memory_mb: float | None
    """The memory group's peak usage, where the kernel reports it (None without a budget)."""
    memory_capped: bool
    """Whether the memory cap was reached at least once (reclaim or the OOM killer)."""


def _own(controller: str) -> Path:
    """This process's group in the v1 hierarchy ``controller`` (``cpu``, ``memory``)."""
    for line in Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return ROOT / controller / path.lstrip("/")
    raise UsageError(f"this machine has no cgroup v1 {controller!r} hierarchy")


def _v2() -> bool:
    """Whether /sys/fs/cgroup is a pure cgroup v2 hierarchy."""
    return (ROOT / "cgroup.controllers").is_file()


def _groups(budget: Budget | None, token: str) -> list[Path]:
    """Make the group(s) and return them: v1 cpuacct (always, to count CPU time), then cpu and memory (limits)."""
    if _v2():
        raise UsageError("a pure cgroup v2 host: the sandbox's per-worker cgroup would leave a budget group; "
                         "run the budget with `systemd-run --scope -p CPUQuota=50% -p MemoryMax=768M` instead")
    groups = [_own("cpuacct") / token]
    if budget is not None:
        groups += [_own("cpu") / token, _own("memory") / token]
    try:
        for group in groups:
            group.mkdir()
        if budget is not None:
            cpu, memory = groups[1], groups[2]
            (cpu / "cpu.cfs_period_us").write_text(str(budget.period_us), encoding="ascii")
            (cpu / "cpu.cfs_quota_us").write_text(str(budget.quota_us), encoding="ascii")
            (memory / "memory.limit_in_bytes").write_text(str(budget.memory_mb * 2**20), encoding="ascii")
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(budget.memory_mb * 2**20), encoding="ascii")
    except OSError as exc:
        _remove(groups)
        raise UsageError(f"cannot make the budget's cgroups ({exc}): run as root on a machine with cgroups") from None
    return groups


def _remove(groups: list[Path]) -> None:
    """Remove the groups (empty by then), leaves first."""
    for group in groups:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


def _number(path: Path) -> int | None:
    """An integer cgroup file, or None where it is absent."""
    try:
        return int(path.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _oom_kills(group: Path) -> int:
    """How many processes of the memory group the OOM killer ended (v1 ``memory.oom_control``)."""
    try:
        lines = (group / "memory.oom_control").read_text(encoding="ascii").splitlines()
    except OSError:
        return 0
    return sum(int(line.split()[1]) for line in lines if line.startswith("oom_kill "))


def run(command: Sequence[str], budget: Budget | None = GRADESCOPE, *, stdout: int | None = subprocess.DEVNULL,
        stderr: int | None = subprocess.DEVNULL, timeout: float | None = None, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> Limited:
    """Run ``command`` under ``budget`` (None: no limits, only counted) and report its times and memory peak."""
    token = f"ag-budget-{os.getpid()}-{secrets.token_hex(4)}"
    groups = _groups(budget, token)
    procs = [str(g / "cgroup.procs") for g in groups]

    def enter() -> None:  # in the child, before exec: join the groups so everything it starts is inside
        for path in procs:
            with open(path, "w", encoding="ascii") as fh:
                fh.write(str(os.getpid()))

    started = time.monotonic()
    proc: subprocess.Popen[bytes] | None = None
    try:
        proc = subprocess.Popen(list(command), stdout=stdout, stderr=stderr, preexec_fn=enter, env=env, cwd=cwd)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        wall = time.monotonic() - started
        used = _number(groups[0] / "cpuacct.usage")
        cpu_seconds = None if used is None else used / 1e9
        if budget is None:
            return Limited(code, wall, cpu_seconds, None, False)
        memory = groups[2]
        peak = _number(memory / "memory.max_usage_in_bytes")
        capped = bool(_number(memory / "memory.failcnt")) or _oom_kills(memory) > 0
        return Limited(code, wall, cpu_seconds, None if peak is None else peak / 2**20, capped)
    finally:
        if proc is not None and proc.poll() is None:  # interrupted: end the command before removing its groups
            proc.kill()
            proc.wait()
        _remove(groups)
