"""``autograder verify``: the instructor's self-check of an assignment.

Reference scores full marks; the stub scores 0 without a grader error; every bug-zoo
entry loses points and fails the tests written for it (an entry that declares its ``score``, a slow but
correct one, scores exactly that); the student template is in sync;
the public tests pass on the reference under plain ``pytest`` (local mode); the student
zip leaks nothing (``leaks``); the points add up as assignment.toml plans. Each grading
runs as its own ``autograder grade`` process, exactly as a TA would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .. import assignment, runner
from ..errors import AuthoringError
from ..results import GradingResult
from . import bugzoo, templates

__all__ = ["Check", "Verification", "verify"]


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


def _failed(result: GradingResult) -> set[str]:
    """Test display names that failed."""
    return {t.name for t in result.tests if t.status == "failed"}


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
    ref = runner.grade_subprocess(spec.name, spec.solution_file.parent, tmp / "reference.json", timeout=900)
    checks = [_reference_check(spec, ref.require())]
    jobs: list[tuple[str, Path, bugzoo.Bug | None]] = [("stub", spec.template_file.parent, None)]
    for bug in bugzoo.entries(spec):
        jobs.append((f"bug: {bug.name}", bugzoo.write(spec, bug, tmp / "bugs"), bug))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(runner.grade_subprocess, spec.name, path, tmp / f"r{i}.json", timeout=900)
                   for i, (_, path, _) in enumerate(jobs)]
        for (_, _, entry), future in zip(jobs, futures):
            run = future.result()
            checks.append(_stub_check(run.require(), run.exit_code) if entry is None
                          else _bug_check(entry, run.require()))
    return checks


def _reference_check(spec: assignment.Assignment, data: GradingResult) -> Check:
    """The reference earns every point, and the points add up as planned."""
    score, top = data.score, data.max_score
    notes = []
    planned = spec.points
    for category, points in planned.items():
        actual = sum(t.max_score for t in data.tests if category in t.tags)
        if abs(actual - points) > 1e-9:
            notes.append(f"{category} tests are worth {actual:g}, assignment.toml plans {points:g}")
    failed = sorted(_failed(data))
    if failed:
        notes.append("failed: " + "; ".join(failed[:5]))
    notes += data.grader_errors[:3]
    ok = not notes and score == top and abs(top - sum(planned.values())) < 1e-9
    return Check("reference", score, top, ok, "; ".join(notes) or "full marks")


def _stub_check(data: GradingResult, exit_code: int) -> Check:
    errors = data.grader_errors
    score = data.score
    ok = score == 0 and not errors and exit_code == 0
    return Check("stub", score, data.max_score, ok, "; ".join(errors[:3]) or "scores 0 without a grader error")


def _bug_check(bug: bugzoo.Bug, data: GradingResult) -> Check:
    """The bug loses points (exactly its declared score, if any) and each test meant to catch it fails."""
    functions = data.extra_data.test_functions
    failed_fns = {functions.get(n, n) for n in _failed(data)}
    missed = [t for t in bug.caught_by if t not in failed_fns]
    score, top = data.score, data.max_score
    errors = data.grader_errors
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
