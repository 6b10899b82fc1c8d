"""``autograder grade-batch``: grade a whole class on Dask, crash-safe and resumable.

Each submission is one Dask task, and each task runs ``autograder grade`` as its own
process: the engine's process-wide state (subreaper, signals, torch) and any crash stay in
that process, so a Dask worker neither dies with a submission nor grows over a class.

Layout of ``--out``::

    batch.json                      the batch seed and grader version (reused by a rerun)
    gradebook.csv, summary.html     rebuilt from the files below at the end of every run
    submissions/<id>/results.json   Gradescope's results.json of that submission
    submissions/<id>/feedback.html  a readable page of it
    submissions/<id>/manifest.json  written last, atomically: what was graded and how

A manifest's ``key`` is the content hash of the submission, the grader version (package
version + a digest of the assignment's tests, probes, settings and reference), the
assignment, the seed, ``--select``, the device and the isolation level. A rerun skips every
submission whose manifest says ``graded`` under the same key; grader errors and unreadable
submissions are tried again. Seeds are pinned per submission (from the batch seed and the
submission id), so ``autograder grade ... --seed <manifest seed>`` reproduces a grade.

GPU: a grading that may use CUDA first takes a Dask ``Lock`` named after the host and the GPU,
so at most one submission is timed on each GPU at once, on a local or a remote cluster.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from .. import __version__, assignment, results, runner, seeds
from ..device import check_device
from ..errors import UsageError
from . import feedback, gradebook, roster, summary
from .progress import Progress

__all__ = [
    "FEEDBACK",
    "GRADING_TIMEOUT",
    "MANIFEST",
    "RESULTS",
    "BatchReport",
    "Job",
    "check_arguments",
    "dask_client",
    "default_workers",
    "gpu_indices",
    "gpu_slot",
    "grade_batch",
    "grade_job",
    "grader_version",
    "is_current",
    "read_manifest",
    "submission_seed",
    "task_failed",
    "terminate_as_interrupt",
    "write_json",
    "write_outcome",
]

GRADING_TIMEOUT = 1800.0
"""Wall-clock seconds one ``autograder grade`` may take before it is killed (a grader error)."""
MANIFEST = "manifest.json"
RESULTS = "results.json"
FEEDBACK = "feedback.html"


@dataclass(frozen=True)
class Job:
    """One submission to grade, as shipped to a Dask worker (plain, picklable data)."""

    submission_id: str
    path: str
    out_dir: str
    key: dict[str, Any]
    """What the grade depends on; a rerun skips the submission while this is unchanged."""
    run: str
    """Id of the grade-batch run that submitted the job (recorded in the manifest)."""


@dataclass
class BatchReport:
    """What a grade-batch run did."""

    out: Path
    total: int
    skipped: int
    graded: list[str] = field(default_factory=list)
    """Submission ids graded by this run (whatever the outcome)."""
    failures: list[str] = field(default_factory=list)
    """Submission ids graded by this run that ended in a grader error or could not be read."""
    grader_errors: list[str] = field(default_factory=list)
    """Submission ids of the whole batch whose latest grading is a grader error (not a score)."""
    interrupted: bool = False
    seconds: float = 0.0


# --------------------------------------------------------------------------- keys and seeds
def grader_version(spec: assignment.Assignment) -> str:
    """The package version plus a digest of everything of the assignment that decides a grade."""
    digest = hashlib.sha256()
    files = [spec.folder / "assignment.toml", spec.folder / "probes.py", spec.solution_file]
    files += sorted(p for p in spec.tests_dir.rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        if path.is_file():
            label = path.relative_to(spec.folder) if path.is_relative_to(spec.folder) else Path("solution", path.name)
            digest.update(str(label).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{__version__}+{digest.hexdigest()[:12]}"


def submission_seed(batch_seed: int, submission_id: str) -> int:
    """The seed of one submission's hidden inputs: fixed by the batch seed and the id."""
    return seeds.derive(31, batch_seed, submission_id)


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """A submission's manifest, or None if it has none (or an unreadable one)."""
    try:
        data = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_current(out_dir: Path, key: dict[str, Any]) -> bool:
    """True if the submission was graded under exactly this key and its results.json is the one written then."""
    manifest = read_manifest(out_dir)
    if manifest is None or manifest.get("status") != "graded" or manifest.get("key") != key:
        return False
    data, changed = gradebook.read_results(Path(out_dir) / RESULTS, manifest)
    return data is not None and not changed


