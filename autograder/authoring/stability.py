"""``autograder stability``: the reference's performance verdicts under load.

Grades the reference solution's performance tests ``runs`` times, one grading at a time,
each while a busy loop holds another core, and reports per test: how many runs failed
(false failures), and the worst ratio (or scaling exponent) against its budget. The goal:
0 false failures in 20 runs with the other core busy, and at least a 2x margin on every
speed ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from .. import assignment, runner
from ..results import GradingResult

__all__ = ["MARGIN", "Stability", "TestRecord", "busy_core", "stability"]

MARGIN = 2.0
"""The reference's speed ratio times this stays within the budget (a 2x margin)."""


@dataclass
class TestRecord:
    """One performance test over all runs."""

    name: str
    passed: list[bool] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    """The ratio (speed, memory) or the exponent (scaling) of each run."""
    limit: float = 0.0
    kind: str = "status"
    """``ratio`` (the margin applies), ``exponent`` (within its limit) or ``status`` (a test that
    records no number, e.g. a deep-graph scale test: pass or fail only)."""

    @property
    def false_failures(self) -> int:
        return self.passed.count(False)

    @property
    def worst(self) -> float:
        return max(self.values) if self.values else float("nan")

    @property
    def ok(self) -> bool:
        """No failed run; speed ratios keep the 2x margin in every run."""
        if self.false_failures or not self.passed or (self.kind != "status" and not self.values):
            return False
        return self.kind != "ratio" or self.worst * MARGIN <= self.limit

    def row(self) -> str:
        """One line of the report."""
        head = f"{'ok ' if self.ok else 'BAD'}  {self.name:<52} {self.false_failures:>2} / {len(self.passed)} failed"
        if self.kind == "status":
            return head
        median = statistics.median(self.values) if self.values else float("nan")
        margin = f"margin {self.limit / self.worst:.1f}x" if self.kind == "ratio" and self.worst > 0 else ""
        return (f"{head}  {self.kind} median {median:.3g}, worst {self.worst:.3g}, limit {self.limit:g}  "
                f"{margin}").rstrip()


@dataclass
class Stability:
    """All performance tests of one assignment over its gradings."""

    name: str
    tests: dict[str, TestRecord] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.tests) and all(t.ok for t in self.tests.values())

    def add(self, data: GradingResult) -> None:
        """Fold one grading's results.json into the records."""
        self.seconds.append(data.execution_time)
        self.errors += [f"run {len(self.seconds)}: {e}" for e in data.grader_errors]
        status = {t.name: t.status == "passed" for t in data.tests if "performance" in t.tags}
        if not status:
            self.errors.append(f"run {len(self.seconds)}: no performance test ran")
        for shown, passed in status.items():
            measure = data.extra_data.measure(shown)
            test = self.tests.setdefault(shown, TestRecord(shown))
            test.passed.append(passed)
            if measure is not None:
                test.kind, test.limit = measure.kind, measure.limit
                test.values.append(measure.value)
            # a test without a record (e.g. a deep-graph scale test) counts by its status alone

    def report(self) -> list[str]:
        """The table, one line per test, then errors."""
        return [t.row() for t in self.tests.values()] + [f"BAD  grader error: {e}" for e in self.errors]


@contextmanager
def busy_core() -> Iterator[subprocess.Popen[bytes]]:
    """A busy loop on another core for the duration: the verdicts must hold with the other core busy."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def stability(name: str, runs: int = 20, busy: bool = True, echo: Callable[[str], None] = print,
              device: str = "auto") -> Stability:
    """Grade the reference's performance tests ``runs`` times on ``device``; the records of every test."""
    spec = assignment.load(name)
    out = Stability(name)
    with tempfile.TemporaryDirectory(prefix=f"ag-stability-{name}-") as tmp:
        for i in range(runs):
            with busy_core() if busy else nullcontext():
                data = runner.grade_subprocess(name, spec.solution_file.parent, Path(tmp) / f"run{i}.json",
                                               select="performance", device=device, timeout=900).require()
            out.add(data)
            failed = [t.name for t in out.tests.values() if t.passed and not t.passed[-1]]
            echo(f"{name} run {i + 1}/{runs}: {data.execution_time:.1f} s"
                 + (f", FAILED: {'; '.join(failed)}" if failed else ""))
    for line in out.report():
        echo(line)
    return out
