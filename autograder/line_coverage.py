"""What one grading ran of the submitted file: the door ``autograder mutants`` grades through.

``grade(..., coverage=LineCoverage())`` traces the worker (``worker.lines``) and fills in, per
test, the lines of the submitted file it ran, and the lines its import ran. ``grade(..., only=...)``
runs a subset of the tests. A mutant graded with only the tests that reach its mutated statement
scores what a full grading would, as long as nothing carried over from one test to the next:
``disturbed`` says when something did (a call timed out, so later calls fail fast, or the worker
crashed and a fresh one served the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LineCoverage"]


@dataclass
class LineCoverage:
    """The lines of the submitted file a grading ran, per test (``autograder mutants`` only)."""

    trace: bool = True
    """Trace the worker's lines; False fills in ``disturbed`` only (and costs nothing)."""
    imports: set[int] = field(default_factory=set)
    """Lines run while the module was imported: every test depends on them."""
    tests: dict[str, set[int]] = field(default_factory=dict)
    """Test node id -> the lines its requests ran."""
    disturbed: bool = False
    """A call timed out or the worker crashed: a later test may depend on which tests ran before it."""