def _batch_seed(out: Path, requested: int | None, version: str, assignment_name: str) -> int:
    """The seed given, else the one a previous run recorded, else a fresh one; recorded in batch.json."""
    path = out / "batch.json"
    previous: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(path.read_text(encoding="utf-8"))
    seed = requested if requested is not None else previous.get("seed")
    if not isinstance(seed, int):
        seed = secrets.randbelow(2**31)
    write_json(path, {"seed": seed, "assignment": assignment_name, "grader_version": version})
    return seed


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (temporary file in the same folder, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------- GPUs
class _Lock(Protocol):
    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool: ...
    def release(self) -> Any: ...


def gpu_indices(device: str, gpu_count: int) -> list[int] | None:
    """The GPUs a grading may run on (None: it runs on the CPU and takes no GPU lock)."""
    if device == "cpu":
        return None
    if device.startswith("cuda:"):
        return [int(device.partition(":")[2])]
    return list(range(gpu_count)) or None


@contextlib.contextmanager
def gpu_slot(indices: list[int] | None, make_lock: Callable[[int], _Lock],
             poll_seconds: float = 0.5) -> Iterator[int | None]:
    """Hold one GPU's lock for the duration (the first free one); yield its index, or None for CPU."""
    if indices is None:
        yield None
        return
    while True:
        for index in indices:
            lock = make_lock(index)
            if lock.acquire(blocking=False):
                try:
                    yield index
                finally:
                    lock.release()
                return
        time.sleep(poll_seconds)


def _dask_gpu_lock(index: int) -> _Lock:
    """A cluster-wide lock for one GPU of this host."""
    from distributed import Lock

    return Lock(f"autograder-gpu-{socket.gethostname()}-{_physical_gpu(index)}")  # type: ignore[no-any-return]


def _physical_gpu(index: int) -> str:
    """The CUDA_VISIBLE_DEVICES entry behind a visible index (the index itself if unset)."""
    visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    return visible[index].strip() if index < len(visible) else str(index)


_GPU_COUNT: list[int] = []


def _gpu_count() -> int:
    """CUDA devices this worker sees (asked once, of a fresh process, so torch stays out of the worker)."""
    if not _GPU_COUNT:
        probe = "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)"
        try:
            out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
            _GPU_COUNT.append(int(out.stdout.strip() or 0))
        except (OSError, ValueError, subprocess.TimeoutExpired):
            _GPU_COUNT.append(0)
    return _GPU_COUNT[0]


# --------------------------------------------------------------------------- one task
def grade_job(job: Job) -> dict[str, Any]:
    """Grade one submission (runs on a Dask worker); write its files; return its manifest."""
    device = str(job.key["device"])
    indices = gpu_indices(device, 0 if device == "cpu" else _gpu_count())
    with gpu_slot(indices, _dask_gpu_lock) as gpu:
        env = dict(os.environ)
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = _physical_gpu(gpu)
            device = "cuda"
        return _grade(job, device, env)


def _grade(job: Job, device: str, env: dict[str, str]) -> dict[str, Any]:
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".results.*.json"):  # left by a grading that was interrupted
        stale.unlink(missing_ok=True)
    partial = out_dir / f".results.{secrets.token_hex(4)}.json"
    key = job.key
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        run = runner.grade_subprocess(str(key["assignment"]), Path(job.path), partial, seed=int(key["seed"]),
                                      device=device, isolation=str(key["isolation"]), select=key.get("select") or None,
                                      env=env, timeout=GRADING_TIMEOUT)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    data = run.result
    status, message = _classify(run.exit_code, data, run.stderr, run.timed_out)
    if data is not None:
        os.replace(partial, out_dir / RESULTS)
    else:
        partial.unlink(missing_ok=True)
        (out_dir / RESULTS).unlink(missing_ok=True)
    return write_outcome(job, status, message, data, started=started, seconds=run.seconds,
                         digest=run.results_sha256, exit_code=run.exit_code, device=device, worker=_worker_name())


