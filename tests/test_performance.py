"""Performance verdicts: paired ratios, the trusted-clock cross-check, and the clocks themselves."""

from __future__ import annotations

import pytest

from autograder import performance
from autograder.errors import CheckFailed
from autograder.student import Timing
from autograder.worker import timing


def _timing(student, yard, cpu=None, wall=10.0, device="cpu"):
    reported = sum(student) + sum(yard)
    return Timing(list(student), list(yard), reported * 1.1 if cpu is None else cpu, wall, device)


def test_paired_ratio_is_the_median_of_pair_ratios():
    t = _timing([2.0, 4.0, 30.0], [1.0, 1.0, 1.0])
    assert performance.paired_ratio(t) == 4.0


def test_within_budget_passes_and_is_recorded():
    record: dict = {}
    verdict = performance.judge(_timing([0.02] * 15, [0.01] * 15), 4.0, "f", record=record)
    assert verdict.passed and verdict.ratio == 2.0 and record["budget"] == 4.0 and record["samples"] == 15


def test_over_budget_fails_with_the_ratio():
    with pytest.raises(CheckFailed, match=r"took 10\.0x as long .*budget: 4x"):
        performance.judge(_timing([0.1] * 15, [0.01] * 15), 4.0, "f")


def test_patched_timer_reporting_more_than_the_process_used_fails():
    t = _timing([0.01] * 15, [0.5] * 15, cpu=1.0)
    with pytest.raises(CheckFailed, match="exceed the CPU time"):
        performance.judge(t, 4.0, "f")


def test_work_hidden_from_the_timer_fails():
    t = _timing([0.001] * 15, [0.01] * 15, cpu=5.0)
    with pytest.raises(CheckFailed, match="account for only"):
        performance.judge(t, 4.0, "f")


def test_cuda_cross_check_uses_wall_time():
    with pytest.raises(CheckFailed, match="grader's own clock"):
        performance.judge(_timing([1.0] * 15, [1.0] * 15, wall=5.0, device="cuda"), 4.0, "f")
    assert performance.judge(_timing([0.01] * 15, [0.01] * 15, wall=1.0, device="cuda"), 4.0, "f").passed


class FakeEvent:
    """Stands in for torch.cuda.Event: elapsed_time from a shared fake clock (ms)."""

    def __init__(self, clock, enable_timing):
        assert enable_timing
        self.clock, self.at = clock, None

    def record(self):
        self.at = self.clock.now

    def elapsed_time(self, end):
        return end.at - self.at


class FakeCuda:
    def __init__(self):
        self.now, self.synchronized = 0.0, 0

    def Event(self, enable_timing=False):
        return FakeEvent(self, enable_timing)

    def synchronize(self):
        self.synchronized += 1


def test_cuda_event_clock_times_between_synchronised_events():
    cuda = FakeCuda()

    def work():
        cuda.now += 7.5

    assert timing.CudaEventClock(cuda).measure(work) == pytest.approx(7.5e-3)
    assert cuda.synchronized == 2


def test_interleave_alternates_order_and_warms_up():
    calls = []
    clock = timing.CpuClock()
    samples = timing.interleave(lambda: calls.append("s"), lambda: calls.append("y"), clock, samples=4, warmup=1)
    assert calls == ["s", "y", "s", "y", "y", "s", "s", "y", "y", "s"]
    assert len(samples.student) == len(samples.yardstick) == 4 and all(x >= 0 for x in samples.student)


def test_cpu_clock_counts_thread_cpu_time_not_sleep():
    import time

    assert timing.CpuClock().measure(lambda: time.sleep(0.05)) < 0.01
    assert timing.CpuClock().measure(lambda: sum(range(2_000_000))) > 0.005
