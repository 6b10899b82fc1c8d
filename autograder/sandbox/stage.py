"""A staging folder: the submitted file, a copy of the worker package, the probes."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..assignment import Assignment, Banned

__all__ = ["WORKER_PACKAGE", "Stage", "prepare_stage"]

WORKER_PACKAGE = Path(__file__).resolve().parent.parent / "worker"


@dataclass(frozen=True)
class Stage:
    """A staging folder: ``submission/<a>.py`` (untrusted) and ``runtime/`` (worker code)."""

    root: Path
    module_name: str
    preload: tuple[str, ...] = ()
    banned: Banned = field(default_factory=Banned)
    has_probes: bool = False

    @property
    def submission_dir(self) -> Path:
        return self.root / "submission"

    @property
    def runtime_dir(self) -> Path:
        return self.root / "runtime"


def prepare_stage(root: Path, assignment: Assignment, source: bytes, preload: tuple[str, ...]) -> Stage:
    """Lay out a stage: the submitted file, a copy of the worker package and the probes."""
    (root / "submission").mkdir(parents=True, exist_ok=True)
    (root / "submission" / assignment.module_file).write_bytes(source)
    runtime = root / "runtime"
    shutil.copytree(WORKER_PACKAGE, runtime / "agworker", ignore=shutil.ignore_patterns("__pycache__"))
    has_probes = assignment.probes_file.is_file()
    if has_probes:
        shutil.copyfile(assignment.probes_file, runtime / "assignment_probes.py")
    for path in (root, *root.rglob("*")):  # readable by the sandbox user, whatever the grader's own modes
        path.chmod(0o755 if path.is_dir() else 0o644)
    return Stage(
        root=root,
        module_name=assignment.name,
        preload=preload,
        banned=assignment.banned,
        has_probes=has_probes,
    )


