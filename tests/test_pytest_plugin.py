"""The pytest plugin in local mode: metadata, scoring, partial credit, authoring errors.

A throwaway assignment is written under tmp_path; pytest runs on it as a student would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TOML = """
[assignment]
name = "demo"
title = "Demo"
points = { public = 6 }
[tasks]
double = "Task 1: double"
"""
MODULE = "def double(x):\n    return 2 * x\n"
HEADER = """
import pytest
from gradescope_utils.autograder_utils.decorators import number, tags, weight, hide_errors
from autograder.compare import expect_equal
"""


def run_local(tmp_path: Path, tests: str, module: str = MODULE, *, toml: str = TOML, performance: str = "",
              extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Lay out a student folder (``performance``: tests/performance/test_speed.py) and run plain pytest in it."""
    (tmp_path / "assignment.toml").write_text(toml)
    (tmp_path / "demo.py").write_text(module)
    (tmp_path / "tests" / "public").mkdir(parents=True)
    (tmp_path / "tests" / "public" / "test_demo.py").write_text(HEADER + textwrap.dedent(tests))
    if performance:
        (tmp_path / "tests" / "performance").mkdir()
        (tmp_path / "tests" / "performance" / "test_speed.py").write_text(HEADER + textwrap.dedent(performance))
    cmd = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider",
           "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path / "tests"), "--ag-seed", "5", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})


GOOD = '''
@pytest.mark.double
@weight(2)
@number("1.1")
@tags("public")
def test_double(student):
    """double(3) is 6"""
    expect_equal(student.call("double", 3), 6, what="double(3)")

@weight(4)
@number("1.2")
@tags("public")
def test_partial(student, partial_credit):
    """three of four cases"""
    partial_credit.set(3, 4, "3 of 4 cases right")
    expect_equal(student.call("double", 1), 3, what="double(1)")
'''


def test_points_partial_credit_and_total(tmp_path):
    proc = run_local(tmp_path, GOOD)
    assert proc.returncode == 1
    assert "PASS    2.0 / 2.0   double(3) is 6" in proc.stdout
    assert "FAIL    3.0 / 4.0   three of four cases" in proc.stdout
    assert "Total: 5 / 6 points (seed 5" in proc.stdout


def test_task_markers_select_one_task(tmp_path):
    (tmp_path / "x").mkdir()
    proc = run_local(tmp_path / "x", GOOD)
    assert proc.returncode == 1
    cmd_proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider", "-c", "/dev/null",
         "--strict-markers", "--rootdir", str(tmp_path / "x"), str(tmp_path / "x" / "tests"), "-m", "double"],
        capture_output=True, text=True, cwd=tmp_path / "x", timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert cmd_proc.returncode == 0 and "1 passed, 1 deselected" in cmd_proc.stdout


@pytest.mark.parametrize("decorators,problem", [
    ('@number("1")\n@tags("public")', "needs @weight"),
    ('@weight(1)\n@tags("extra")', "must carry @tags('public'"),
    ('@weight(1)\n@tags("public", "hidden")', "must not carry the tag(s) ['hidden']"),
])
def test_authoring_errors_name_the_test(tmp_path, decorators, problem):
    proc = run_local(tmp_path, f"\n{decorators}\ndef test_x(student):\n    pass\n")
    assert proc.returncode == 4
    assert "test_demo.py::test_x" in proc.stderr and problem in proc.stderr


def test_banned_call_fails_only_that_function(tmp_path):
    module = "def double(x):\n    return eval('2 * x')\n"
    proc = run_local(tmp_path, GOOD, module=module)
    assert "double uses eval (line 2), which this assignment does not allow" in proc.stdout


def test_hide_errors_replaces_the_message(tmp_path):
    tests = '''
@weight(1)
@tags("public")
@hide_errors("Something about double is off.")
def test_hidden_message(student):
    """double(2) is 5"""
    expect_equal(student.call("double", 2), 5, what="double(2)")
'''
    proc = run_local(tmp_path, tests)
    assert proc.returncode == 1 and "Total: 0 / 1 points" in proc.stdout
    summary = proc.stdout.split("points =")[1]
    assert "Something about double is off." in summary and "got 4" not in summary



# --------------------------------------------------------------------------- what a local run prints

def _failures(stdout: str) -> str:
    """The FAILURES section of a pytest run."""
    return stdout.split("= FAILURES =")[1].split("= points =")[0].rstrip("= \n")


RAISES = "def double(x):\n    raise ValueError('x must be even')\n"


def test_a_failure_is_one_short_block_without_grader_frames(tmp_path):
    proc = run_local(tmp_path, GOOD, module=RAISES)
    block = _failures(proc.stdout).split("_ test_double _")[1].split("\n_")[0]
    assert block.strip("_\n").splitlines() == [
        "Checked: double(3) is 6",
        "double(3) raised ValueError: x must be even (demo.py line 2: `raise ValueError('x must be even')`)",
        "Hint: read the error and the line of your file it points to.",
    ]
    assert "autograder/" not in proc.stdout and "Traceback" not in proc.stdout
    assert ("Each failure above shows what was checked, what went wrong and a hint; "
            "`pytest --tb=long` shows full tracebacks.") in proc.stdout


