"""Performance tests for softmax_nll (10 points).

The student's cross_entropy (forward) and cross_entropy_backward are timed in the worker,
clocked by the grader, against PyTorch's F.cross_entropy (forward; forward + autograd
backward) run by the grader on the same inputs and device, in alternating rounds; the
median per-round ratio is judged against the budget in assignment.toml (see
autograder/performance.py). One intra-op thread on the CPU; CUDA events on a GPU. The
inputs are moderate (randn) logits: exp's slow path on underflow is not what is judged.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from autograder.testing import graded, speed_test


@pytest.fixture
def big_batch(rng, assignment, device):
    """Timed inputs: (N, C) float32 logits for this device and int64 targets."""
    n, c = assignment.performance["cuda_shape" if device.startswith("cuda") else "cpu_shape"]
    x = torch.randn(n, c, generator=rng) * 2
    return x, torch.randint(0, c, (n,), generator=rng)


@graded("6.1", points=5, task="cross_entropy")
def test_cross_entropy_speed(student, assignment, big_batch, extra_data):
    """cross_entropy (mean) on a large batch is within budget of F.cross_entropy"""
    x, t = big_batch
    speed_test(student, assignment, "cross_entropy", "cross_entropy", (x, t),
               F.cross_entropy(x.double(), t).float(), "cross_entropy_forward", extra_data)


@graded("6.2", points=5, task="cross_entropy_backward")
def test_cross_entropy_backward_speed(student, assignment, big_batch, extra_data):
    """cross_entropy_backward (mean) on a large batch is within budget of PyTorch's forward + backward"""
    x, t = big_batch
    xd = x.double().requires_grad_(True)
    F.cross_entropy(xd, t).backward()
    speed_test(student, assignment, "cross_entropy_backward", "cross_entropy_backward", (x, t),
               xd.grad.float(), "cross_entropy_backward", extra_data)
