"""The benchmark's table and choice of the slowest entry, on fabricated timings (no grading runs here)."""

from __future__ import annotations

from pathlib import Path

from autograder import assignment
from autograder.authoring import bench
from autograder.authoring.bench import CORES, LIMITED, REFERENCE, Run


def _run(a: str, subject: str, condition: str, seconds: float, score: float = 100.0, load: float = 1.0,
         cpu: float | None = None) -> Run:
    return Run(a, subject, condition, seconds, score, 100.0, load, cpu)


RUNS = [
    _run("optim", REFERENCE, CORES, 20.0, cpu=15.0), _run("optim", REFERENCE, CORES, 24.0, cpu=16.0),
    _run("optim", REFERENCE, CORES, 22.0, cpu=17.0),
    _run("optim", "per_element_loop", CORES, 90.0, 90.0), _run("optim", "per_element_loop", CORES, 80.0, 90.0),
    _run("optim", "other_loop", CORES, 70.0, 95.0), _run("optim", "other_loop", CORES, 200.0, 95.0),
    _run("optim", "other_loop", CORES, 60.0, 95.0),
    _run("optim", REFERENCE, LIMITED, 50.0, load=4.5), _run("optim", "per_element_loop", LIMITED, 150.0, 90.0),
    _run("dropout", REFERENCE, CORES, 8.0, load=2.0), _run("dropout", REFERENCE, LIMITED, 16.0, 97.0, load=3.0),
]


def test_slowest_is_by_median_not_by_one_outlier() -> None:
    assert bench.slowest(RUNS, "optim") == "per_element_loop"
    assert bench.slowest(RUNS, "dropout") is None


def test_table_has_one_row_per_assignment_with_medians_scores_and_loads() -> None:
    lines = bench.table(RUNS).splitlines()
    assert len(lines) == 4 and lines[0].startswith("| Assignment |")
    optim = lines[2].split(" | ")
    assert optim[1] == "22.0 s (cpu 16.0 s)"
    assert optim[2] == "85.0 s (per_element_loop)"
    assert optim[3:5] == ["50.0 s", "150.0 s"]
    assert optim[5] == "100, 90" and optim[6].rstrip(" |") == "1.0-4.5"
    dropout = lines[3].split(" | ")
    assert dropout[2] == "-" and dropout[5] == "97/100 (differ!)"


def test_table_beside_an_earlier_benchmark_shows_before_and_after() -> None:
    before = [Run(r.assignment, r.subject, r.condition, r.seconds * 2, r.score, r.max_score, r.load,
                  None if r.cpu_seconds is None else r.cpu_seconds * 2) for r in RUNS]
    optim = bench.table(RUNS, before).splitlines()[2].split(" | ")
    assert optim[1] == "44.0 -> 22.0 s (cpu 32.0 -> 16.0 s)"
    assert optim[3] == "100.0 -> 50.0 s"


def test_runs_survive_a_json_round_trip(tmp_path: Path) -> None:
    bench.save(RUNS, tmp_path / "runs.json")
    assert bench.load(tmp_path / "runs.json") == RUNS


def test_subjects_are_the_reference_and_the_slow_but_correct_entries() -> None:
    spec = assignment.load("optim")
    names = [name for name, _ in bench.subjects(spec)]
    assert names[0] == REFERENCE and "per_element_loop" in names
    assert all(source.strip() for _, source in bench.subjects(spec))
