"""Adversarial submissions against the whole grading pipeline (SPEC §3-4).

Each attack is the reference solution of softmax_nll with ONE function replaced by the
attack (usually ``softmax``) or with attack code added at module level, graded by a real
``autograder grade`` run (the ``grade`` fixture validates every results.json against the
schema). The principle asserted everywhere: the submission earns exactly what its honest
part deserves, the attacked function's tests fail with a message naming the cause, and
grading completes (exit 0, no grader error, a valid results.json).

Isolation levels (``isolation_levels()``: bubblewrap where it works, plain always):

* both levels: every attack of ``ATTACKS`` (sys.exit, pytest.skip, always-equal object,
  tensor subclass, NaN, patched comparisons, banned call via importlib, banned call via
  ``torch.__dict__``, memory bomb), printed fake results, import-time crashes, writes to
  results.json, a lingering detached process, the infinite loop, a syntax error, a missing
  function;
* bubblewrap only: reading the hidden tests / reference from disk (at plain level that
  attack can succeed by design, so the plain test only checks the loud isolation warning);
* one level (plain, always available; the code paths do not depend on the level): a hang
  first met inside a Hypothesis property test, banned calls neither check covers, the
  patched performance timer and its control (the same slow cross_entropy, unpatched).

Four of these cases first found engine bugs, since fixed: a detached process at plain level
(now killed through a subreaper and a per-worker token), a hang inside a property test
(Hypothesis' flaky group now unwraps to the student's failure), unguarded routes to softmax
(torch.ops / torch._C / __dict__ are flagged statically and banned ATen operators are refused
at run time), and a patched timer (verdicts now come from the trusted clock only).

About 44 gradings, 5-20 s each: run with ``-n 2`` (2-3 minutes on a 2-core machine).
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import textwrap
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder import assignment, sandbox, static_checks
from conftest import Graded, GradeFn, isolation_levels

pytestmark = pytest.mark.slow

LEVELS = isolation_levels()
SOFTMAX_TESTS = ("test_softmax_small", "test_softmax_large_logits", "test_softmax_dtypes")
"""Two public tests and one hidden test of softmax (none of them a Hypothesis property test)."""
HONEST_TESTS = ("test_nll_loss_mean", "test_cross_entropy_mean")
SEED = 20240611

# --------------------------------------------------------------------------- building attacks

def select(*functions: str) -> str:
    """A ``--select`` (pytest -k) expression for exactly these test functions."""
    return " or ".join(functions)


def replace_function(source: str, name: str, replacement: str) -> str:
    """``source`` with top-level function ``name`` replaced by ``replacement`` (may define helpers)."""
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = source.splitlines(keepends=True)
    assert node.end_lineno is not None
    new = textwrap.dedent(replacement).strip("\n") + "\n"
    return "".join(lines[: node.lineno - 1]) + new + "".join(lines[node.end_lineno :])


def add_module_code(source: str, code: str) -> str:
    """``source`` with ``code`` run at module level right after its imports."""
    imports = [n for n in ast.parse(source).body if isinstance(n, (ast.Import, ast.ImportFrom))]
    end = max(n.end_lineno or n.lineno for n in imports)
    lines = source.splitlines(keepends=True)
    return "".join(lines[:end]) + "\n" + textwrap.dedent(code).strip("\n") + "\n\n" + "".join(lines[end:])


def line_of(source: str, text: str) -> int:
    """1-based number of the only line of ``source`` containing ``text``."""
    found = [i for i, line in enumerate(source.splitlines(), 1) if text in line]
    assert len(found) == 1, f"{text!r} occurs on lines {found}"
    return found[0]


# --------------------------------------------------------------------------- checking gradings

def assert_completed(g: Graded) -> None:
    """Grading finished normally: exit 0 and no grader error (the fixture validated the schema)."""
    assert g.exit_code == 0, f"exit {g.exit_code}: {g.stderr[-3000:]}"
    assert "grader_errors" not in g.extra, g.extra.get("grader_errors")
    assert not g.extra.get("grader_failed"), g.data["output"]


def assert_fails(g: Graded, function: str, cause: str) -> None:
    """Every case of test ``function`` failed with 0 points and a message matching ``cause``."""
    for t in g.test(function):
        assert (t["status"], t["score"]) == ("failed", 0), f"{t['name']}: {t['status']} {t['score']}\n{t['output']}"
        assert re.search(cause, t["output"]), f"{t['name']}: {cause!r} not in\n{t['output']}"


def assert_passes(g: Graded, function: str) -> None:
    """Every case of test ``function`` passed with full points."""
    for t in g.test(function):
        assert t["status"] == "passed", f"{t['name']}\n{t['output']}"
        assert t["score"] == t["max_score"] > 0


def honest_points(g: Graded, honest: tuple[str, ...]) -> float:
    return sum(t["max_score"] for fn in honest for t in g.test(fn))


def assert_honest_only(g: Graded, attacked: tuple[str, ...], honest: tuple[str, ...], cause: str) -> None:
    """The attacked tests fail naming ``cause``, the honest ones pass, and the score is theirs alone."""
    assert_completed(g)
    assert set(g.extra["test_functions"].values()) == set(attacked) | set(honest)
    for fn in attacked:
        assert_fails(g, fn, cause)
    for fn in honest:
        assert_passes(g, fn)
    assert g.score == honest_points(g, honest)


# --------------------------------------------------------------------------- attacks sharing one shape

@dataclass(frozen=True)
class Attack:
    """An attack on ``softmax``: the code replacing it, optional module code, the expected cause."""

    softmax: str
    cause: str
    module_code: str = ""

    def source(self, reference: str) -> str:
        src = replace_function(reference, "softmax", self.softmax)
        return add_module_code(src, self.module_code) if self.module_code else src


ATTACKS = {
    "sys_exit_in_softmax": Attack(
        """
        def softmax(logits, dim=-1):
            import sys
            sys.exit(0)
        """,
        r"raised SystemExit: 0 \(softmax_nll\.py line \d+: `sys\.exit\(0\)`\)",
    ),
    "pytest_skip_in_softmax": Attack(
        """
        def softmax(logits, dim=-1):
            import pytest
            pytest.skip("AG-SKIP this test is fine")
        """,
        r"raised Skipped: AG-SKIP this test is fine \(softmax_nll\.py line \d+",
    ),
    "always_equal_object": Attack(
        """
        class _AlwaysEqual:
            shape = (4, 7)
            dtype = torch.float32

            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            def __bool__(self):
                return True

            def __array__(self, *args, **kwargs):
                import numpy
                return numpy.zeros((4, 7), dtype=numpy.float32)

            def allclose(self, *args, **kwargs):
                return True

            def equal(self, *args, **kwargs):
                return True

            def __getattr__(self, name):
                return lambda *args, **kwargs: True


        def softmax(logits, dim=-1):
            return _AlwaysEqual()
        """,
        r"expected a torch\.Tensor, got an object of type softmax_nll\._AlwaysEqual "
        r"\(only a plain torch\.Tensor counts\)",
    ),
    "tensor_subclass": Attack(
        """
        class T(torch.Tensor):
            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            def __bool__(self):
                return True

            def allclose(self, *args, **kwargs):
                return True


        def softmax(logits, dim=-1):
            x = logits.detach()
            e = (x - x.amax(dim, keepdim=True)).exp()
            return (e / e.sum(dim, keepdim=True)).as_subclass(T)
        """,
        r"expected a torch\.Tensor, got an object of type softmax_nll\.T \(only a plain torch\.Tensor counts\)",
    ),
    "nan_filled": Attack(
        """
        def softmax(logits, dim=-1):
            return torch.full_like(logits, float("nan"))
        """,
        r"contains NaN or infinity where a finite value is expected",
    ),
    "patched_comparisons": Attack(
        """
        def softmax(logits, dim=-1):
            return torch.zeros_like(logits)
        """,
        r"element\(s\) are wrong beyond rtol=",
        module_code="""
        import numpy


        def _always(*args, **kwargs):
            return True


        def _silent(*args, **kwargs):
            return None


        torch.allclose = _always
        torch.equal = _always
        torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
        torch.testing.assert_close = _silent
        numpy.allclose = _always
        numpy.array_equal = _always
        numpy.testing.assert_allclose = _silent
        """,
    ),
    "banned_via_importlib": Attack(
        """
        def softmax(logits, dim=-1):
            import importlib
            functional = importlib.import_module("torch.nn." + "functional")
            return getattr(functional, "soft" + "max")(logits, dim)
        """,
        r"softmax uses importlib \(line \d+\).*which this assignment does not allow",
    ),
    "banned_via_module_dict": Attack(
        """
        def softmax(logits, dim=-1):
            return torch.__dict__["soft" + "max"](logits, dim)
        """,
        r"softmax uses torch\.__dict__ \(line \d+\).*which this assignment does not allow",
    ),
    "banned_via_local_alias": Attack(
        """
        def softmax(logits, dim=-1):
            t = torch
            return getattr(t, "soft" + "max")(logits, dim)
        """,
        r"called torch\.softmax, which this assignment does not allow",
    ),
    "banned_aten_via_local_alias": Attack(
        """
        def softmax(logits, dim=-1):
            t = torch
            return getattr(t, "o" + "ps").aten._softmax(logits, dim, False)
        """,
        r"called aten\._softmax, which this assignment does not allow",
    ),
    "memory_bomb": Attack(
        """
        def softmax(logits, dim=-1):
            hog = []
            for _ in range(64):
                block = bytearray(1 << 30)
                block[::4096] = b"x" * len(block[::4096])
                hog.append(block)
            return logits
        """,
        r"raised MemoryError",
    ),
}


@pytest.mark.parametrize("isolation", LEVELS)
@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
def test_attack_on_softmax_earns_nothing(grade: GradeFn, reference_source: Callable[[str], str], attack: Attack,
                                         isolation: str) -> None:
    """softmax's tests fail naming the cause; nll_loss and cross_entropy keep their points."""
    g = grade(attack.source(reference_source("softmax_nll")), select=select(*SOFTMAX_TESTS, *HONEST_TESTS),
              isolation=isolation)
    assert_honest_only(g, SOFTMAX_TESTS, HONEST_TESTS, attack.cause)
    assert g.extra["isolation"] == isolation


