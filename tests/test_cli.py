"""The command line: exit codes and one-line errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from autograder import cli, sandbox
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


# --------------------------------------------------------------------------- help texts (in process, click's runner)

EXIT_CODES_GRADE = """  Exit codes:
    0    grading completed, whatever the score
    1    the grader itself failed (results.json is still written, and says so)
    2    usage error: a bad argument, named in one line
    130  interrupted
"""


def help_of(*command: str) -> str:
    result = CliRunner().invoke(cli.main, [*command, "--help"], prog_name="autograder", terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_grade_help_lists_the_exit_codes():
    assert help_of("grade").endswith(EXIT_CODES_GRADE)


def test_grade_batch_help_lists_the_exit_codes():
    assert help_of("grade-batch").endswith("""  Exit codes:
    0    every submission was graded (or skipped as unchanged), whatever the scores
    1    some submissions ended in a grader error (listed in the gradebook; rerun to retry them)
    2    usage error: a bad argument, named in one line
    130  interrupted
""")


def test_main_help_names_the_exit_codes():
    assert ("Exit codes: 0 done, 1 the grader failed or a check found a problem, 2 usage error, 130 interrupted. "
            "Run `autograder COMMAND --help` for a command's options.") in help_of()


@pytest.mark.parametrize("command", ["grade", "grade-batch"])
def test_device_and_isolation_are_described_alike(command):
    text = " ".join(help_of(command).split())
    assert ("--device [auto|cpu|cuda] where the student's code runs: auto = cuda when a GPU is present, else cpu "
            "[default: auto]") in text
    assert ("--isolation [auto|bubblewrap|user|plain] sandbox for the student's code: auto = the best available "
            "(bubblewrap, else an unprivileged user when run as root, else plain with a warning in results.json) "
            "[default: auto]") in text


def test_isolation_choices_are_the_sandbox_levels():
    assert list(cli.ISOLATION.choices) == ["auto", *sandbox.ISOLATION_LEVELS]


@pytest.mark.parametrize("command", [["grade", "softmax_nll", "."], ["grade-batch", "softmax_nll", ".", "--out", "o"]])
def test_isolation_takes_only_the_listed_levels(command, tmp_path):
    result = CliRunner().invoke(cli.main, [*command, "--isolation", "bubblewarp"], prog_name="autograder")
    assert result.exit_code == 2
    assert result.stderr == ("autograder: error: Invalid value for '--isolation': 'bubblewarp' is not one of "
                             "'auto', 'bubblewrap', 'user', 'plain'.\n")
