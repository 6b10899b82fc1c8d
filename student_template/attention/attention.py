# Generated from solutions/attention/attention.py by `autograder build-templates`: do not edit.
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
    # YOUR CODE HERE
    raise NotImplementedError("attention task 1: scaled_dot_product_attention")


def _attention_probs(
    q: Tensor, k: Tensor, attn_mask: Tensor | None, is_causal: bool, scale: float
) -> Tensor:
    """The attention weights ``P = softmax(q k^T * scale + mask)``, shape (..., L, S).

    ``q`` and ``k`` are already validated and in the compute dtype. Rows with no allowed key
    are all zeros.
    """
    # YOUR CODE HERE
    raise NotImplementedError("attention task 1: scaled_dot_product_attention")


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
    # YOUR CODE HERE
    raise NotImplementedError("attention task 1: scaled_dot_product_attention")


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
    # YOUR CODE HERE
    raise NotImplementedError("attention task 2: sdpa_backward")


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
    # YOUR CODE HERE
    raise NotImplementedError("attention task 3: multi_head_attention")
