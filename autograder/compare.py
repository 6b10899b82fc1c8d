"""Trusted-side comparisons with messages written for the student.

Every check names what was checked and on what kind of input, and ends with a hint.
In hidden tests (``reveal`` off) messages never show an expected value: they give the
count and position of the wrong elements and the student's own value there.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from .errors import CheckFailed
from .worker.protocol import Opaque, origin_of

__all__ = [
    "DEFAULT_TOLERANCES",
    "describe",
    "expect_close",
    "expect_equal",
    "expect_names",
    "expect_no_history",
    "expect_unchanged",
    "fail",
    "reveal_expected",
]

DEFAULT_TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (2e-2, 1e-2),
    torch.float32: (1e-4, 1e-5),
    torch.float64: (1e-7, 1e-10),
}

_reveal: contextvars.ContextVar[bool] = contextvars.ContextVar("reveal", default=True)
_device: contextvars.ContextVar[str] = contextvars.ContextVar("device", default="cpu")


@contextmanager
def reveal_expected(reveal: bool, device: str = "cpu") -> Iterator[None]:
    """Within the block, messages may (public) or may not (hidden) show expected values."""
    t1, t2 = _reveal.set(reveal), _device.set(device)
    try:
        yield
    finally:
        _reveal.reset(t1)
        _device.reset(t2)


def fail(what: str, problem: str, hint: str = "") -> None:
    """Raise the student-facing failure ``<what>: <problem>``."""
    raise CheckFailed(f"{what}: {problem}", hint)


def expect_names(message: str, names: tuple[str, ...], what: str) -> None:
    """A ValueError's ``message`` names the offending argument: one of ``names``, as a whole word, in any case.

    The handouts' rule for every error a student raises; ``names`` may add the argument's
    spelling in words (``("grad_output", "grad output")``).
    """
    if not any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message, re.IGNORECASE)
               for name in names):
        fail(what, f"raised ValueError({message!r}), a message that does not name the offending argument",
             f"say which argument is wrong, e.g. ValueError(f\"{names[0]} must ..., got ...\").")


def describe(value: Any) -> str:
    """A short description of an input that reveals its kind, never its values."""
    if isinstance(value, torch.Tensor):
        shape = "x".join(str(s) for s in value.shape) or "scalar"
        return f"<{shape} {str(value.dtype).removeprefix('torch.')} tensor>"
    if isinstance(value, np.ndarray):
        return f"<{'x'.join(map(str, value.shape)) or 'scalar'} {value.dtype} array>"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"<{type(value).__name__} of {len(value)}>"
    if isinstance(value, (int, float, str, bool, type(None), tuple, list)):
        return repr(value)
    return f"<{type(value).__name__}>"


def _kind(value: Any) -> str:
    """What the student returned, in words."""
    if isinstance(value, Opaque):
        return f"an object of type {value.type_name} (only a plain torch.Tensor counts)"
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"a {describe(value)[1:-1]}"
    return f"a value of type {type(value).__name__}"


def expect_close(
    actual: Any,
    expected: torch.Tensor,
    *,
    what: str,
    hint: str = "",
    rtol: float | None = None,
    atol: float | None = None,
    check_device: bool = True,
) -> None:
    """``actual`` is a plain tensor of ``expected``'s shape, dtype and device, and close to it.

    For a NumPy ``expected`` (NumPy assignments), ``actual`` must be a plain ``np.ndarray`` of
    its shape and dtype, compared with the same rules.
    """
    if type(expected) is np.ndarray:
        _array_close(actual, expected, what, hint, rtol, atol)
        return
    if type(actual) is not torch.Tensor:
        fail(what, f"expected a torch.Tensor, got {_kind(actual)}", hint)
    if tuple(actual.shape) != tuple(expected.shape):
        fail(what, f"returned shape {tuple(actual.shape)}, expected {tuple(expected.shape)}", hint)
    if actual.dtype != expected.dtype:
        dt = str(expected.dtype).removeprefix("torch.")
        fail(what, f"returned dtype {str(actual.dtype).removeprefix('torch.')}, expected {dt} "
             "(the result keeps its input's dtype)", hint)
    origin = origin_of(actual)
    if check_device and origin is not None and origin.device != _device.get():
        fail(what, f"returned a tensor on {origin.device}, expected {_device.get()} "
             "(the result stays on its input's device)", hint)
    default_rtol, default_atol = DEFAULT_TOLERANCES.get(expected.dtype, (0.0, 0.0))
    _values_close(actual, expected, what, hint,
                  default_rtol if rtol is None else rtol, default_atol if atol is None else atol)


def _array_close(actual: Any, expected: np.ndarray, what: str, hint: str, rtol: float | None,
                 atol: float | None) -> None:
    """``expect_close`` for NumPy results: a plain ndarray of ``expected``'s shape and dtype, close to it."""
    if type(actual) is not np.ndarray:
        fail(what, f"expected a NumPy array, got {_kind(actual)}", hint)
    if actual.shape != expected.shape:
        fail(what, f"returned shape {actual.shape}, expected {expected.shape}", hint)
    if actual.dtype != expected.dtype:
        fail(what, f"returned dtype {actual.dtype}, expected {expected.dtype}", hint)
    dtype = getattr(torch, str(expected.dtype), None)
    default_rtol, default_atol = (0.0, 0.0)
    if isinstance(dtype, torch.dtype):
        default_rtol, default_atol = DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0))
    _values_close(torch.from_numpy(np.array(actual, dtype=np.float64)),
                  torch.from_numpy(np.array(expected, dtype=np.float64)), what, hint,
                  default_rtol if rtol is None else rtol, default_atol if atol is None else atol)


