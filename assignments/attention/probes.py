"""Trusted code that runs beside the student's module in the worker (attention).

Loaded before the student's module, so the yardsticks below are PyTorch's own functions
captured before any student code could patch them. Probes reveal inputs, never answers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

_sdpa = F.scaled_dot_product_attention
_sdpa_kernel = sdpa_kernel
_MATH = SDPBackend.MATH
_grad = torch.autograd.grad
_enable_grad = torch.enable_grad
_cat = torch.cat
_reshape = torch.Tensor.reshape
_detach = torch.Tensor.detach
_requires_grad_ = torch.Tensor.requires_grad_
_Tensor = torch.Tensor


def _flat(*parts: object) -> torch.Tensor:
    """One 1-D tensor holding every part, in order (what a timed probe returns)."""
    for part in parts:
        if type(part) is not _Tensor:
            raise TypeError(f"expected tensors, got {type(part).__name__} (sdpa_backward returns (dq, dk, dv))")
    return _cat([_reshape(p, -1) for p in parts])  # type: ignore[arg-type]


def _math_sdpa_forward(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """PyTorch's scaled dot-product attention, math backend: the forward yardstick."""
    with _sdpa_kernel(_MATH):
        return _sdpa(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)


def _math_sdpa_forward_backward(q, k, v, grad_output, attn_mask=None, is_causal=False, scale=None):
    """Math-backend forward plus its autograd backward: out, dq, dk, dv flattened into one tensor."""
    with _enable_grad():
        leaves = [_requires_grad_(_detach(t), True) for t in (q, k, v)]
        with _sdpa_kernel(_MATH):
            out = _sdpa(*leaves, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
        grads = _grad(out, leaves, grad_output)
    return _flat(_detach(out), *grads)


def forward_backward(module, q, k, v, grad_output, attn_mask=None, is_causal=False, scale=None):
    """A training step with the student's functions: the forward, then sdpa_backward.

    Returns the output and the three gradients flattened into one tensor (out, dq, dk, dv).
    """
    kwargs = {"attn_mask": attn_mask, "is_causal": is_causal, "scale": scale}
    out = module.scaled_dot_product_attention(q, k, v, **kwargs)
    grads = module.sdpa_backward(q, k, v, grad_output, **kwargs)
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        raise TypeError(f"sdpa_backward must return a tuple (dq, dk, dv), got {type(grads).__name__}")
    return _flat(out, *grads)


YARDSTICKS = {
    "sdpa_forward": _math_sdpa_forward,
    "sdpa_forward_backward": _math_sdpa_forward_backward,
}
