"""``autograder export otter``: an otter-grader autograder.zip whose scores come from our sandbox.

``DIR/autograder.zip`` is built by otter's own ``otter generate`` from one placeholder test file
per task (question) worth the task's points and an otter_config.json that enables the
``SandboxScores`` plugin: ``otter run -a DIR/autograder.zip SUBMISSION`` then grades the
submission (``.py`` or ``.ipynb``) with ``autograder grade`` and reports the same total.
``DIR/student/tests/<task>.py`` are the files for the students' ``grader.check("<task>")``: one
case per public test of the task, with its points.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import assignment
from ..errors import UsageError
from .tasks import public_tests, task_points

__all__ = ["export", "placeholder_test", "student_test"]

PLUGIN = "autograder.authoring.otter_plugin.SandboxScores"


def placeholder_test(task: str, title: str, points: float) -> str:
    """The autograder's test file of one task: scored by the plugin; fails (0 points) if the plugin did not run."""
    return (f'"""{title} ({points:g} points): scored by dl-autograder\'s sandbox (SandboxScores plugin)."""\n\n'
            "from otter.test_files import test_case\n\n"
            "OK_FORMAT = False\n\n"
            f"name = {task!r}\n"
            f"points = {points!r}\n\n\n"
            f"@test_case(points={points!r}, hidden=False)\n"
            "def scored_in_dl_autograder_sandbox(env):\n"
            "    raise AssertionError(\"this question is scored by dl-autograder's SandboxScores plugin, \"\n"
            "                         \"which did not run: check the autograder's otter_config.json\")\n")


def student_test(name: str, task: str, tests: list[tuple[str, float]]) -> str:
    """The student's test file of one task: one case per public test, as ``pytest -m <task>`` counts it."""
    lines = [f'"""grader.check({task!r}): the public tests of task {task} ({sum(p for _, p in tests):g} points), '
             'run against the code of this notebook."""', "",
             "from otter.test_files import test_case", "",
             "from autograder.authoring.otter_check import check", "",
             "OK_FORMAT = False", "",
             f"name = {task!r}", f"points = {sum(p for _, p in tests)!r}", ""]
    for test, points in tests:
        lines += ["", f"@test_case(name={test!r}, points={points!r})", f"def {test}(env):",
                  f"    check({name!r}, {task!r}, {test!r}, env)", ""]
    return "\n".join(lines)


def export(name: str, out: Path, *, seed: int | None = None, echo: Callable[[str], object] = print) -> Path:
    """Write ``out/autograder.zip`` (with ``otter generate``) and ``out/student/tests``; return the zip."""
    if importlib.util.find_spec("otter") is None:
        raise UsageError("export otter needs otter-grader: pip install 'dl-autograder[otter]'")
    from otter.generate import main as generate

    spec = assignment.load(name)
    points = task_points(spec)
    public = public_tests(spec)
    out.mkdir(parents=True, exist_ok=True)
    student = out / "student" / "tests"
    student.mkdir(parents=True, exist_ok=True)
    for task in spec.tasks:
        (student / f"{task}.py").write_text(student_test(name, task, public[task]), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="ag-otter-export-") as tmp:
        tests = Path(tmp) / "tests"
        tests.mkdir()
        for task, title in spec.tasks.items():
            (tests / f"{task}.py").write_text(placeholder_test(task, title, points[task]), encoding="utf-8")
        plugin: dict[str, object] = {"assignment": name}
        if seed is not None:
            plugin["seed"] = seed
        config = Path(tmp) / "otter_config.json"
        config.write_text(json.dumps({"lang": "python", "zips": False, "pdf": False, "print_summary": True,
                                      "show_stdout": False, "plugins": [{PLUGIN: plugin}]}, indent=2),
                          encoding="utf-8")
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text("dl-autograder\n", encoding="utf-8")
        target = out / "autograder.zip"
        generate(tests_dir=str(tests), output_path=str(target), config=str(config), requirements=str(requirements),
                 overwrite_requirements=True, no_environment=True)
    echo(f"wrote {target} (otter generate) and {student}")
    return target
