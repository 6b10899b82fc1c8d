"""Hidden tests for dropout (60 points): autograder only, never shipped to students.

Dropout is random, so the tests never compare against a particular random stream: an
implementation that draws its numbers differently (``torch.rand``, ``torch.bernoulli``, ...)
passes. They check exact relations that hold for every mask, and statistics of the masks.
Every random draw in the student's process comes from a seed derived from the grader's seed
(a generator built in the worker, or ``torch.manual_seed`` in a probe), so each run is fresh
and a rerun with the same seed is identical.

Each statistical test states its false-failure probability for a correct implementation (at
most 1e-6, from exact binomial tails or Hoeffding's inequality, never from an approximation)
and the sample size at which it rejects the bug it targets with probability ~1.
Per task: dropout_forward 30, dropout_backward 12, Dropout 18.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch

from autograder.testing import (
    GeneratorSpec,
    describe,
    expect_close,
    expect_equal,
    expect_no_history,
    expect_unchanged,
    fail,
    graded,
    origin_of,
)

ALPHA = 1e-6
"""Largest false-failure probability of any statistical test, for a correct implementation."""
DTYPES = [torch.float16, torch.float32, torch.float64]
EXACT = {"rtol": 0.0, "atol": 0.0}
SCALE = "kept elements are x / (1 - p), dropped ones are exactly 0: out = x * mask / (1 - p)."
INDEPENDENT = "draw one uniform number per element, e.g. `torch.rand(x.shape, generator=generator, device=x.device)`."
USE_GENERATOR = "draw every random number from `generator` (pass generator=generator to torch.rand / torch.bernoulli)."
NO_WRITES = "never write into your inputs: compute out = x * mask / (1 - p) out of place."


# --------------------------------------------------------------------------- helpers

def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _seed(rng: torch.Generator) -> int:
    """A fresh seed for a generator (or torch.manual_seed) in the student's process."""
    return int(torch.randint(0, 2**62, (1,), generator=rng))


def _signed(rng: torch.Generator, shape: tuple[int, ...], dtype=torch.float32, low: float = 0.5) -> torch.Tensor:
    """Random values with |x| in [low, low + 1) and random signs: never 0, so out != 0 exactly where kept."""
    magnitude = torch.rand(shape, generator=rng, dtype=torch.float64) + low
    sign = torch.randint(0, 2, shape, generator=rng) * 2 - 1
    return (magnitude * sign).to(dtype)


def _scaled(x: torch.Tensor, mask: torch.Tensor, p: float) -> torch.Tensor:
    """x * mask / (1 - p), computed in float64 and cast to x's dtype (zeros at p = 1)."""
    if p == 1:
        return torch.zeros_like(x)
    return (x.double() * mask / (1 - p)).to(x.dtype)


def _check_mask(mask, shape: tuple[int, ...], device: str, what: str) -> torch.Tensor:
    """A plain bool tensor of ``shape`` on ``device``."""
    if type(mask) is not torch.Tensor or mask.dtype != torch.bool or tuple(mask.shape) != tuple(shape):
        fail(what, f"returned the mask {describe(mask)}, expected a bool tensor of x's shape {tuple(shape)}",
             "the mask is True where an element is kept, e.g. `torch.rand(x.shape, ...) >= p`.")
    origin = origin_of(mask)
    if origin is not None and origin.device != device:
        fail(what, f"returned the mask on {origin.device}, expected {device}", "create the mask on x.device.")
    return mask


