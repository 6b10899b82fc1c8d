"""An assignment's tasks for other tools: the reference cut into one piece per task, points and scores per task.

The reference ``solutions/<a>/<a>.py`` is cut at its ``# Task N: name`` comments: the part
before the first is the preamble (docstring, imports), then one piece per task, matched in order
to the ``[tasks]`` markers of assignment.toml. A task's points are the weights of every test
carrying its marker (public, hidden and performance), read by collecting the tests with pytest;
a test marked with several tasks counts for each an equal share.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..assignment import Assignment
from ..errors import AuthoringError
from ..pytest_plugin import CATEGORIES, META
from ..results import GradingResult

__all__ = ["TaskCode", "public_tests", "split", "task_points", "task_scores"]

TASK_LINE = re.compile(r"(?m)^(?=# Task \d+:)")


@dataclass(frozen=True)
class TaskCode:
    """The reference of one assignment cut into its preamble and one piece per task."""

    preamble: str
    tasks: dict[str, str]
    """Marker -> that task's reference code (with its solution markers), in task order."""


def split(spec: Assignment) -> TaskCode:
    """The reference cut at its ``# Task N`` comments (AuthoringError if they do not match the tasks)."""
    source = spec.solution_file.read_text(encoding="utf-8")
    preamble, *pieces = TASK_LINE.split(source)
    if len(pieces) != len(spec.tasks):
        raise AuthoringError(str(spec.solution_file), f"{len(pieces)} '# Task N:' comments for the "
                                                      f"{len(spec.tasks)} tasks of assignment.toml")
    return TaskCode(preamble.rstrip() + "\n", {task: piece.rstrip() + "\n" for task, piece in zip(spec.tasks, pieces)})


class _Collector:
    """A pytest plugin that records each collected graded test's weight and task markers."""

    def __init__(self, spec: Assignment) -> None:
        self.spec = spec
        self.points: dict[str, float] = dict.fromkeys(spec.tasks, 0.0)
        self.public: dict[str, list[tuple[str, float]]] = {task: [] for task in spec.tasks}
        """Task -> (test name as junit reports it, weight) of its public tests."""
        self.untasked: list[str] = []

    def pytest_collection_finish(self, session: Any) -> None:
        for item in session.items:
            meta = item.stash.get(META, None)
            if meta is None:
                continue
            tasks = [t for t in meta.tags if t in self.spec.tasks]
            if not tasks:
                self.untasked.append(item.nodeid)
            for task in tasks:  # a test of several tasks counts for each an equal share
                self.points[task] += meta.weight / len(tasks)
                if meta.category == "public":
                    self.public[task].append((item.name, meta.weight / len(tasks)))


def task_points(spec: Assignment) -> dict[str, float]:
    """Marker -> points of the tests carrying it, shared equally by a test's tasks (AuthoringError if none)."""
    return _collect(spec).points


def public_tests(spec: Assignment) -> dict[str, list[tuple[str, float]]]:
    """Marker -> (name, points) of each public test carrying it, as ``pytest -m <marker>`` runs them."""
    return _collect(spec).public


def _collect(spec: Assignment) -> _Collector:
    """Collect the assignment's tests with pytest (nothing runs) and record their weights and tasks."""
    import pytest

    collector = _Collector(spec)
    paths = [str(spec.tests_dir / c) for c in CATEGORIES if (spec.tests_dir / c).is_dir()]
    with tempfile.TemporaryDirectory(prefix="ag-collect-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        try:
            code = pytest.main(["-c", str(ini), "--rootdir", str(spec.tests_dir), "-p", "autograder.pytest_plugin",
                                "-p", "no:cacheprovider", "-p", "no:terminal", "--import-mode=importlib",
                                "--collect-only", *paths], plugins=[collector])
        finally:
            _forget_modules(spec.tests_dir)
            if saved is None:
                os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
            else:
                os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
    if code != 0:
        raise AuthoringError(str(spec.tests_dir), f"collecting the tests failed (pytest exit code {int(code)})")
    if collector.untasked:
        raise AuthoringError(collector.untasked[0], "a graded test must carry a task marker to be exported")
    collector.points = {task: round(points, 4) for task, points in collector.points.items()}
    return collector


def _forget_modules(folder: Path) -> None:
    """Drop the test modules imported from ``folder`` (another assignment's tests reuse their names)."""
    root = str(folder.resolve())
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(root):
            del sys.modules[name]


def task_scores(spec: Assignment, result: GradingResult) -> dict[str, float]:
    """Marker -> points earned in a grading (by the tests' task tags, shared as in ``task_points``)."""
    scores = dict.fromkeys(spec.tasks, 0.0)
    for test in result.tests:
        tasks = [tag for tag in test.tags if tag in scores]
        for task in tasks:
            scores[task] += test.score / len(tasks)
    return {task: round(score, 4) for task, score in scores.items()}
