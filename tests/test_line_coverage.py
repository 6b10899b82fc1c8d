"""``grade(..., coverage=..., only=...)``: the door ``autograder mutants`` grades through."""

from __future__ import annotations

from typing import Any

from autograder.line_coverage import LineCoverage

HANGS = "    while True:\n        pass\n"


def test_a_traced_grading_records_the_lines_each_test_ran(two: Any) -> None:
    coverage = LineCoverage()
    assert two.grade(two.reference, coverage=coverage).result.score == 3
    tests = {nodeid.rsplit("::", 1)[1]: lines for nodeid, lines in coverage.tests.items()}
    assert set(tests) == {"test_negate", "test_double", "test_negate_then_double"}
    negate, scale, zero = two.line("    return -x"), two.line("    return SCALE * x"), two.line("        return 0")
    assert negate in tests["test_negate"] and scale not in tests["test_negate"]
    assert scale in tests["test_double"] and negate not in tests["test_double"]
    assert {negate, scale} <= tests["test_negate_then_double"]
    assert zero not in set().union(*tests.values()), "a branch no test takes is never reported"
    assert two.line("SCALE = 2") in coverage.imports and negate not in coverage.imports
    assert not coverage.disturbed


def test_an_untraced_grading_reports_no_lines(two: Any) -> None:
    coverage = LineCoverage(trace=False)
    assert two.grade(two.reference, coverage=coverage).result.score == 3
    assert coverage.tests == {} and coverage.imports == set() and not coverage.disturbed


def test_only_runs_the_tests_named(two: Any) -> None:
    everything = two.grade(two.reference).result.tests
    chosen = next(t.nodeid for t in everything if t.nodeid.endswith("::test_double"))
    result = two.grade(two.reference, only=[chosen]).result
    assert [t.nodeid for t in result.tests] == [chosen] and result.score == 1


def test_a_timeout_marks_the_grading_disturbed(two: Any) -> None:
    """After a call timed out, later calls of it fail fast: which tests ran before now matters."""
    coverage = LineCoverage(trace=False)
    result = two.grade(two.reference.replace("    return -x\n", HANGS), coverage=coverage).result
    assert result.score == 1 and coverage.disturbed


def test_each_grading_in_a_process_imports_its_own_tests(two: Any, tmp_path_factory: Any) -> None:
    """Two assignments whose tests have the same module names, graded in one process: each gets its own tests."""
    assert two.grade(two.reference).result.score == 3
    other = type(two)(tmp_path_factory.mktemp("other"))
    folder = other.root / "assignments" / "two"
    (folder / "tests" / "hidden").mkdir(parents=True)
    (folder / "assignment.toml").write_text((two.root / "assignments" / "two" / "assignment.toml").read_text())
    tests = (two.root / "assignments" / "two" / "tests" / "hidden" / "test_hidden.py").read_text()
    (folder / "tests" / "hidden" / "test_hidden.py").write_text(tests.replace("== 6", "== 7"))
    assert other.grade(two.reference).result.score == 2, "the second grading ran the first one's tests"
