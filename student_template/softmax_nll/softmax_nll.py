# Generated from solutions/softmax_nll/softmax_nll.py by `autograder build-templates`: do not edit.
"""Assignment softmax_nll: softmax, log-softmax, NLL and cross-entropy in PyTorch.

You implement five functions, numerically stable and fully vectorized:

1. ``softmax``                 -- the softmax along one dimension of a tensor of any shape
2. ``log_softmax``             -- its logarithm, computed without ever taking ``log(softmax(x))``
3. ``nll_loss``                -- the negative log-likelihood of targets given log-probabilities
4. ``cross_entropy``           -- cross-entropy from raw logits, with optional label smoothing
5. ``cross_entropy_backward``  -- the analytic gradient of ``cross_entropy`` w.r.t. the logits

Read the handout (README.md) first: it pins the conventions, tolerances, banned APIs and the
performance budget. Fill in every `# YOUR CODE HERE`. Submit this single file.
"""

from __future__ import annotations

import torch
from torch import Tensor

# Task 1: softmax
def softmax(logits: Tensor, dim: int = -1) -> Tensor:
    """Softmax of ``logits`` along dimension ``dim``; must equal ``torch.softmax(logits, dim)``.

    Along ``dim``, every slice of the result is non-negative and sums to 1:
    ``out[..., i, ...] = exp(x_i) / sum_j exp(x_j)``.

    Args:
        logits: a floating-point tensor (float16, float32 or float64) of any shape, on any
            device. It may contain ``-inf`` entries (they get probability 0).
        dim: the dimension to normalize over; negative values count from the end, as in
            PyTorch (a 0-d tensor accepts ``dim`` in ``[-1, 0]``).

    Returns:
        A tensor of the same shape, dtype and device as ``logits``. It is finite for logits
        up to 1e4 in magnitude and for slices with some ``-inf`` entries; a slice whose
        entries are *all* ``-inf`` gives NaN, exactly like ``torch.softmax``. ``logits`` is
        not modified and the result carries no autograd history.

    Raises:
        ValueError: ``logits`` is not a floating-point tensor, or ``dim`` is not an int
            or is out of range for ``logits``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("softmax_nll task 1: softmax")


# Task 2: log_softmax
def log_softmax(logits: Tensor, dim: int = -1) -> Tensor:
    """Log-softmax of ``logits`` along ``dim``; must equal ``torch.log_softmax(logits, dim)``.

    ``out[..., i, ...] = x_i - log(sum_j exp(x_j))``, the logarithm of ``softmax``.

    Args:
        logits: a floating-point tensor (float16, float32 or float64) of any shape, on any
            device. It may contain ``-inf`` entries (their log-probability is ``-inf``).
        dim: the dimension to normalize over; negative values count from the end (a 0-d
            tensor accepts ``dim`` in ``[-1, 0]``).

    Returns:
        A tensor of the same shape, dtype and device as ``logits``. Every entry that
        ``torch.log_softmax`` gives as a finite number must be finite here too, for logits
        up to 1e4 in magnitude (where the probabilities themselves underflow to 0) and for
        slices with some ``-inf`` entries; an all-``-inf`` slice gives NaN, like PyTorch.
        ``logits`` is not modified and the result carries no autograd history.

    Raises:
        ValueError: ``logits`` is not a floating-point tensor, or ``dim`` is not an int
            or is out of range for ``logits``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("softmax_nll task 2: log_softmax")


