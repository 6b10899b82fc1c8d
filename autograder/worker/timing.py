"""Timed calls of the student's function, inside the worker.

Before each call one input element is nudged in place (so an answer cannot be memoised;
the trusted side checks the last output). The per-call samples measured here are reported
for the record only: the verdict comes from the trusted side's own clock (the worker's CPU time
read from /proc, or wall time on CUDA), so patching anything in this module gains nothing.
On the CPU a sample is the calling thread's CPU time; on CUDA, CUDA events after a
synchronise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Clock", "CpuClock", "CudaEventClock", "fix_allocator", "perturbation", "run"]

# Captured at import, before any student code runs in this process.
_thread_time_ns = time.thread_time_ns
_setprofile = sys.setprofile
_settrace = sys.settrace


class Clock(Protocol):
    """Measures one call and returns its duration in seconds."""

    def measure(self, fn: Callable[[], Any]) -> float: ...


class CpuClock:
    """The calling thread's CPU time (robust to the other core being busy)."""

    def measure(self, fn: Callable[[], Any]) -> float:
        start = _thread_time_ns()
        fn()
        return (_thread_time_ns() - start) * 1e-9


class CudaEventClock:
    """CUDA events around the call, synchronised; ``cuda`` is ``torch.cuda`` (or a fake in tests)."""

    def __init__(self, cuda: Any) -> None:
        self.cuda = cuda

    def measure(self, fn: Callable[[], Any]) -> float:
        start = self.cuda.Event(enable_timing=True)
        end = self.cuda.Event(enable_timing=True)
        self.cuda.synchronize()
        start.record()
        fn()
        end.record()
        self.cuda.synchronize()
        return float(start.elapsed_time(end)) * 1e-3


STRIDE = 64
NUDGE = 0.1


def perturbation(args: list[Any], view: Callable[..., Any], add_: Callable[..., Any]) -> Callable[[int], None] | None:
    """Before call ``i``, nudge every 64th element (offset ``i % 64``) of the first float tensor, in place.

    About 1.5% of one pass over the data per call; the contents (and the tensor's version
    counter) differ at every call, so a result cannot be memoised, and the change is large
    enough to show in a reduced output. The sign alternates per visit, so values stay within
    ``NUDGE`` of the original. The trusted side replays the same nudges to check the output of
    the last call. ``view`` and ``add_`` are torch's originals, captured before student code.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    for value in args:
        if type(value) is torch.Tensor and value.is_floating_point() and value.numel() and value.is_contiguous():
            flat = view(value, -1)

            def nudge(i: int, flat: Any = flat) -> None:
                add_(flat[i % STRIDE :: STRIDE], NUDGE if (i // STRIDE) % 2 == 0 else -NUDGE)

            return nudge
    return None


def run(target: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], calls: int, clock: Clock,
        nudge: Callable[[int], None] | None, reset_hooks: bool = True) -> tuple[list[float], Any]:
    """Call ``target`` ``calls`` times, nudging the inputs before each call; seconds per call and the last output.

    ``reset_hooks`` clears profile and trace hooks first (in the worker, where the
    student may have set one to slow things down).
    """
    if reset_hooks:
        _setprofile(None)
        _settrace(None)
    samples: list[float] = []
    box: list[Any] = [None]
    for i in range(calls):
        if nudge is not None:
            nudge(i)
        samples.append(clock.measure(lambda: box.__setitem__(0, target(*args, **kwargs))))
    return samples, box[0]


def fix_allocator() -> bool:
    """Fixed glibc allocator settings, the same in the grader and the worker (fair timing, low memory).

    A fixed mmap threshold stops glibc from raising it after large frees, so big buffers are
    mapped and returned to the system on free instead of piling up in the heap.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 128 * 1024) == 1
        return ok and libc.mallopt(m_trim_threshold, 128 * 1024) == 1
    except (OSError, AttributeError):
        return False
