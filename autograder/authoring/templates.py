"""Student stubs from reference solutions, by nbgrader's solution markers.

``### BEGIN SOLUTION`` ... ``### END SOLUTION`` is replaced by ``# YOUR CODE HERE`` and
``raise NotImplementedError("<assignment> task N: <name>")`` at the marker's indentation.
The task is the ``# Task N: name`` comment above the enclosing function. Everything else
(signatures, type hints, docstrings) is kept as it is.
"""

from __future__ import annotations

import difflib
import re

from .. import assignment
from ..errors import AuthoringError

__all__ = ["BEGIN", "END", "build", "check", "solution_regions", "stub_source"]

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$")
TASK = re.compile(r"^#\s*Task\s+(?P<number>\d+):\s*(?P<name>\w+)")
HEADER = "# Generated from solutions/{name}/{name}.py by `autograder build-templates`: do not edit.\n"


def solution_regions(lines: list[str], where: str) -> list[tuple[int, int]]:
    """(begin, end) line indices of every marked region; unbalanced markers are an AuthoringError."""
    regions, start = [], None
    for i, line in enumerate(lines):
        if BEGIN.match(line):
            if start is not None:
                raise AuthoringError(where, f"line {i + 1}: BEGIN SOLUTION inside another region")
            start = i
        elif END.match(line):
            if start is None:
                raise AuthoringError(where, f"line {i + 1}: END SOLUTION without BEGIN")
            regions.append((start, i))
            start = None
    if start is not None:
        raise AuthoringError(where, f"line {start + 1}: BEGIN SOLUTION is never closed")
    return regions


def _task_before(lines: list[str], index: int, where: str) -> str:
    """``N: name`` of the nearest ``# Task N: name`` comment above ``index``."""
    for line in reversed(lines[:index]):
        match = TASK.match(line.strip())
        if match:
            return f"{match['number']}: {match['name']}"
    raise AuthoringError(where, f"line {index + 1}: no '# Task N: name' comment above this solution region")


def stub_source(source: str, name: str, where: str) -> str:
    """The student's stub for one reference file."""
    lines = source.splitlines(keepends=True)
    regions = solution_regions(lines, where)
    if not regions:
        raise AuthoringError(where, "no ### BEGIN SOLUTION region: nothing for the student to write")
    out: list[str] = [HEADER.format(name=name)]
    cursor = 0
    for begin, end in regions:
        out += lines[cursor:begin]
        indent = BEGIN.match(lines[begin])["indent"]  # type: ignore[index]
        task = _task_before(lines, begin, where)
        out.append(f"{indent}# YOUR CODE HERE\n")
        out.append(f'{indent}raise NotImplementedError("{name} task {task}")\n')
        cursor = end + 1
    out += lines[cursor:]
    return "".join(out)


def build(check_only: bool = False, names: list[str] | None = None) -> list[str]:
    """Regenerate student_template/ (or only compare); return the files that differ."""
    differ = []
    for name in names or assignment.names():
        spec = assignment.load(name)
        src = spec.solution_file
        if not src.is_file():
            raise AuthoringError(str(src), "reference solution missing")
        stub = stub_source(src.read_text(encoding="utf-8"), name, str(src))
        target = spec.template_file
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != stub:
            differ.append(str(target.relative_to(assignment.repo_root())))
            if not check_only:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(stub, encoding="utf-8")
    return differ


def check(names: list[str] | None = None) -> list[str]:
    """Files of student_template/ that are out of date (nothing is written)."""
    return build(check_only=True, names=names)


def diff(name: str) -> str:
    """A unified diff between the committed stub and a fresh one (for error messages)."""
    spec = assignment.load(name)
    fresh = stub_source(spec.solution_file.read_text(encoding="utf-8"), name, str(spec.solution_file))
    current = spec.template_file.read_text(encoding="utf-8") if spec.template_file.is_file() else ""
    return "".join(difflib.unified_diff(current.splitlines(True), fresh.splitlines(True), "committed", "fresh"))
