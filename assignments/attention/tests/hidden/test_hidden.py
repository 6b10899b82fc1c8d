"""Hidden tests for attention (60 points): autograder only, never shipped to students.

Inputs are drawn fresh per run from the grader's seed; expected values come from PyTorch
(F.scaled_dot_product_attention, math backend, and torch.autograd) in float64 on the trusted
side and are never shown in feedback. The handout pins zeros (and zero gradients) for a query with
no allowed key; the oracle builds that itself (those rows are attended unmasked, then zeroed),
so it does not depend on how a PyTorch backend treats such rows.
Per task: scaled_dot_product_attention 23, sdpa_backward 20, multi_head_attention 17.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from autograder.testing import F64, expect_close, expect_no_history, expect_unchanged, fail, graded

NO_WRITES = "never write into your inputs; use out-of-place operations."
STABLE = "subtract each row's max score before exponentiating (or use torch.softmax)."
CORRECTION = "dS = P * (dP - rowsum(P * dP)): the softmax Jacobian has a diagonal term and a rank-one correction."


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _randn(rng: torch.Generator, *shape: int, dtype: torch.dtype = F64, std: float = 1.0) -> torch.Tensor:
    return (torch.randn(shape, generator=rng, dtype=F64) * std).to(dtype)


def _qkvg(rng, batch, L, S, E, Ev, dtype=F64, std=1.0):
    """Random q (..., L, E), k (..., S, E), v (..., S, Ev) and an upstream gradient (..., L, Ev)."""
    return (_randn(rng, *batch, L, E, dtype=dtype, std=std), _randn(rng, *batch, S, E, dtype=dtype, std=std),
            _randn(rng, *batch, S, Ev, dtype=dtype), _randn(rng, *batch, L, Ev, dtype=dtype))


def _large_scores(rng, batch, L, S, E, dtype, offset, in_mask=False):
    """q, k (E = 16), v, grad_output and a mask, with scores shifted by +-offset per query row.

    q and k hold small integers, so every score (an integer over sqrt(16) = 4) is exact in
    float32 too and the test measures the softmax, not the rounding of huge dot products.
    Each query's scores are ordinary ones (spread over several keys, not one-hot) plus
    +-offset, so exp of a raw score overflows (+) or underflows to 0 / 0 (-). The offset comes
    from q (its last feature is +-4 * offset, every key's is 1), or with ``in_mask`` from an
    additive float mask of shape (..., L, 1): in float32, gradients with respect to q and k of
    such large entries are ill-conditioned (their error grows with |q|), a mask has none.
    """
    if E != 16:
        raise ValueError("E must be 16 (scale 1/4, exact)")
    q = torch.randint(-2, 3, (*batch, L, E), generator=rng).double()
    k = torch.randint(-2, 3, (*batch, S, E), generator=rng).double()
    shift = torch.where(torch.rand(*batch, L, 1, generator=rng) < 0.5, -1.0, 1.0).double() * offset
    mask = None
    if in_mask:
        mask = shift
    else:
        q[..., -1:] = 4 * shift
        k[..., -1] = 1
    v, g = _randn(rng, *batch, S, 3), _randn(rng, *batch, L, 3)
    return tuple(None if t is None else t.to(dtype) for t in (q, k, v, g, mask))


def _bool_mask(rng, *shape, p=0.5, keep_one=True):
    """A random bool mask (True = may attend); with keep_one, every row allows at least one key."""
    mask = torch.rand(shape, generator=rng) < p
    if keep_one:
        first = torch.randint(0, shape[-1], shape[:-1], generator=rng)
        mask.scatter_(-1, first.unsqueeze(-1), True)
    return mask


def _reference(q, k, v, grad_output=None, attn_mask=None, is_causal=False, scale=None):
    """(out, grads) by PyTorch in float64, cast to q's dtype; rows with no allowed key are zero.

    grads is None without a grad_output, else (dq, dk, dv) by torch.autograd.
    """
    dtype = q.dtype
    leaves = [t.detach().double().requires_grad_(grad_output is not None) for t in (q, k, v)]
    empty = None
    if attn_mask is not None:
        allowed = attn_mask if attn_mask.dtype == torch.bool else attn_mask != float("-inf")
        empty = ~allowed.any(-1, keepdim=True)
        if bool(empty.any()):  # attend to every key there, then zero the row: zero output, zero gradient
            attn_mask = attn_mask | empty if attn_mask.dtype == torch.bool else attn_mask.masked_fill(empty, 0.0)
        attn_mask = attn_mask if attn_mask.dtype == torch.bool else attn_mask.double()
    with torch.enable_grad(), sdpa_kernel(SDPBackend.MATH):
        out = F.scaled_dot_product_attention(*leaves, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
        if empty is not None:
            out = out.masked_fill(empty, 0.0)
        grads = None
        if grad_output is not None:
            grads = tuple(g.to(dtype) for g in torch.autograd.grad(out, leaves, grad_output.double()))
    return out.detach().to(dtype), grads


MASK = ("attn_mask", "attn mask", "mask")
CAUSAL_AND_MASK = (*MASK, "is_causal", "causal")
GRAD_OUTPUT = ("grad_output", "grad output")
HEADS = ("num_heads", "num heads")


def _check_sdpa(student, q, k, v, what, hint, **kwargs):
    expected, _ = _reference(q, k, v, **kwargs)
    expect_close(student.call("scaled_dot_product_attention", q, k, v, **kwargs), expected, what=what, hint=hint)


def _check_grads(student, q, k, v, g, what, hint, **kwargs):
    _, expected = _reference(q, k, v, g, **kwargs)
    got = student.call("sdpa_backward", q, k, v, g, **kwargs)
    if type(got) not in (tuple, list) or len(got) != 3:
        fail(what, f"returned {type(got).__name__}, expected a tuple (dq, dk, dv)", "return the three gradients.")
    for name, mine, ref in zip(("dq", "dk", "dv"), got, expected):
        expect_close(mine, ref, what=f"{name} of {what}", hint=hint)


# ======================================================================== scaled_dot_product_attention (23)

@graded("1.10", points=0.75)
@pytest.mark.parametrize("batch", [(), (4,), (2, 3), (2, 2, 3)], ids=["2-D", "3-D", "4-D", "5-D"])
def test_sdpa_any_leading_dims(student, rng, batch):
    """attention over any number of leading (batch, head) dims, with L != S and E != Ev (S = E = 300 when 2-D)"""
    q, k, v, _ = _qkvg(rng, batch, 5, 7 if batch else 300, 6 if batch else 300, 3)
    _check_sdpa(student, q, k, v, f"scaled_dot_product_attention on q {tuple(q.shape)}, k {tuple(k.shape)}, "
                f"v {tuple(v.shape)}", "work on the last two dims only (matmul broadcasts over the leading ones); "
                "softmax over the keys.")


@graded("1.11", points=1)
def test_sdpa_dtypes(student, rng):
    """attention returns q's dtype for float16, float32 and float64"""
    for dtype in (torch.float16, torch.float32, torch.float64):
        q, k, v, _ = _qkvg(rng, (2, 3), 6, 5, 8, 4, dtype=dtype)
        _check_sdpa(student, q, k, v, f"scaled_dot_product_attention on {_name(dtype)} inputs",
                    "return q's dtype; compute float16 in float32 and cast back.")


SDPA_BOOL_MASK_BROADCAST_CASES = [(5, 7), (2, 1, 5, 7), (1, 3, 1, 7), (2, 3, 5, 7)]


@graded("1.12", points=1)
@pytest.mark.parametrize("mask_shape", SDPA_BOOL_MASK_BROADCAST_CASES, ids=["L,S", "B,1,L,S", "1,H,1,S", "B,H,L,S"])
def test_sdpa_bool_mask_broadcast(student, rng, mask_shape):
    """a random (asymmetric) bool mask of each broadcastable shape, True = may attend"""
    q, k, v, _ = _qkvg(rng, (2, 3), 5, 7, 4, 6, dtype=torch.float32)
    mask = _bool_mask(rng, *mask_shape)
    _check_sdpa(student, q, k, v, f"scaled_dot_product_attention with a bool attn_mask of shape {mask_shape}",
                "True = may attend: scores where the mask is False become -inf (before the softmax); "
                "let the mask broadcast against (..., L, S).", attn_mask=mask)


@graded("1.13", points=2)
def test_sdpa_float_mask(student, rng):
    """a float mask with -inf entries and finite offsets is added to the scaled scores"""
    q, k, v, _ = _qkvg(rng, (2, 2), 6, 5, 3, 4)
    mask = _randn(rng, 2, 1, 6, 5, std=3.0)
    mask = mask.masked_fill(~_bool_mask(rng, 2, 1, 6, 5, p=0.6), float("-inf"))
    _check_sdpa(student, q, k, v, "scaled_dot_product_attention with a float attn_mask (some -inf)",
                "add a float mask to q @ k^T * scale; do not treat it as bool and do not scale it.", attn_mask=mask)


@graded("1.14", points=1.5)
@pytest.mark.parametrize("L,S", [(4, 9), (9, 4)], ids=["L<S", "L>S"])
def test_sdpa_causal_rectangular(student, rng, L, S):
    """is_causal with L != S is top-left aligned: query i sees keys 0..i"""
    q, k, v, _ = _qkvg(rng, (2, 2), L, S, 5, 3)
    _check_sdpa(student, q, k, v, f"scaled_dot_product_attention(..., is_causal=True) with L={L}, S={S}",
                "hide key j from query i when j > i (torch.ones(L, S).triu(1)), counted from the top-left corner, "
                "also when L != S.", is_causal=True)


@graded("1.15", points=1.5)
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_rows(student, rng, kind):
    """a query row with no allowed key outputs zeros (bool mask all False, or float mask all -inf), also when
    only one head masks it"""
    q, k, v, _ = _qkvg(rng, (2, 3), 6, 5, 4, 3)
    allowed = _bool_mask(rng, 2, 1, 6, 5).expand(2, 3, 6, 5).clone()
    allowed[0, :, 1] = False
    allowed[1, :, 4] = False
    allowed[:, :, 3] = False
    allowed[0, 2, 0] = False  # one head only: the row is fully masked there, not in the other heads
    allowed[0, :2, 0] = True
    mask = allowed if kind == "bool" else _randn(rng, 2, 3, 6, 5).masked_fill(~allowed, float("-inf"))
    _check_sdpa(student, q, k, v, f"scaled_dot_product_attention with fully masked query rows ({kind} mask)",
                "a softmax over only -inf scores is 0/0 = NaN: give such rows zeros (no key, no contribution).",
                attn_mask=mask)


@graded("1.16", points=1.5)
def test_sdpa_large_scores(student, rng):
    """attention stays finite and exact for scores far beyond exp's overflow (float64 and float32)"""
    for dtype, offset in ((F64, 4000), (torch.float32, 150)):
        q, k, v, _, _ = _large_scores(rng, (2, 2), 6, 8, 16, dtype, offset)
        _check_sdpa(student, q, k, v, f"scaled_dot_product_attention on {_name(dtype)} inputs with scores near "
                    f"+-{offset}", STABLE)


@graded("1.17", points=1)
def test_sdpa_custom_scale(student, rng):
    """a given scale (also one larger than 1, 0.0 and an int) replaces 1/sqrt(E), and applies with a mask too"""
    q, k, v, _ = _qkvg(rng, (3,), 4, 6, 5, 2)
    _check_sdpa(student, q, k, v, "scaled_dot_product_attention(..., scale=1.7)",
                "multiply q @ k^T by `scale` when it is given; 1/sqrt(E) only when it is None.", scale=1.7)
    mask = _randn(rng, 4, 6)
    _check_sdpa(student, q, k, v, "scaled_dot_product_attention(..., attn_mask=<float>, scale=0.05)",
                "scale the scores, then add the float mask (the mask is not scaled).", attn_mask=mask, scale=0.05)
    for scale in (0.0, 2):
        _check_sdpa(student, q, k, v, f"scaled_dot_product_attention(..., scale={scale!r})",
                    "any Python number is a scale, an int or 0.0 included: test `scale is None`, not `not scale` "
                    "(0.0 is falsy), and do not require a float.", scale=scale)


@graded("1.18", points=1)
def test_sdpa_leaves_inputs_alone(student, rng):
    """attention does not modify q, k, v or the mask and returns no autograd history"""
    q, k, v, _ = _qkvg(rng, (2, 2), 5, 4, 3, 3, dtype=torch.float32, std=3.0)
    mask = _randn(rng, 5, 4, dtype=torch.float32)
    leaves = [t.requires_grad_(True) for t in (q, k, v)]
    what = "scaled_dot_product_attention(q, k, v, attn_mask=<float>) on inputs with requires_grad=True"
    value, after = student.call_with_args("scaled_dot_product_attention", *leaves, mask)
    expect_unchanged([t.detach() for t in leaves] + [mask], after, what=what)
    expect_no_history(value, what=what)
    _check_sdpa(student, *(t.detach() for t in leaves), what, NO_WRITES, attn_mask=mask)


@graded("1.20", points=0.25)
@pytest.mark.parametrize("kind", ["none", "bool mask"])
def test_sdpa_zero_features(student, rng, kind):
    """q and k with E = 0 features: every score is 0, so each query averages the values it may attend to"""
    q, k, v, _ = _qkvg(rng, (2, 3), 5, 7, 0, 4)
    mask = None if kind == "none" else _bool_mask(rng, 5, 7)
    _check_sdpa(student, q, k, v, f"scaled_dot_product_attention with E = 0 (q {tuple(q.shape)}, k {tuple(k.shape)}"
                f"), attn_mask={kind}", "with E = 0 every score is 0 and the weights are uniform over the allowed "
                "keys; the default scale 1/sqrt(E) must not divide by zero (any factor times 0 is 0).",
                attn_mask=mask)


SDPA_VALUE_ERRORS_CASES = ["k_features", "k_more_features", "v_rows", "v_more_rows", "v_rows_unbatched",
                           "leading_dims", "k_leading_dims", "k_leading_dims_of_one", "v_leading_dims",
                           "v_leading_dims_of_one", "mask_shape", "mask_extra_dim", "mask_extra_dim_wide",
                           "causal_and_mask", "q_list", "k_integer", "v_1d", "v_1d_unbatched", "q_1d_unbatched",
                           "k_1d_unbatched", "dtype_mismatch", "mask_integer", "scale_inf", "scale_string"]
SDPA_CULPRITS = {"k_features": ("k", "q"), "k_more_features": ("k", "q"), "v_rows": ("v", "k"),
                 "v_more_rows": ("v", "k"), "v_rows_unbatched": ("v", "k"), "v_1d_unbatched": ("v",),
                 "q_1d_unbatched": ("q",), "k_1d_unbatched": ("k",), "k_leading_dims": ("q", "k"),
                 "k_leading_dims_of_one": ("q", "k"), "v_leading_dims": ("q", "v"), "v_leading_dims_of_one": ("q", "v"),
                 "mask_extra_dim": MASK, "mask_extra_dim_wide": MASK, "leading_dims": ("q", "k", "v"),
                 "mask_shape": MASK,
                 "causal_and_mask": CAUSAL_AND_MASK, "q_list": ("q",), "k_integer": ("k",), "v_1d": ("v",),
                 "dtype_mismatch": ("q", "k", "v"), "mask_integer": MASK, "scale_inf": ("scale",),
                 "scale_string": ("scale",), "grad_output_shape": GRAD_OUTPUT, "grad_output_list": GRAD_OUTPUT,
                 "grad_output_transposed": GRAD_OUTPUT, "q_1d": ("q",)}


@graded("1.19", points=0.125)
@pytest.mark.parametrize("case", SDPA_VALUE_ERRORS_CASES)
def test_sdpa_value_errors(student, case):
    """attention raises ValueError naming the argument for mismatched sizes (also leading dims of 1, which matmul
    would broadcast) or dtypes, a mask that is not bool or float or does not broadcast to the scores' shape, mask +
    is_causal, a scale that is not a finite number, or a q, k or v that is not a floating-point tensor of at least 2
    dimensions (batched or not)"""
    q, k, v = torch.zeros(2, 3, 4), torch.zeros(2, 5, 4), torch.zeros(2, 5, 6)
    call = {
        "dtype_mismatch": ((q, k.double(), v), {}),
        "mask_integer": ((q, k, v), {"attn_mask": torch.ones(3, 5, dtype=torch.int64)}),
        "scale_inf": ((q, k, v), {"scale": float("inf")}),
        "scale_string": ((q, k, v), {"scale": "0.5"}),
        "k_features": ((q, torch.zeros(2, 5, 3), v), {}),
        "k_more_features": ((q, torch.zeros(2, 5, 5), v), {}),
        "v_rows": ((q, k, torch.zeros(2, 4, 6)), {}),
        "v_more_rows": ((q, k, torch.zeros(2, 6, 6)), {}),
        "v_rows_unbatched": ((q[0], k[0], torch.zeros(4, 6)), {}),
        "leading_dims": ((q, torch.zeros(3, 5, 4), torch.zeros(3, 5, 6)), {}),
        "k_leading_dims": ((q, torch.zeros(3, 5, 4), v), {}),
        "k_leading_dims_of_one": ((q, torch.zeros(1, 5, 4), v), {}),
        "v_leading_dims": ((q, k, torch.zeros(3, 5, 6)), {}),
        "v_leading_dims_of_one": ((q, k, torch.zeros(1, 5, 6)), {}),
        "mask_extra_dim": ((q, k, v), {"attn_mask": torch.ones(1, 2, 3, 5, dtype=torch.bool)}),
        "mask_extra_dim_wide": ((q, k, v), {"attn_mask": torch.ones(3, 2, 3, 5, dtype=torch.bool)}),
        "mask_shape": ((q, k, v), {"attn_mask": torch.ones(3, 4, dtype=torch.bool)}),
        "causal_and_mask": ((q, k, v), {"attn_mask": torch.ones(3, 5, dtype=torch.bool), "is_causal": True}),
        "q_list": (([[0.0] * 4] * 3, k, v), {}),
        "k_integer": ((q, k.long(), v), {}),
        "v_1d": ((q, k, torch.zeros(6)), {}),
        "v_1d_unbatched": ((q[0], k[0], torch.zeros(5)), {}),
        "q_1d_unbatched": ((torch.zeros(4), k[0], v[0]), {}),
        "k_1d_unbatched": ((q[0], torch.zeros(4), v[0]), {}),
    }[case]
    student.raises_naming(SDPA_CULPRITS[case], "scaled_dot_product_attention", *call[0], **call[1])


# ======================================================================== sdpa_backward (20)

@graded("2.10", points=1.5)
@pytest.mark.parametrize("batch", [(3,), (2, 3)], ids=["3-D", "4-D"])
def test_backward_matches_autograd(student, rng, batch):
    """sdpa_backward matches autograd with L != S and E != Ev, batch and heads > 1"""
    q, k, v, g = _qkvg(rng, batch, 6, 4, 5, 7)
    _check_grads(student, q, k, v, g, f"sdpa_backward on q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}",
                 "dv = P^T dO (S x Ev); dq = dS k * scale (L x E); dk = dS^T q * scale (S x E). " + CORRECTION)


@graded("2.11", points=2)
def test_backward_bool_mask(student, rng):
    """sdpa_backward with an asymmetric bool mask broadcast over heads matches autograd"""
    q, k, v, g = _qkvg(rng, (2, 3), 5, 6, 3, 4)
    mask = _bool_mask(rng, 2, 1, 5, 6)
    _check_grads(student, q, k, v, g, "sdpa_backward(..., attn_mask=<2x1x5x6 bool>)",
                 "recompute P with the same mask as the forward (True = may attend).", attn_mask=mask)


@graded("2.12", points=2)
def test_backward_float_mask(student, rng):
    """sdpa_backward with a float mask (finite offsets and -inf) matches autograd"""
    q, k, v, g = _qkvg(rng, (3,), 6, 5, 4, 2)
    mask = _randn(rng, 6, 5, std=2.0).masked_fill(~_bool_mask(rng, 6, 5, p=0.7), float("-inf"))
    _check_grads(student, q, k, v, g, "sdpa_backward(..., attn_mask=<6x5 float>)",
                 "the mask is a constant added to the scores: it changes P, not the chain rule.", attn_mask=mask)


@graded("2.13", points=1.5)
@pytest.mark.parametrize("L,S", [(3, 7), (7, 3)], ids=["L<S", "L>S"])
def test_backward_causal_rectangular(student, rng, L, S):
    """sdpa_backward with is_causal and L != S (top-left aligned) matches autograd"""
    q, k, v, g = _qkvg(rng, (2, 2), L, S, 4, 5)
    _check_grads(student, q, k, v, g, f"sdpa_backward(..., is_causal=True) with L={L}, S={S}",
                 "use the forward's causal mask: key j hidden from query i when j > i.", is_causal=True)


@graded("2.14", points=1)
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_backward_fully_masked_rows(student, rng, kind):
    """fully masked query rows get zero gradients and add nothing to dk and dv"""
    q, k, v, g = _qkvg(rng, (2, 2), 5, 6, 3, 3)
    allowed = _bool_mask(rng, 5, 6)
    allowed[2] = False
    allowed[4] = False
    mask = allowed if kind == "bool" else _randn(rng, 5, 6).masked_fill(~allowed, float("-inf"))
    _check_grads(student, q, k, v, g, f"sdpa_backward with fully masked query rows ({kind} mask)",
                 "those rows have P = 0 (not NaN): their dq is 0 and they add nothing to dk and dv.", attn_mask=mask)


@graded("2.15", points=2)
def test_backward_large_scores(student, rng):
    """sdpa_backward stays finite and exact for scores far beyond exp's overflow (from q, or from a float mask)"""
    for dtype, offset, in_mask in ((F64, 4000, False), (torch.float32, 150, True)):
        q, k, v, g, mask = _large_scores(rng, (2, 2), 5, 7, 16, dtype, offset, in_mask=in_mask)
        source = "a float mask of +-" if in_mask else "q with scores near +-"
        _check_grads(student, q, k, v, g, f"sdpa_backward on {_name(dtype)} inputs, {source}{offset}", STABLE,
                     attn_mask=mask)


@graded("2.16", points=1)
def test_backward_custom_scale(student, rng):
    """sdpa_backward with scale=1.3, 0.0 and an int matches autograd (the scale enters dq and dk)"""
    q, k, v, g = _qkvg(rng, (2,), 4, 5, 3, 3)
    _check_grads(student, q, k, v, g, "sdpa_backward(..., scale=1.3)",
                 "scores = scale * q k^T, so dq and dk both carry the factor `scale`.", scale=1.3)
    for scale in (0.0, 2):
        _check_grads(student, q, k, v, g, f"sdpa_backward(..., scale={scale!r})",
                     "any Python number is a scale, an int or 0.0 included: test `scale is None`, not `not scale`.",
                     scale=scale)


@graded("2.17", points=1.5)
def test_backward_dtypes(student, rng):
    """sdpa_backward returns each input's dtype for float16 and float32"""
    for dtype in (torch.float16, torch.float32):
        q, k, v, g = _qkvg(rng, (2, 2), 6, 5, 4, 3, dtype=dtype)
        _check_grads(student, q, k, v, g, f"sdpa_backward on {_name(dtype)} inputs",
                     "return q's dtype; compute float16 in float32 and cast back.")


@graded("2.18", points=1)
def test_backward_leaves_inputs_alone(student, rng):
    """sdpa_backward does not modify its inputs (the mask included) and returns no autograd history"""
    q, k, v, g = _qkvg(rng, (2,), 4, 3, 5, 2, dtype=torch.float32, std=2.0)
    mask = _randn(rng, 2, 4, 3, dtype=torch.float32)
    leaves = [t.requires_grad_(True) for t in (q, k, v)]
    what = "sdpa_backward(q, k, v, grad_output, attn_mask=<float>) on inputs with requires_grad=True"
    value, after = student.call_with_args("sdpa_backward", *leaves, g, mask)
    expect_unchanged([t.detach() for t in leaves] + [g, mask], after, what=what)
    for part in value if type(value) in (tuple, list) else [value]:
        expect_no_history(part, what=what)
    _check_grads(student, *(t.detach() for t in leaves), g, what, NO_WRITES + " mask.to(dtype) of the mask's own "
                 "dtype is the caller's tensor: add it out of place.", attn_mask=mask)


@graded("2.20", points=0.5)
def test_backward_zero_features(student, rng):
    """sdpa_backward with E = 0 features: dq and dk are empty, dv follows the uniform weights"""
    q, k, v, g = _qkvg(rng, (2, 2), 5, 6, 0, 3)
    _check_grads(student, q, k, v, g, f"sdpa_backward with E = 0 (q {tuple(q.shape)}, k {tuple(k.shape)})",
                 "with E = 0 every score is 0 and P is uniform; the default scale 1/sqrt(E) must not divide by zero "
                 "(any factor times 0 is 0).")


@graded("2.19", points=0.125)
@pytest.mark.parametrize("case", ["grad_output_shape", "grad_output_transposed", "grad_output_list", "k_features",
                                  "v_rows", "leading_dims", "q_list", "q_1d", "k_integer", "v_1d", "dtype_mismatch",
                                  "mask_shape", "mask_integer", "causal_and_mask", "scale_inf", "scale_string"])
def test_backward_value_errors(student, case):
    """sdpa_backward raises ValueError naming the argument for a grad_output that is not a tensor of the output's
    shape and for every error of the forward"""
    q, k, v, g = torch.zeros(2, 3, 4), torch.zeros(2, 5, 4), torch.zeros(2, 5, 6), torch.zeros(2, 3, 6)
    call = {
        "grad_output_shape": ((q, k, v, torch.zeros(2, 3, 4)), {}),
        "grad_output_transposed": ((q, k, v, torch.zeros(2, 6, 3)), {}),
        "grad_output_list": ((q, k, v, [[[0.0] * 6] * 3] * 2), {}),
        "v_rows": ((q, k, torch.zeros(2, 4, 6), g), {}),
        "leading_dims": ((q, torch.zeros(3, 5, 4), torch.zeros(3, 5, 6), g), {}),
        "q_list": (([[0.0] * 4] * 3, k, v, g), {}),
        "q_1d": ((torch.zeros(4), k, v, g), {}),
        "k_integer": ((q, k.long(), v, g), {}),
        "v_1d": ((q, k, torch.zeros(6), g), {}),
        "dtype_mismatch": ((q, k, v.double(), g), {}),
        "mask_integer": ((q, k, v, g), {"attn_mask": torch.zeros(3, 5, dtype=torch.int32)}),
        "scale_inf": ((q, k, v, g), {"scale": float("nan")}),
        "scale_string": ((q, k, v, g), {"scale": "1"}),
        "k_features": ((q, torch.zeros(2, 5, 2), v, g), {}),
        "mask_shape": ((q, k, v, g), {"attn_mask": torch.zeros(2, 3, 3)}),
        "causal_and_mask": ((q, k, v, g), {"attn_mask": torch.zeros(3, 5), "is_causal": True}),
    }[case]
    student.raises_naming(SDPA_CULPRITS[case], "sdpa_backward", *call[0], **call[1])


# ======================================================================== multi_head_attention (17)

def _mha_inputs(rng, n, length, s, d, dtype=F64, bias=(True,) * 4):
    """query (N, L, D), key and value (N, S, D), weights (D, D) scaled like nn.Linear's, biases (D,) or None."""
    x = [_randn(rng, n, length, d, dtype=dtype), _randn(rng, n, s, d, dtype=dtype), _randn(rng, n, s, d, dtype=dtype)]
    weights = [_randn(rng, d, d, dtype=dtype, std=d**-0.5) for _ in range(4)]
    biases = [_randn(rng, d, dtype=dtype) if b else None for b in bias]
    return x, weights, biases


def _mha(query, key, value, num_heads, weights, biases, attn_mask=None, is_causal=False):
    """PyTorch's composition: F.linear projections, heads split, attention (oracle above), merged, projected."""
    n, length, d = query.shape
    hd = d // num_heads
    w_q, w_k, w_v, w_o = (w.double() for w in weights)
    b_q, b_k, b_v, b_o = (None if b is None else b.double() for b in biases)

    def split(x):
        return x.view(n, -1, num_heads, hd).transpose(1, 2)

    heads, _ = _reference(split(F.linear(query.double(), w_q, b_q)), split(F.linear(key.double(), w_k, b_k)),
                          split(F.linear(value.double(), w_v, b_v)), attn_mask=attn_mask, is_causal=is_causal)
    return F.linear(heads.transpose(1, 2).reshape(n, length, d), w_o, b_o).to(query.dtype)


def _check_mha(student, num_heads, x, weights, biases, what, hint, **kwargs):
    expected = _mha(*x, num_heads, weights, biases, **kwargs)
    got = student.call("multi_head_attention", *x, num_heads, *weights, *biases, **kwargs)
    expect_close(got, expected, what=what, hint=hint)


SPLIT = ("split D into heads with view(N, rows, H, D/H).transpose(1, 2), merge with transpose(1, 2) then "
         "reshape(N, L, D); scale each head by 1/sqrt(D/H).")


@graded("3.10", points=0.75)
@pytest.mark.parametrize("n,length,s,d,h", [(3, 4, 6, 12, 3), (2, 7, 5, 16, 8), (2, 3, 5, 6, 1), (300, 2, 3, 300, 3)],
                         ids=["H=3", "H=8", "H=1", "N=D=300"])
def test_mha_matches_composition(student, rng, n, length, s, d, h):
    """multi_head_attention with distinct N, L, S, D, H (one head; N and D of 300) and all biases matches PyTorch's
    composition"""
    x, weights, biases = _mha_inputs(rng, n, length, s, d)
    _check_mha(student, h, x, weights, biases, f"multi_head_attention with N={n}, L={length}, S={s}, D={d}, "
               f"num_heads={h}, biases", SPLIT)


@graded("3.11", points=2)
def test_mha_matches_torch_module(student, rng):
    """multi_head_attention matches torch's own F.multi_head_attention_forward (nn.MultiheadAttention's math)"""
    n, length, s, d, h = 2, 5, 3, 8, 2
    (query, key, value), weights, biases = _mha_inputs(rng, n, length, s, d)
    allowed = _bool_mask(rng, length, s)
    expected, _ = F.multi_head_attention_forward(
        query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1), d, h,
        torch.cat(weights[:3]), torch.cat(biases[:3]), None, None, False, 0.0, weights[3], biases[3],
        need_weights=False, attn_mask=~allowed)  # nn.MultiheadAttention: True = NOT allowed
    got = student.call("multi_head_attention", query, key, value, h, *weights, *biases, attn_mask=allowed)
    expect_close(got, expected.transpose(0, 1), what="multi_head_attention with a bool (L, S) mask, compared with "
                 "torch's nn.MultiheadAttention computation",
                 hint="our mask polarity is SDPA's (True = may attend), the opposite of nn.MultiheadAttention's.")


