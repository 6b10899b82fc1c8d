"""Public tests for dropout (30 points). Run them with `pytest`, one task with `pytest -m dropout_forward`.

Dropout is random, so most checks are exact relations that hold whatever the mask is (kept
elements are scaled by 1/(1-p), dropped ones are 0, the backward pass reuses the mask). The
one statistical check fails a correct implementation with probability below one in a million.
A fresh seed every run; it is printed at the end, so you can repeat a run with --ag-seed.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder.testing import GeneratorSpec, describe, expect_close, expect_equal, fail, graded, property_settings

# Deterministic examples (the same score every run), shrunk to a small failing input, no "explain" phase.
PROPERTY = property_settings(max_examples=20)
EXACT = {"rtol": 0.0, "atol": 0.0}
SCALE = "kept elements are x / (1 - p), dropped ones are exactly 0: out = x * mask / (1 - p)."


def _seed(rng: torch.Generator) -> int:
    """A seed for a generator built in your process, drawn from this test's random stream."""
    return int(torch.randint(0, 2**62, (1,), generator=rng))


def _signed(rng: torch.Generator, shape: tuple[int, ...], dtype=torch.float32) -> torch.Tensor:
    """Random values with |x| in [0.5, 1.5) and random signs: never 0, so out != 0 exactly where kept."""
    magnitude = torch.rand(shape, generator=rng, dtype=torch.float64) + 0.5
    sign = torch.randint(0, 2, shape, generator=rng) * 2 - 1
    return (magnitude * sign).to(dtype)


def _out_and_mask(value, x: torch.Tensor, what: str):
    """Split dropout_forward's result into (out, mask), checking the mask's type, dtype and shape."""
    if type(value) not in (tuple, list) or len(value) != 2:
        fail(what, f"returned {describe(value)}, expected a pair (out, mask)", "end with `return out, mask`.")
    out, mask = value
    if type(mask) is not torch.Tensor or mask.dtype != torch.bool or tuple(mask.shape) != tuple(x.shape):
        fail(what, f"returned the mask {describe(mask)}, expected a bool tensor of x's shape {tuple(x.shape)}",
             "the mask is True where an element is kept, e.g. `torch.rand(x.shape, ...) >= p`.")
    return out, mask


def _scaled(x: torch.Tensor, mask: torch.Tensor, p: float) -> torch.Tensor:
    """x * mask / (1 - p), computed in float64 and cast to x's dtype."""
    return (x.double() * mask / (1 - p)).to(x.dtype)


# --------------------------------------------------------------------------- Task 1: dropout_forward

@graded("1.1", points=3)
@PROPERTY
@given(shape=st.lists(st.integers(0, 6), max_size=4).map(tuple), p=st.sampled_from([0.1, 0.25, 0.5, 0.8]),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**31 - 1))
def test_forward_scales_kept_elements(student, device, shape, p, dtype, seed):
    """out is x / (1 - p) where the mask is True and 0 elsewhere, for tensors of any shape (0-d and empty too)"""
    x = _signed(torch.Generator().manual_seed(seed), shape, dtype)
    what = f"dropout_forward(<{describe(x)[1:-1]}>, p={p})"
    out, mask = _out_and_mask(student.call("dropout_forward", x, p, generator=GeneratorSpec(seed, device)), x, what)
    expect_close(out, _scaled(x, mask, p), what=what, hint=SCALE)


@graded("1.2", points=3)
def test_forward_zero_fraction(student, device, rng):
    """about a fraction p of the elements are zeroed (p = 0.5, 100000 elements)

    Statistics: the number of zeros Z is Binomial(n, p) for a correct implementation. The test
    fails if |Z/n - p| > eps = sqrt(ln(2e6) / (2n)) = 0.0085 (n = 100000); by Hoeffding's
    inequality that happens with probability <= 2 exp(-2 n eps^2) = 1e-6. A drop probability off
    by 0.02 or more (e.g. keeping elements with probability 0.48 or 0.52) is rejected with
    probability >= 1 - 2 exp(-2 n 0.0115^2) > 1 - 1e-11; the hidden tests add p != 0.5, where a
    swapped keep probability shows.
    """
    n, p = 100_000, 0.5
    x = torch.ones(400, 250)
    what = f"dropout_forward(<400x250 float32>, p={p})"
    out, mask = _out_and_mask(student.call("dropout_forward", x, p, generator=GeneratorSpec(_seed(rng), device)),
                              x, what)
    zeros = int((~mask).sum())
    eps = math.sqrt(math.log(2e6) / (2 * n))
    if abs(zeros / n - p) > eps:
        fail(what, f"zeroed {zeros} of {n} elements (a fraction {zeros / n:.4f}); a correct implementation "
             f"zeroes a fraction within {eps:.4f} of p = {p} except with probability 1e-6",
             "drop each element independently with probability p: keep it where a uniform draw is >= p.")
    expect_close(out, _scaled(x, mask, p), what=what, hint=SCALE)