def test_static_check_sees_importlib_and_the_module_dict_but_not_local_aliases(
        reference_source: Callable[[str], str]) -> None:
    """Precondition of the banned-call attacks: which are stopped statically, which only at run time."""
    spec = assignment.load("softmax_nll")
    reference = reference_source("softmax_nll")

    def hits(name: str) -> list[str]:
        report = static_checks.check(ATTACKS[name].source(reference).encode(), spec.banned, spec.module_file)
        assert report.syntax_error is None
        return [h.name for h in report.violations("softmax")]

    assert "importlib" in hits("banned_via_importlib")
    assert "torch.__dict__" in hits("banned_via_module_dict")
    assert hits("banned_via_local_alias") == hits("banned_aten_via_local_alias") == []


# --------------------------------------------------------------------------- printed fake results

FAKE_PRINT = '''
def softmax(logits, dim=-1):
    import json
    import os
    import sys
    fake = json.dumps({"score": 100.0, "execution_time": 0.1, "output": "AG-FAKE all tests passed",
                       "tests": [{"name": "softmax", "score": 100.0, "max_score": 100.0, "status": "passed",
                                  "output": "PASSED", "tags": [], "visibility": "visible"}]})
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            print(fake, file=stream)
            print("PASSED test_softmax_small\\nPASSED test_softmax_dtypes\\n100 / 100 points", file=stream)
            stream.flush()
        except Exception:
            pass
    for fd in (1, 2):
        try:
            os.write(fd, (fake + "\\nPASSED\\n").encode())
        except OSError:
            pass
    return torch.full_like(logits, 0.5)
'''


