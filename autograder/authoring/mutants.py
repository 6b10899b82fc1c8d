"""``autograder mutants``: how many wrong variants of the reference do the tests catch?

Mutants are made by cosmic-ray's operators (its core ones and ours, ``dl/*`` in
``mutation_operators``) in the reference's solution regions only, the code a student writes.
A mutant's id hashes its operator, its place (line, column) and its rank among that operator's
mutations at that place, so the ids of ``assignments/<a>/mutants.toml`` stay valid for as long
as the reference does not change there.

Every mutant is graded by the real grader (public and hidden tests; performance tests only with
``--performance``) on the Dask engine of ``grade-batch``: a Dask task is a chunk of mutants that
one trusted process (``python -m autograder.authoring.mutants CHUNK``) grades in turn, each in its
own fresh sandboxed worker, so a mutant pays no Python, pytest and torch start-up of its own.
Without ``--performance``, the reference is graded once first with the worker tracing lines
(``selection``): a mutant then runs only the tests that reach its mutated statement, and every
other test keeps the reference's result, which is what it would score (the mutant never runs there).
Each mutant's folder under ``--out`` has the mutant file, its results.json and a manifest keyed
like grade-batch's (mutant content, grader version, seed, selection): a rerun regrades nothing
already graded under the same key.
"""

from __future__ import annotations

import ast
import datetime
import difflib
import functools
import hashlib
import json
import math
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .. import assignment, results, runner, sandbox
from ..batch import jobs as batch
from ..batch.progress import Progress
from ..errors import AuthoringError, UsageError
from . import templates
from .selection import Reach, merged, statement_lines, tests_reaching

__all__ = [
    "EXCLUDED_OPERATORS", "Mutant", "MutantsReport", "enumerate_mutants", "equivalents", "reference_file",
    "run", "sample",
]

EXCLUDED_OPERATORS = frozenset({"core/NoOp", "core/VariableReplacer", "core/VariableInserter"})
"""cosmic-ray operators left out: the no-op, and the two that pick their replacement at random (no stable id)."""
NOT_PERFORMANCE = "not performance"
"""The pytest -k expression that leaves the performance tests out (their folder is ``performance/``)."""
CHUNK_MAX = 32
"""Most mutants one trusted process grades in turn (a crash of that process loses at most these)."""
PARALLEL_MUTATIONS = 64
"""From this many mutants on, they are made in a process pool (a walk of the tree takes about 40 ms each)."""
"""Most mutants one trusted process grades in turn (a crash of that process loses at most these)."""


@dataclass(frozen=True)
class Mutant:
    """One mutation of the reference: where, by which operator, and the mutated file."""

    id: str
    operator: str
    task: str
    line: int
    column: int
    occurrence: int
    """cosmic-ray's occurrence: the index among this operator's mutations of the whole file."""


@dataclass
class MutantsReport:
    """What a mutants run found (the fields of mutants.json, without the per-mutant list)."""

    assignment: str
    seed: int
    total: int
    killed: int
    survived: int
    equivalent: int
    errors: int
    kill_rate: float | None
    out: Path
    graded: int = 0
    """Mutants graded by this run (the rest were current in ``--out``)."""
    seconds: float = 0.0
    survivors: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- mutants
def reference_file(spec: assignment.Assignment, root: Path | None = None) -> Path:
    """The reference solution of an assignment under ``root`` (default: the repository)."""
    return (root or assignment.repo_root()) / "solutions" / spec.name / spec.module_file


def operator_names() -> list[str]:
    """Every cosmic-ray operator we use (core and ``dl/``), sorted."""
    from cosmic_ray.plugins import operator_names as names

    return sorted(n for n in names() if n not in EXCLUDED_OPERATORS)


def _positions(tree: Any, operators: dict[str, Any]) -> dict[str, list[tuple[int, int]]]:
    """Per operator, the start (line, column) of each of its mutations, in cosmic-ray's occurrence order."""
    from cosmic_ray.ast import Visitor

    found: dict[str, list[tuple[int, int]]] = {name: [] for name in operators}

    class Positions(Visitor):  # type: ignore[misc]
        def visit(self, node: Any) -> Any:
            for name, operator in operators.items():
                found[name].extend(start for start, _end in operator.mutation_positions(node))
            return node

    Positions().walk(tree)
    return found


