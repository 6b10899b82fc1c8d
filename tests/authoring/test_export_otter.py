"""``autograder export otter`` with the real otter-grader: `otter run` totals equal `autograder grade`'s.

One module-scoped export; reference (.py), stub (.ipynb) and a bug-zoo entry (.py) graded by
`otter run -a autograder.zip`, the bug also by `autograder grade` with the same seed. The
students' `grader.check` files run the task's public tests against a notebook's cell history.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import assignment, results
from autograder.authoring import bugzoo
from autograder.authoring.tasks import public_tests

pytest.importorskip("otter", reason="the [otter] extra is not installed")
from otter.test_files.exception_test import ExceptionTestFile

NAME = "softmax_nll"
SEED = 7
BUG = "no_max_shift_softmax"


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{cmd} exit {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def cells_of(source: str) -> list[str]:
    return [p for p in re.split(r"(?m)^(?=# Task \d+:)", source) if p.strip()]


def otter_total(zip_path: Path, submission: Path, out: Path) -> dict[str, float]:
    """`otter run` of one submission: question -> score, and the total."""
    out.mkdir()
    run(["otter", "run", "-a", str(zip_path), "-o", str(out), str(submission)], cwd=out)
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    scores = {t["name"]: float(t["score"]) for t in data["tests"] if t.get("score") is not None}
    return {**scores, "total": sum(scores.values())}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("otter")
    run([sys.executable, "-m", "autograder", "export", "otter", NAME, "--out", str(root / "out"),
         "--seed", str(SEED)], cwd=root)
    spec = assignment.load(NAME)
    subs = root / "subs"
    subs.mkdir()
    (subs / "reference.py").write_text(spec.solution_file.read_text(encoding="utf-8"), encoding="utf-8")
    stub = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in
                                           cells_of(spec.template_file.read_text(encoding="utf-8"))])
    (subs / "stub.ipynb").write_text(nbformat.writes(stub), encoding="utf-8")
    bug = next(b for b in bugzoo.entries(spec) if b.name == BUG)
    (subs / "bug.py").write_text(bugzoo.materialize(spec, bug), encoding="utf-8")
    zip_path = root / "out" / "autograder.zip"
    totals = {s.stem: otter_total(zip_path, s, root / f"out-{s.stem}") for s in sorted(subs.iterdir())}
    ours = root / "ours.json"
    subprocess.run([sys.executable, "-m", "autograder", "grade", NAME, str(subs / "bug.py"), "--results", str(ours),
                    "--seed", str(SEED)], capture_output=True, timeout=900, check=True)
    data = json.loads(ours.read_text(encoding="utf-8"))
    results.validate(data)
    return {"root": root, "totals": totals, "ours": data}


def test_autograder_zip_is_built_by_otter_generate(exported):
    import zipfile

    with zipfile.ZipFile(exported["root"] / "out" / "autograder.zip") as z:
        names = set(z.namelist())
        config = json.loads(z.read("otter_config.json"))
    assert {"run_autograder", "run_otter.py", "otter_config.json", "tests/softmax.py"} <= names
    assert config["plugins"] == [{"autograder.authoring.otter_plugin.SandboxScores": {"assignment": NAME, "seed": SEED}}]


def test_otter_run_totals_equal_autograder_grade(exported):
    totals = exported["totals"]
    assert totals["reference"]["total"] == 100 and totals["stub"]["total"] == 0
    assert totals["bug"]["total"] == exported["ours"]["score"] < 100
    assert totals["bug"]["softmax"] < 15 and totals["bug"]["cross_entropy"] == 25


def test_grader_check_runs_the_public_tests_of_one_task(exported):
    spec = assignment.load(NAME)
    test_file = ExceptionTestFile.from_file(str(exported["root"] / "out" / "student" / "tests" / "softmax.py"))
    public = dict(public_tests(spec)["softmax"])
    assert test_file.possible == sum(public.values()) == 5
    test_file.run({"In": [*cells_of(spec.solution_file.read_text(encoding="utf-8")), "grader.check('softmax')"]})
    assert test_file.score == 5
    stub = ExceptionTestFile.from_file(str(exported["root"] / "out" / "student" / "tests" / "softmax.py"))
    stub.run({"In": cells_of(spec.template_file.read_text(encoding="utf-8"))})
    assert stub.score == 0 and "NotImplementedError" in stub.summary()
