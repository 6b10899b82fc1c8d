"""Trusted code that runs beside the student's module in the worker (softmax_nll).

Loaded before the student's module, so the yardsticks below are PyTorch's own functions
captured before any student code could patch them. Probes reveal inputs, never answers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_cross_entropy = F.cross_entropy
_grad = torch.autograd.grad
_enable_grad = torch.enable_grad


def _cross_entropy_backward(logits, targets, reduction="mean", label_smoothing=0.0, grad_output=None):
    """PyTorch's forward + autograd backward of cross-entropy: the yardstick for the analytic gradient."""
    with _enable_grad():
        x = logits.detach().requires_grad_(True)
        loss = _cross_entropy(x, targets, reduction=reduction, label_smoothing=label_smoothing)
        upstream = torch.ones_like(loss) if grad_output is None else grad_output
        (grad,) = _grad(loss, x, upstream)
    return grad


YARDSTICKS = {
    "cross_entropy": _cross_entropy,
    "cross_entropy_backward": _cross_entropy_backward,
}