@pytest.mark.parametrize("isolation", LEVELS)
def test_printed_fake_results_are_not_parsed(grade: GradeFn, reference_source: Callable[[str], str],
                                             isolation: str) -> None:
    """A Gradescope-looking JSON and PASSED lines on stdout/stderr change nothing: the score is ours."""
    src = replace_function(reference_source("softmax_nll"), "softmax", FAKE_PRINT)
    g = grade(src, select=select(*SOFTMAX_TESTS, *HONEST_TESTS), isolation=isolation)
    assert_honest_only(g, SOFTMAX_TESTS, HONEST_TESTS, r"element\(s\) are wrong beyond rtol=")
    assert g.score != 100
    assert "AG-FAKE" not in g.stdout


# --------------------------------------------------------------------------- crashes at import

IMPORT_CRASHES = [
    pytest.param("import os\nos._exit(0)", r"Importing your module ended the process running it", id="os_exit"),
    pytest.param("import sys\nsys.exit(3)", r"Importing softmax_nll\.py failed, so no test can run: SystemExit: 3 ",
                 id="sys_exit"),
    pytest.param('import pytest\npytest.skip("AG-SKIP module", allow_module_level=True)',
                 r"Importing softmax_nll\.py failed, so no test can run: .*Skipped: AG-SKIP module", id="pytest_skip"),
]