@graded("3.12", points=2)
def test_mha_bool_mask(student, rng):
    """multi_head_attention with an asymmetric bool (L, S) mask shared by every batch entry and head, and with a
    (N, 1, 1, S) mask that broadcasts"""
    x, weights, biases = _mha_inputs(rng, 2, 6, 4, 8, bias=(True, False, True, False))
    mask = _bool_mask(rng, 6, 4)
    _check_mha(student, 4, x, weights, biases, "multi_head_attention with a bool (L, S) attn_mask",
               "pass the mask to every head's attention; True = may attend.", attn_mask=mask)
    padding = _bool_mask(rng, 2, 1, 1, 4)
    _check_mha(student, 4, x, weights, biases, "multi_head_attention with a bool (N, 1, 1, S) key-padding attn_mask",
               "any mask that broadcasts to (N, num_heads, L, S) is accepted: let it broadcast, do not require "
               "(L, S) or (N, num_heads, L, S) exactly.", attn_mask=padding)


@graded("3.13", points=2)
def test_mha_per_head_mask(student, rng):
    """multi_head_attention with a different float mask per batch entry and head, shape (N, H, L, S), also with a
    fully masked query in one head"""
    n, length, s, d, h = 2, 4, 5, 12, 3
    x, weights, biases = _mha_inputs(rng, n, length, s, d)
    mask = _randn(rng, n, h, length, s, std=3.0).masked_fill(~_bool_mask(rng, n, h, length, s), float("-inf"))
    _check_mha(student, h, x, weights, biases, "multi_head_attention with a float (N, num_heads, L, S) attn_mask",
               "head i of the mask must meet head i of the split: split as (N, rows, H, D/H), then transpose(1, 2).",
               attn_mask=mask)
    mask[1, 2, 0] = float("-inf")  # one query with no allowed key, in one head only
    _check_mha(student, h, x, weights, biases, "multi_head_attention with a float (N, num_heads, L, S) attn_mask "
               "that leaves one query of one head no key", "a query with no allowed key gets zeros from that head "
               "(as in scaled_dot_product_attention), not NaN.", attn_mask=mask)


