"""Shared fixtures for the framework's own tests.

Gradings run as real ``autograder grade`` processes (the path a TA uses); every
results.json they write is validated against the Gradescope schema kept in the repo.
Tests write only under pytest's tmp_path, never into tracked files.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autograder import assignment, results, sandbox, user_slots
from autograder.authoring import bugzoo
from autograder.authoring.gpu_check import REQUIRE_CUDA
from autograder.sandbox import cgroup

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``cuda`` marker; AUTOGRADER_REQUIRE_CUDA must be 0 or 1."""
    config.addinivalue_line("markers", "cuda: needs a CUDA device: skipped without one, an error where "
                                       f"{REQUIRE_CUDA}=1 (make gpu-check)")
    if os.environ.get(REQUIRE_CUDA, "0") not in ("0", "1"):
        raise pytest.UsageError(f"{REQUIRE_CUDA} must be 0 or 1, not {os.environ[REQUIRE_CUDA]!r}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A ``cuda`` test on a machine without CUDA is skipped, or fails where AUTOGRADER_REQUIRE_CUDA=1."""
    if item.get_closest_marker("cuda") is None:
        return
    import torch

    if torch.cuda.is_available():
        return
    if os.environ.get(REQUIRE_CUDA) == "1":
        pytest.fail(f"no CUDA device on this machine, and {REQUIRE_CUDA}=1 forbids skipping a CUDA test",
                    pytrace=False)
    pytest.skip("no CUDA device on this machine (the CUDA path runs where one is)")


@dataclass
class Graded:
    """One finished ``autograder grade`` run."""

    data: dict[str, Any]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def score(self) -> float:
        return float(self.data["score"])

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self.data.get("extra_data", {}))

    def test(self, function: str) -> list[dict[str, Any]]:
        """The results of every case of one test function."""
        names = {n for n, fn in self.extra.get("test_functions", {}).items() if fn == function}
        found = [t for t in self.data["tests"] if t["name"] in names]
        assert found, f"no results for {function}"
        return found

    def passed(self, function: str) -> bool:
        return all(t["status"] == "passed" for t in self.test(function))

    def output_of(self, function: str) -> str:
        return "\n".join(t["output"] for t in self.test(function))


GradeFn = Callable[..., Graded]


