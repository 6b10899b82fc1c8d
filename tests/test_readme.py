"""The README and every shipped text stand on their own: no citation of a document the project lacks,
and the authoring API the README documents is the one the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder.student import Student
from conftest import REPO

CITATION = re.compile(r"\bSPEC\b|\b[SP][0-9]+\b")
"""``SPEC P2``, ``S9``, ``(P4)``: labels of a requirements document that is not part of the project."""


def shipped_texts() -> list[Path]:
    """The README, the handouts, the Makefile, and the package's and assignments' sources and settings."""
    files = [REPO / "README.md", REPO / "Makefile", *sorted((REPO / "assignments").glob("*/README.md"))]
    for root in (REPO / "autograder", REPO / "assignments"):
        files += sorted(p for p in root.rglob("*") if p.suffix in (".py", ".toml", ".md", ".txt", ".sh", ".json")
                        and "__pycache__" not in p.parts)
    return files


def test_shipped_texts_cite_no_requirement_labels() -> None:
    found = [f"{path.relative_to(REPO)}:{n}: {line.strip()}"
             for path in shipped_texts()
             for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if CITATION.search(line)]
    assert found == []


@pytest.mark.parametrize("text,cites", [("checks SPEC P2 after", True), ("(S9)", True), ("P4: graphs", True),
                                        ("TORCH_SPEC=torch", False), ("section 5", False), ("S2D", False)])
def test_the_citation_pattern(text: str, cites: bool) -> None:
    assert bool(CITATION.search(text)) is cites


def test_readme_documents_only_student_methods_that_exist() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"\bstudent\.([a-z_]+)\(", readme))
    assert "run_timed" in used
    assert sorted(m for m in used if not callable(getattr(Student, m, None))) == []
