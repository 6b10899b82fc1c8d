"""The pytest plugin: fixtures for tests, metadata from gradescope-utils' decorators, scoring.

Two modes. Grading mode: ``autograder grade`` runs pytest in the trusted process with a
``GradingContext`` (the sandboxed student, the seed, the device); results are collected
here and written by ``grading``. Local mode: a student runs ``pytest`` in the unzipped
folder; the plugin finds ``assignment.toml``, loads the student's file in-process and
prints each test's points and the public total.

Metadata: ``@weight``, ``@number``, ``@visibility``, ``@tags``, ``@hide_errors`` from
gradescope_utils on each test function. Each test must carry the tag of its folder
(``public``, ``hidden`` or ``performance``) and a weight; otherwise collection fails with
an AuthoringError naming the test.
"""

from __future__ import annotations

import builtins
import contextlib
import re
import secrets
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import compare, performance, seeds, static_checks
from .assignment import Assignment, load_folder
from .errors import AuthoringError, CheckFailed, SubmissionError
from .line_coverage import LineCoverage
from .results import CATEGORIES, Extra, TestResult
from .student import SIZE_CLASSES, Student, local_config, running_test
from .transport import LocalTransport

GRADER_ERROR_OUTPUT = ("The grader hit an internal error in this test. This is not your fault; "
                       "course staff have been told.")


@dataclass
class GradingContext:
    """What ``autograder grade`` hands to pytest, and what it gets back."""

    assignment: Assignment
    student: Student
    seed: int
    device: str
    results: list[TestResult] = field(default_factory=list)
    extra: Extra = field(default_factory=Extra)
    collection_errors: list[str] = field(default_factory=list)
    only: frozenset[str] | None = None
    """Node ids of the tests to run (``autograder mutants``); None: all of them."""
    coverage: LineCoverage | None = None
    """Filled in with the lines each test ran when the worker traces (``autograder mutants``)."""


@dataclass
class Credit:
    """Partial credit: a test sets the fraction of its weight it earned before failing."""

    fraction: float | None = None
    note: str = ""

    def set(self, earned: float, total: float, note: str = "") -> None:
        """Earn ``earned / total`` of the test's weight (kept even if the test then fails)."""
        self.fraction = max(0.0, min(1.0, earned / total)) if total else 0.0
        self.note = note


@dataclass
class _Meta:
    """Metadata of one collected test."""

    category: str
    weight: float
    number: str
    visibility: str
    tags: list[str]
    hide_errors: str | None
    name: str
    size: str = "small"
    """``small``, ``scale`` or ``performance`` (``@graded(size=...)``): tests run in this order."""


@dataclass(frozen=True)
class Mode:
    """How this pytest run grades: for ``autograder grade`` (with its context) or locally, for a student."""

    assignment: Assignment
    context: GradingContext | None = None
    """Set when grading; None in local mode."""

    @property
    def device(self) -> str:
        """The grader's device, or cpu locally."""
        return self.context.device if self.context is not None else "cpu"


CONTEXT = pytest.StashKey[GradingContext]()
"""Put by ``GradingPlugin`` before the plugin's own hooks run; ``MODE`` is built from it."""
MODE = pytest.StashKey[Mode]()
LOCAL_SEED = pytest.StashKey[int]()
"""The seed a local run chose (when ``--ag-seed`` was not given)."""
META = pytest.StashKey[_Meta]()
CREDIT = pytest.StashKey[Credit]()
EXTRA = pytest.StashKey[dict]()
LOCAL_RESULTS = pytest.StashKey[list]()


