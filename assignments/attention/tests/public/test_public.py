"""Public tests for attention (30 points). Run them with `pytest`, one task with `pytest -m sdpa_backward`.

Each test compares your function with PyTorch on random inputs (a fresh seed every run;
the seed is printed at the end so you can repeat a run with --ag-seed).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch.nn.attention import SDPBackend, sdpa_kernel

from autograder.testing import F64, expect_close, fail, graded, property_settings

# Deterministic examples (the same score every run), shrunk to a small failing input, no "explain" phase.
PROPERTY = property_settings(max_examples=15)
sizes = st.integers(1, 6)
seeds = st.integers(0, 2**31 - 1)


def _sdpa(q, k, v, **kwargs) -> torch.Tensor:
    """PyTorch's attention (math backend, the reference semantics) in float64, cast back to q's dtype."""
    with sdpa_kernel(SDPBackend.MATH):
        return F.scaled_dot_product_attention(q.double(), k.double(), v.double(), **kwargs).to(q.dtype)


def _grads(q, k, v, grad_output, **kwargs) -> tuple[torch.Tensor, ...]:
    """(dq, dk, dv) of sum(attention(q, k, v) * grad_output) by PyTorch's autograd, in float64."""
    leaves = [t.detach().double().requires_grad_(True) for t in (q, k, v)]
    out = _sdpa(*leaves, **kwargs)
    return tuple(g.to(q.dtype) for g in torch.autograd.grad(out, leaves, grad_output.double()))


def _qkv(rng, batch, L, S, E, Ev, dtype=F64):
    """Random q (batch, L, E), k (batch, S, E), v (batch, S, Ev) and an upstream gradient (batch, L, Ev)."""
    shapes = [(*batch, L, E), (*batch, S, E), (*batch, S, Ev), (*batch, L, Ev)]
    return [torch.randn(s, generator=rng, dtype=F64).to(dtype) for s in shapes]


def _expect_grads(got, q, k, v, g, what, hint, **kwargs):
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail(what, f"returned {type(got).__name__}, expected a tuple (dq, dk, dv)", hint)
    for name, mine, ref in zip(("dq", "dk", "dv"), got, _grads(q, k, v, g, **kwargs)):
        expect_close(mine, ref, what=f"{name} of {what}", hint=hint)


# --------------------------------------------------------------------------- Task 1: scaled_dot_product_attention

@graded("1.1", points=3)
def test_sdpa_matches_torch(student, rng):
    """attention with 2 batch entries, 3 heads, L=5 queries, S=7 keys, E=8, Ev=6 matches PyTorch (float64)"""
    q, k, v, _ = _qkv(rng, (2, 3), 5, 7, 8, 6)
    expect_close(student.call("scaled_dot_product_attention", q, k, v), _sdpa(q, k, v),
                 what="scaled_dot_product_attention(q, k, v) with q 2x3x5x8, k 2x3x7x8, v 2x3x7x6",
                 hint="softmax over the keys (last dim) of q @ k^T / sqrt(E), then multiply by v.")


@graded("1.2", points=2)
def test_sdpa_bool_mask(student, rng):
    """a bool attn_mask (True = may attend) matches PyTorch (float32)"""
    q, k, v, _ = _qkv(rng, (3,), 4, 6, 5, 5, torch.float32)
    mask = torch.rand(4, 6, generator=rng) < 0.5
    mask[:, 0] = True
    expect_close(student.call("scaled_dot_product_attention", q, k, v, attn_mask=mask),
                 _sdpa(q, k, v, attn_mask=mask), what="scaled_dot_product_attention with a 4x6 bool attn_mask",
                 hint="True means 'may attend': set the scores where the mask is False to -inf before the softmax.")


@graded("1.3", points=2)
def test_sdpa_float_mask(student, rng):
    """a float attn_mask is added to the scaled scores (float64)"""
    q, k, v, _ = _qkv(rng, (2,), 5, 4, 3, 6)
    mask = torch.randn(5, 4, generator=rng, dtype=F64) * 2
    expect_close(student.call("scaled_dot_product_attention", q, k, v, attn_mask=mask),
                 _sdpa(q, k, v, attn_mask=mask), what="scaled_dot_product_attention with a 5x4 float attn_mask",
                 hint="a float mask is added to q @ k^T * scale (after scaling, before the softmax).")


