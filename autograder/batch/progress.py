"""Progress of a batch: a one-line bar on a terminal, plain lines otherwise.

The bar shows done / total, failures (grader errors and unreadable submissions) and an
ETA from this run's own pace. Off a terminal (a log file, CI), each finished submission
is one line with the same counts, so nothing relies on carriage returns.
"""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress", "format_duration"]

BAR_WIDTH = 24


def format_duration(seconds: float) -> str:
    """``75`` -> ``1m15s``; ``3700`` -> ``1h01m``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Counts finished submissions and reports them to ``stream``."""

    def __init__(self, total: int, already_done: int, stream: TextIO, tty: bool | None = None) -> None:
        self.total = total
        self.done = already_done
        self.failures = 0
        self._started_with = already_done
        self._t0 = time.monotonic()
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty

    def eta(self) -> float | None:
        """Seconds left at this run's pace so far, None before the first result."""
        finished = self.done - self._started_with
        if finished <= 0:
            return None
        return (time.monotonic() - self._t0) / finished * (self.total - self.done)

    def counts(self) -> str:
        eta = self.eta()
        left = "" if self.done >= self.total else f", ETA {format_duration(eta) if eta is not None else '?'}"
        return f"{self.done}/{self.total} done, {self.failures} failure{'s' * (self.failures != 1)}{left}"

    def start(self) -> None:
        if self._tty:
            self._draw()

    def update(self, line: str, failed: bool) -> None:
        """One submission finished: ``line`` says which and how it went."""
        self.done += 1
        self.failures += failed
        if self._tty:
            if failed:
                self._stream.write("\r\033[K" + line + "\n")
            self._draw()
        else:
            self._stream.write(f"[{self.counts()}] {line}\n")
        self._stream.flush()

    def note(self, line: str) -> None:
        """A line that is not a submission's result (e.g. an interrupt)."""
        self._stream.write(("\r\033[K" if self._tty else "") + line + "\n")
        self._stream.flush()

    def finish(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        filled = BAR_WIDTH * self.done // max(1, self.total)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self._stream.write(f"\r\033[Kgrading [{bar}] {self.counts()}")
        self._stream.flush()