@pytest.mark.parametrize("isolation", LEVELS)
@pytest.mark.parametrize(("code", "cause"), IMPORT_CRASHES)
def test_crash_at_import_fails_every_test(grade: GradeFn, reference_source: Callable[[str], str], code: str,
                                          cause: str, isolation: str) -> None:
    """Every selected test fails naming the import, score 0, the worker is started once, exit 0."""
    src = add_module_code(reference_source("softmax_nll"), code)
    g = grade(src, select=select("test_softmax_small", *HONEST_TESTS), isolation=isolation)
    assert_honest_only(g, ("test_softmax_small", *HONEST_TESTS), (), cause)
    assert g.score == 0
    assert g.extra["worker_starts"] == 1


# --------------------------------------------------------------------------- writing results.json

RESULTS_WRITER = r'''
import glob as _glob
import json as _json
import os as _os

_FAKE = _json.dumps({
    "score": 100.0, "execution_time": 0.1, "output": "AG-FAKE-RESULTS",
    "tests": [{"name": "softmax", "score": 100.0, "max_score": 100.0, "status": "passed",
               "output": "AG-FAKE-RESULTS", "tags": [], "visibility": "visible"}],
})


def _ours_or_absent(path):
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return True
    return "AG-FAKE-RESULTS" in text or '"extra_data"' in text


def _targets():
    found = ["results.json", "../results.json", "/autograder/results/results.json", "/tmp/results.json"]
    here = _os.path.abspath(_os.getcwd())
    while True:
        found += [p for p in _glob.glob(_os.path.join(here, "results*.json")) if _ours_or_absent(p)]
        if here == _os.path.dirname(here):
            break
        here = _os.path.dirname(here)
    try:
        parent = _os.getppid()
        with open(f"/proc/{parent}/cmdline", "rb") as fh:
            argv = fh.read().decode(errors="replace").split("\0")
        cwd = _os.readlink(f"/proc/{parent}/cwd")
        if "--results" in argv:
            found.append(_os.path.join(cwd, argv[argv.index("--results") + 1]))
        found += _glob.glob(_os.path.join(cwd, "results*.json"))
    except Exception:
        pass
    return found


def _overwrite():
    done = []
    for path in _targets():
        try:
            if _os.path.isdir(_os.path.dirname(_os.path.abspath(path))) and _ours_or_absent(path):
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(_FAKE)
                done.append(path)
        except Exception:
            pass
    return done


print("AG-FAKE-RESULTS wrote:", _overwrite())
'''


