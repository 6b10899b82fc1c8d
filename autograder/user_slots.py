"""Unprivileged sandbox users for the ``user`` isolation level (root, but no namespaces).

Inside Gradescope's container the grader is root and bubblewrap cannot create namespaces.
The worker then runs as a numeric uid of its own: one uid per live worker (a slot, held
with a lock file), so RLIMIT_NPROC, which counts processes per user, caps one submission
without touching another graded beside it. No /etc/passwd entry is needed. Supplementary
groups are dropped and the gid equals the uid, so only the "other" permission bits decide
what the worker can read: the grader's files must not be readable by others (checked by
``exposed``). When a slot is taken and when it is given back, every process of that uid is
killed and its files in the world-writable temporary folders are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import GraderError

__all__ = ["FIRST_UID", "SLOTS", "UserSlot", "acquire", "exposed", "processes_of", "readable_by_others",
           "user_isolation_problem", "user_isolation_works"]

FIRST_UID = 61000
SLOTS = 64
"""Sandbox uids are FIRST_UID .. FIRST_UID + SLOTS - 1 (unassigned on Debian/Ubuntu)."""
PROBE_UID = FIRST_UID + SLOTS
"""Used only to check that an unprivileged user can start the interpreter."""
SHARED_TMP = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))
"""World-writable folders a sandbox user could leave files in."""


@dataclass
class UserSlot:
    """One sandbox uid, held (by a lock) for the life of one worker."""

    uid: int
    lock_fd: int

    def release(self) -> None:
        """Kill the uid's processes, remove its files, and free the slot; safe to call twice."""
        if self.lock_fd < 0:
            return
        clear(self.uid)
        os.close(self.lock_fd)
        self.lock_fd = -1


def _lock_dir() -> Path:
    """A root-only folder of lock files, one per uid (refuses a folder someone else planted)."""
    base = Path("/run") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
    folder = base / "autograder-user-slots"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise GraderError(f"{folder} is not a private folder of this user; remove it and grade again")
    return folder


def acquire(timeout: float = 600.0) -> UserSlot:
    """Take a free sandbox uid (waiting up to ``timeout`` seconds if all are in use)."""
    folder = _lock_dir()
    deadline = time.monotonic() + timeout
    while True:
        for uid in range(FIRST_UID, FIRST_UID + SLOTS):
            fd = os.open(folder / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            clear(uid)  # whatever an earlier, crashed grader left behind
            return UserSlot(uid, fd)
        if time.monotonic() > deadline:
            raise GraderError(f"all {SLOTS} sandbox users are busy: too many submissions graded at once")
        time.sleep(0.2)


def clear(uid: int) -> None:
    """SIGKILL every process of ``uid`` (until none is left) and remove its files in shared temp folders."""
    for _ in range(100):
        pids = processes_of(uid)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    for root in SHARED_TMP:
        remove_files_of(uid, root)


def processes_of(uid: int) -> list[int]:
    """Pids whose real or effective uid is ``uid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        if str(uid) in line.split()[1:3]:
                            found.append(int(entry))
                        break
        except OSError:
            continue
    return found


def remove_files_of(uid: int, root: Path, depth: int = 8) -> None:
    """Delete everything under ``root`` owned by ``uid``, never following links.

    Only folders the uid could write into are searched: its own (removed whole) and
    world-writable ones (like /tmp itself), so this stays cheap on a busy /tmp.
    """
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if info.st_uid == uid:
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        elif stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH and depth > 0:
            remove_files_of(uid, Path(entry.path), depth - 1)


def drop_to(uid: int) -> None:
    """In a child before exec: no supplementary groups, gid and uid ``uid`` (irreversibly)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def user_isolation_works(python: str) -> bool:
    """True if this process is root and an unprivileged user can run ``python`` with its packages."""
    return user_isolation_problem(python) is None


@lru_cache(maxsize=4)
def user_isolation_problem(python: str) -> str | None:
    """Why the ``user`` level cannot be used here with ``python`` (for the instructor), or None if it can."""
    if not hasattr(os, "geteuid"):
        return "this system has no Unix users to switch to"
    if os.geteuid() != 0:
        return f"the grader runs as uid {os.geteuid()}, not root, and only root can switch to a sandbox user"
    cmd = [python, "-I", "-c", "import numpy"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=60, cwd="/",
                              preexec_fn=lambda: drop_to(PROBE_UID), env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.SubprocessError) as exc:
        failure = str(exc)
    else:
        if done.returncode == 0:
            return None
        failure = (done.stderr.decode(errors="replace").strip().splitlines() or [f"exit {done.returncode}"])[-1]
    closed = _closed_folder(Path(python))
    why = f"{closed} is not searchable by other users" if closed is not None else failure
    return f"a sandbox user (uid {PROBE_UID}) cannot run {python} with its packages: {why}"


def _closed_folder(path: Path) -> Path | None:
    """The first folder on the way to ``path`` (as given, then with links resolved) that others cannot pass."""
    with contextlib.suppress(OSError):
        for way in (path.absolute(), path.resolve()):
            for parent in reversed(way.parents):
                if not os.stat(parent).st_mode & stat.S_IXOTH:
                    return parent
    return None


def readable_by_others(path: Path) -> bool:
    """True if a user with no special rights could read ``path`` (every parent searchable, the file readable)."""
    try:
        real = path.resolve()
        for parent in reversed(real.parents):
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
        return bool(os.stat(real).st_mode & stat.S_IROTH)
    except OSError:
        return False


def exposed(paths: Iterable[Path]) -> list[str]:
    """The files among ``paths`` (folders walked) that a sandbox user could read."""
    found = []
    for path in paths:
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        found += [str(f) for f in files if readable_by_others(f)]
    return found
