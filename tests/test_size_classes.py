"""Size classes (issue 21): tests run small, scale, performance; a timeout's refusal reaches only as far up.

The student's side is a fake transport that counts requests and "times out" on the inputs a
test says it hangs on, so every check is exact and takes no time.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from autograder import static_checks
from autograder.errors import CheckFailed, WorkerCrash
from autograder.student import SIZE_CLASSES, Student, running_test
from autograder.worker import protocol
from autograder.worker.protocol import Reply


class HangsFrom:
    """A transport whose function ``fn(n)`` returns n, and hangs (times out) for n >= ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.calls: list[int] = []

    def exchange(self, request: dict[str, Any], blobs: list[bytes], timeout: float | None = None) -> Reply:
        n = int(protocol.decode(request["args"], blobs)[0])
        self.calls.append(n)
        if n >= self.limit:
            raise WorkerCrash("Your code did not finish within the time limit (10 s) and was stopped.",
                              "look for an infinite loop.", timed_out=True)
        tree, out = protocol.encode(n)
        return Reply({"ok": True, "value": tree}, out, 0.0, 0.0)

    def close(self) -> None:
        pass


def run(student: Student, size: str, n: int) -> str:
    """One test of this size class calling fn(n): 'ok', or the failure's message."""
    with running_test(size, f"fn on {n} items"):
        try:
            assert student.call("fn", n) == n
            return "ok"
        except CheckFailed as exc:
            return str(exc)


# (size class, input) of the tests in the order they run: small first, then scale, then performance
SCHEDULE = [("small", 3), ("small", 10), ("scale", 5000), ("scale", 6000), ("performance", 100_000)]


def test_a_hang_on_a_small_input_is_called_once_then_refused_everywhere():
    transport = HangsFrom(limit=0)
    student = Student(transport, static_checks.Report(), "m.py")
    got = [run(student, size, n) for size, n in SCHEDULE]
    assert transport.calls == [3]
    assert "did not finish within the time limit" in got[0]
    assert all("fn was not run again: an earlier call did not finish within the time limit (fn(3))" in g
               for g in got[1:])
    # an unordered later small test is refused too: a small strike reaches every class
    assert "was not run again" in run(student, "small", 1) and transport.calls == [3]


def test_a_hang_only_on_a_scale_input_keeps_every_small_test():
    transport = HangsFrom(limit=1000)
    student = Student(transport, static_checks.Report(), "m.py")
    got = [run(student, size, n) for size, n in SCHEDULE]
    assert got[:2] == ["ok", "ok"] and "did not finish within the time limit" in got[2]
    assert transport.calls == [3, 10, 5000]
    refusal = ('not run: fn did not finish within the time limit in the earlier test "fn on 5000 items", so it is '
               "not run again on inputs that large; every test on smaller inputs ran it as usual")
    assert got[3].startswith(refusal) and got[4].startswith(refusal)
    # a small test after the strike (a file run out of order) still calls it
    assert run(student, "small", 7) == "ok" and transport.calls == [3, 10, 5000, 7]


def test_a_later_small_hang_widens_the_refusal():
    transport = HangsFrom(limit=7)
    student = Student(transport, static_checks.Report(), "m.py")
    assert "did not finish" in run(student, "scale", 5000)
    assert "did not finish" in run(student, "small", 8)
    assert "fn was not run again" in run(student, "small", 3) and transport.calls == [5000, 8]


def test_calls_outside_any_test_count_as_small():
    transport = HangsFrom(limit=1000)
    student = Student(transport, static_checks.Report(), "m.py")
    with running_test("scale", "big"), pytest.raises(CheckFailed):
        student.call("fn", 5000)
    with pytest.raises(CheckFailed, match="not run: fn did not finish"):
        with running_test("performance", "timed"):
            student.call("fn", 1)
    assert student.call("fn", 2) == 2


def test_size_classes_are_in_running_order():
    assert SIZE_CLASSES == ("small", "scale", "performance")


# --------------------------------------------------------------------------- order of a real collection

TOML = """
[assignment]
name = "demo"
[tasks]
fn = "Task 1: fn"
"""


def collected(tmp_path: Path, files: dict[str, str], *extra: str) -> list[str]:
    """Test ids in the order pytest would run them (collect-only) in a student folder holding ``files``."""
    (tmp_path / "assignment.toml").write_text(TOML)
    (tmp_path / "demo.py").write_text("def fn(n):\n    return n\n")
    for name, body in files.items():
        path = tmp_path / "tests" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("from autograder.testing import graded\n" + textwrap.dedent(body))
    cmd = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider", "-c", "/dev/null",
           "--rootdir", str(tmp_path), str(tmp_path / "tests"), "--collect-only", "-q", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line.split("::")[1] for line in proc.stdout.splitlines() if "::" in line]


def test_tests_run_small_then_scale_then_performance_whatever_the_file_order(tmp_path):
    files = {
        "hidden/test_h.py": '''
            @graded("1.1", points=1, size="scale")
            def test_h_chain():
                pass

            @graded("1.2", points=1)
            def test_h_diamond():
                pass
        ''',
        "performance/test_p.py": '''
            @graded("2.1", points=1, task="fn")
            def test_p_speed():
                pass
        ''',
        "public/test_q.py": '''
            @graded("1.3", points=1, size="scale")
            def test_q_chain():
                pass

            @graded("1.4", points=1)
            def test_q_small():
                pass
        ''',
    }
    assert collected(tmp_path, files) == ["test_h_diamond", "test_q_small", "test_h_chain", "test_q_chain",
                                          "test_p_speed"]