def write_outcome(job: Job, status: str, message: str, data: results.GradingResult | None, *,
                  started: datetime.datetime, seconds: float, digest: str | None, exit_code: int, device: str,
                  worker: str) -> dict[str, Any]:
    """Write a graded submission's manifest.json and feedback.html (beside its results.json); the manifest."""
    graded = data is not None and status == "graded"
    manifest = {
        "submission": job.submission_id, "status": status, "message": message, "key": job.key,
        "score": data.score if data is not None and graded else None,
        "max_score": data.max_score if data is not None and graded else None,
        "graded_at": started.isoformat(timespec="milliseconds"), "seconds": round(seconds, 3),
        "results_sha256": digest, "exit_code": exit_code, "device": device,
        "host": socket.gethostname(), "worker": worker, "run": job.run,
    }
    out_dir = Path(job.out_dir)
    feedback.write(out_dir / FEEDBACK, job.submission_id, manifest, data)
    write_json(out_dir / MANIFEST, manifest)
    return manifest


def _worker_name() -> str:
    """The name of the Dask worker running this task ("" outside a worker)."""
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return ""


def _classify(code: int, data: results.GradingResult | None, stderr: str, timed_out: bool) -> tuple[str, str]:
    """(status, message): ``graded``, ``grader error`` or ``unreadable submission``."""
    if timed_out:
        return "grader error", f"the grading took longer than {GRADING_TIMEOUT:g} s and was stopped"
    last = next((ln for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "")
    if code == 0 and data is not None:
        return "graded", ""
    if code == 2:
        return "unreadable submission", last.removeprefix("autograder: error: ") or "usage error"
    errors = data.grader_errors if data is not None else []
    if code == 1 and errors:
        return "grader error", str(errors[0])[:500]
    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    return "grader error", f"autograder grade ended with {how}: {last[:300] or 'no output'}"


# --------------------------------------------------------------------------- the batch
def grade_batch(
    assignment_name: str,
    folder: Path,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    device: str = "auto",
    seed: int | None = None,
    select: str | None = None,
    isolation: str = "auto",
    stream: TextIO = sys.stderr,
) -> BatchReport:
    """Grade every submission of ``folder`` not yet graded under the same key into ``out``."""
    t0 = time.monotonic()
    spec = assignment.load(assignment_name)
    check_arguments(device, workers, scheduler, isolation)
    out = Path(out)
    submissions = roster.discover(Path(folder), skip=out)
    out.mkdir(parents=True, exist_ok=True)
    version = grader_version(spec)
    batch_seed = _batch_seed(out, seed, version, spec.name)
    run = datetime.datetime.now().strftime("%Y%m%dT%H%M%S-") + secrets.token_hex(3)
    jobs = [_job(spec.name, s, out, version, batch_seed, select, device, isolation, run) for s in submissions]
    pending = [j for j in jobs if not is_current(Path(j.out_dir), j.key)]
    report = BatchReport(out, len(jobs), len(jobs) - len(pending))
    progress = Progress(len(jobs), report.skipped, stream)
    if report.skipped:
        stream.write(f"{report.skipped} of {len(jobs)} submissions unchanged since they were graded: skipped\n")
    try:
        if pending:
            _run(pending, workers, scheduler, progress, report)
    finally:
        progress.finish()
        rows = gradebook.rows(submissions, out / "submissions")
        report.grader_errors = [r.submission.id for r in rows if (r.manifest or {}).get("status") == "grader error"]
        gradebook.write(out / "gradebook.csv", rows)
        summary.write(out / "summary.html", spec.title, rows)
        report.seconds = time.monotonic() - t0
    return report


def check_arguments(device: str, workers: int | None, scheduler: str | None, isolation: str) -> None:
    """UsageError naming the first bad option: isolation, device, --workers, or --workers with --scheduler."""
    from ..sandbox.isolation import check_isolation

    check_isolation(isolation)
    check_device(device)
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    if workers is not None and scheduler:
        raise UsageError("--workers applies to the local cluster only; with --scheduler the cluster has its own")


def _job(name: str, sub: roster.Submission, out: Path, version: str, batch_seed: int, select: str | None,
         device: str, isolation: str, run: str) -> Job:
    key = {"content_hash": roster.content_hash(sub.path), "grader_version": version, "assignment": name,
           "seed": submission_seed(batch_seed, sub.id), "select": select, "device": device, "isolation": isolation}
    return Job(sub.id, str(sub.path.resolve()), str((out / "submissions" / sub.id).resolve()), key, run)


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A Dask client: of the cluster at ``scheduler``, else of a local cluster of single-thread processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def _run(pending: list[Job], workers: int | None, scheduler: str | None, progress: Progress,
         report: BatchReport) -> None:
    """Submit every job and record each as it finishes; Ctrl-C cancels what has not finished."""
    from distributed import as_completed

    by_key: dict[str, Job] = {}
    with dask_client(workers, scheduler) as client, terminate_as_interrupt():
        futures = []
        for job in pending:
            future = client.submit(grade_job, job, key=f"grade-{job.submission_id}-{job.run}", pure=False)
            by_key[future.key] = job
            futures.append(future)
        progress.start()
        try:
            for future in as_completed(futures):
                job = by_key[future.key]
                try:
                    manifest = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker is this submission's grader error
                    manifest = task_failed(job, exc)
                _record(job, manifest, progress, report)
        except KeyboardInterrupt:
            report.interrupted = True
            progress.note("interrupted: stopping the gradings under way (graded submissions are kept)")
            client.cancel(futures, force=True)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, Slurm's ``scancel``) stops the batch as cleanly as Ctrl-C, and so does SIGINT.

    A shell script's background job (``autograder grade-batch ... &``, ``nohup``) starts with
    SIGINT ignored, which Python keeps: ``kill -INT`` then did nothing. Within the block SIGINT
    raises KeyboardInterrupt whatever the process inherited.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def task_failed(job: Job, exc: BaseException) -> dict[str, Any]:
    """The manifest of a task that never returned (its worker died): a grader error."""
    manifest = {
        "submission": job.submission_id, "status": "grader error",
        "message": f"the Dask task failed: {type(exc).__name__}: {str(exc)[:300]}", "key": job.key,
        "score": None, "max_score": None, "graded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "seconds": None, "exit_code": None, "device": job.key["device"], "host": "", "run": job.run,
    }
    with contextlib.suppress(OSError):
        Path(job.out_dir).mkdir(parents=True, exist_ok=True)
        write_json(Path(job.out_dir) / MANIFEST, manifest)
    return manifest


def _record(job: Job, manifest: dict[str, Any], progress: Progress, report: BatchReport) -> None:
    report.graded.append(job.submission_id)
    failed = manifest.get("status") != "graded"
    if failed:
        report.failures.append(job.submission_id)
        line = f"{job.submission_id}: {manifest.get('status')}: {manifest.get('message', '')}"
    else:
        line = (f"{job.submission_id}: {manifest.get('score'):g} / {manifest.get('max_score'):g}"
                f" ({manifest.get('seconds', 0):.1f} s)")
    progress.update(line, failed)
