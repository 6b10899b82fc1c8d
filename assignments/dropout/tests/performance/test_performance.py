"""Performance test for dropout (10 points).

One training step, the student's dropout_forward then dropout_backward, is timed in the
worker, clocked by the grader, against PyTorch's own kernels (torch.native_dropout and its
backward, what F.dropout and autograd run) run by the grader on the same input and device, in
alternating rounds; the median per-round ratio is judged against the budget in
assignment.toml (see autograder/performance.py). One intra-op thread on the CPU; CUDA events
on a GPU.

The output is random, so the timed probe (probes.dropout_step, used by both sides) returns a
summary that does not depend on which elements were dropped: with the upstream gradient set to
x, on every 7th element, max |out * (1 - p) - x * mask| (0), max |grad_input - out| (0) and
whether the kept fraction is within 0.02 of 1 - p (1). Before each timed call the grader nudges
every 64th element of x, so an output cached from an earlier call breaks the first relation.
"""

from __future__ import annotations

import torch

from autograder.testing import graded, speed_test


@graded("4.1", points=10, task=("dropout_forward", "dropout_backward"))
def test_dropout_step_speed(student, assignment, device, rng, extra_data):
    """dropout_forward + dropout_backward on a large batch are within budget of PyTorch's dropout kernels

    The summary's kept-fraction check fails a correct implementation with probability
    <= 2 exp(-2 * 149796 * 0.02^2) < 1e-50 per call (Hoeffding; >= 149796 elements are read).
    """
    rows, cols = assignment.performance["cuda_shape" if device.startswith("cuda") else "cpu_shape"]
    x = torch.randn(rows, cols, generator=rng)
    expected = torch.tensor([0.0, 0.0, 1.0])
    speed_test(student, assignment, "dropout_step", "dropout_step", (x, float(assignment.performance["p"])),
               expected, "dropout_step", extra_data, uses=("dropout_forward", "dropout_backward"))
