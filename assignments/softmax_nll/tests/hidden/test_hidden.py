"""Hidden tests for softmax_nll (60 points): autograder only, never shipped to students.

Inputs are drawn fresh per run from the grader's seed; expected values come from PyTorch
in float64 on the trusted side and are never shown in feedback.
Per task: softmax 10, log_softmax 10, nll_loss 10, cross_entropy 13, cross_entropy_backward 17.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from autograder.testing import expect_close, expect_no_history, expect_unchanged, graded

DTYPES = [torch.float16, torch.float32, torch.float64]
REDUCTIONS = ["mean", "sum", "none"]
STABLE = "subtract the max along the dimension before exponentiating (log-sum-exp trick)."
NO_WRITES = "never write into your inputs; use out-of-place operations."
BATCH_SIZES = (1, 300)  # a single sample, and a batch larger than 256 (Python's cached small ints end at 256)
BATCH_HINT = ("a batch of any size N is valid: one sample keeps its batch dimension (squeeze only the class "
              "dimension), and sizes above 256 need == / != comparisons, never `is`.")


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _batch(rng: torch.Generator, n: int, c: int, dtype=torch.float64, scale: float = 3.0):
    """Random logits (n, c) and int64 targets in [0, c)."""
    x = (torch.randn(n, c, generator=rng, dtype=torch.float64) * scale).to(dtype)
    return x, torch.randint(0, c, (n,), generator=rng)


def _ce(x: torch.Tensor, t: torch.Tensor, **kwargs) -> torch.Tensor:
    """F.cross_entropy in float64, cast to x's dtype."""
    return F.cross_entropy(x.double(), t, **kwargs).to(x.dtype)


def _ce_grad(x: torch.Tensor, t: torch.Tensor, grad_output=None, **kwargs) -> torch.Tensor:
    """d loss / d logits by autograd in float64, cast to x's dtype."""
    xd = x.detach().double().requires_grad_(True)
    loss = F.cross_entropy(xd, t, **kwargs)
    upstream = torch.ones_like(loss) if grad_output is None else torch.as_tensor(grad_output, dtype=torch.float64)
    loss.backward(upstream)
    return xd.grad.to(x.dtype)


TARGETS = ("targets", "target")
SMOOTHING = ("label_smoothing", "label smoothing")
GRAD_OUTPUT = ("grad_output", "grad output")


def _culprit(case: str) -> tuple[str, ...]:
    """The argument a value-error case is about, by the case's name (targets also as 'target')."""
    for prefix, names in (("smoothing", SMOOTHING), ("logits", ("logits",)), ("log_probs", ("log_probs",)),
                          ("unknown_reduction", ("reduction",)),
                          ("grad_output", GRAD_OUTPUT)):
        if case.startswith(prefix):
            return names
    return TARGETS


def _nonfinite_rows(x: torch.Tensor) -> torch.Tensor:
    """x with row 0 holding a +inf logit, row 1 a NaN logit and row 2 only -inf (each row NaN in PyTorch)."""
    x = x.clone()
    x[0, 1] = float("inf")
    x[1, 2] = float("nan")
    x[2] = float("-inf")
    return x


def _with_neg_inf(rng: torch.Generator, shape: tuple[int, ...]) -> torch.Tensor:
    """Logits with about a third of the entries -inf, but at least one finite entry per row."""
    x = torch.randn(shape, generator=rng, dtype=torch.float64) * 4
    mask = torch.rand(shape, generator=rng) < 0.35
    mask[..., 0] = False
    return x.masked_fill(mask, float("-inf"))


# ======================================================================== softmax (10)

