"""Assignment attention: scaled dot-product attention, its backward, multi-head attention.

You implement three functions, fully vectorized over every batch and head dimension:

1. ``scaled_dot_product_attention`` -- softmax(q k^T * scale + mask) v, with bool or additive
   masks, causal masking and fully masked rows
2. ``sdpa_backward``                -- its analytic gradients with respect to q, k and v
3. ``multi_head_attention``         -- project, split into heads, attend, merge, project

Two private helpers, ``_check_attention_inputs`` and ``_attention_probs``, are there for you to
use in all three tasks (the reference uses them); you may also delete them and write your
own. Read the handout (README.md) first: it pins the conventions, tolerances, banned APIs
and the performance budget. Fill in every `# YOUR CODE HERE`. Submit this single file.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


# Task 1: scaled_dot_product_attention
def _check_attention_inputs(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    attn_mask: Tensor | None,
    is_causal: bool,
    scale: float | None,
) -> float:
    """Validate the arguments of ``scaled_dot_product_attention`` and return the scale to use.

    Raises the ``ValueError`` s documented in ``scaled_dot_product_attention``; returns
    ``scale``, or ``1 / sqrt(E)`` when it is None.
    """
    ### BEGIN SOLUTION
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
        if t.dim() < 2:
            raise ValueError(f"{name} must have at least 2 dimensions (..., rows, features), "
                             f"got shape {tuple(t.shape)}")
    if k.dtype != q.dtype or v.dtype != q.dtype:
        raise ValueError(f"k and v must have q's dtype {q.dtype}, got k {k.dtype} and v {v.dtype}")
    batch = q.shape[:-2]
    if k.shape[:-2] != batch or v.shape[:-2] != batch:
        raise ValueError(f"k and v must have q's leading dimensions {tuple(batch)}, "
                         f"got k of shape {tuple(k.shape)} and v of shape {tuple(v.shape)}")
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(f"k must have q's feature size E={q.shape[-1]} in its last dimension, "
                         f"got k of shape {tuple(k.shape)}")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"v must have as many rows as k (S={k.shape[-2]}), got v of shape {tuple(v.shape)}")
    if not isinstance(is_causal, bool):
        raise ValueError(f"is_causal must be a bool, got {type(is_causal).__name__}")
    if attn_mask is not None:
        if is_causal:
            raise ValueError("attn_mask must be None when is_causal=True (give one or the other)")
        if not isinstance(attn_mask, Tensor):
            raise ValueError(f"attn_mask must be a torch.Tensor or None, got {type(attn_mask).__name__}")
        if attn_mask.dtype != torch.bool and not attn_mask.is_floating_point():
            raise ValueError(f"attn_mask must be a bool or floating-point tensor, got dtype {attn_mask.dtype}")
        target = (*batch, q.shape[-2], k.shape[-2])
        try:
            fits = torch.broadcast_shapes(attn_mask.shape, target) == target
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(f"attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to "
                             f"(..., L, S) = {target}")
    if scale is None:
        return 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] > 0 else 1.0
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise ValueError(f"scale must be a finite number or None, got {scale!r}")
    return float(scale)
    ### END SOLUTION


def _attention_probs(
    q: Tensor, k: Tensor, attn_mask: Tensor | None, is_causal: bool, scale: float
) -> Tensor:
    """The attention weights ``P = softmax(q k^T * scale + mask)``, shape (..., L, S).

    ``q`` and ``k`` are already validated and in the compute dtype. Rows with no allowed key
    are all zeros.
    """
    ### BEGIN SOLUTION
    scores = torch.matmul(q, k.transpose(-2, -1)).mul_(scale)
    maskable = is_causal or attn_mask is not None
    if is_causal:
        L, S = scores.shape[-2:]
        # top-left aligned: query i sees keys j <= i
        hidden = torch.ones(L, S, dtype=torch.bool, device=q.device).triu_(1)
        scores.masked_fill_(hidden, float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores.masked_fill_(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask.to(device=q.device, dtype=scores.dtype)
    probs = torch.softmax(scores, dim=-1)
    if maskable:
        # a row whose every score is -inf has no key to attend to: zeros, not NaN
        empty = scores.amax(dim=-1, keepdim=True) == float("-inf")
        probs = probs.masked_fill_(empty, 0.0)
    return probs
    ### END SOLUTION


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Scaled dot-product attention; must equal ``F.scaled_dot_product_attention`` (torch >= 2.5).

    ``out = softmax(q @ k^T * scale + mask) @ v``, the softmax over the keys (the last dim).

    Args:
        q: queries, shape (..., L, E), float16, float32 or float64, on any device.
        k: keys, shape (..., S, E), same leading dims and dtype as ``q``.
        v: values, shape (..., S, Ev), same leading dims and dtype as ``q``.
        attn_mask: None, or a tensor broadcastable to (..., L, S): bool (True = this query
            may attend to this key; False = it may not) or floating-point (added to the
            scaled scores; ``-inf`` forbids a key).
        is_causal: query i sees only keys j <= i (top-left aligned, also when L != S).
        scale: the factor on ``q @ k^T``; None means ``1 / sqrt(E)``.

    Returns:
        A tensor of shape (..., L, Ev) with ``q``'s dtype and device. A query row with no
        allowed key outputs zeros. Inputs are not modified; no autograd history.

    Raises:
        ValueError: a non-tensor or non-floating-point ``q`` / ``k`` / ``v``, fewer than 2
            dims, different dtypes or leading dims, ``k``'s E differing from ``q``'s, ``v``'s
            S differing from ``k``'s, an ``attn_mask`` that is neither bool nor floating-point
            or does not broadcast to (..., L, S), ``attn_mask`` given with ``is_causal=True``,
            or a ``scale`` that is not a finite number.
    """
    ### BEGIN SOLUTION
    scale = _check_attention_inputs(q, k, v, attn_mask, is_causal, scale)
    dtype = q.dtype
    cdtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32  # float16: compute in float32
    q, k, v = (t.detach().to(cdtype) for t in (q, k, v))
    probs = _attention_probs(q, k, attn_mask, is_causal, scale)
    return torch.matmul(probs, v).to(dtype)
    ### END SOLUTION


