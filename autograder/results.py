"""Grading results as plain typed data, rendered to Gradescope's results.json.

Results are written atomically (temporary file in the same folder, fsync, rename) and
validated against the JSON Schema kept beside this module, also when the grader failed.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["GradingResult", "TestResult", "error_result", "schema", "to_gradescope", "validate", "write_atomic"]

SCHEMA_PATH = Path(__file__).with_name("gradescope_results.schema.json")


@dataclass
class TestResult:
    """One graded test, as Gradescope shows it."""

    name: str
    number: str
    score: float
    max_score: float
    status: str
    """``passed`` or ``failed`` (a skip, error or timeout is failed with 0 points)."""
    output: str
    tags: list[str]
    visibility: str
    category: str
    """``public``, ``hidden`` or ``performance``."""
    nodeid: str = ""
    grader_error: str | None = None
    """Set when the test failed because of the grader, not the student."""


@dataclass
class GradingResult:
    """A whole grading: the tests, timing, and what the instructor should know."""

    tests: list[TestResult]
    execution_time: float
    output: str
    extra_data: dict[str, Any] = field(default_factory=dict)
    grader_errors: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 4)


def to_gradescope(result: GradingResult) -> dict[str, Any]:
    """Gradescope's results.json (its schema exactly; extra_data is instructor-only)."""
    extra = dict(result.extra_data)
    if result.grader_errors:
        extra["grader_errors"] = result.grader_errors
    return {
        "score": result.score,
        "execution_time": round(result.execution_time, 3),
        "output": result.output,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": t.name,
                "number": t.number,
                "score": round(t.score, 4),
                "max_score": t.max_score,
                "status": t.status,
                "output": t.output,
                "tags": t.tags,
                "visibility": t.visibility,
            }
            for t in result.tests
        ],
        "extra_data": extra,
    }


def error_result(message: str, execution_time: float, extra: dict[str, Any] | None = None) -> GradingResult:
    """A well-formed result for a grader failure: says so, never a silent zero."""
    return GradingResult(
        tests=[],
        execution_time=execution_time,
        output=("The autograder itself failed while grading this submission. This is not a judgement of "
                "your work: course staff have been told and will regrade it."),
        extra_data=dict(extra or {}, grader_failed=True),
        grader_errors=[message],
    )


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of Gradescope's results.json kept in this package."""
    return dict(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def validate(data: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if ``data`` is not a valid results.json."""
    import jsonschema

    jsonschema.validate(data, schema())


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Validate, then write JSON so readers see the old file or the new one, never half."""
    validate(data)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, allow_nan=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