def enumerate_mutants(source: str, where: str) -> list[Mutant]:
    """Every mutant of the solution regions of ``source`` (a reference file), sorted by id."""
    import parso
    from cosmic_ray.plugins import get_operator

    lines = source.splitlines(keepends=True)
    regions = templates.solution_regions(lines, where)
    tasks = [templates._task_before(lines, begin, where).split(": ", 1)[1] for begin, _ in regions]
    tree = parso.parse(source)
    out: list[Mutant] = []
    for name, positions in _positions(tree, {n: get_operator(n)() for n in operator_names()}).items():
        seen: dict[tuple[int, int], int] = {}
        for occurrence, (line, column) in enumerate(positions):
            rank = seen.get((line, column), 0)
            seen[(line, column)] = rank + 1
            task = next((t for (b, e), t in zip(regions, tasks) if b < line - 1 < e), None)
            if task is None:
                continue
            digest = hashlib.sha256(f"{name}|{line}:{column}|{rank}".encode()).hexdigest()[:12]
            out.append(Mutant(digest, name, task, line, column, occurrence))
    return sorted(out, key=lambda m: m.id)


def mutate(source: str, mutant: Mutant) -> str:
    """The mutated source of one mutant (AuthoringError if the operator no longer applies there)."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    code = mutate_code(source, get_operator(mutant.operator)(), mutant.occurrence)
    if code is None:
        raise AuthoringError(mutant.operator, f"mutation {mutant.occurrence} no longer applies")
    return str(code)


def _mutated(source: str, chosen: list[Mutant]) -> list[str]:
    """The source of each chosen mutant, made on every core (cosmic-ray walks the whole tree for each)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cores < 2 or len(chosen) < PARALLEL_MUTATIONS or "fork" not in multiprocessing.get_all_start_methods():
        return [mutate(source, m) for m in chosen]
    with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(functools.partial(mutate, source), chosen, chunksize=16))


def unified_diff(source: str, mutated: str, name: str) -> str:
    """The mutant as a unified diff against the reference (3 lines of context)."""
    return "".join(difflib.unified_diff(source.splitlines(True), mutated.splitlines(True),
                                        f"reference/{name}", f"mutant/{name}"))


def family(operator: str) -> str:
    """The operator's family: ``core/ReplaceBinaryOperator_Add_Mul`` -> ``core/ReplaceBinaryOperator``."""
    provider, _, name = operator.partition("/")
    return f"{provider}/{name.split('_')[0]}"


def sample(mutants: list[Mutant], max_count: int | None, seed: int) -> list[Mutant]:
    """A deterministic sample: operator families in a seeded order, one mutant of each in turn."""
    if max_count is None or max_count >= len(mutants):
        return list(mutants)
    groups: dict[str, list[Mutant]] = {}
    for m in mutants:
        groups.setdefault(family(m.operator), []).append(m)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    for name in order:
        random.Random(f"{seed}:{name}").shuffle(groups[name])
    picked: list[Mutant] = []
    while len(picked) < max_count:
        for name in order:
            if groups[name] and len(picked) < max_count:
                picked.append(groups[name].pop())
    return sorted(picked, key=lambda m: m.id)