@graded("1.4", points=2)
def test_sdpa_causal_square(student, rng):
    """is_causal=True with L = S: query i attends to keys 0..i"""
    q, k, v, _ = _qkv(rng, (2, 2), 6, 6, 4, 4)
    expect_close(student.call("scaled_dot_product_attention", q, k, v, is_causal=True),
                 _sdpa(q, k, v, is_causal=True), what="scaled_dot_product_attention(..., is_causal=True), L = S = 6",
                 hint="mask the scores above the diagonal (key j > query i) with -inf.")


@graded("1.5", points=1)
def test_sdpa_custom_scale(student, rng):
    """scale=0.3 replaces the default 1/sqrt(E)"""
    q, k, v, _ = _qkv(rng, (2,), 3, 5, 4, 2)
    expect_close(student.call("scaled_dot_product_attention", q, k, v, scale=0.3), _sdpa(q, k, v, scale=0.3),
                 what="scaled_dot_product_attention(..., scale=0.3)",
                 hint="use the given scale instead of 1/sqrt(E) when it is not None.")


@graded("1.6", points=2)
@PROPERTY
@given(L=sizes, S=sizes, E=sizes, seed=seeds)
def test_sdpa_permuting_keys_changes_nothing(student, L, S, E, seed):
    """permuting the keys together with their values leaves the output unchanged, and it matches PyTorch"""
    gen = torch.Generator().manual_seed(seed)
    q, k, v, _ = _qkv(gen, (2,), L, S, E, 3)
    perm = torch.randperm(S, generator=gen)
    expected = _sdpa(q, k, v)
    what = f"scaled_dot_product_attention with L={L}, S={S}, E={E}"
    expect_close(student.call("scaled_dot_product_attention", q, k, v), expected, what=what,
                 hint="the softmax runs over the S keys, separately for each query.")
    expect_close(student.call("scaled_dot_product_attention", q, k[:, perm], v[:, perm]), expected,
                 what=f"{what}, keys and values permuted together",
                 hint="each key must stay paired with its own value.")


# --------------------------------------------------------------------------- Task 2: sdpa_backward

@graded("2.1", points=3)
def test_backward_matches_autograd(student, rng):
    """sdpa_backward matches PyTorch's autograd with L=4, S=6, E=3, Ev=5 (float64)"""
    q, k, v, g = _qkv(rng, (2, 2), 4, 6, 3, 5)
    _expect_grads(student.call("sdpa_backward", q, k, v, g), q, k, v, g, "sdpa_backward(q, k, v, grad_output)",
                  "dv = P^T dO; dP = dO v^T; dS = P * (dP - rowsum(P * dP)); dq = dS k * scale; dk = dS^T q * scale.")


@graded("2.2", points=3)
@PROPERTY
@given(L=sizes, S=sizes, E=sizes, seed=seeds)
def test_backward_matches_finite_differences(student, L, S, E, seed):
    """sdpa_backward agrees with central finite differences of PyTorch's attention"""
    gen = torch.Generator().manual_seed(seed)
    q, k, v, g = _qkv(gen, (), L, S, E, 2)
    got = student.call("sdpa_backward", q, k, v, g)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail("sdpa_backward(q, k, v, grad_output)", f"returned {type(got).__name__}, expected a tuple (dq, dk, dv)",
             "return the three gradients as a tuple.")
    h = 1e-6
    for name, x, mine in zip(("dq", "dk", "dv"), (q, k, v), got):
        numeric = torch.zeros_like(x)
        for i in range(x.numel()):
            e = torch.zeros(x.numel(), dtype=F64)
            e[i] = h
            e = e.view_as(x)
            args = [t + e if t is x else t for t in (q, k, v)]
            args_minus = [t - e if t is x else t for t in (q, k, v)]
            numeric.view(-1)[i] = ((_sdpa(*args) - _sdpa(*args_minus)) * g).sum() / (2 * h)
        expect_close(mine, numeric, rtol=1e-5, atol=1e-7,
                     what=f"{name} of sdpa_backward with L={L}, S={S}, E={E} vs finite differences",
                     hint="differentiate through the softmax: its Jacobian is diag(p) - p p^T for each row.")


