"""An assignment's configuration, read from ``assignments/<name>/assignment.toml``.

A new assignment is a new folder with an ``assignment.toml``; nothing here names one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AuthoringError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Assignment", "Banned", "Limits", "load", "load_folder", "names", "repo_root"]

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def repo_root() -> Path:
    """The folder holding ``assignments/`` and ``solutions/`` (the package's parent)."""
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Limits:
    """Per-submission resource limits for the worker process."""

    call_seconds: float = 30.0
    """Wall-clock seconds for one request (one call, probe or timing run)."""
    worker_cpu_seconds: int = 600
    """CPU seconds over a worker's whole life (RLIMIT_CPU)."""
    memory_mb: int = 3072
    """Address-space cap (RLIMIT_AS) of the worker."""
    processes: int = 64
    """Processes and threads the worker may own (RLIMIT_NPROC where enforceable)."""
    file_size_mb: int = 16
    """Largest file the worker may write (RLIMIT_FSIZE)."""
    open_files: int = 128
    """Open file descriptors (RLIMIT_NOFILE)."""
    tmp_mb: int = 64
    """Size of the sandbox's private /tmp (bubblewrap level), so a student cannot fill the disk."""
    output_kb: int = 64
    """Captured stdout/stderr kept per request; the rest is dropped."""
    reply_mb: int = 256
    """Largest reply the grader reads from the worker."""


@dataclass(frozen=True)
class Banned:
    """APIs the student may not use: dotted-name globs, method names, and why."""

    calls: tuple[str, ...] = ()
    """fnmatch globs over resolved dotted names, e.g. ``torch.nn.functional.softmax``."""
    methods: tuple[str, ...] = ()
    """Attribute names banned on any object, e.g. ``softmax`` for ``x.softmax()``."""
    aten: tuple[str, ...] = ()
    """ATen operator names refused at run time however they are reached, e.g. ``_softmax``."""
    reason: str = ""
    """One sentence for the student: why these are banned."""


@dataclass(frozen=True)
class Assignment:
    """Everything the grader needs to know about one assignment."""

    name: str
    title: str
    folder: Path
    tasks: dict[str, str]
    """Marker name -> human title, in task order."""
    points: dict[str, float]
    """Planned points per category (public, hidden, performance); checked by verify."""
    hidden_visibility: str
    performance_visibility: str
    banned: Banned
    limits: Limits
    budgets: dict[str, float]
    """Performance test name -> largest allowed ratio student / yardstick."""
    preload: tuple[str, ...] = ()
    """Modules the worker imports before the student's (e.g. torch)."""
    grader_preload: tuple[str, ...] = ()
    """Modules the grader imports while the worker boots (slow lazy imports its tests trigger, e.g.
    torch._dynamo on the first torch.optim step)."""
    performance: dict[str, Any] = field(default_factory=dict)

    @property
    def module_file(self) -> str:
        """The one file a student submits."""
        return f"{self.name}.py"

    @property
    def tests_dir(self) -> Path:
        return self.folder / "tests"

    @property
    def probes_file(self) -> Path:
        return self.folder / "probes.py"

    @property
    def bugzoo_dir(self) -> Path:
        return self.folder / "bugzoo"

    @property
    def solution_file(self) -> Path:
        return repo_root() / "solutions" / self.name / self.module_file

    @property
    def template_file(self) -> Path:
        return repo_root() / "student_template" / self.name / self.module_file


def names(root: Path | None = None) -> list[str]:
    """All assignment names (folders of ``assignments/`` with an assignment.toml)."""
    base = (root or repo_root()) / "assignments"
    return sorted(p.parent.name for p in base.glob("*/assignment.toml"))


def load(name: str, root: Path | None = None) -> Assignment:
    """Read and validate one assignment's configuration by name."""
    folder = (root or repo_root()) / "assignments" / name
    if not (folder / "assignment.toml").is_file():
        known = ", ".join(names(root)) or "none"
        raise UsageError(f"unknown assignment {name!r} (known: {known})")
    return load_folder(folder)


def load_folder(folder: Path) -> Assignment:
    """Read and validate the assignment.toml in ``folder`` (also a student's unzipped folder)."""
    path = folder / "assignment.toml"
    name = folder.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AuthoringError(str(path), f"not valid TOML: {exc}") from exc
    return _parse(name, folder, path, data)


def _parse(name: str, folder: Path, path: Path, data: dict[str, Any]) -> Assignment:
    """Turn the TOML tables into an Assignment, naming the key at fault."""
    where = str(path)
    meta = _table(data, "assignment", where)
    name = str(meta.get("name", name))
    tasks = {str(k): str(v) for k, v in _table(data, "tasks", where).items()}
    if not tasks:
        raise AuthoringError(where, "[tasks] must list at least one task marker")
    hidden_vis = str(meta.get("hidden_visibility", "after_published"))
    perf_vis = str(meta.get("performance_visibility", "visible"))
    for key, value in (("hidden_visibility", hidden_vis), ("performance_visibility", perf_vis)):
        if value not in VISIBILITIES:
            raise AuthoringError(where, f"[assignment] {key} = {value!r} is not one of {VISIBILITIES}")
    banned_t = data.get("banned", {})
    banned = Banned(
        calls=tuple(banned_t.get("calls", ())),
        methods=tuple(banned_t.get("methods", ())),
        aten=tuple(banned_t.get("aten", ())),
        reason=str(banned_t.get("reason", "")),
    )
    limits_t = data.get("limits", {})
    known = set(Limits.__dataclass_fields__)
    unknown = set(limits_t) - known
    if unknown:
        raise AuthoringError(where, f"[limits] unknown keys {sorted(unknown)}; known: {sorted(known)}")
    perf = dict(data.get("performance", {}))
    budgets = {str(k): float(v) for k, v in perf.pop("budgets", {}).items()}
    return Assignment(
        name=name,
        title=str(meta.get("title", name)),
        folder=folder,
        tasks=tasks,
        points={str(k): float(v) for k, v in meta.get("points", {}).items()},
        hidden_visibility=hidden_vis,
        performance_visibility=perf_vis,
        banned=banned,
        limits=Limits(**limits_t),
        budgets=budgets,
        preload=tuple(str(m) for m in meta.get("preload", ("numpy",))),
        grader_preload=tuple(str(m) for m in meta.get("grader_preload", ())),
        performance=perf,
    )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """A required TOML table."""
    value = data.get(key)
    if not isinstance(value, dict):
        raise AuthoringError(where, f"missing table [{key}]")
    return value
