# Generated from solutions/initialization/initialization.py by `autograder build-templates`: do not edit.
"""Assignment initialization: fans, gains, Xavier/Glorot and He/Kaiming initialization in PyTorch.

You implement six functions:

1. ``compute_fans``     -- fan-in and fan-out of a weight shape (linear and convolution layouts)
2. ``calculate_gain``   -- the recommended gain of a nonlinearity
3. ``xavier_uniform_``  -- Xavier/Glorot uniform initialization, in place
4. ``xavier_normal_``   -- Xavier/Glorot normal initialization, in place
5. ``kaiming_uniform_`` -- He/Kaiming uniform initialization, in place
6. ``kaiming_normal_``  -- He/Kaiming normal initialization, in place

The four initializers fill the tensor they are given *in place* and return that same tensor
object, exactly like their namesakes in ``torch.nn.init`` (which you may not use here).

Read the handout (README.md) first: it pins the conventions, how the statistical tests work,
the banned APIs and the performance budget. Fill in every `# YOUR CODE HERE`. Submit this
single file.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# Task 1: compute_fans
def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Fan-in and fan-out of a weight of shape ``shape``; = torch.nn.init's fan computation.

    The layout is ``(out_features, in_features)`` for a linear layer and
    ``(out_channels, in_channels, *kernel_size)`` for a convolution (1, 2 or 3 kernel
    dimensions). With ``receptive = prod(kernel_size)`` (1 for a linear layer):
    ``fan_in = in * receptive`` and ``fan_out = out * receptive``.

    Args:
        shape: the weight's shape, as a ``torch.Size`` (``tensor.shape``), a tuple or a
            list of non-negative ints.

    Returns:
        ``(fan_in, fan_out)``, a tuple of two Python ints.

    Raises:
        ValueError: ``shape`` has fewer than 2 dimensions (a bias vector or a scalar has
            no fan-in and fan-out), or is not a sequence of non-negative ints.
    """
    # YOUR CODE HERE
    raise NotImplementedError("initialization task 1: compute_fans")


# Task 2: calculate_gain
def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity``; = ``torch.nn.init.calculate_gain``.

    =================================================  ==========================
    nonlinearity                                       gain
    =================================================  ==========================
    ``linear``, ``conv1d``, ``conv2d``, ``conv3d``,    1
    ``conv_transpose1d/2d/3d``, ``sigmoid``
    ``tanh``                                           5/3
    ``relu``                                           sqrt(2)
    ``leaky_relu``                                     sqrt(2 / (1 + s**2))
    ``selu``                                           3/4
    =================================================  ==========================

    For ``leaky_relu`` the negative slope ``s`` is ``param``, or 0.01 when ``param`` is
    None (so ``param=0`` gives sqrt(2), like ``relu``). ``param`` is ignored for every
    other nonlinearity.

    Args:
        nonlinearity: one of the names above (exact, lower-case).
        param: the negative slope of ``leaky_relu`` (an int or float), or None.

    Returns:
        The gain as a Python float.

    Raises:
        ValueError: ``nonlinearity`` is not one of the names above, or ``param`` is not
            None, an int or a float for ``leaky_relu``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("initialization task 2: calculate_gain")


# Task 3: xavier_uniform_
def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """Fill ``tensor`` in place from U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).

    That is a uniform distribution with standard deviation
    ``std = gain * sqrt(2 / (fan_in + fan_out))`` (a uniform on [-a, a] has std a / sqrt(3)).
    Same distribution as ``torch.nn.init.xavier_uniform_``.

    Args:
        tensor: a float16, float32 or float64 tensor with at least 2 dimensions, on any
            device, laid out as ``compute_fans`` expects. It may require grad (an
            ``nn.Parameter``) and may be a view of a larger tensor.
        gain: the scaling factor (e.g. ``calculate_gain("tanh")``).
        generator: draw the random numbers from this ``torch.Generator`` (on the tensor's
            device); None uses PyTorch's global generator.

    Returns:
        ``tensor`` itself (the same object), filled in place: same shape, dtype, device
        and storage. No autograd history is recorded.

    Raises:
        ValueError: ``tensor`` has fewer than 2 dimensions.
    """
    # YOUR CODE HERE
    raise NotImplementedError("initialization task 3: xavier_uniform_")


# Task 4: xavier_normal_
def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """Fill ``tensor`` in place from N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Same distribution as ``torch.nn.init.xavier_normal_``.

    Args:
        tensor: a float16, float32 or float64 tensor with at least 2 dimensions, on any
            device (it may require grad and may be a view).
        gain: the scaling factor.
        generator: the ``torch.Generator`` to draw from; None uses the global generator.

    Returns:
        ``tensor`` itself, filled in place (same shape, dtype, device, storage); no
        autograd history.

    Raises:
        ValueError: ``tensor`` has fewer than 2 dimensions.
    """
    # YOUR CODE HERE
    raise NotImplementedError("initialization task 4: xavier_normal_")


# Task 5: kaiming_uniform_
def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Fill ``tensor`` in place from U(-bound, bound), bound = sqrt(3) * gain / sqrt(fan).

    ``gain = calculate_gain(nonlinearity, a)`` and ``fan`` is ``fan_in`` or ``fan_out``
    as ``mode`` says: a uniform distribution with standard deviation ``gain / sqrt(fan)``.
    Same distribution as ``torch.nn.init.kaiming_uniform_``.

    Args:
        tensor: a float16, float32 or float64 tensor with at least 2 dimensions, on any
            device (it may require grad and may be a view).
        a: the negative slope of the leaky ReLU that follows this layer (used only with
            ``nonlinearity="leaky_relu"``; the default 0 gives the ReLU gain sqrt(2)).
        mode: ``"fan_in"`` (preserves the variance of the activations in the forward
            pass) or ``"fan_out"`` (of the gradients in the backward pass).
        nonlinearity: a name accepted by ``calculate_gain``.
        generator: the ``torch.Generator`` to draw from; None uses the global generator.

    Returns:
        ``tensor`` itself, filled in place (same shape, dtype, device, storage); no
        autograd history.

    Raises:
        ValueError: ``tensor`` has fewer than 2 dimensions, ``mode`` is not ``"fan_in"``
            or ``"fan_out"``, or ``nonlinearity`` is unknown.
    """
    # YOUR CODE HERE
    raise NotImplementedError("initialization task 5: kaiming_uniform_")


# Task 6: kaiming_normal_
def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Fill ``tensor`` in place from N(0, std**2), std = gain / sqrt(fan).

    ``gain = calculate_gain(nonlinearity, a)``; ``fan`` is ``fan_in`` or ``fan_out`` as
    ``mode`` says. Same distribution as ``torch.nn.init.kaiming_normal_``.

    Args:
        tensor: a float16, float32 or float64 tensor with at least 2 dimensions, on any
            device (it may require grad and may be a view).
        a: the negative slope of the leaky ReLU (only with ``nonlinearity="leaky_relu"``).
        mode: ``"fan_in"`` or ``"fan_out"``.
        nonlinearity: a name accepted by ``calculate_gain``.
        generator: the ``torch.Generator`` to draw from; None uses the global generator.

    Returns:
        ``tensor`` itself, filled in place (same shape, dtype, device, storage); no
        autograd history.

    Raises:
        ValueError: ``tensor`` has fewer than 2 dimensions, ``mode`` is not ``"fan_in"``
            or ``"fan_out"``, or ``nonlinearity`` is unknown.
    """
    # YOUR CODE HERE
    raise NotImplementedError("initialization task 6: kaiming_normal_")