@graded("1.3", points=1)
@pytest.mark.parametrize("p,training", [(0.5, False), (0.0, True)])
def test_forward_identity_cases(student, rng, p, training):
    """with training=False, or p = 0, out has x's values and mask is None (1 point each)"""
    x = torch.randn(5, 6, generator=rng)
    what = f"dropout_forward(<5x6 float32>, p={p}, training={training})"
    value = student.call("dropout_forward", x, p, training=training)
    if type(value) not in (tuple, list) or len(value) != 2:
        fail(what, f"returned {describe(value)}, expected a pair (out, mask)", "return `x, None` here.")
    expect_close(value[0], x, what=what, hint="nothing is dropped: return x (or a copy) unchanged.", **EXACT)
    expect_equal(value[1], None, what=f"the mask of {what}", hint="the mask is None when nothing is dropped.")


@graded("1.4", points=2)
def test_forward_p_one(student, rng):
    """p = 1 zeroes everything: out is all zeros (no NaN) and the mask all False"""
    x = torch.randn(4, 9, generator=rng)
    what = "dropout_forward(<4x9 float32>, p=1.0)"
    out, mask = _out_and_mask(student.call("dropout_forward", x, 1.0), x, what)
    expect_close(out, torch.zeros(4, 9), what=what, hint="1 / (1 - p) is infinite at p = 1 and 0 * inf is NaN: "
                 "handle p == 1 separately.", **EXACT)
    if bool(mask.any()):
        fail(what, f"kept {int(mask.sum())} element(s)", "at p = 1 every element is dropped.")


@graded("1.5", points=2)
def test_forward_generator_determinism(student, device, rng):
    """the same generator seed gives the same mask and output; a different seed a different mask"""
    x = _signed(rng, (40, 50))
    seed = _seed(rng)
    what = "dropout_forward(<40x50 float32>, p=0.5, generator=<a generator seeded with s>)"
    first = _out_and_mask(student.call("dropout_forward", x, 0.5, generator=GeneratorSpec(seed, device)), x, what)
    again = _out_and_mask(student.call("dropout_forward", x, 0.5, generator=GeneratorSpec(seed, device)), x, what)
    if not torch.equal(first[1], again[1]):
        fail(what, "two calls with generators in the same state gave different masks",
             "draw every random number from `generator` (pass generator=generator to torch.rand).")
    expect_close(again[0], first[0], what=f"{what}, called twice", hint="same mask, same output.", **EXACT)
    other = _out_and_mask(student.call("dropout_forward", x, 0.5, generator=GeneratorSpec(seed + 1, device)), x,
                          what)
    if torch.equal(first[1], other[1]):  # two independent masks of 2000 elements agree with probability 2^-2000
        fail(what, "generators seeded differently gave the same mask",
             "use the generator you are given; do not create one with a fixed seed.")


@graded("1.6", points=1)
@pytest.mark.parametrize("p", [1.5, -0.1])
def test_forward_rejects_bad_p(student, p):
    """dropout_forward raises ValueError for p outside [0, 1] (1 point each)"""
    student.raises("ValueError", "dropout_forward", torch.zeros(2, 3), p)


# --------------------------------------------------------------------------- Task 2: dropout_backward

