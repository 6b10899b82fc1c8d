"""Assignment optim: SGD (momentum, dampening, Nesterov, weight decay), Adam (+AMSGrad) and AdamW.

You implement four pieces, each equal to PyTorch's ``torch.optim`` over hundreds of steps:

1. ``Optimizer``  -- the shared base: keeps the parameters as a list, ``zero_grad``
2. ``SGD``        -- stochastic gradient descent with momentum, dampening, Nesterov, weight decay
3. ``Adam``       -- Adam with bias correction, L2 weight decay and AMSGrad
4. ``AdamW``      -- Adam with decoupled weight decay (one method: ``_weight_decay``)

Read the handout (README.md) first: it pins PyTorch's conventions (they differ from many
lecture notes), the tolerances, the banned APIs and the performance budget. Fill in every
`# YOUR CODE HERE`. Submit this single file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

# Task 1: optimizer
class Optimizer:
    """The base class of the three optimizers: a list of parameters and per-tensor state.

    Attributes:
        params: the parameters, as a ``list`` of tensors (the iterable given to the
            constructor is read once, so a generator such as ``model.parameters()`` works).
        state: a ``dict`` mapping each parameter tensor to its own state ``dict`` (momentum
            buffers, moment estimates, step counts). Empty until a parameter's first step.
    """

    def __init__(self, params: Iterable[Tensor]) -> None:
        """Store ``params`` as a list and start with empty state.

        Raises:
            ValueError: ``params`` is a single tensor or not iterable, is empty, or holds
                something that is not a ``torch.Tensor``. The message names ``params``.
        """
        ### BEGIN SOLUTION
        if isinstance(params, Tensor):
            raise ValueError("params must be an iterable of tensors (e.g. a list), not a single tensor")
        try:
            params = list(params)
        except TypeError:
            raise ValueError(f"params must be an iterable of tensors, got {type(params).__name__}") from None
        if not params:
            raise ValueError("params is empty: the optimizer needs at least one tensor")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise ValueError(f"params[{i}] is a {type(p).__name__}, not a torch.Tensor")
        self.params: list[Tensor] = params
        self.state: dict[Tensor, dict[str, Any]] = {}
        ### END SOLUTION

    def zero_grad(self) -> None:
        """Set the ``.grad`` of every parameter to ``None`` (as PyTorch's default ``set_to_none=True``)."""
        ### BEGIN SOLUTION
        for p in self.params:
            p.grad = None
        ### END SOLUTION

    def step(self) -> None:
        """Update every parameter that has a gradient, in place (each subclass defines it)."""
        raise NotImplementedError


# Task 2: sgd
class SGD(Optimizer):
    """Stochastic gradient descent, exactly as ``torch.optim.SGD`` (see the handout, section 3).

    For each parameter ``p`` with gradient ``g`` (``p.grad``), at every step:

        g = g + weight_decay * p                      (L2 penalty; skipped when weight_decay == 0)
        if momentum != 0:
            b = g                                     (first step of this parameter: no dampening)
            b = momentum * b + (1 - dampening) * g    (later steps)
            g = g + momentum * b if nesterov else b
        p = p - lr * g

    Hyperparameters are public attributes (``self.lr``, ``self.momentum``, ``self.dampening``,
    ``self.weight_decay``, ``self.nesterov``); a change between steps applies from the next step.
    The momentum buffer ``b`` is this parameter's state (``self.state[p]``).

    Raises:
        ValueError: ``lr``, ``momentum`` or ``weight_decay`` negative; ``nesterov=True``
            with ``momentum == 0`` or ``dampening != 0``; bad ``params`` (see ``Optimizer``).
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        ### BEGIN SOLUTION
        if lr < 0.0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if momentum < 0.0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening == 0, "
                             f"got momentum={momentum}, dampening={dampening}")
        super().__init__(params)
        self.lr = lr
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        ### END SOLUTION

    def step(self) -> None:
        """One SGD step for every parameter whose ``.grad`` is not None, in place, without autograd history."""
        ### BEGIN SOLUTION
        lr, momentum, dampening = self.lr, self.momentum, self.dampening
        weight_decay, nesterov = self.weight_decay, self.nesterov
        with torch.no_grad():
            for p in self.params:
                grad = p.grad
                if grad is None:
                    continue
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)  # a new tensor: p.grad stays untouched
                if momentum != 0:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = torch.clone(grad).detach()  # first step: the gradient itself, undampened
                        state["momentum_buffer"] = buf
                    else:
                        buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                    grad = grad.add(buf, alpha=momentum) if nesterov else buf
                p.add_(grad, alpha=-lr)
        ### END SOLUTION


# Task 3: adam
class Adam(Optimizer):
    """Adam, exactly as ``torch.optim.Adam`` (see the handout, section 4).

    For each parameter ``p`` with gradient ``g``, its own step count ``t`` (1 at its first
    step) and moments ``m``, ``v`` (zeros before the first step):

        g = self._weight_decay(p, g)                  (Adam: the L2 penalty g + weight_decay * p)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)                  (bias correction: NOT stored back into m)
        v_hat = v / (1 - beta2 ** t)                  (with amsgrad: v_max = max(v_max, v) and
                                                       v_hat = v_max / (1 - beta2 ** t))
        p = p - lr * m_hat / (sqrt(v_hat) + eps)      (eps outside the square root)

    Hyperparameters are public attributes (``self.lr``, ``self.betas``, ``self.eps``,
    ``self.weight_decay``, ``self.amsgrad``); a change between steps applies from the next step.

    Raises:
        ValueError: ``lr``, ``eps`` or ``weight_decay`` negative; ``betas`` not a pair of
            numbers in ``[0, 1)``; bad ``params`` (see ``Optimizer``).
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        ### BEGIN SOLUTION
        if lr < 0.0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if eps < 0.0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        if weight_decay < 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"betas[{i}] must be in [0, 1), got {beta}")
        super().__init__(params)
        self.lr = lr
        self.betas = (betas[0], betas[1])
        self.eps = eps
        self.weight_decay = weight_decay
        self.amsgrad = amsgrad
        ### END SOLUTION

    def _weight_decay(self, param: Tensor, grad: Tensor) -> Tensor:
        """Adam's weight decay: the gradient of the L2 penalty, added to a new tensor.

        Returns ``grad + weight_decay * param`` (``grad`` itself when ``weight_decay == 0``),
        never modifying ``grad``. ``step`` calls it first, for each parameter.
        """
        ### BEGIN SOLUTION
        if self.weight_decay == 0:
            return grad
        return grad.add(param, alpha=self.weight_decay)
        ### END SOLUTION

    def step(self) -> None:
        """One Adam step for every parameter whose ``.grad`` is not None, in place, without autograd history."""
        ### BEGIN SOLUTION
        lr, (beta1, beta2), eps, amsgrad = self.lr, self.betas, self.eps, self.amsgrad
        with torch.no_grad():
            for p in self.params:
                grad = p.grad
                if grad is None:
                    continue
                grad = self._weight_decay(p, grad)
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {
                        "step": 0,
                        "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                        "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                    }
                if amsgrad and "max_exp_avg_sq" not in state:
                    state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                step = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias_correction1 = 1 - beta1**step
                bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                if amsgrad:
                    max_sq = state["max_exp_avg_sq"]
                    torch.maximum(max_sq, exp_avg_sq, out=max_sq)
                    denom = (max_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                else:
                    denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                p.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
        ### END SOLUTION


# Task 4: adamw
class AdamW(Adam):
    """AdamW, exactly as ``torch.optim.AdamW``: Adam with decoupled weight decay (handout, section 5).

    Identical to ``Adam`` except ``_weight_decay``: the parameter itself shrinks,
    ``p = p * (1 - lr * weight_decay)``, before the Adam update, and the gradient is left
    as it is (nothing enters the moments). Note the default ``weight_decay=1e-2``.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def _weight_decay(self, param: Tensor, grad: Tensor) -> Tensor:
        """Decoupled weight decay: shrink ``param`` in place by ``1 - lr * weight_decay``; return ``grad`` as is."""
        ### BEGIN SOLUTION
        if self.weight_decay != 0:
            param.mul_(1 - self.lr * self.weight_decay)
        return grad
        ### END SOLUTION
