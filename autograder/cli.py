"""The ``autograder`` command: a thin layer over typed functions.

Exit codes: 0 when the command did its job (a grading completed, whatever the score);
2 for a usage error (one line naming the bad argument, never a traceback); 1 when the
grader itself failed (``grade`` still writes a valid results.json that says so) or a
check (``verify``, ``build-templates --check``) found a problem.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from .errors import AuthoringError, UsageError

DEVICE = click.Choice(["auto", "cpu", "cuda"])
ISOLATION = click.Choice(["auto", "bubblewrap", "user", "plain"])
"""``auto`` and the sandbox levels, best first (``sandbox.ISOLATION_LEVELS``)."""
DEVICE_HELP = "where the student's code runs: auto = cuda when a GPU is present, else cpu"
ISOLATION_HELP = ("sandbox for the student's code: auto = the best available (bubblewrap, else an unprivileged user "
                  "when run as root, else plain with a warning in results.json)")
EXIT_CODES = """\b
Exit codes:
  0    {ok}
  1    {failed}
  2    usage error: a bad argument, named in one line
  130  interrupted"""


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"autograder: error: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Turns our UsageError into exit 2 and AuthoringError into exit 1, one line each."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            _fail(str(exc), 2)
        except AuthoringError as exc:
            _fail(f"assignment authoring error: {exc}", 1)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.exceptions.Abort:
            _fail("aborted", 130)
        except click.UsageError as exc:
            _fail(exc.format_message().splitlines()[0], 2)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)


@click.group(cls=_Group, epilog="Exit codes: 0 done, 1 the grader failed or a check found a problem, 2 usage error, "
             "130 interrupted. Run `autograder COMMAND --help` for a command's options.")
@click.version_option(package_name="dl-autograder")
def main() -> None:
    """Grade deep-learning assignments safely: one submission, a class, or a release."""


@main.command(epilog=EXIT_CODES.format(
    ok="grading completed, whatever the score",
    failed="the grader itself failed (results.json is still written, and says so)"))
@click.argument("assignment")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--results", "results_path", type=click.Path(path_type=Path), default=Path("results.json"),
              show_default=True, help="where to write Gradescope's results.json")
@click.option("--device", type=DEVICE, default="auto", show_default=True, help=DEVICE_HELP)
@click.option("--seed", type=int, default=None, help="seed for the hidden inputs (default: fresh, recorded)")
@click.option("--isolation", type=ISOLATION, default="auto", show_default=True, help=ISOLATION_HELP)
@click.option("--select", "select", default=None, help="only tests matching this pytest -k expression")
def grade(assignment: str, submission: Path, results_path: Path, device: str, seed: int | None,
          isolation: str, select: str | None) -> None:
    """Grade one SUBMISSION (folder, .py or .zip) of ASSIGNMENT: write results.json and print a summary.

    Only ASSIGNMENT.py is taken from the submission; every other file is ignored.
    """
    from .grading import grade as run

    outcome = run(assignment, submission, results_path, device=device, seed=seed, isolation=isolation, select=select)
    click.echo(_table(outcome.result))
    click.echo(f"results: {results_path}")
    if outcome.grader_failed:
        for line in outcome.result.grader_errors[:10]:
            click.echo(f"grader error: {line}", err=True)
    _leave(1 if outcome.grader_failed else 0)


def _leave(code: int) -> NoReturn:
    """Exit now that everything is written: the interpreter's teardown of torch, pytest and hypothesis
    takes about 1 s and does nothing for us. A plain exit where something still wants the end of the
    process: a test's captured output (CliRunner), a profiler, coverage or a debugger."""
    sys.stdout.flush()
    sys.stderr.flush()
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__ and not watched:
        os._exit(code)
    sys.exit(code)


def _table(result: Any) -> str:
    """A readable summary: one line per test, then the total."""
    lines = []
    for t in result.tests:
        mark = "PASS" if t.status == "passed" else "FAIL"
        lines.append(f"{mark} {t.score:6.2f}/{t.max_score:<6.2f} {t.number:>5}  {t.name}")
        if t.status != "passed":
            first = t.output.splitlines()[1] if len(t.output.splitlines()) > 1 else t.output
            lines.append(f"{'':21}{first[:160]}")
    lines.append(result.output)
    return "\n".join(lines)


@main.command("build-templates")
@click.option("--check", "check_only", is_flag=True, help="exit 1 if student_template/ is out of date")
def build_templates(check_only: bool) -> None:
    """Regenerate student_template/ from solutions/ (or check it is in sync)."""
    from .authoring import templates

    differ = templates.build(check_only=check_only)
    for path in differ:
        click.echo(f"{'out of date' if check_only else 'wrote'}: {path}")
    if check_only and differ:
        sys.exit(1)
    if not differ:
        click.echo("student_template/ is in sync with solutions/")


