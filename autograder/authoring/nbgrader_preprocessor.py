"""``SandboxGrades``: nbgrader's Execute step, replaced by a grading in our sandbox for our assignments.

``nbgrader autograde`` first sanitizes a submitted notebook (clears its outputs, restores the
locked cells from the source), then runs its autograde preprocessors; the course's
``nbgrader_config.py`` (``autograder export nbgrader``) puts this class where ``Execute`` was.
For an assignment it knows, it never starts the student's kernel: it writes the sanitized
notebook to a private folder and runs ``autograder grade`` on it in a subprocess (the notebook
rule picks the code, which then runs only in the sandbox), then writes each task's points into
its graded cell as the cell's result and the task's feedback as its text, so nbgrader's own
SaveAutoGrades records per-task partial credit in the gradebook and generate_feedback shows our
feedback. Any other assignment of the course is executed by nbgrader as before.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode

from .. import assignment, seeds
from ..results import GradingResult
from ..runner import grade_subprocess
from .tasks import task_scores

__all__ = ["SandboxGrades", "with_sandbox"]

OUTPUT_PER_TEST = 1500
"""Characters of one failed test's feedback shown in its graded cell."""


def with_sandbox(config: Any) -> list[Any]:
    """The course's autograde preprocessors with nbgrader's Execute replaced by SandboxGrades."""
    current = (config.Autograde["autograde_preprocessors"] if "autograde_preprocessors" in config.Autograde
               else Autograde.class_traits()["autograde_preprocessors"].default())
    ours = f"{__name__}.SandboxGrades"
    out = []
    for pp in current:
        is_execute = pp is Execute or pp in ("nbgrader.preprocessors.Execute", "nbgrader.preprocessors.execute.Execute")
        out.append(ours if is_execute else pp)
    if ours not in out:
        out.insert(0, ours)
    return out


class SandboxGrades(Execute):  # type: ignore[misc]
    """Grades our assignments with ``autograder grade`` instead of running the student's kernel."""

    assignments = List(Unicode(), help="nbgrader assignment ids graded by dl-autograder (each is the "
                                       "dl-autograder assignment of the same name)").tag(config=True)
    course_seed = Integer(0, help="each student's seed derives from this and the student id").tag(config=True)
    seed = Integer(None, allow_none=True, help="one seed for every student (reproducing a grading)").tag(config=True)
    isolation = Unicode("auto", help="autograder grade --isolation").tag(config=True)
    device = Unicode("auto", help="autograder grade --device").tag(config=True)
    grading_timeout = Integer(3600, help="seconds one grading may take").tag(config=True)

    def preprocess(self, nb: Any, resources: dict[str, Any], *args: Any, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        info = resources.get("nbgrader", {})
        name = info.get("assignment")
        if name not in self.assignments:
            return super().preprocess(nb, resources, *args, **kwargs)
        student = str(info.get("student", ""))
        seed = self.seed if self.seed is not None else _student_seed(self.course_seed, name, student)
        data = self._grade(nb, name, seed)
        spec = assignment.load(name)
        fill(nb, spec, data)
        self.log.info("dl-autograder: %s of %s graded in the sandbox (seed %d): %g / %g", student, name, seed,
                      data.score, data.max_score)
        return nb, resources

    def _grade(self, nb: Any, name: str, seed: int) -> GradingResult:
        """``autograder grade`` of the notebook in a subprocess: its result (RuntimeError if it failed)."""
        with tempfile.TemporaryDirectory(prefix="ag-nbgrader-") as tmp:
            notebook = Path(tmp) / f"{name}.ipynb"
            nbformat.write(nb, str(notebook))
            run = grade_subprocess(name, notebook, Path(tmp) / "results.json", seed=seed, isolation=self.isolation,
                                   device=self.device, timeout=self.grading_timeout, cwd=Path(tmp))
            if run.exit_code != 0 or run.result is None:
                raise RuntimeError(f"dl-autograder could not grade this notebook (exit {run.exit_code}): "
                                   f"{run.stderr.strip()[-2000:]}")
            return run.result


def _student_seed(course_seed: int, name: str, student: str) -> int:
    """A student's seed: fixed per course, assignment and student, so a regrade repeats the grading."""
    return seeds.derive(31, course_seed, name, student)


def fill(nb: Any, spec: assignment.Assignment, data: GradingResult) -> None:
    """Write the summary into the preamble cell and each task's points and feedback into its graded cell."""
    scores = task_scores(spec, data)
    summary = f"{data.output}\n(seed {data.extra_data.seed})\n"
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("grade_id") == "preamble":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=summary)]
        elif meta.get("grade") and meta.get("grade_id") in scores:
            task = meta["grade_id"]
            score = min(scores[task], float(meta.get("points", 0)))
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=_feedback(data, task)),
                nbformat.v4.new_output("execute_result", data={"text/plain": f"{score:g}"}, execution_count=1),
            ]
            cell.execution_count = 1


def _feedback(data: GradingResult, task: str) -> str:
    """One task's tests as the student may see them: a line each, and a failed test's feedback."""
    lines = []
    for test in data.tests:
        if task not in test.tags or test.visibility == "hidden":
            continue
        mark = "PASS" if test.status == "passed" else "FAIL"
        lines.append(f"{mark} {test.score:g}/{test.max_score:g}  {test.name}")
        if test.status != "passed" and test.output:
            lines += ["    " + line for line in test.output[:OUTPUT_PER_TEST].splitlines()]
    return "\n".join(lines) + "\n" if lines else "(no test of this task is shown)\n"
