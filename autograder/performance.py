"""Performance verdicts, on the trusted side (SPEC section 5).

A verdict is a ratio measured in one run: the median over interleaved pairs of
(student time / yardstick time), against a budget from assignment.toml. Before the
ratio counts, the samples are cross-checked against the trusted side's own clock (the
worker's CPU time read from /proc, or wall time on CUDA): a student who patches the
timer, or hides work in other threads or processes, gets no credit.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from .compare import fail
from .student import Timing

__all__ = ["Verdict", "judge", "paired_ratio"]

# Honest CPU runs: the trusted clock sees the timed calls and a little decoding (no warm-up:
# it runs as a request of its own). Outside these bounds the samples are not what the process did.
CLOCK_SLACK_SECONDS = 0.25
MAX_UNTIMED_FACTOR = 1.6
MIN_TIMED_FRACTION = 0.9


@dataclass(frozen=True)
class Verdict:
    """A judged timing, recorded in results.json extra_data for the instructor."""

    ratio: float
    budget: float
    passed: bool
    student_median_ms: float
    yardstick_median_ms: float
    samples: int
    device: str
    trusted_cpu_seconds: float
    reported_seconds: float


def paired_ratio(timing: Timing) -> float:
    """Median of per-pair ratios (pairs are adjacent in time, so drift cancels)."""
    ratios = [s / y for s, y in zip(timing.student, timing.yardstick) if y > 0]
    if not ratios:
        return float("inf")
    return float(statistics.median(ratios))


def _cross_check(timing: Timing, what: str) -> float:
    """The reported samples must agree with the trusted clock; return their sum.

    The timed request holds no warm-up (Student.time sends it separately), so an honest
    worker's CPU time is the samples plus a little decoding.
    """
    reported = sum(timing.student) + sum(timing.yardstick)
    if timing.device.startswith("cuda"):
        if reported > timing.trusted_wall_seconds * 1.05 + 0.05:
            fail(what, "the reported timings exceed the grader's own clock", "do not patch timers.")
        return reported
    trusted = timing.trusted_cpu_seconds
    if reported > trusted * (1 / MIN_TIMED_FRACTION) + 0.05:
        fail(what, f"the timings reported from your process ({reported:.3f} s) exceed the CPU time the grader "
             f"measured for it ({trusted:.3f} s)", "do not patch time functions or the yardstick.")
    if trusted > reported * MAX_UNTIMED_FACTOR + CLOCK_SLACK_SECONDS:
        fail(what, f"your process used {trusted:.3f} s of CPU time but the timed calls account for only "
             f"{reported:.3f} s", "do not start threads or processes, or change torch's thread count.")
    return reported


def judge(timing: Timing, budget: float, what: str, record: dict[str, Any] | None = None) -> Verdict:
    """Pass if the paired ratio is within ``budget``; fail with a student-facing message otherwise."""
    reported = _cross_check(timing, what)
    ratio = paired_ratio(timing)
    verdict = Verdict(
        ratio=round(ratio, 4),
        budget=budget,
        passed=ratio <= budget,
        student_median_ms=round(statistics.median(timing.student) * 1e3, 4),
        yardstick_median_ms=round(statistics.median(timing.yardstick) * 1e3, 4),
        samples=len(timing.student),
        device=timing.device,
        trusted_cpu_seconds=round(timing.trusted_cpu_seconds, 4),
        reported_seconds=round(reported, 4),
    )
    if record is not None:
        record.update(asdict(verdict))
    if not verdict.passed:
        fail(what, f"took {ratio:.1f}x as long as PyTorch's built-in (budget: {budget:g}x; median of "
             f"{verdict.samples} interleaved runs on {timing.device})",
             "vectorize: no Python loops over rows or elements; avoid needless copies and extra passes.")
    return verdict