@graded("2.1", points=1.5)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_backward_applies_mask(student, rng, dtype):
    """dropout_backward(grad_output, mask, p) is grad_output * mask / (1 - p) (float32 and float64)"""
    p = 0.3
    g = torch.randn(6, 8, generator=rng, dtype=torch.float64).to(dtype)
    mask = torch.rand(6, 8, generator=rng) >= p
    what = f"dropout_backward(<6x8 {str(dtype)[6:]}>, <6x8 bool mask>, p={p})"
    expect_close(student.call("dropout_backward", g, mask, p), _scaled(g, mask, p), what=what,
                 hint="the forward is out = x * mask / (1 - p), so d out / d x = mask / (1 - p).")


@graded("2.2", points=2)
def test_backward_no_mask(student, rng):
    """with mask None (nothing was dropped), dropout_backward returns grad_output's values"""
    g = torch.randn(3, 7, generator=rng)
    expect_close(student.call("dropout_backward", g, None, 0.5), g, what="dropout_backward(<3x7 float32>, None, p=0.5)",
                 hint="mask None means the forward was the identity: its gradient passes through.", **EXACT)


@graded("2.3", points=1)
def test_backward_p_one(student, rng):
    """with p = 1 and an all-False mask the gradient is all zeros (no NaN)"""
    g = torch.randn(5, 4, generator=rng)
    expect_close(student.call("dropout_backward", g, torch.zeros(5, 4, dtype=torch.bool), 1.0), torch.zeros(5, 4),
                 what="dropout_backward(<5x4 float32>, <all-False mask>, p=1.0)",
                 hint="1 / (1 - p) is infinite at p = 1: return zeros.", **EXACT)


@graded("2.4", points=2)
def test_backward_rejects_mask_shape(student):
    """dropout_backward raises ValueError when mask's shape differs from grad_output's"""
    student.raises("ValueError", "dropout_backward", torch.ones(4, 5), torch.ones(5, 4, dtype=torch.bool), 0.5)


# --------------------------------------------------------------------------- Task 3: Dropout

@graded("3.1", points=2)
def test_module_modes(student):
    """Dropout() starts in training mode with p = 0.5; eval() and train() switch modes and return the layer"""
    log = student.probe("dropout_module", None, [["eval"], ["train"]], uses=("Dropout",))
    expect_equal(log[0]["p"], 0.5, what="Dropout().p", hint="the default drop probability is 0.5.")
    expect_equal(log[0]["training"], True, what="Dropout().training", hint="a new layer is in training mode.")
    for step, name, mode in ((1, "eval()", False), (2, "train()", True)):
        expect_equal(log[step]["returned_self"], True, what=f"Dropout().{name}",
                     hint="return self, so calls can be chained: `layer.eval().forward(x)`.")
        expect_equal(log[step]["training"], mode, what=f"training after {name}", hint=f"{name} sets training={mode}.")


@graded("3.2", points=3)
def test_module_train_forward_backward(student, rng):
    """in training mode, forward drops elements and backward applies the same mask (p = 0.25)"""
    p = 0.25
    x, g = _signed(rng, (30, 20)), torch.randn(30, 20, generator=rng)
    log = student.probe("dropout_module", p, [["forward", x], ["backward", g]], uses=("Dropout",))
    out, grad = log[1]["out"], log[2]["grad"]
    what = f"Dropout({p}).forward(<30x20 float32>)"
    if type(out) is not torch.Tensor or out.shape != x.shape:
        fail(what, f"returned {describe(out)}, expected a tensor of x's shape", "return the output tensor only.")
    kept = out != 0
    expect_close(out, _scaled(x, kept, p), what=what, hint=SCALE)
    expect_close(grad, _scaled(g, kept, p), what=f"backward after {what}",
                 hint="remember the forward's mask and use it in backward; do not draw a new one.")


@graded("3.3", points=3)
def test_module_eval_identity(student, rng):
    """in evaluation mode, forward returns x's values and backward returns grad_output's"""
    x, g = torch.randn(6, 5, generator=rng), torch.randn(6, 5, generator=rng)
    log = student.probe("dropout_module", 0.5, [["eval"], ["forward", x], ["backward", g]], uses=("Dropout",))
    expect_close(log[2]["out"], x, what="Dropout(0.5).eval().forward(<6x5 float32>)",
                 hint="dropout is off in evaluation mode: no mask, no scaling.", **EXACT)
    expect_close(log[3]["grad"], g, what="backward after an evaluation-mode forward",
                 hint="after an evaluation-mode forward the mask is None and the gradient passes through.", **EXACT)
