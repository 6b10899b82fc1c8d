"""Interleaved timing of the student's function against a built-in yardstick.

Runs inside the worker (it is the student's code that must be timed); the trusted side
judges the samples and cross-checks them against its own clock. On the CPU a sample is
the calling thread's CPU time with one intra-op thread; on CUDA it is the elapsed time
between two events after a synchronise, with warm-up first.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Clock", "CpuClock", "CudaEventClock", "Samples", "interleave"]

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


@dataclass
class Samples:
    """Per-sample seconds of the student's call and of the yardstick, in run order."""

    student: list[float]
    yardstick: list[float]


def interleave(
    student: Callable[[], Any],
    yardstick: Callable[[], Any],
    clock: Clock,
    samples: int,
    warmup: int = 2,
) -> Samples:
    """Alternate student and yardstick calls (order flipped every sample) after warm-up."""
    _setprofile(None)
    _settrace(None)
    for _ in range(warmup):
        student()
        yardstick()
    out = Samples([], [])
    for i in range(samples):
        if i % 2 == 0:
            out.student.append(clock.measure(student))
            out.yardstick.append(clock.measure(yardstick))
        else:
            out.yardstick.append(clock.measure(yardstick))
            out.student.append(clock.measure(student))
    return out
