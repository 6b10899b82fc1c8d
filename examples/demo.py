"""``make demo``: grade a few example submissions per assignment and show what each one shows.

The submissions listed in ``examples/demo.toml`` are laid out as a class folder per assignment
under ``examples-out/<a>/submissions/`` and graded by ``autograder grade-batch`` itself, every
batch on one local Dask cluster (each grading is a real ``autograder grade`` in the sandbox);
each batch writes ``gradebook.csv`` and ``summary.html`` under ``examples-out/<a>/graded/``.
Then one table: each submission's score, whether it is the expected one, and what it shows.
Exit status 1 if any score is not as expected.

    python examples/demo.py [--out examples-out] [--workers 2] [assignment ...]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder import assignment
from autograder.authoring import bugzoo
from autograder.results import read_results

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLES = Path(__file__).resolve().parent
SEED = 2026
"""The batch seed: the demo grades the same hidden inputs at every run."""


@dataclass(frozen=True)
class Example:
    """One example submission of an assignment, as listed in demo.toml."""

    assignment: str
    id: str
    source: str
    expect: str
    shows: str


def examples(path: Path = EXAMPLES / "demo.toml") -> list[Example]:
    """Every example of demo.toml, in file order."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Example(name, str(e["id"]), str(e["from"]), str(e["expect"]), str(e["shows"]))
            for name, entries in data.items() for e in entries]


def source(example: Example) -> str:
    """The submission's code: the reference, a bug-zoo entry, or the reference with an examples/ file appended."""
    spec = assignment.load(example.assignment)
    if example.source == "reference":
        return bugzoo.reference_source(spec)
    if example.source.startswith("bugzoo:"):
        name = example.source.removeprefix("bugzoo:")
        bugs = {b.name: b for b in bugzoo.entries(spec)}
        if name not in bugs:
            raise SystemExit(f"demo.toml: {example.assignment} has no bug-zoo entry {name!r}")
        return bugzoo.materialize(spec, bugs[name])
    if example.source.startswith("reference+"):
        extra = (EXAMPLES / example.source.removeprefix("reference+")).read_text(encoding="utf-8")
        return bugzoo.reference_source(spec) + "\n\n" + extra
    raise SystemExit(f"demo.toml: {example.assignment}/{example.id}: unknown from = {example.source!r}")


def lay_out(name: str, entries: list[Example], folder: Path) -> None:
    """One sub-folder ``<id>/`` per example in ``folder`` (emptied first), holding the assignment's file."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    module = assignment.load(name).module_file
    for e in entries:
        (folder / e.id).mkdir()
        (folder / e.id / module).write_text(source(e), encoding="utf-8")


def score(graded: Path, example: Example) -> tuple[float, float] | None:
    """(score, max) from the submission's results.json, or None if it has none."""
    path = graded / "submissions" / example.id / "results.json"
    if not path.is_file():
        return None
    result = read_results(path)
    return result.score, sum(t.max_score for t in result.tests)


def as_expected(example: Example, result: tuple[float, float] | None) -> bool:
    """A full score where one is expected, points lost where a flaw is."""
    if result is None:
        return False
    got, top = result
    return got >= top - 1e-9 if example.expect == "full" else got < top - 1e-9


def grade_batch(name: str, entries: list[Example], out: Path, scheduler: str) -> subprocess.Popen[bytes]:
    """Start ``autograder grade-batch`` on one assignment's examples, its output to ``<out>/<a>/grade-batch.log``."""
    subs, graded = out / name / "submissions", out / name / "graded"
    lay_out(name, entries, subs)
    shutil.rmtree(graded, ignore_errors=True)  # grade afresh: a rerun would skip unchanged submissions
    with (out / name / "grade-batch.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "autograder", "grade-batch", name, str(subs), "--out",
                                 str(graded), "--scheduler", scheduler, "--seed", str(SEED)],
                                stdout=log, stderr=subprocess.STDOUT)


@contextlib.contextmanager
def cluster(workers: int) -> Iterator[str]:
    """A local Dask cluster of single-thread worker processes, as grade-batch starts; yields its address."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as local:
        yield str(local.scheduler_address)


def main(argv: list[str] | None = None) -> int:
    """Grade the examples, print the table; 1 if a score is not the expected one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="only these assignments (default: all in demo.toml)")
    parser.add_argument("--out", type=Path, default=Path("examples-out"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    todo = [e for e in examples() if not args.assignments or e.assignment in args.assignments]
    names = list(dict.fromkeys(e.assignment for e in todo))
    start = time.monotonic()
    with cluster(args.workers) as scheduler:  # one Dask cluster, kept busy by every batch at once
        running = [(name, grade_batch(name, [e for e in todo if e.assignment == name], args.out, scheduler))
                   for name in names]
        print(f"grading {len(todo)} submissions of {len(names)} assignments on {args.workers} Dask workers",
              flush=True)
        for name, proc in running:
            proc.wait()
            log = (args.out / name / "grade-batch.log").read_text(encoding="utf-8")
            print(f"== {name} (grade-batch exit status {proc.returncode})")
            print("\n".join(ln for ln in log.splitlines() if ln.startswith(("[", "graded ", "grade-batch:"))))
    rows = [(e, score(args.out / e.assignment / "graded", e)) for e in todo]
    print(table(rows))
    print(f"\n{len(rows)} submissions graded in {time.monotonic() - start:.0f} s. Open the summaries:")
    for name in names:
        print(f"  {args.out / name / 'graded' / 'summary.html'}   (gradebook.csv beside it)")
    bad = [e for e, r in rows if not as_expected(e, r)]
    if bad:
        print("NOT AS EXPECTED: " + ", ".join(f"{e.assignment}/{e.id}" for e in bad))
    return 1 if bad else 0


def table(rows: list[tuple[Example, tuple[float, float] | None]]) -> str:
    """The score table: assignment, submission, score, expected or not, what it shows."""
    lines = [f"\n{'assignment':<15}{'submission':<22}{'score':>14}  {'ok':<4}what it shows", "-" * 110]
    for e, r in rows:
        got = "no result" if r is None else f"{r[0]:g} / {r[1]:g}"
        lines.append(f"{e.assignment:<15}{e.id:<22}{got:>14}  {'yes' if as_expected(e, r) else 'NO':<4}{e.shows}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