@pytest.mark.parametrize("isolation", LEVELS)
def test_writing_results_json_changes_nothing(grade: GradeFn, reference_source: Callable[[str], str],
                                              tmp_path: Path, isolation: str) -> None:
    """Fake results written at import (and again in softmax) are replaced by the grader's own file."""
    src = replace_function(reference_source("softmax_nll"), "softmax", """
        def softmax(logits, dim=-1):
            _overwrite()
            return torch.zeros_like(logits)
        """)
    src = add_module_code(src, RESULTS_WRITER)
    host_tmp = Path("/tmp/results.json")
    existed = host_tmp.exists()
    try:
        g = grade(src, select=select(*SOFTMAX_TESTS, *HONEST_TESTS), isolation=isolation, seed=SEED)
        on_disk = json.loads((tmp_path / "results0.json").read_text(encoding="utf-8"))
    finally:
        if not existed and host_tmp.is_file() and "AG-FAKE-RESULTS" in host_tmp.read_text(errors="replace"):
            host_tmp.unlink()  # written by the plain-level attack on this machine
    assert_honest_only(g, SOFTMAX_TESTS, HONEST_TESTS, r"element\(s\) are wrong beyond rtol=")
    assert "AG-FAKE-RESULTS wrote:" in g.data["output"]  # the attack ran
    assert on_disk == g.data
    assert g.extra["seed"] == SEED
    assert g.score != 100
    assert not any("AG-FAKE" in t["output"] or t["name"] == "softmax" for t in g.data["tests"])


# --------------------------------------------------------------------------- a process that outlives the worker

LINGERER = r'''
import os as _os
import subprocess as _sp
import sys as _sys

_CHILD = """
import json, os, sys, time
target = sys.argv[1]
end = time.time() + 30
seen = None
while time.time() < end:
    try:
        inode = os.stat(target).st_ino
        if inode != seen:
            with open(target, encoding="utf-8") as fh:
                data = json.load(fh)
            if "extra_data" in data:
                for test in data["tests"]:
                    test.update(status="passed", score=test["max_score"], output="Passed")
                data["score"] = sum(t["max_score"] for t in data["tests"])
                with open(target, "w", encoding="utf-8") as fh:
                    json.dump(data, fh)
            seen = os.stat(target).st_ino
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.001)
"""


def _results_path():
    try:
        parent = _os.getppid()
        with open(f"/proc/{parent}/cmdline", "rb") as fh:
            argv = fh.read().decode(errors="replace").split("\0")
        return _os.path.join(_os.readlink(f"/proc/{parent}/cwd"), argv[argv.index("--results") + 1])
    except Exception:
        return "/nonexistent/results.json"


_sp.Popen([_sys.executable, "-c", _CHILD, _results_path(), "AG-LINGER-MARKER"], start_new_session=True,
          stdin=_sp.DEVNULL, stdout=_sp.DEVNULL, stderr=_sp.DEVNULL, close_fds=True)
'''


