"""``SandboxScores``: an otter-grader plugin that scores each question with dl-autograder's sandbox.

``autograder export otter`` lists it in the autograder.zip's otter_config.json. Before otter
executes a submission, the plugin grades the submitted file with ``autograder grade`` in a
subprocess (the sandbox, the same tests and seed), then hands otter an empty notebook to execute:
none of the student's code runs in otter's grading process or kernel. After otter has run the
placeholder test files, it sets each question's (task's) score to the points our grading gave it,
so otter's total equals ``autograder grade``'s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from otter.plugins import AbstractOtterPlugin

from .. import assignment
from .tasks import task_scores

__all__ = ["SandboxScores"]


class SandboxScores(AbstractOtterPlugin):  # type: ignore[misc]
    """Grades the submission in the sandbox before otter runs anything, then overrides each question's score."""

    graded: dict[str, Any] | None = None

    def before_execution(self, submission: Any) -> Any:
        """Grade the submitted file in the sandbox; give otter nothing of the student's to execute."""
        config = dict(self.plugin_config or {})
        name = str(config["assignment"])
        with tempfile.TemporaryDirectory(prefix="ag-otter-") as tmp:
            out = Path(tmp) / "results.json"
            cmd = [sys.executable, "-m", "autograder", "grade", name, str(self.submission_path), "--results", str(out),
                   "--isolation", str(config.get("isolation", "auto")), "--device", str(config.get("device", "auto"))]
            if config.get("seed") is not None:
                cmd += ["--seed", str(int(config["seed"]))]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp,
                                  timeout=int(config.get("timeout", 3600)))
            if proc.returncode != 0 or not out.is_file():
                raise RuntimeError(f"dl-autograder could not grade {self.submission_path} (exit {proc.returncode}): "
                                   f"{proc.stderr.strip()[-2000:]}")
            self.graded = dict(json.loads(out.read_text(encoding="utf-8")))
        return nbformat.v4.new_notebook()

    def after_grading(self, results: Any) -> None:
        """Each question's score is its task's points in our grading; our feedback is the output."""
        if self.graded is None:
            raise RuntimeError("SandboxScores: the submission was not graded (otter skipped before_execution)")
        spec = assignment.load(str(self.plugin_config["assignment"]))
        for task, score in task_scores(spec, self.graded).items():
            results.update_score(task, score)
        results.set_output(str(self.graded.get("output", "")))
        results.set_plugin_data(type(self).__module__ + "." + type(self).__name__, {
            "score": self.graded["score"], "seed": self.graded.get("extra_data", {}).get("seed")})

    def generate_report(self) -> str:
        """The summary our grading wrote, printed in otter's plugin report."""
        return str((self.graded or {}).get("output", ""))
