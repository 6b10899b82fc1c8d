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


def run_local(tmp_path: Path, tests: str, module: str = MODULE) -> subprocess.CompletedProcess:
    """Lay out a student folder and run plain pytest in it."""
    (tmp_path / "assignment.toml").write_text(TOML)
    (tmp_path / "demo.py").write_text(module)
    (tmp_path / "tests" / "public").mkdir(parents=True)
    (tmp_path / "tests" / "public" / "test_demo.py").write_text(HEADER + textwrap.dedent(tests))
    cmd = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider",
           "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path / "tests"), "--ag-seed", "5"]
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