def equivalents(spec: assignment.Assignment) -> dict[str, str]:
    """Mutant id -> why it cannot be told apart, from ``assignments/<a>/mutants.toml`` (empty if none)."""
    path = spec.folder / "mutants.toml"
    if not path.is_file():
        return {}
    try:
        data = assignment.tomllib.loads(path.read_text(encoding="utf-8"))
    except assignment.tomllib.TOMLDecodeError as exc:
        raise AuthoringError(str(path), f"not valid TOML: {exc}") from exc
    out = {}
    for i, entry in enumerate(data.get("equivalent", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) \
                or not str(entry.get("reason", "")).strip():
            raise AuthoringError(str(path), f"[[equivalent]] entry {i + 1} needs an id and a reason")
        out[entry["id"]] = str(entry["reason"]).strip()
    return out


# --------------------------------------------------------------------------- grading
def _grade_in_process(job: batch.Job, root: str | None, only: list[str] | None, reach: Reach | None,
                      zygote: sandbox.Zygote | None, title: str) -> dict[str, Any]:
    """Grade one mutant in this (trusted) process, in a fresh sandboxed worker; write its files; its manifest.

    With ``only`` (and the reference's ``reach``), just the tests that reach the mutated statement run,
    and the others take the reference's results; a grading a timeout or crash disturbed runs again in full.
    """
    out_dir = Path(job.out_dir)
    partial = out_dir / f".results.{os.getpid()}.json"
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    tests = frozenset(only) if only is not None and reach is not None else None
    try:
        status, message = _grade_mutant(job, partial, root, tests, reach, zygote, title)
    except Exception as exc:  # noqa: BLE001 - one mutant's grader failure is that mutant's error, not the chunk's
        status, message = "grader error", f"{type(exc).__name__}: {str(exc)[:300]}"
    data, digest = runner.read_with_digest(partial)
    if data is not None:
        os.replace(partial, out_dir / batch.RESULTS)
    else:
        status, message = "grader error", message or "no results.json was written"
    return batch.write_outcome(job, status, message, data, started=started, seconds=time.monotonic() - t0,
                               digest=digest, exit_code=0, device=str(job.key["device"]), worker="")


def _grade_mutant(job: batch.Job, partial: Path, root: str | None, only: frozenset[str] | None, reach: Reach | None,
                  zygote: sandbox.Zygote | None, title: str) -> tuple[str, str]:
    """Grade the mutant into ``partial``, with the tests in ``only`` when given and undisturbed; status, message.

    Workers come from ``zygote`` when there is one; a grading that hit a grader error is tried again with a
    worker started afresh.
    """
    from .. import grading
    from ..line_coverage import LineCoverage

    key = job.key

    def grade(tests: frozenset[str] | None, coverage: LineCoverage | None,
              server: sandbox.Zygote | None) -> results.GradingResult:
        return grading.grade(str(key["assignment"]), Path(job.path), partial, device=str(key["device"]),
                             seed=int(key["seed"]), isolation=str(key["isolation"]), select=key.get("select"),
                             root=Path(root) if root else None, only=tests, coverage=coverage, zygote=server).result

    why = "every test ran" if reach is None else "every test ran (the import runs the mutated statement)"
    if only is not None and reach is not None:
        watch = LineCoverage(trace=False)
        ran = grade(only, watch, zygote) if only else results.GradingResult([], 0.0, "")
        if not (watch.disturbed or ran.grader_errors):
            result = merged(ran, reach, only, title)
            results.write_atomic(partial, results.to_gradescope(result))
            return "graded", f"{len(ran.tests)} of {len(result.tests)} tests ran (the rest never reach the mutant)"
        why = "every test ran (a grader error)" if ran.grader_errors else \
            "every test ran (a call timed out or the worker crashed)"
        zygote = None if ran.grader_errors else zygote
    errors = grade(None, None, zygote).grader_errors
    if errors and zygote is not None:
        errors = grade(None, None, None).grader_errors
    return ("grader error", str(errors[0])[:500]) if errors else ("graded", why)


def _trace_reference(trace: dict[str, Any], root: str | None) -> None:
    """Grade the reference with the worker tracing lines and write its reach.json (a ``trace`` chunk)."""
    from .. import grading
    from ..line_coverage import LineCoverage

    coverage = LineCoverage()
    out = Path(trace["out"])
    result = grading.grade(str(trace["assignment"]), Path(trace["path"]), out.with_name("results.json"), device="cpu",
                           seed=int(trace["seed"]), isolation="auto", select=trace["select"],
                           root=Path(root) if root else None, coverage=coverage).result
    reach = Reach(frozenset(coverage.imports), {t.nodeid: frozenset(coverage.tests.get(t.nodeid, ()))
                                                for t in result.tests}, {t.nodeid: t for t in result.tests})
    batch.write_json(out, {"key": trace["key"], "errors": result.grader_errors, "disturbed": coverage.disturbed,
                           **reach.as_dict()})


def grade_chunk(jobs: list[batch.Job], root: str | None, chunk_file: str,
                only: dict[str, list[str] | None] | None = None, reach: str | None = None) -> list[dict[str, Any]]:
    """Grade a chunk of mutants in one trusted subprocess (runs on a Dask worker); return their manifests.

    ``only`` maps a mutant id to the node ids of the tests that reach it (absent or None: every test),
    from the reference's reach.json at ``reach``.
    """
    chunk = {"root": root, "jobs": [asdict(j) for j in jobs], "only": only or {}, "reach": reach}
    code, stderr = _trusted(chunk, chunk_file, batch.GRADING_TIMEOUT * len(jobs))
    manifests = []
    for job in jobs:
        manifest = batch.read_manifest(Path(job.out_dir))
        if manifest is None or manifest.get("key") != job.key:
            last = stderr.strip().splitlines()[-1:] or ["no output"]
            manifest = batch.task_failed(job, RuntimeError(f"grading process ended with {code}: {last[0][:200]}"))
        manifests.append(manifest)
    return manifests


def _trusted(chunk: dict[str, Any], chunk_file: str, timeout: float) -> tuple[int | None, str]:
    """Run ``python -m autograder.authoring.mutants CHUNK_FILE`` on ``chunk``: its exit code and stderr."""
    Path(chunk_file).write_text(json.dumps(chunk), encoding="utf-8")
    cmd = [sys.executable, "-m", "autograder.authoring.mutants", chunk_file]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=runner.interrupt_with_parent)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        runner.stop(proc)
        stderr = "the chunk took too long and was stopped"
    except BaseException:
        runner.stop(proc)
        raise
    finally:
        Path(chunk_file).unlink(missing_ok=True)
    return proc.returncode, stderr or ""


