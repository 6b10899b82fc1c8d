"""The student's code as the tests see it: ``student.call("softmax", x, dim=1)``.

Two transports (``transport.py``), one interface. In grading mode requests go to the
sandboxed worker (a fresh one after any crash); in local mode (students running public tests
with plain ``pytest``) the same dispatcher runs in-process, so a debugger works. Either way
the values cross the same plain-data encoding, so a test behaves identically in both.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from . import compare, hints
from .assignment import Banned
from .errors import CheckFailed, GraderError, WorkerCrash
from .static_checks import Report
from .transport import Transport
from .worker import protocol
from .worker.protocol import Reply
from .worker.serve import BannedApis, WorkerConfig

SIZE_CLASSES = ("small", "scale", "performance")
"""A test's size class (``@graded(size=...)``), in the order tests run: a timeout refuses later calls of
that function only in tests of the same or a larger class."""
SLOW_HINT = ("it is correct on smaller inputs but too slow on large ones: look for a scan of a list inside a loop "
             "(`x in a_list`), or a Python loop over rows or elements that should be vectorized.")
_running: contextvars.ContextVar[tuple[int, str]] = contextvars.ContextVar("running_test", default=(0, ""))


@contextlib.contextmanager
def running_test(size: str, title: str) -> Iterator[None]:
    """Within the block, calls belong to a test of this size class (``small``, ``scale``, ``performance``)."""
    token = _running.set((SIZE_CLASSES.index(size), title))
    try:
        yield
    finally:
        _running.reset(token)

__all__ = ["Outcome", "Student", "StudentError", "TimedRun"]


@dataclass(frozen=True)
class StudentError:
    """An exception raised by the student's code, as plain data."""

    type: str
    message: str
    line: int | None
    code: str | None
    ancestors: tuple[str, ...]
    """Qualified names of the exception class and its bases."""
    banned: bool

    def is_a(self, name: str) -> bool:
        """True if the exception is ``name`` or a subclass of it."""
        return name in self.ancestors

    def describe(self, module_file: str) -> str:
        """``ValueError: bad dim (softmax_nll.py line 12: `raise ...`)``."""
        where = f" ({module_file} line {self.line}: `{self.code}`)" if self.line else ""
        return f"{self.type}: {self.message}{where}"


@dataclass
class Outcome:
    """What one call gave back: a value or an error, the arguments after it, and prints."""

    value: Any = None
    error: StudentError | None = None
    args_after: list[Any] | None = None
    stdout: str = ""


@dataclass
class TimedRun:
    """One timed request: the worker's own samples, and the trusted side's clock for it."""

    samples: list[float]
    """Seconds per call as the worker measured them (for the record; never trusted)."""
    last: Any
    """The output of the last call (checked by the trusted side)."""
    trusted_seconds: float
    """The worker's CPU time over the request (wall time on CUDA), measured by the grader."""



