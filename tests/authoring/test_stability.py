"""The P2 stability check: false failures and margins are counted from each run's results."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import torch

from autograder.authoring import stability
from autograder.authoring.stability import Stability
from autograder.results import GradingResult, from_gradescope
from autograder.runner import GradeRun


def results(ratio: float, passed: bool = True, exponent: float = 1.2, errors: tuple[str, ...] = (),
            deep: bool = True) -> GradingResult:
    """A results.json with a speed test, a scaling test, a test that records no number, and a public test."""
    extra: dict[str, Any] = {"tests": {
        "speed": {"ratio": ratio, "budget": 3.0, "passed": passed},
        "scaling": {"exponent": exponent, "max_exponent": 1.5, "passed": exponent <= 1.5},
    }}
    if errors:
        extra["grader_errors"] = list(errors)
    return from_gradescope({"execution_time": 4.0, "extra_data": extra, "tests": [
        {"name": "deep graph", "status": "passed" if deep else "failed", "tags": ["performance"]},  # no record
        {"name": "speed", "status": "passed" if passed else "failed", "tags": ["performance"]},
        {"name": "scaling", "status": "passed" if exponent <= 1.5 else "failed", "tags": ["performance"]},
        {"name": "public one", "status": "failed", "tags": ["public"]},
    ]})


def folded(*runs: GradingResult) -> Stability:
    s = Stability("demo")
    for data in runs:
        s.add(data)
    return s


def test_runs_within_margin_are_ok() -> None:
    s = folded(results(1.0), results(1.4, exponent=1.3))
    assert s.ok
    assert set(s.tests) == {"speed", "scaling", "deep graph"}  # only performance tests are counted
    assert s.tests["speed"].worst == 1.4 and s.tests["scaling"].kind == "exponent"
    assert all(line.startswith("ok ") for line in s.report())


def test_one_failed_run_is_a_false_failure() -> None:
    s = folded(results(1.0), results(3.5, passed=False), results(1.0))
    assert not s.ok
    assert s.tests["speed"].false_failures == 1
    assert "1 / 3 failed" in s.tests["speed"].row()


def test_a_passing_ratio_without_the_2x_margin_is_flagged() -> None:
    s = folded(results(1.0), results(1.6))  # passes its budget of 3, but 1.6 * 2 > 3
    assert not s.ok and s.tests["speed"].false_failures == 0
    assert s.tests["speed"].row().startswith("BAD")


def test_a_test_without_a_number_counts_by_its_status() -> None:
    assert folded(results(1.0), results(1.0)).tests["deep graph"].kind == "status"
    s = folded(results(1.0), results(1.0, deep=False))
    assert not s.ok and s.tests["deep graph"].false_failures == 1


def test_a_scaling_exponent_over_its_limit_fails() -> None:
    assert not folded(results(1.0, exponent=1.7)).ok


def test_grader_errors_and_empty_runs_are_not_ok() -> None:
    assert not folded(results(1.0, errors=("worker died",))).ok
    assert not folded(from_gradescope({"execution_time": 1.0, "tests": []})).ok


def test_busy_core_runs_during_and_stops_after() -> None:
    with stability.busy_core() as loop:
        assert loop.poll() is None
    assert loop.returncode is not None


@pytest.mark.slow
def test_reference_runs_of_softmax_nll_are_stable(capsys: pytest.CaptureFixture[str]) -> None:
    """Two real runs (the suite's other xdist worker keeps the second core busy): every performance
    test passes with its margin."""
    s = stability.stability("softmax_nll", runs=2, busy=False)
    assert s.ok, s.report()
    assert len(s.seconds) == 2 and s.tests
    assert "softmax_nll run 2/2" in capsys.readouterr().out


def test_each_run_grades_on_the_chosen_device(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    def fake_grade(name: str, submission: Any, out: Any, **options: Any) -> GradeRun:
        seen.append(options)
        return GradeRun(0, "", False, 1.0, results(1.0), None)

    monkeypatch.setattr(stability.runner, "grade_subprocess", fake_grade)
    s = stability.stability("softmax_nll", runs=2, busy=False, echo=lambda line: None, device="cuda")
    assert s.ok and seen == [{"select": "performance", "device": "cuda", "timeout": 900}] * 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks what happens where no GPU exists")
def test_stability_on_cuda_without_a_gpu_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "autograder", "stability", "softmax_nll", "--device", "cuda"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--device cuda: no CUDA device is available here" in proc.stderr
