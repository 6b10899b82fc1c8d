"""Every assignment, end to end: reference 100, stub 0, each bug caught, public tests local.

Bug-zoo entries are graded only against the tests meant to catch them (--select), which
keeps the suite fast; `autograder verify` grades each entry in full.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from autograder import assignment
from autograder.authoring import bugzoo, stability
from conftest import REPO

pytestmark = pytest.mark.slow
NAMES = assignment.names()
BUGS = [pytest.param(name, bug, id=f"{name}-{bug.name}") for name in NAMES for bug in bugzoo.entries(assignment.load(name))]


@pytest.mark.parametrize("name", NAMES)
def test_reference_scores_full_marks(grade, name):
    spec = assignment.load(name)
    graded = grade(spec.solution_file.parent, name)
    failed = [t["name"] for t in graded.data["tests"] if t["status"] != "passed"]
    assert graded.exit_code == 0 and not failed and "grader_errors" not in graded.extra
    assert graded.score == 100 == sum(spec.points.values())
    for category, points in spec.points.items():
        planned = sum(t["max_score"] for t in graded.data["tests"] if category in t["tags"])
        assert math.isclose(planned, points, rel_tol=0, abs_tol=1e-9), (category, planned)  # float weights
    assert all(sum(c in t["tags"] for c in ("public", "hidden", "performance")) == 1 for t in graded.data["tests"])
    perf = graded.extra["tests"]
    speeds = [v for v in perf.values() if "ratio" in v]  # speed tests: the reference keeps a 2x margin (P2)
    assert all(v["ratio"] * stability.MARGIN <= v["budget"] for v in speeds), perf
    assert all(v["passed"] for v in perf.values() if "exponent" in v), perf  # scaling tests (P4)


@pytest.mark.parametrize("name", NAMES)
def test_stub_scores_zero_without_a_grader_error(grade, name):
    graded = grade(assignment.load(name).template_file.parent, name)
    assert graded.exit_code == 0 and graded.score == 0 and "grader_errors" not in graded.extra
    # every test fails by reaching a stub, and says which task it is
    assert all(f"{name} task " in t["output"] and ("stub" in t["output"] or "NotImplementedError" in t["output"])
               for t in graded.data["tests"]), [t["output"] for t in graded.data["tests"] if "stub" not in t["output"]]


@pytest.mark.parametrize("name,bug", BUGS)
def test_bug_is_caught_by_its_tests(grade, name, bug):
    spec = assignment.load(name)
    # an entry with a declared score (slow but correct) is graded whole: it must lose exactly that much
    select = None if bug.score is not None else " or ".join(bug.caught_by)
    graded = grade(bugzoo.materialize(spec, bug), name, select=select)
    assert graded.exit_code == 0 and "grader_errors" not in graded.extra
    for test in bug.caught_by:
        assert not graded.passed(test), f"{bug.name} ({bug.reason}) was not caught by {test}"
    if bug.score is not None:
        assert graded.score == pytest.approx(bug.score), f"{bug.name} scores {graded.score}, declares {bug.score}"


@pytest.mark.parametrize("name", NAMES)
def test_public_tests_run_under_plain_pytest(name, tmp_path):
    spec = assignment.load(name)

    def run(folder):
        cmd = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider",
               "-c", "/dev/null", "--rootdir", str(spec.folder), str(spec.tests_dir / "public"),
               "--submission-dir", str(folder)]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600,
                              env={"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})

    ok, stub = run(spec.solution_file.parent), run(spec.template_file.parent)
    assert ok.returncode == 0, ok.stdout[-3000:]
    assert f"Total: {spec.points['public']:g} / {spec.points['public']:g} points" in ok.stdout
    assert stub.returncode == 1 and "Total: 0 /" in stub.stdout and "NotImplementedError" in stub.stdout
    assert not list(REPO.glob("**/.pytest_cache"))


@pytest.mark.parametrize("name", NAMES)
def test_same_submission_same_correctness_score_under_any_seed(grade, name):
    spec = assignment.load(name)
    bugs = bugzoo.entries(spec)
    if not bugs:
        pytest.skip(f"{name} has no bug zoo")
    source = bugzoo.materialize(spec, bugs[0])
    scores = []
    for seed in (1, 2):
        graded = grade(source, name, seed=seed, select="not performance")
        assert graded.extra["seed"] == seed
        scores.append(graded.score)
    assert scores[0] == scores[1] < 100
