"""Grade one submission: intake -> static checks -> sandbox -> tests -> results.json.

The trusted process runs pytest over the assignment's public, hidden and performance
tests; the student's code only ever runs in the sandboxed worker. Whatever happens,
a schema-valid results.json is written atomically: a student failure is a score, a
grader failure says so (and makes the command exit 1).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from . import __version__, assignment, intake, results, sandbox, static_checks, timeline, user_slots
from .device import resolve_device
from .errors import GraderError, SubmissionError, UsageError
from .line_coverage import LineCoverage
from .results import CATEGORIES
from .transport import SandboxTransport
from .worker.timing import fix_allocator

if TYPE_CHECKING:  # imported by _run once the worker is launched: they bring torch (see grader_imports)
    from .pytest_plugin import GradingContext
    from .student import Student

__all__ = ["Grading", "grade", "resolve_device"]


@dataclass
class Grading:
    """The outcome of ``grade``: the result written, and whether the grader itself failed."""

    result: results.GradingResult
    results_path: Path

    @property
    def grader_failed(self) -> bool:
        return bool(self.result.grader_errors)


def grade(
    assignment_name: str,
    submission: Path,
    results_path: Path = Path("results.json"),
    *,
    device: str = "auto",
    seed: int | None = None,
    isolation: str = "auto",
    select: str | None = None,
    root: Path | None = None,
    only: Collection[str] | None = None,
    coverage: LineCoverage | None = None,
    zygote: sandbox.Zygote | None = None,
) -> Grading:
    """Grade one submission and write results.json; UsageError for bad arguments.

    ``root`` holds ``assignments/`` (default: the repository's); ``only`` (test node ids),
    ``coverage`` and ``zygote`` (workers forked from a fork server of the same assignment and
    isolation level) are for ``autograder mutants``, which passes ``root`` too.
    """
    started = time.monotonic()
    record = timeline.Timeline()
    record.add("start-up", timeline.process_age() or 0.0)
    fix_allocator()
    spec = assignment.load(assignment_name, root)
    device = resolve_device(device)
    level = zygote.isolation if zygote is not None else sandbox.choose_isolation(isolation)
    seed = secrets.randbelow(2**31) if seed is None else seed
    problem: SubmissionError | None = None
    try:
        taken = intake.take(Path(submission), spec.module_file)
    except SubmissionError as exc:
        problem, taken = exc, intake.Intake(b"", "", ())
    extra = results.Extra(
        seed=seed, device=device, isolation=level, grader_version=__version__, assignment=spec.name,
        submitted_file=taken.origin, notebook_left_out=list(taken.left_out) or None,
        isolation_warning=isolation_warning(spec, level, isolation),
    )
    try:
        scope = Scope(select, frozenset(only) if only is not None else None, coverage, zygote)
        result = _run(spec, taken, problem, device, seed, level, scope, extra, started, record)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - any grader failure must still produce results.json
        result = results.error_result(f"{type(exc).__name__}: {exc}", time.monotonic() - started, extra)
    record.add("finish", time.monotonic() - (record.ended or time.monotonic()))
    result.extra_data.timeline = record.as_dict()
    results.write_atomic(results_path, results.to_gradescope(result))
    return Grading(result, Path(results_path))


def one_thread() -> None:
    """One intra-op thread here, as in the worker: the two take turns, and on a busy or throttled CPU (a
    Gradescope container) extra OpenMP threads spin against the worker instead of helping."""
    import torch

    torch.set_num_threads(1)


def isolation_warning(spec: assignment.Assignment, level: str, requested: str = "auto") -> str | None:
    """The instructor-facing warning for a level that lets the student's code read the hidden tests (None if not)."""
    if level == "plain":
        risk = ("WARNING: graded without isolation (plain subprocess): the student's code could read every file this "
                "user can read, the hidden tests and the reference solution included.")
        best = sandbox.choose_isolation("auto") if requested == "plain" else "plain"
        if best != "plain":
            return f"{risk} --isolation plain asked for this; --isolation auto would use the {best} level here."
        return f"{risk} {_not_bubblewrap()} {_not_user()}"
    if level == "user":
        secret = [spec.tests_dir / "hidden", spec.solution_file.parent, Path(__file__).resolve().parent]
        readable = user_slots.exposed(p for p in secret if p.exists())
        if readable:
            return (f"WARNING: graded as an unprivileged user, but {len(readable)} grader file(s) are readable by "
                    f"other users, e.g. {readable[0]}; run `chmod -R o-rwx` on the grader's folders.")
    return None


def _not_bubblewrap() -> str:
    """Why the bubblewrap level was not used, and how to get it."""
    if shutil.which("bwrap") is None:
        return "Bubblewrap was not used: bwrap is not installed (install the bubblewrap package)."
    return ("Bubblewrap was not used: bwrap is installed but cannot create namespaces here (allow unprivileged user "
            "namespaces, or run outside a container that forbids them).")


def _not_user() -> str:
    """Why the unprivileged-user level was not used, and how to get it."""
    problem = user_slots.user_isolation_problem(sys.executable) or "its check failed"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        how = ("install the grader into a Python every user can run: the system's python3, or a virtual environment "
               "whose folders are all searchable by others (chmod o+x on each parent folder)")
    else:
        how = "run the grader as root (as Gradescope does)"
    return f"The unprivileged-user level was not used: {problem}; to get it, {how}."


@dataclass(frozen=True)
class Scope:
    """Which tests run (``--select``, node ids), the coverage to fill in and the zygote (``autograder mutants``)."""

    select: str | None = None
    only: frozenset[str] | None = None
    coverage: LineCoverage | None = None
    zygote: sandbox.Zygote | None = None
    """Fork the workers from this server instead of starting each (``autograder mutants``)."""


def _run(spec: assignment.Assignment, taken: intake.Intake, problem: SubmissionError | None, device: str,
         seed: int, level: str, scope: Scope, extra: results.Extra, started: float,
         record: timeline.Timeline) -> results.GradingResult:
    """Stage the file, run pytest with the grading plugin, and gather the result."""
    record.add("intake", time.monotonic() - started)
    report = static_checks.check(taken.source, spec.banned, spec.module_file)
    if problem is not None:
        report = static_checks.Report(syntax_error=problem.problem, hint=problem.hint or static_checks.SYNTAX_HINT)
    extra.static_checks = report.as_dict()
    with tempfile.TemporaryDirectory(prefix="ag-stage-") as tmp:
        if level == "user":
            Path(tmp).chmod(0o711)  # the sandbox user may pass through to its stage, not list it
        stage = sandbox.prepare_stage(Path(tmp) / "stage", spec, taken.source, spec.preload)
        coverage = scope.coverage
        traced = coverage is not None and coverage.trace
        zygote = scope.zygote
        transport = SandboxTransport(stage, lambda: zygote.worker(taken.source, traced) if zygote is not None
                                     else sandbox.Worker(stage, spec.limits, level, device, trace_lines=traced))
        if not report.syntax_error:  # a file that cannot load never reaches the worker
            transport.start_early()
        with record.phase(timeline.GRADER_IMPORTS):
            student_class, context_class = grader_imports(spec.grader_preload)
        student = student_class(transport, report, spec.module_file, device, taken.ignored)
        ctx = context_class(spec, student, seed, device, extra=extra, only=scope.only, coverage=coverage)
        try:
            code = _pytest(spec, ctx, Path(tmp), scope.select, record)
        finally:
            transport.close()
            if coverage is not None:
                coverage.imports = set(map(int, transport.ready.get("lines", ())))
                coverage.disturbed = bool(transport.crashes or student.timed_out or transport.import_crash)
            record.add(timeline.WORKER_START, sum(transport.start_seconds))
            record.ended = time.monotonic()
        extra.worker_starts = transport.starts
        extra.process_limit = (f"cgroup pids.max={spec.limits.processes}" if transport.process_cap
                                  else "unavailable here (no writable pids cgroup)")
        extra.worker_start_seconds = [round(s, 3) for s in transport.start_seconds]
        import_stdout = str(transport.ready.get("stdout", ""))
        failed = transport.import_crash or student.import_failure()
        import_problem = str(failed) if failed is not None else None
    errors = list(ctx.collection_errors) + [f"{t.nodeid}: {t.grader_error}" for t in ctx.results if t.grader_error]
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not ctx.results:
        errors.append(f"pytest exited with {code!r} after collecting {len(ctx.results)} graded test(s)")
    tests = sorted(ctx.results, key=lambda t: (results.number_key(t.number), t.name))
    result = results.GradingResult(tests, time.monotonic() - started, "", extra, errors)
    result.output = _summary(spec, result, report, import_problem, import_stdout)
    return result


def grader_imports(preloaded: tuple[str, ...]) -> tuple[type[Student], type[GradingContext]]:
    """Import the grader's torch side now, while the worker launched just before boots in its own process.

    torch takes about 1 s to import, in the worker as here: launched first, the worker imports it
    on the other core at the same time. Then one intra-op thread, and ``preloaded`` (the
    assignment's ``grader_preload``).
    """
    from .pytest_plugin import GradingContext
    from .student import Student

    one_thread()
    preload(preloaded)
    return Student, GradingContext


def preload(modules: tuple[str, ...]) -> None:
    """Import ``modules`` now, while the worker launched just before boots in its own process.

    Here, not in a thread: an import racing pytest's own imports can deadlock Python's module
    locks, which then raise in whichever thread loses. A module that fails to import is left to
    the test that needs it, which reports the failure.
    """
    for name in modules:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _pytest(spec: assignment.Assignment, ctx: GradingContext, tmp: Path, select: str | None,
            record: timeline.Timeline) -> int:
    """Run the assignment's tests in this (trusted) process, isolated from any project config."""
    ini = tmp / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")
    paths = [str(spec.tests_dir / c) for c in CATEGORIES if (spec.tests_dir / c).is_dir()]
    if not paths:
        raise GraderError(f"{spec.tests_dir} has no public/, hidden/ or performance/ folder")
    # Plugins a grading run never reads are left out: the log capture wraps every phase of every
    # test, and the unraisable-exception check ends the run with two full garbage collections.
    args = ["-c", str(ini), "--rootdir", str(spec.tests_dir), "-p", "autograder.pytest_plugin",
            "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:logging", "-p", "no:unraisableexception",
            "--import-mode=importlib", *paths]
    if select:
        args += ["-k", select]
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        from .pytest_plugin import GradingPlugin  # imported already (grader_imports)

        return int(pytest.main(args, plugins=[GradingPlugin(ctx), timeline.Recorder(record)]))
    finally:
        forget_modules_under(spec.tests_dir)
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved


def forget_modules_under(folder: Path) -> None:
    """Drop the modules imported from ``folder`` (the tests) from sys.modules.

    pytest's importlib mode names a test module after its path below the rootdir (``hidden.test_hidden``)
    and reuses a module of that name already imported; a second grading in this process (``autograder
    mutants`` grades many) must import its own tests, not another assignment's of the same name.
    """
    prefixes = tuple({str(folder) + os.sep, str(folder.resolve()) + os.sep})
    for name, module in list(sys.modules.items()):
        if any(place.startswith(prefixes) for place in _places(module)):
            del sys.modules[name]


def _places(module: object) -> list[str]:
    """Where a module was loaded from: its file, or a package's folders (none for built-in and odd modules)."""
    try:
        file, path = getattr(module, "__file__", None), getattr(module, "__dict__", {}).get("__path__")
    except Exception:  # noqa: BLE001 - some extension modules answer attribute lookups in odd ways
        return []
    places = [file] if isinstance(file, str) else []
    if isinstance(path, list):
        places += [p for p in path if isinstance(p, str)]
    return places


def _summary(spec: assignment.Assignment, result: results.GradingResult, report: static_checks.Report,
             import_problem: str | None, import_stdout: str) -> str:
    """The top-level feedback the student reads first."""
    lines = [f"{spec.title}: {result.score:g} / {result.max_score:g} points."]
    if report.syntax_error:
        lines.append(f"Your file could not be loaded: {report.syntax_error} Hint: {report.hint}")
    elif import_problem:
        lines.append(import_problem)
    for category in CATEGORIES:
        group = [t for t in result.tests if t.category == category]
        if group:
            earned = sum(t.score for t in group)
            lines.append(f"  {category}: {earned:g} / {sum(t.max_score for t in group):g} "
                         f"({sum(t.status == 'passed' for t in group)} of {len(group)} tests passed)")
    if import_stdout.strip():
        lines.append("Your module printed this while being imported:\n" + import_stdout[:2000])
    if result.grader_errors:
        lines.append("Some tests failed because of an error in the grader itself, not in your code; "
                     "course staff have been told.")
    return "\n".join(lines)
