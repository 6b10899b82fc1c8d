"""Performance measurement and verdicts: trusted clocks, nudged inputs, the clocks themselves."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import assignment, performance, static_checks
from autograder.assignment import Banned
from autograder.errors import CheckFailed
from autograder.student import Student, local_config
from autograder.transport import LocalTransport
from autograder.worker import timing

SPEC = assignment.load("softmax_nll")


def _timing(student_per_call, yard_per_call, calls=10):
    return performance.Timing(list(student_per_call), list(yard_per_call), calls, 0.01, "cpu", [0.001])


def test_ratio_is_the_median_of_per_round_ratios_and_recorded():
    record: dict = {}
    verdict = performance.judge(_timing([2.0, 4.0, 30.0], [1.0, 1.0, 1.0]), 5.0, "f", record=record)
    assert verdict.passed and verdict.ratio == 4.0 and record["budget"] == 5.0 and record["rounds"] == 3


def test_over_budget_fails_with_the_ratio():
    with pytest.raises(CheckFailed, match=r"took 10\.0x as long .*budget: 4x; median of 1 rounds of 10 calls"):
        performance.judge(_timing([0.1], [0.01]), 4.0, "f")


def test_perturbation_nudges_the_first_float_tensor_only():
    targets, x = torch.tensor([1, 2]), torch.zeros(2, 3)
    nudge = timing.perturbation([targets, x], torch.Tensor.view, torch.Tensor.add_)
    assert nudge is not None
    version = x._version
    for i in range(5):
        nudge(i)
    assert torch.equal(targets, torch.tensor([1, 2])) and x._version == version + 5
    assert x.view(-1).tolist() == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.1, 0.0])
    big = torch.zeros(200)
    nudge = timing.perturbation([big], torch.Tensor.view, torch.Tensor.add_)
    for i in range(130):
        nudge(i)
    assert big.min().item() >= 0.0 and big.max().item() == pytest.approx(0.1) and big[0].item() == pytest.approx(0.1)
    assert timing.perturbation([targets], torch.Tensor.view, torch.Tensor.add_) is None


def test_run_returns_samples_and_the_last_output():
    x = torch.zeros(4)
    nudge = timing.perturbation([x], torch.Tensor.view, torch.Tensor.add_)
    samples, last = timing.run(lambda t: t.sum().item(), [x], {}, 5, timing.CpuClock(), nudge, reset_hooks=False)
    assert len(samples) == 5 and last == pytest.approx(x.sum().item())


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


def test_cpu_clock_counts_thread_cpu_time_not_sleep():
    assert timing.CpuClock().measure(lambda: time.sleep(0.05)) < 0.01
    assert timing.CpuClock().measure(lambda: sum(range(2_000_000))) > 0.005


def _local_student(tmp_path: Path, source: str) -> Student:
    module = tmp_path / "softmax_nll.py"
    module.write_text(source)
    config = local_config(module, "softmax_nll", SPEC.probes_file, Banned(), ("torch",))
    return Student(LocalTransport(config), static_checks.Report(), SPEC.module_file)


HONEST = "import torch.nn.functional as F\ndef cross_entropy(x, t):\n    return F.cross_entropy(x, t)\n"
SLOW = HONEST.replace("return F.cross_entropy(x, t)", "return sum(F.cross_entropy(x, t) for _ in range(8)) / 8")
MEMO = '''import torch.nn.functional as F
_cache = {}
def cross_entropy(x, t):
    key = x.data_ptr()
    if key not in _cache:
        _cache[key] = F.cross_entropy(x, t)
    return _cache[key]
'''


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(2048, 128, generator=gen), torch.randint(0, 128, (2048,), generator=gen)


def test_measure_judges_honest_slow_and_memoised_code(tmp_path, batch):
    (tmp_path / "a").mkdir()
    honest = performance.measure(_local_student(tmp_path / "a", HONEST), SPEC, "cross_entropy", "cross_entropy", batch)
    assert performance.judge(honest, 2.0, "honest").passed
    (tmp_path / "b").mkdir()
    slow = performance.measure(_local_student(tmp_path / "b", SLOW), SPEC, "cross_entropy", "cross_entropy", batch)
    assert performance.judge(slow, 100.0, "slow").ratio > 4.0
    (tmp_path / "c").mkdir()
    with pytest.raises(CheckFailed, match="the output of the last timed call"):
        performance.measure(_local_student(tmp_path / "c", MEMO), SPEC, "cross_entropy", "cross_entropy", batch)


PROBES = '''
def visit_all(module, n):
    """Runs the student's visit over n items."""
    return module.visit(n)