# Task 3: nll_loss
def nll_loss(log_probs: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood loss; must equal ``F.nll_loss(log_probs, targets, reduction=...)``.

    The loss of sample ``n`` is ``-log_probs[n, targets[n]]``.

    Args:
        log_probs: a floating-point tensor of shape (N, C) holding log-probabilities
            (typically the output of ``log_softmax``), float16, float32 or float64.
        targets: an integer tensor (int64 usually) of shape (N,), each value a class
            index in ``[0, C)``.
        reduction: ``"mean"`` (average over the N samples), ``"sum"`` or ``"none"``.

    Returns:
        A 0-d tensor for ``"mean"`` and ``"sum"``, or a tensor of shape (N,) for
        ``"none"``; dtype and device of ``log_probs``. For N = 0, ``"mean"`` gives NaN and
        ``"sum"`` gives 0, like PyTorch. Inputs are not modified; no autograd history.

    Raises:
        ValueError: ``log_probs`` is not a 2-D floating-point tensor; ``targets`` is not a
            1-D integer tensor of length N; a target lies outside ``[0, C)``; or
            ``reduction`` is not one of ``"mean"``, ``"sum"``, ``"none"``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("softmax_nll task 3: nll_loss")


# Task 4: cross_entropy
def cross_entropy(
    logits: Tensor,
    targets: Tensor,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy from raw logits; must equal
    ``F.cross_entropy(logits, targets, reduction=..., label_smoothing=...)``.

    With ``label_smoothing = eps``, sample ``n`` is scored against the target distribution
    ``q = (1 - eps) * one_hot(targets[n], C) + eps / C`` (the uniform part covers all C
    classes, the target class included): ``loss_n = -sum_c q_c * log_softmax(logits[n])_c``.

    Args:
        logits: a floating-point tensor of shape (N, C) (float16, float32 or float64),
            unnormalized scores, up to 1e4 in magnitude, possibly with ``-inf`` entries.
        targets: an integer tensor (int64 usually) of shape (N,) with values in ``[0, C)``.
        reduction: ``"mean"`` (average over the N samples), ``"sum"`` or ``"none"``.
        label_smoothing: ``eps`` in ``[0, 1]``; 0 gives the plain cross-entropy.

    Returns:
        A 0-d tensor for ``"mean"`` and ``"sum"``, or shape (N,) for ``"none"``; dtype and
        device of ``logits``. Finite wherever PyTorch's result is finite. Inputs are not
        modified; no autograd history.

    Raises:
        ValueError: ``logits`` is not a 2-D floating-point tensor; ``targets`` is not a 1-D
            integer tensor of length N; a target lies outside ``[0, C)``; ``reduction`` is
            unknown; or ``label_smoothing`` is not a number in ``[0, 1]``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("softmax_nll task 4: cross_entropy")


# Task 5: cross_entropy_backward
def cross_entropy_backward(
    logits: Tensor,
    targets: Tensor,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output: Tensor | float | None = None,
) -> Tensor:
    """Analytic gradient of ``cross_entropy`` with respect to ``logits``.

    Returns what ``torch.autograd`` would put into ``logits.grad`` after
    ``cross_entropy(logits, targets, reduction, label_smoothing).backward(grad_output)``,
    computed in closed form (no autograd).

    Args:
        logits: a floating-point tensor of shape (N, C) (float16, float32 or float64).
        targets: an integer tensor (int64 usually) of shape (N,) with values in ``[0, C)``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``, as in ``cross_entropy``.
        label_smoothing: ``eps`` in ``[0, 1]``, as in ``cross_entropy``.
        grad_output: the upstream gradient of the loss. For ``"mean"`` and ``"sum"`` a
            scalar: a Python number or a 0-d tensor. For ``"none"`` a tensor of shape (N,),
            one weight per sample. ``None`` means 1 (every sample weighted 1 for ``"none"``).

    Returns:
        A tensor of shape (N, C) with the dtype and device of ``logits``. Finite for logits
        up to 1e4 in magnitude and rows with some ``-inf`` entries. Inputs are not modified;
        no autograd history.

    Raises:
        ValueError: any of the ``cross_entropy`` errors, or ``grad_output`` is not a scalar
            (for ``"mean"`` / ``"sum"``) or not a real tensor of shape (N,) (for ``"none"``).
    """
    # YOUR CODE HERE
    raise NotImplementedError("softmax_nll task 5: cross_entropy_backward")
