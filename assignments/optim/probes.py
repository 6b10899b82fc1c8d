"""Trusted code that runs beside the student's module in the worker (optim).

Optimizer objects cannot cross the wire, so the tests send plain data (initial parameters,
the gradients of every step, hyperparameters, a schedule of changes) and these probes build
the student's optimizer, drive it and return what they saw as plain data. They drive the
optimizer only: no update rule is written here. Loaded before the student's module, so the
yardsticks below are PyTorch's own optimizers, captured before any student code could patch
them; they run in the grader's process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

_Adam = torch.optim.Adam
_SGD = torch.optim.SGD
_cat = torch.cat
_stack = torch.stack
_equal = torch.equal


# --------------------------------------------------------------------------- correctness probes

def _apply(opt: Any, changes: dict[str, Any]) -> None:
    """Set public hyperparameters between steps (``opt.lr = 0.01``); tuples arrive as lists."""
    for name, value in changes.items():
        setattr(opt, name, tuple(value) if isinstance(value, list) else value)


def trajectory(module: Any, optimizer: str, params: list[torch.Tensor], grads: list[torch.Tensor],
               hyper: dict[str, Any], skip: list[list[bool]] | None = None,
               schedule: dict[str, dict[str, Any]] | None = None, requires_grad: bool = False,
               as_iterator: bool = False) -> dict[str, Any]:
    """Run ``module.<optimizer>(params, **hyper)`` for ``len(grads[0])`` steps and watch it.

    ``grads[i][t]`` is parameter ``i``'s gradient at step ``t``; ``skip[t][i]`` makes it None.
    ``schedule[str(t)]`` holds attribute changes applied just before step ``t``.
    Returns each parameter's values after every step (the original tensor objects), and the
    first step (or -1) at which a parameter changed storage, a gradient was modified or
    replaced, or a parameter gained autograd history; and the first step (or -1) whose
    gradient was changed afterwards, by a later step.
    """
    originals = list(params)
    flags = [p.requires_grad for p in originals]
    if requires_grad:
        for p in originals:
            p.requires_grad_(True)
        flags = [True] * len(originals)
    pointers = [p.data_ptr() for p in originals]
    opt = getattr(module, optimizer)(iter(originals) if as_iterator else originals, **hyper)
    steps = grads[0].shape[0]
    records: list[list[torch.Tensor]] = [[] for _ in originals]
    moved = touched = history = -1
    kept: list[list[torch.Tensor | None]] = []  # every gradient given, checked again after the last step
    for t in range(steps):
        _apply(opt, (schedule or {}).get(str(t), {}))
        given: list[torch.Tensor | None] = []
        for i, p in enumerate(originals):
            g = None if skip is not None and skip[t][i] else grads[i][t].clone()
            p.grad = g
            given.append(g)
        opt.step()
        for i, p in enumerate(originals):
            records[i].append(p.detach().clone())
            g = given[i]
            if touched < 0 and (p.grad is not g or (g is not None and not _equal(g, grads[i][t]))):
                touched = t
            if moved < 0 and p.data_ptr() != pointers[i]:
                moved = t
            if history < 0 and (p.grad_fn is not None or p.requires_grad != flags[i]):
                history = t
        kept.append(given)
    return {
        "trajectory": [_stack(r) for r in records],
        "storage_changed_at": moved,
        "grad_modified_at": touched,
        "history_at": history,
        "old_grad_modified_at": _first_changed(kept, grads),
    }


def _first_changed(given: list[list[torch.Tensor | None]], grads: list[torch.Tensor]) -> int:
    """The first step whose gradient tensors no longer hold what they held then (-1 if none): a later
    step wrote into them (e.g. a momentum buffer that is the first gradient itself, not a copy)."""
    for t, step_grads in enumerate(given):
        for i, g in enumerate(step_grads):
            if g is not None and not _equal(g, grads[i][t]):
                return t
    return -1


def state_layout(module: Any, optimizer: str, params: list[torch.Tensor], hyper: dict[str, Any]) -> dict[str, Any]:
    """Build the optimizer from a tuple, take two steps (parameter 1 has no gradient at the first).

    Returns the type of ``opt.params`` and whether it holds the given tensors in order, and
    after construction and after each step the type of ``opt.state``, its keys as indices of
    the parameters (-1: anything else) and whether every value is a dict.
    """
    opt = getattr(module, optimizer)(tuple(params), **hyper)
    kept = opt.params
    report: dict[str, Any] = {
        "params_type": type(kept).__name__,
        "same_tensors": type(kept) is list and len(kept) == len(params) and all(a is b for a, b in zip(kept, params)),
        "state": [_state_of(opt, params)],
    }
    for t in range(2):
        for i, p in enumerate(params):
            p.grad = None if t == 0 and i == 1 else torch.ones_like(p)
        opt.step()
        report["state"].append(_state_of(opt, params))
    return report


def _state_of(opt: Any, params: list[torch.Tensor]) -> dict[str, Any]:
    state = getattr(opt, "state", None)
    if type(state) is not dict:
        return {"type": type(state).__name__, "keys": [], "values_are_dicts": False}
    keys = [next((i for i, p in enumerate(params) if k is p), -1) for k in state]
    return {"type": "dict", "keys": keys, "values_are_dicts": all(type(v) is dict for v in state.values())}


def zero_grad(module: Any, optimizer: str, params: list[torch.Tensor], hyper: dict[str, Any],
              steps: int = 1) -> list[bool]:
    """Give every parameter a gradient, step ``steps`` times, call ``zero_grad()``: which grads are None?"""
    opt = getattr(module, optimizer)(params, **hyper)
    for _ in range(steps):
        for p in params:
            p.grad = torch.ones_like(p)
        opt.step()
    opt.zero_grad()
    return [p.grad is None for p in params]


def minimize(module: Any, optimizer: str, problem: str, x0: torch.Tensor, hyper: dict[str, Any], steps: int,
             matrix: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Minimize a test function with the student's optimizer; the iterates and losses.

    ``rosenbrock``: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2. ``quadratic``: f(x) = x^T A x / 2
    with ``matrix`` A. Gradients are computed here, analytically; the optimizer only steps.
    """
    x = x0.clone()
    opt = getattr(module, optimizer)([x], **hyper)
    path, losses = [], []
    for _ in range(steps):
        loss, grad = _objective(problem, x, matrix)
        losses.append(loss)
        x.grad = grad
        opt.step()
        path.append(x.detach().clone())
    return {"path": _stack(path), "losses": _stack(losses)}