'''
LINEAR = "def visit(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total\n"
QUADRATIC = "def visit(n):\n    seen = []\n    for i in range(n):\n        if i not in seen:\n            seen.append(i)\n    return len(seen)\n"


def _probing_student(tmp_path: Path, source: str) -> Student:
    (tmp_path / "softmax_nll.py").write_text(source)
    (tmp_path / "probes.py").write_text(PROBES)
    config = local_config(tmp_path / "softmax_nll.py", "softmax_nll", tmp_path / "probes.py", Banned(), ())
    return Student(LocalTransport(config), static_checks.Report(), SPEC.module_file)


# sizes where one call takes milliseconds: below that the per-call overhead flattens the exponent
@pytest.mark.parametrize("source,sizes,low,high", [(LINEAR, (50_000, 200_000), 0.6, 1.5),
                                                   (QUADRATIC, (4000, 16000), 1.7, 2.4)], ids=["linear", "quadratic"])
def test_scaling_exponent_is_measured_through_a_probe(tmp_path, source, sizes, low, high):
    student = _probing_student(tmp_path, source)
    t1, t2 = performance.scaling(student, "visit_all", ("visit",), sizes, rounds=3)
    exponent = math.log(t2 / t1) / math.log(4)
    assert low < exponent < high, (t1, t2)


def test_scaling_test_fails_a_quadratic_probe_and_records_the_exponent(tmp_path, monkeypatch):
    monkeypatch.setattr(performance, "scaling", lambda *a, **k: (0.01, 0.16))
    monkeypatch.setitem(SPEC.budgets, "scale_exponent", 1.5)
    record: dict = {}
    with pytest.raises(CheckFailed, match=r"grew as n\^2\.00 from n = 10 to n = 40"):
        performance.scaling_test(_probing_student(tmp_path, LINEAR), SPEC, "visit_all", ("visit",), (10, 40),
                                 "scale_exponent", record)
    assert record["exponent"] == 2.0 and record["passed"] is False and record["max_exponent"] == 1.5


def test_probe_timing_checks_the_functions_it_uses(tmp_path):
    student = _probing_student(tmp_path, LINEAR)
    student.timed_out["visit"] = "did not finish within the time limit"
    with pytest.raises(CheckFailed, match="visit was not run again"):
        student.run_timed("visit_all", (10,), {}, calls=1, uses=("visit",))


def test_calls_per_run_fill_the_minimum_request_time():
    """Fast calls repeat up to the cap; slow ones (50 ms or more: an optimizer over 5M parameters) only twice."""
    assert performance.calls_for(1e-4, performance.YARDSTICK_CALLS) == performance.YARDSTICK_CALLS
    assert performance.calls_for(0.01, performance.YARDSTICK_CALLS) == 25
    assert performance.calls_for(0.049, performance.YARDSTICK_CALLS) == 6
    for slow in (0.05, 0.1, 0.2):
        assert performance.calls_for(slow, performance.YARDSTICK_CALLS) == 2 == performance.MIN_CALLS
    assert performance.calls_for(-1.0, performance.MAX_CALLS) == performance.MAX_CALLS


@pytest.mark.parametrize("rounds", [3, 4, 5, 6])
def test_early_stop_gives_the_verdict_every_round_would(rounds):
    """Whenever ``decided`` stops early, the median of any completion is on the same side of the budget."""
    import itertools

    budget = 2.0
    for full in itertools.product((1.0, 3.0), repeat=rounds):
        ordered = sorted(full)
        middle = ordered[rounds // 2] if rounds % 2 else (ordered[rounds // 2 - 1] + ordered[rounds // 2]) / 2
        stops = [taken for taken in range(rounds + 1) if performance.decided(list(full[:taken]), budget, rounds)]
        if stops:  # stopped early: the majority so far gives the full run's verdict
            within = sum(r <= budget for r in full[:stops[0]]) > rounds // 2
            assert within == (middle <= budget), (full, stops[0])
        else:  # an even split of an even number of rounds: every round runs, judged as before
            assert rounds % 2 == 0 and sum(r <= budget for r in full) == rounds // 2, full


TIMES = st.lists(st.floats(1e-3, 10.0), min_size=5, max_size=5)


@settings(max_examples=300, deadline=None)
@given(small=TIMES, large=TIMES, limit=st.sampled_from([1.2, 1.5, 2.0]))
def test_scaling_stops_early_only_with_the_verdict_of_every_round(small, large, limit):
    """Whenever ``scaling_decided`` stops after k rounds, the medians of k rounds and of all 5 agree."""
    def exponent(k: int) -> float:
        return math.log(performance.statistics.median(large[:k]) / performance.statistics.median(small[:k])) / math.log(4)

    stops = [k for k in range(6) if performance.scaling_decided(small[:k], large[:k], (100, 400), limit, 5)]
    assert all(k >= 3 for k in stops)  # fewer than 3 of 5 rounds never decide the median
    if stops:
        assert (exponent(stops[0]) <= limit) == (exponent(5) <= limit), stops[0]


def test_scaling_of_a_linear_probe_stops_after_three_rounds(tmp_path):
    """A clearly linear probe far within its exponent is timed in 3 rounds, not 5."""
    student = _probing_student(tmp_path, LINEAR)
    calls = []
    run_timed = student.run_timed
    student.run_timed = lambda *a, **k: calls.append(a[1][0]) or run_timed(*a, **k)  # type: ignore[method-assign]
    performance.scaling(student, "visit_all", ("visit",), (50_000, 200_000), rounds=5, limit=3.0)
    assert len(calls) == 1 + 2 * 3, calls


def test_measure_stops_once_the_verdict_is_certain(tmp_path, batch):
    """An honest submission far within its budget is measured in 3 of 5 rounds; a huge budget is met as soon."""
    honest = performance.measure(_local_student(tmp_path, HONEST), SPEC, "cross_entropy", "cross_entropy", batch,
                                 budget=1000.0)
    assert len(honest.student_per_call) == len(honest.yardstick_per_call) == 3
    assert performance.judge(honest, 1000.0, "honest").rounds == 3


def test_slow_calls_skip_calibration():
    """A warm-up at 50 ms per call or more sets the calls per round itself; a faster one calibrates."""
    assert performance.calibrated_calls(0.1) == 2 == performance.calls_for(0.1, performance.MAX_CALLS)
    assert performance.calibrated_calls(0.05) == 2
    assert performance.calibrated_calls(0.049) is None
    assert performance.calibrated_calls(0.01) is None


def test_a_lazy_expected_value_is_computed_only_after_the_call_returned(tmp_path, batch):
    """speed_test computes a callable ``expected`` once the student's call succeeded, and never for a failing call."""
    computed: list[int] = []

    def expected():
        computed.append(1)
        return torch.nn.functional.cross_entropy(*batch)

    broken = _local_student(tmp_path, "def cross_entropy(x, t):\n    raise NotImplementedError\n")
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        performance.speed_test(broken, SPEC, "cross_entropy", "cross_entropy", batch, expected,
                               "cross_entropy_forward", {})
    assert computed == []
    (tmp_path / "honest").mkdir()
    record: dict = {}
    performance.speed_test(_local_student(tmp_path / "honest", HONEST), SPEC, "cross_entropy", "cross_entropy",
                           batch, expected, "cross_entropy_forward", record)
    assert computed == [1] and record["passed"]


@pytest.mark.parametrize(("yardstick", "budget", "expected"), [
    (0.001, 3.0, performance.FIRST_CALL_SECONDS),  # fast yardsticks: the floor
    (0.1, 3.0, 3.0),  # 10 x budget x yardstick
    (1.0, 4.0, 10.0),  # never above the call limit
])
def test_first_call_limit_is_a_multiple_of_the_budget_within_bounds(yardstick, budget, expected):
    assert performance.first_call_limit(yardstick, budget, call_seconds=10.0) == pytest.approx(expected)


def test_a_first_call_far_over_budget_is_stopped_early_as_too_slow(tmp_path, batch):
    """A call still running at the first-call limit fails as a speed verdict, long before the call limit."""
    hang = "import time\ndef cross_entropy(x, t):\n    while True:\n        time.sleep(0.01)\n"
    student = _local_student(tmp_path, hang)
    started = time.monotonic()
    with pytest.raises(CheckFailed, match=r"its first call did not finish within 2 s, over \d+x the time of PyTorch"):
        performance.speed_test(student, SPEC, "cross_entropy", "cross_entropy", batch, None,
                               "cross_entropy_forward", {})
    assert time.monotonic() - started < SPEC.limits.call_seconds
    assert "cross_entropy" in student.timed_out
