"""The Worker: one live sandboxed process serving one submission, with framed I/O and deadlines."""

from __future__ import annotations

import json
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import user_slots
from ..assignment import Limits
from ..errors import GraderError, ProtocolError, WorkerCrash
from ..worker import protocol
from ..worker.protocol import Reply
from ..worker.serve import BannedApis, WorkerConfig
from .cgroup import make_cgroup
from .cpu_clock import tree_cpu_seconds
from .isolation import ro_runtime_binds
from .reaping import LIVE_WORKERS, become_subreaper, kill_group
from .stage import Stage

__all__ = ["BOOT", "SANDBOX_ROOT", "START_SECONDS", "Worker"]

SANDBOX_ROOT = "/sandbox"
BOOT = "import sys; sys.path.insert(0, sys.argv[2]); from agworker.serve import main; main(sys.argv[1])"
START_SECONDS = 30.0
"""Allowance for starting Python and importing torch, on top of the per-call limit for the module's own code."""


@dataclass
class Worker:
    """One live sandboxed process serving one submission."""

    stage: Stage
    limits: Limits
    isolation: str
    device: str = "cpu"
    env_extra: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    ready: dict[str, Any] = field(default_factory=dict)
    start_seconds: float = 0.0
    _launched: float = 0.0
    limit: float = 0.0
    """The time limit of the request in progress, in seconds (the call limit unless a test set a shorter one)."""
    _stderr: Any = None
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    """Marks the worker's environment, so escaped descendants can be found and killed."""
    cgroup: Path | None = None
    """The worker's own pids cgroup (process cap, and a complete list of its processes), if available."""
    slot: user_slots.UserSlot | None = None
    """The sandbox uid of a ``user``-level worker, held while it lives."""
    trace_lines: bool = False
    """Report the lines of the submitted file each request ran (``autograder mutants`` only)."""
    python: str = field(default_factory=lambda: sys.executable)
    """The interpreter the worker runs (with the grader's packages); at the ``user`` level it must be
    runnable by an unprivileged user."""
    boot: str = BOOT
    """The Python code the process runs (``zygote.ZYGOTE_BOOT`` for a fork server)."""
    pass_fds: tuple[int, ...] = ()
    """File descriptors the process inherits, named after the config path in its arguments."""

    # ------------------------------------------------------------------ life cycle
    def start(self) -> dict[str, Any]:
        """Start the worker and wait for its ``ready`` message (import status of the module)."""
        self.launch()
        return self.wait_ready()

    def launch(self) -> None:
        """Start the worker's process and return at once: it boots (imports torch and the module) meanwhile.

        The process is started by the calling thread, which must outlive it (bubblewrap's
        ``--die-with-parent`` follows the thread that forked it).
        """
        config_path = self._write_config()
        cmd = self._command(config_path)
        if self.isolation == "user":
            self.slot = user_slots.acquire()
        self._private_tmp()
        self._stderr = tempfile.TemporaryFile()
        become_subreaper()
        self.cgroup = make_cgroup(self.token, self.limits.processes)
        self._launched = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                cwd=self.stage.submission_dir, env=self._env(), start_new_session=True,
                preexec_fn=self._set_limits, close_fds=True, pass_fds=self.pass_fds,
            )
        except OSError as exc:
            raise GraderError(f"cannot start the worker ({self.isolation}): {exc}") from exc
        LIVE_WORKERS.add(self.proc.pid)

    def wait_ready(self) -> dict[str, Any]:
        """Wait for the launched worker's ``hello`` and ``ready`` messages; the import status of the module."""
        if self.proc is None:
            raise GraderError("waiting for a worker that was not launched")
        try:
            hello = self._read(self._launched + START_SECONDS, during="starting")
        except (WorkerCrash, ProtocolError) as crash:
            # Nothing of the student's has run yet: this is the grader's (or the machine's) failure.
            raise GraderError(f"the {self.isolation} worker failed to start ({crash}): "
                              f"{self._stderr_text() or 'no output'}") from crash
        if hello.header.get("op") != "hello":
            raise GraderError(f"the {self.isolation} worker did not say hello: {hello.header}")
        deadline = time.monotonic() + START_SECONDS + self.limits.call_seconds
        self.limit = self.limits.call_seconds
        reply = self._read(deadline, during="importing your module")
        self.start_seconds = time.monotonic() - self._launched
        if reply.header.get("op") != "ready":
            raise ProtocolError("the first message was not 'ready'")
        self.ready = reply.header
        return reply.header

    def close(self) -> None:
        """Kill the whole process group and reap it; safe to call twice."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        kill_group(proc, self.token, self.cgroup)
        self.cgroup = None
        if self.slot is not None:
            self.slot.release()
            self.slot = None
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    @property
    def tmp_dir(self) -> Path:
        """The worker's writable temporary folder outside bubblewrap (inside it, a private tmpfs)."""
        return self.stage.root / "tmp"

    def _private_tmp(self) -> None:
        """A fresh, empty temporary folder for this worker, owned by its user at the ``user`` level."""
        if self.isolation == "bubblewrap":
            return
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir.mkdir(mode=0o700)
        if self.slot is not None:
            os.chown(self.tmp_dir, self.slot.uid, self.slot.uid)
            for path in (self.stage.submission_dir / f"{self.stage.module_name}.py", self.stage.runtime_dir):
                if not user_slots.readable_by_others(path):
                    raise GraderError(f"the sandbox user cannot read {path}: make its parent folders searchable")

    def _stderr_text(self) -> str:
        """What the worker (or bwrap) printed before it could speak the protocol (last 2 kB)."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return str(self._stderr.read()[-2000:].decode("utf-8", "replace")).strip()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ------------------------------------------------------------------ requests
    def request(self, header: dict[str, Any], blobs: list[bytes], timeout: float | None = None) -> Reply:
        """Send one request and read its reply within ``timeout`` seconds (else kill)."""
        if self.proc is None:
            raise GraderError("request to a worker that is not running")
        self.limit = timeout or self.limits.call_seconds
        deadline = time.monotonic() + self.limit
        cpu_before = self.cpu_seconds()
        started = time.monotonic()
        self._write(header, blobs, deadline)
        reply = self._read(deadline, during="the call")
        reply.wall_seconds = time.monotonic() - started
        reply.cpu_seconds = max(0.0, self.cpu_seconds() - cpu_before)
        return reply

    def cpu_seconds(self) -> float:
        """user+system CPU seconds of the worker's process tree (the trusted clock)."""
        if self.proc is None:
            return 0.0
        return tree_cpu_seconds(self.proc.pid)

    # ------------------------------------------------------------------ internals
    def _write_config(self) -> Path:
        inside = self.isolation == "bubblewrap"
        sub = Path(SANDBOX_ROOT, "submission") if inside else self.stage.submission_dir
        run = Path(SANDBOX_ROOT, "runtime") if inside else self.stage.runtime_dir
        config = WorkerConfig(
            module_name=self.stage.module_name,
            module_path=str(sub / f"{self.stage.module_name}.py"),
            probes_path=str(run / "assignment_probes.py") if self.stage.has_probes else None,
            banned=BannedApis.of(self.stage.banned),
            preload=list(self.stage.preload),
            threads=1,
            output_cap=self.limits.output_kb * 1024,
            trace_lines=self.trace_lines,
        )
        path = self.stage.runtime_dir / "config.json"
        path.write_text(json.dumps(asdict(config)), encoding="utf-8")
        path.chmod(0o644)
        return Path(run / "config.json")

    def _command(self, config_path: Path) -> list[str]:
        python = [self.python, "-I", "-c", self.boot, str(config_path), str(config_path.parent),
                  *map(str, self.pass_fds)]
        if self.isolation != "bubblewrap":
            return python
        # Mount order matters: the private /tmp first, so a Python environment that lives under
        # /tmp on the host is bound on top of it rather than hidden by it.
        cmd = [
            "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534", "--hostname", "sandbox",
            "--size", str(self.limits.tmp_mb << 20), "--tmpfs", "/tmp",
            *ro_runtime_binds(),
            "--proc", "/proc", "--dev", "/dev",
            "--ro-bind", str(self.stage.submission_dir), f"{SANDBOX_ROOT}/submission",
            "--ro-bind", str(self.stage.runtime_dir), f"{SANDBOX_ROOT}/runtime",
            "--chdir", f"{SANDBOX_ROOT}/submission",
        ]
        if self.device.startswith("cuda"):
            for dev in sorted(Path("/dev").glob("nvidia*")):
                cmd += ["--dev-bind", str(dev), str(dev)]
        return [*cmd, "--", *python]

    def _env(self) -> dict[str, str]:
        """A minimal environment: nothing of the grader's, no secrets."""
        tmp = "/tmp" if self.isolation == "bubblewrap" else str(self.tmp_dir)
        env = {
            "PATH": "/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8", "TMPDIR": tmp,
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(self.env_extra)
        env["AG_WORKER"] = self.token
        return env

    def _set_limits(self) -> None:
        """rlimits for the worker (runs in the child between fork and exec)."""
        lim = self.limits
        mb = 1 << 20
        pairs = [
            (resource.RLIMIT_CPU, lim.worker_cpu_seconds),
            (resource.RLIMIT_FSIZE, lim.file_size_mb * mb),
            (resource.RLIMIT_NOFILE, lim.open_files),
            (resource.RLIMIT_CORE, 0),
        ]
        if not self.device.startswith("cuda"):
            pairs.append((resource.RLIMIT_AS, lim.memory_mb * mb))
        if self.slot is not None:
            pairs.append((resource.RLIMIT_NPROC, lim.processes))  # counted per user: this slot's uid only
        for which, value in pairs:
            resource.setrlimit(which, (value, value))
        if self.cgroup is not None:
            with open(self.cgroup / "cgroup.procs", "w", encoding="ascii") as fh:
                fh.write(str(os.getpid()))
        if self.slot is not None:
            user_slots.drop_to(self.slot.uid)

    def _write(self, header: dict[str, Any], blobs: list[bytes], deadline: float) -> None:
        """Write a request without blocking past the deadline."""
        assert self.proc is not None and self.proc.stdin is not None
        tree = dict(header, blobs=[len(b) for b in blobs])
        raw = json.dumps(tree, allow_nan=False, separators=(",", ":")).encode()
        data = memoryview(b"".join([protocol.MAGIC, len(raw).to_bytes(4, "big"), raw, *blobs]))
        fd = self.proc.stdin.fileno()
        os.set_blocking(fd, False)
        while data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._crash("timed out", during="sending the inputs")
            _, ready, _ = select.select([], [fd], [], remaining)
            if ready:
                try:
                    sent = os.write(fd, data)
                except (BrokenPipeError, OSError):
                    raise self._crash("died", during="sending the inputs") from None
                data = data[sent:]

    def _read(self, deadline: float, during: str) -> Reply:
        """Read one framed reply; a death, timeout, or malformed frame becomes a WorkerCrash."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = bytearray()
        need = 8
        header: dict[str, Any] | None = None
        sizes: list[int] = []
        stage = "prefix"
        header_len = 0
        while True:
            while len(buf) < need:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._crash("timed out", during=during)
                ready, _, _ = select.select([fd], [], [], remaining)
                if not ready:
                    continue
                chunk = os.read(fd, min(1 << 22, need - len(buf)))
                if not chunk:
                    raise self._crash("died", during=during)
                buf += chunk
            try:
                if stage == "prefix":
                    header_len = protocol.parse_header(bytes(buf[:8]))
                    stage, need = "header", 8 + header_len
                elif stage == "header":
                    header, sizes = protocol.parse_body(bytes(buf[8:need]), self.limits.reply_mb << 20)
                    stage, need = "blobs", need + sum(sizes)
                else:
                    break
            except protocol.WireError as exc:
                self.close()
                raise ProtocolError(str(exc)) from None
        assert header is not None
        blobs, offset = [], 8 + header_len
        for size in sizes:
            blobs.append(bytes(buf[offset : offset + size]))
            offset += size
        return Reply(header, blobs, 0.0, 0.0)

    def _crash(self, what: str, during: str) -> WorkerCrash:
        """Kill the worker and describe how it ended, for the student."""
        proc = self.proc
        if what == "timed out":
            self.close()
            limit = self.limit or self.limits.call_seconds
            return WorkerCrash(
                f"Your code did not finish {during} within the time limit ({limit:.3g} s) "
                "and was stopped.",
                "look for an infinite loop, or a Python loop over elements that should be vectorized.",
                timed_out=True,
            )
        code = proc.wait(timeout=10) if proc is not None else None
        self.close()
        return WorkerCrash(f"The process running your code {_describe_exit(code, self.limits)} {during}.",
                           "do not call sys.exit/os._exit or kill processes; check memory use.", exit_code=code)


def _describe_exit(code: int | None, limits: Limits) -> str:
    """Human words for a worker's exit status (bwrap reports signals as 128+N)."""
    if code is None:
        return "ended"
    sig = -code if code < 0 else code - 128 if code > 128 else 0
    if sig == signal.SIGXCPU:
        return f"used more than its {limits.worker_cpu_seconds} s of CPU time and was stopped"
    if sig == signal.SIGKILL:
        return "was killed (out of memory, or a process limit)"
    if sig:
        return f"was killed by signal {signal.Signals(sig).name}"
    return f"exited with status {code}"
