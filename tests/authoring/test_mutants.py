"""``autograder mutants``: which mutants are made, how they are sampled and counted, and end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import assignment
from autograder.authoring import mutants, mutants_report, templates
from autograder.errors import AuthoringError

REPO = Path(__file__).resolve().parents[2]
CI_SEED = 1
"""The fixed sample CI grades of each assignment (`--max 2 --seed 1`)."""

TINY_REFERENCE = '''"""A one-task assignment for the mutants tests."""


# Task 1: negate
def negate(x):
    """-x."""
    ### BEGIN SOLUTION
    return -x
    ### END SOLUTION
'''
TINY_TESTS = '''from autograder.testing import graded


@graded("1.1", 1)
def test_negate_three(student):
    assert student.call("negate", 3) == -3, "negate(3) is wrong"


@graded("1.2", 1)
def test_negate_zero(student):
    assert student.call("negate", 0) == 0, "negate(0) is wrong"
'''
TINY_TOML = '''[assignment]
name = "tiny"
title = "Tiny"
points = { hidden = 2 }
preload = []

[tasks]
negate = "Task 1: negate"
'''


def _tiny(root: Path, tests: str = TINY_TESTS) -> Path:
    """A synthetic assignment ``tiny`` under ``root`` (assignments/ and solutions/), torch-free and fast to grade."""
    folder = root / "assignments" / "tiny"
    (folder / "tests" / "hidden").mkdir(parents=True)
    (folder / "assignment.toml").write_text(TINY_TOML, encoding="utf-8")
    (folder / "tests" / "hidden" / "test_hidden.py").write_text(tests, encoding="utf-8")
    (root / "solutions" / "tiny").mkdir(parents=True)
    (root / "solutions" / "tiny" / "tiny.py").write_text(TINY_REFERENCE, encoding="utf-8")
    return root


# --------------------------------------------------------------------------- without grading
@pytest.fixture(scope="module")
def softmax_mutants() -> tuple[str, list[mutants.Mutant]]:
    spec = assignment.load("softmax_nll")
    source = mutants.reference_file(spec).read_text(encoding="utf-8")
    return source, mutants.enumerate_mutants(source, "softmax_nll")


def test_mutants_only_in_solution_regions(softmax_mutants: tuple[str, list[mutants.Mutant]]) -> None:
    """Every mutant lies inside a ### BEGIN/END SOLUTION region; its task is that region's."""
    source, found = softmax_mutants
    lines = source.splitlines(keepends=True)
    regions = templates.solution_regions(lines, "softmax_nll")
    assert len(found) > 100
    for m in found:
        assert any(b < m.line - 1 < e for b, e in regions), m
    assert {m.task for m in found} == set(assignment.load("softmax_nll").tasks)
    assert any(m.operator.startswith("dl/") for m in found) and any(m.operator.startswith("core/") for m in found)


def test_ids_are_unique_and_stable(softmax_mutants: tuple[str, list[mutants.Mutant]]) -> None:
    """The same reference gives the same ids; an edit outside a mutant's line keeps its id."""
    source, found = softmax_mutants
    assert len({m.id for m in found}) == len(found)
    assert mutants.enumerate_mutants(source, "x") == found
    tail_edited = source + "\n\n# a comment added at the end\n"
    assert {m.id for m in mutants.enumerate_mutants(tail_edited, "x")} == {m.id for m in found}


@settings(max_examples=30, deadline=None)
@given(count=st.integers(min_value=1, max_value=60), seed=st.integers(min_value=0, max_value=2**31))
def test_sample_is_deterministic_and_spread(softmax_mutants: tuple[str, list[mutants.Mutant]], count: int,
                                            seed: int) -> None:
    """--max N --seed S: N distinct mutants, the same for the same seed, one per operator family before any repeats."""
    _, found = softmax_mutants
    picked = mutants.sample(found, count, seed)
    assert picked == mutants.sample(found, count, seed)
    assert len(picked) == len({m.id for m in picked}) == count
    families = {mutants.family(m.operator) for m in found}
    assert len({mutants.family(m.operator) for m in picked}) == min(count, len(families))


@given(statuses=st.lists(st.sampled_from(["killed", "survived", "equivalent", "error"]), max_size=40))
def test_kill_rate_counts_neither_equivalent_nor_errors(statuses: list[str]) -> None:
    """kill_rate = killed / (total - equivalent - errors); None when nothing was scored."""
    entries = [{"status": s} for s in statuses]
    data = mutants.summarize("a", 1, entries)
    scored = len(statuses) - statuses.count("equivalent") - statuses.count("error")
    assert data["total"] == len(statuses) and data["errors"] == statuses.count("error")
    assert data["kill_rate"] == (round(statuses.count("killed") / scored, 4) if scored else None)


def test_equivalents_need_a_reason(tmp_path: Path) -> None:
    """mutants.toml entries are id + reason; one without a reason is an authoring error that names it."""
    _tiny(tmp_path)
    spec = assignment.load("tiny", tmp_path)
    (spec.folder / "mutants.toml").write_text('[[equivalent]]\nid = "abc"\nreason = "same on ints"\n',
                                              encoding="utf-8")
    assert mutants.equivalents(spec) == {"abc": "same on ints"}
    (spec.folder / "mutants.toml").write_text('[[equivalent]]\nid = "abc"\n', encoding="utf-8")
    with pytest.raises(AuthoringError, match="entry 1 needs an id and a reason"):
        mutants.equivalents(spec)