def test_tb_long_still_shows_the_whole_traceback(tmp_path):
    proc = run_local(tmp_path, GOOD, module=RAISES, extra=("--tb=long",))
    assert "autograder/student.py" in _failures(proc.stdout) and "Checked: " not in proc.stdout
    assert "Each failure above" not in proc.stdout


def test_partial_credit_shows_in_the_block(tmp_path):
    proc = run_local(tmp_path, GOOD)
    block = _failures(proc.stdout).split("_ test_partial _")[1]
    assert block.strip("_\n").splitlines() == [
        "Checked: three of four cases", "double(1): got 2, expected 3",
        "Partial credit: 3 of 4 points. 3 of 4 cases right"]


TWO_TASKS = TOML + 'triple = "Task 2: triple"\n'
LONG_HINT = ("multiply by two, and mind the sign of negative inputs: double(-3) is -6, not 6; this hint is long "
             "on purpose, so that the table has to wrap it over several lines instead of cutting it.")
ORDER = f'''
@pytest.mark.triple
@weight(1)
@number("2.1")
@tags("public")
def test_t(student):
    """task 2 first in the file"""

@pytest.mark.double
@weight(1)
@number("1.10")
@tags("public")
def test_d10(student):
    """test 1.10"""

@pytest.mark.double
@weight(1)
@number("1.2")
@tags("public")
def test_d2(student):
    """test 1.2"""
    expect_equal(student.call("double", -3), 6, what="double(-3)", hint="{LONG_HINT}")
'''


def test_points_table_follows_tasks_and_numbers_and_wraps_hints(tmp_path):
    proc = run_local(tmp_path, ORDER, toml=TWO_TASKS)
    table = proc.stdout.split("= points =")[1].split("short test summary")[0].splitlines()
    rows = [line for line in table if line.startswith(("Task ", "PASS", "FAIL"))]
    assert rows == ["Task 1: double", "FAIL    0.0 / 1.0   test 1.2", "PASS    1.0 / 1.0   test 1.10",
                    "Task 2: triple", "PASS    1.0 / 1.0   task 2 first in the file"]
    start = next(i for i, line in enumerate(table) if line.startswith("        Hint: "))
    wrapped = [table[start]] + [line for line in table[start + 1:] if line.startswith("          ")]
    assert len(wrapped) > 1 and all(len(line) <= 80 for line in wrapped)
    assert " ".join(line.strip() for line in wrapped) == f"Hint: {LONG_HINT}"


LOOP = "def double(x):\n    while True:\n        x += 1\n"


def test_an_endless_loop_fails_at_the_assignments_time_limit(tmp_path):
    toml = TOML + "[limits]\ncall_seconds = 1\n"
    proc = run_local(tmp_path, GOOD, module=LOOP, toml=toml)
    failures = _failures(proc.stdout)
    assert "double(3): did not finish within the time limit (1 s per call, as when grading) and was stopped." \
        in failures
    assert ("double was not run again: an earlier call did not finish within the time limit (double(3))"
            in failures)
    assert "Total: 3 / 6 points" in proc.stdout  # test_partial sets its 3 of 4 points before calling


SPEED = '''
@pytest.mark.double
@weight(3)
@number("3.1")
@tags("performance")
def test_speed(student, extra_data):
    """double is fast"""
    from autograder import performance
    timing = performance.Timing([0.013] * 5, [0.01] * 5, 100, 0.0, "cpu")
    performance.judge(timing, 4.0, "double", record=extra_data)
'''


def test_local_performance_check_is_an_estimate_and_shows_the_ratio(tmp_path):
    proc = run_local(tmp_path, GOOD, performance=SPEED)
    table = proc.stdout.split("= points =")[1].splitlines()
    heading = table.index("Performance tests: an estimate on this machine (Gradescope times them again)")
    assert table[heading + 1] == "PASS    3.0 / 3.0   double is fast"
    measured = " ".join(line.strip() for line in table[heading + 2:heading + 4])
    assert measured == ("Measured: your code took 1.3x as long as PyTorch's built-in (budget: 4x; median of 5 "
                        "rounds of 100 calls on cpu).")
    assert table.index("Task 1: double") < heading


def test_a_passing_performance_test_shows_its_ratio_when_grading(grade, reference_source):
    graded = grade(reference_source("softmax_nll"), "softmax_nll", select="test_cross_entropy_speed")
    [result] = graded.test("test_cross_entropy_speed")
    v = graded.extra["tests"][result["name"]]
    assert result["status"] == "passed" and v["passed"]
    assert result["output"] == (
        f"Passed: {result['name']}\nMeasured: your code took {v['ratio']:.1f}x as long as PyTorch's built-in "
        f"(budget: {v['budget']:g}x; median of {v['rounds']} rounds of {v['calls_per_round']} calls on cpu).")
