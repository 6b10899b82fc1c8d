"""The gradebook of a batch: one CSV row per student, one column per test.

Built from the files a batch leaves in ``--out`` (each submission's manifest and
results.json), so it is always what is on disk, also after an interrupt. A submission that
ended in a grader error, could not be read, or has not been graded yet has an empty total and
says why in ``status``: it is never a silent 0. A group submission (Gradescope) gives each
member a row with the same scores.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..results import GradingResult, TestResult, loads
from .roster import Student, Submission

__all__ = ["CHANGED", "FIXED_COLUMNS", "Row", "read_results", "rows", "test_columns", "write"]

FIXED_COLUMNS = ("submission", "name", "email", "sid", "status", "total", "max_total")


CHANGED = "results.json changed after it was graded (not trusted): rerun to regrade"


@dataclass(frozen=True)
class Row:
    """One submission's outcome as the batch left it on disk."""

    submission: Submission
    manifest: dict[str, Any] | None
    results: GradingResult | None
    changed: bool = False
    """results.json is not the file the grading wrote (its sha256 differs from the manifest's)."""

    @property
    def status(self) -> str:
        if self.manifest is None:
            return "not graded yet"
        if self.changed:
            return CHANGED
        status = str(self.manifest.get("status", "unknown"))
        message = self.manifest.get("message")
        return f"{status}: {message}" if message and status != "graded" else status

    @property
    def graded(self) -> bool:
        return (self.manifest is not None and self.manifest.get("status") == "graded" and self.results is not None
                and not self.changed)

    @property
    def total(self) -> float | None:
        return self.results.score if self.graded and self.results else None

    @property
    def max_total(self) -> float | None:
        if not self.graded or not self.results:
            return None
        return self.results.max_score

    @property
    def seconds(self) -> float | None:
        value = (self.manifest or {}).get("seconds")
        return float(value) if isinstance(value, (int, float)) else None

    def scores(self) -> dict[str, float]:
        """Test column -> points earned (graded submissions only)."""
        if not self.graded or not self.results:
            return {}
        return {column(t): t.score for t in self.results.tests}


def column(test: TestResult) -> str:
    """A test's column header: its number and name (names are unique within an assignment)."""
    return f"{test.number} {test.name}".strip()


def rows(submissions: list[Submission], folder: Path) -> list[Row]:
    """Read each submission's manifest and results.json from ``folder/<id>/``."""
    out = []
    for sub in submissions:
        manifest = _read(folder / sub.id / "manifest.json")
        data, changed = read_results(folder / sub.id / "results.json", manifest)
        out.append(Row(sub, manifest, data, changed))
    return out


def read_results(path: Path, manifest: dict[str, Any] | None) -> tuple[GradingResult | None, bool]:
    """(results.json, changed): changed when its sha256 is not the one the manifest recorded."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None, False
    expected = (manifest or {}).get("results_sha256")
    if expected and hashlib.sha256(raw).hexdigest() != expected:
        return None, True
    try:
        return loads(raw), False
    except (ValueError, TypeError):
        return None, True


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def test_columns(all_rows: list[Row]) -> list[str]:
    """Every test seen in any graded submission, in the graders' order (by test number)."""
    seen: dict[str, None] = {}
    for row in all_rows:
        if row.graded and row.results:
            for test in row.results.tests:
                seen.setdefault(column(test))
    return list(seen)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _text(value: str) -> str:
    """Text that a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write(path: Path, all_rows: list[Row]) -> None:
    """Write the gradebook CSV atomically."""
    tests = test_columns(all_rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*FIXED_COLUMNS, *tests])
    for row in all_rows:
        scores = row.scores()
        for student in row.submission.students or (Student(),):
            writer.writerow([*map(_text, (row.submission.id, student.name, student.email, student.sid, row.status)),
                             _cell(row.total), _cell(row.max_total),
                             *(_cell(scores.get(t)) if row.graded else "" for t in tests)])
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(buffer.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
