"""Isolation levels: which this machine offers, and the one a grading uses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from .. import user_slots
from ..errors import UsageError

__all__ = ["ISOLATION_LEVELS", "bubblewrap_works", "check_isolation", "choose_isolation", "ro_runtime_binds",
           "user_isolation_works"]

ISOLATION_LEVELS = ("bubblewrap", "user", "plain")


@lru_cache(maxsize=1)
def bubblewrap_works() -> bool:
    """True if ``bwrap`` exists and can create its namespaces here."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    cmd = [exe, "--unshare-all", "--die-with-parent", *ro_runtime_binds(), "--proc", "/proc",
           "--dev", "/dev", sys.executable, "-I", "-c", "pass"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def user_isolation_works() -> bool:
    """True if this process is root and a sandbox user can run this interpreter with its packages."""
    return user_slots.user_isolation_works(sys.executable)


def check_isolation(requested: str) -> str:
    """``requested`` if it names a level (or ``auto``), else a usage error naming it (availability is not checked)."""
    if requested != "auto" and requested not in ISOLATION_LEVELS:
        raise UsageError(f"--isolation {requested!r} is not one of auto, {', '.join(ISOLATION_LEVELS)}")
    return requested


def choose_isolation(requested: str = "auto") -> str:
    """The isolation level to use: the best available for ``auto``, else exactly the one asked."""
    if requested == "auto":
        return "bubblewrap" if bubblewrap_works() else "user" if user_isolation_works() else "plain"
    check_isolation(requested)
    if requested == "bubblewrap" and not bubblewrap_works():
        raise UsageError("--isolation bubblewrap: bwrap is missing or cannot create namespaces here")
    if requested == "user" and not user_isolation_works():
        raise UsageError(f"--isolation user: {user_slots.user_isolation_problem(sys.executable)}")
    return requested


def ro_runtime_binds() -> list[str]:
    """Read-only binds for the OS runtime and the Python installation (never the repo)."""
    args: list[str] = []
    for top in ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/lib32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for extra in ("/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d"):
        args += ["--ro-bind-try", extra, extra]
    seen: set[str] = set()
    for prefix in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))):
        real = os.path.realpath(prefix)
        if real.startswith("/usr/") or real in seen:
            continue
        seen.add(real)
        args += ["--ro-bind", real, real]
        if prefix != real:
            args += ["--ro-bind", real, prefix]
    return args


