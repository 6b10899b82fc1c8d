"""The untrusted side: load the student's module and answer the grader's requests.

In grading mode this runs inside the sandbox (``python -I`` with only the runtime, the
submission and the probe code visible) and talks plain data over two pipes. In local
mode (a student running the public tests) the same ``Dispatcher`` runs in-process, so
one test body serves both modes.

Load order matters: torch, then the assignment's probes (which capture the yardsticks),
then the run-time guard, then the student's module.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import linecache
import os
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, BinaryIO, NoReturn

from . import guard, protocol, timing
from .lines import LineTracer

__all__ = ["Dispatcher", "WorkerConfig", "main", "protocol_streams", "read_config", "serve"]


@dataclass
class BannedApis:
    """The assignment's banned APIs as the worker enforces them (``assignment.Banned`` without its reason)."""

    calls: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    aten: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, banned: Any) -> BannedApis:
        """From an ``assignment.Banned`` (not imported: this package runs alone in the sandbox)."""
        return cls(list(banned.calls), list(banned.methods), list(banned.aten))


@dataclass
class WorkerConfig:
    """What the worker needs to know; written by the trusted side as config.json."""

    module_name: str
    module_path: str
    probes_path: str | None = None
    banned: BannedApis = field(default_factory=BannedApis)
    preload: list[str] = field(default_factory=list)
    threads: int = 1
    output_cap: int = 64 * 1024
    trace_lines: bool = False
    """Report the lines of the student's file each request ran (``autograder mutants`` only, never a student)."""


class CappedText(io.TextIOBase):
    """A text sink that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def write(self, s: str) -> int:
        s = str(s)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self) -> str:
        tail = f"\n... ({self.dropped} more characters not shown)" if self.dropped else ""
        return "".join(self.parts) + tail


def error_info(exc: BaseException, module_path: str) -> dict[str, Any]:
    """Describe a student exception as plain data: type, message, line in the student's file."""
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__
        message = "<the exception's message could not be printed>"
    info: dict[str, Any] = {"type": name[:200], "message": message[:1000], "line": None, "code": None}
    info["banned"] = isinstance(exc, guard.BannedCallError)
    info["mro"] = [c.__qualname__[:100] for c in cls.__mro__][:20]
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == module_path:
            info["line"] = lineno
            info["code"] = linecache.getline(module_path, lineno).strip()[:300]
    return info


