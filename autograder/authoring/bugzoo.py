"""The bug zoo: known-wrong variants of a reference solution that the tests must catch.

``assignments/<a>/bugzoo/zoo.toml`` lists each bug with a one-line reason, the tests
meant to catch it, optionally its exact ``score`` (a slow but correct entry declares full
marks minus the scale and performance tests it cannot finish; ``verify`` checks it), and
edits (exact ``old`` -> ``new`` text) applied to the reference with its solution markers
removed. Edits keep every entry in step with the reference: an edit
that no longer applies is an AuthoringError naming the entry.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ..assignment import Assignment
from ..errors import AuthoringError
from .templates import BEGIN, END

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Bug", "entries", "materialize", "reference_source"]


@dataclass(frozen=True)
class Bug:
    """One known-wrong implementation."""

    name: str
    reason: str
    caught_by: tuple[str, ...]
    """Test function names that must fail for this bug."""
    edits: tuple[tuple[str, str], ...]
    score: float | None = None
    """The exact score this entry must get, if declared (slow but correct entries)."""


def entries(spec: Assignment) -> list[Bug]:
    """Every bug of an assignment's zoo, in file order."""
    path = spec.bugzoo_dir / "zoo.toml"
    if not path.is_file():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    bugs = []
    for i, raw in enumerate(data.get("bug", [])):
        where = f"{path} [[bug]] #{i + 1}"
        try:
            bug = Bug(
                name=str(raw["name"]),
                reason=str(raw["reason"]),
                caught_by=tuple(str(t) for t in raw["caught_by"]),
                edits=tuple((str(e["old"]), str(e["new"])) for e in raw["edit"]),
                score=float(raw["score"]) if "score" in raw else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AuthoringError(where, f"needs name, reason, caught_by and [[bug.edit]] old/new; score, if given, "
                                        f"a number ({exc})") from None
        if not bug.caught_by or not bug.edits:
            raise AuthoringError(where, "caught_by and edits must not be empty")
        bugs.append(bug)
    names = [b.name for b in bugs]
    if len(set(names)) != len(names):
        raise AuthoringError(str(path), "bug names must be unique")
    return bugs


def reference_source(spec: Assignment) -> str:
    """The reference solution with its solution-marker lines dropped."""
    lines = spec.solution_file.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line for line in lines if not (BEGIN.match(line) or END.match(line)))


def materialize(spec: Assignment, bug: Bug) -> str:
    """The buggy module's source: the reference with the bug's edits applied."""
    source = reference_source(spec)
    for old, new in bug.edits:
        count = source.count(old)
        if count != 1:
            raise AuthoringError(f"{spec.bugzoo_dir / 'zoo.toml'} bug {bug.name!r}",
                                 f"edit text occurs {count} times in the reference (must be once): {old[:60]!r}")
        source = source.replace(old, new)
    return f"# Bug zoo entry {bug.name!r}: {bug.reason}\n" + source


def write(spec: Assignment, bug: Bug, folder: Path) -> Path:
    """Write a bug's module as ``folder/<name>/<a>.py`` (a submission folder) and return it."""
    target = folder / bug.name
    target.mkdir(parents=True, exist_ok=True)
    (target / spec.module_file).write_text(materialize(spec, bug), encoding="utf-8")
    return target