class Student:
    """The handle tests use to run the student's functions, probes and timings."""

    def __init__(self, transport: Transport, report: Report, module_file: str, device: str = "cpu",
                 ignored: tuple[str, ...] = ()) -> None:
        self.ignored = ignored
        """The submission's other files (never used), for the hint when the student's file imports one."""
        self.transport = transport
        self.report = report
        self.module_file = module_file
        self.device = device
        self.timed_out: dict[str, str] = {}
        """Function name -> the message of its first timeout; later calls fail fast (same verdict, no wait)."""
        self.timed_out_in: dict[str, tuple[int, str]] = {}
        """Function name -> (size class, title) of the test whose call timed out; absent: a small test."""
        self.limit: float | None = None
        """Seconds each request may take (``time_limit``); None: the assignment's call limit."""
        self.lines: set[int] | None = None
        """When the worker traces (``autograder mutants``): the lines of the file the requests ran."""

    @contextlib.contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        """Within the block, each call and probe may take at most ``seconds`` (a timeout counts as any other)."""
        saved, self.limit = self.limit, seconds
        try:
            yield
        finally:
            self.limit = saved

    # ------------------------------------------------------------------ calls
    def call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` and return its value; any failure fails the test with the student's error."""
        return self._succeeded(fn, args, kwargs, return_args=False).value

    def outcome(self, fn: str, *args: Any, return_args: bool = False, **kwargs: Any) -> Outcome:
        """Call ``fn`` and return everything it gave back (a student exception is data here)."""
        return self._request({"op": "call", "fn": fn, "return_args": return_args}, fn, args, kwargs)

    def call_with_args(self, fn: str, *args: Any, **kwargs: Any) -> tuple[Any, list[Any] | None]:
        """Like ``call``, and also return the arguments as they were after the call."""
        outcome = self._succeeded(fn, args, kwargs, return_args=True)
        return outcome.value, outcome.args_after

    def _succeeded(self, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any], return_args: bool) -> Outcome:
        """The outcome of a call that must not raise; a student exception fails the test with a hint."""
        outcome = self.outcome(fn, *args, return_args=return_args, **kwargs)
        if outcome.error is not None:
            raise CheckFailed(f"{self.signature(fn, args, kwargs)} raised {outcome.error.describe(self.module_file)}",
                              _hint_for(outcome.error))
        return outcome

    def raises(self, exc_type: str, fn: str, *args: Any, **kwargs: Any) -> StudentError:
        """``fn`` raises ``exc_type`` (or a subclass) for these arguments."""
        outcome = self.outcome(fn, *args, **kwargs)
        call = self.signature(fn, args, kwargs)
        if outcome.error is None:
            raise CheckFailed(f"{call} returned normally", f"it must raise {exc_type} for this input.")
        if not outcome.error.is_a(exc_type):
            hint = _hint_for(outcome.error) if outcome.error.is_a("NotImplementedError") else ""
            raise CheckFailed(f"{call} raised {outcome.error.describe(self.module_file)}",
                              hint or f"it must raise {exc_type} for this input.")
        return outcome.error

    def raises_naming(self, names: tuple[str, ...], fn: str, /, *args: Any, **kwargs: Any) -> StudentError:
        """``fn`` raises ValueError with a message that names the offending argument (one of ``names``)."""
        error = self.raises("ValueError", fn, *args, **kwargs)
        compare.expect_names(error.message, names, self.signature(fn, args, kwargs))
        return error

    def probe(self, name: str, *args: Any, uses: tuple[str, ...], **kwargs: Any) -> Any:
        """Run a trusted probe beside the student's code; ``uses`` names the student's functions it runs."""
        for fn in uses:
            self._check_static(fn)
        outcome = self._request({"op": "probe", "probe": name, "uses": list(uses)}, None, args, kwargs)
        if outcome.error is not None:
            raise CheckFailed(f"while running your {', '.join(uses)}: {outcome.error.describe(self.module_file)}",
                              _hint_for(outcome.error))
        return outcome.value

    def run_timed(self, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any], calls: int,
                  timeout: float | None = None, uses: tuple[str, ...] = ()) -> TimedRun:
        """Run ``fn`` ``calls`` times in the worker on nudged inputs, clocked by the grader.

        With ``uses``, ``fn`` names a probe that runs those functions of the student's (for
        classes and graphs, which cannot cross the wire).
        """
        if uses:
            for name in uses:
                self._check_static(name)
            header: dict[str, Any] = {"op": "time", "probe": fn, "uses": list(uses), "calls": calls}
            outcome, reply = self._exchange(header, None, args, kwargs, timeout)
        else:
            outcome, reply = self._exchange({"op": "time", "fn": fn, "calls": calls}, fn, args, kwargs, timeout)
        if outcome.error is not None:
            raise CheckFailed(f"timing {self.signature(fn, args, kwargs)}: it raised "
                              f"{outcome.error.describe(self.module_file)}",
                              _hint_for(outcome.error) if outcome.error.is_a("NotImplementedError")
                              else "it must run correctly first.")
        value = outcome.value if isinstance(outcome.value, dict) else {}
        raw = value.get("samples")
        samples: list[Any] = raw if isinstance(raw, list) else []
        clean = [float(x) for x in samples if type(x) is float and math.isfinite(x)][:calls]
        trusted = reply.wall_seconds if self.device.startswith("cuda") else reply.cpu_seconds
        return TimedRun(clean, value.get("last"), trusted)

    # ------------------------------------------------------------------ internals
    def signature(self, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """``softmax(<4x7 float32 tensor>, dim=1)`` for messages."""
        parts = [compare.describe(a) for a in args] + [f"{k}={compare.describe(v)}" for k, v in kwargs.items()]
        return f"{fn}({', '.join(parts)})"

    def import_failure(self) -> CheckFailed | None:
        """The failure to report if the student's file raised while being imported (None if it did not)."""
        info = getattr(self.transport, "ready", {}).get("import_error")
        if not isinstance(info, dict) or not info:
            return None
        return CheckFailed(*hints.import_failure(_student_error(info), self.module_file, self.ignored))

    def _check_static(self, fn: str) -> None:
        """Fail at once if the file does not parse, ``fn`` reaches a banned API, or ``fn`` already hung."""
        strike, title = self.timed_out_in.get(fn, (0, ""))
        if fn in self.timed_out and _running.get()[0] >= strike:
            if strike == 0:
                raise CheckFailed(f"{fn} was not run again: an earlier call {self.timed_out[fn]}",
                                  "look for an infinite loop, or a Python loop over elements that should be "
                                  "vectorized.")
            raise CheckFailed(f"not run: {fn} did not finish within the time limit in the earlier test \"{title}\", "
                              f"so it is not run again on inputs that large; every test on smaller inputs ran it "
                              f"as usual", SLOW_HINT)
        blocker = self.report.blocker(fn)
        if blocker is not None:
            raise CheckFailed(*blocker)

    def _request(self, header: dict[str, Any], fn: str | None, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Outcome:
        return self._exchange(header, fn, args, kwargs, self.limit)[0]

    def _note_lines(self, head: dict[str, Any]) -> None:
        """Add the lines a traced worker says the request ran (``autograder mutants``; our own code there)."""
        if self.lines is not None:
            self.lines.update(int(n) for n in head.get("lines", ()))

    def _exchange(self, header: dict[str, Any], fn: str | None, args: tuple[Any, ...],
                  kwargs: dict[str, Any], timeout: float | None) -> tuple[Outcome, Reply]:
        """Encode, send, decode; crashes and banned hits become student-facing failures."""
        if fn is not None:
            self._check_static(fn)
        tree_args, blobs = protocol.encode(list(args), device=self.device)
        tree_kwargs, blobs = protocol.encode(dict(kwargs), device=self.device, blobs=blobs)
        request = dict(header, args=tree_args, kwargs=tree_kwargs, device=self.device)
        what = self.signature(fn, args, kwargs) if fn else f"running your {', '.join(header.get('uses', []))}"
        try:
            reply = self.transport.exchange(request, blobs, timeout)
        except WorkerCrash as crash:
            if crash.timed_out:
                for name in [fn] if fn else header.get("uses", []):
                    if name not in self.timed_out or _running.get()[0] < self.timed_out_in.get(name, (0, ""))[0]:
                        self.timed_out[name] = f"did not finish within the time limit ({what})"
                        self.timed_out_in[name] = _running.get()
            raise CheckFailed(f"{what}: {crash.problem}", crash.hint) from None
        head = reply.header
        self._note_lines(head)
        if "grader_error" in head:
            raise GraderError(f"worker refused a request: {head['grader_error']}")
        if head.get("banned_hits"):
            raise CheckFailed(f"{what} called {', '.join(map(str, head['banned_hits']))}, which this assignment "
                              "does not allow", "rewrite it with elementary tensor operations.")
        try:
            outcome = Outcome(stdout=str(head.get("stdout", ""))[:100_000])
            if head.get("ok") is True:
                outcome.value = protocol.decode(head.get("value"), reply.blobs)
                if "args_after" in head:
                    after = protocol.decode(head["args_after"], reply.blobs)
                    outcome.args_after = after if isinstance(after, list) else None
            else:
                outcome.error = _student_error(head.get("error"))
                if (failed := self.import_failure()) is not None:
                    raise failed
        except (protocol.WireError, TypeError, KeyError, ValueError) as exc:
            raise CheckFailed(f"{what}: the result could not be read back ({exc})",
                              "return plain tensors / numbers.") from None
        return outcome, reply


_T = TypeVar("_T")
_U = TypeVar("_U")


def beside(trusted: Callable[[], _T], student_call: Callable[[], _U]) -> tuple[_U, _T]:
    """``(student_call(), trusted())``, with ``trusted`` run in a thread here while the student's call runs.

    For a test whose expected value is costly (a 200-step torch.optim trajectory): the grader
    computes it on its own core while it waits for the worker, so the test takes the longer of
    the two, not their sum. ``trusted`` must not depend on the student's result. A failure of
    the student's call is raised once ``trusted`` has ended (no thread outlives the test).
    """
    box: list[_T] = []
    failure: list[BaseException] = []

    def compute() -> None:
        try:
            box.append(trusted())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's own thread
            failure.append(exc)

    thread = threading.Thread(target=compute, name="autograder-trusted", daemon=True)
    thread.start()
    try:
        got = student_call()
    finally:
        thread.join()
    if failure:
        raise failure[0]
    return got, box[0]


def _hint_for(error: StudentError) -> str:
    """A next step that fits the exception the student's code raised."""
    return hints.for_exception(error)


def _student_error(info: Any) -> StudentError:
    """Validate an error description from the worker (untrusted plain data)."""
    if not isinstance(info, dict):
        raise ValueError("malformed error report")
    line = info.get("line")
    raw_mro = info.get("mro")
    mro: list[Any] = raw_mro if isinstance(raw_mro, list) else []
    return StudentError(
        type=str(info.get("type", "Exception"))[:200],
        message=str(info.get("message", ""))[:1000],
        line=line if type(line) is int else None,
        code=str(info["code"])[:300] if info.get("code") else None,
        ancestors=tuple(str(m)[:100] for m in mro[:20]),
        banned=info.get("banned") is True,
    )


def local_config(module_path: Path, assignment_name: str, probes: Path | None, banned: Banned,
                 preload: tuple[str, ...]) -> WorkerConfig:
    """Worker configuration for local (in-process) mode."""
    return WorkerConfig(
        module_name=assignment_name,
        module_path=str(module_path),
        probes_path=str(probes) if probes and probes.is_file() else None,
        banned=BannedApis.of(banned),
        preload=list(preload),
        threads=1,
    )
