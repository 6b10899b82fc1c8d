"""verification's bug-zoo check: a declared score is checked exactly (slow but correct entries)."""

from __future__ import annotations

import pytest

from autograder import assignment
from autograder.authoring import bugzoo
from autograder.authoring.verification import _bug_check
from autograder.errors import AuthoringError
from autograder.results import GradingResult, from_gradescope


def results(*tests: tuple[str, float, float]) -> GradingResult:
    """A results.json with tests (function name, score, max_score)."""
    return from_gradescope({"score": sum(t[1] for t in tests), "extra_data": {"test_functions": {f"{n} doc": n for n, _, _ in tests}},
            "tests": [{"name": f"{n} doc", "score": s, "max_score": m, "status": "passed" if s == m else "failed"}
                      for n, s, m in tests]})


SLOW = bugzoo.Bug("slow", "correct but slow", ("test_chain",), (("a", "b"),), score=90.0)
GRADED = results(("test_small", 90, 90), ("test_chain", 0, 10))


def test_a_declared_score_must_be_met_exactly():
    assert _bug_check(SLOW, GRADED).ok
    losing_more = results(("test_small", 85, 90), ("test_chain", 0, 10))
    check = _bug_check(SLOW, losing_more)
    assert not check.ok and "scores 85, zoo.toml declares score = 90" in check.note


def test_without_a_declared_score_any_loss_will_do():
    plain = bugzoo.Bug("wrong", "wrong", ("test_chain",), (("a", "b"),))
    assert _bug_check(plain, results(("test_small", 85, 90), ("test_chain", 0, 10))).ok


def test_score_is_read_from_zoo_toml_and_must_be_a_number(tmp_path):
    (tmp_path / "bugzoo").mkdir()
    spec = assignment.Assignment("demo", "Demo", tmp_path, {"t": "T"}, {}, "hidden", "visible", assignment.Banned(),
                                 assignment.Limits(), {})
    entry = '[[bug]]\nname = "slow"\nreason = "r"\ncaught_by = ["test_x"]\nscore = {score}\n' \
            '[[bug.edit]]\nold = "a"\nnew = "b"\n'
    (tmp_path / "bugzoo" / "zoo.toml").write_text(entry.format(score="85.5"))
    assert bugzoo.entries(spec)[0].score == 85.5
    (tmp_path / "bugzoo" / "zoo.toml").write_text(entry.format(score='"most"'))
    with pytest.raises(AuthoringError, match="score, if given, a number"):
        bugzoo.entries(spec)


@pytest.mark.parametrize("name", assignment.names())
def test_every_assignment_has_a_slow_but_correct_entry_with_its_score(name):
    declared = [b for b in bugzoo.entries(assignment.load(name)) if b.score is not None]
    assert declared, f"{name}'s bug zoo declares no score (a slow but correct entry)"
    assert all(0 < b.score < 100 for b in declared)


def test_reference_check_takes_points_that_do_not_add_up_exactly_in_floats():
    """Ten tests of 0.1 points make 0.9999999999999999 in floats: still full marks of the planned 1 point."""
    from types import SimpleNamespace

    from autograder.authoring.verification import _reference_check
    from autograder.results import TestResult

    tests = [TestResult(f"t{i}", f"1.{i}", 0.1, 0.1, "passed", "", ["public"], "visible", "public") for i in range(10)]
    assert sum(t.max_score for t in tests) != 1.0
    check = _reference_check(SimpleNamespace(points={"public": 1.0}), GradingResult(tests, 1.0, ""))  # type: ignore[arg-type]
    assert check.ok, check.note
    tests[0].score = 0.0
    assert not _reference_check(SimpleNamespace(points={"public": 1.0}), GradingResult(tests, 1.0, "")).ok  # type: ignore[arg-type]