@graded("3.14", points=2)
def test_mha_causal(student, rng):
    """multi_head_attention with is_causal=True and L != S"""
    x, weights, biases = _mha_inputs(rng, 2, 6, 4, 8)
    _check_mha(student, 2, x, weights, biases, "multi_head_attention(..., is_causal=True) with L=6, S=4",
               "pass is_causal to every head's attention (top-left aligned).", is_causal=True)


@graded("3.15", points=2)
def test_mha_float32_leaves_inputs_alone(student, rng):
    """multi_head_attention in float32 keeps the dtype, leaves its inputs (the mask included) unchanged, records no
    history; in float16 it returns float16"""
    x, weights, biases = _mha_inputs(rng, 2, 3, 5, 8, dtype=torch.float32)
    mask = _randn(rng, 2, 2, 3, 5, dtype=torch.float32)
    args = [*x, 2, *weights, *biases, mask]
    for t in x + weights:
        t.requires_grad_(True)
    what = "multi_head_attention(..., attn_mask=<float (N, num_heads, L, S)>) on float32 inputs with requires_grad=True"
    value, after = student.call_with_args("multi_head_attention", *args)
    expect_unchanged([a.detach() if isinstance(a, torch.Tensor) else a for a in args], after, what=what)
    expect_no_history(value, what=what)
    plain = [t.detach() for t in x], [w.detach() for w in weights]
    _check_mha(student, 2, plain[0], plain[1], biases, what, NO_WRITES, attn_mask=mask)
    x, weights, biases = _mha_inputs(rng, 2, 3, 5, 8, dtype=torch.float16)
    _check_mha(student, 2, x, weights, biases, "multi_head_attention on float16 inputs",
               "return query's dtype: compute float16 in float32, then cast the result back to float16.")


