"""Performance tests for optim (10 points).

Speed: the student's Adam and SGD (momentum) each build an optimizer over 100 tensors of
5.0M float32 parameters and take two steps (probe ``adam_step`` / ``sgd_step``), timed in the
worker and clocked by the grader, against the same work done with ``torch.optim``'s foreach
implementation in the grader on the same device, in alternating rounds; the median per-round
ratio is judged against the budget in assignment.toml (see autograder/performance.py). The
gradients come from a pool that is nudged before every call, so every call computes a new
result, and a sample of the parameters after the last call is checked.

Memory: the peak extra memory of one steady-state ``step()`` (the second, once the state
exists) must stay within ``memory_factor`` x the parameters' bytes + ``memory_slack_mb``.
It is measured in the worker by probe ``step_memory``: on the CPU the process's peak resident
size (VmHWM) is reset (/proc/self/clear_refs) just before the step and read after it, minus
the resident size before it; on CUDA the caching allocator's peak. PyTorch's foreach Adam
needs 1x the parameters' bytes, a per-tensor loop of vectorized operations almost nothing;
concatenating every parameter, gradient and moment into flat vectors at each step needs 3x
or more.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from autograder.testing import PER_CASE, fail, graded, speed_test, yardsticks

SPREAD = 4096
"""Gradient and parameter windows start at random offsets in [0, SPREAD) of their pools."""
HYPER = {
    "Adam": {"lr": 0.05, "weight_decay": 1e-2},
    "SGD": {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-2},
}
HINT = ("loop over the parameters in Python and update each tensor with whole-tensor in-place operations; "
        "never loop over elements.")


def _workload(rng: torch.Generator, tensors: int, weight_shapes: list[list[int]]) -> tuple[Any, ...]:
    """(grad_pool, param_pool, layout): weights cycling through ``weight_shapes``, each followed by its bias."""
    layout: list[list[Any]] = []
    for k in range(tensors // 2):
        shape = list(weight_shapes[k % len(weight_shapes)])
        for s in (shape, shape[:1]):
            layout.append([s, int(torch.randint(0, SPREAD, (), generator=rng))])
    largest = max(int(torch.tensor(s).prod()) for s, _ in layout)
    size = largest + SPREAD + 64
    return torch.randn(size, generator=rng), torch.randn(size, generator=rng), layout


def _parameters(layout: list[list[Any]]) -> int:
    return sum(int(torch.tensor(s, dtype=torch.int64).prod()) for s, _ in layout)


@pytest.fixture
def timed_workload(rng, assignment, device):
    """The timed workload for this device (see assignment.toml [performance])."""
    key = "cuda_weight_shapes" if device.startswith("cuda") else "cpu_weight_shapes"
    return _workload(rng, assignment.performance["tensors"], assignment.performance[key])


def _speed(student, assignment, extra_data, workload, name: str, probe: str) -> None:
    """Correct first, then timed against torch.optim.<name>(foreach=True)."""
    args = (*workload, HYPER[name])
    layout = workload[2]
    extra_data.update({"tensors": len(layout), "parameters": _parameters(layout), "hyper": HYPER[name]})
    expected = lambda: yardsticks(assignment)[probe](*args)  # noqa: E731 - computed once the student's call returned
    speed_test(student, assignment, probe, probe, args, expected, probe, extra_data, uses=(name,))


@graded("6.1", points=4, task="adam")
def test_adam_speed(student, assignment, timed_workload, extra_data):
    """Adam over 100 tensors (5M parameters): building it and two steps, within budget of torch.optim.Adam"""
    _speed(student, assignment, extra_data, timed_workload, "Adam", "adam_step")


@graded("6.2", points=3, task="sgd")
def test_sgd_momentum_speed(student, assignment, timed_workload, extra_data):
    """SGD with momentum over 100 tensors (5M parameters): two steps, within budget of torch.optim.SGD"""
    _speed(student, assignment, extra_data, timed_workload, "SGD", "sgd_step")


STEP_MEMORY_CASES = [pytest.param("Adam", marks=pytest.mark.adam, id="Adam"),
                     pytest.param("SGD", marks=pytest.mark.sgd, id="SGD")]


@graded("6.3", points=1.5, task=PER_CASE)
@pytest.mark.parametrize("name", STEP_MEMORY_CASES)
def test_step_memory(student, assignment, rng, extra_data, name):
    """one step() needs little memory beyond the parameters and the state (at most 2x the parameters' size)"""
    perf = assignment.performance
    grad_pool, param_pool, layout = _workload(rng, perf["memory_tensors"], perf["memory_weight_shapes"])
    param_bytes = 4 * _parameters(layout)
    bound = perf["memory_factor"] * param_bytes + perf["memory_slack_mb"] * 2**20
    got = student.probe("step_memory", name, grad_pool, param_pool, layout, HYPER[name], uses=(name,))
    what = f"{name}({HYPER[name]}).step() on {len(layout)} tensors ({param_bytes / 2**20:.0f} MB of parameters)"
    if not isinstance(got, dict) or type(got.get("extra_bytes")) is not int:
        fail(what, "the grader could not read the memory measurement back", HINT)
    extra_data.update({"param_bytes": param_bytes, "bound_bytes": int(bound), "extra_bytes": got["extra_bytes"],
                       "measured": got.get("measured") is True})
    if got.get("measured") is not True:  # Linux >= 4.0 always allows it: only a tampered probe gets here
        fail(what, "the peak memory of the step could not be measured (/proc/self/clear_refs or "
             "/proc/self/status unavailable)", "do not change files, builtins or the grader's probes.")
    extra = got["extra_bytes"]
    # recorded like a speed verdict: extra memory over the parameters' bytes, and the allowed ratio
    extra_data.update({"ratio": round(extra / param_bytes, 4), "budget": round(bound / param_bytes, 4),
                       "passed": extra <= bound})
    if extra > bound:
        fail(what, f"a steady-state step needed {extra / 2**20:.0f} MB beyond the parameters and the state "
             f"({extra / param_bytes:.1f}x the parameters; allowed: {perf['memory_factor']:g}x + "
             f"{perf['memory_slack_mb']} MB)",
             "update one tensor at a time, in place (mul_, add_, addcmul_, addcdiv_, lerp_); do not concatenate "
             "all parameters or gradients into new tensors, and do not keep copies of earlier steps.")
