"""How a request reaches the student's code: a sandboxed worker (grading) or this process (local mode).

``SandboxTransport`` keeps one live worker, launched early or on the first request and
restarted after a crash. ``LocalTransport`` runs the dispatcher in-process, each request in a
daemon thread with the assignment's time limit, so a debugger works. Neither imports torch:
``grade`` launches the worker before the grader imports it, and the two imports overlap.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from . import hints
from .errors import WorkerCrash
from .worker.protocol import Reply
from .worker.serve import Dispatcher, WorkerConfig

if TYPE_CHECKING:  # the sandbox is Linux-only grading code: local mode (any OS) never imports it
    from .sandbox import Stage, Worker

__all__ = ["LOCAL_TIMEOUT_HINT", "LocalTransport", "SandboxTransport", "Transport"]


class Transport(Protocol):
    """Carries one encoded request to wherever the student's code runs."""

    def exchange(self, header: dict[str, Any], blobs: list[bytes], timeout: float | None = None) -> Reply: ...

    def close(self) -> None: ...


LOCAL_TIMEOUT_HINT = "look for an infinite loop, or a Python loop over elements that should be vectorized."


class LocalTransport:
    """In-process: the student's module is imported here (local mode only, never when grading).

    Each request runs in a daemon thread, and the caller stops waiting after ``call_seconds``
    (the assignment's ``[limits] call_seconds``, as when grading): an endless loop fails its
    test instead of hanging pytest, on any OS. The abandoned thread is asked to stop (an
    exception raised in it at its next Python instruction); if it cannot be stopped, it is a
    daemon and does not keep pytest from exiting. While a debugger is stepping through the
    student's code, the limit waits. A request's CPU time is that of its own thread, the one
    thread the yardstick's clock also counts: what the host process's other threads do (a
    notebook kernel's, pytest-xdist's, a spinning OpenMP worker's) is no part of the student's
    time. (The graded worker is a process of its own, and its whole tree is clocked.)
    """

    def __init__(self, config: WorkerConfig, call_seconds: float | None = None) -> None:
        self.dispatcher = Dispatcher(config, capture=False)
        self.call_seconds = call_seconds
        self.import_crash: WorkerCrash | None = None
        ready = _within(self.dispatcher.load, call_seconds)
        if not ready:
            self.import_crash = WorkerCrash(
                f"Importing your module did not finish within the time limit ({call_seconds:g} s) and was stopped.",
                "look for an endless loop or a long computation at the top level of your file, outside any function.")
        self.ready: dict[str, Any] = ready[0] if ready else {}

    def exchange(self, header: dict[str, Any], blobs: list[bytes], timeout: float | None = None) -> Reply:
        """Run one request here, in a thread given at most ``timeout`` (else ``call_seconds``) seconds."""
        if self.import_crash is not None:
            raise self.import_crash
        limit = timeout if timeout is not None else self.call_seconds
        wall = time.monotonic()
        answer = _within(lambda: _thread_clocked(lambda: self.dispatcher.handle(header, blobs)), limit)
        if not answer:
            raise WorkerCrash(f"did not finish within the time limit ({limit:.3g} s per call, as when grading) "
                              "and was stopped.", LOCAL_TIMEOUT_HINT, timed_out=True)
        (reply, out), cpu = answer[0]
        return Reply(reply, out, time.monotonic() - wall, cpu)

    def close(self) -> None:
        """Nothing to release in-process."""


class _Abandoned(BaseException):
    """Raised inside a student call the caller stopped waiting for, to end its thread."""


_T = TypeVar("_T")


def _within(fn: Callable[[], _T], seconds: float | None) -> list[_T]:
    """``[fn()]``, run in a daemon thread; ``[]`` if it is still running after ``seconds`` (then it is stopped)."""
    box: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller (or dropped once abandoned)
            failure.append(exc)

    thread = threading.Thread(target=target, name="autograder-student-call", daemon=True)
    thread.start()
    try:
        thread.join(seconds)
        while thread.is_alive() and seconds is not None and _debugged(thread):
            thread.join(seconds)
    finally:
        if thread.is_alive():
            _stop(thread)
    if failure:
        raise failure[0]
    return box


def _thread_clocked(fn: Callable[[], _T]) -> tuple[_T, float]:
    """``fn()``, and the CPU time this thread spent on it (not the time of the process's other threads)."""
    started = time.thread_time()
    value = fn()
    return value, time.thread_time() - started


def _debugged(thread: threading.Thread) -> bool:
    """Whether a debugger (pdb, an IDE's) is tracing the thread's code: then a time limit would cut it off."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_trace is not None:
            return True
        frame = frame.f_back
    return False


def _stop(thread: threading.Thread) -> None:
    """Raise ``_Abandoned`` in ``thread`` at its next Python instruction (CPython; elsewhere it runs on)."""
    set_async_exc = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
    if set_async_exc is not None and thread.ident is not None:
        set_async_exc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Abandoned))


@dataclass
class SandboxTransport:
    """Grading mode: a sandboxed worker, restarted after a crash, started early or on the first request."""

    stage: Stage
    worker_factory: Any
    """Callable returning a fresh, unstarted Worker."""
    worker: Worker | None = None
    import_crash: WorkerCrash | None = None
    starts: int = 0
    crashes: int = 0
    """Requests that ended with the worker gone (a crash or a timeout)."""
    start_seconds: list[float] = field(default_factory=list)
    ready: dict[str, Any] = field(default_factory=dict)
    process_cap: bool = False
    """Whether the last worker ran under a pids cgroup (a hard cap on its processes)."""
    booting: Worker | None = None
    """The first worker, launched early (``start_early``) and not yet asked whether it is ready."""

    def start_early(self) -> None:
        """Launch the first worker now: it boots while pytest collects and the first test prepares its
        inputs, and the first request waits for the rest (the same worker, errors included)."""
        if self.worker is not None or self.booting is not None:
            return
        worker: Worker = self.worker_factory()
        try:
            worker.launch()
        except Exception:  # noqa: BLE001 - the first request starts one again, and reports the failure in its test
            worker.close()
            return
        self.booting = worker

    def exchange(self, header: dict[str, Any], blobs: list[bytes], timeout: float | None = None) -> Reply:
        """One request to a live worker; a crash is raised once and a fresh worker serves the next."""
        if self.import_crash is not None:
            raise self.import_crash
        if self.worker is None or not self.worker.alive:
            self._start()
        assert self.worker is not None
        try:
            return self.worker.request(header, blobs, timeout)
        except WorkerCrash:
            self.crashes += 1
            self.worker.close()
            self.worker = None
            raise

    def _start(self) -> None:
        """A started worker: the one launched early if there is one, else a fresh one."""
        worker, launched = (self.booting, True) if self.booting is not None else (self.worker_factory(), False)
        self.booting = None
        self.starts += 1
        try:
            self.ready = worker.wait_ready() if launched else worker.start()
        except WorkerCrash as crash:
            worker.close()
            self.import_crash = hints.import_crash(crash)
            raise self.import_crash from None
        except BaseException:
            worker.close()
            raise
        self.start_seconds.append(worker.start_seconds)
        self.process_cap = worker.cgroup is not None
        self.worker = worker

    def close(self) -> None:
        for worker in (self.booting, self.worker):
            if worker is not None:
                worker.close()
        self.booting = self.worker = None
