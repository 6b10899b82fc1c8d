"""The sandboxed worker: round trips, limits, kills, and what the student's process can see."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from autograder import assignment, sandbox, user_slots
from autograder.errors import GraderError, UsageError, WorkerCrash
from autograder.sandbox import proc_tree
from autograder.static_checks import Report
from autograder.student import Student
from autograder.transport import SandboxTransport
from autograder.worker import protocol
from conftest import REPO, isolation_levels, sandbox_python

SPEC = assignment.load("softmax_nll")
LIMITS = assignment.Limits(call_seconds=5, worker_cpu_seconds=60, memory_mb=2048)


@pytest.fixture
def stage_root(tmp_path: Path) -> Iterator[Path]:
    """A folder for stages that a sandbox user may pass through (pytest's own tmp_path is private)."""
    folder = Path(tempfile.mkdtemp(prefix="ag-stage-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def make_worker(stage: sandbox.Stage, level: str, limits: assignment.Limits = LIMITS) -> sandbox.Worker:
    """An unstarted worker; at the user level it runs an interpreter the sandbox user can reach."""
    return sandbox.Worker(stage, limits, level, python=sandbox_python() if level == "user" else sys.executable)


@pytest.fixture
def make_student(stage_root: Path) -> Iterator:
    """Start a sandboxed Student over a given module source at a given isolation level."""
    transports = []

    def _make(source: str, level: str, early: bool = False) -> Student:
        stage = sandbox.prepare_stage(stage_root / f"stage{len(transports)}", SPEC, source.encode(), ("torch",))
        transport = SandboxTransport(stage, lambda: make_worker(stage, level))
        transports.append(transport)
        if early:
            transport.start_early()
        return Student(transport, Report(), SPEC.module_file)

    yield _make
    for t in transports:
        t.close()


@pytest.mark.parametrize("level", isolation_levels())
def test_round_trip_and_student_errors(make_student, level):
    student = make_student("import torch\ndef double(x):\n    return 2 * x\ndef bad(x):\n    return 1 / 0\n", level)
    x = torch.randn(3)
    assert torch.equal(student.call("double", x), 2 * x)
    error = student.outcome("bad", x).error
    assert error is not None and error.type == "ZeroDivisionError" and error.line == 5 and error.is_a("ArithmeticError")


@pytest.mark.parametrize("level", isolation_levels())
def test_timeout_kills_the_whole_group_and_a_fresh_worker_follows(make_student, level, tmp_path):
    marker = f"300.{secrets.randbelow(10**6):06d}"  # unique: parallel tests must not see each other's sleeper
    source = ("import os, time, subprocess\n"
              f"def hang():\n    subprocess.Popen(['sleep', '{marker}'])\n    while True:\n        pass\n"
              "def pid():\n    return os.getpid()\n")
    student = make_student(source, level)
    first = student.transport.worker  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(AssertionError, match="did not finish"):
        student.call("hang")
    assert time.monotonic() - started < LIMITS.call_seconds + 5
    assert first is None or not first.alive
    assert isinstance(student.call("pid"), int)
    assert student.transport.starts == 2  # type: ignore[attr-defined]
    assert not _processes_running(f"sleep {marker}")


def _processes_running(cmdline: str) -> bool:
    """Any live process whose command line is exactly ``cmdline``."""
    time.sleep(0.2)
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if raw == cmdline and state != "Z":
                return True
    return False


def test_early_start_is_the_worker_of_the_first_call(make_student):
    student = make_student("import os\ndef pid():\n    return os.getpid()\n", "plain", early=True)
    transport = student.transport
    booted = transport.booting  # type: ignore[attr-defined]
    assert booted is not None and booted.alive and transport.worker is None  # type: ignore[attr-defined]
    time.sleep(0.5)  # the process outlives whatever launched it
    assert student.call("pid") == booted.proc.pid
    assert transport.starts == 1 and transport.worker is booted  # type: ignore[attr-defined]


def test_early_start_import_crash_reaches_the_first_call_once(make_student):
    student = make_student("import os\nos._exit(0)\ndef f():\n    return 1\n", "plain", early=True)
    for _ in range(2):
        with pytest.raises(AssertionError, match="Importing your module ended the process"):
            student.call("f")
    assert student.transport.starts == 1  # type: ignore[attr-defined]


def test_early_start_never_asked_is_stopped_on_close(make_student):
    student = make_student("def f():\n    return 1\n", "plain", early=True)
    worker = student.transport.booting  # type: ignore[attr-defined]
    pid = worker.proc.pid
    student.transport.close()
    assert student.transport.booting is None and worker.proc is None  # type: ignore[attr-defined]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize("level", isolation_levels())
def test_exit_in_a_call_is_a_crash_for_that_call_only(make_student, level):
    student = make_student("import os\ndef die():\n    os._exit(3)\ndef ok():\n    return 1\n", level)
    with pytest.raises(AssertionError, match="exited with status 3"):
        student.call("die")
    assert student.call("ok") == 1


@pytest.mark.parametrize("level", isolation_levels())
def test_import_crash_is_remembered_not_retried(make_student, level):
    student = make_student("import os\nos._exit(0)\ndef f():\n    return 1\n", level)
    for _ in range(2):
        with pytest.raises(AssertionError, match="Importing your module ended the process"):
            student.call("f")
    assert student.transport.starts == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("level", isolation_levels())
def test_memory_cap_turns_a_memory_bomb_into_an_error(make_student, level):
    student = make_student("import torch\ndef bomb():\n    return torch.ones(1 << 32).sum()\ndef ok():\n    return 2\n",
                           level)
    outcome = student.outcome("bomb")
    assert outcome.error is not None and ("memory" in outcome.error.message.lower()
                                          or outcome.error.type in ("MemoryError", "RuntimeError"))
    assert student.call("ok") == 2


def test_trusted_clock_sees_the_workers_cpu_time(make_student):
    student = make_student("def burn():\n    s = 0\n    for i in range(3_000_000):\n        s += i\n    return s\n",
                           "plain")
    student.call("burn")
    worker = student.transport.worker  # type: ignore[attr-defined]
    before = worker.cpu_seconds()
    header, blobs = {"op": "call", "fn": "burn", "args": protocol.encode([])[0],
                     "kwargs": protocol.encode({})[0]}, []
    reply = worker.request(header, blobs)
    assert reply.cpu_seconds > 0.05 and worker.cpu_seconds() - before >= reply.cpu_seconds * 0.9


@pytest.mark.skipif(not sandbox.bubblewrap_works(), reason="bubblewrap is not available on this machine")
def test_bubblewrap_hides_the_grader_and_the_network(make_student):
    source = '''import os, socket
def look(paths):
    return {p: os.path.exists(p) for p in paths}
def listing(path):
    return sorted(os.listdir(path))
def env():
    return dict(os.environ)
def connect():
    s = socket.socket()
    s.settimeout(2)
    s.connect(("127.0.0.1", 22))
def write(path):
    open(path, "w").write("x")
'''
    student = make_student(source, "bubblewrap")
    secrets = [str(REPO / d) for d in ("solutions", "assignments", "autograder", "tests", "student_template")]
    secrets += ["/home", "/etc/passwd", "/root/.bash_history"]
    seen = student.call("look", [*secrets, "/sandbox/submission/softmax_nll.py", "/tmp"])
    assert not any(seen[p] for p in secrets), seen
    # Only the skeleton needed to mount the Python environment at its own path is there.
    venv = Path(os.path.realpath(os.sys.prefix))
    if REPO in venv.parents:
        assert student.call("listing", str(REPO)) == [venv.relative_to(REPO).parts[0]]
    assert seen["/sandbox/submission/softmax_nll.py"] and seen["/tmp"]
    assert set(student.call("env")) <= {"PATH", "HOME", "LANG", "TMPDIR", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                        "OPENBLAS_NUM_THREADS", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED",
                                        "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LC_CTYPE", "PWD", "AG_WORKER"}
    assert student.outcome("connect").error is not None
    assert student.outcome("write", "/sandbox/submission/softmax_nll.py").error is not None
    student.call("write", "/tmp/scratch")


def test_worker_crash_carries_its_timeout_flag():
    crash = WorkerCrash("x", timed_out=True)
    assert crash.timed_out and "x" in str(crash)


@pytest.mark.skipif(not sandbox.bubblewrap_works(), reason="bubblewrap is not available on this machine")
def test_private_tmp_is_capped_so_the_disk_cannot_fill(make_student):
    """Many files, each under the per-file limit: the private /tmp runs out (ENOSPC), not the disk."""
    source = '''def fill():
    written = 0
    try:
        for i in range(1000):
            with open(f"/tmp/fill{i}", "wb") as fh:
                for _ in range(8):
                    fh.write(b"x" * (1 << 20))
                    fh.flush()
                    written += 1 << 20
    except OSError as exc:
        return ["stopped", written, exc.errno]
    return ["not stopped", written, 0]
'''
    student = make_student(source, "bubblewrap")
    verdict, written, errno = student.call("fill")
    assert verdict == "stopped" and errno == 28 and written <= LIMITS.tmp_mb << 20  # ENOSPC within the cap


@pytest.mark.parametrize("level", isolation_levels())
def test_a_runtime_that_cannot_start_is_a_grader_error_not_a_zero(stage_root, level):
    """Before the worker says hello no student code has run: a death then is the grader's failure."""
    stage = sandbox.prepare_stage(stage_root / "stage", SPEC, b"def f():\n    return 1\n", ("torch",))
    (stage.runtime_dir / "agworker" / "serve.py").write_text("raise SystemExit(1)\n")
    worker = make_worker(stage, level)
    try:
        with pytest.raises(GraderError, match="worker failed to start"):
            worker.start()
    finally:
        worker.close()


@pytest.mark.parametrize("level", isolation_levels())
def test_fork_bomb_is_capped_and_cleaned_up(make_student, level):
    """At most 500 forks (so the test is safe anywhere); with a pids cgroup the cap stops it far earlier."""
    source = '''import os, time
def bomb():
    made = 0
    try:
        for _ in range(500):
            if os.fork() == 0:
                time.sleep(120)
                os._exit(0)
            made += 1
    except OSError:
        pass
    return made
def ok():
    return 7
'''
    student = make_student(source, level)
    made = student.call("bomb")
    transport = student.transport
    if transport.process_cap:  # type: ignore[attr-defined]
        assert made < LIMITS.processes
    assert student.call("ok") == 7
    token = transport.worker.token  # type: ignore[attr-defined]
    group = transport.worker.cgroup  # type: ignore[attr-defined]
    transport.close()
    assert not proc_tree.carrying(token)
    assert group is None or not group.exists()


def test_user_level_refused_with_the_probes_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_slots, "user_isolation_problem", lambda python: "PROBLEM")
    with pytest.raises(UsageError) as info:
        sandbox.choose_isolation("user")
    assert str(info.value) == "--isolation user: PROBLEM"
