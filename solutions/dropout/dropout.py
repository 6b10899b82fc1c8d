"""Assignment dropout: inverted dropout in PyTorch, as functions and as a module.

You implement three pieces, fully vectorized:

1. ``dropout_forward``   -- zero each element with probability ``p``, scale the survivors by 1/(1-p)
2. ``dropout_backward``  -- the gradient of that forward pass, from the mask it returned
3. ``Dropout``           -- a small module that remembers its mask and switches between train and eval

Read the handout (README.md) first: it pins the conventions, the statistics the tests use,
the banned APIs and the performance budget. Fill in every `# YOUR CODE HERE`. Submit this
single file.
"""

from __future__ import annotations

import torch
from torch import Tensor


# Task 1: dropout_forward
def dropout_forward(
    x: Tensor, p: float = 0.5, training: bool = True, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor | None]:
    """Inverted dropout: zero each element of ``x`` with probability ``p``, scale the rest by 1/(1-p).

    Every element is kept or dropped independently of all the others, and independently of
    earlier calls: element ``i`` is kept with probability ``1 - p``. Kept elements are divided
    by ``1 - p``, so the expected value of each output element equals the input element.

    Args:
        x: a floating-point tensor (float16, float32 or float64) of any shape, on any device.
        p: the probability of zeroing an element, a number in ``[0, 1]``.
        training: when False, dropout is switched off (evaluation mode).
        generator: the ``torch.Generator`` to draw the random numbers from (it must live on
            ``x``'s device); ``None`` means PyTorch's global generator. The same generator
            state gives the same mask.

    Returns:
        ``(out, mask)``. ``mask`` is a bool tensor of ``x``'s shape and device, True where the
        element is kept; ``out`` has ``x``'s shape, dtype and device and equals
        ``x * mask / (1 - p)``. When ``training`` is False or ``p == 0``, ``out`` holds
        ``x``'s values (``x`` itself or a copy) and ``mask`` is None. When ``p == 1``,
        ``out`` is all zeros (no NaN) and ``mask`` all False. ``x`` is not modified and the
        results carry no autograd history.

    Raises:
        ValueError: ``p`` is not a number in ``[0, 1]`` (checked whatever ``training`` is),
            or ``x`` is not a floating-point tensor.
    """
    ### BEGIN SOLUTION
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:  # NaN fails too
        raise ValueError(f"p must be a number in [0, 1] (the probability of zeroing an element), got {p!r}")
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ValueError(f"x must be a floating-point torch.Tensor, got {type(x).__name__}"
                         + (f" of dtype {x.dtype}" if isinstance(x, Tensor) else ""))
    x = x.detach()
    if not training or p == 0:
        return x, None
    if p == 1:  # 1 / (1 - p) is infinite: every element is dropped, and 0 * inf must not become NaN
        return torch.zeros_like(x), torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    # One uniform draw per element; P(u >= p) = 1 - p. float32 uniforms have 24 random bits,
    # plenty for any p, and cost half as much as float64 ones.
    mask = torch.rand(x.shape, generator=generator, device=x.device) >= p
    out = x * mask
    out.mul_(1.0 / (1.0 - p))
    return out, mask
    ### END SOLUTION


# Task 2: dropout_backward
def dropout_backward(grad_output: Tensor, mask: Tensor | None, p: float) -> Tensor:
    """The gradient of ``dropout_forward`` with respect to ``x``, given the mask it returned.

    The forward pass is ``out = x * mask / (1 - p)``, a fixed linear map once the mask is drawn,
    so ``grad_input = grad_output * mask / (1 - p)``.

    Args:
        grad_output: the upstream gradient, a floating-point tensor of the forward output's shape.
        mask: the bool mask ``dropout_forward`` returned (True where kept), or None when the
            forward pass did nothing (evaluation mode or ``p == 0``).
        p: the same drop probability as in the forward pass.

    Returns:
        A tensor of ``grad_output``'s shape, dtype and device. With ``mask`` None it holds
        ``grad_output``'s values (``grad_output`` itself or a copy); with ``p == 1`` it is all
        zeros (no NaN). The inputs are not modified and the result carries no autograd history.

    Raises:
        ValueError: ``p`` is not a number in ``[0, 1]``; ``mask`` is neither None nor a bool
            tensor; ``mask``'s shape differs from ``grad_output``'s (no broadcasting).
    """
    ### BEGIN SOLUTION
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:  # NaN fails too
        raise ValueError(f"p must be a number in [0, 1] (the probability of zeroing an element), got {p!r}")
    if not isinstance(grad_output, Tensor) or not grad_output.is_floating_point():
        raise ValueError(f"grad_output must be a floating-point torch.Tensor, got {type(grad_output).__name__}")
    grad_output = grad_output.detach()
    if mask is None:
        return grad_output
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise ValueError(f"mask must be None or a bool tensor, got {type(mask).__name__}"
                         + (f" of dtype {mask.dtype}" if isinstance(mask, Tensor) else ""))
    if mask.shape != grad_output.shape:
        raise ValueError(f"mask has shape {tuple(mask.shape)} but grad_output has shape "
                         f"{tuple(grad_output.shape)}: they must be equal")
    if p == 1:
        return torch.zeros_like(grad_output)
    grad = grad_output * mask
    grad.mul_(1.0 / (1.0 - p))
    return grad
    ### END SOLUTION


# Task 3: Dropout
class Dropout:
    """Inverted dropout as a module: ``Dropout(p)``, in training mode when created.

    ``forward`` draws a fresh mask in training mode (and passes ``x`` through in evaluation
    mode); ``backward`` applies the mask of the latest ``forward``.

    Attributes:
        p: the drop probability given to the constructor.
        training: True in training mode (the initial mode), False in evaluation mode.
    """

    def __init__(self, p: float = 0.5) -> None:
        """Raises ValueError if ``p`` is not a number in ``[0, 1]``."""
        ### BEGIN SOLUTION
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:  # NaN fails too
            raise ValueError(f"p must be a number in [0, 1] (the probability of zeroing an element), got {p!r}")
        self.p = p
        self.training = True
        self._mask: Tensor | None = None
        ### END SOLUTION

    def train(self, mode: bool = True) -> Dropout:
        """Switch to training mode (``mode=True``) or evaluation mode (``mode=False``); return self."""
        ### BEGIN SOLUTION
        self.training = bool(mode)
        return self
        ### END SOLUTION

    def eval(self) -> Dropout:
        """Switch to evaluation mode; return self."""
        ### BEGIN SOLUTION
        return self.train(False)
        ### END SOLUTION

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``dropout_forward(x, self.p, self.training, generator)``'s output; remembers the mask.

        After a forward pass in evaluation mode the remembered mask is None.
        """
        ### BEGIN SOLUTION
        out, self._mask = dropout_forward(x, self.p, self.training, generator)
        return out
        ### END SOLUTION

    def backward(self, grad_output: Tensor) -> Tensor:
        """The gradient with respect to the latest ``forward``'s input, using that call's mask."""
        ### BEGIN SOLUTION
        return dropout_backward(grad_output, self._mask, self.p)
        ### END SOLUTION

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Same as ``forward`` (so ``layer(x)`` works)."""
        return self.forward(x, generator)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"

