"""Public tests for softmax_nll (30 points). Run them with `pytest`, one task with `pytest -m softmax`.

Each test compares your function with PyTorch on random inputs (a fresh seed every run;
the seed is printed at the end so you can repeat a run with --ag-seed).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from autograder.testing import expect_close, graded, property_settings

# Deterministic examples (the same score every run), shrunk to a small failing input, no "explain" phase.
PROPERTY = property_settings(max_examples=20)
shapes = st.tuples(st.integers(1, 6), st.integers(1, 9))
seeds = st.integers(0, 2**31 - 1)


def _randn(shape: tuple[int, ...], seed: int, scale: float = 3.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=torch.float64) * scale


# --------------------------------------------------------------------------- Task 1: softmax

@graded("1.1", points=2)
def test_softmax_small(student, rng):
    """softmax of a 4x7 float32 batch along the last dim matches torch.softmax"""
    x = torch.randn(4, 7, generator=rng)
    expect_close(student.call("softmax", x), torch.softmax(x, -1), what="softmax(x) on a 4x7 float32 input",
                 hint="exponentiate, then divide each row by its sum.")


@graded("1.2", points=2)
@PROPERTY
@given(shape=shapes, seed=seeds)
def test_softmax_rows_are_distributions(student, shape, seed):
    """softmax along dim 0 and dim 1: entries in [0, 1] that sum to 1 along that dim"""
    x = _randn(shape, seed)
    for dim in (0, 1):
        out = student.call("softmax", x, dim=dim)
        expect_close(out, torch.softmax(x, dim), what=f"softmax(x, dim={dim}) on a {shape} float64 input",
                     hint="normalize along the dimension you are given, not always the last one.")


@graded("1.3", points=1)
def test_softmax_large_logits(student, rng):
    """softmax stays finite for float32 logits around 100 (exp(100) overflows float32)"""
    x = torch.randn(3, 5, generator=rng) * 20 + 100
    expect_close(student.call("softmax", x), torch.softmax(x, -1), what="softmax(x) with logits near 100",
                 hint="softmax(x) = softmax(x - max(x)): subtract each row's max before exp.")


# --------------------------------------------------------------------------- Task 2: log_softmax

@graded("2.1", points=2)
def test_log_softmax_small(student, rng):
    """log_softmax of a 5x3 float64 batch matches torch.log_softmax"""
    x = torch.randn(5, 3, generator=rng, dtype=torch.float64)
    expect_close(student.call("log_softmax", x), torch.log_softmax(x, -1), what="log_softmax(x) on 5x3 float64",
                 hint="log_softmax(x) = x - logsumexp(x), with the max subtracted inside the log-sum-exp.")


@graded("2.2", points=2)
@PROPERTY
@given(shape=shapes, seed=seeds, shift=st.floats(-50, 50))
def test_log_softmax_shift_invariant(student, shape, seed, shift):
    """log_softmax(x + c) equals torch.log_softmax(x) for any constant c"""
    x = _randn(shape, seed)
    expect_close(student.call("log_softmax", x + shift, dim=1), torch.log_softmax(x, 1),
                 what="log_softmax(x + c, dim=1)", hint="adding a constant to every logit must not change the result.")


@graded("2.3", points=1)
def test_log_softmax_wide_spread(student):
    """log_softmax is finite when one logit is 200 above the others (softmax underflows to 0 there)"""
    x = torch.tensor([[0.0, 200.0, -5.0], [1.0, 2.0, 3.0]])
    expect_close(student.call("log_softmax", x), torch.log_softmax(x, -1), what="log_softmax([[0, 200, -5], ...])",
                 hint="never compute log(softmax(x)): exp underflows to 0 and log(0) = -inf.")


# --------------------------------------------------------------------------- Task 3: nll_loss

@graded("3.1", points=2)
def test_nll_loss_mean(student, rng):
    """nll_loss with reduction='mean' on 6 samples and 4 classes matches F.nll_loss"""
    lp = torch.log_softmax(torch.randn(6, 4, generator=rng), -1)
    t = torch.randint(0, 4, (6,), generator=rng)
    expect_close(student.call("nll_loss", lp, t), F.nll_loss(lp, t), what="nll_loss(log_probs, targets) (mean)",
                 hint="pick each row's log-probability at its target (torch.gather), negate, average.")


@graded("3.2", points=1)
@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_nll_loss_reductions(student, rng, reduction):
    """nll_loss with reduction='sum' and 'none' matches F.nll_loss (1 point each)"""
    lp = torch.log_softmax(torch.randn(5, 3, generator=rng, dtype=torch.float64), -1)
    t = torch.randint(0, 3, (5,), generator=rng)
    expect_close(student.call("nll_loss", lp, t, reduction=reduction), F.nll_loss(lp, t, reduction=reduction),
                 what=f"nll_loss(..., reduction={reduction!r})",
                 hint="'sum' adds the per-sample losses; 'none' returns them.")


@graded("3.3", points=1)
def test_nll_loss_rejects_out_of_range_target(student):
    """nll_loss raises ValueError for a target outside [0, C)"""
    lp = torch.log_softmax(torch.zeros(2, 3), -1)
    student.raises("ValueError", "nll_loss", lp, torch.tensor([0, 3]))


# --------------------------------------------------------------------------- Task 4: cross_entropy

@graded("4.1", points=3)
def test_cross_entropy_mean(student, rng):
    """cross_entropy of 8 samples over 5 classes (mean) matches F.cross_entropy"""
    x = torch.randn(8, 5, generator=rng) * 2
    t = torch.randint(0, 5, (8,), generator=rng)
    expect_close(student.call("cross_entropy", x, t), F.cross_entropy(x, t), what="cross_entropy(logits, targets)",
                 hint="cross_entropy = nll_loss(log_softmax(logits)).")


@graded("4.2", points=2)
def test_cross_entropy_label_smoothing(student, rng):
    """cross_entropy with label_smoothing=0.1 matches F.cross_entropy"""
    x = torch.randn(6, 4, generator=rng, dtype=torch.float64)
    t = torch.randint(0, 4, (6,), generator=rng)
    expect_close(student.call("cross_entropy", x, t, label_smoothing=0.1),
                 F.cross_entropy(x, t, label_smoothing=0.1), what="cross_entropy(..., label_smoothing=0.1)",
                 hint="the smoothed target puts (1 - eps) + eps/C on the target class and eps/C on every other one.")


@graded("4.3", points=1)
def test_cross_entropy_rejects_bad_label_smoothing(student):
    """cross_entropy raises ValueError for label_smoothing outside [0, 1]"""
    student.raises("ValueError", "cross_entropy", torch.zeros(2, 3), torch.tensor([0, 1]), label_smoothing=1.5)


@graded("4.4", points=1)
def test_cross_entropy_per_sample(student, rng):
    """cross_entropy with reduction='none' returns one loss per sample"""
    x = torch.randn(7, 3, generator=rng)
    t = torch.randint(0, 3, (7,), generator=rng)
    expect_close(student.call("cross_entropy", x, t, reduction="none"), F.cross_entropy(x, t, reduction="none"),
                 what="cross_entropy(..., reduction='none')", hint="return the (N,) vector of per-sample losses.")


# --------------------------------------------------------------------------- Task 5: cross_entropy_backward

def _autograd_grad(x: torch.Tensor, t: torch.Tensor, **kwargs) -> torch.Tensor:
    """d cross_entropy / d logits by PyTorch's autograd (the oracle)."""
    x = x.detach().clone().requires_grad_(True)
    F.cross_entropy(x, t, **kwargs).backward()
    return x.grad.detach()