class GradingPlugin:
    """Registered by ``autograder grade``: puts the context where the hooks find it."""

    def __init__(self, context: GradingContext) -> None:
        self.context = context

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[CONTEXT] = self.context
        # Feedback is built from the exception itself, never from pytest's report text. Its default
        # "long" report parses each traceback entry's source, which took most of the grading time
        # of a submission that fails many tests; "native" is Python's own traceback, cheap, and is
        # still what an instructor reads for a collection error.
        config.option.tbstyle = "native"

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Collection errors are grader errors: the tests are trusted code."""
        if report.failed:
            self.context.collection_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")


# --------------------------------------------------------------------------- options

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption("--submission-dir", default=None, help="folder holding the student's <assignment>.py (local mode)")
    group.addoption("--ag-seed", type=int, default=None, help="seed for the random inputs (local mode)")


def _local_assignment(config: pytest.Config) -> Assignment | None:
    """Local mode: the assignment.toml at or above the rootdir or the given paths."""
    starts = [Path(str(a).split("::")[0]).resolve() for a in config.args] + [config.rootpath]
    for start in starts:
        for folder in [start, *start.parents]:
            if (folder / "assignment.toml").is_file():
                return load_folder(folder)
    return None


def pytest_configure(config: pytest.Config) -> None:
    context = config.stash.get(CONTEXT, None)
    assignment = context.assignment if context is not None else _local_assignment(config)
    if assignment is None:
        return
    config.stash[LOCAL_RESULTS] = []
    config.stash[MODE] = Mode(assignment, context)
    for marker, title in assignment.tasks.items():
        config.addinivalue_line("markers", f"{marker}: {title}")


def _mode(config: pytest.Config) -> Mode:
    """The run's mode; a usage error where no assignment was found."""
    mode = config.stash.get(MODE, None)
    if mode is None:
        raise pytest.UsageError("no assignment.toml found at or above the test folder")
    return mode


def _assignment(config: pytest.Config) -> Assignment:
    return _mode(config).assignment


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def assignment(pytestconfig: pytest.Config) -> Assignment:
    """The assignment being graded."""
    return _assignment(pytestconfig)


@pytest.fixture(scope="session")
def seed(pytestconfig: pytest.Config) -> int:
    """The run's seed: chosen and recorded by the grader, random per local run unless --ag-seed."""
    mode = pytestconfig.stash.get(MODE, None)
    if mode is not None and mode.context is not None:
        return mode.context.seed
    chosen = pytestconfig.getoption("--ag-seed")
    if chosen is None:
        chosen = secrets.randbelow(2**31)
        pytestconfig.stash[LOCAL_SEED] = chosen
    return int(chosen)


@pytest.fixture(scope="session")
def device(pytestconfig: pytest.Config) -> str:
    """The device inputs are placed on: the grader's choice, or cpu locally."""
    mode = pytestconfig.stash.get(MODE, None)
    return mode.device if mode is not None else "cpu"


@pytest.fixture(scope="session")
def student(pytestconfig: pytest.Config, device: str) -> Any:
    """The student's code: sandboxed when grading, imported in-process locally."""
    mode = _mode(pytestconfig)
    if mode.context is not None:
        yield mode.context.student
        return
    a = mode.assignment
    folder = Path(pytestconfig.getoption("--submission-dir") or a.folder)
    module = folder / a.module_file
    if not module.is_file():
        pytest.fail(f"{a.module_file} not found in {folder} (run pytest in the assignment folder)", pytrace=False)
    report = static_checks.check(module.read_bytes(), a.banned, a.module_file)
    config = local_config(module.resolve(), a.name, a.probes_file, a.banned, a.preload)
    transport = LocalTransport(config, a.limits.call_seconds)
    yield Student(transport, report, a.module_file, device)
    transport.close()


def _seed_for(seed: int, nodeid: str) -> int:
    """A per-test seed derived from the run's seed and the test's id."""
    return seeds.derive(63, seed, nodeid)


@pytest.fixture
def rng(request: pytest.FixtureRequest, seed: int) -> Any:
    """A torch.Generator seeded freshly per run and per test."""
    import torch

    gen = torch.Generator()
    gen.manual_seed(_seed_for(seed, request.node.nodeid))
    return gen


@pytest.fixture
def np_rng(request: pytest.FixtureRequest, seed: int) -> Any:
    """A numpy Generator seeded freshly per run and per test."""
    import numpy as np

    return np.random.default_rng(_seed_for(seed, request.node.nodeid))


@pytest.fixture
def partial_credit(request: pytest.FixtureRequest) -> Credit:
    """Lets a test earn part of its weight: ``partial_credit.set(passed, total)``."""
    credit = Credit()
    request.node.stash[CREDIT] = credit
    return credit