def run_grade(assignment_name: str, submission: Path, out: Path, *args: str, timeout: float = 600,
              cwd: Path | None = None) -> Graded:
    """Run ``autograder grade`` and return its validated results (at the user level, with ``sandbox_python``)."""
    python = sandbox_python() if "user" in args else sys.executable
    cmd = [python, "-m", "autograder", "grade", assignment_name, str(submission), "--results", str(out), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd or out.parent)
    assert out.is_file(), f"no results.json (exit {proc.returncode}): {proc.stderr[-3000:]}"
    data = json.loads(out.read_text(encoding="utf-8"))
    results.validate(data)
    return Graded(data, proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def grade(tmp_path: Path) -> GradeFn:
    """Grade a submission given as a path or as source text: ``grade(src, select=..., isolation=...)``."""
    counter = iter(range(10_000))

    def _grade(submission: Path | str, name: str = "softmax_nll", *, select: str | None = None,
               isolation: str | None = None, seed: int | None = None, device: str | None = None) -> Graded:
        i = next(counter)
        if isinstance(submission, str):
            folder = tmp_path / f"sub{i}"
            folder.mkdir()
            (folder / f"{name}.py").write_text(submission, encoding="utf-8")
            submission = folder
        args: list[str] = []
        if select:
            args += ["--select", select]
        if isolation:
            args += ["--isolation", isolation]
        if seed is not None:
            args += ["--seed", str(seed)]
        if device is not None:
            args += ["--device", device]
        return run_grade(name, submission, tmp_path / f"results{i}.json", *args)

    return _grade


TWO_REFERENCE = '''"""Two tasks."""

SCALE = 2


def negate(x):
    return -x


def double(x):
    if x == 0:
        return 0
    return SCALE * x
'''
TWO_TESTS = '''from autograder.testing import graded


@graded("1.1", 1)
def test_negate(student):
    assert student.call("negate", 3) == -3, "negate(3) is wrong"


@graded("2.1", 1)
def test_double(student):
    assert student.call("double", 3) == 6, "double(3) is wrong"


@graded("2.2", 1)
def test_negate_then_double(student):
    assert student.call("double", student.call("negate", 2)) == -4, "double(negate(2)) is wrong"
'''
TWO_TOML = '''[assignment]
name = "two"
title = "Two"
points = { hidden = 3 }
preload = []

[tasks]
negate = "Task 1: negate"
double = "Task 2: double"

[limits]
call_seconds = 2
'''


@dataclass
class Two:
    """A quick assignment ``two`` (two tasks, three hidden tests, no torch) under a temporary root."""

    root: Path
    reference: str = TWO_REFERENCE
    count: int = 0

    def grade(self, source: str, **kwargs: Any) -> Any:
        """Grade ``source`` as two.py in this process (``grading.grade``, seed 1); the Grading."""
        from autograder import grading

        self.count += 1
        path = self.root / f"submitted{self.count}" / "two.py"
        path.parent.mkdir()
        path.write_text(source, encoding="utf-8")
        return grading.grade("two", path, path.with_name("results.json"), device="cpu", seed=1, root=self.root,
                             **kwargs)

    def line(self, text: str) -> int:
        """The line number of ``text`` in the reference."""
        return self.reference.splitlines().index(text) + 1


@pytest.fixture
def two(tmp_path: Path) -> Two:
    """The assignment ``two`` under ``tmp_path``: grade any source as its two.py."""
    folder = tmp_path / "assignments" / "two"
    (folder / "tests" / "hidden").mkdir(parents=True)
    (folder / "assignment.toml").write_text(TWO_TOML, encoding="utf-8")
    (folder / "tests" / "hidden" / "test_hidden.py").write_text(TWO_TESTS, encoding="utf-8")
    return Two(tmp_path)


@pytest.fixture(scope="session")
def reference_source() -> Callable[[str], str]:
    """The reference solution of an assignment, without solution markers."""
    return lambda name="softmax_nll": bugzoo.reference_source(assignment.load(name))


@functools.lru_cache(maxsize=1)
def sandbox_python() -> str:
    """An interpreter an unprivileged sandbox user can run, with this environment's packages.

    The user level needs the grader's interpreter readable by other users (on Gradescope it is
    /usr/bin/python3). Where this environment's Python lives in a private folder (pyenv under
    /root), a throw-away venv over the system Python of the same version stands in, with this
    environment's site-packages added; it is removed when the test process exits.
    """
    if user_slots.user_isolation_works(sys.executable):
        return sys.executable
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if os.geteuid() != 0 or not system.is_file():
        return sys.executable
    folder = Path(tempfile.mkdtemp(prefix="ag-test-python-"))
    folder.chmod(0o755)
    atexit.register(shutil.rmtree, folder, True)
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(folder / "venv")], check=True, timeout=120)
    site = sysconfig.get_path("purelib")
    target = folder / "venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (target / "grader_environment.pth").write_text(f"import site; site.addsitedir({site!r})\n", encoding="utf-8")
    return str(folder / "venv" / "bin" / "python")


def isolation_available(level: str) -> bool:
    """Whether ``level`` can be used by the tests on this machine."""
    if level == "bubblewrap":
        return sandbox.bubblewrap_works()
    if level == "user":
        return user_slots.user_isolation_works(sandbox_python())
    return True


def isolation_levels() -> list[Any]:
    """Every isolation level, those unavailable here skipped with the reason."""
    reasons = {"bubblewrap": "bwrap is missing or cannot create namespaces here",
               "user": "needs root and a Python that an unprivileged user can run", "plain": ""}
    return [pytest.param(level, marks=pytest.mark.skipif(not isolation_available(level),
                                                          reason=f"{level} isolation: {reasons[level]}"))
            for level in sandbox.ISOLATION_LEVELS]


# --------------------------------------------------------------------------- nothing left behind

_SESSION_START = time.time()
LEFTOVER_PREFIXES = ("ag-stage-", "ag-grader-", "ag-shared-", "ag-fill-")


def leftovers(since: float) -> list[str]:
    """Worker processes, sandbox-user processes, cgroups and temp folders that outlived their grading."""
    found = [f"process {pid} of sandbox uid {uid}" for uid in range(user_slots.FIRST_UID,
                                                                    user_slots.FIRST_UID + user_slots.SLOTS)
             for pid in user_slots.processes_of(uid)]
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if any(v.startswith(b"AG_WORKER=") for v in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")):
                    found.append(f"worker process {entry} still running")
            except OSError:
                continue
    for root in cgroup.CGROUP_ROOTS:
        found += [f"cgroup {g}" for g in root.glob("autograder-*") if g.stat().st_mtime >= since]
    tmp = Path(tempfile.gettempdir())
    for path in tmp.iterdir():
        if path.name.startswith(LEFTOVER_PREFIXES) and path.lstat().st_mtime >= since:
            found.append(f"temporary file {path}")
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole suite (the xdist controller, once every worker is done): nothing left behind."""
    if hasattr(session.config, "workerinput"):
        return
    time.sleep(0.5)  # processes killed at the very end are still being reaped
    found = leftovers(_SESSION_START)
    if found:
        print("\nLEFT BEHIND after the test suite:\n  " + "\n  ".join(found[:50]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