@graded("1.10", points=0.5)
@pytest.mark.parametrize("shape,dim", [((), 0), ((7,), 0), ((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -3),
                                       ((2, 3, 4, 5), -2)])
def test_softmax_any_dim(student, rng, shape, dim):
    """softmax along any dimension of tensors of several ranks, 0-d included, down to dim = -ndim; a dim out of
    range (just below, just above or further above): ValueError"""
    x = torch.randn(shape, generator=rng, dtype=torch.float64) * 3
    expect_close(student.call("softmax", x, dim=dim), torch.softmax(x, dim),
                 what=f"softmax(x, dim={dim}) on a {tuple(shape)} float64 input",
                 hint="normalize over exactly the dimension given (negative dims count from the end).")
    ndim = max(x.dim(), 1)
    for bad in (-ndim - 1, ndim, ndim + 1):  # outside the range PyTorch accepts: just below, just above, further
        student.raises_naming(("dim",), "softmax", x, dim=bad)


@graded("1.11", points=2)
def test_softmax_extreme_logits(student, rng):
    """softmax stays finite and exact for logits up to 1e4 in magnitude (float32 and float64)"""
    for dtype in (torch.float32, torch.float64):
        x = ((torch.rand(6, 9, generator=rng, dtype=torch.float64) * 2 - 1) * 1e4).to(dtype)
        expect_close(student.call("softmax", x, dim=1), torch.softmax(x.double(), 1).to(dtype),
                     what=f"softmax(x, dim=1) with {_name(dtype)} logits up to 1e4", hint=STABLE)


@graded("1.12", points=2)
def test_softmax_neg_inf_entries(student, rng):
    """softmax gives probability 0 to -inf logits; an all -inf row gives NaN, as in PyTorch"""
    x = _with_neg_inf(rng, (6, 8))
    expect_close(student.call("softmax", x), torch.softmax(x, -1), what="softmax(x) with some -inf logits",
                 hint="exp(-inf - max) = 0: take the max over the row, which is finite when any entry is.")
    x[2] = float("-inf")
    expect_close(student.call("softmax", x), torch.softmax(x, -1), what="softmax(x) with an all -inf row",
                 hint="match torch.softmax: a row of only -inf has no defined distribution (NaN).")
    x = _nonfinite_rows(x)
    expect_close(student.call("softmax", x), torch.softmax(x, -1),
                 what="softmax(x) with a +inf logit in one row and a NaN logit in another",
                 hint="match torch.softmax: a +inf or NaN logit makes its whole row NaN; do not replace a "
                      "non-finite row max by 0 or clamp the logits.")


@graded("1.13", points=1)
def test_softmax_dtypes(student, rng):
    """softmax returns the input's dtype for float16, float32 and float64"""
    for dtype in DTYPES:
        x = (torch.randn(4, 10, generator=rng) * 3).to(dtype)
        expect_close(student.call("softmax", x), torch.softmax(x.double(), -1).to(dtype),
                     what=f"softmax(x) on a {_name(dtype)} input",
                     hint="return the input's dtype; compute float16 in float32.")


@graded("1.14", points=1)
def test_softmax_leaves_input_alone(student, rng):
    """softmax does not modify its input and returns no autograd history"""
    x = torch.randn(5, 6, generator=rng).requires_grad_(True)
    what = "softmax(x) on an input with requires_grad=True"
    value, after = student.call_with_args("softmax", x)
    expect_unchanged([x.detach()], after, what=what)
    expect_no_history(value, what=what)
    expect_close(student.call("softmax", x.detach()), torch.softmax(x.detach(), -1), what=what, hint=STABLE)


EMPTY_CASES = [((0, 4), -1), ((4, 0), -1), ((2, 0, 3), 1)]
LOGITS_ERRORS = ["logits_integer", "logits_bool", "logits_list", "dim_float"]


def _expect_empty(student, fn: str, reference, shape: tuple[int, ...], dim: int) -> None:
    """``fn`` (softmax or log_softmax) of an empty float32 tensor equals PyTorch's: empty, same shape and dtype."""
    x = torch.empty(shape, dtype=torch.float32)
    expect_close(student.call(fn, x, dim=dim), reference(x, dim),
                 what=f"{fn}(x, dim={dim}) on an empty {tuple(shape)} float32 input",
                 hint="a tensor with zero elements is valid input: return an empty tensor of its shape "
                      "(a max over a dimension of size 0 is an error, so handle this case first).")


def _logits_error(case: str) -> tuple[tuple, dict, tuple[str, ...]]:
    """(args, kwargs, the argument the ValueError must name) of one bad-input case of softmax and log_softmax."""
    x = torch.zeros(3, 4)
    return {
        "logits_integer": ((x.long(),), {}, ("logits",)),
        "logits_bool": ((x.bool(),), {}, ("logits",)),
        "logits_list": (([[0.0] * 4] * 3,), {}, ("logits",)),
        "dim_float": ((x,), {"dim": 1.0}, ("dim",)),
    }[case]


@graded("1.15", points=0.2)
@pytest.mark.parametrize("shape,dim", EMPTY_CASES, ids=["0x4", "4x0", "2x0x3"])
def test_softmax_empty(student, shape, dim):
    """softmax of a tensor with zero elements is an empty tensor of the same shape and dtype"""
    _expect_empty(student, "softmax", torch.softmax, shape, dim)


@graded("1.16", points=0.1)
@pytest.mark.parametrize("case", LOGITS_ERRORS)
def test_softmax_value_errors(student, case):
    """softmax raises ValueError naming the argument for non-floating-point logits and a dim that is not an int"""
    args, kwargs, names = _logits_error(case)
    student.raises_naming(names, "softmax", *args, **kwargs)


# ======================================================================== log_softmax (10)

@graded("2.10", points=0.6)
@pytest.mark.parametrize("shape,dim", [((), -1), ((9,), -1), ((4, 3, 5), 0), ((4, 3, 5), 1), ((2, 3, 4, 5), 2)])
def test_log_softmax_any_dim(student, rng, shape, dim):
    """log_softmax along any dimension of tensors of several ranks, 0-d included; a dim outside the range (just
    below, just above or further above) raises ValueError"""
    x = torch.randn(shape, generator=rng, dtype=torch.float64) * 3
    expect_close(student.call("log_softmax", x, dim=dim), torch.log_softmax(x, dim),
                 what=f"log_softmax(x, dim={dim}) on a {tuple(shape)} float64 input",
                 hint="reduce over exactly the dimension given (keepdim=True helps broadcasting).")
    ndim = max(x.dim(), 1)
    for bad in (-ndim - 1, ndim, ndim + 1):  # outside the range PyTorch accepts (a 0-d tensor accepts -1 and 0)
        student.raises_naming(("dim",), "log_softmax", x, dim=bad)


@graded("2.11", points=2)
def test_log_softmax_extreme_logits(student, rng):
    """log_softmax is finite and exact for logits up to 1e4 (where log(softmax) would be -inf)"""
    for dtype in (torch.float32, torch.float64):
        x = ((torch.rand(5, 7, generator=rng, dtype=torch.float64) * 2 - 1) * 1e4).to(dtype)
        expect_close(student.call("log_softmax", x), torch.log_softmax(x.double(), -1).to(dtype),
                     what=f"log_softmax(x) with {_name(dtype)} logits up to 1e4",
                     hint="compute x - max - log(sum(exp(x - max))); never log(softmax(x)).")


@graded("2.12", points=2)
def test_log_softmax_neg_inf_entries(student, rng):
    """log_softmax keeps -inf logits at -inf and the other entries exact; an all -inf row, a +inf or a NaN logit
    makes its row NaN, as in PyTorch"""
    x = _with_neg_inf(rng, (7, 6))
    expect_close(student.call("log_softmax", x), torch.log_softmax(x, -1), what="log_softmax(x) with some -inf logits",
                 hint="-inf - logsumexp stays -inf; the row max is finite as long as one entry is.")
    x = _nonfinite_rows(x)
    expect_close(student.call("log_softmax", x), torch.log_softmax(x, -1),
                 what="log_softmax(x) with an all -inf row, a row with a +inf logit and a row with a NaN logit",
                 hint="match torch.log_softmax: each of these rows is NaN; do not replace a non-finite row max "
                      "by 0 or clamp the logits.")


@graded("2.13", points=1)
def test_log_softmax_dtypes(student, rng):
    """log_softmax returns the input's dtype for float16, float32 and float64"""
    for dtype in DTYPES:
        x = (torch.randn(3, 11, generator=rng) * 3).to(dtype)
        expect_close(student.call("log_softmax", x), torch.log_softmax(x.double(), -1).to(dtype),
                     what=f"log_softmax(x) on a {_name(dtype)} input", hint="return the input's dtype.")
    wide = (torch.rand(2, 100_000, generator=rng) * 0.01).half()
    expect_close(student.call("log_softmax", wide), torch.log_softmax(wide.double(), -1).half(),
                 what="log_softmax(x) on float16 rows of 100000 entries",
                 hint="a float16 sum of 100000 exps exceeds 65504 (float16's max): compute in float32, cast back.")


@graded("2.14", points=1)
def test_log_softmax_leaves_input_alone(student, rng):
    """log_softmax does not modify its input and returns no autograd history"""
    x = (torch.randn(4, 5, generator=rng) * 50).requires_grad_(True)
    what = "log_softmax(x) on an input with requires_grad=True"
    value, after = student.call_with_args("log_softmax", x)
    expect_unchanged([x.detach()], after, what=what)
    expect_no_history(value, what=what)
    expect_close(student.call("log_softmax", x.detach()), torch.log_softmax(x.detach(), -1), what=what,
                 hint=NO_WRITES)


@graded("2.15", points=0.2)
@pytest.mark.parametrize("shape,dim", EMPTY_CASES, ids=["0x4", "4x0", "2x0x3"])
def test_log_softmax_empty(student, shape, dim):
    """log_softmax of a tensor with zero elements is an empty tensor of the same shape and dtype"""
    _expect_empty(student, "log_softmax", torch.log_softmax, shape, dim)


@graded("2.16", points=0.1)
@pytest.mark.parametrize("case", LOGITS_ERRORS)
def test_log_softmax_value_errors(student, case):
    """log_softmax raises ValueError naming the argument for non-floating-point logits and a dim that is not an int"""
    args, kwargs, names = _logits_error(case)
    student.raises_naming(names, "log_softmax", *args, **kwargs)


# ======================================================================== nll_loss (10)

@graded("3.10", points=1)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_reductions(student, rng, reduction):
    """nll_loss matches F.nll_loss for each reduction (N != C), on log-probabilities taken as given, also for a
    single sample and a batch of 300"""
    x, t = _batch(rng, 11, 5)
    lp = torch.log_softmax(x, -1)
    expect_close(student.call("nll_loss", lp, t, reduction=reduction), F.nll_loss(lp, t, reduction=reduction),
                 what=f"nll_loss(<11x5 float64 log-probs>, targets, reduction={reduction!r})",
                 hint="index rows by position and columns by target; 'mean' divides by N, the number of rows.")
    shifted = lp - 1.0  # rows sum to 1/e in probability: a log_softmax inside nll_loss would undo the shift
    expect_close(student.call("nll_loss", shifted, t, reduction=reduction),
                 F.nll_loss(shifted, t, reduction=reduction),
                 what=f"nll_loss(<11x5 float64 log-probs, rows not summing to 1>, targets, reduction={reduction!r})",
                 hint="nll_loss takes log_probs as given and returns -log_probs[n, targets[n]]: it does not apply "
                      "log_softmax itself (F.nll_loss does not either).")
    for n in BATCH_SIZES:
        x, t = _batch(rng, n, 5)
        lp = torch.log_softmax(x, -1)
        expect_close(student.call("nll_loss", lp, t, reduction=reduction), F.nll_loss(lp, t, reduction=reduction),
                     what=f"nll_loss(<{n}x5 float64 log-probs>, targets, reduction={reduction!r})", hint=BATCH_HINT)


TARGET_DTYPES = [torch.int32, torch.int16, torch.int8, torch.uint8]
TARGET_DTYPES_HINT = ("targets of any integer dtype are class indices; convert them to int64 (targets.long()) "
                      "before indexing, and reject only floating-point, complex and bool targets.")


@graded("3.11", points=1)
def test_nll_loss_dtypes(student, rng):
    """nll_loss returns the input's dtype for float16, float32 and float64 (float64 log-probs beyond float32's range
    stay finite), and accepts targets of every integer dtype"""
    for dtype in (torch.float16, torch.float32):
        x, t = _batch(rng, 6, 4)
        lp = torch.log_softmax(x, -1).to(dtype)
        expect_close(student.call("nll_loss", lp, t), F.nll_loss(lp.double(), t).to(dtype),
                     what=f"nll_loss on {_name(dtype)} log-probs", hint="keep the input's dtype.")
    x, t = _batch(rng, 6, 4)
    huge = torch.log_softmax(x, -1) - 1e39  # finite in float64, beyond float32's largest value (about 3.4e38)
    for reduction in REDUCTIONS:
        expect_close(student.call("nll_loss", huge, t, reduction=reduction), F.nll_loss(huge, t, reduction=reduction),
                     what=f"nll_loss(..., reduction={reduction!r}) on float64 log-probs near -1e39",
                     hint="compute float64 input in float64: only float16 is computed in float32 (float32 overflows "
                          "above 3.4e38).")
    x, t = _batch(rng, 7, 4)
    lp = torch.log_softmax(x, -1)
    for dtype in TARGET_DTYPES:
        expect_close(student.call("nll_loss", lp, t.to(dtype), reduction="none"), F.nll_loss(lp, t, reduction="none"),
                     what=f"nll_loss(..., reduction='none') with {_name(dtype)} targets", hint=TARGET_DTYPES_HINT)


NLL_LOSS_VALUE_ERRORS_CASES = ["log_probs_1d", "log_probs_3d", "log_probs_integer", "targets_not_1d", "targets_length",
                               "target_negative", "target_C_or_above", "unknown_reduction", "targets_list",
                               "targets_bool", "targets_complex", "targets_float"]


@graded("3.12", points=0.25)
@pytest.mark.parametrize("case", NLL_LOSS_VALUE_ERRORS_CASES)
def test_nll_loss_value_errors(student, case):
    """nll_loss raises ValueError, with a message naming the offending argument, for malformed inputs"""
    lp = torch.log_softmax(torch.zeros(3, 4), -1)
    t = torch.tensor([0, 1, 2])
    calls = {
        "log_probs_1d": [(lp[0], t[:1], "mean")],
        "log_probs_3d": [(lp.view(3, 2, 2), t, "mean")],
        "log_probs_integer": [(lp.long(), t, "mean")],
        "targets_not_1d": [(lp, t.view(3, 1), "mean"), (lp, t[0], "mean")],
        "targets_length": [(lp, t[:2], "mean"), (lp, torch.tensor([0, 1, 2, 3]), "mean")],
        "target_negative": [(lp, torch.tensor([0, -1, 2]), "mean")],
        "target_C_or_above": [(lp, torch.tensor([0, 4, 2]), "mean"), (lp, torch.tensor([0, 5, 2]), "mean"),
                              (lp[:1], torch.tensor([4]), "mean")],
        "unknown_reduction": [(lp, t, "avg")],
        "targets_list": [(lp, [0, 1, 2], "mean")],
        "targets_bool": [(lp, torch.tensor([True, False, True]), "mean")],
        "targets_complex": [(lp, t.to(torch.complex64), "mean")],
        "targets_float": [(lp, t.double(), "mean")],
    }[case]
    for log_probs, targets, reduction in calls:
        student.raises_naming(_culprit(case), "nll_loss", log_probs, targets, reduction=reduction)


@graded("3.13", points=1)
def test_nll_loss_leaves_input_alone(student, rng):
    """nll_loss does not modify its inputs and returns no autograd history"""
    x, t = _batch(rng, 5, 7)
    lp = torch.log_softmax(x, -1).requires_grad_(True)
    what = "nll_loss(log_probs, targets, reduction='none') on log_probs with requires_grad=True"
    value, after = student.call_with_args("nll_loss", lp, t, reduction="none")
    expect_unchanged([lp.detach(), t], after, what=what)
    expect_no_history(value, what=what)
    expect_close(student.call("nll_loss", lp.detach(), t, reduction="none"),
                 F.nll_loss(lp.detach(), t, reduction="none"), what="nll_loss(..., reduction='none')",
                 hint="gather the target entries.")


@graded("3.14", points=1)
def test_nll_loss_many_classes(student, rng):
    """nll_loss with 1000 classes and 3 samples (N much smaller than C)"""
    x, t = _batch(rng, 3, 1000)
    lp = torch.log_softmax(x, -1)
    expect_close(student.call("nll_loss", lp, t), F.nll_loss(lp, t), what="nll_loss on 3 samples of 1000 classes",
                 hint="average over the N samples, not over the C classes.")


@graded("3.15", points=1)
def test_nll_loss_edge_shapes(student):
    """nll_loss on one sample of one class, and on an empty batch (N = 0) for each reduction"""
    lp = torch.zeros(1, 1, dtype=torch.float64)
    t = torch.zeros(1, dtype=torch.int64)
    expect_close(student.call("nll_loss", lp, t), F.nll_loss(lp, t), what="nll_loss on a 1x1 input",
                 hint="shapes (1, 1) and (1,) are valid inputs.")
    empty, none = torch.empty(0, 3, dtype=torch.float64), torch.empty(0, dtype=torch.int64)
    for reduction in REDUCTIONS:
        expect_close(student.call("nll_loss", empty, none, reduction=reduction),
                     F.nll_loss(empty, none, reduction=reduction), what=f"nll_loss on N = 0 rows ({reduction!r})",
                     hint="an empty batch is valid: 'sum' is 0, 'mean' is NaN (0/0) as in PyTorch, 'none' is empty.")


# ======================================================================== cross_entropy (13)

@graded("4.10", points=1)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_matches_torch(student, rng, reduction, smoothing):
    """cross_entropy matches F.cross_entropy for each reduction, with and without label smoothing, also for a single
    sample and a batch of 300"""
    x, t = _batch(rng, 9, 6)
    expect_close(student.call("cross_entropy", x, t, reduction=reduction, label_smoothing=smoothing),
                 _ce(x, t, reduction=reduction, label_smoothing=smoothing),
                 what=f"cross_entropy(<9x6 float64>, targets, reduction={reduction!r}, label_smoothing={smoothing})",
                 hint="smoothing spreads eps/C over all C classes (target included) and keeps 1 - eps on the target.")
    for n in BATCH_SIZES:
        x, t = _batch(rng, n, 6)
        expect_close(student.call("cross_entropy", x, t, reduction=reduction, label_smoothing=smoothing),
                     _ce(x, t, reduction=reduction, label_smoothing=smoothing),
                     what=f"cross_entropy(<{n}x6 float64>, targets, reduction={reduction!r}, "
                          f"label_smoothing={smoothing})", hint=BATCH_HINT)


@graded("4.11", points=1)
def test_cross_entropy_extreme_logits(student, rng):
    """cross_entropy is finite and exact for float32 logits up to 1e4, with label smoothing too"""
    x = ((torch.rand(8, 5, generator=rng, dtype=torch.float64) * 2 - 1) * 1e4).float()
    t = torch.randint(0, 5, (8,), generator=rng)
    for smoothing in (0.0, 0.1):
        expect_close(student.call("cross_entropy", x, t, reduction="none", label_smoothing=smoothing),
                     _ce(x, t, reduction="none", label_smoothing=smoothing),
                     what=f"cross_entropy(..., reduction='none', label_smoothing={smoothing}) with logits up to 1e4",
                     hint="build it on a stable log_softmax.")


@graded("4.17", points=0.5)
def test_cross_entropy_neg_inf_logits(student, rng):
    """cross_entropy with -inf logits: with label smoothing a row holding one has loss +inf; without it, only a
    -inf target logit does, as in PyTorch"""
    x = _with_neg_inf(rng, (7, 5))
    t = torch.randint(0, 5, (7,), generator=rng)
    x[0, t[0]], x[0, (t[0] + 1) % 5] = 1.0, float("-inf")  # a finite target beside a -inf logit
    x[1, t[1]], x[1, (t[1] + 1) % 5] = float("-inf"), 0.5  # the target's own logit is -inf
    for smoothing in (0.0, 0.1):
        expect_close(student.call("cross_entropy", x, t, reduction="none", label_smoothing=smoothing),
                     _ce(x, t, reduction="none", label_smoothing=smoothing),
                     what=f"cross_entropy(..., reduction='none', label_smoothing={smoothing}) with some -inf logits",
                     hint="with label_smoothing=0 only the target's log-probability counts: skip the smoothing term "
                          "(0 * inf is NaN); with label_smoothing > 0 a -inf logit makes its row's loss +inf.")


@graded("4.16", points=0.5)
def test_cross_entropy_empty_batch(student):
    """cross_entropy on an empty batch (N = 0) for each reduction, with and without label smoothing"""
    empty, none = torch.empty(0, 3, dtype=torch.float64), torch.empty(0, dtype=torch.int64)
    for reduction in REDUCTIONS:
        for smoothing in (0.0, 0.1):
            expect_close(student.call("cross_entropy", empty, none, reduction=reduction, label_smoothing=smoothing),
                         _ce(empty, none, reduction=reduction, label_smoothing=smoothing),
                         what=f"cross_entropy on N = 0 rows ({reduction!r}, label_smoothing={smoothing})",
                         hint="an empty batch is valid: 'sum' is 0, 'mean' is NaN (0/0) as in PyTorch, "
                              "'none' has shape (0,).")


@graded("4.12", points=1)
def test_cross_entropy_dtypes(student, rng):
    """cross_entropy returns the input's dtype for float16, float32 and float64"""
    for dtype in DTYPES:
        x, t = _batch(rng, 6, 4, dtype=dtype)
        expect_close(student.call("cross_entropy", x, t), _ce(x, t), what=f"cross_entropy on {_name(dtype)} logits",
                     hint="the loss has the logits' dtype.")
    wide = (torch.rand(2, 100_000, generator=rng) * 0.01).half()
    targets = torch.randint(0, 100_000, (2,), generator=rng)
    expect_close(student.call("cross_entropy", wide, targets), _ce(wide, targets),
                 what="cross_entropy on float16 logits with 100000 classes",
                 hint="a float16 sum of 100000 exps exceeds 65504 (float16's max): compute in float32, cast back.")
    x, t = _batch(rng, 7, 4)
    for dtype in TARGET_DTYPES:
        expect_close(student.call("cross_entropy", x, t.to(dtype), reduction="none", label_smoothing=0.1),
                     _ce(x, t, reduction="none", label_smoothing=0.1),
                     what=f"cross_entropy(..., reduction='none', label_smoothing=0.1) with {_name(dtype)} targets",
                     hint=TARGET_DTYPES_HINT)


@graded("4.13", points=0.125)
@pytest.mark.parametrize("case", ["smoothing_negative", "smoothing_above_one", "smoothing_string", "logits_1d",
                                  "logits_3d", "logits_integer", "unknown_reduction", "targets_list", "targets_bool",
                                  "targets_complex", "targets_float", "targets_not_1d", "targets_length",
                                  "target_negative", "target_C_or_above", "target_invalid_full_smoothing"])
def test_cross_entropy_value_errors(student, case):
    """cross_entropy raises ValueError, with a message naming the offending argument, for malformed inputs (targets
    are checked also with label_smoothing=1.0)"""
    x, t = torch.zeros(3, 4), torch.tensor([0, 1, 2])
    calls = {
        "smoothing_negative": [((x, t), {"label_smoothing": -0.1})],
        "smoothing_above_one": [((x, t), {"label_smoothing": 1.01})],
        "smoothing_string": [((x, t), {"label_smoothing": "0.1"})],
        "logits_1d": [((x[0], t[:1]), {})],
        "logits_3d": [((x.view(3, 2, 2), t), {})],
        "logits_integer": [((x.long(), t), {})],
        "unknown_reduction": [((x, t), {"reduction": "average"})],
        "targets_list": [((x, [0, 1, 2]), {})],
        "targets_bool": [((x, torch.tensor([True, False, True])), {})],
        "targets_complex": [((x, t.to(torch.complex64)), {})],
        "targets_float": [((x, t.float()), {})],
        "targets_not_1d": [((x, t.view(3, 1)), {}), ((x, t[0]), {})],
        "targets_length": [((x, t[:2]), {}), ((x, torch.tensor([0, 1, 2, 3])), {})],
        "target_negative": [((x, torch.tensor([0, -1, 2])), {})],
        "target_C_or_above": [((x, torch.tensor([0, 4, 2])), {}), ((x, torch.tensor([0, 5, 2])), {}),
                              ((x[:1], torch.tensor([4])), {})],
        "target_invalid_full_smoothing": [((x, torch.tensor([0, 4, 2])), {"label_smoothing": 1.0})],
    }[case]
    for args, kwargs in calls:
        student.raises_naming(_culprit(case), "cross_entropy", *args, **kwargs)


@graded("4.14", points=1)
def test_cross_entropy_leaves_input_alone(student, rng):
    """cross_entropy does not modify its logits and returns no autograd history"""
    x, t = _batch(rng, 5, 3, dtype=torch.float32, scale=30)
    x.requires_grad_(True)
    what = "cross_entropy(logits, targets, label_smoothing=0.1) on logits with requires_grad=True"
    value, after = student.call_with_args("cross_entropy", x, t, label_smoothing=0.1)
    expect_unchanged([x.detach(), t], after, what=what)
    expect_no_history(value, what=what)
    expect_close(student.call("cross_entropy", x.detach(), t, label_smoothing=0.1),
                 _ce(x.detach(), t, label_smoothing=0.1), what=what, hint=NO_WRITES)


@graded("4.15", points=1)
def test_cross_entropy_full_smoothing(student, rng):
    """cross_entropy with label_smoothing=1.0 (a uniform target) matches F.cross_entropy"""
    x, t = _batch(rng, 7, 5)
    expect_close(student.call("cross_entropy", x, t, label_smoothing=1.0), _ce(x, t, label_smoothing=1.0),
                 what="cross_entropy(..., label_smoothing=1.0)", hint="eps = 1 puts 1/C on every class.")


# ======================================================================== cross_entropy_backward (17)

@graded("5.10", points=1.5)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_backward_matches_autograd(student, rng, reduction, smoothing):
    """cross_entropy_backward matches PyTorch's autograd for each reduction and label smoothing, also for a single
    sample and a batch of 300"""
    x, t = _batch(rng, 10, 7)
    expect_close(student.call("cross_entropy_backward", x, t, reduction=reduction, label_smoothing=smoothing),
                 _ce_grad(x, t, reduction=reduction, label_smoothing=smoothing),
                 what=f"cross_entropy_backward(<10x7 float64>, targets, reduction={reduction!r}, "
                      f"label_smoothing={smoothing})",
                 hint="gradient = (softmax - target distribution) * upstream, divided by N only for 'mean'.")
    for n in BATCH_SIZES:
        x, t = _batch(rng, n, 7)
        expect_close(student.call("cross_entropy_backward", x, t, reduction=reduction, label_smoothing=smoothing),
                     _ce_grad(x, t, reduction=reduction, label_smoothing=smoothing),
                     what=f"cross_entropy_backward(<{n}x7 float64>, targets, reduction={reduction!r}, "
                          f"label_smoothing={smoothing})", hint=BATCH_HINT)


@graded("5.11", points=1)
@pytest.mark.parametrize("reduction,kind", [("none", "vector"), ("mean", "tensor"), ("sum", "float")])
def test_backward_grad_output(student, rng, reduction, kind):
    """cross_entropy_backward scales by grad_output: a (N,) vector for 'none', a scalar otherwise"""
    x, t = _batch(rng, 6, 4)
    upstream = {"vector": torch.randn(6, generator=rng, dtype=torch.float64),
                "tensor": torch.tensor(2.5, dtype=torch.float64), "float": -0.75}[kind]
    expect_close(student.call("cross_entropy_backward", x, t, reduction=reduction, grad_output=upstream),
                 _ce_grad(x, t, grad_output=upstream, reduction=reduction),
                 what=f"cross_entropy_backward(..., reduction={reduction!r}, grad_output=<{kind}>)",
                 hint="multiply row i by grad_output[i] for 'none'; by the scalar otherwise.")
    if kind == "float":  # a Python int is a scalar too
        expect_close(student.call("cross_entropy_backward", x, t, reduction=reduction, grad_output=3),
                     _ce_grad(x, t, grad_output=3.0, reduction=reduction),
                     what=f"cross_entropy_backward(..., reduction={reduction!r}, grad_output=<Python int>)",
                     hint="a scalar grad_output is any Python number (int or float) or a 0-d tensor.")


@graded("5.12", points=0.5)
def test_backward_extreme_logits(student, rng):
    """cross_entropy_backward is finite and exact for float32 logits up to 1e4"""
    x = ((torch.rand(6, 5, generator=rng, dtype=torch.float64) * 2 - 1) * 1e4).float()
    t = torch.randint(0, 5, (6,), generator=rng)
    expect_close(student.call("cross_entropy_backward", x, t, label_smoothing=0.1),
                 _ce_grad(x, t, label_smoothing=0.1), what="cross_entropy_backward with logits up to 1e4",
                 hint="use a stable softmax inside the gradient too.")


@graded("5.17", points=0.5)
def test_backward_neg_inf_logits(student, rng):
    """cross_entropy_backward is finite and exact for rows with some -inf logits, also where the loss is +inf"""
    x = _with_neg_inf(rng, (7, 5))
    t = torch.randint(0, 5, (7,), generator=rng)
    x[0, t[0]], x[0, (t[0] + 1) % 5] = 1.0, float("-inf")  # a finite target beside a -inf logit
    x[1, t[1]], x[1, (t[1] + 1) % 5] = float("-inf"), 0.5  # the target's own logit is -inf: the loss is +inf
    for smoothing in (0.0, 0.1):
        expect_close(student.call("cross_entropy_backward", x, t, label_smoothing=smoothing),
                     _ce_grad(x, t, label_smoothing=smoothing),
                     what=f"cross_entropy_backward(..., label_smoothing={smoothing}) with some -inf logits",
                     hint="softmax gives a -inf logit probability exactly 0, so its gradient entry is -q_j, finite; "
                          "subtract the row max (finite when one entry is) before exponentiating.")


@graded("5.13", points=1)
def test_backward_dtypes(student, rng):
    """cross_entropy_backward returns the logits' dtype for float16, float32 and float64, and accepts targets of
    every integer dtype"""
    for dtype in DTYPES:
        x, t = _batch(rng, 5, 6, dtype=dtype)
        expect_close(student.call("cross_entropy_backward", x, t), _ce_grad(x, t),
                     what=f"cross_entropy_backward on {_name(dtype)} logits",
                     hint="the gradient has the logits' dtype.")
    x, t = _batch(rng, 7, 4)
    for dtype in TARGET_DTYPES:
        expect_close(student.call("cross_entropy_backward", x, t.to(dtype), label_smoothing=0.1),
                     _ce_grad(x, t, label_smoothing=0.1),
                     what=f"cross_entropy_backward(..., label_smoothing=0.1) with {_name(dtype)} targets",
                     hint=TARGET_DTYPES_HINT)


@graded("5.14", points=0.0625)
@pytest.mark.parametrize("case", ["grad_output_not_vector", "unknown_reduction", "smoothing_above_one",
                                  "smoothing_negative", "smoothing_string", "logits_not_2d", "logits_integer",
                                  "target_C_or_above", "target_negative", "targets_list", "targets_bool",
                                  "targets_complex", "targets_float", "targets_not_1d", "targets_length",
                                  "grad_output_not_scalar"])
def test_backward_value_errors(student, case):
    """cross_entropy_backward raises ValueError, with a message naming the offending argument, for malformed inputs"""
    x, t = torch.zeros(3, 4), torch.tensor([0, 1, 2])
    calls = {
        "smoothing_negative": [((x, t), {"label_smoothing": -0.5})],
        "smoothing_string": [((x, t), {"label_smoothing": "0.1"})],
        "logits_not_2d": [((x[0], t[:1]), {}), ((x.view(3, 2, 2), t), {})],
        "logits_integer": [((x.long(), t), {})],
        "target_negative": [((x, torch.tensor([0, -1, 1])), {})],
        "targets_float": [((x, t.float()), {})],
        "grad_output_not_vector": [((x, t), {"reduction": "none", "grad_output": torch.ones(4)}),
                                   ((x, t), {"reduction": "none", "grad_output": torch.ones(2)}),
                                   ((x, t), {"reduction": "none", "grad_output": 1.5})],
        "unknown_reduction": [((x, t), {"reduction": "max"})],
        "smoothing_above_one": [((x, t), {"label_smoothing": 2.0})],
        "target_C_or_above": [((x, torch.tensor([0, 4, 1])), {}), ((x, torch.tensor([0, 5, 1])), {}),
                              ((x[:1], torch.tensor([4])), {})],
        "targets_list": [((x, [0, 1, 2]), {})],
        "targets_bool": [((x, torch.tensor([True, False, True])), {})],
        "targets_complex": [((x, t.to(torch.complex64)), {})],
        "targets_not_1d": [((x, t.view(3, 1)), {}), ((x, t[0]), {})],
        "targets_length": [((x, t[:2]), {}), ((x, torch.tensor([0, 1, 2, 3])), {})],
        "grad_output_not_scalar": [((x, t), {"reduction": "mean", "grad_output": torch.ones(1)}),
                                   ((x, t), {"reduction": "sum", "grad_output": "1"})],
    }[case]
    for args, kwargs in calls:
        student.raises_naming(_culprit(case), "cross_entropy_backward", *args, **kwargs)


@graded("5.15", points=1)
def test_backward_leaves_input_alone(student, rng):
    """cross_entropy_backward does not modify its inputs (grad_output included) and returns no autograd history"""
    x, t = _batch(rng, 4, 6, dtype=torch.float32, scale=20)
    x.requires_grad_(True)
    what = "cross_entropy_backward(logits, targets) on logits with requires_grad=True"
    value, after = student.call_with_args("cross_entropy_backward", x, t)
    expect_unchanged([x.detach(), t], after, what=what)
    expect_no_history(value, what=what)
    expect_close(student.call("cross_entropy_backward", x.detach(), t), _ce_grad(x.detach(), t), what=what,
                 hint=NO_WRITES)
    upstreams = {"mean": torch.tensor(2.5), "sum": torch.tensor(-1.5),
                 "none": torch.randn(4, generator=rng, dtype=torch.float64).float()}
    for reduction, upstream in upstreams.items():
        what = f"cross_entropy_backward(logits, targets, {reduction!r}, 0.0, grad_output=<float32 tensor>)"
        args = (x.detach(), t, reduction, 0.0, upstream)
        value, after = student.call_with_args("cross_entropy_backward", *args)
        expect_unchanged(list(args), after, what=what)
        expect_close(value, _ce_grad(x.detach(), t, grad_output=upstream.double(), reduction=reduction), what=what,
                     hint="never write into grad_output: grad_output.to(...) of its own dtype is the caller's "
                          "tensor, so scale out of place (g / N, not g /= N).")


@graded("5.16", points=1)
def test_backward_edge_shapes(student, rng):
    """cross_entropy_backward on one class (the gradient is 0), on an empty batch (N = 0) for each reduction, and
    with label_smoothing=1.0 (a uniform target)"""
    one = torch.randn(4, 1, dtype=torch.float64)
    targets = torch.zeros(4, dtype=torch.int64)
    expect_close(student.call("cross_entropy_backward", one, targets), _ce_grad(one, targets),
                 what="cross_entropy_backward with C = 1", hint="with a single class the loss is constant.")
    empty, none = torch.empty(0, 5, dtype=torch.float64), torch.empty(0, dtype=torch.int64)
    for reduction in REDUCTIONS:
        expect_close(student.call("cross_entropy_backward", empty, none, reduction=reduction),
                     torch.empty(0, 5, dtype=torch.float64),
                     what=f"cross_entropy_backward on N = 0 rows ({reduction!r})",
                     hint="an empty batch has an empty (0, C) gradient (and no target to range-check).")
    x, t = _batch(rng, 6, 5)
    expect_close(student.call("cross_entropy_backward", x, t, label_smoothing=1.0), _ce_grad(x, t, label_smoothing=1.0),
                 what="cross_entropy_backward(..., label_smoothing=1.0)",
                 hint="eps = 1 makes the target distribution uniform (1/C on every class): the gradient is p - 1/C.")
