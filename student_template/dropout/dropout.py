# Generated from solutions/dropout/dropout.py by `autograder build-templates`: do not edit.
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
    # YOUR CODE HERE
    raise NotImplementedError("dropout task 1: dropout_forward")


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
    # YOUR CODE HERE
    raise NotImplementedError("dropout task 2: dropout_backward")


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
        # YOUR CODE HERE
        raise NotImplementedError("dropout task 3: Dropout")

    def train(self, mode: bool = True) -> Dropout:
        """Switch to training mode (``mode=True``) or evaluation mode (``mode=False``); return self."""
        # YOUR CODE HERE
        raise NotImplementedError("dropout task 3: Dropout")

    def eval(self) -> Dropout:
        """Switch to evaluation mode; return self."""
        # YOUR CODE HERE
        raise NotImplementedError("dropout task 3: Dropout")

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``dropout_forward(x, self.p, self.training, generator)``'s output; remembers the mask.

        After a forward pass in evaluation mode the remembered mask is None.
        """
        # YOUR CODE HERE
        raise NotImplementedError("dropout task 3: Dropout")

    def backward(self, grad_output: Tensor) -> Tensor:
        """The gradient with respect to the latest ``forward``'s input, using that call's mask."""
        # YOUR CODE HERE
        raise NotImplementedError("dropout task 3: Dropout")

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Same as ``forward`` (so ``layer(x)`` works)."""
        return self.forward(x, generator)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"

