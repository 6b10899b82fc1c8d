"""``grade(..., coverage=..., only=...)``: the door ``autograder mutants`` grades through."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import grading
from autograder.line_coverage import LineCoverage

REFERENCE = '''"""Two tasks."""

SCALE = 2


def negate(x):
    return -x


def double(x):
    if x == 0:
        return 0
    return SCALE * x
'''
HANGS = REFERENCE.replace("    return -x\n", "    while True:\n        pass\n")
TESTS = '''from autograder.testing import graded


@graded("1.1", 1)
def test_negate(student):
    assert student.call("negate", 3) == -3, "negate(3) is wrong"


@graded("2.1", 1)
def test_double(student):
    assert student.call("double", 3) == 6, "double(3) is wrong"


@graded("2.2", 1)
def test_negate_then_double(student):
    assert student.call("double", student.call("negate", 2)) == -4, "double(negate(2)) is wrong"
'''
TOML = '''[assignment]
name = "two"
title = "Two"
points = { hidden = 3 }
preload = []

[tasks]
negate = "Task 1: negate"
double = "Task 2: double"

[limits]
call_seconds = 2
'''


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An assignment ``two`` under ``tmp_path`` (numpy-free, torch-free: quick to grade)."""
    folder = tmp_path / "assignments" / "two"
    (folder / "tests" / "hidden").mkdir(parents=True)
    (folder / "assignment.toml").write_text(TOML, encoding="utf-8")
    (folder / "tests" / "hidden" / "test_hidden.py").write_text(TESTS, encoding="utf-8")
    return tmp_path


def _grade(root: Path, source: str, **kwargs: object) -> grading.Grading:
    """Grade ``source`` as two.py."""
    path = root / "submitted" / "two.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return grading.grade("two", path, root / "results.json", device="cpu", seed=1, root=root,
                         **kwargs)  # type: ignore[arg-type]


def _line(text: str) -> int:
    """The line number of ``text`` in the reference."""
    return REFERENCE.splitlines().index(text) + 1


def test_a_traced_grading_records_the_lines_each_test_ran(root: Path) -> None:
    coverage = LineCoverage()
    result = _grade(root, REFERENCE, coverage=coverage).result
    assert result.score == 3
    tests = {nodeid.rsplit("::", 1)[1]: lines for nodeid, lines in coverage.tests.items()}
    assert set(tests) == {"test_negate", "test_double", "test_negate_then_double"}
    negate, scale, zero = _line("    return -x"), _line("    return SCALE * x"), _line("        return 0")
    assert negate in tests["test_negate"] and scale not in tests["test_negate"]
    assert scale in tests["test_double"] and negate not in tests["test_double"]
    assert {negate, scale} <= tests["test_negate_then_double"]
    assert zero not in set().union(*tests.values()), "a branch no test takes is never reported"
    assert _line("SCALE = 2") in coverage.imports and negate not in coverage.imports
    assert not coverage.disturbed


def test_an_untraced_grading_reports_no_lines(root: Path) -> None:
    coverage = LineCoverage(trace=False)
    assert _grade(root, REFERENCE, coverage=coverage).result.score == 3
    assert coverage.tests == {} and coverage.imports == set() and not coverage.disturbed


def test_only_runs_the_tests_named(root: Path) -> None:
    everything = _grade(root, REFERENCE).result.tests
    chosen = next(t.nodeid for t in everything if t.nodeid.endswith("::test_double"))
    result = _grade(root, REFERENCE, only=[chosen]).result
    assert [t.nodeid for t in result.tests] == [chosen] and result.score == 1


def test_a_timeout_marks_the_grading_disturbed(root: Path) -> None:
    """After a call timed out, later calls of it fail fast: which tests ran before now matters."""
    coverage = LineCoverage(trace=False)
    result = _grade(root, HANGS, coverage=coverage).result
    assert result.score == 1 and coverage.disturbed
