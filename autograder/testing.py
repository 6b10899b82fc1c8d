"""What an assignment's tests import: the one test decorator and everything a test body uses.

``@graded("2.16", points=1)`` is the whole metadata of a test. It applies gradescope-utils'
decorators underneath (``weight``, ``number``, ``tags`` and, if given, ``visibility`` and
``hide_errors``), so results.json keeps Gradescope's conventions; the tag is the folder the
test file is in (``public``, ``hidden`` or ``performance``), and the task marker
(``pytest.mark.<task>``) is the task the number's leading integer counts in the assignment's
``[tasks]`` table (``"2.16"``: the second task). A test numbered outside the task table (a
performance test, a test spanning tasks) names its task(s) with ``task=``, or ``task=PER_CASE``
when its parametrized cases carry the task marks themselves.

``size=`` is the test's size class: ``small`` (the default in tests/public and tests/hidden),
``scale`` (inputs a correct but slow algorithm may not finish: it also gets the tag ``scale``) or
``performance`` (the only class, and the default, in tests/performance). Tests run small first,
then scale, then performance; a call that times out refuses later calls of that function only
in tests of the same or a larger class, so a slow but correct function keeps its small tests.

The rest is re-exported from the modules that own it, so tests need no other import from
this package: comparisons (``compare``), timed tests (``performance``), the student handle's
types (``student``, ``worker.protocol``), the errors a test may raise or catch, shared
Hypothesis settings and dtype names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
import torch
from gradescope_utils.autograder_utils import decorators as gradescope
from hypothesis import HealthCheck, Phase, settings

from .assignment import load_folder
from .compare import (
    DEFAULT_TOLERANCES,
    describe,
    expect_close,
    expect_equal,
    expect_names,
    expect_no_history,
    expect_unchanged,
    fail,
)
from .errors import AuthoringError, CheckFailed
from .performance import scaling_test, speed_test, yardsticks
from .pytest_plugin import CATEGORIES, Credit
from .student import SIZE_CLASSES, Outcome, Student, beside
from .worker.protocol import GeneratorSpec, Opaque, Origin, origin_of

__all__ = [
    "BF16",
    "DEFAULT_TOLERANCES",
    "F16",
    "F32",
    "F64",
    "PER_CASE",
    "AuthoringError",
    "CheckFailed",
    "Credit",
    "GeneratorSpec",
    "Opaque",
    "Origin",
    "Outcome",
    "Student",
    "beside",
    "describe",
    "expect_close",
    "expect_equal",
    "expect_names",
    "expect_no_history",
    "expect_unchanged",
    "fail",
    "graded",
    "origin_of",
    "property_settings",
    "scaling_test",
    "speed_test",
    "yardsticks",
]

F16, BF16, F32, F64 = torch.float16, torch.bfloat16, torch.float32, torch.float64
"""Short dtype names for parametrizations and inputs."""

PER_CASE = "per case"
"""``task=PER_CASE``: the test's parametrized cases carry their task marks (``pytest.param(..., marks=...)``)."""

Test = TypeVar("Test", bound=Callable[..., Any])


def property_settings(max_examples: int) -> settings:
    """Hypothesis settings of every property test: reproducible, no database, no deadline, no health checks."""
    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                    phases=(Phase.explicit, Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))


def graded(number: str, points: float, *, task: str | Sequence[str] | None = None, size: str | None = None,
           visibility: str | None = None, hide_errors: str | None = None) -> Callable[[Test], Test]:
    """Mark a test as graded: its number, its points, and (derived unless given) its task, tag and size class."""
    test_file = Path(sys._getframe(1).f_globals.get("__file__") or "")

    def apply(fn: Test) -> Test:
        where = f"{test_file}::{getattr(fn, '__name__', fn)}"
        category, tasks = _metadata(test_file, number, task, where)
        fn = gradescope.weight(points)(fn)
        fn = gradescope.number(number)(fn)
        size_class = _size(category, size, where)
        fn = gradescope.tags(category, "scale")(fn) if size_class == "scale" else gradescope.tags(category)(fn)
        fn.__size__ = size_class  # type: ignore[attr-defined]
        if visibility is not None:
            fn = gradescope.visibility(visibility)(fn)
        if hide_errors is not None:
            fn = gradescope.hide_errors(hide_errors)(fn)
        for name in reversed(tasks):  # as a stack of @pytest.mark.<task> lines, the first one on top
            fn = getattr(pytest.mark, name)(fn)
        return fn

    return apply


def _metadata(test_file: Path, number: str, task: str | Sequence[str] | None, where: str) -> tuple[str, list[str]]:
    """The tag (the test's folder) and the task markers of a test in ``test_file``; AuthoringError naming ``where``."""
    if not isinstance(number, str):
        raise AuthoringError(where, f"the test number must be a string such as \"2.16\", not {number!r}")
    folder = _assignment_folder(test_file, where)
    category = _category(test_file, folder, where)
    tasks = list(load_folder(folder).tasks)
    if task is None:
        return category, [_task_of_number(number, tasks, folder, where)]
    if task == PER_CASE:
        return category, []
    named = [task] if isinstance(task, str) else list(task)
    unknown = [t for t in named if t not in tasks]
    if unknown or not named:
        raise AuthoringError(where, f"task={task!r} is not a task of {folder / 'assignment.toml'} (tasks: "
                                    f"{', '.join(tasks)}; or task=PER_CASE)")
    return category, named


def _size(category: str, size: str | None, where: str) -> str:
    """The size class: ``performance`` exactly for tests/performance, else ``small`` unless ``scale`` is given."""
    default = "performance" if category == "performance" else "small"
    if size is None or size == default:
        return default
    if size == "scale" and category != "performance":
        return size
    allowed = "performance" if category == "performance" else "small or scale"
    raise AuthoringError(where, f"size={size!r}: a test in tests/{category}/ has size {allowed} "
                                f"(size classes: {', '.join(SIZE_CLASSES)})")


def _assignment_folder(test_file: Path, where: str) -> Path:
    """The nearest folder above the test file holding an assignment.toml (the repository's or the student's)."""
    for folder in test_file.resolve().parents:
        if (folder / "assignment.toml").is_file():
            return folder
    raise AuthoringError(where, "no assignment.toml above the test file: @graded tests live in "
                                "<assignment>/tests/{public,hidden,performance}/")


def _category(test_file: Path, folder: Path, where: str) -> str:
    """``public``, ``hidden`` or ``performance``: the folder under ``tests/`` the test file is in."""
    try:
        parts = test_file.resolve().relative_to(folder / "tests").parts
    except ValueError:
        parts = ()
    for part in parts[:-1]:
        if part in CATEGORIES:
            return part
    raise AuthoringError(where, f"a graded test lives under tests/public, tests/hidden or tests/performance "
                                f"of {folder}, which gives its tag")


def _task_of_number(number: str, tasks: list[str], folder: Path, where: str) -> str:
    """The task counted by the number's leading integer (``"2.16"``: the second task of [tasks])."""
    lead = number.split(".")[0]
    if not lead.isdigit() or not 1 <= int(lead) <= len(tasks):
        raise AuthoringError(where, f"number {number!r} names no task: [tasks] of {folder / 'assignment.toml'} has "
                                    f"{len(tasks)} ({', '.join(tasks)}); number the test by its task or pass task=...")
    return tasks[int(lead) - 1]
