"""Where a grading's time goes: each phase's seconds and each test's wall time.

``grade`` keeps one ``Timeline`` per run and saves it in results.json's ``extra_data``
under ``"timeline"`` (instructor-only): start-up (process start to grading), intake and
static checks, the grader's imports (torch), pytest collection, the worker's start (in the
background from before the grader's imports on; the first test that runs the student's code
waits for the rest of it), each category's tests, and the write-up. ``Recorder`` is the pytest plugin
that times collection and every test (setup, call and teardown together).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = ["GRADER_IMPORTS", "KEY", "WORKER_START", "Recorder", "Timeline", "process_age"]

KEY = "timeline"
"""The key of the record in results.json's ``extra_data``."""
WORKER_START = "worker start (beside the grader's imports, collection and the first test)"
"""The phase of the worker's start: it overlaps the three, so it is not part of their sum."""
GRADER_IMPORTS = "grader imports"
"""The phase of the grader's own torch side, imported once the worker is launched (``grading.grader_imports``)."""


@dataclass
class Timeline:
    """Seconds per phase (in the order first seen) and per test, rounded when saved."""

    phases: dict[str, float] = field(default_factory=dict)
    tests: dict[str, float] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    """Test name -> its category (``public``, ``hidden``, ``performance``)."""
    ended: float | None = None
    """``time.monotonic()`` when the tests ended (the write-up is timed from there)."""

    def add(self, phase: str, seconds: float) -> None:
        """Add ``seconds`` to ``phase`` (a phase may be entered more than once)."""
        self.phases[phase] = self.phases.get(phase, 0.0) + max(0.0, seconds)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as (part of) phase ``name``."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.add(name, time.monotonic() - started)

    def test(self, name: str, category: str, seconds: float) -> None:
        """Record one test's wall time; its category's phase grows by as much."""
        self.tests[name] = self.tests.get(name, 0.0) + seconds
        self.categories[name] = category
        self.add(category, seconds)

    def slowest(self, count: int = 5) -> list[tuple[str, float]]:
        """The ``count`` slowest tests, slowest first."""
        return sorted(self.tests.items(), key=lambda kv: -kv[1])[:count]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for results.json: ``{"phases": {...}, "tests": {...}}`` in seconds (3 decimals)."""
        return {"phases": {k: round(v, 3) for k, v in self.phases.items()},
                "tests": {k: round(v, 3) for k, v in self.tests.items()}}

    @classmethod
    def from_dict(cls, data: Any) -> Timeline:
        """Read a saved record back (unknown or malformed entries are dropped)."""
        record = cls()
        if not isinstance(data, dict):
            return record
        for key, target in (("phases", record.phases), ("tests", record.tests)):
            raw = data.get(key)
            if isinstance(raw, dict):
                target.update({str(k): float(v) for k, v in raw.items() if isinstance(v, (int, float))})
        return record


def process_age() -> float | None:
    """Seconds since this process started (Linux: from /proc), or None where that is unknown."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = float(fields[19])  # field 22 of proc(5): starttime, in clock ticks after boot
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError, AttributeError):
        return None


class Recorder:
    """A pytest plugin timing collection and each graded test into a ``Timeline``."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Any:
        with self.timeline.phase("collection"):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        from .pytest_plugin import META

        started = time.monotonic()
        try:
            return (yield)
        finally:
            meta = item.stash.get(META, None)
            name, category = (meta.name, meta.category) if meta is not None else (item.nodeid, "other")
            self.timeline.test(name, category, time.monotonic() - started)
