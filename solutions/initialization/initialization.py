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
    ### BEGIN SOLUTION
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise ValueError(f"shape must be a torch.Size, tuple or list of ints, got {type(shape).__name__}")
    dims = []
    for d in shape:
        if isinstance(d, bool) or not hasattr(d, "__index__") or d.__index__() < 0:
            raise ValueError(f"shape must contain non-negative ints, got {tuple(shape)!r}")
        dims.append(d.__index__())
    if len(dims) < 2:
        raise ValueError(
            f"shape must have at least 2 dimensions (out, in, *kernel) to have a fan-in and "
            f"fan-out, got {tuple(dims)}"
        )
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    linear = (
        "linear", "conv1d", "conv2d", "conv3d",
        "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid",
    )
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"param must be the negative slope of leaky_relu (a number), got {param!r}")
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(
        f"nonlinearity {nonlinearity!r} is not supported; use one of linear, conv1d, conv2d, "
        "conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, "
        "leaky_relu or selu"
    )
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    if not isinstance(tensor, Tensor):
        raise ValueError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    fan_in, fan_out = compute_fans(tensor.shape)
    if tensor.numel() == 0:
        return tensor
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=generator)
    return tensor
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    if not isinstance(tensor, Tensor):
        raise ValueError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    fan_in, fan_out = compute_fans(tensor.shape)
    if tensor.numel() == 0:
        return tensor
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.normal_(0.0, std, generator=generator)
    return tensor
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    if not isinstance(tensor, Tensor):
        raise ValueError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = compute_fans(tensor.shape)
    gain = calculate_gain(nonlinearity, a)
    if tensor.numel() == 0:
        return tensor
    fan = fan_in if mode == "fan_in" else fan_out
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=generator)
    return tensor
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    if not isinstance(tensor, Tensor):
        raise ValueError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = compute_fans(tensor.shape)
    gain = calculate_gain(nonlinearity, a)
    if tensor.numel() == 0:
        return tensor
    std = gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    with torch.no_grad():
        tensor.normal_(0.0, std, generator=generator)
    return tensor
    ### END SOLUTION