def _objective(problem: str, x: torch.Tensor, matrix: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss and its gradient at ``x``."""
    if problem == "rosenbrock":
        a, b = x[0], x[1]
        loss = (1 - a) ** 2 + 100 * (b - a * a) ** 2
        grad = _stack([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
        return loss, grad
    if problem == "quadratic" and matrix is not None:
        grad = matrix @ x
        return 0.5 * (x @ grad), grad
    raise LookupError(f"grader bug: unknown problem {problem!r}")


# --------------------------------------------------------------------------- performance probes

def _params(param_pool: torch.Tensor, layout: list[list[Any]]) -> list[torch.Tensor]:
    """Fresh parameters: a copy of a window of the pool for each (shape, offset) of the layout."""
    out = []
    for shape, offset in layout:
        n = 1
        for s in shape:
            n *= s
        out.append(param_pool[offset:offset + n].view(shape).clone())
    return out


def _set_grads(params: list[torch.Tensor], grad_pool: torch.Tensor, layout: list[list[Any]], step: int,
               shift: int = 17) -> None:
    """Gradients as views of the pool, a different window at each step (no extra memory)."""
    for p, (_, offset) in zip(params, layout):
        start = offset + step * shift
        p.grad = grad_pool[start:start + p.numel()].view(p.shape)


def _timed_steps(make: Callable[..., Any], grad_pool: torch.Tensor, param_pool: torch.Tensor,
                 layout: list[list[Any]], hyper: dict[str, Any], steps: int = 2, stride: int = 61) -> torch.Tensor:
    """Build the optimizer on fresh parameters, take ``steps`` steps, return a strided sample of the result.

    ``grad_pool`` comes first, so the timing harness nudges it before every call: every step
    sees new gradients, and the sample (about 1/``stride`` of every parameter) shows it.
    """
    params = _params(param_pool, layout)
    opt = make(params, **hyper)
    for step in range(steps):
        _set_grads(params, grad_pool, layout, step)
        opt.step()
    return _cat([p.detach().reshape(-1)[i % stride::stride] for i, p in enumerate(params)])


def adam_step(module: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
    """The student's Adam on the timing workload (see ``_timed_steps``)."""
    return _timed_steps(module.Adam, *args, **kwargs)


def sgd_step(module: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
    """The student's SGD on the timing workload (see ``_timed_steps``)."""
    return _timed_steps(module.SGD, *args, **kwargs)


def _status_bytes(field: str) -> int:
    """A ``kB`` field of /proc/self/status, in bytes (-1 when unavailable)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return -1


def _reset_peak() -> bool:
    """Reset this process's peak resident size (VmHWM) to its current size (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def step_memory(module: Any, optimizer: str, grad_pool: torch.Tensor, param_pool: torch.Tensor,
                layout: list[list[Any]], hyper: dict[str, Any]) -> dict[str, Any]:
    """Peak extra memory of one steady-state ``step()`` (the second), in bytes.

    On the CPU the process's peak resident size is reset just before the step and read after
    it; the extra is that peak minus the resident size before the step (state created at the
    first step is not counted). Large tensors are mapped and unmapped by the allocator (fixed
    mmap threshold), so the resident size follows the live tensors. On CUDA the caching
    allocator's peak of allocated bytes is used the same way.
    """
    params = _params(param_pool, layout)
    opt = getattr(module, optimizer)(params, **hyper)
    _set_grads(params, grad_pool, layout, 0)
    opt.step()
    _set_grads(params, grad_pool, layout, 1)
    if param_pool.is_cuda:  # device memory, from the caching allocator's own statistics
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        opt.step()
        torch.cuda.synchronize()
        return {"measured": True, "extra_bytes": torch.cuda.max_memory_allocated() - before}
    before = _status_bytes("VmRSS")
    measured = _reset_peak() and before > 0
    opt.step()
    peak = _status_bytes("VmHWM")
    measured = measured and peak > 0
    return {"measured": measured, "extra_bytes": max(peak - before, 0) if measured else -1}


def _torch_adam(params: list[torch.Tensor], **hyper: Any) -> Any:
    return _Adam(params, foreach=True, **hyper)


def _torch_sgd(params: list[torch.Tensor], **hyper: Any) -> Any:
    return _SGD(params, foreach=True, **hyper)


YARDSTICKS = {
    "adam_step": functools.partial(_timed_steps, _torch_adam),
    "sgd_step": functools.partial(_timed_steps, _torch_sgd),
}
