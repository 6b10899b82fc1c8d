"""The grading-speed benchmark behind README "Grading speed": wall times of real gradings.

For each assignment it grades the reference and every slow-but-correct bug-zoo entry (those
with a declared ``score``: the Python-loop variants, the slowest submissions the zoo has)
with ``autograder grade`` in a fresh process, ``repeats`` times, on the machine as it is
("2 cores" when run on this project's machines). Then the reference and the slowest of
those entries are graded again under the Gradescope-like budget (one CPU at 50%, 768 MB;
``autograder.budget``). Every run records its wall time, its score and the 1-minute load
average when it started, so a figure taken on a busy machine says so. ``table`` turns the
runs into the README's Markdown table (medians), optionally beside an earlier benchmark.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import assignment, results
from . import budget, bugzoo

__all__ = ["CORES", "LIMITED", "REFERENCE", "Run", "bench", "load", "save", "slowest", "table"]

CORES = "2 cores"
LIMITED = "budget"
REFERENCE = "reference"
SLOWEST = "<slowest>"


@dataclass(frozen=True)
class Run:
    """One timed grading."""

    assignment: str
    subject: str
    """``reference`` or a bug-zoo entry's name."""
    condition: str
    """``CORES`` (the machine as it is) or ``LIMITED`` (the Gradescope-like budget)."""
    seconds: float
    score: float | None
    """None when no results.json was written."""
    max_score: float | None
    load: float
    """The 1-minute load average when the run started."""
    cpu_seconds: float | None = None
    """CPU time of the grading, worker included (cgroup cpuacct): what others' load does not inflate."""


def subjects(spec: assignment.Assignment) -> list[tuple[str, str]]:
    """(name, module source) of the reference and of each slow-but-correct bug-zoo entry."""
    found = [(REFERENCE, bugzoo.reference_source(spec))]
    return found + [(bug.name, bugzoo.materialize(spec, bug)) for bug in bugzoo.entries(spec) if bug.score is not None]


def _grade_once(tree: Path, spec: assignment.Assignment, folder: Path, condition: str, seed: int,
                name: str) -> Run:
    """Grade ``folder`` once with the grader in ``tree`` and time it."""
    out = folder / "results.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "autograder", "grade", spec.name, str(folder), "--results", str(out),
           "--seed", str(seed)]
    env = dict(os.environ, PYTHONPATH=str(tree))
    load_now = os.getloadavg()[0]
    ran = budget.run(cmd, budget.GRADESCOPE if condition == LIMITED else None, env=env, cwd=tree)
    score = max_score = None
    if out.is_file():
        graded = results.read_results(out)
        score, max_score = graded.score, graded.max_score
    cpu = None if ran.cpu_seconds is None else round(ran.cpu_seconds, 2)
    return Run(spec.name, name, condition, round(ran.wall_seconds, 2), score, max_score, round(load_now, 2), cpu)


def slowest(runs: Iterable[Run], name: str, condition: str = CORES) -> str | None:
    """The bug-zoo entry of assignment ``name`` with the largest median time under ``condition``."""
    times: dict[str, list[float]] = {}
    for r in runs:
        if r.assignment == name and r.condition == condition and r.subject != REFERENCE:
            times.setdefault(r.subject, []).append(r.seconds)
    return max(times, key=lambda s: statistics.median(times[s])) if times else None


def bench(names: Sequence[str], repeats: int = 3, seed: int = 1, tree: Path | None = None, limited: bool = True,
          progress: Callable[[Run], None] | None = None) -> list[Run]:
    """Time the gradings of each assignment (see the module's docstring) and return every run."""
    tree = (tree or assignment.repo_root()).resolve()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="ag-bench-") as tmp:
        for name in names:
            spec = assignment.load(name)
            folders: dict[str, Path] = {}
            for subject, source in subjects(spec):
                folders[subject] = Path(tmp) / name / subject
                folders[subject].mkdir(parents=True)
                (folders[subject] / spec.module_file).write_text(source, encoding="utf-8")
            todo = [(subject, CORES) for subject in folders]
            if limited:
                todo += [(REFERENCE, LIMITED), (SLOWEST, LIMITED)]
            for subject, condition in todo:
                if subject == SLOWEST:
                    subject = slowest(runs, name) or ""
                    if not subject:
                        continue
                for _ in range(repeats):
                    run = _grade_once(tree, spec, folders[subject], condition, seed, subject)
                    runs.append(run)
                    if progress is not None:
                        progress(run)
    return runs


def _median(runs: list[Run]) -> float | None:
    return statistics.median(r.seconds for r in runs) if runs else None


def _cell(runs: list[Run], before: list[Run] | None) -> str:
    """``12.3 s (cpu 9.1 s)``: medians of wall and CPU time; ``20.1 -> 12.3 s (cpu ...)`` beside an earlier run."""
    now = _median(runs)
    if now is None:
        return "-"
    text = f"{now:.1f} s"
    then = _median(before or [])
    if before is not None and then is not None:
        text = f"{then:.1f} -> {text}"
    cpu_now = _median_cpu(runs)
    if cpu_now is not None:
        cpu_then = _median_cpu(before or []) if before is not None else None
        text += f" (cpu {cpu_then:.1f} -> {cpu_now:.1f} s)" if cpu_then is not None else f" (cpu {cpu_now:.1f} s)"
    return text


def _median_cpu(runs: list[Run]) -> float | None:
    cpu = [r.cpu_seconds for r in runs if r.cpu_seconds is not None]
    return statistics.median(cpu) if cpu else None


def table(runs: list[Run], before: list[Run] | None = None) -> str:
    """The README's Markdown table: per assignment, medians of the reference and its slowest entry."""
    head = ["Assignment", f"reference, {CORES}", f"slowest bug-zoo entry, {CORES}", f"reference, {LIMITED}",
            f"slowest entry, {LIMITED}", "scores (reference, entry)", "load average (1 min)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in dict.fromkeys(r.assignment for r in runs):
        mine = [r for r in runs if r.assignment == name]
        earlier = [r for r in before or [] if r.assignment == name] if before is not None else None
        worst = slowest(mine, name)

        def pick(subject: str | None, condition: str, rs: list[Run] | None) -> list[Run] | None:
            if rs is None:
                return None
            return [r for r in rs if r.subject == subject and r.condition == condition]

        cells = [name]
        for subject, condition in ((REFERENCE, CORES), (worst, CORES), (REFERENCE, LIMITED), (worst, LIMITED)):
            cells.append(_cell(pick(subject, condition, mine) or [], pick(subject, condition, earlier)))
        if worst:
            cells[2] = f"{cells[2]} ({worst})"
        cells.append(", ".join(_scores(mine, s) for s in (REFERENCE, worst) if s))
        loads = [r.load for r in mine]
        cells.append(f"{min(loads):.1f}-{max(loads):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _scores(runs: list[Run], subject: str) -> str:
    """``100`` when every run of ``subject`` (both conditions) scored the same, else each distinct score."""
    scores = sorted({r.score for r in runs if r.subject == subject}, key=lambda s: -1 if s is None else s)
    text = "/".join("none" if s is None else f"{s:g}" for s in scores)
    return text if len(scores) == 1 else f"{text} (differ!)"


def save(runs: list[Run], path: Path) -> None:
    """Write the runs as JSON (one object per run)."""
    path.write_text(json.dumps([asdict(r) for r in runs], indent=1) + "\n", encoding="utf-8")


def load(path: Path) -> list[Run]:
    """Read runs written by ``save``."""
    return [Run(**raw) for raw in json.loads(path.read_text(encoding="utf-8"))]