def test_report_puts_the_worst_task_first() -> None:
    """The page lists tasks by kill rate, lowest first, and shows each survivor's diff."""
    entries = [
        {"id": "a1", "operator": "core/X", "task": "good", "line": 1, "diff": "-x\n+y", "status": "killed"},
        {"id": "b1", "operator": "dl/Y", "task": "weak", "line": 2, "diff": "-keep\n+drop", "status": "survived"},
        {"id": "b2", "operator": "dl/Y", "task": "weak", "line": 3, "diff": "", "status": "killed"},
    ]
    page = mutants_report.render("T", mutants.summarize("t", 0, entries))
    assert page.index("<td>weak</td>") < page.index("<td>good</td>")
    assert "+drop" in page and "66.7%" in page
    assert [name for name, _, _ in mutants_report.by(entries, "task")] == ["weak", "good"]


def test_bad_arguments_are_usage_errors() -> None:
    """--max 0 and an unknown assignment: exit 2 with one line naming the problem."""
    cli = [sys.executable, "-m", "autograder", "mutants"]
    bad = subprocess.run([*cli, "softmax_nll", "--max", "0", "--out", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--max 0" in bad.stderr
    unknown = subprocess.run([*cli, "nope", "--out", "x"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown assignment 'nope'" in unknown.stderr


# --------------------------------------------------------------------------- graded
RUN = """import json, sys
from pathlib import Path
from autograder.authoring import mutants
r = mutants.run("tiny", Path(sys.argv[1]), seed=0, workers=1, root=Path(sys.argv[2]))
print(json.dumps({"total": r.total, "errors": r.errors, "kill_rate": r.kill_rate, "graded": r.graded,
                  "survivors": [s["diff"] for s in r.survivors]}))
"""


def _run_tiny(out: Path, root: Path) -> dict[str, object]:
    """mutants.run on the tiny assignment, in its own process (a Dask cluster warns into pytest otherwise)."""
    done = subprocess.run([sys.executable, "-c", RUN, str(out), str(root)], capture_output=True, text=True,
                          cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.slow
def test_a_weakened_hidden_test_lowers_the_kill_rate(tmp_path: Path) -> None:
    """Removing one assertion (negate(3) == -3) lets mutants survive; a rerun regrades nothing."""
    full = _run_tiny(tmp_path / "full", _tiny(tmp_path / "a"))
    weakened_tests = TINY_TESTS.replace('    assert student.call("negate", 3) == -3, "negate(3) is wrong"\n',
                                        '    student.call("negate", 3)\n')
    assert weakened_tests != TINY_TESTS
    weak = _run_tiny(tmp_path / "weak", _tiny(tmp_path / "b", weakened_tests))
    assert full["total"] == weak["total"] and full["errors"] == weak["errors"] == 0
    assert int(full["total"]) >= 3 and full["kill_rate"] == 1.0  # type: ignore[call-overload]
    assert weak["kill_rate"] is not None and weak["kill_rate"] < full["kill_rate"]  # type: ignore[operator]
    survivors = {d.splitlines()[-2] for d in weak["survivors"]}  # type: ignore[attr-defined]
    assert survivors & {"+    return +x", "+    return x"}
    again = _run_tiny(tmp_path / "full", tmp_path / "a")
    assert again["graded"] == 0 and again["kill_rate"] == full["kill_rate"]


@pytest.mark.slow
def test_a_reference_without_full_marks_stops_the_run(tmp_path: Path) -> None:
    """Mutants are judged against full marks: a reference that fails a test is an authoring error, not a kill rate."""
    root = _tiny(tmp_path / "a", TINY_TESTS.replace("== -3", "== 3"))
    done = subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "out"), str(root)], capture_output=True,
                          text=True, cwd=REPO, timeout=600)
    assert done.returncode != 0 and "the reference scores 1 of 2" in done.stderr
    assert not (tmp_path / "out" / "mutants.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", assignment.names())
def test_fixed_sample_per_assignment(name: str, tmp_path: Path) -> None:
    """`autograder mutants <a> --max 2 --seed 1` runs and writes mutants.json with the issue's fields."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "mutants", name, "--max", "2", "--seed", str(CI_SEED),
                           "--workers", "1", "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads((out / "mutants.json").read_text(encoding="utf-8"))
    assert set(data) == {"assignment", "seed", "total", "killed", "survived", "equivalent", "errors", "kill_rate",
                         "mutants"}
    assert data["total"] == 2 and data["errors"] == 0
    for m in data["mutants"]:
        assert {"id", "operator", "task", "line", "diff", "status", "score"} <= set(m)
        assert m["status"] in ("killed", "survived", "equivalent")
    assert (out / "mutants.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    graded = [m["id"] for m in data["mutants"] if m["status"] != "equivalent"]
    for mutant in graded:
        _same_score_as_autograder_grade(name, out, mutant, tmp_path)


def _same_score_as_autograder_grade(name: str, out: Path, mutant: str, tmp_path: Path) -> None:
    """A mutant's grading (in process, with only the tests that reach it and the reference's results for the
    rest) scores exactly as `autograder grade` on the same file and seed, test by test."""
    folder = out / "mutants" / mutant
    results = tmp_path / "grade.json"
    subprocess.run([sys.executable, "-m", "autograder", "grade", name, str(folder / f"{name}.py"), "--seed",
                    str(CI_SEED), "--device", "cpu", "--select", mutants.NOT_PERFORMANCE, "--results", str(results)],
                   capture_output=True, text=True, cwd=REPO, check=True)
    ours = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    theirs = json.loads(results.read_text(encoding="utf-8"))
    assert ours["score"] == theirs["score"]
    assert [(t["number"], t["score"]) for t in ours["tests"]] == [(t["number"], t["score"]) for t in theirs["tests"]]