def _chunks(jobs: list[batch.Job], workers: int) -> Iterator[list[batch.Job]]:
    """Jobs in chunks: about three per worker (for balance), at most CHUNK_MAX each."""
    size = max(1, min(CHUNK_MAX, math.ceil(len(jobs) / (3 * workers))))
    for i in range(0, len(jobs), size):
        yield jobs[i:i + size]


def _grade_all(pending: list[batch.Job], out: Path, root: Path | None, workers: int | None, scheduler: str | None,
               progress: Progress, only: dict[str, list[str] | None], reach: Path | None) -> None:
    """Grade the pending mutants on Dask, chunk by chunk, reporting each as its chunk finishes."""
    from distributed import as_completed

    with batch.dask_client(workers, scheduler) as client, batch.terminate_as_interrupt():
        n = workers or (len(client.scheduler_info().get("workers", {})) or 1)
        chunks_dir = out / "chunks"
        chunks_dir.mkdir(exist_ok=True)
        futures, chunks = [], list(_chunks(pending, n))
        for i, chunk in enumerate(chunks):
            chunk_file = str((chunks_dir / f"{chunk[0].run}-{i}.json").resolve())
            selected = {j.submission_id: only.get(j.submission_id) for j in chunk}
            futures.append(client.submit(grade_chunk, chunk, str(root) if root else None, chunk_file, selected,
                                         str(reach) if reach else None, key=f"mutants-{chunk[0].run}-{i}",
                                         pure=False))
        by_key = {f.key: chunk for f, chunk in zip(futures, chunks)}
        progress.start()
        try:
            for future in as_completed(futures):
                try:
                    manifests = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker is a grader error of its mutants
                    manifests = [batch.task_failed(job, exc) for job in by_key[future.key]]
                for manifest in manifests:
                    failed = manifest.get("status") != "graded"
                    who = manifest["submission"]
                    line = (f"{who}: {manifest.get('status')}: {manifest.get('message', '')}" if failed
                            else f"{who}: {manifest.get('score'):g} / {manifest.get('max_score'):g}")
                    progress.update(line, failed)
        except KeyboardInterrupt:
            progress.note("interrupted: stopping (graded mutants are kept; rerun to grade the rest)")
            client.cancel(futures, force=True)
            raise


