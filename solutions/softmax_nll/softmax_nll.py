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
    ### BEGIN SOLUTION
    if not isinstance(logits, Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise ValueError(
            f"logits must be a floating-point tensor (float16, float32 or float64), "
            f"got dtype {logits.dtype}"
        )
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ValueError(f"dim must be an int, got {type(dim).__name__}")
    ndim = max(logits.dim(), 1)
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"dim={dim} is out of range for logits with {logits.dim()} dimension(s) "
            f"(expected dim in [{-ndim}, {ndim - 1}])"
        )
    x = logits.detach()
    if x.numel() == 0:
        return x.clone()
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()  # low-precision input: compute in float32, cast back at the end
    # exp(z) is computed as exp2(z * log2(e)): same value, and on CPU exp2 is several times
    # faster than torch.exp (which is very slow when its results underflow).
    out = x - x.amax(dim, keepdim=True)
    out.mul_(1.4426950408889634).exp2_()
    out.div_(out.sum(dim, keepdim=True))
    return out.to(logits.dtype)
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    if not isinstance(logits, Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise ValueError(
            f"logits must be a floating-point tensor (float16, float32 or float64), "
            f"got dtype {logits.dtype}"
        )
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ValueError(f"dim must be an int, got {type(dim).__name__}")
    ndim = max(logits.dim(), 1)
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"dim={dim} is out of range for logits with {logits.dim()} dimension(s) "
            f"(expected dim in [{-ndim}, {ndim - 1}])"
        )
    x = logits.detach()
    if x.numel() == 0:
        return x.clone()
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()  # low-precision input: compute in float32, cast back at the end
    # (x - max) - log(sum(exp(x - max))): the same rounding order as PyTorch's kernel.
    # exp(z) is computed as exp2(z * log2(e)) (faster on CPU, see softmax). The buffer
    # holding the exponentials is then refilled with x - max: recomputing that is cheaper
    # than allocating a second (N, C)-sized buffer.
    max_ = x.amax(dim, keepdim=True)
    out = x - max_
    log_norm = out.mul_(1.4426950408889634).exp2_().sum(dim, keepdim=True).log_()
    torch.sub(x, max_, out=out).sub_(log_norm)
    return out.to(logits.dtype)
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    if not isinstance(log_probs, Tensor):
        raise ValueError(f"log_probs must be a torch.Tensor, got {type(log_probs).__name__}")
    if not log_probs.is_floating_point():
        raise ValueError(
            f"log_probs must be a floating-point tensor (float16, float32 or float64), "
            f"got dtype {log_probs.dtype}"
        )
    if log_probs.dim() != 2:
        raise ValueError(
            f"log_probs must be a 2-D tensor of shape (N, C), got shape {tuple(log_probs.shape)}"
        )
    n, c = log_probs.shape
    if (
        not isinstance(targets, Tensor)
        or targets.dim() != 1
        or targets.shape[0] != n
        or targets.is_floating_point()
        or targets.is_complex()
        or targets.dtype == torch.bool
    ):
        got = (
            f"shape {tuple(targets.shape)} and dtype {targets.dtype}"
            if isinstance(targets, Tensor)
            else type(targets).__name__
        )
        raise ValueError(f"targets must be a 1-D integer tensor of length N={n}, got {got}")
    if not isinstance(reduction, str) or reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if n > 0:
        lo, hi = (v.item() for v in torch.aminmax(targets))
        if lo < 0 or hi >= c:
            raise ValueError(
                f"targets must be class indices in [0, C) with C={c}, got values in [{lo}, {hi}]"
            )
    x = log_probs.detach()
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    index = targets.detach().to(device=x.device, dtype=torch.long).unsqueeze(1)
    loss = x.gather(1, index).squeeze(1).neg_()
    if reduction == "sum":
        loss = loss.sum()
    elif reduction == "mean":
        loss = loss.sum() / n
    return loss.to(log_probs.dtype)
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    if not isinstance(logits, Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise ValueError(
            f"logits must be a floating-point tensor (float16, float32 or float64), "
            f"got dtype {logits.dtype}"
        )
    if logits.dim() != 2:
        raise ValueError(
            f"logits must be a 2-D tensor of shape (N, C), got shape {tuple(logits.shape)}"
        )
    n, c = logits.shape
    if (
        not isinstance(targets, Tensor)
        or targets.dim() != 1
        or targets.shape[0] != n
        or targets.is_floating_point()
        or targets.is_complex()
        or targets.dtype == torch.bool
    ):
        got = (
            f"shape {tuple(targets.shape)} and dtype {targets.dtype}"
            if isinstance(targets, Tensor)
            else type(targets).__name__
        )
        raise ValueError(f"targets must be a 1-D integer tensor of length N={n}, got {got}")
    if not isinstance(reduction, str) or reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)):
        raise ValueError(
            f"label_smoothing must be a number in [0, 1], got {type(label_smoothing).__name__}"
        )
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if n > 0:
        lo, hi = (v.item() for v in torch.aminmax(targets))
        if lo < 0 or hi >= c:
            raise ValueError(
                f"targets must be class indices in [0, C) with C={c}, got values in [{lo}, {hi}]"
            )
    x = logits.detach()
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    if n == 0:
        loss = x.new_zeros((0,))
    else:
        index = targets.detach().to(device=x.device, dtype=torch.long).unsqueeze(1)
        # log_softmax(x)[n, k] = shifted[n, k] - log_norm[n], shifted = x - row max.
        shifted = x - x.amax(1, keepdim=True)
        target_shifted = shifted.gather(1, index).squeeze(1)
        shifted_sum = shifted.sum(1) if eps > 0.0 else None
        # exp(z) = exp2(z * log2(e)), in place: the buffer no longer holds x - max after this.
        log_norm = shifted.mul_(1.4426950408889634).exp2_().sum(1).log_()
        loss = log_norm - target_shifted  # -log_softmax at the target
        if shifted_sum is not None:
            # -sum_c log_softmax(x)_c, PyTorch's "smooth loss", weighted by eps / C.
            smooth = log_norm * c - shifted_sum
            loss = (1.0 - eps) * loss + (eps / c) * smooth
    if reduction == "sum":
        loss = loss.sum()
    elif reduction == "mean":
        loss = loss.sum() / n
    return loss.to(logits.dtype)
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    if not isinstance(logits, Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise ValueError(
            f"logits must be a floating-point tensor (float16, float32 or float64), "
            f"got dtype {logits.dtype}"
        )
    if logits.dim() != 2:
        raise ValueError(
            f"logits must be a 2-D tensor of shape (N, C), got shape {tuple(logits.shape)}"
        )
    n, c = logits.shape
    if (
        not isinstance(targets, Tensor)
        or targets.dim() != 1
        or targets.shape[0] != n
        or targets.is_floating_point()
        or targets.is_complex()
        or targets.dtype == torch.bool
    ):
        got = (
            f"shape {tuple(targets.shape)} and dtype {targets.dtype}"
            if isinstance(targets, Tensor)
            else type(targets).__name__
        )
        raise ValueError(f"targets must be a 1-D integer tensor of length N={n}, got {got}")
    if not isinstance(reduction, str) or reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)):
        raise ValueError(
            f"label_smoothing must be a number in [0, 1], got {type(label_smoothing).__name__}"
        )
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    x = logits.detach()
    cdtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    if reduction == "none":
        if grad_output is None:
            grad = torch.ones((n, 1), dtype=cdtype, device=x.device)
        elif (
            isinstance(grad_output, Tensor)
            and grad_output.shape == (n,)
            and not grad_output.is_complex()
            and grad_output.dtype != torch.bool
        ):
            grad = grad_output.detach().to(device=x.device, dtype=cdtype).unsqueeze(1)
        else:
            got = (
                f"shape {tuple(grad_output.shape)} and dtype {grad_output.dtype}"
                if isinstance(grad_output, Tensor)
                else type(grad_output).__name__
            )
            raise ValueError(
                f"grad_output must be a real tensor of shape (N,)=({n},) for "
                f"reduction='none', got {got}"
            )
    else:
        if grad_output is None:
            grad = torch.ones((), dtype=cdtype, device=x.device)
        elif isinstance(grad_output, (int, float)) and not isinstance(grad_output, bool):
            grad = torch.tensor(float(grad_output), dtype=cdtype, device=x.device)
        elif (
            isinstance(grad_output, Tensor)
            and grad_output.dim() == 0
            and not grad_output.is_complex()
            and grad_output.dtype != torch.bool
        ):
            grad = grad_output.detach().to(device=x.device, dtype=cdtype)
        else:
            got = (
                f"shape {tuple(grad_output.shape)} and dtype {grad_output.dtype}"
                if isinstance(grad_output, Tensor)
                else type(grad_output).__name__
            )
            raise ValueError(
                f"grad_output must be a scalar (a Python number or a 0-d tensor) for "
                f"reduction={reduction!r}, got {got}"
            )
        if reduction == "mean":
            grad = grad / n
        grad = grad.expand(n, 1)
    if n > 0:
        lo, hi = (v.item() for v in torch.aminmax(targets))
        if lo < 0 or hi >= c:
            raise ValueError(
                f"targets must be class indices in [0, C) with C={c}, got values in [{lo}, {hi}]"
            )
    else:
        return x.new_zeros((0, c), dtype=logits.dtype)
    if x.dtype != cdtype:
        x = x.to(cdtype)
    index = targets.detach().to(device=x.device, dtype=torch.long).unsqueeze(1)
    # d loss_n / d x_n = softmax(x_n) - q_n, with q_n = (1 - eps) * one_hot + eps / C,
    # then scaled by the upstream gradient of sample n (divided by N for "mean").
    out = x - x.amax(1, keepdim=True)
    out.mul_(1.4426950408889634).exp2_()  # exp(x - max), computed as exp2 (see softmax)
    coef = grad / out.sum(1, keepdim=True)  # (N, 1): softmax normalizer times grad
    if eps > 0.0:
        torch.addcmul(grad * (-eps / c), out, coef, out=out)
    else:
        out.mul_(coef)
    out.scatter_add_(1, index, grad * -(1.0 - eps))
    return out.to(logits.dtype)
    ### END SOLUTION
