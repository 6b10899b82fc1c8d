"""The one exceptions tree of the autograder.

Student-facing errors (``SubmissionError``) carry a hint that says what to do next.
Instructor-facing errors (``AuthoringError``) name the file or setting at fault.
``UsageError`` is a bad command-line argument (exit code 2); ``GraderError`` is the
grader's own failure (exit code 1, still a valid results.json that says so).
"""

from __future__ import annotations

__all__ = [
    "AuthoringError",
    "AutograderError",
    "CheckFailed",
    "GraderError",
    "ProtocolError",
    "SubmissionError",
    "UsageError",
    "WorkerCrash",
]


class AutograderError(Exception):
    """Base of every error the autograder raises on purpose."""


class UsageError(AutograderError):
    """A bad command-line argument: one line naming it, exit code 2."""


class AuthoringError(AutograderError):
    """An assignment is authored wrongly: the message names the file and the broken rule."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class GraderError(AutograderError):
    """The grader itself failed (not the student's fault)."""


class SubmissionError(AutograderError):
    """Something about the submission itself; the message is written for the student."""

    def __init__(self, problem: str, hint: str = "") -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(f"{problem} Hint: {hint}" if hint else problem)


class ProtocolError(SubmissionError):
    """The worker sent back something that is not well-formed plain data."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"Your code's process sent back something the grader cannot accept: {problem}",
            "return plain tensors / numbers from your functions and do not write to the "
            "grader's pipes.",
        )


class WorkerCrash(SubmissionError):
    """The process running the student's code died, hung, or exceeded a limit."""

    def __init__(self, problem: str, hint: str = "", timed_out: bool = False, exit_code: int | None = None) -> None:
        super().__init__(problem, hint)
        self.timed_out = timed_out
        self.exit_code = exit_code
        """The process's exit status as ``Popen.returncode`` gives it (negative: a signal), when it ended."""


class CheckFailed(SubmissionError, AssertionError):
    """A test's check of the student's code failed; the message is the student's feedback."""
