"""Trusted code that runs beside the student's module in the worker (initialization).

Loaded before the student's module: the torch functions used here are captured at import,
before any student code could patch them. The initializers fill a tensor in place, which
only the worker can observe (object identity and storage do not cross the wire), so these
probes call the student's function and return plain data: whether it returned the same
object, whether the storage stayed the same, and the filled tensor itself. Every statistic
is computed on the trusted side from the returned values. Probes reveal inputs, never
answers; the yardstick is PyTorch's own ``torch.nn.init.kaiming_normal_``.
"""

from __future__ import annotations

import torch
import torch.nn.init

_kaiming_normal_ = torch.nn.init.kaiming_normal_
_manual_seed = torch.manual_seed
_data_ptr = torch.Tensor.data_ptr
_clone = torch.Tensor.clone
_fill_ = torch.Tensor.fill_
_view = torch.Tensor.view
_numel = torch.Tensor.numel
_to = torch.Tensor.to
_dot = torch.dot
_sum = torch.sum
_div = torch.div
_mul = torch.mul
_sqrt = torch.sqrt
_stack = torch.stack
_tensor = torch.tensor
_size = torch.Size


def _initializer(module, fn: str):
    """The student's initializer ``fn`` (one of the four ``*_`` functions)."""
    if fn not in ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"):
        raise LookupError(f"grader bug: {fn!r} is not an initializer of this assignment")
    return getattr(module, fn)


def fill(module, fn: str, tensor, global_seed: int, **kwargs):
    """Seed the global RNG, call ``fn(tensor, **kwargs)``; report what it did to ``tensor``."""
    _manual_seed(global_seed)
    before = _data_ptr(tensor)
    out = _initializer(module, fn)(tensor, **kwargs)
    return {"same_object": out is tensor, "same_storage": _data_ptr(tensor) == before, "tensor": tensor}


def fill_view(module, fn: str, base, columns: int, global_seed: int, **kwargs):
    """Fill the (non-contiguous) view ``base[:, :columns]``; return the whole base tensor."""
    _manual_seed(global_seed)
    view = base[:, :columns]
    out = _initializer(module, fn)(view, **kwargs)
    return {"same_object": out is view, "base": base}


def fill_each(module, fn: str, template, count: int, global_seed: int, **kwargs):
    """``count`` fresh copies of ``template``, each filled by one call of ``fn`` (e.g. the layers of an MLP)."""
    _manual_seed(global_seed)
    out = []
    for _ in range(count):
        t = _clone(template)
        _initializer(module, fn)(t, **kwargs)
        out.append(t)
    return out


def generator_runs(module, fn: str, template, runs: list, **kwargs):
    """Fill a fresh copy of ``template`` once per run; return the filled copies.

    Each run is a dict: ``global_seed`` (the global RNG is seeded with it first),
    ``generator`` (a torch.Generator passed as ``generator=``, or None to pass none) and
    ``again`` (True: pass the previous run's generator object again, continuing its stream).
    """
    out, previous = [], None
    for run in runs:
        _manual_seed(run["global_seed"])
        generator = previous if run.get("again") else run.get("generator")
        t = _clone(template)
        if generator is None:
            _initializer(module, fn)(t, **kwargs)
        else:
            _initializer(module, fn)(t, generator=generator, **kwargs)
        out.append(t)
        previous = generator
    return out


def fans_of_size(module, dims: list):
    """``compute_fans`` called with a real ``torch.Size`` (what ``tensor.shape`` is)."""
    return module.compute_fans(_size(dims))


def _summary(tensor, same_object: bool):
    """(RMS, mean / (100 RMS), same object) as float16: a random fill's fingerprint, in two cheap passes.

    Two correct fills of the same large tensor agree on these far within float16's tolerance
    (see the performance test); an unfilled (NaN) tensor, a wrong scale, a one-sided fill or a
    new tensor do not.
    """
    flat = _view(tensor, -1)
    n = _numel(flat)
    rms = _sqrt(_div(_to(_dot(flat, flat), torch.float64), n))
    centre = _div(_div(_to(_sum(flat), torch.float64), n), _mul(rms, 100))
    same = _tensor(float(same_object), dtype=torch.float64, device=rms.device)
    return _to(_stack([rms, centre, same]), torch.float16)


def kaiming_normal_timed(module, tensor, **kwargs):
    """The timed unit: blank ``tensor`` (NaN), fill it with the student's kaiming_normal_, fingerprint it."""
    _fill_(tensor, float("nan"))
    out = module.kaiming_normal_(tensor, **kwargs)
    return _summary(tensor, out is tensor)


def _kaiming_normal_yardstick(tensor, **kwargs):
    """The same unit with PyTorch's built-in (run by the grader, never beside student code)."""
    _fill_(tensor, float("nan"))
    out = _kaiming_normal_(tensor, **kwargs)
    return _summary(tensor, out is tensor)


YARDSTICKS = {
    "kaiming_normal_": _kaiming_normal_yardstick,
}
