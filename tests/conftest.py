"""Shared fixtures for the framework's own tests.

Gradings run as real ``autograder grade`` processes (the path a TA uses); every
results.json they write is validated against the Gradescope schema kept in the repo.
Tests write only under pytest's tmp_path, never into tracked files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autograder import assignment, bugzoo, results, sandbox

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Graded:
    """One finished ``autograder grade`` run."""

    data: dict[str, Any]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def score(self) -> float:
        return float(self.data["score"])

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self.data.get("extra_data", {}))

    def test(self, function: str) -> list[dict[str, Any]]:
        """The results of every case of one test function."""
        names = {n for n, fn in self.extra.get("test_functions", {}).items() if fn == function}
        found = [t for t in self.data["tests"] if t["name"] in names]
        assert found, f"no results for {function}"
        return found

    def passed(self, function: str) -> bool:
        return all(t["status"] == "passed" for t in self.test(function))

    def output_of(self, function: str) -> str:
        return "\n".join(t["output"] for t in self.test(function))


GradeFn = Callable[..., Graded]


def run_grade(assignment_name: str, submission: Path, out: Path, *args: str, timeout: float = 600) -> Graded:
    """Run ``autograder grade`` and return its validated results."""
    cmd = [sys.executable, "-m", "autograder", "grade", assignment_name, str(submission), "--results", str(out), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=out.parent)
    assert out.is_file(), f"no results.json (exit {proc.returncode}): {proc.stderr[-3000:]}"
    data = json.loads(out.read_text(encoding="utf-8"))
    results.validate(data)
    return Graded(data, proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def grade(tmp_path: Path) -> GradeFn:
    """Grade a submission given as a path or as source text: ``grade(src, select=..., isolation=...)``."""
    counter = iter(range(10_000))

    def _grade(submission: Path | str, name: str = "softmax_nll", *, select: str | None = None,
               isolation: str | None = None, seed: int | None = None, device: str | None = None) -> Graded:
        i = next(counter)
        if isinstance(submission, str):
            folder = tmp_path / f"sub{i}"
            folder.mkdir()
            (folder / f"{name}.py").write_text(submission, encoding="utf-8")
            submission = folder
        args: list[str] = []
        if select:
            args += ["--select", select]
        if isolation:
            args += ["--isolation", isolation]
        if seed is not None:
            args += ["--seed", str(seed)]
        if device is not None:
            args += ["--device", device]
        return run_grade(name, submission, tmp_path / f"results{i}.json", *args)

    return _grade


@pytest.fixture(scope="session")
def reference_source() -> Callable[[str], str]:
    """The reference solution of an assignment, without solution markers."""
    return lambda name="softmax_nll": bugzoo.reference_source(assignment.load(name))


def isolation_levels() -> list[Any]:
    """Every isolation level, those unavailable here skipped with the reason."""
    levels = []
    for level in sandbox.ISOLATION_LEVELS:
        available = level == "plain" or sandbox.bubblewrap_works()
        levels.append(pytest.param(level, marks=pytest.mark.skipif(
            not available, reason=f"{level} isolation is not available on this machine")))
    return levels