@pytest.fixture
def extra_data(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Instructor-only data for this test (timings, budgets), saved in results.json extra_data."""
    data: dict[str, Any] = {}
    request.node.stash[EXTRA] = data
    return data


# --------------------------------------------------------------------------- collection

def _category(item: pytest.Item, a: Assignment) -> str | None:
    """``public`` / ``hidden`` / ``performance`` from the test's folder, or None if not ours."""
    try:
        rel = Path(str(item.path)).resolve().relative_to(a.tests_dir.resolve())
    except ValueError:
        rel = Path(str(item.path))
    for part in rel.parts:
        if part in CATEGORIES:
            return part
    return None


def _meta(item: pytest.Item, a: Assignment, index: int) -> _Meta | None:
    """Read and check the gradescope-utils decorators of one test."""
    category = _category(item, a)
    if category is None:
        return None
    fn = getattr(item, "function", None)
    where = f"{item.nodeid}"
    if fn is None or getattr(fn, "__weight__", None) is None:
        raise AuthoringError(where, "every graded test needs @weight(points) from gradescope_utils")
    tags = list(getattr(fn, "__tags__", ()) or ())
    if category not in tags:
        raise AuthoringError(where, f"a test in tests/{category}/ must carry @tags({category!r}, ...)")
    wrong = [c for c in CATEGORIES if c != category and c in tags]
    if wrong:
        raise AuthoringError(where, f"a test in tests/{category}/ must not carry the tag(s) {wrong}")
    default_vis = {"public": "visible", "hidden": a.hidden_visibility, "performance": a.performance_visibility}
    tasks = [m.name for m in item.iter_markers() if m.name in a.tasks]
    doc = (getattr(fn, "__doc__", None) or "").strip().splitlines()
    title = doc[0].strip() if doc else fn.__name__
    callspec = getattr(item, "callspec", None)
    name = f"{title} [{callspec.id}]" if callspec is not None else title
    return _Meta(
        category=category,
        weight=float(fn.__weight__),
        number=str(getattr(fn, "__number__", index + 1)),
        visibility=str(getattr(fn, "__visibility__", default_vis[category])),
        tags=list(dict.fromkeys(tags + tasks)),
        hide_errors=getattr(fn, "__hide_errors__", None),
        name=name,
        size=str(getattr(fn, "__size__", "performance" if category == "performance" else "small")),
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mode = config.stash.get(MODE, None)
    if mode is None:
        return
    for index, item in enumerate(items):
        try:
            meta = _meta(item, mode.assignment, index)
        except AuthoringError as exc:
            if mode.context is not None:
                mode.context.collection_errors.append(f"assignment authoring error: {exc}")
            raise pytest.UsageError(f"assignment authoring error: {exc}") from None
        if meta is not None:
            item.stash[META] = meta
    if mode.context is not None and mode.context.only is not None:
        _keep_only(config, items, mode.context.only)
    # small tests first, then scale, then performance (stable: file order within a class)
    items.sort(key=lambda item: SIZE_CLASSES.index(item.stash[META].size) if META in item.stash else 0)


def _keep_only(config: pytest.Config, items: list[pytest.Item], only: frozenset[str]) -> None:
    """Deselect every test not in ``only``."""
    dropped = [item for item in items if item.nodeid not in only]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.nodeid in only]


# --------------------------------------------------------------------------- running

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """The student's calls know the size class of the test they belong to (a timeout's reach); a traced
    grading records the lines each test ran."""
    meta = item.stash.get(META, None)
    with _lines_of(item), running_test(meta.size if meta is not None else "small",
                                       meta.name if meta is not None else item.name):
        return (yield)


@contextlib.contextmanager
def _lines_of(item: pytest.Item) -> Iterator[None]:
    """Record the lines of the submitted file the test ran, when the worker traces (``autograder mutants``)."""
    mode = item.config.stash.get(MODE, None)
    ctx = mode.context if mode is not None else None
    if ctx is None or ctx.coverage is None or not ctx.coverage.trace:
        yield
        return
    ctx.student.lines = set()
    try:
        yield
    finally:
        ctx.coverage.tests[item.nodeid] = ctx.student.lines or set()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Hidden tests run with expected values withheld from messages."""
    meta = item.stash.get(META, None)
    reveal = meta is None or meta.category == "public"
    mode = item.config.stash.get(MODE, None)
    with compare.reveal_expected(reveal, mode.device if mode is not None else "cpu"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    meta = item.stash.get(META, None)
    if meta is None:
        return report
    final = call.when == "call" or (call.when == "setup" and not report.passed)
    if final:
        result = _result(item, meta, call, report)
        ctx = _mode(item.config).context
        if ctx is not None:
            ctx.results.append(result)
            ctx.extra.test_functions[meta.name] = getattr(item, "originalname", item.name)
            extra = item.stash.get(EXTRA, None)
            if extra:
                ctx.extra.tests[meta.name] = extra
        else:
            item.config.stash[LOCAL_RESULTS].append(result)
            if report.failed and result.grader_error is None and item.config.getoption("tbstyle") == "auto":
                report.longrepr = local_failure(result)
    return report


def _result(item: pytest.Item, meta: _Meta, call: pytest.CallInfo[None], report: pytest.TestReport) -> TestResult:
    """Score one test from how its call ended."""
    doc = meta.name
    grader_error = None
    if report.passed:
        status, score, output = "passed", meta.weight, f"Passed: {doc}"
        measured = performance.feedback(item.stash.get(EXTRA, {}))
        if measured:
            output += f"\n{measured}"
    else:
        status, score = "failed", 0.0
        output, grader_error = _failure_text(call, meta)
        credit = item.stash.get(CREDIT, None)
        if credit is not None and credit.fraction is not None and grader_error is None:
            score = round(meta.weight * credit.fraction, 4)
            output += f"\nPartial credit: {score:g} of {meta.weight:g} points. {credit.note}".rstrip()
        if meta.hide_errors is not None and grader_error is None:
            output = str(meta.hide_errors)
        output = f"Failed: {doc}\n{output}"
    return TestResult(
        name=meta.name, number=meta.number, score=score, max_score=meta.weight, status=status,
        output=output, tags=meta.tags, visibility=meta.visibility, category=meta.category,
        nodeid=item.nodeid, grader_error=grader_error,
    )


_EXCEPTION_GROUP = getattr(builtins, "BaseExceptionGroup", None)


def _student_cause(exc: BaseException) -> BaseException | None:
    """The student-facing failure inside ``exc`` (also inside exception groups, e.g. Hypothesis' Flaky)."""
    if isinstance(exc, (CheckFailed, SubmissionError)):
        return exc
    if _EXCEPTION_GROUP is not None and isinstance(exc, _EXCEPTION_GROUP):
        for inner in exc.exceptions:
            found = _student_cause(inner)
            if found is not None:
                return found
    return None


def _failure_text(call: pytest.CallInfo[None], meta: _Meta) -> tuple[str, str | None]:
    """Student-facing text for a failure, and the grader error if the grader is to blame."""
    excinfo = call.excinfo
    if excinfo is None:
        return "The test did not complete.", None
    exc = excinfo.value
    cause = _student_cause(exc)
    if cause is not None:
        return str(cause), None
    if isinstance(exc, pytest.skip.Exception):
        return f"The test was skipped ({exc}) and scores 0.", None
    if isinstance(exc, AssertionError):
        if meta.category == "public":
            return str(exc) or "A check failed.", None
        return "A check of your result failed.", None
    if isinstance(exc, pytest.fail.Exception):
        return str(exc), None
    detail = f"{type(exc).__name__}: {exc}"
    tb = excinfo.traceback[-1] if excinfo.traceback else None
    where = f" at {tb.path}:{tb.lineno + 1}" if tb is not None else ""
    return GRADER_ERROR_OUTPUT, f"{detail}{where}"


# --------------------------------------------------------------------------- local summary

def pytest_report_header(config: pytest.Config) -> list[str] | None:
    mode = config.stash.get(MODE, None)
    if mode is None or mode.context is not None:
        return None
    a = mode.assignment
    return [f"assignment: {a.name} ({a.title}); seed: --ag-seed to repeat a run"]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Local mode: each test's points and the total."""
    mode = config.stash.get(MODE, None)
    if mode is None or mode.context is not None:
        return
    results: list[TestResult] = config.stash[LOCAL_RESULTS]
    if not results:
        return
    tr = terminalreporter
    tr.section("points")
    width = min(shutil.get_terminal_size((80, 24)).columns, 100)
    short = config.getoption("tbstyle") == "auto"
    for line in points_table(results, _assignment(config), width, shorten_problems=short):
        tr.write_line(line)
    seed = config.stash.get(LOCAL_SEED, None) or config.getoption("--ag-seed")
    if short and any(r.status != "passed" for r in results):
        tr.write_line("Each failure above shows what was checked, what went wrong and a hint; "
                      "`pytest --tb=long` shows full tracebacks.")
    tr.write_line(f"Total: {sum(r.score for r in results):g} / {sum(r.max_score for r in results):g} points "
                  f"(seed {seed}; rerun with --ag-seed {seed})")


PERFORMANCE_HEADING = "Performance tests: an estimate on this machine (Gradescope times them again)"
INDENT = " " * 8


def points_table(results: list[TestResult], a: Assignment, width: int = 80,
                 shorten_problems: bool = False) -> list[str]:
    """The local points table: public tests by task and test number (as the handout orders them), then
    performance tests; under each test the rest of its feedback, wrapped, never cut (except that
    ``shorten_problems`` keeps a failure's problem to one line: the failure's block above has it whole)."""
    tasks = list(a.tasks)

    def task_of(r: TestResult) -> int:
        return next((tasks.index(t) for t in r.tags if t in tasks), len(tasks))

    def key(r: TestResult) -> tuple[Any, ...]:
        number = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in r.number.split("."))
        return (r.category == "performance", task_of(r), number, r.nodeid)

    lines: list[str] = []
    heading = None
    for r in sorted(results, key=key):
        now = PERFORMANCE_HEADING if r.category == "performance" else (
            a.tasks[tasks[task_of(r)]] if task_of(r) < len(tasks) else "Other tests")
        if now != heading:
            heading = now
            lines.append(now)
        mark = "PASS" if r.status == "passed" else "FAIL"
        lines.append(f"{mark}  {r.score:5.1f} / {r.max_score:<5.1f} {r.name}")
        for i, text in enumerate(_feedback_lines(r.output)):
            if shorten_problems and i == 0 and r.status != "passed" and not text.startswith("Hint: "):
                lines.append(INDENT + _one_line(text, max(width, 60) - len(INDENT)))
                continue
            lines += textwrap.wrap(text, max(width, 60), initial_indent=INDENT, subsequent_indent=INDENT + "  ",
                                   break_long_words=False, break_on_hyphens=False) or [INDENT]
    return lines


def _one_line(problem: str, width: int) -> str:
    """``problem`` in ``width`` characters: a long call's arguments become ``...``, then the end is cut."""
    if len(problem) > width:
        problem = CALL_ARGS.sub(r"\1(...)", problem, count=1)
    return textwrap.shorten(problem, width, placeholder=" ...")


CALL_ARGS = re.compile(r"^([A-Za-z_][\w.]*)\((?:[^()]|\([^()]*\))*\)")
"""The call a failure starts with, ``softmax(<4x7 float32 tensor>, dim=1)``: its arguments are ``(...)``."""


def _feedback_lines(output: str) -> list[str]:
    """A test's feedback after its first line, with each ``Hint:`` on a line of its own."""
    lines: list[str] = []
    for line in output.splitlines()[1:]:
        problem, sep, hint = line.rpartition(" Hint: ")
        lines += [problem, f"Hint: {hint}"] if sep and problem else [line]
    return lines


def local_failure(result: TestResult) -> str:
    """The short block pytest prints for a failed test in local mode: what was checked, what went wrong, the hint.

    Never frames of the grader: the problem names the student's exception, its message and
    the line of their file (``pytest --tb=long`` still shows the full traceback).
    """
    return "\n".join([f"Checked: {result.name}", *_feedback_lines(result.output)])