def _out_and_mask(value, x: torch.Tensor, device: str, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Split dropout_forward's (training-mode) result, checking the mask."""
    if type(value) not in (tuple, list) or len(value) != 2:
        fail(what, f"returned {describe(value)}, expected a pair (out, mask)", "end with `return out, mask`.")
    out, mask = value
    return out, _check_mask(mask, tuple(x.shape), device, what)


def _forward(student, device, x, p, what, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """The student's (out, mask) for a training-mode call, the mask checked."""
    return _out_and_mask(student.call("dropout_forward", x, p, **kwargs), x, device, what)


@functools.lru_cache(maxsize=64)
def _binomial_acceptance(n: int, prob: float, alpha: float = ALPHA) -> tuple[int, int]:
    """[lo, hi] holding a Binomial(n, prob) count except with probability <= alpha (each tail <= alpha/2).

    Exact: the tails are summed from the probability mass function (float64, log-space terms).
    """
    k = torch.arange(n + 1, dtype=torch.float64)
    log_pmf = (math.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
               + k * math.log(prob) + (n - k) * math.log1p(-prob))
    pmf = log_pmf.exp()
    at_most = pmf.cumsum(0)  # P(X <= k)
    at_least = pmf.flip(0).cumsum(0).flip(0)  # P(X >= k)
    lo = int(torch.nonzero(at_most > alpha / 2)[0])  # P(X < lo) <= alpha / 2
    hi = int(torch.nonzero(at_least > alpha / 2)[-1])  # P(X > hi) <= alpha / 2
    return lo, hi


def _expect_binomial(count: int, n: int, prob: float, *, what: str, counted: str, hint: str,
                     alpha: float = ALPHA) -> None:
    """``count`` is a plausible Binomial(n, prob) draw: inside the exact two-sided acceptance region."""
    lo, hi = _binomial_acceptance(n, prob, alpha)
    if not lo <= count <= hi:
        fail(what, f"{counted}: {count} of {n} ({count / n:.4f}); a correct implementation gives between {lo} "
             f"and {hi} except with probability {alpha:.1g}", hint)


def _mask_stack(value, calls: int, shape: tuple[int, ...], device: str, what: str) -> torch.Tensor:
    """The probe's stacked masks: bool, shape (calls, *shape)."""
    return _check_mask(value, (calls, *shape), device, what)


# ======================================================================== dropout_forward (30)

@graded("1.10", points=1.5)
@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.9])
def test_forward_zero_fraction(student, device, rng, p):
    """the fraction of zeroed elements matches p (200000 elements, several p)

    Statistics: the number of dropped elements is Binomial(200000, p) for a correct
    implementation; the test rejects outside the exact two-sided acceptance region (each tail
    <= 5e-7), so a false failure has probability <= 1e-6. Target bugs: the keep probability
    swapped with p (zero fraction 1 - p; the p = 0.1 and 0.9 cases reject it with probability 1),
    a drop probability off by 0.01 or more (rejected with probability >= 0.99997 at n = 200000,
    >= 0.92 already at n = 100000).
    """
    x = _signed(rng, (400, 500))
    what = f"dropout_forward(<400x500 float32>, p={p})"
    _, mask = _forward(student, device, x, p, what, generator=GeneratorSpec(_seed(rng), device))
    _expect_binomial(int((~mask).sum()), mask.numel(), p, what=what, counted="elements dropped",
                     hint="drop an element with probability p, i.e. keep it with probability 1 - p "
                          "(keep where a uniform draw is >= p).")


@graded("1.11", points=1)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.75])
def test_forward_kept_values_scaled(student, device, rng, p):
    """every kept element is x / (1 - p) and every dropped one exactly 0 (inverted scaling, float64)"""
    x = _signed(rng, (60, 70), torch.float64)
    what = f"dropout_forward(<60x70 float64>, p={p})"
    out, mask = _forward(student, device, x, p, what, generator=GeneratorSpec(_seed(rng), device))
    expect_close(out, _scaled(x, mask, p), what=what,
                 hint=SCALE + " Scale by 1 / (1 - p), not by 1 - p or 1 / p, and return the mask you used.")


@graded("1.12", points=1)
@pytest.mark.parametrize("p", [0.3, 0.8])
def test_forward_mean_preserved(student, device, rng, p):
    """the output's mean equals the input's mean up to sampling noise (inverted dropout, 200000 elements)

    Statistics: with x in [0.5, 1.5), a correct out_i = x_i B_i / (1 - p) with independent
    B_i ~ Bernoulli(1 - p) has E[sum(out)] = sum(x), and each term lies in [0, x_i / (1 - p)]. By
    Hoeffding's inequality P(|sum(out) - sum(x)| >= t) <= 2 exp(-2 t^2 / sum_i (x_i / (1 - p))^2),
    and t is chosen so that bound is 1e-6 (about 0.9% of sum(x) at p = 0.3, 3.1% at p = 0.8).
    Target bugs: no 1/(1-p) scaling (mean times 1 - p), scaling by 1/p or by 1 - p, keep
    probability swapped with p: each shifts the mean by >= 25%, rejected with probability
    > 1 - 1e-100 at n = 200000 (and with probability ~1 from n ~ 5000).
    """
    x = torch.rand(400, 500, generator=rng, dtype=torch.float64) + 0.5
    what = f"dropout_forward(<400x500 float64, values in [0.5, 1.5)>, p={p})"
    out, _ = _forward(student, device, x, p, what, generator=GeneratorSpec(_seed(rng), device))
    if type(out) is not torch.Tensor or out.shape != x.shape or out.dtype != x.dtype:
        fail(what, f"returned out = {describe(out)}, expected a float64 tensor of x's shape", SCALE)
    gap = float(out.sum() - x.sum())
    t = math.sqrt(float(((x / (1 - p)) ** 2).sum()) * math.log(2 / ALPHA) / 2)
    if not abs(gap) <= t:
        fail(what, f"mean(out) / mean(x) = {float(out.sum() / x.sum()):.4f}; a correct implementation stays within "
             f"{t / float(x.sum()):.4f} of 1 except with probability 1e-6",
             "inverted dropout keeps E[out] = x: keep with probability 1 - p and divide the kept values by 1 - p.")