# --------------------------------------------------------------------------- the command
def run(
    assignment_name: str,
    out: Path,
    *,
    max_count: int | None = None,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    performance: bool = False,
    root: Path | None = None,
    stream: TextIO = sys.stderr,
) -> MutantsReport:
    """Make the mutants, grade those not yet graded under the same key, write mutants.json and mutants.html."""
    from . import mutants_report

    t0 = time.monotonic()
    spec = assignment.load(assignment_name, root)
    if max_count is not None and max_count < 1:
        raise UsageError(f"--max {max_count}: must be at least 1")
    batch.check_arguments("cpu", workers, scheduler, "auto")
    reference = reference_file(spec, root)
    if not reference.is_file():
        raise AuthoringError(str(reference), "reference solution missing")
    source = reference.read_text(encoding="utf-8")
    every = enumerate_mutants(source, str(reference))
    chosen = sample(every, max_count, seed)
    known = equivalents(spec)
    ids = {m.id for m in every}
    for stale in sorted(set(known) - ids):
        stream.write(f"mutants.toml: equivalent mutant {stale} is no longer made from the reference (stale entry)\n")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    version = batch.grader_version(spec)
    run_id = datetime.datetime.now().strftime("%Y%m%dT%H%M%S-") + os.urandom(3).hex()
    select = None if performance else NOT_PERFORMANCE
    rows, jobs = [], []
    for m, mutated in zip(chosen, _mutated(source, chosen)):
        folder = (out / "mutants" / m.id).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / spec.module_file
        if not path.is_file() or path.read_text(encoding="utf-8") != mutated:
            path.write_text(mutated, encoding="utf-8")
        rows.append((m, unified_diff(source, mutated, spec.module_file), folder))
        if m.id in known:
            continue
        key = {"mutant": m.id, "content_hash": hashlib.sha256(mutated.encode()).hexdigest(),
               "grader_version": version, "assignment": spec.name, "seed": seed, "select": select,
               "device": "cpu", "isolation": "auto"}
        jobs.append(batch.Job(m.id, str(path), str(folder), key, run_id))
    pending = [j for j in jobs if not batch.is_current(Path(j.out_dir), j.key)]
    progress = Progress(len(jobs), len(jobs) - len(pending), stream)
    if len(jobs) > len(pending):
        stream.write(f"{len(jobs) - len(pending)} of {len(jobs)} mutants graded before under the same key: "
                     "skipped\n")
    try:
        if pending:
            reach: Path | None = None
            only: dict[str, list[str] | None] = {}
            if not performance:
                reach, only = _selections(spec, source, out, version, seed, root, pending, chosen, stream)
            _grade_all(pending, out, root, workers, scheduler, progress, only, reach)
    finally:
        progress.finish()
    entries = [_entry(m, diff, folder, known) for m, diff, folder in rows]
    data = summarize(spec.name, seed, entries)
    batch.write_json(out / "mutants.json", data)
    mutants_report.write(out / "mutants.html", spec.title, data)
    report = MutantsReport(spec.name, seed, data["total"], data["killed"], data["survived"], data["equivalent"],
                           data["errors"], data["kill_rate"], out, len(pending), time.monotonic() - t0)
    report.survivors = [mutant for mutant in entries if mutant["status"] == "survived"]
    return report


def _selections(spec: assignment.Assignment, source: str, out: Path, version: str, seed: int, root: Path | None,
                pending: list[batch.Job], chosen: list[Mutant], stream: TextIO,
                ) -> tuple[Path, dict[str, list[str] | None]]:
    """The reference's reach.json, and per pending mutant the tests that reach it (None: every test)."""
    path, reach = _reference_reach(spec, source, out, version, seed, root)
    tree = ast.parse(source)
    by_id = {m.id: m for m in chosen}
    only: dict[str, list[str] | None] = {}
    for job in pending:
        m = by_id[job.submission_id]
        tests = tests_reaching(reach, statement_lines(tree, m.line, m.column))
        only[m.id] = sorted(tests) if tests is not None else None
    counts = [len(t) if t is not None else len(reach.tests) for t in only.values()]
    stream.write(f"each mutant runs only the tests that reach its statement: {sum(counts) / len(counts):.0f} of "
                 f"{len(reach.tests)} on average ({sum(not c for c in counts)} reached by none)\n")
    return path, only


