"""The Zygote: a sandboxed fork server that hands out fresh workers without a Python start each.

``autograder mutants`` grades hundreds of variants of one file in turn. Starting a worker costs
a Python start and a torch import (1-2 s, most of a mutant's grading). A Zygote is started
once, like a worker but running ``worker.zygote``: it imports the runtime and installs the
guards, then forks a child per grading. Each child gets two fresh pipes (SCM_RIGHTS over a
Unix socket), imports the file written into the zygote's stage just before, and is a
``ForkedWorker`` here: the same framed protocol, deadlines and CPU clock as a ``Worker``, on
the child's host pid. Closing one kills that child and its descendants only; closing the
Zygote kills the lot. Students are never graded this way: their gradings start workers of
their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..assignment import Assignment
from ..errors import GraderError
from .proc_tree import descendants, kill
from .process import START_SECONDS, Worker
from .stage import Stage, prepare_stage

__all__ = ["ZYGOTE_BOOT", "ForkedWorker", "Zygote"]

ZYGOTE_BOOT = ("import sys; sys.path.insert(0, sys.argv[2]); from agworker.zygote import main; "
               "main(sys.argv[1], int(sys.argv[3]))")
GONE_SECONDS = 5.0
"""How long closing a forked worker waits for the zygote to reap it."""


@dataclass
class Child:
    """A forked worker's process as a ``Worker`` sees its ``proc``: host pid, request and reply pipes."""

    pid: int
    stdin: BinaryIO
    stdout: BinaryIO

    def poll(self) -> int | None:
        """None while the child lives; its exit status is the zygote's to collect, so 0 once gone."""
        return None if _running(self.pid) else 0

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait until the child is gone (None: it still runs after ``timeout``)."""
        deadline = time.monotonic() + (timeout if timeout is not None else GONE_SECONDS)
        while _running(self.pid):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)
        return None


@dataclass
class ForkedWorker(Worker):
    """A worker forked by a ``Zygote``: launching asks the zygote; closing kills this child only."""

    zygote: Zygote | None = None
    source: bytes = b""

    def launch(self) -> None:
        """Write the submitted file into the zygote's stage and fork a child to serve it."""
        if self.zygote is None:
            raise GraderError("a forked worker needs its zygote")
        self._launched = time.monotonic()
        self.proc = self.zygote.fork(self.source, self.trace_lines)  # type: ignore[assignment]
        self.cgroup = self.zygote.server.cgroup if self.zygote.server is not None else None

    def close(self) -> None:
        """SIGKILL the child and its descendants; the zygote reaps them."""
        proc, self.proc = self.proc, None
        if not isinstance(proc, Child):
            return
        for pid in [proc.pid, *descendants(proc.pid)]:
            kill(pid)
        proc.wait(GONE_SECONDS)
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    @property
    def alive(self) -> bool:
        return isinstance(self.proc, Child) and self.proc.poll() is None


@dataclass
class Zygote:
    """A fork server for one assignment's gradings in turn (one trusted process, one zygote)."""

    assignment: Assignment
    isolation: str
    device: str = "cpu"
    server: Worker | None = None
    control: socket.socket | None = None
    stage: Stage | None = None
    _folder: Any = field(default=None, repr=False)

    def worker(self, source: bytes, trace_lines: bool = False) -> ForkedWorker:
        """An unlaunched worker for ``source``: ``launch`` forks it from this zygote."""
        if self.stage is None:
            self._folder = tempfile.TemporaryDirectory(prefix="ag-zygote-")
            self.stage = prepare_stage(Path(self._folder.name) / "stage", self.assignment, b"",
                                       self.assignment.preload)
        return ForkedWorker(self.stage, self.assignment.limits, self.isolation, self.device, zygote=self,
                            source=source, trace_lines=trace_lines)

    def fork(self, source: bytes, trace_lines: bool) -> Child:
        """Write ``source`` as the stage's submitted file and fork a child that serves it."""
        if self.server is None or not self.server.alive:
            self._start()
        assert self.server is not None and self.control is not None and self.stage is not None
        (self.stage.submission_dir / f"{self.stage.module_name}.py").write_bytes(source)
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        try:
            socket.send_fds(self.control, [json.dumps({"op": "fork", "trace_lines": trace_lines}).encode()],
                            [request_r, reply_w])
            answer = self.server._read(time.monotonic() + START_SECONDS, during="forking a worker")
        except BaseException:
            for fd in (request_w, reply_r):
                os.close(fd)
            self.close()
            raise
        finally:
            os.close(request_r)
            os.close(reply_w)
        if answer.header.get("op") != "forked":
            raise GraderError(f"the zygote did not fork: {answer.header}")
        pid = self._host_pid(int(answer.header["pid"]))
        return Child(pid, os.fdopen(request_w, "wb", buffering=0), os.fdopen(reply_r, "rb", buffering=0))

    def _start(self) -> None:
        """Start the zygote process (in the sandbox) and wait for its hello."""
        self.close()
        if self.stage is None:
            self.worker(b"")
        assert self.stage is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        server = Worker(self.stage, self.assignment.limits, self.isolation, self.device, boot=ZYGOTE_BOOT,
                        pass_fds=(theirs.fileno(),))
        try:
            server.launch()
        finally:
            theirs.close()
        self.server, self.control = server, ours
        hello = server._read(time.monotonic() + START_SECONDS, during="starting the zygote")
        if hello.header.get("op") != "hello":
            raise GraderError(f"the zygote did not say hello: {hello.header}")

    def _host_pid(self, inner: int) -> int:
        """The host pid of the zygote's child ``inner`` (a pid in the sandbox's namespace)."""
        assert self.server is not None and self.server.proc is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            for pid in descendants(self.server.proc.pid):
                if _inner_pid(pid) == inner:
                    return pid
            time.sleep(0.001)
        raise GraderError(f"the zygote's child {inner} was not found")

    def close(self) -> None:
        """Kill the zygote and every child it forked; safe to call twice."""
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.server is not None:
            self.server.close()
            self.server = None

    def shut(self) -> None:
        """Close the zygote and remove its stage."""
        self.close()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder, self.stage = None, None


def _inner_pid(pid: int) -> int | None:
    """The pid of ``pid`` in its innermost pid namespace (the last NSpid entry), None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    return None


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
