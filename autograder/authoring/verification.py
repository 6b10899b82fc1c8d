"""``autograder verify``: the instructor's self-check of an assignment.

Reference scores full marks; the stub scores 0 without a grader error; every bug-zoo
entry loses points and fails the tests written for it (an entry that declares its ``score``, a slow but
correct one, scores exactly that); the student template is in sync;
the public tests pass on the reference under plain ``pytest`` (local mode); the student
zip leaks nothing (``leaks``); the points add up as assignment.toml plans. Each grading
runs as its own ``autograder grade`` process, exactly as a TA would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import assignment
from ..errors import AuthoringError
from . import bugzoo, templates

__all__ = ["Check", "Verification", "grade_subprocess", "verify"]


@dataclass
class Check:
    """One line of the verification table."""

    submission: str
    score: float | None
    max_score: float | None
    ok: bool
    note: str = ""


@dataclass
class Verification:
    """All checks of one assignment."""

    name: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def grade_subprocess(name: str, submission: Path, results: Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run ``autograder grade`` in a fresh process and return its results.json."""
    cmd = [sys.executable, "-m", "autograder", "grade", name, str(submission), "--results", str(results), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if not results.is_file():
        raise RuntimeError(f"grade wrote no results.json (exit {proc.returncode}): {proc.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    data["_exit_code"] = proc.returncode
    return data


def _max(data: dict[str, Any]) -> float:
    return float(sum(t["max_score"] for t in data.get("tests", [])))


def _failed(data: dict[str, Any]) -> set[str]:
    """Test function names that failed (from the tests' names and the instructor's record)."""
    return {t["name"] for t in data.get("tests", []) if t["status"] == "failed"}


def _test_functions(data: dict[str, Any]) -> dict[str, str]:
    """Test display name -> test function name, from extra_data."""
    return dict(data.get("extra_data", {}).get("test_functions", {}))


def verify(names: list[str] | None = None, workers: int = 2, echo: Callable[[str], None] = print) -> list[Verification]:
    """Verify each assignment; return the tables (ok = every check passed)."""
    out = []
    for name in names or assignment.names():
        spec = assignment.load(name)
        v = Verification(name)
        stale = templates.check([name])
        v.checks.append(Check("student template", None, None, not stale,
                              "in sync" if not stale else "out of date: run autograder build-templates"))
        with tempfile.TemporaryDirectory(prefix=f"ag-verify-{name}-") as tmp:
            v.checks += _grade_examples(spec, Path(tmp), workers)
        v.checks.append(_public_local(spec))
        v.checks.append(_leak_check(spec))
        for check in v.checks:
            echo(_row(check))
        out.append(v)
    return out


def _grade_examples(spec: assignment.Assignment, tmp: Path, workers: int) -> list[Check]:
    """Reference alone first (its timings matter), then stub and bugs side by side."""
    ref = grade_subprocess(spec.name, spec.solution_file.parent, tmp / "reference.json")
    checks = [_reference_check(spec, ref)]
    jobs: list[tuple[str, Path, bugzoo.Bug | None]] = [("stub", spec.template_file.parent, None)]
    for bug in bugzoo.entries(spec):
        jobs.append((f"bug: {bug.name}", bugzoo.write(spec, bug, tmp / "bugs"), bug))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(grade_subprocess, spec.name, path, tmp / f"r{i}.json")
                   for i, (_, path, _) in enumerate(jobs)]
        for (_, _, entry), future in zip(jobs, futures):
            data = future.result()
            checks.append(_stub_check(data) if entry is None else _bug_check(entry, data))
    return checks


def _grader_errors(data: dict[str, Any]) -> list[str]:
    return list(data.get("extra_data", {}).get("grader_errors", []))


def _reference_check(spec: assignment.Assignment, data: dict[str, Any]) -> Check:
    """The reference earns every point, and the points add up as planned."""
    score, top = float(data.get("score", 0)), _max(data)
    notes = []
    planned = spec.points
    for category, points in planned.items():
        actual = sum(t["max_score"] for t in data.get("tests", []) if category in t["tags"])
        if abs(actual - points) > 1e-9:
            notes.append(f"{category} tests are worth {actual:g}, assignment.toml plans {points:g}")
    failed = sorted(_failed(data))
    if failed:
        notes.append("failed: " + "; ".join(failed[:5]))
    notes += _grader_errors(data)[:3]
    ok = not notes and score == top == sum(planned.values())
    return Check("reference", score, top, ok, "; ".join(notes) or "full marks")


def _stub_check(data: dict[str, Any]) -> Check:
    errors = _grader_errors(data)
    score = float(data.get("score", 0))
    ok = score == 0 and not errors and data.get("_exit_code") == 0
    return Check("stub", score, _max(data), ok, "; ".join(errors[:3]) or "scores 0 without a grader error")


def _bug_check(bug: bugzoo.Bug, data: dict[str, Any]) -> Check:
    """The bug loses points (exactly its declared score, if any) and each test meant to catch it fails."""
    functions = _test_functions(data)
    failed_fns = {functions.get(n, n) for n in _failed(data)}
    missed = [t for t in bug.caught_by if t not in failed_fns]
    score, top = float(data.get("score", 0)), _max(data)
    errors = _grader_errors(data)
    wrong = bug.score is not None and abs(score - bug.score) > 1e-6
    ok = score < top and not missed and not errors and not wrong
    note = bug.reason if ok else "; ".join(
        ([f"not caught by {', '.join(missed)}"] if missed else []) + (["scores full marks"] if score >= top else [])
        + ([f"scores {score:g}, zoo.toml declares score = {bug.score:g}"] if wrong else []) + errors[:3])
    return Check(f"bug: {bug.name}", score, top, ok, note)


def _public_local(spec: assignment.Assignment) -> Check:
    """The public tests pass on the reference under plain pytest (the students' local mode)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider",
           "-c", "/dev/null", "--rootdir", str(spec.folder), str(spec.tests_dir / "public"),
           "--submission-dir", str(spec.solution_file.parent)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return Check("public tests, plain pytest", None, None, proc.returncode == 0, tail)


def _leak_check(spec: assignment.Assignment) -> Check:
    """The student zip, built as ``release`` builds it, holds no solution, hidden test, bug or reference code."""
    from . import leaks, release

    try:
        with tempfile.TemporaryDirectory(prefix=f"ag-verify-{spec.name}-zip-") as tmp:
            path = Path(tmp) / f"{spec.name}-student.zip"
            release.write_zip(path, release.student_files(spec))
            found = leaks.check_zip(spec, path)
    except AuthoringError as exc:
        return Check("leak check, student zip", None, None, False, f"cannot build it: {exc}")
    return Check("leak check, student zip", None, None, not found,
                 "; ".join(found[:3]) or "no solution, hidden-test, bug-zoo or reference text")


def _row(check: Check) -> str:
    score = f"{check.score:g} / {check.max_score:g}" if check.score is not None else ""
    width = 44
    return f"{'ok ' if check.ok else 'BAD'}  {check.submission:<{width}} {score:>13}  {check.note}"
