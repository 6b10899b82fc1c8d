"""``autograder export nbgrader`` with the real nbgrader, headless: one course, four notebooks, one autograde.

The reference notebook scores 100, the stub 0, a one-task bug loses points in that task's cell
only, and a hostile notebook (it replaces sys.modules entries, patches builtins and writes fake
outputs into the graded cells) scores no more than its honest 0. Scores are read back from
nbgrader's own gradebook.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import assignment
from autograder.authoring import bugzoo
from autograder.authoring.nbgrader_export import BEGIN_BLOCK, write_config
from autograder.authoring.tasks import TASK_LINE, task_points

nbgrader_api = pytest.importorskip("nbgrader.api", reason="the [nbgrader] extra is not installed")

NAME = "softmax_nll"
SEED = 11
BUG = "no_max_shift_softmax"
STUDENTS = ("reference", "stub", "bug", "hostile")
HOSTILE_CELLS = [
    "import sys, builtins, types\nsys.modules['autograder'] = types.ModuleType('autograder')\n"
    "sys.modules['torch'] = types.ModuleType('torch')",
    "builtins.print = lambda *a, **k: None\nbuiltins.NotImplementedError = type('X', (Exception,), {})",
    "open('results.json', 'w').write('{\"score\": 100}')\nimport os\nos.environ['NBGRADER_EXECUTION'] = ''",
]


def run(cmd: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """A command with the virtual environment's bin first on PATH (nbgrader runs `alembic` from there)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} exit {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def solutions_of(source: str) -> dict[str, str]:
    """Task -> that task's code in a module's source (cut at its # Task N comments)."""
    spec = assignment.load(NAME)
    _, *pieces = TASK_LINE.split(source)
    return {task: piece.rstrip() + "\n" for task, piece in zip(spec.tasks, pieces)}


def submitted(release: dict, solutions: dict[str, str] | None, hostile: bool = False) -> dict:
    """The released notebook with its solution cells filled in (None: left as stubs)."""
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if solutions and meta.get("solution"):
            cell["source"] = solutions[meta["grade_id"].removesuffix("_solution")]
        if hostile and meta.get("grade"):  # fake outputs: every graded cell claims full points
            cell["outputs"] = [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                "data": {"text/plain": str(meta["points"])}}]
            meta["points"] = 1000
    if hostile:
        nb["cells"][1:1] = [nbformat.v4.new_code_cell(src) for src in HOSTILE_CELLS]
        for i, cell in enumerate(nb["cells"]):
            cell["id"] = f"h-{i}"
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Export, generate_assignment, four submissions, one `nbgrader autograde`, then feedback and export."""
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = 'dl101'\n")
    run([sys.executable, "-m", "autograder", "export", "nbgrader", NAME, "--course-dir", str(root)], cwd=root)
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write(f"c.SandboxGrades.seed = {SEED}\n")
    run(["nbgrader", "generate_assignment", NAME], cwd=root)
    release = json.loads((root / "release" / NAME / f"{NAME}.ipynb").read_text(encoding="utf-8"))
    spec = assignment.load(NAME)
    reference = solutions_of(spec.solution_file.read_text(encoding="utf-8"))
    bug = next(b for b in bugzoo.entries(spec) if b.name == BUG)
    notebooks = {
        "reference": submitted(release, reference),
        "stub": submitted(release, None),
        "bug": submitted(release, {**reference, "softmax": solutions_of(bugzoo.materialize(spec, bug))["softmax"]}),
        "hostile": submitted(release, None, hostile=True),
    }
    for student, nb in notebooks.items():
        folder = root / "submitted" / student / NAME
        folder.mkdir(parents=True)
        (folder / f"{NAME}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    started = time.monotonic()
    autograde = run(["nbgrader", "autograde", NAME, "--create"], cwd=root, timeout=1500)
    seconds = time.monotonic() - started
    run(["nbgrader", "generate_feedback", NAME], cwd=root)
    run(["nbgrader", "export"], cwd=root)
    grades = {}
    with nbgrader_api.Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            sub = gb.find_submission_notebook(NAME, NAME, student)
            grades[student] = ({g.name: g.score for g in sub.grades}, sub.score)
    return {"root": root, "release": release, "grades": grades, "seconds": seconds, "log": autograde.stderr}


def test_student_notebook_has_stubs_and_no_solution_or_hidden_test_text(course):
    text = json.dumps(course["release"])
    assert "BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text
    hidden = (assignment.load(NAME).tests_dir / "hidden" / "test_hidden.py").read_text(encoding="utf-8")
    secrets = [line.strip() for line in hidden.splitlines() if len(line.strip()) > 50 and '"""' not in line]
    assert secrets and not [s for s in secrets if s in text]
    reference = assignment.load(NAME).solution_file.read_text(encoding="utf-8")
    assert "out.mul_(1.4426950408889634).exp2_()" in reference and "exp2_()" not in text


def test_autograde_scores_read_from_nbgrader_gradebook(course):
    grades = course["grades"]
    points = task_points(assignment.load(NAME))
    assert grades["reference"] == (points, 100.0)
    stub_tasks, stub_total = grades["stub"]
    assert stub_total == 0 and not any(stub_tasks.get(t) for t in points)
    bug_tasks, bug_total = grades["bug"]
    assert bug_tasks["softmax"] < points["softmax"] and bug_total < 100
    assert all(bug_tasks[t] == points[t] for t in points if t != "softmax")
    hostile_tasks, hostile_total = grades["hostile"]
    assert hostile_total == 0 and not any(hostile_tasks.get(t) for t in points)


def test_feedback_and_export_show_our_grading(course):
    root = course["root"]
    feedback = (root / "feedback" / "bug" / NAME / f"{NAME}.html").read_text(encoding="utf-8")
    assert "FAIL" in feedback and "softmax" in feedback and "(seed 11)" in feedback
    with open(root / "grades.csv", encoding="utf-8", newline="") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    assert {s: float(rows[s]["score"]) for s in STUDENTS} == \
        {s: course["grades"][s][1] for s in STUDENTS} | {"reference": 100.0, "stub": 0.0, "hostile": 0.0}
    assert course["log"].count("graded in the sandbox (seed 11)") == 4


def test_config_block_is_merged_and_replaced_never_clobbering(tmp_path):
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\nc.CourseDirectory.course_id = 'x'\n")
    write_config(tmp_path, ["softmax_nll"])
    first = config.read_text()
    write_config(tmp_path, ["optim"])
    text = config.read_text()
    assert text.startswith("c = get_config()\nc.CourseDirectory.course_id = 'x'\n") and text.count(BEGIN_BLOCK) == 1
    assert "c.SandboxGrades.assignments = ['softmax_nll', 'optim']" in text
    assert re.search(r"course_seed = (\d+)", first)[1] == re.search(r"course_seed = (\d+)", text)[1]