class Dispatcher:
    """Holds the student's module and serves call / probe / time requests."""

    def __init__(self, config: WorkerConfig, capture: bool = True) -> None:
        self.config = config
        self.capture = capture
        self.module: ModuleType | None = None
        self.probes: ModuleType | None = None
        self.import_error: dict[str, Any] | None = None
        self.last_exception: BaseException | None = None
        self.hits: list[str] = []
        self._torch: Any = None
        self._view: Any = None
        self._add_: Any = None
        self._set_threads: Any = None
        self._aten_kernels: Any = None
        """The banned operators' replaced kernels (``guard.refuse_aten``): they last as long as this holds them."""
        self._aten_mode: Any = None
        self.tracer = LineTracer(config.module_path) if config.trace_lines else None

    # ------------------------------------------------------------------ start-up
    def load(self) -> dict[str, Any]:
        """Prepare the runtime, then import the student's module."""
        self.prepare()
        return self.import_student()

    def prepare(self) -> None:
        """Import the runtime and the probes and install the guards: grader code only."""
        for name in self.config.preload:
            importlib.import_module(name)
        self._torch = sys.modules.get("torch")
        if self._torch is not None:
            # Captured before any student code runs: the timing path uses these originals.
            self._view, self._add_ = self._torch.Tensor.view, self._torch.Tensor.add_
            self._set_threads = self._torch.set_num_threads
            self._set_threads(self.config.threads)
        if self.config.probes_path:
            self.probes = _import_file("assignment_probes", self.config.probes_path)
        guard.install(self.config.banned.calls, self.config.banned.methods, self.config.module_path, self.hits)
        if self.capture:  # the sandboxed worker; never in a student's own local pytest process
            guard.block_network()
        banned = (self.config.banned.aten, self.config.module_path, self.hits)
        self._aten_kernels = guard.refuse_aten(*banned)
        if self._aten_kernels is None:
            self._aten_mode = guard.aten_guard(*banned)

    def import_student(self) -> dict[str, Any]:
        """Import the student's module; any failure is recorded as the student's import error."""
        out = CappedText(self.config.output_cap)
        if self.tracer is not None:
            self.tracer.install()
        try:
            with _redirect(out, self.capture):
                self.module = _import_file(self.config.module_name, self.config.module_path)
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, anything
            self.last_exception = exc
            self.import_error = error_info(exc, self.config.module_path)
        ready = {"op": "ready", "import_error": self.import_error, "stdout": out.text(), "pid": os.getpid()}
        return self._with_lines(ready)

    def _with_lines(self, reply: dict[str, Any]) -> dict[str, Any]:
        """The reply, with the lines of the student's file run since the last reply when tracing."""
        if self.tracer is not None:
            reply["lines"] = self.tracer.take()
        return reply

    # ------------------------------------------------------------------ requests
    def handle(self, header: dict[str, Any], blobs: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """Answer one request; student exceptions become an ``error`` field, never a crash."""
        op = header.get("op")
        handler: Callable[..., Any] | None = {"call": self._call, "probe": self._probe, "time": self._time}.get(str(op))
        if handler is None:
            return {"ok": False, "grader_error": f"unknown op {op!r}"}, []
        device = str(header.get("device", "cpu"))
        try:
            args = protocol.decode(header.get("args", {"t": "list", "items": []}), blobs, materialize=True)
            kwargs = protocol.decode(header.get("kwargs", {"t": "dict", "items": {}}), blobs, materialize=True)
        except protocol.WireError as exc:
            return {"ok": False, "grader_error": f"bad request: {exc}"}, []
        out = CappedText(self.config.output_cap)
        self.hits.clear()
        if self.tracer is not None:
            self.tracer.install()  # again: a timing request clears trace hooks
        reply: dict[str, Any] = {"ok": True}
        out_blobs: list[bytes] = []
        try:
            with _redirect(out, self.capture), self._guarded(str(op)):
                value = handler(header, list(args), kwargs)
            reply["value"], out_blobs = protocol.encode(value)
            if header.get("return_args"):
                reply["args_after"], out_blobs = protocol.encode(list(args), blobs=out_blobs)
        except BaseException as exc:  # noqa: BLE001 - the student's failure is data
            self.last_exception = exc
            reply = {"ok": False, "error": error_info(exc, self.config.module_path)}
            out_blobs = []
        reply["stdout"] = out.text()
        reply["banned_hits"] = sorted(set(self.hits))
        reply["device"] = device
        return self._with_lines(reply), out_blobs

    def _guarded(self, op: str) -> Any:
        """The banned-operator mode for calls and probes, where ``refuse_aten`` is not available (not timings:
        they are checked before)."""
        if self._aten_mode is None or op == "time":
            return contextlib.nullcontext()
        return self._aten_mode()

    def _student(self) -> ModuleType:
        """The student's module, or the import failure re-raised for this request."""
        if self.module is None:
            raise ImportError("your module failed to import: " + str((self.import_error or {}).get("message")))
        return self.module

    def _function(self, name: str) -> Any:
        """A top-level attribute of the student's module, with a helpful error if missing."""
        module = self._student()
        if not hasattr(module, name):
            raise AttributeError(f"{self.config.module_name}.py does not define {name!r}")
        return getattr(module, name)

    def _call(self, header: dict[str, Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self._function(str(header["fn"]))(*args, **kwargs)

    def _probe_function(self, name: str) -> Callable[..., Any]:
        """A probe bound to the student's module: ``probe(module, *args, **kwargs)``."""
        fn = getattr(self.probes, name, None) if self.probes is not None else None
        if fn is None or name.startswith("_"):
            raise LookupError(f"grader bug: no probe named {name!r}")
        module = self._student()
        return lambda *args, **kwargs: fn(module, *args, **kwargs)

    def _probe(self, header: dict[str, Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self._probe_function(str(header["probe"]))(*args, **kwargs)

    def _time(self, header: dict[str, Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Run a student function (or a probe using them) ``calls`` times on nudged inputs (clocked outside)."""
        fn = self._probe_function(str(header["probe"])) if "probe" in header else self._function(str(header["fn"]))
        torch = self._torch
        device = str(header.get("device", "cpu"))
        if device.startswith("cuda"):
            clock: timing.Clock = timing.CudaEventClock(torch.cuda)
        else:
            if torch is not None:
                self._set_threads(1)
            clock = timing.CpuClock()
        nudge = timing.perturbation(args, self._view, self._add_)
        samples, last = timing.run(fn, args, kwargs, int(header.get("calls", 1)), clock, nudge)
        return {"samples": samples, "last": last}


class _redirect:
    """Send sys.stdout / sys.stderr to a capped sink for the duration of a block."""

    def __init__(self, sink: CappedText, active: bool) -> None:
        self.sink, self.active = sink, active

    def __enter__(self) -> None:
        if self.active:
            self.saved = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = self.sink  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        if self.active:
            sys.stdout, sys.stderr = self.saved


def _import_file(name: str, path: str) -> ModuleType:
    """Import one file as module ``name`` (registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def read_config(config_path: str) -> WorkerConfig:
    """The worker's settings, from the config.json the trusted side wrote."""
    with open(config_path, encoding="utf-8") as fh:
        data = json.load(fh)
    return WorkerConfig(**dict(data, banned=BannedApis(**data.get("banned", {}))))


def protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """The request and reply pipes (given as stdin and stdout); fds 0-2 then point at /dev/null."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    return proto_in, proto_out


def main(config_path: str) -> None:
    """Serve requests on the pipes the grader gave as stdin/stdout until told to exit."""
    config = read_config(config_path)
    proto_in, proto_out = protocol_streams()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    timing.fix_allocator()
    dispatcher = Dispatcher(config)
    dispatcher.prepare()
    serve(dispatcher, proto_in, proto_out)


def serve(dispatcher: Dispatcher, proto_in: BinaryIO, proto_out: BinaryIO) -> NoReturn:
    """Say hello, import the student's module, then answer requests until told to exit."""
    protocol.write_message(proto_out, {"op": "hello"})  # the runtime works; no student code has run yet
    protocol.write_message(proto_out, dispatcher.import_student())
    while True:
        try:
            header, blobs = protocol.read_message(proto_in)
        except EOFError:
            os._exit(0)
        if header.get("op") == "exit":
            os._exit(0)
        reply, out_blobs = dispatcher.handle(header, blobs)
        protocol.write_message(proto_out, reply, out_blobs)


if __name__ == "__main__":
    main(sys.argv[1])
