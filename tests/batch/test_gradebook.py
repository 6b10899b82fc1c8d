"""The gradebook: one row per student, one column per test, errors never a 0."""

from __future__ import annotations

import csv
import hashlib
import json

from autograder import results
from autograder.batch import gradebook
from autograder.batch.roster import Student, Submission


def graded_files(folder, sub_id, scores, status="graded", message=""):
    """Write a submission's manifest and results.json as a batch would."""
    tests = [results.TestResult(name=f"test {i}", number=f"1.{i}", score=s, max_score=2.0,
                                status="passed" if s == 2.0 else "failed", output="", tags=["public"],
                                visibility="visible", category="public") for i, s in enumerate(scores, 1)]
    data = results.to_gradescope(results.GradingResult(tests, 1.0, "summary"))
    target = folder / sub_id
    target.mkdir(parents=True)
    if scores:
        (target / "results.json").write_text(json.dumps(data))
    manifest = {"status": status, "message": message, "seconds": 3.5, "key": {"seed": 1}}
    (target / "manifest.json").write_text(json.dumps(manifest))


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_rows_columns_and_statuses(tmp_path):
    subs = tmp_path / "submissions"
    graded_files(subs, "ada", [2.0, 1.0])
    graded_files(subs, "pair", [0.0, 2.0])
    graded_files(subs, "broken", [2.0, 2.0], status="grader error", message="pytest exited with INTERRUPTED")
    graded_files(subs, "badzip", [], status="unreadable submission", message="not a readable zip")
    roster = [Submission("ada", tmp_path, (Student("Ada", "ada@x.edu", "1"),)),
              Submission("pair", tmp_path, (Student("One", "", "2"), Student("Two", "", "3"))),
              Submission("broken", tmp_path), Submission("badzip", tmp_path), Submission("waiting", tmp_path)]
    rows = gradebook.rows(roster, subs)
    gradebook.write(tmp_path / "gradebook.csv", rows)
    table = read(tmp_path / "gradebook.csv")
    assert list(table[0]) == [*gradebook.FIXED_COLUMNS, "1.1 test 1", "1.2 test 2"]
    by = {(r["submission"], r["sid"]): r for r in table}
    assert len(table) == 6
    assert by["ada", "1"]["name"] == "Ada" and by["ada", "1"]["total"] == "3" and by["ada", "1"]["max_total"] == "4"
    assert by["ada", "1"]["1.2 test 2"] == "1"
    assert by["pair", "2"]["total"] == by["pair", "3"]["total"] == "2"
    # a grader error keeps its results.json for staff, but is not a score
    assert by["broken", ""]["status"] == "grader error: pytest exited with INTERRUPTED"
    assert by["broken", ""]["total"] == "" and by["broken", ""]["1.1 test 1"] == ""
    assert by["badzip", ""]["status"].startswith("unreadable submission") and by["badzip", ""]["total"] == ""
    assert by["waiting", ""]["status"] == "not graded yet" and by["waiting", ""]["total"] == ""
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_text_cells_cannot_become_spreadsheet_formulas(tmp_path):
    subs = tmp_path / "submissions"
    graded_files(subs, "x", [2.0])
    rows = gradebook.rows([Submission("x", tmp_path, (Student("=HYPERLINK(1)", "@a", "+1"),))], subs)
    gradebook.write(tmp_path / "g.csv", rows)
    row = read(tmp_path / "g.csv")[0]
    assert row["name"] == "'=HYPERLINK(1)" and row["email"] == "'@a" and row["sid"] == "'+1"


def test_results_rewritten_after_grading_are_not_trusted(tmp_path):
    """A results.json whose sha256 is not the manifest's (e.g. rewritten by a process at plain isolation)."""
    subs = tmp_path / "submissions"
    graded_files(subs, "x", [0.0])
    manifest_path, results_path = subs / "x" / "manifest.json", subs / "x" / "results.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["results_sha256"] = hashlib.sha256(results_path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    row = gradebook.rows([Submission("x", tmp_path)], subs)[0]
    assert row.graded and row.total == 0 and not row.changed
    results_path.write_text('{"score": 100.0, "output": "forged", "tests": []}')
    row = gradebook.rows([Submission("x", tmp_path)], subs)[0]
    assert row.changed and not row.graded and row.total is None and row.status == gradebook.CHANGED
    gradebook.write(tmp_path / "g.csv", [row])
    assert read(tmp_path / "g.csv")[0]["total"] == ""
