"""grading: the instructor's isolation warning says why each better level was not used, and how to get it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from autograder import assignment, grading, sandbox, timeline, user_slots

RISK = ("WARNING: graded without isolation (plain subprocess): the student's code could read every file this user "
        "can read, the hidden tests and the reference solution included.")


@pytest.fixture
def spec() -> assignment.Assignment:
    return assignment.load("softmax_nll")


@pytest.mark.parametrize("bwrap,root,bubblewrap_part,user_part", [
    (None, True,
     "Bubblewrap was not used: bwrap is not installed (install the bubblewrap package).",
     "The unprivileged-user level was not used: PROBLEM; to get it, install the grader into a Python every user "
     "can run: the system's python3, or a virtual environment whose folders are all searchable by others "
     "(chmod o+x on each parent folder)."),
    ("/usr/bin/bwrap", False,
     "Bubblewrap was not used: bwrap is installed but cannot create namespaces here (allow unprivileged user "
     "namespaces, or run outside a container that forbids them).",
     "The unprivileged-user level was not used: PROBLEM; to get it, run the grader as root (as Gradescope does)."),
], ids=["root_without_bwrap", "not_root_bwrap_blocked"])
def test_plain_warning_gives_the_real_reasons(monkeypatch: pytest.MonkeyPatch, spec: assignment.Assignment,
                                              bwrap: str | None, root: bool, bubblewrap_part: str,
                                              user_part: str) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: bwrap if name == "bwrap" else None)
    monkeypatch.setattr(os, "geteuid", lambda: 0 if root else 1000)
    monkeypatch.setattr(user_slots, "user_isolation_problem", lambda python: "PROBLEM")
    assert grading.isolation_warning(spec, "plain") == f"{RISK} {bubblewrap_part} {user_part}"


@pytest.mark.parametrize("best", ["bubblewrap", "user"])
def test_plain_warning_when_plain_was_asked_for_names_the_better_level(monkeypatch: pytest.MonkeyPatch,
                                                                       spec: assignment.Assignment, best: str) -> None:
    monkeypatch.setattr(sandbox, "choose_isolation", lambda requested: best)
    assert grading.isolation_warning(spec, "plain", "plain") == (
        f"{RISK} --isolation plain asked for this; --isolation auto would use the {best} level here.")


def test_plain_warning_when_plain_was_asked_for_and_nothing_better_exists(monkeypatch: pytest.MonkeyPatch,
                                                                          spec: assignment.Assignment) -> None:
    monkeypatch.setattr(sandbox, "choose_isolation", lambda requested: "plain")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(user_slots, "user_isolation_problem", lambda python: "PROBLEM")
    warning = grading.isolation_warning(spec, "plain", "plain")
    assert warning is not None and warning.startswith(
        f"{RISK} Bubblewrap was not used: bwrap is not installed (install the bubblewrap package). The "
        "unprivileged-user level was not used: PROBLEM; to get it, ")


def test_no_warning_for_bubblewrap(spec: assignment.Assignment) -> None:
    assert grading.isolation_warning(spec, "bubblewrap") is None


LAUNCH_SPY = """
import json, sys
from autograder import grading, transport
seen = []
launch = transport.SandboxTransport.start_early
def spy(self):
    seen.append(sorted(m for m in ("torch", "autograder.student", "autograder.pytest_plugin") if m in sys.modules))
    launch(self)
transport.SandboxTransport.start_early = spy
g = grading.grade("softmax_nll", sys.argv[1], sys.argv[2], device="cpu", seed=1, select="test_softmax_small")
print(json.dumps({"seen": seen, "score": g.result.score, "phases": g.result.extra_data.timeline["phases"]}))
"""


def test_the_worker_is_launched_before_the_grader_imports_torch(tmp_path, reference_source):
    """torch takes about 1 s to import on each side: the worker's import runs while the grader's does."""
    submission = tmp_path / "softmax_nll.py"
    submission.write_text(reference_source("softmax_nll"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", LAUNCH_SPY, str(submission), str(tmp_path / "results.json")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["seen"] == [[]] and out["score"] > 0
    assert out["phases"][timeline.GRADER_IMPORTS] > 0
