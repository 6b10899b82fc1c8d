"""The Gradescope-like budget: real cgroups where this machine lets us make them (root, cgroup v1)."""

from __future__ import annotations

import sys

import pytest

from autograder.authoring import budget
from autograder.errors import UsageError


def _available() -> bool:
    try:
        budget.run([sys.executable, "-c", "pass"], None)
    except (UsageError, OSError):
        return False
    return True


pytestmark = pytest.mark.skipif(not _available(), reason="needs writable cgroups (root on a cgroup v1 host)")

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"


def test_cpu_time_is_counted_for_the_command() -> None:
    ran = budget.run([sys.executable, "-c", BURN], None)
    assert ran.returncode == 0 and ran.cpu_seconds is not None and ran.cpu_seconds >= 0.3
    assert ran.wall_seconds >= 0.3 and ran.peak_memory_mb is None


def test_the_memory_cap_stops_a_command_that_needs_more() -> None:
    grab = "x = bytearray(900 * 2**20)\nx[::4096] = b'1' * len(x[::4096])"
    ran = budget.run([sys.executable, "-c", grab], budget.Budget(memory_mb=256))
    assert ran.returncode != 0 and ran.memory_capped
    assert ran.peak_memory_mb is not None and ran.peak_memory_mb <= 256.5


def test_half_a_cpu_takes_twice_the_wall_time() -> None:
    ran = budget.run([sys.executable, "-c", BURN.replace("0.3", "0.6")], budget.GRADESCOPE)
    assert ran.returncode == 0 and not ran.memory_capped
    assert ran.wall_seconds >= 1.5 * 0.6  # at most 50 ms of CPU per 100 ms: 0.6 s of CPU needs >= 1.1 s