@graded("3.16", points=0.5)
def test_mha_some_biases(student, rng):
    """multi_head_attention with only b_v and b_o given (the others None)"""
    x, weights, biases = _mha_inputs(rng, 3, 2, 4, 6, bias=(False, False, True, True))
    _check_mha(student, 3, x, weights, biases, "multi_head_attention with b_q = b_k = None, b_v and b_o given",
               "each bias is optional on its own; None means no bias for that projection.")


MHA_VALUE_ERRORS_CASES = ["heads_do_not_divide", "key_features", "key_narrow", "key_batch", "key_batch_small",
                          "value_length", "value_short", "weight_shape", "weight_narrow", "bias_shape", "bias_short",
                          "bias_list", "mask_shape", "mask_extra_dim", "mask_extra_dim_wide", "causal_and_mask",
                          "heads_negative", "heads_zero", "heads_float", "heads_bool", "heads_string", "weight_list",
                          "mask_list", "query_2d", "query_4d", "query_list", "key_list", "value_integer"]
MHA_CULPRITS = {"heads_do_not_divide": HEADS, "key_features": ("key", "query"), "key_batch": ("key", "query"),
                "key_narrow": ("key", "query"), "key_batch_small": ("key", "query"), "value_short": ("value", "key"),
                "weight_narrow": ("w_q",), "bias_short": ("b_k",), "bias_list": ("b_k",), "mask_extra_dim": MASK,
                "mask_extra_dim_wide": MASK, "heads_float": HEADS, "heads_bool": HEADS, "heads_string": HEADS,
                "query_4d": ("query",), "query_list": ("query",), "key_list": ("key",),
                "value_length": ("value", "key"), "weight_shape": ("w_o",), "bias_shape": ("b_k",),
                "mask_shape": MASK, "causal_and_mask": CAUSAL_AND_MASK, "heads_negative": HEADS, "heads_zero": HEADS,
                "weight_list": ("w_o",), "mask_list": MASK, "query_2d": ("query",), "value_integer": ("value",)}