@graded("5.1", points=3)
def test_backward_mean(student, rng):
    """cross_entropy_backward (mean) matches PyTorch's autograd on 6x4 float64"""
    x = torch.randn(6, 4, generator=rng, dtype=torch.float64)
    t = torch.randint(0, 4, (6,), generator=rng)
    expect_close(student.call("cross_entropy_backward", x, t), _autograd_grad(x, t),
                 what="cross_entropy_backward(logits, targets)",
                 hint="the gradient is (softmax(logits) - one_hot(targets)) / N for reduction='mean'.")


@graded("5.2", points=2)
def test_backward_sum(student, rng):
    """cross_entropy_backward with reduction='sum' matches PyTorch's autograd"""
    x = torch.randn(5, 3, generator=rng, dtype=torch.float64)
    t = torch.randint(0, 3, (5,), generator=rng)
    expect_close(student.call("cross_entropy_backward", x, t, reduction="sum"),
                 _autograd_grad(x, t, reduction="sum"), what="cross_entropy_backward(..., reduction='sum')",
                 hint="with 'sum' there is no division by N.")


@graded("5.3", points=2)
@PROPERTY
@given(shape=shapes, seed=seeds)
def test_backward_matches_finite_differences(student, shape, seed):
    """cross_entropy_backward agrees with central finite differences of F.cross_entropy"""
    x = _randn(shape, seed, scale=1.0)
    t = torch.randint(0, shape[1], (shape[0],), generator=torch.Generator().manual_seed(seed))
    h = 1e-6
    numeric = torch.zeros_like(x)
    for idx in range(x.numel()):
        e = torch.zeros(x.numel(), dtype=x.dtype)
        e[idx] = h
        e = e.view_as(x)
        numeric.view(-1)[idx] = (F.cross_entropy(x + e, t) - F.cross_entropy(x - e, t)) / (2 * h)
    expect_close(student.call("cross_entropy_backward", x, t), numeric, rtol=1e-5, atol=1e-7,
                 what=f"cross_entropy_backward on a {shape} input vs finite differences",
                 hint="differentiate the mean loss: softmax minus one-hot, divided by N.")


@graded("5.4", points=1)
def test_backward_rows_sum_to_zero(student, rng):
    """each row of the gradient sums to 0 (softmax and the target distribution both sum to 1)"""
    x = torch.randn(4, 6, generator=rng, dtype=torch.float64)
    t = torch.randint(0, 6, (4,), generator=rng)
    grad = student.call("cross_entropy_backward", x, t)
    expect_close(grad, _autograd_grad(x, t), what="cross_entropy_backward(logits, targets)",
                 hint="subtract 1 at each row's target after the softmax.")
    expect_close(grad.sum(-1), torch.zeros(4, dtype=torch.float64), atol=1e-12, what="row sums of the gradient",
                 hint="softmax rows sum to 1 and so does the one-hot target: their difference sums to 0.")