def _values_close(actual: torch.Tensor, expected: torch.Tensor, what: str, hint: str,
                  rtol: float, atol: float) -> None:
    """Element-wise closeness, with NaN and infinities matched by position."""
    a = actual.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    e_nan, a_nan = torch.isnan(e), torch.isnan(a)
    e_fin, a_fin = torch.isfinite(e), torch.isfinite(a)
    bad_nonfinite = (a_nan & ~e_nan) | (~a_fin & e_fin)
    if bool(bad_nonfinite.any()):
        idx = _first(bad_nonfinite)
        fail(what, f"contains NaN or infinity where a finite value is expected ({int(bad_nonfinite.sum())} "
             f"element(s), first at index {idx}: your value {a[idx].item()!r})", hint)
    inf_mismatch = (~e_fin & ~e_nan) & (a != e)
    close = (a - e).abs() <= atol + rtol * e.abs()
    wrong = (e_fin & ~close) | inf_mismatch | (e_nan & ~a_nan)
    if bool(wrong.any()):
        idx = _first(wrong)
        there = f"your value {a[idx].item():.6g}"
        if _reveal.get():
            there += f", expected {e[idx].item():.6g}"
        fail(what, f"{int(wrong.sum())} of {wrong.numel()} element(s) are wrong beyond rtol={rtol:g}, "
             f"atol={atol:g}; first at index {idx} ({there})", hint)


def _first(mask: torch.Tensor) -> tuple[int, ...]:
    """Index of the first True element of a boolean mask."""
    return tuple(int(i) for i in mask.nonzero()[0])


def expect_equal(actual: Any, expected: Any, *, what: str, hint: str = "") -> None:
    """Exact equality of plain values (exact types: a subclass that claims equality fails)."""
    if type(actual) is not type(expected) or actual != expected:
        shown = f", expected {expected!r}" if _reveal.get() else ""
        fail(what, f"got {actual!r}{shown}" if not isinstance(actual, Opaque) else f"got {_kind(actual)}", hint)


def expect_unchanged(before: list[Any], after: list[Any] | None, *, what: str) -> None:
    """The call left every tensor argument exactly as it was."""
    if after is None or len(after) != len(before):
        fail(what, "the grader could not read your function's arguments back")
    assert after is not None
    for i, (b, a) in enumerate(zip(before, after)):
        if isinstance(b, torch.Tensor):
            same = type(a) is torch.Tensor and a.shape == b.shape and a.dtype == b.dtype and bool(
                torch.equal(torch.nan_to_num(a, 1.5, 2.5, 3.5), torch.nan_to_num(b, 1.5, 2.5, 3.5))
                and torch.equal(torch.isnan(a), torch.isnan(b)))
            if not same:
                fail(what, f"modified its input argument {i} in place",
                     "never write into your inputs: use out-of-place operations (x - m, not x -= m).")


def expect_no_history(actual: Any, *, what: str) -> None:
    """The result carries no autograd history."""
    origin = origin_of(actual)
    if origin is not None and (origin.requires_grad or origin.has_grad_fn):
        fail(what, "returned a tensor that records autograd history (requires_grad=True)",
             "compute under torch.no_grad() or on detached inputs.")
