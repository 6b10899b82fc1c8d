"""Which lines of the student's file ran: a line tracer for ``autograder mutants`` only.

The mutants command traces the reference once, to learn which tests can reach each line, and
then grades a mutant with only the tests that reach its mutated statement. Grading a student
never turns this on. The tracer watches frames of one file only, so other code pays one
filename comparison per call.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any

__all__ = ["LineTracer"]


class LineTracer:
    """Records the line numbers of one file as they run; ``take`` hands them over and starts afresh."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: set[int] = set()

    def install(self) -> None:
        """Trace from now on, in this thread and in threads started later (again after a hook reset)."""
        sys.settrace(self._call)
        threading.settrace(self._call)

    def take(self) -> list[int]:
        """The lines run since the last ``take``, sorted."""
        lines, self.lines = sorted(self.lines), set()
        return lines

    def _call(self, frame: FrameType, event: str, arg: Any) -> Any:
        """A new frame: trace it line by line if it runs the watched file."""
        if frame.f_code.co_filename != self.path:
            return None
        self.lines.add(frame.f_lineno)
        return self._line

    def _line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.lines.add(frame.f_lineno)
        return self._line