def _reference_reach(spec: assignment.Assignment, source: str, out: Path, version: str, seed: int,
                     root: Path | None) -> tuple[Path, Reach]:
    """Which tests reach which lines of the reference: traced once per reference, grader version and seed."""
    path = (out / "reference" / "reach.json").resolve()
    key = {"content_hash": hashlib.sha256(source.encode()).hexdigest(), "grader_version": version, "seed": seed,
           "select": NOT_PERFORMANCE}
    data = _read_json(path)
    if data is None or data.get("key") != key:
        path.parent.mkdir(parents=True, exist_ok=True)
        trace = {"assignment": spec.name, "path": str(reference_file(spec, root)), "out": str(path), "seed": seed,
                 "select": NOT_PERFORMANCE, "key": key}
        _, stderr = _trusted({"root": str(root) if root else None, "trace": trace}, str(path.with_name("trace.json")),
                             batch.GRADING_TIMEOUT)
        data = _read_json(path)
        if data is None or data.get("key") != key:
            last = stderr.strip().splitlines()[-1:] or ["no output"]
            raise AuthoringError(str(reference_file(spec, root)), f"grading the reference failed: {last[0][:300]}")
    where, reach = str(path.with_name("results.json")), Reach.from_dict(data)
    graded = reach.graded
    if data["errors"] or not graded.tests or graded.score != graded.max_score:
        raise AuthoringError(where, f"the reference scores {graded.score:g} of {graded.max_score:g} (grader errors: "
                                    f"{len(data['errors'])}); mutants are judged against full marks")
    if data["disturbed"]:
        raise AuthoringError(where, "a call timed out or the worker crashed while grading the reference")
    return path, reach


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _entry(m: Mutant, diff: str, folder: Path, known: dict[str, str]) -> dict[str, Any]:
    """One mutant's line of mutants.json, from its manifest and results.json."""
    entry: dict[str, Any] = {"id": m.id, "operator": m.operator, "task": m.task, "line": m.line, "diff": diff}
    if m.id in known:
        return {**entry, "status": "equivalent", "score": None, "reason": known[m.id]}
    manifest = batch.read_manifest(folder)
    if manifest is None or manifest.get("status") != "graded" or manifest.get("max_score") in (None, 0):
        message = (manifest or {}).get("message") or "not graded"
        return {**entry, "status": "error", "score": None, "message": message}
    score = round(100.0 * float(manifest["score"]) / float(manifest["max_score"]), 2)
    return {**entry, "status": "killed" if score < 100.0 else "survived", "score": score}


def summarize(name: str, seed: int, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """mutants.json: the counts, ``kill_rate = killed / (total - equivalent - errors)``, and every mutant."""
    count = {s: sum(mutant["status"] == s for mutant in entries) for s in ("killed", "survived", "equivalent", "error")}
    scored = len(entries) - count["equivalent"] - count["error"]
    return {
        "assignment": name, "seed": seed, "total": len(entries), "killed": count["killed"],
        "survived": count["survived"], "equivalent": count["equivalent"], "errors": count["error"],
        "kill_rate": round(count["killed"] / scored, 4) if scored else None, "mutants": entries,
    }


def _main(chunk_file: str) -> int:
    """Trace the reference, or grade the mutants of one chunk file in turn (the subprocess ``_trusted`` starts)."""
    data = json.loads(Path(chunk_file).read_text(encoding="utf-8"))
    root = data.get("root")
    if "trace" in data:
        _trace_reference(data["trace"], root)
        return 0
    reach = Reach.from_dict(json.loads(Path(data["reach"]).read_text(encoding="utf-8"))) if data["reach"] else None
    jobs = [batch.Job(**raw) for raw in data["jobs"]]
    jobs = [job for job in jobs if not batch.is_current(Path(job.out_dir), job.key)]
    if not jobs:
        return 0
    key = jobs[0].key
    spec = assignment.load(str(key["assignment"]), Path(root) if root else None)
    # One fork server per chunk (not with --performance: timed tests run in workers started as for students).
    zygote = sandbox.Zygote(spec, sandbox.choose_isolation(str(key["isolation"]))) if key.get("select") else None
    try:
        for job in jobs:
            _grade_in_process(job, root, data["only"].get(job.submission_id), reach, zygote, spec.title)
    finally:
        if zygote is not None:
            zygote.shut()
    return 0


if __name__ == "__main__":  # pragma: no cover - run by grade_chunk in its own process
    sys.exit(_main(sys.argv[1]))