@main.command()
@click.argument("assignments", nargs=-1)
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("dist"), show_default=True,
              help="folder for the zips")
def release(assignments: tuple[str, ...], out: Path) -> None:
    """Write <a>-student.zip, <a>-autograder.zip (Gradescope) and <a>-solution.zip per assignment (default: all)."""
    from . import assignment as assignment_mod
    from .authoring.release import release as run

    for name in assignments:
        assignment_mod.load(name)
    run(list(assignments) or None, out, echo=click.echo)
    click.echo(f"release: zips in {out} (student zips leak-checked)")


@main.command()
@click.argument("assignments", nargs=-1)
@click.option("--workers", type=int, default=2, show_default=True, help="gradings run side by side")
def verify(assignments: tuple[str, ...], workers: int) -> None:
    """Self-check: reference 100, stub 0, every bug caught, public tests pass locally."""
    from . import assignment as assignment_mod
    from .authoring.verification import verify as run

    for name in assignments:
        assignment_mod.load(name)
    reports = run(list(assignments) or None, workers=workers, echo=click.echo)
    bad = [r.name for r in reports if not r.ok]
    click.echo(f"verify: {'FAILED for ' + ', '.join(bad) if bad else 'all checks passed'}")
    if bad:
        sys.exit(1)


@main.command()
@click.argument("assignments", nargs=-1)
@click.option("--runs", type=click.IntRange(min=1), default=20, show_default=True,
              help="gradings of the reference's performance tests")
@click.option("--busy/--no-busy", default=True, show_default=True, help="keep another core busy during each run")
@click.option("--device", type=DEVICE, default="auto", show_default=True, help=DEVICE_HELP)
def stability(assignments: tuple[str, ...], runs: int, busy: bool, device: str) -> None:
    """Check the reference passes every performance test in every run, with a 2x margin."""
    from . import assignment as assignment_mod
    from .authoring.stability import stability as run
    from .grading import resolve_device

    for name in assignments:
        assignment_mod.load(name)
    resolve_device(device)  # cuda without a GPU: a usage error before any grading
    bad = [name for name in assignments or assignment_mod.names()
           if not run(name, runs, busy, echo=click.echo, device=device).ok]
    click.echo(f"stability: {'FAILED for ' + ', '.join(bad) if bad else 'no false failure, every margin kept'}")
    if bad:
        sys.exit(1)


@main.command("grade-batch", epilog=EXIT_CODES.format(
    ok="every submission was graded (or skipped as unchanged), whatever the scores",
    failed="some submissions ended in a grader error (listed in the gradebook; rerun to retry them)"))
@click.argument("assignment")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="folder for gradebook.csv, summary.html and each submission's results (reused to resume)")
@click.option("--workers", type=int, default=None, help="local Dask workers  [default: one per core]")
@click.option("--scheduler", default=None, help="grade on an existing Dask cluster, e.g. tcp://host:8786")
@click.option("--device", type=DEVICE, default="auto", show_default=True, help=DEVICE_HELP)
@click.option("--seed", type=int, default=None,
              help="batch seed; each submission's seed derives from it and its id (default: fresh, kept in --out)")
@click.option("--isolation", type=ISOLATION, default="auto", show_default=True, help=ISOLATION_HELP)
@click.option("--select", "select", default=None, help="only tests matching this pytest -k expression")
def grade_batch(assignment: str, submissions: Path, out: Path, workers: int | None, scheduler: str | None,
                device: str, seed: int | None, isolation: str, select: str | None) -> None:
    """Grade every submission in SUBMISSIONS (a folder, or a Gradescope export) on Dask."""
    from .batch.jobs import grade_batch as run

    report = run(assignment, submissions, out, workers=workers, scheduler=scheduler, device=device, seed=seed,
                 select=select, isolation=isolation)
    click.echo(f"graded {len(report.graded)} ({len(report.failures)} need attention), skipped {report.skipped} "
               f"unchanged, of {report.total}, in {report.seconds:.1f} s")
    click.echo(f"gradebook: {out / 'gradebook.csv'}\nsummary: {out / 'summary.html'}")
    if report.interrupted:
        _fail("interrupted: rerun the same command to grade the rest (graded submissions are kept)", 130)
    if report.grader_errors:
        _fail(f"{len(report.grader_errors)} submission(s) ended in a grader error (not a score; listed in the "
              "gradebook): rerun the same command to try them again", 1)


