"""The command line: exit codes and one-line errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO


def autograder(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.mark.parametrize("args,needle", [
    (["grade", "no_such_assignment", "."], "unknown assignment 'no_such_assignment'"),
    (["grade", "softmax_nll", "/nonexistent/sub"], "submission not found: /nonexistent/sub"),
    (["grade", "softmax_nll", ".", "--device", "tpu"], "'tpu' is not one of"),
    (["grade", "softmax_nll", ".", "--seed", "abc"], "'abc' is not a valid integer"),
    (["verify", "nope"], "unknown assignment 'nope'"),
    (["frobnicate"], "No such command 'frobnicate'"),
])
def test_usage_errors_exit_2_with_one_line(args, needle, tmp_path):
    proc = autograder(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_unreadable_zip_is_a_usage_error(tmp_path):
    bad = tmp_path / "sub.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    proc = autograder("grade", "softmax_nll", str(bad), cwd=tmp_path)
    assert proc.returncode == 2 and "not a readable zip" in proc.stderr and not (tmp_path / "results.json").exists()


def test_build_templates_check_passes_on_a_clean_checkout():
    proc = autograder("build-templates", "--check", cwd=REPO)
    assert proc.returncode == 0 and "in sync" in proc.stdout


def test_help_lists_the_commands():
    proc = autograder("--help")
    assert proc.returncode == 0
    for command in ("grade", "build-templates", "verify"):
        assert command in proc.stdout
