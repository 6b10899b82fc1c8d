"""Trusted code that runs beside the student's module in the worker (dropout).

Loaded before the student's module, so the yardstick's PyTorch functions below are captured
before any student code could patch them. Probes drive the student's functions and the
``Dropout`` class (which cannot cross the wire) and return plain data: tensors, numbers,
booleans. They reveal inputs, never answers.
"""

from __future__ import annotations

import torch

_native_dropout = torch.native_dropout
_native_dropout_backward = torch.ops.aten.native_dropout_backward
_manual_seed = torch.manual_seed
_stack = torch.stack

SUMMARY_STRIDE = 7
"""The timed step's summary reads every 7th element: coprime with the timing nudge's stride (64),
so it sees nudged elements at every call, at a seventh of the cost of a full pass."""
KEPT_FRACTION_SLACK = 0.02
"""The summary's kept fraction must lie within this of 1 - p. Over the >= 100000 elements it reads,
Hoeffding's inequality bounds a correct implementation's chance of missing it by 2 exp(-80)."""


# --------------------------------------------------------------------------- functions

def seeded_forward(module, x, p, global_seed, generator=None):
    """Seed PyTorch's global generator, then ``dropout_forward(x, p, generator=generator)``."""
    _manual_seed(global_seed)
    return module.dropout_forward(x, p, generator=generator)


def repeated_masks(module, x, p, calls, global_seed, generator=None):
    """Seed the global generator, call ``dropout_forward(x, p, generator=generator)`` ``calls``
    times and return the masks stacked: shape ``(calls, *x.shape)``."""
    _manual_seed(global_seed)
    return _stack([module.dropout_forward(x, p, generator=generator)[1] for _ in range(calls)])


def _step_summary(x, p, out, mask, grad):
    """Three numbers that do not depend on which elements were dropped (0, 0, 1 when correct).

    With the upstream gradient equal to ``x``, a correct backward returns exactly the forward
    output. On a strided subset of the elements: the largest |out * (1 - p) - x * mask|, the
    largest |grad - out|, and 1.0 if the kept fraction is within KEPT_FRACTION_SLACK of 1 - p.
    """
    xs, outs = x.reshape(-1)[::SUMMARY_STRIDE], out.reshape(-1)[::SUMMARY_STRIDE]
    masks, grads = mask.reshape(-1)[::SUMMARY_STRIDE], grad.reshape(-1)[::SUMMARY_STRIDE]
    forward_gap = (outs * (1.0 - p) - xs * masks).abs().max()
    backward_gap = (grads - outs).abs().max()
    kept = masks.sum() / masks.numel()
    in_band = ((kept - (1.0 - p)).abs() <= KEPT_FRACTION_SLACK).to(x.dtype)
    return _stack([forward_gap.to(x.dtype), backward_gap.to(x.dtype), in_band])


def dropout_step(module, x, p):
    """The student's forward then backward (upstream gradient = x), summarised (see _step_summary)."""
    out, mask = module.dropout_forward(x, p)
    grad = module.dropout_backward(x, mask, p)
    return _step_summary(x, p, out, mask, grad)


# --------------------------------------------------------------------------- the Dropout class

def _attribute(layer, name):
    """``layer.<name>``, or the string ``"<missing>"``."""
    return getattr(layer, name, "<missing>")


def dropout_module(module, p, steps):
    """Build ``Dropout(p)`` (``Dropout()`` when p is None), run ``steps`` and log what each one gave.

    A step is ``["train"]``, ``["train", mode]``, ``["eval"]``, ``["forward", x]``,
    ``["forward", x, generator]`` or ``["backward", grad_output]``. The log starts with the new
    layer's ``p`` and ``training``; then one dict per step: ``returned_self`` (``train``/``eval``
    returned the layer itself) and ``training`` after the step, ``out`` of a forward, ``grad``
    of a backward, and ``input``: the tensor a forward or backward was given, as it is after the
    call (to check that the layer left it unchanged).
    """
    layer = module.Dropout() if p is None else module.Dropout(p)
    log = [{"p": _attribute(layer, "p"), "training": _attribute(layer, "training")}]
    for name, *args in steps:
        if name in ("train", "eval"):
            returned = layer.train(*args) if name == "train" else layer.eval()
            log.append({"returned_self": returned is layer, "training": _attribute(layer, "training")})
        elif name == "forward":
            out = layer.forward(args[0]) if len(args) == 1 else layer.forward(args[0], generator=args[1])
            log.append({"out": out, "training": _attribute(layer, "training"), "input": args[0]})
        elif name == "backward":
            log.append({"grad": layer.backward(args[0]), "input": args[0]})
        else:
            raise LookupError(f"grader bug: unknown Dropout step {name!r}")
    return log


# --------------------------------------------------------------------------- yardsticks (trusted process)

def _native_step(x, p):
    """PyTorch's own dropout kernels, forward then backward, summarised like ``dropout_step``."""
    out, mask = _native_dropout(x, p, True)
    grad = _native_dropout_backward(x, mask, 1.0 / (1.0 - p))
    return _step_summary(x, p, out, mask, grad)


YARDSTICKS = {
    "dropout_step": _native_step,
}