@graded("2.3", points=2)
def test_backward_bool_mask(student, rng):
    """sdpa_backward with a bool attn_mask matches PyTorch's autograd"""
    q, k, v, g = _qkv(rng, (3,), 5, 4, 2, 3)
    mask = torch.rand(5, 4, generator=rng) < 0.6
    mask[:, 1] = True
    _expect_grads(student.call("sdpa_backward", q, k, v, g, attn_mask=mask), q, k, v, g,
                  "sdpa_backward(..., attn_mask=<5x4 bool>)",
                  "masked positions have P = 0, so they get no gradient; mask exactly as in the forward.",
                  attn_mask=mask)


@graded("2.4", points=2)
def test_backward_causal(student, rng):
    """sdpa_backward with is_causal=True (L = S) matches PyTorch's autograd"""
    q, k, v, g = _qkv(rng, (2,), 5, 5, 3, 3)
    _expect_grads(student.call("sdpa_backward", q, k, v, g, is_causal=True), q, k, v, g,
                  "sdpa_backward(..., is_causal=True)", "recompute P with the same causal mask as the forward.",
                  is_causal=True)


# --------------------------------------------------------------------------- Task 3: multi_head_attention

def _mha(query, key, value, num_heads, weights, biases=(None,) * 4, **kwargs) -> torch.Tensor:
    """Multi-head attention composed from F.linear and PyTorch's attention, in float64."""
    n, length, d = query.shape
    hd = d // num_heads
    w_q, w_k, w_v, w_o = (w.double() for w in weights)
    b_q, b_k, b_v, b_o = (None if b is None else b.double() for b in biases)

    def split(x):
        return x.view(n, -1, num_heads, hd).transpose(1, 2)

    heads = _sdpa(split(F.linear(query.double(), w_q, b_q)), split(F.linear(key.double(), w_k, b_k)),
                  split(F.linear(value.double(), w_v, b_v)), **kwargs)
    return F.linear(heads.transpose(1, 2).reshape(n, length, d), w_o, b_o).to(query.dtype)


def _mha_inputs(rng, n, length, s, d, bias=True):
    x = [torch.randn(shape, generator=rng, dtype=F64) for shape in ((n, length, d), (n, s, d), (n, s, d))]
    weights = [torch.randn(d, d, generator=rng, dtype=F64) / d**0.5 for _ in range(4)]
    biases = [torch.randn(d, generator=rng, dtype=F64) if bias else None for _ in range(4)]
    return x, weights, biases


@graded("3.1", points=3)
def test_mha_no_bias(student, rng):
    """multi_head_attention with 2 heads, no biases, self-attention (N=2, L=S=5, D=8) matches PyTorch"""
    (x, _, _), weights, _ = _mha_inputs(rng, 2, 5, 5, 8, bias=False)
    expect_close(student.call("multi_head_attention", x, x, x, 2, *weights), _mha(x, x, x, 2, weights),
                 what="multi_head_attention(x, x, x, num_heads=2, w_q, w_k, w_v, w_o)",
                 hint="project, split D into (num_heads, D/num_heads), attend per head with scale "
                      "1/sqrt(D/num_heads), merge, project with w_o.")


@graded("3.2", points=3)
def test_mha_biases_cross_attention(student, rng):
    """multi_head_attention with biases and 4 heads, L=3 queries attending to S=6 keys (N=2, D=12)"""
    (query, key, value), weights, biases = _mha_inputs(rng, 2, 3, 6, 12)
    expect_close(student.call("multi_head_attention", query, key, value, 4, *weights, *biases),
                 _mha(query, key, value, 4, weights, biases),
                 what="multi_head_attention(query, key, value, num_heads=4, weights, biases)",
                 hint="Linear convention: x @ w.T + b; keys come from `key`, values from `value`.")


@graded("3.3", points=2)
def test_mha_rejects_indivisible_heads(student, rng):
    """multi_head_attention raises ValueError when num_heads does not divide D"""
    (x, _, _), weights, _ = _mha_inputs(rng, 1, 2, 2, 6, bias=False)
    student.raises("ValueError", "multi_head_attention", x, x, x, 4, *weights)