@graded("3.17", points=0.125)
@pytest.mark.parametrize("case", MHA_VALUE_ERRORS_CASES)
def test_mha_value_errors(student, case):
    """multi_head_attention raises ValueError, with a message naming the offending argument, for each malformed
    input"""
    d = 6
    query, key, value = torch.zeros(2, 3, d), torch.zeros(2, 4, d), torch.zeros(2, 4, d)
    w, b = torch.zeros(d, d), torch.zeros(d)
    base = {"query": query, "key": key, "value": value, "num_heads": 2, "w_q": w, "w_k": w, "w_v": w, "w_o": w}
    change = {
        "heads_do_not_divide": {"num_heads": 4},
        "key_features": {"key": torch.zeros(2, 4, d + 1), "value": torch.zeros(2, 4, d + 1)},
        "value_length": {"value": torch.zeros(2, 5, d)},
        "value_short": {"value": torch.zeros(2, 3, d)},
        "key_narrow": {"key": torch.zeros(2, 4, d - 2), "value": torch.zeros(2, 4, d - 2)},
        "key_batch_small": {"key": torch.zeros(1, 4, d), "value": torch.zeros(1, 4, d)},
        "weight_narrow": {"w_q": torch.zeros(d, d - 2)},
        "bias_short": {"b_k": torch.zeros(d - 1)},
        "bias_list": {"b_k": [0.0] * d},
        "mask_extra_dim": {"attn_mask": torch.ones(1, 2, 2, 3, 4, dtype=torch.bool)},
        "mask_extra_dim_wide": {"attn_mask": torch.ones(3, 2, 2, 3, 4, dtype=torch.bool)},
        "heads_float": {"num_heads": 2.0},
        "heads_bool": {"num_heads": True},
        "heads_string": {"num_heads": "2"},
        "query_4d": {"query": torch.zeros(1, 2, 3, d)},
        "query_list": {"query": [[[0.0] * d] * 3] * 2},
        "key_list": {"key": [[[0.0] * d] * 4] * 2},
        "weight_shape": {"w_o": torch.zeros(d, d + 2)},
        "bias_shape": {"b_k": torch.zeros(d + 1)},
        "mask_shape": {"attn_mask": torch.ones(3, 5, dtype=torch.bool)},
        "causal_and_mask": {"attn_mask": torch.ones(3, 4, dtype=torch.bool), "is_causal": True, "b_q": b},
        "heads_negative": {"num_heads": -2},
        "weight_list": {"w_o": [[0.0] * d] * d},
        "mask_list": {"attn_mask": [[True] * 4] * 3},
        "key_batch": {"key": torch.zeros(3, 4, d), "value": torch.zeros(3, 4, d)},
        "heads_zero": {"num_heads": 0},
        "query_2d": {"query": torch.zeros(3, d)},
        "value_integer": {"value": torch.zeros(2, 4, d, dtype=torch.int64)},
    }[case]
    kwargs = dict(base, **change)
    args = [kwargs.pop(name) for name in ("query", "key", "value", "num_heads", "w_q", "w_k", "w_v", "w_o")]
    student.raises_naming(MHA_CULPRITS[case], "multi_head_attention", *args, **kwargs)
