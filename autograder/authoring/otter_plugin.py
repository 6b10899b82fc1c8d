"""``SandboxScores``: an otter-grader plugin that scores each question with dl-autograder's sandbox.

``autograder export otter`` lists it in the autograder.zip's otter_config.json. Before otter
executes a submission, the plugin grades the submitted file with ``autograder grade`` in a
subprocess (the sandbox, the same tests and seed), then hands otter an empty notebook to execute:
none of the student's code runs in otter's grading process or kernel. After otter has run the
placeholder test files, it sets each question's (task's) score to the points our grading gave it,
so otter's total equals ``autograder grade``'s.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import nbformat
from otter.plugins import AbstractOtterPlugin

from .. import assignment
from ..results import GradingResult
from ..runner import grade_subprocess
from .tasks import task_scores

__all__ = ["SandboxScores"]


class SandboxScores(AbstractOtterPlugin):  # type: ignore[misc]
    """Grades the submission in the sandbox before otter runs anything, then overrides each question's score."""

    graded: GradingResult | None = None

    def before_execution(self, submission: Any) -> Any:
        """Grade the submitted file in the sandbox; give otter nothing of the student's to execute."""
        config = dict(self.plugin_config or {})
        name = str(config["assignment"])
        with tempfile.TemporaryDirectory(prefix="ag-otter-") as tmp:
            seed = config.get("seed")
            run = grade_subprocess(name, Path(self.submission_path), Path(tmp) / "results.json",
                                   seed=None if seed is None else int(seed),
                                   isolation=str(config.get("isolation", "auto")),
                                   device=str(config.get("device", "auto")), timeout=int(config.get("timeout", 3600)),
                                   cwd=Path(tmp))
            if run.exit_code != 0 or run.result is None:
                raise RuntimeError(f"dl-autograder could not grade {self.submission_path} (exit {run.exit_code}): "
                                   f"{run.stderr.strip()[-2000:]}")
            self.graded = run.result
        return nbformat.v4.new_notebook()

    def after_grading(self, results: Any) -> None:
        """Each question's score is its task's points in our grading; our feedback is the output."""
        if self.graded is None:
            raise RuntimeError("SandboxScores: the submission was not graded (otter skipped before_execution)")
        spec = assignment.load(str(self.plugin_config["assignment"]))
        for task, score in task_scores(spec, self.graded).items():
            results.update_score(task, score)
        results.set_output(self.graded.output)
        results.set_plugin_data(type(self).__module__ + "." + type(self).__name__, {
            "score": self.graded.score, "seed": self.graded.extra_data.seed})

    def generate_report(self) -> str:
        """The summary our grading wrote, printed in otter's plugin report."""
        return self.graded.output if self.graded is not None else ""
