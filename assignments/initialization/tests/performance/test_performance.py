"""Performance test for initialization (10 points).

The student's kaiming_normal_ is timed in the worker, clocked by the grader, against PyTorch's
torch.nn.init.kaiming_normal_ run by the grader on the same tensor and device, in alternating
rounds; the median per-round ratio is judged against the budget in assignment.toml (see
autograder/performance.py). One intra-op thread on the CPU; CUDA events on a GPU.

A random fill cannot be compared value by value with PyTorch's (different random streams), so
the timed unit is the probe ``kaiming_normal_timed``: it blanks the tensor to NaN, calls the
student's kaiming_normal_ on it, and returns a fingerprint of the fill as float16 --
(RMS, mean / (100 RMS), returned the same object), two passes that cost ~5% of the fill. The
yardstick does the same with PyTorch's built-in, and the last timed output is compared with the
yardstick's at float16's tolerance (rtol 1e-2, atol 1e-3). For two correct fills of n = 2^20
values with std s = 0.177 the RMS values differ by ~ 1e-3 s (sd), 15 sd inside the tolerance,
and the centres by ~ 1.4e-5 (sd), 70 sd inside: a correct implementation never fails the check
(15 standard deviations of sums of 2^20 independent terms), while an unfilled tensor (NaN), a
wrong scale (by more than ~1.6%), a one-sided fill (centre 0.0087) or a new tensor fails it
every time. Blanking the tensor first means every timed call must really fill it.
"""

from __future__ import annotations

import torch

from autograder.testing import graded, speed_test, yardsticks


@graded("9.1", points=10, task="kaiming_normal")
def test_kaiming_normal_speed(student, assignment, device, extra_data):
    """kaiming_normal_ on a large weight is within budget of torch.nn.init.kaiming_normal_"""
    shape = tuple(assignment.performance["cuda_shape" if device.startswith("cuda") else "cpu_shape"])
    tensor = torch.zeros(shape)
    expected = yardsticks(assignment)["kaiming_normal_"](torch.zeros(shape))
    speed_test(student, assignment, "kaiming_normal_timed", "kaiming_normal_", (tensor,), expected,
               "kaiming_normal", extra_data, uses=("kaiming_normal_",))