@main.command()
@click.argument("assignments", nargs=-1)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="gradings per submission and condition (the table shows medians)")
@click.option("--seed", type=int, default=1, show_default=True, help="the seed of every grading")
@click.option("--budget/--no-budget", "limited", default=True, show_default=True,
              help="also time the reference and the slowest entry under one CPU at 50%% and 768 MB (cgroups, root)")
@click.option("--tree", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="the grader checkout to time (default: this one), to compare two versions on one machine")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="write every run (time, score, load average) here")
@click.option("--runs", "runs_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="make the table from an earlier --json instead of grading")
@click.option("--before", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="an earlier --json: each cell shows before -> now")
def bench(assignments: tuple[str, ...], repeats: int, seed: int, limited: bool, tree: Path | None,
          json_path: Path | None, runs_path: Path | None, before: Path | None) -> None:
    """Time gradings: per assignment, the reference and its slowest bug-zoo entry (README "Grading speed")."""
    from . import assignment
    from .authoring import bench as timing

    if runs_path is not None:
        runs = timing.load(runs_path)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed bench still removes its cgroups

        def show(run: timing.Run) -> None:
            click.echo(f"{run.assignment:15} {run.subject:40} {run.condition:8} {run.seconds:7.1f} s  "
                       f"score {run.score}  load {run.load:.1f}", err=True)

        runs = timing.bench(list(assignments) or assignment.names(), repeats, seed, tree, limited, show)
    if json_path is not None:
        timing.save(runs, json_path)
    click.echo(timing.table(runs, timing.load(before) if before is not None else None))


@main.group()
def export() -> None:
    """Export assignments to other grading tools (nbgrader, otter-grader), still graded by our sandbox."""


@export.command("nbgrader")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--course-dir", "course_dir", type=click.Path(path_type=Path), required=True,
              help="the nbgrader course folder (created if missing; its nbgrader_config.py is kept and extended)")
def export_nbgrader(assignments: tuple[str, ...], course_dir: Path) -> None:
    """Write ASSIGNMENTS as nbgrader source notebooks whose `nbgrader autograde` grades in our sandbox."""
    from .authoring.nbgrader_export import export as run

    run(list(assignments), course_dir, echo=click.echo)
    click.echo(f"export nbgrader: next, in {course_dir}: nbgrader generate_assignment "
               f"{' '.join(assignments)} (then autograde as usual)")


@export.command("otter")
@click.argument("assignment")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="folder for autograder.zip (built by otter generate) and student/tests for grader.check")
@click.option("--seed", type=int, default=None, help="one seed for every grading (default: fresh per grading)")
def export_otter(assignment: str, out: Path, seed: int | None) -> None:
    """Write an otter-grader autograder.zip for ASSIGNMENT whose scores come from our sandbox."""
    from .authoring.otter_export import export as run

    run(assignment, out, seed=seed, echo=click.echo)


@main.command(epilog=EXIT_CODES.format(
    ok="every mutant was graded (or skipped as graded before), whatever the kill rate",
    failed="some mutants ended in a grader error (not counted as killed; rerun to retry them)"))
@click.argument("assignment")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="folder for mutants.json, mutants.html and each mutant's files (reused to resume)")
@click.option("--max", "max_count", type=int, default=None, help="grade a deterministic sample of this many mutants")
@click.option("--seed", type=int, default=0, show_default=True, help="picks the sample; also the grading seed")
@click.option("--workers", type=int, default=None, help="local Dask workers  [default: one per core]")
@click.option("--scheduler", default=None, help="grade on an existing Dask cluster, e.g. tcp://host:8786")
@click.option("--performance", is_flag=True, help="also run the performance tests (left out by default)")
def mutants(assignment: str, out: Path, max_count: int | None, seed: int, workers: int | None, scheduler: str | None,
            performance: bool) -> None:
    """Grade mutants of ASSIGNMENT's reference: how many wrong variants do the tests catch?"""
    from .authoring.mutants import run

    report = run(assignment, out, max_count=max_count, seed=seed, workers=workers, scheduler=scheduler,
                 performance=performance)
    rate = "n/a" if report.kill_rate is None else f"{100 * report.kill_rate:.1f}%"
    click.echo(f"{report.total} mutants: {report.killed} killed, {report.survived} survived, {report.equivalent} "
               f"equivalent, {report.errors} grader errors; kill rate {rate} ({report.graded} graded now, "
               f"{report.seconds:.1f} s)")
    for s in report.survivors:
        click.echo(f"survived: {s['id']} {s['task']} line {s['line']} {s['operator']}")
    click.echo(f"report: {out / 'mutants.json'}\nhtml: {out / 'mutants.html'}")
    if report.errors:
        _fail(f"{report.errors} mutant(s) ended in a grader error (not counted): rerun the same command to retry "
              "them", 1)
