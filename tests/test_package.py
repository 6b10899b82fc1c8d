"""The package's shape: the engine at the top never imports its two wings (batch, authoring)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "autograder"
WINGS = ("batch", "authoring")
ABOVE = {"cli.py", "__main__.py"}
"""The command line sits above the engine and both wings: it may name them all."""


def engine_modules() -> list[Path]:
    """Every module of the engine: the package minus its wings and the command line."""
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if p.relative_to(PACKAGE).parts[0] not in WINGS and p.name not in ABOVE)


def imported(path: Path, source: str | None = None) -> set[str]:
    """Absolute dotted names a module imports (relative imports resolved against its package)."""
    package = ".".join(("autograder", *path.relative_to(PACKAGE).parent.parts))
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8") if source is None else source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def test_engine_modules_are_found() -> None:
    found = {p.relative_to(PACKAGE).as_posix() for p in engine_modules()}
    assert {"grading.py", "results.py", "sandbox/process.py", "worker/serve.py"} <= found
    assert not any(name.startswith(WINGS) for name in found)


@pytest.mark.parametrize("path", engine_modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_engine_never_imports_a_wing(path: Path) -> None:
    wings = wing_imports(path)
    assert not wings, f"{path.relative_to(PACKAGE)} imports {wings}: the engine must not know its wings"


def wing_imports(path: Path, source: str | None = None) -> list[str]:
    """What of the wings a module imports."""
    return sorted(n for n in imported(path, source) if n.split(".")[:2] in (["autograder", w] for w in WINGS))


@pytest.mark.parametrize("source", ["from .batch import jobs", "from .authoring.release import release",
                                    "from . import authoring", "import autograder.batch.gradebook",
                                    "from ..batch.roster import Submission"])
def test_the_check_finds_a_wing_import(source: str) -> None:
    where = PACKAGE / ("sandbox/x.py" if source.startswith("from ..") else "x.py")
    assert wing_imports(where, source)
