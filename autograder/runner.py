"""The door to the engine for everything that grades many submissions: ``autograder grade`` as its own process.

The engine's process-wide state (subreaper, signals, torch) and any crash stay in that process.
Batch, verification, stability and the GPU check grade through ``grade_subprocess`` and read
what it wrote through ``results.read_results``: nothing else runs or parses a grading, but for
``autograder mutants``, whose trusted subprocess calls ``grading.grade`` for several mutants in
turn (each in a fresh sandboxed worker) to save the start-up, and reads back with ``read_with_digest``.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import results

__all__ = ["GradeRun", "grade_subprocess", "interrupt_with_parent", "read_with_digest", "stop"]


@dataclass
class GradeRun:
    """How one ``autograder grade`` process ended, and what it wrote."""

    exit_code: int
    stderr: str
    timed_out: bool
    seconds: float
    result: results.GradingResult | None
    """The results.json it wrote, typed (None if there is none, or it cannot be read)."""
    results_sha256: str | None
    """The sha256 of that file's bytes (None with it)."""

    def require(self) -> results.GradingResult:
        """The result; RuntimeError naming the exit code and stderr if the grading wrote none."""
        if self.result is None:
            raise RuntimeError(f"grade wrote no results.json (exit {self.exit_code}): {self.stderr[-2000:]}")
        return self.result


def grade_subprocess(assignment: str, submission: Path, results_path: Path, *, seed: int | None = None,
                     device: str | None = None, isolation: str | None = None, select: str | None = None,
                     env: dict[str, str] | None = None, timeout: float = 1800.0,
                     cwd: Path | None = None) -> GradeRun:
    """Run ``autograder grade`` in a fresh process (its own session; interrupted if this one dies) and read back."""
    cmd = [sys.executable, "-m", "autograder", "grade", assignment, str(submission), "--results", str(results_path)]
    for option, value in (("--seed", seed), ("--device", device), ("--isolation", isolation), ("--select", select)):
        if value is not None and value != "":
            cmd += [option, str(value)]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
                            start_new_session=True, preexec_fn=interrupt_with_parent)
    try:
        _, stderr = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        stop(proc)
        stderr, timed_out = "", True
    except BaseException:
        stop(proc)
        raise
    result, digest = read_with_digest(Path(results_path))
    return GradeRun(proc.returncode, stderr, timed_out, time.monotonic() - t0, result, digest)


def read_with_digest(path: Path) -> tuple[results.GradingResult | None, str | None]:
    """The typed results.json and the sha256 of its bytes, or (None, None)."""
    try:
        raw = path.read_bytes()
        return results.loads(raw), hashlib.sha256(raw).hexdigest()
    except (OSError, ValueError, TypeError):
        return None, None


def interrupt_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """If the parent dies, the grading is interrupted (it then stops its sandbox cleanly).

    SIGINT is reset to its default first: a parent started in the background or under nohup
    passes it on ignored, and an ignored signal would never reach the grading.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGINT), 0, 0, 0)  # PR_SET_PDEATHSIG


def stop(proc: subprocess.Popen[str]) -> None:
    """Interrupt a grading (it cleans up its sandbox), kill it if it does not end within 15 s."""
    for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.communicate(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
