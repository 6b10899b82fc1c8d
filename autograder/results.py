"""Grading results as plain typed data, rendered to Gradescope's results.json.

Results are written atomically (temporary file in the same folder, fsync, rename) and
validated against the JSON Schema kept beside this module, also when the grader failed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["CATEGORIES", "Extra", "GradingResult", "Measure", "TestResult", "error_result", "from_gradescope", "loads",
           "number_key", "read_results", "schema", "to_gradescope", "validate", "write_atomic"]

SCHEMA_PATH = Path(__file__).with_name("gradescope_results.schema.json")
CATEGORIES = ("public", "hidden", "performance")
POINT_DECIMALS = 6
"""Scores are rounded to this many decimals (float noise away, an author's points kept: 0.21875 has 5)."""
"""A test's category is the tag of the folder it lives in."""


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


@dataclass(frozen=True)
class Measure:
    """What a performance test measured against its limit: a speed ``ratio`` (budget) or a scaling ``exponent``."""

    kind: str
    """``ratio`` or ``exponent``."""
    value: float
    limit: float


@dataclass
class Extra:
    """Instructor-only data of a grading (results.json ``extra_data``): how it ran and what it measured.

    Written in this field order; a field that is None (or an empty table, or False) is left out.
    """

    seed: int | None = None
    device: str | None = None
    isolation: str | None = None
    grader_version: str | None = None
    assignment: str | None = None
    submitted_file: str | None = None
    notebook_left_out: list[str] | None = None
    """A notebook submission's cells that were not graded (magics, shell escapes, experiments), for the instructor."""
    isolation_warning: str | None = None
    static_checks: dict[str, Any] | None = None
    test_functions: dict[str, str] = field(default_factory=dict)
    """Test display name -> test function name."""
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Test display name -> what the test recorded through the ``extra_data`` fixture (timings, budgets)."""
    worker_starts: int | None = None
    process_limit: str | None = None
    worker_start_seconds: list[float] | None = None
    grader_failed: bool = False
    timeline: dict[str, Any] | None = None
    """Where the grading's time went (``timeline.Timeline.as_dict``): seconds per phase and per test."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON object, in field order, without unset fields."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value != {} and value is not False:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Extra:
        """Read ``extra_data`` back (unknown keys, e.g. ``grader_errors``, are left to the caller)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def measure(self, shown: str) -> Measure | None:
        """The ratio or exponent a performance test recorded, with its limit (None if it recorded neither)."""
        record = self.tests.get(shown, {})
        if "exponent" in record:
            return Measure("exponent", float(record["exponent"]), float(record["max_exponent"]))
        if "ratio" in record:
            return Measure("ratio", float(record["ratio"]), float(record["budget"]))
        return None


@dataclass
class GradingResult:
    """A whole grading: the tests, timing, and what the instructor should know."""

    tests: list[TestResult]
    execution_time: float
    output: str
    extra_data: Extra = field(default_factory=Extra)
    grader_errors: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), POINT_DECIMALS)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), POINT_DECIMALS)


def number_key(number: str) -> tuple[int | str, ...]:
    """A test number's sort key: "1.10" after "1.9"."""
    return tuple(int(p) if p.isdigit() else p for p in number.split("."))


def to_gradescope(result: GradingResult) -> dict[str, Any]:
    """Gradescope's results.json (its schema exactly; extra_data is instructor-only)."""
    extra = result.extra_data.as_dict()
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
                "score": round(t.score, POINT_DECIMALS),
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


def error_result(message: str, execution_time: float, extra: Extra | None = None) -> GradingResult:
    """A well-formed result for a grader failure: says so, never a silent zero."""
    return GradingResult(
        tests=[],
        execution_time=execution_time,
        output=("The autograder itself failed while grading this submission. This is not a judgement of "
                "your work: course staff have been told and will regrade it."),
        extra_data=replace(extra or Extra(), grader_failed=True),
        grader_errors=[message],
    )


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of Gradescope's results.json kept in this package."""
    return dict(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def validate(data: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if ``data`` is not a valid results.json."""
    validator = _validator()
    from jsonschema.exceptions import best_match  # imported by _validator: the most relevant error, as validate()

    error = best_match(validator.iter_errors(data))
    if error is not None:
        raise error


@lru_cache(maxsize=1)
def _validator() -> Any:
    """A validator of the schema (checked once), from jsonschema imported without its IRI-format grammar.

    jsonschema imports ``rfc3987_syntax`` when it is installed (Jupyter's packages pull it in),
    which compiles lark grammars at import: about 1 s of every grading, for the ``iri`` format
    check that results.json never uses (and ``validate`` checks no format). Hiding that module
    while jsonschema is first imported makes jsonschema skip it, as it does where it is absent.
    """
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import now raises ImportError
        try:
            import jsonschema
        finally:
            del sys.modules["rfc3987_syntax"]
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema())


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


def from_gradescope(data: dict[str, Any]) -> GradingResult:
    """The typed result of a results.json object (the inverse of ``to_gradescope``; missing keys take defaults)."""
    extra = dict(data.get("extra_data") or {})
    tests = []
    for t in data.get("tests", []):
        tags = [str(tag) for tag in t.get("tags", [])]
        tests.append(TestResult(
            name=str(t.get("name", "")), number=str(t.get("number", "")), score=float(t.get("score", 0.0)),
            max_score=float(t.get("max_score", 0.0)), status=str(t.get("status", "failed")),
            output=str(t.get("output", "")), tags=tags, visibility=str(t.get("visibility", "visible")),
            category=next((c for c in CATEGORIES if c in tags), ""),
        ))
    return GradingResult(tests, float(data.get("execution_time", 0.0)), str(data.get("output", "")),
                         Extra.from_dict(extra), [str(e) for e in extra.get("grader_errors", [])])


def loads(raw: bytes | str) -> GradingResult:
    """The typed result of results.json's text; ValueError if it is not a JSON object."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("results.json does not hold a JSON object")
    return from_gradescope(data)


def read_results(path: Path) -> GradingResult:
    """The one reader of results.json: the typed result (OSError if unreadable, ValueError if malformed)."""
    return loads(Path(path).read_bytes())