def _processes_with(marker: bytes) -> list[int]:
    """Pids whose command line contains ``marker``."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


@pytest.mark.parametrize("isolation", LEVELS)
def test_detached_process_dies_with_the_worker(grade: GradeFn, reference_source: Callable[[str], str],
                                               tmp_path: Path, isolation: str) -> None:
    """A child in its own session (start_new_session) must not outlive grading nor touch results.json."""
    marker = f"AG-LINGER-{uuid.uuid4().hex}"
    src = replace_function(reference_source("softmax_nll"), "softmax", """
        def softmax(logits, dim=-1):
            return torch.zeros_like(logits)
        """)
    src = add_module_code(src, LINGERER.replace("AG-LINGER-MARKER", marker))
    try:
        g = grade(src, select=select("test_softmax_small", *HONEST_TESTS), isolation=isolation)
        time.sleep(1.0)
        survivors = _processes_with(marker.encode())
        on_disk = json.loads((tmp_path / "results0.json").read_text(encoding="utf-8"))
    finally:
        for pid in _processes_with(marker.encode()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert survivors == []
    assert on_disk == g.data
    assert_honest_only(g, ("test_softmax_small",), HONEST_TESTS, r"element\(s\) are wrong beyond rtol=")


# --------------------------------------------------------------------------- infinite loop

@pytest.mark.parametrize("isolation", LEVELS)
def test_infinite_loop_times_out_once(grade: GradeFn, reference_source: Callable[[str], str],
                                      isolation: str) -> None:
    """The first softmax call times out, later softmax tests fail fast, a fresh worker serves the rest."""
    src = replace_function(reference_source("softmax_nll"), "softmax", """
        def softmax(logits, dim=-1):
            while True:
                pass
        """)
    started = time.monotonic()
    g = grade(src, select=select(*SOFTMAX_TESTS, *HONEST_TESTS), isolation=isolation)
    elapsed = time.monotonic() - started
    assert_honest_only(g, SOFTMAX_TESTS, HONEST_TESTS, r"did not finish|not run again")
    assert_fails(g, "test_softmax_small", r"softmax\(<4x7 float32 tensor>\): Your code did not finish the call "
                 r"within the time limit \(10 s\) and was stopped")
    for fn in SOFTMAX_TESTS[1:]:
        assert_fails(g, fn, r"softmax was not run again: an earlier call did not finish within the time limit")
    assert g.extra["worker_starts"] == 2
    assert elapsed < 40, f"grading took {elapsed:.1f} s"


def test_hang_first_met_in_a_property_test(grade: GradeFn, reference_source: Callable[[str], str]) -> None:
    """A softmax that hangs only for dim=0 (a plausible student bug): the property test fails, no grader error."""
    src = replace_function(reference_source("softmax_nll"), "softmax", """
        def softmax(logits, dim=-1):
            while dim == 0:
                pass
            x = logits - logits.amax(dim, keepdim=True)
            e = x.exp()
            return e / e.sum(dim, keepdim=True)
        """)
    g = grade(src, select=select("test_softmax_small", "test_softmax_rows_are_distributions", "test_nll_loss_mean"),
              isolation="plain")
    assert_honest_only(g, ("test_softmax_rows_are_distributions",), ("test_softmax_small", "test_nll_loss_mean"),
                       r"did not finish|not run again")


# --------------------------------------------------------------------------- reading the hidden tests from disk

SNOOPER = r'''
import os as _os
import sys as _sys
import time as _time

_WANTED = {"test_hidden.py", "test_public.py", "assignment.toml", "softmax_nll.py", "probes.py"}


def _roots():
    roots = ["/work", "/autograder", "/srv", "/home", "/root", "/opt", "/mnt", "/tmp", "/sandbox",
             _os.getcwd(), "..", "../..", "../../.."]
    for start in (__file__, _sys.executable, _os.path.realpath(_sys.executable), _sys.prefix):
        here = _os.path.abspath(start)
        while here != _os.path.dirname(here):
            here = _os.path.dirname(here)
            roots.append(here)
    for link in ("exe", "cwd"):
        try:
            roots.append(_os.path.dirname(_os.readlink(f"/proc/{_os.getppid()}/{link}")))
        except OSError:
            pass
    return [*roots, "/"]


def _snoop(max_dirs=30000, max_seconds=3.0):
    me = _os.path.realpath(__file__)
    found, seen = [], set()
    deadline = _time.monotonic() + max_seconds
    for root in _roots():
        for dirpath, dirnames, filenames in _os.walk(root):
            real = _os.path.realpath(dirpath)
            if real in seen or real.startswith(("/proc", "/sys", "/dev")):
                dirnames[:] = []
                continue
            seen.add(real)
            if len(seen) > max_dirs or _time.monotonic() > deadline:
                return found
            dirnames[:] = [d for d in dirnames if d not in ("site-packages", "node_modules", ".git")]
            if _os.path.basename(real) == "solutions":
                found.append(real)
            found += [_os.path.join(real, f) for f in filenames  # regular files only: a FIFO would block
                      if f in _WANTED and _os.path.join(real, f) != me and _os.path.isfile(_os.path.join(real, f))]
    return found


_START = _time.monotonic()
_FOUND = sorted(set(_snoop()))
print("AG-SNOOP found:", _FOUND[:50])
_STOLEN = None
for _path in _FOUND:
    if _time.monotonic() - _START > 4.0:  # stay well inside the grader's import limit on any machine
        break
    try:
        with open(_path, encoding="utf-8") as _fh:
            _text = _fh.read()
    except (OSError, ValueError):  # unreadable, or not UTF-8 (another test's broken file)
        continue
    if _path.endswith("test_hidden.py"):
        print("AG-SNOOP hidden tests:", _text[:300])
    _mine = "AG-SNOOP" in _text  # another copy of this attack: running it would walk again
    if _path.endswith("softmax_nll.py") and "BEGIN SOLUTION" in _text and not _mine and _STOLEN is None:
        print("AG-SNOOP reference:", _text[:300])
        try:
            import runpy as _runpy
            _STOLEN = _runpy.run_path(_path)["softmax"]
        except Exception as _exc:
            print("AG-SNOOP could not run", _path, _exc)
'''

SNOOPING_SOFTMAX = """
def softmax(logits, dim=-1):
    if _STOLEN is not None:
        return _STOLEN(logits, dim)
    return torch.zeros_like(logits)