@graded("1.13", points=3)
def test_forward_mask_unstructured(student, device, rng):
    """the mask is drawn independently per element: not shared along any dimension (a 40x60x50 input)

    Statistics: for each dimension d, slices 2k and 2k+1 along d are compared element by
    element. For a correct implementation (p = 0.3) the number of agreeing positions is
    Binomial(60000, q) with q = p^2 + (1 - p)^2 = 0.58; each of the 3 tests rejects outside its
    exact two-sided acceptance region at level 1e-6 / 3, so a false failure has probability <= 1e-6.
    Target bugs: one mask per row / column / batch entry broadcast along a dimension (e.g.
    torch.rand(x.shape[-1])): every pair agrees, 60000 agreements, rejected with probability 1
    (any such mask is rejected from 30 compared pairs on).
    """
    p, shape = 0.3, (40, 60, 50)
    x = _signed(rng, shape)
    what = f"dropout_forward(<40x60x50 float32>, p={p})"
    _, mask = _forward(student, device, x, p, what, generator=GeneratorSpec(_seed(rng), device))
    q = p**2 + (1 - p) ** 2
    for dim in range(3):
        even, odd = mask.narrow(dim, 0, shape[dim]).unflatten(dim, (shape[dim] // 2, 2)).unbind(dim + 1)
        _expect_binomial(int((even == odd).sum()), even.numel(), q, alpha=ALPHA / 3, what=what,
                         counted=f"positions where neighbouring slices along dim {dim} agree (kept/dropped)",
                         hint=f"the mask looks shared along dim {dim}: {INDEPENDENT}")


@graded("1.14", points=1.5)
def test_forward_fresh_mask_each_call(student, device, rng):
    """each call draws a new mask (3000 calls on an 8-element input, PyTorch's global generator)

    Statistics: masks of calls 2j and 2j+1 are compared element by element (p = 0.5). For a
    correct implementation the agreements are Binomial(12000, 0.5); exact two-sided tails,
    false failure <= 1e-6. Target bug: the same mask at every call (e.g. a generator created
    with a fixed seed when generator is None): 12000 agreements, rejected with probability 1
    (from 3 pairs of calls on).
    """
    calls, p = 3000, 0.5
    x = _signed(rng, (8,))
    what = f"{calls} calls of dropout_forward(<8 float32>, p={p}) after torch.manual_seed(s)"
    masks = _mask_stack(student.probe("repeated_masks", x, p, calls, _seed(rng), uses=("dropout_forward",)),
                        calls, (8,), device, what)
    pairs = masks.view(calls // 2, 2, 8)
    _expect_binomial(int((pairs[:, 0] == pairs[:, 1]).sum()), calls // 2 * 8, 0.5, what=what,
                     counted="positions where consecutive calls' masks agree",
                     hint="with generator=None, draw from PyTorch's global generator (plain torch.rand(...)); "
                          "never create a generator with a fixed seed.")


@graded("1.15", points=1.5)
def test_forward_zero_count_varies(student, device, rng):
    """the number of dropped elements varies from call to call like a binomial count (not fixed at p * n)

    Statistics: over 3000 calls on an 8-element input with p = 0.5, each call's number of
    dropped elements is Binomial(8, 0.5); the number of calls with exactly 4 dropped is
    Binomial(3000, 70/256) for a correct implementation; exact two-sided tails, false failure
    <= 1e-6. Target bug: dropping exactly round(p * n) elements (a random permutation) instead of
    each element independently: all 3000 calls drop exactly 4, rejected with probability 1
    (from 30 calls on).
    """
    calls, p = 3000, 0.5
    x = _signed(rng, (8,))
    what = f"{calls} calls of dropout_forward(<8 float32>, p={p})"
    masks = _mask_stack(student.probe("repeated_masks", x, p, calls, _seed(rng), uses=("dropout_forward",)),
                        calls, (8,), device, what)
    dropped = (~masks).sum(1)
    _expect_binomial(int((dropped == 4).sum()), calls, math.comb(8, 4) / 2**8, what=what,
                     counted="calls that dropped exactly 4 of the 8 elements",
                     hint="decide each element independently (probability p); do not drop a fixed number of them.")


@graded("1.16", points=0.5)
@pytest.mark.parametrize("p,training,dtype", [(0.3, False, torch.float16), (1.0, False, torch.float32),
                                              (0.0, True, torch.float64), (0.0, False, torch.float16)])
def test_forward_identity_cases(student, rng, p, training, dtype):
    """with training=False (any p) or p = 0, out has x's values (and dtype) and mask is None"""
    x = torch.randn(7, 6, generator=rng, dtype=torch.float64).to(dtype)
    what = f"dropout_forward(<7x6 {_name(dtype)}>, p={p}, training={training})"
    value = student.call("dropout_forward", x, p, training=training)
    if type(value) not in (tuple, list) or len(value) != 2:
        fail(what, f"returned {describe(value)}, expected a pair (out, mask)", "return `x, None` here.")
    expect_close(value[0], x, what=what, hint="nothing is dropped and nothing is scaled: return x (or a copy). "
                 "Inverted dropout needs no rescaling at evaluation time.", **EXACT)
    expect_equal(value[1], None, what=f"the mask of {what}", hint="the mask is None when nothing is dropped.")


@graded("1.17", points=2)
def test_forward_p_one(student, device, rng):
    """p = 1 drops everything: zeros (no NaN) of x's dtype and an all-False mask, for each dtype; x is left
    unchanged and the zeros carry no autograd history (x with requires_grad=True)"""
    for dtype in DTYPES:
        x = (_signed(rng, (3, 4, 5), dtype) * 1000).requires_grad_(True)
        what = f"dropout_forward(<3x4x5 {_name(dtype)} with requires_grad=True>, p=1.0)"
        value, after = student.call_with_args("dropout_forward", x, 1.0)
        expect_unchanged([x.detach(), 1.0], after, what=what)
        out, mask = _out_and_mask(value, x, device, what)
        expect_no_history(out, what=what)
        expect_close(out, torch.zeros_like(x.detach()), what=what,
                     hint="1 / (1 - p) is infinite at p = 1 and 0 * inf is NaN: handle p == 1 separately, with "
                          "new zeros (torch.zeros_like(x)), not by writing into x or multiplying it.", **EXACT)
        if bool(mask.any()):
            fail(what, f"kept {int(mask.sum())} element(s)", "at p = 1 every element is dropped.")


def _two_masks(student, device, x, p, case, s, t):
    """For one determinism case: (what was run, its two masks, whether they must be equal, a hint)."""
    uses, shape = ("dropout_forward",), tuple(x.shape)
    if case == "same_seed_same_mask":
        what = "two calls of dropout_forward(<40x50 float32>, p=0.5, generator=<seeded with s>)"
        pair = [_forward(student, device, x, p, what, generator=GeneratorSpec(s, device)) for _ in range(2)]
        expect_close(pair[1][0], pair[0][0], what=what, hint="same generator state, same mask, same output. "
                     + USE_GENERATOR, **EXACT)
        return what, (pair[0][1], pair[1][1]), True, USE_GENERATOR
    if case == "different_seed_different_mask":
        what = "dropout_forward(<40x50 float32>, p=0.5, generator=...) with generators seeded differently"
        masks = tuple(_forward(student, device, x, p, what, generator=GeneratorSpec(seed, device))[1]
                      for seed in (s, t))
        return what, masks, False, "use the generator you are given; never create one with a fixed seed."
    if case == "generator_not_global":
        what = "dropout_forward(<40x50 float32>, p=0.5, generator=<seeded with s>) after different torch.manual_seed"
        masks = tuple(_out_and_mask(student.probe("seeded_forward", x, p, seed, generator=GeneratorSpec(s, device),
                                                  uses=uses), x, device, what)[1] for seed in (t, t + 1))
        return what, masks, True, "when a generator is given, draw only from it. " + USE_GENERATOR
    if case == "generator_advances":
        what = "two consecutive calls of dropout_forward(<40x50 float32>, p=0.5, generator=g) with the same g"
        stacked = _mask_stack(student.probe("repeated_masks", x, p, 2, t, generator=GeneratorSpec(s, device),
                                            uses=uses), 2, shape, device, what)
        return what, (stacked[0], stacked[1]), False, \
            "draw from the generator itself so that its state advances; do not re-seed or copy it."
    what = "dropout_forward(<40x50 float32>, p=0.5) after torch.manual_seed(s)"
    masks = [_out_and_mask(student.probe("seeded_forward", x, p, seed, uses=uses), x, device, what)[1]
             for seed in (s, s, t)]
    if not torch.equal(masks[0], masks[1]):
        fail(what, "gave different masks after the same torch.manual_seed(s)",
             "with generator=None, draw from PyTorch's global generator (plain torch.rand(...)).")
    return f"{what} and after torch.manual_seed(t)", (masks[0], masks[2]), False, \
        "with generator=None, draw from PyTorch's global generator (plain torch.rand(...))."


FORWARD_DETERMINISM_CASES = ["same_seed_same_mask", "different_seed_different_mask", "generator_not_global",
                             "generator_advances", "global_generator_reproducible"]


@graded("1.18", points=0.5)
@pytest.mark.parametrize("case", FORWARD_DETERMINISM_CASES)
def test_forward_determinism(student, device, rng, case):
    """same generator state -> same mask; different state -> different mask (2000 elements)

    No random stream is compared with PyTorch's. Each "different" check fails a correct
    implementation only if two independent masks of 2000 elements coincide: probability 0.5^2000.
    """
    x = _signed(rng, (40, 50))
    what, masks, same, hint = _two_masks(student, device, x, 0.5, case, _seed(rng), _seed(rng))
    if torch.equal(*masks) != same:
        fail(what, "gave " + ("different masks" if same else "the same mask"), hint)


@graded("1.19", points=1.5)
def test_forward_leaves_input_alone(student, device, rng):
    """dropout_forward does not modify x and returns no autograd history"""
    p = 0.4
    x = _signed(rng, (9, 11)).requires_grad_(True)
    what = f"dropout_forward(<9x11 float32 with requires_grad=True>, p={p})"
    value, after = student.call_with_args("dropout_forward", x, p, generator=GeneratorSpec(_seed(rng), device))
    expect_unchanged([x.detach(), p], after, what=what)
    out, mask = _out_and_mask(value, x, device, what)
    expect_no_history(out, what=what)
    expect_close(out, _scaled(x.detach(), mask, p), what=what, hint=NO_WRITES)


@graded("1.20", points=2)
def test_forward_dtypes(student, device, rng):
    """out keeps x's dtype and device (float16, float32, float64) and the mask is bool"""
    p = 0.2
    for dtype in DTYPES:
        x = _signed(rng, (20, 30), dtype)
        what = f"dropout_forward(<20x30 {_name(dtype)}>, p={p})"
        out, mask = _forward(student, device, x, p, what, generator=GeneratorSpec(_seed(rng), device))
        expect_close(out, _scaled(x, mask, p), what=what,
                     hint="keep x's dtype: multiply by the bool mask (or mask.to(x.dtype)), not by a float32 mask.")


@graded("1.21", points=0.25)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (2, 3, 1, 4, 5)], ids=str)
def test_forward_shapes(student, device, rng, shape):
    """dropout_forward works on tensors of any shape: 0-d, empty and 5-d (the public tests go up to 4-d)"""
    p = 0.35
    x = _signed(rng, shape, torch.float64)
    what = f"dropout_forward(<{describe(x)[1:-1]}>, p={p})"
    out, mask = _forward(student, device, x, p, what, generator=GeneratorSpec(_seed(rng), device))
    expect_close(out, _scaled(x, mask, p), what=what, hint="draw a mask of exactly x.shape; no reshaping to 2-D.")


@graded("1.22", points=0.25)
@pytest.mark.parametrize("case", ["p_negative", "p_above_one", "p_nan", "p_above_one_eval", "p_bool", "p_string",
                                  "x_list", "x_integer"])
def test_forward_value_errors(student, case):
    """dropout_forward raises ValueError for p outside [0, 1] (NaN included), also when training=False, for a p
    that is not a number (bool, str), and for x that is not a floating-point tensor"""
    x, p, training = {"p_negative": (None, -0.1, True), "p_above_one": (None, 1.5, True),
                      "p_nan": (None, float("nan"), True), "p_above_one_eval": (None, 1.5, False),
                      "p_bool": (None, True, True), "p_string": (None, "0.5", True),
                      "x_list": ([1.0, 2.0], 0.5, True), "x_integer": (torch.ones(2, 3, dtype=torch.int64), 0.5, True),
                      }[case]
    names = ("x",) if case.startswith("x_") else ("p",)
    student.raises_naming(names, "dropout_forward", torch.zeros(2, 3) if x is None else x, p, training=training)


# ======================================================================== dropout_backward (12)

@graded("2.10", points=1)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_backward_matches_formula(student, rng, p):
    """dropout_backward(grad_output, mask, p) is grad_output * mask / (1 - p) (float32 and float64; 2-d, 0-d,
    empty and 5-d tensors)"""
    for dtype, shape in ((torch.float32, (12, 9)), (torch.float64, (12, 9)), (torch.float64, ()),
                         (torch.float32, (0, 4)), (torch.float64, (2, 3, 1, 4, 5))):
        g = torch.randn(shape, generator=rng, dtype=torch.float64).to(dtype)
        mask = torch.rand(shape, generator=rng) >= p
        kind = describe(g)[1:-1].removesuffix(" tensor")
        expect_close(student.call("dropout_backward", g, mask, p), _scaled(g, mask, p),
                     what=f"dropout_backward(<{kind}>, <bool mask of the same shape>, p={p})",
                     hint="out = x * mask / (1 - p) is linear in x: grad_input = grad_output * mask / (1 - p), "
                          "elementwise, for tensors of any shape (0-d and empty ones too); no reshaping.")


@graded("2.11", points=2)
def test_backward_uses_forward_mask(student, device, rng):
    """backward with the mask from your forward zeroes exactly the dropped positions and scales the rest"""
    p = 0.6
    x, g = _signed(rng, (5, 6, 7), torch.float64), torch.randn(5, 6, 7, generator=rng, dtype=torch.float64)
    what = f"dropout_forward(<5x6x7 float64>, p={p})"
    out, mask = _forward(student, device, x, p, what, generator=GeneratorSpec(_seed(rng), device))
    expect_close(out, _scaled(x, mask, p), what=what, hint=SCALE)
    expect_close(student.call("dropout_backward", g, mask, p), _scaled(g, mask, p),
                 what=f"dropout_backward(<5x6x7 float64>, <the mask of {what}>, p={p})",
                 hint="the gradient flows only through kept elements, scaled like them by 1 / (1 - p).")


@graded("2.12", points=0.5)
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_backward_no_mask(student, rng, p):
    """with mask None, dropout_backward returns grad_output's values, whatever p is"""
    g = torch.randn(4, 5, 6, generator=rng, dtype=torch.float64)
    expect_close(student.call("dropout_backward", g, None, p), g,
                 what=f"dropout_backward(<4x5x6 float64>, None, p={p})",
                 hint="mask None means the forward was the identity (evaluation mode or p = 0): the gradient "
                      "passes through unscaled.", **EXACT)


@graded("2.13", points=1.5)
def test_backward_p_one(student, rng):
    """with p = 1 (an all-False mask) the gradient is all zeros of grad_output's dtype, for each dtype; the
    inputs are left unchanged and the zeros carry no autograd history (grad_output with requires_grad=True)"""
    for dtype in DTYPES:
        g = (torch.randn(6, 7, generator=rng) * 1000).to(dtype).requires_grad_(True)
        mask = torch.zeros(6, 7, dtype=torch.bool)
        what = f"dropout_backward(<6x7 {_name(dtype)} with requires_grad=True>, <all False>, p=1.0)"
        value, after = student.call_with_args("dropout_backward", g, mask, 1.0)
        expect_unchanged([g.detach(), mask, 1.0], after, what=what)
        expect_no_history(value, what=what)
        expect_close(value, torch.zeros(6, 7, dtype=dtype), what=what,
                     hint="1 / (1 - p) is infinite at p = 1 and 0 * inf is NaN: return new zeros "
                          "(torch.zeros_like(grad_output)), not grad_output written over or multiplied by 0.",
                     **EXACT)


@graded("2.14", points=1.5)
def test_backward_leaves_input_alone(student, rng):
    """dropout_backward does not modify its inputs, keeps float16 and returns no autograd history"""
    p = 0.25
    g = torch.randn(8, 10, generator=rng).half().requires_grad_(True)
    mask = torch.rand(8, 10, generator=rng) >= p
    what = f"dropout_backward(<8x10 float16 with requires_grad=True>, <8x10 bool mask>, p={p})"
    value, after = student.call_with_args("dropout_backward", g, mask, p)
    expect_unchanged([g.detach(), mask, p], after, what=what)
    expect_no_history(value, what=what)
    expect_close(value, _scaled(g.detach(), mask, p), what=what,
                 hint="keep grad_output's dtype; multiply by the bool mask, out of place.")


@graded("2.15", points=0.25)
@pytest.mark.parametrize("case", ["mask_transposed", "mask_broadcastable_row", "mask_extra_dim", "p_out_of_range",
                                  "p_negative", "p_nan", "p_string", "mask_float", "mask_list",
                                  "grad_output_integer"])
def test_backward_value_errors(student, case):
    """dropout_backward raises ValueError for a mask whose shape differs from grad_output's (no broadcasting)
    and for p outside [0, 1] (NaN included) or not a number, a mask that is not a bool tensor, and an integer
    grad_output"""
    g = torch.ones(4, 6)
    if case == "grad_output_integer":
        student.raises_naming(("grad_output", "grad output"), "dropout_backward", g.long(),
                              torch.ones(4, 6, dtype=torch.bool), 0.5)
        return
    mask, p = {
        "mask_transposed": (torch.ones(6, 4, dtype=torch.bool), 0.5),
        "mask_broadcastable_row": (torch.ones(1, 6, dtype=torch.bool), 0.5),
        "mask_extra_dim": (torch.ones(1, 4, 6, dtype=torch.bool), 0.5),
        "p_out_of_range": (torch.ones(4, 6, dtype=torch.bool), 1.25),
        "p_negative": (torch.ones(4, 6, dtype=torch.bool), -0.5),
        "p_nan": (torch.ones(4, 6, dtype=torch.bool), float("nan")),
        "p_string": (torch.ones(4, 6, dtype=torch.bool), "0.5"),
        "mask_float": (torch.ones(4, 6), 0.5),
        "mask_list": ([[True] * 6] * 4, 0.5),
    }[case]
    student.raises_naming(("mask",) if case.startswith("mask") else ("p",), "dropout_backward", g, mask, p)


# ======================================================================== Dropout (18)

def _layer(student, p, steps):
    """Run ``steps`` on a new Dropout(p) in the student's process; the log (see probes.dropout_module)."""
    return student.probe("dropout_module", p, steps, uses=("Dropout",))


def _tensor_like(value, like: torch.Tensor, what: str, hint: str) -> torch.Tensor:
    """A plain tensor of ``like``'s shape (the Dropout layer's outputs)."""
    if type(value) is not torch.Tensor or value.shape != like.shape:
        fail(what, f"returned {describe(value)}, expected a tensor of shape {tuple(like.shape)}", hint)
    return value


@graded("3.10", points=2)
def test_module_attributes(student):
    """Dropout() has p = 0.5 and Dropout(0.3) has p = 0.3; both start in training mode"""
    for p, expected in ((None, 0.5), (0.3, 0.3)):
        made = "Dropout()" if p is None else f"Dropout({p})"
        log = _layer(student, p, [])
        expect_equal(log[0]["p"], expected, what=f"{made}.p",
                     hint="store the drop probability as the attribute p (default 0.5).")
        expect_equal(log[0]["training"], True, what=f"{made}.training",
                     hint="a new layer is in training mode (attribute training = True).")


@graded("3.11", points=0.75)
@pytest.mark.parametrize("case", ["eval", "train_after_eval", "train_false", "train_true"])
def test_module_train_eval(student, case):
    """train(mode=True) and eval() set the training flag and return the layer itself"""
    steps, label, mode = {
        "eval": ([["eval"]], "eval()", False),
        "train_after_eval": ([["eval"], ["train"]], "eval().train()", True),
        "train_false": ([["train", False]], "train(False)", False),
        "train_true": ([["train", False], ["train", True]], "train(False).train(True)", True),
    }[case]
    log = _layer(student, 0.5, steps)
    for entry in log[1:]:
        expect_equal(entry["returned_self"], True, what=f"Dropout(0.5).{label}",
                     hint="train() and eval() return self, so calls chain: `layer.eval().forward(x)`.")
    expect_equal(log[-1]["training"], mode, what=f"training after Dropout(0.5).{label}",
                 hint="train(mode) sets training = mode (default True); eval() is train(False).")


@graded("3.12", points=1)
@pytest.mark.parametrize("p,dtype", [(0.0, torch.float64), (0.3, torch.float16), (1.0, torch.float32)])
def test_module_forward_backward(student, device, rng, p, dtype):
    """in training mode, forward drops and scales, and backward applies the same mask (p = 0, 0.3 and 1; float16,
    float32 and float64), keeping the dtype, leaving the inputs unchanged and recording no autograd history"""
    x, g = _signed(rng, (30, 40), dtype), torch.randn(30, 40, generator=rng).to(dtype)
    if p > 0:  # at p = 0 the output may be x itself, which keeps x's requires_grad
        x.requires_grad_(True)
    log = _layer(student, p, [["forward", x, GeneratorSpec(_seed(rng), device)], ["backward", g]])
    what = f"Dropout({p}).forward(<30x40 {_name(dtype)}{' with requires_grad=True' if p > 0 else ''}>)"
    x = x.detach()
    out = _tensor_like(log[1]["out"], x, what, "forward returns the output tensor only.")
    kept = out != 0
    expect_close(out, _scaled(x, kept, p), what=what, hint=SCALE + " Keep x's dtype: multiply by the bool mask.")
    expect_no_history(out, what=what)
    expect_unchanged([x], [log[1]["input"]], what=what)
    what = f"backward(<30x40 {_name(dtype)}>) after {what}"
    expect_close(log[2]["grad"], _scaled(g, kept, p), what=what,
                 hint="remember the mask of forward and reuse it in backward; do not draw a new one.")
    expect_unchanged([g], [log[2]["input"]], what=what)


@graded("3.13", points=2)
def test_module_backward_uses_latest_mask(student, device, rng):
    """after two training forwards, backward uses the mask of the second one"""
    p = 0.5
    x1, x2, g = _signed(rng, (20, 30)), _signed(rng, (20, 30)), torch.randn(20, 30, generator=rng)
    log = _layer(student, p, [["forward", x1, GeneratorSpec(_seed(rng), device)],
                              ["forward", x2, GeneratorSpec(_seed(rng), device)], ["backward", g]])
    what = "backward after two forwards of Dropout(0.5)"
    out = _tensor_like(log[2]["out"], x2, "the second Dropout(0.5).forward(<20x30 float32>)", SCALE)
    expect_close(log[3]["grad"], _scaled(g, out != 0, p), what=what,
                 hint="each forward replaces the remembered mask; backward uses the latest one.")


@graded("3.14", points=3)
def test_module_eval_passes_through(student, device, rng):
    """after a training forward, eval mode passes x and grad_output through; train() turns dropout back on"""
    p = 0.5
    x, g = _signed(rng, (20, 30)), torch.randn(20, 30, generator=rng)
    log = _layer(student, p, [["forward", x, GeneratorSpec(_seed(rng), device)], ["eval"], ["forward", x],
                              ["backward", g], ["train"], ["forward", x, GeneratorSpec(_seed(rng), device)]])
    expect_close(log[3]["out"], x, what="Dropout(0.5).eval().forward(<20x30 float32>)",
                 hint="evaluation mode is the identity: no mask, no scaling.", **EXACT)
    expect_close(log[4]["grad"], g, what="backward after an evaluation-mode forward that followed a training one",
                 hint="an evaluation-mode forward must reset the remembered mask to None, so the gradient passes "
                      "through; the old mask is stale.", **EXACT)
    what = "Dropout(0.5).eval().train().forward(<20x30 float32>)"
    out = _tensor_like(log[6]["out"], x, what, SCALE)
    if not bool((out == 0).any()):  # a correct layer keeps all 600 elements with probability 2^-600
        fail(what, "dropped nothing", "train() must switch dropout back on.")
    expect_close(out, _scaled(x, out != 0, p), what=what, hint=SCALE)


@graded("3.15", points=2)
def test_module_zero_fraction(student, device, rng):
    """Dropout(0.2).forward drops a fraction 0.2 of the elements (200000 elements)

    Statistics: the number of dropped elements is Binomial(200000, 0.2) for a correct layer;
    exact two-sided tails, false failure <= 1e-6. Target bugs: the layer ignoring its p (e.g.
    calling dropout_forward with the default 0.5) or swapping it (0.8): rejected with
    probability 1; a drop probability off by 0.01 with probability >= 0.99999.
    """
    p = 0.2
    x = _signed(rng, (400, 500))
    log = _layer(student, p, [["forward", x, GeneratorSpec(_seed(rng), device)]])
    what = "Dropout(0.2).forward(<400x500 float32>)"
    out = _tensor_like(log[1]["out"], x, what, SCALE)
    _expect_binomial(int((out == 0).sum()), out.numel(), p, what=what, counted="elements dropped",
                     hint="forward must use the layer's own p (self.p) and training flag.")
    expect_close(out, _scaled(x, out != 0, p), what=what, hint="scale by 1 / (1 - self.p).")


@graded("3.16", points=1.5)
def test_module_generator(student, device, rng):
    """Dropout.forward(x, generator=g) passes the generator on: same seed -> same output, different -> different"""
    x = _signed(rng, (40, 50))
    s, t = _seed(rng), _seed(rng)
    outs = [_tensor_like(_layer(student, 0.5, [["forward", x, GeneratorSpec(seed, device)]])[1]["out"], x,
                         "Dropout(0.5).forward(<40x50 float32>, generator=g)", SCALE) for seed in (s, s, t)]
    expect_close(outs[1], outs[0], what="Dropout(0.5).forward(x, generator=g) with two generators seeded alike",
                 hint="pass generator on to dropout_forward.", **EXACT)
    if torch.equal(outs[0], outs[2]):  # probability 0.5^2000 for a correct layer
        fail("Dropout(0.5).forward(x, generator=g) with generators seeded differently", "gave the same output",
             "pass generator on to dropout_forward; do not seed anything yourself.")


@graded("3.17", points=0.375)
@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5"], ids=["negative", "above_one", "nan", "string"])
def test_module_value_errors(student, p):
    """Dropout(p) raises ValueError for p outside [0, 1] (NaN included) or not a number"""
    student.raises_naming(("p",), "Dropout", p)