# Task 2: sdpa_backward
def sdpa_backward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    grad_output: Tensor,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Analytic gradients of ``sum(scaled_dot_product_attention(q, k, v, ...) * grad_output)``.

    Returns what ``torch.autograd`` gives for ``(q.grad, k.grad, v.grad)``, computed in
    closed form (no autograd).

    Args:
        q, k, v, attn_mask, is_causal, scale: as in ``scaled_dot_product_attention``.
        grad_output: the upstream gradient, shape (..., L, Ev) (the output's shape).

    Returns:
        ``(dq, dk, dv)`` with the shapes, dtype and device of ``q``, ``k`` and ``v``. Rows of
        fully masked queries contribute nothing: their ``dq`` rows are zero. Inputs are not
        modified; no autograd history.

    Raises:
        ValueError: every error of ``scaled_dot_product_attention``, or a ``grad_output`` that
            is not a tensor of shape (..., L, Ev).
    """
    ### BEGIN SOLUTION
    scale = _check_attention_inputs(q, k, v, attn_mask, is_causal, scale)
    out_shape = (*q.shape[:-1], v.shape[-1])
    if not isinstance(grad_output, Tensor) or tuple(grad_output.shape) != out_shape:
        got = f"shape {tuple(grad_output.shape)}" if isinstance(grad_output, Tensor) else type(grad_output).__name__
        raise ValueError(f"grad_output must be a tensor of the output's shape (..., L, Ev) = {out_shape}, got {got}")
    dtype = q.dtype
    cdtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32
    q, k, v, g = (t.detach().to(cdtype) for t in (q, k, v, grad_output))
    probs = _attention_probs(q, k, attn_mask, is_causal, scale)
    dv = torch.matmul(probs.transpose(-2, -1), g)
    # dS = P * (dP - rowsum(P * dP)): the softmax Jacobian applied row by row
    dscores = torch.matmul(g, v.transpose(-2, -1))
    correction = (dscores * probs).sum(dim=-1, keepdim=True)
    dscores.sub_(correction).mul_(probs).mul_(scale)
    dq = torch.matmul(dscores, k)
    dk = torch.matmul(dscores.transpose(-2, -1), q)
    return dq.to(dtype), dk.to(dtype), dv.to(dtype)
    ### END SOLUTION


# Task 3: multi_head_attention
def multi_head_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    num_heads: int,
    w_q: Tensor,
    w_k: Tensor,
    w_v: Tensor,
    w_o: Tensor,
    b_q: Tensor | None = None,
    b_k: Tensor | None = None,
    b_v: Tensor | None = None,
    b_o: Tensor | None = None,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
) -> Tensor:
    """Multi-head attention (batch first), as ``nn.MultiheadAttention`` computes it.

    ``q = query @ w_q.T + b_q`` (likewise k from ``key``, v from ``value``); the model
    dimension D is split into ``num_heads`` heads of ``D / num_heads`` features each; each
    head attends with scale ``1 / sqrt(D / num_heads)``; the heads are concatenated back to D
    features and projected: ``out = heads @ w_o.T + b_o``.

    Args:
        query: shape (N, L, D); key and value: shape (N, S, D); all of one floating dtype.
        num_heads: a positive int that divides D.
        w_q, w_k, w_v, w_o: weights of shape (D, D) (Linear convention ``y = x @ w.T + b``).
        b_q, b_k, b_v, b_o: biases of shape (D,), or None (no bias).
        attn_mask: None, or a bool / float mask of shape (L, S) or (N, num_heads, L, S)
            (anything that broadcasts to (N, num_heads, L, S)), polarity as in
            ``scaled_dot_product_attention`` (bool True = may attend).
        is_causal: causal masking, top-left aligned.

    Returns:
        A tensor of shape (N, L, D) with ``query``'s dtype and device. Inputs are not
        modified; no autograd history.

    Raises:
        ValueError: ``query`` / ``key`` / ``value`` not 3-D floating-point tensors of
            matching N, D (and S for key and value); ``num_heads`` not a positive int
            dividing D; a weight not (D, D) or a bias not (D,); a mask that does not
            broadcast to (N, num_heads, L, S); ``attn_mask`` together with ``is_causal``.
    """
    ### BEGIN SOLUTION
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or not t.is_floating_point() or t.dim() != 3:
            got = f"shape {tuple(t.shape)}, dtype {t.dtype}" if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a 3-D floating-point tensor (N, rows, D), got {got}")
    n, length, d = query.shape
    if key.shape[0] != n or key.shape[2] != d:
        raise ValueError(f"key must have shape (N={n}, S, D={d}), got {tuple(key.shape)}")
    if tuple(value.shape) != tuple(key.shape):
        raise ValueError(f"value must have key's shape {tuple(key.shape)}, got {tuple(value.shape)}")
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads <= 0:
        raise ValueError(f"num_heads must be a positive int, got {num_heads!r}")
    if d % num_heads:
        raise ValueError(f"num_heads={num_heads} must divide the model dimension D={d}")
    for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v), ("w_o", w_o)):
        if not isinstance(w, Tensor) or tuple(w.shape) != (d, d):
            got = tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__
            raise ValueError(f"{name} must be a tensor of shape (D, D) = ({d}, {d}), got {got}")
    for name, b in (("b_q", b_q), ("b_k", b_k), ("b_v", b_v), ("b_o", b_o)):
        if b is not None and (not isinstance(b, Tensor) or tuple(b.shape) != (d,)):
            got = tuple(b.shape) if isinstance(b, Tensor) else type(b).__name__
            raise ValueError(f"{name} must be None or a tensor of shape (D,) = ({d},), got {got}")
    if attn_mask is not None and is_causal:
        raise ValueError("attn_mask must be None when is_causal=True (give one or the other)")
    s = key.shape[1]
    if attn_mask is not None:
        target = (n, num_heads, length, s)
        try:
            fits = isinstance(attn_mask, Tensor) and torch.broadcast_shapes(attn_mask.shape, target) == target
        except RuntimeError:
            fits = False
        if not fits:
            got = tuple(attn_mask.shape) if isinstance(attn_mask, Tensor) else type(attn_mask).__name__
            raise ValueError(f"attn_mask must broadcast to (N, num_heads, L, S) = {target}, got {got}")
    dtype = query.dtype
    cdtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32
    h, hd = num_heads, d // num_heads

    def project(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        return F.linear(x.detach().to(cdtype), w.detach().to(cdtype), None if b is None else b.detach().to(cdtype))

    def split(x: Tensor) -> Tensor:  # (N, rows, D) -> (N, H, rows, D/H)
        return x.view(n, x.shape[1], h, hd).transpose(1, 2)

    heads = scaled_dot_product_attention(
        split(project(query, w_q, b_q)), split(project(key, w_k, b_k)), split(project(value, w_v, b_v)),
        attn_mask=attn_mask, is_causal=is_causal,
    )
    merged = heads.transpose(1, 2).reshape(n, length, d)  # (N, H, L, D/H) -> (N, L, D)
    return project(merged, w_o, b_o).to(dtype)
    ### END SOLUTION
