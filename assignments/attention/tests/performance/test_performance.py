"""Performance tests for attention (10 points).

The student's scaled_dot_product_attention (forward) and a training step (the forward, then
sdpa_backward) are timed in the worker, clocked by the grader, against PyTorch's
F.scaled_dot_product_attention with the math backend (forward; forward + autograd backward),
run by the grader on the same inputs and device, in alternating rounds; the median per-round
ratio is judged against the budget in assignment.toml (see autograder/performance.py).

Two layouts of the same amount of work: many batch entries (B large, H small) and many heads
(B small, H large), so a Python loop over either dimension, or over (batch, head) pairs, is
far over budget. CPU: float32, one intra-op thread. CUDA: float16 and float32 with CUDA events;
the achieved TFLOP/s (model FLOPs: 4*B*H*L*S*E for the forward, 3x that for forward +
backward) are recorded in extra_data for the instructor.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from autograder.testing import graded, speed_test

LAYOUTS = ["batch", "heads"]


def _dtypes(assignment, device: str) -> list[torch.dtype]:
    """float32 on the CPU; the configured dtypes (float16, float32) on a GPU."""
    if not device.startswith("cuda"):
        return [torch.float32]
    return [getattr(torch, name) for name in assignment.performance["cuda_dtypes"]]


def _shape(assignment, device: str, layout: str) -> tuple[int, int, int, int]:
    b, h, length, e = assignment.performance["cuda_shapes" if device.startswith("cuda") else "cpu_shapes"][layout]
    return b, h, length, e


def _inputs(rng, shape, dtype) -> list[torch.Tensor]:
    """q, k, v, grad_output of shape (B, H, L, E), standard normal, on the CPU (the wire moves them)."""
    return [torch.randn(shape, generator=rng).to(dtype) for _ in range(4)]


def _expected(q, k, v, grad_output, device: str, backward: bool) -> torch.Tensor:
    """PyTorch's result in high precision, in the inputs' dtype, on the CPU.

    float64 on the CPU; on a GPU float32 on the device (float64 buffers of (8, 16, 1024, 1024)
    scores would take gigabytes), then rounded to the inputs' dtype like the student's result.
    """
    high = torch.float64 if not device.startswith("cuda") else torch.float32
    leaves = [t.to(device=device, dtype=high).requires_grad_(backward) for t in (q, k, v)]
    with torch.enable_grad(), sdpa_kernel(SDPBackend.MATH):
        out = F.scaled_dot_product_attention(*leaves)
        parts = [out.detach()]
        if backward:
            parts += torch.autograd.grad(out, leaves, grad_output.to(device=device, dtype=high))
    result = parts[0] if not backward else torch.cat([p.reshape(-1) for p in parts])
    return result.to(q.dtype).cpu()


def _speed(student, assignment, device, rng, extra_data, layout: str, backward: bool) -> None:
    """Time every dtype of this device; record each run and, at the top level, the worst one."""
    b, h, length, e = shape = _shape(assignment, device, layout)
    flops = 4 * b * h * length * length * e * (3 if backward else 1)
    runs: dict[str, Any] = {}
    extra_data.update(device=device, shape=list(shape), layout=layout, model_flops=flops, runs=runs)
    for dtype in _dtypes(assignment, device):
        q, k, v, g = _inputs(rng, shape, dtype)
        record: dict[str, Any] = {}
        runs[str(dtype).removeprefix("torch.")] = record
        try:
            if backward:
                speed_test(student, assignment, "forward_backward", "sdpa_forward_backward",
                           (q, k, v, g), _expected(q, k, v, g, device, backward=True),
                           "attention_forward_backward", record,
                           uses=("scaled_dot_product_attention", "sdpa_backward"))
            else:
                speed_test(student, assignment, "scaled_dot_product_attention", "sdpa_forward",
                           (q, k, v), _expected(q, k, v, g, device, backward=False),
                           "attention_forward", record)
        finally:
            for who in ("student", "yardstick"):
                if record.get(f"{who}_ms"):
                    record[f"{who}_tflops"] = round(flops / (record[f"{who}_ms"] * 1e-3) / 1e12, 6)
            timed = [r for r in runs.values() if "ratio" in r]
            if timed:
                extra_data.update(max(timed, key=lambda r: r["ratio"] / r["budget"]))


@graded("4.1", points=2.5, task="scaled_dot_product_attention")
@pytest.mark.parametrize("layout", LAYOUTS, ids=["many batch entries", "many heads"])
def test_forward_speed(student, assignment, device, rng, extra_data, layout):
    """scaled_dot_product_attention on many short sequences is within budget of PyTorch's SDPA (math backend)"""
    _speed(student, assignment, device, rng, extra_data, layout, backward=False)


@graded("4.2", points=2.5, task="sdpa_backward")
@pytest.mark.parametrize("layout", LAYOUTS, ids=["many batch entries", "many heads"])
def test_forward_backward_speed(student, assignment, device, rng, extra_data, layout):
    """the forward plus sdpa_backward is within budget of PyTorch's SDPA forward + autograd backward"""
    _speed(student, assignment, device, rng, extra_data, layout, backward=True)