"""


def _snooping_source(reference: str) -> str:
    return add_module_code(replace_function(reference, "softmax", SNOOPING_SOFTMAX), SNOOPER)


@pytest.mark.skipif(not sandbox.bubblewrap_works(), reason="bubblewrap isolation is not available on this machine")
def test_hidden_tests_are_not_on_the_sandbox_filesystem(grade: GradeFn,
                                                        reference_source: Callable[[str], str]) -> None:
    """Under bubblewrap the walk finds no test, reference or assignment file: softmax earns nothing."""
    g = grade(_snooping_source(reference_source("softmax_nll")), select=select(*SOFTMAX_TESTS, *HONEST_TESTS),
              isolation="bubblewrap")
    assert_honest_only(g, SOFTMAX_TESTS, HONEST_TESTS, r"element\(s\) are wrong beyond rtol=")
    assert "AG-SNOOP found: []" in g.data["output"]  # the first 50 found are printed; none under bubblewrap
    text = json.dumps(g.data)
    for leak in ("test_hidden", "BEGIN SOLUTION", "AG-SNOOP hidden", "AG-SNOOP reference"):
        assert leak not in text


def test_plain_isolation_warns_that_files_are_readable(grade: GradeFn,
                                                       reference_source: Callable[[str], str]) -> None:
    """At plain level the same walk CAN find the reference (the worker runs as the grader's user) and
    then softmax passes: plain isolation does not meet S2, which is why the instructor gets a loud
    warning. Only the warning and a normal completion are asserted here; the attack's outcome depends
    on where the grader's files lie on this machine.
    """
    g = grade(_snooping_source(reference_source("softmax_nll")), select=select("test_softmax_small", *HONEST_TESTS),
              isolation="plain")
    assert_completed(g)
    assert g.extra["isolation"] == "plain"
    assert "WARNING" in g.extra["isolation_warning"]
    assert "bubblewrap" in g.extra["isolation_warning"].lower()
    for fn in HONEST_TESTS:
        assert_passes(g, fn)


# --------------------------------------------------------------------------- broken files

@pytest.mark.parametrize("isolation", LEVELS)
def test_syntax_error_fails_every_test_naming_the_line(grade: GradeFn, reference_source: Callable[[str], str],
                                                       isolation: str) -> None:
    """A file that does not parse: every test fails naming the line, score 0, exit 0."""
    src = replace_function(reference_source("softmax_nll"), "softmax", """
        def softmax(logits, dim=-1):
            return logits +  # AG-SYNTAX
        """)
    line = line_of(src, "AG-SYNTAX")
    g = grade(src, select=select("test_softmax_small", *HONEST_TESTS), isolation=isolation)
    assert_honest_only(g, ("test_softmax_small", *HONEST_TESTS), (),
                       rf"Your file could not be loaded: softmax_nll\.py line {line}: SyntaxError")
    assert g.score == 0
    assert f"softmax_nll.py line {line}: SyntaxError" in g.data["output"]


@pytest.mark.parametrize("isolation", LEVELS)
def test_missing_function_fails_only_its_tests(grade: GradeFn, reference_source: Callable[[str], str],
                                               isolation: str) -> None:
    """nll_loss deleted: its tests fail saying it is not defined; softmax and cross_entropy keep their points."""
    src = replace_function(reference_source("softmax_nll"), "nll_loss", "\n")
    assert "def nll_loss" not in src
    g = grade(src, select=select("test_nll_loss_mean", "test_nll_loss_rejects_out_of_range_target",
                                 "test_softmax_small", "test_cross_entropy_mean"), isolation=isolation)
    assert_honest_only(g, ("test_nll_loss_mean", "test_nll_loss_rejects_out_of_range_target"),
                       ("test_softmax_small", "test_cross_entropy_mean"),
                       r"raised AttributeError: softmax_nll\.py does not define 'nll_loss'")


# --------------------------------------------------------------------------- gaps found while writing these attacks

GUARD_GAPS = {
    "torch_ops_aten": """
        def softmax(logits, dim=-1):
            return torch.ops.aten._softmax(logits, dim, False)
        """,
    "variable_functions": """
        def softmax(logits, dim=-1):
            functions = torch.__dict__["_" + "C"]._VariableFunctions
            return getattr(functions, "soft" + "max")(logits, dim)
        """,
}


@pytest.mark.parametrize("code", list(GUARD_GAPS.values()), ids=list(GUARD_GAPS))
def test_banned_softmax_through_unguarded_paths(grade: GradeFn, reference_source: Callable[[str], str],
                                                code: str) -> None:
    """Other routes to PyTorch's own softmax kernel must be refused too (S5)."""
    src = replace_function(reference_source("softmax_nll"), "softmax", code)
    g = grade(src, select=select("test_softmax_small", "test_softmax_large_logits", "test_nll_loss_mean"),
              isolation="plain")
    assert_honest_only(g, ("test_softmax_small", "test_softmax_large_logits"), ("test_nll_loss_mean",),
                       r"does not allow")


SLOW_CROSS_ENTROPY = """

def cross_entropy(logits, targets, reduction="mean", label_smoothing=0.0):
    for _ in range(11):
        out = _cross_entropy_once(logits, targets, reduction, label_smoothing)
    return out
"""

TIMER_PATCH = """
try:
    import agworker.timing as _timing

    _run = _timing.run

    def _fast(*args, **kwargs):
        samples, last = _run(*args, **kwargs)
        return [s / 50 for s in samples], last

    _timing.run = _fast
    _timing.CpuClock.measure = lambda self, fn: (fn(), 1e-6)[1]
except ImportError:
    pass
"""


def _slow_cross_entropy(reference: str) -> str:
    return reference.replace("def cross_entropy(\n", "def _cross_entropy_once(\n", 1) + SLOW_CROSS_ENTROPY


def test_slow_cross_entropy_fails_the_speed_test(grade: GradeFn, reference_source: Callable[[str], str]) -> None:
    """Control for the timer attack below: eleven passes of the reference miss the 4x budget honestly."""
    g = grade(_slow_cross_entropy(reference_source("softmax_nll")), select="test_cross_entropy_speed",
              isolation="plain")
    assert_honest_only(g, ("test_cross_entropy_speed",), (), r"took [\d.]+x as long as PyTorch's built-in")


def test_patched_timer_earns_no_speed_points(grade: GradeFn, reference_source: Callable[[str], str]) -> None:
    """The same slow cross_entropy, plus patched timers reporting 50x faster samples: still 0 points.

    The verdict comes from the grader's own clock; the worker's samples are only recorded.
    """
    g = grade(_slow_cross_entropy(reference_source("softmax_nll")) + TIMER_PATCH, select="test_cross_entropy_speed",
              isolation="plain")
    assert_honest_only(g, ("test_cross_entropy_speed",), (), r"took [\d.]+x as long as PyTorch's built-in")
    record = next(iter(g.extra["tests"].values()))
    assert record["reported_median_ms"] < record["student_ms"] / 10 and record["ratio"] > record["budget"]
