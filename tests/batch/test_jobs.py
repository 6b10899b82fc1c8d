"""grade-batch: Dask engine, resume by content hash + grader version, SIGINT safety, GPU slots.

End-to-end tests grade a handful of submissions with a few selected tests (a real
``autograder grade`` per submission), so they stay fast on 2 cores.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder import assignment, results
from autograder.authoring import bugzoo
from autograder.batch import jobs as batch
from conftest import REPO, run_grade

SELECT = "test_softmax_small or test_softmax_large_logits or test_softmax_any_dim or test_nll_loss_mean"
"""Public and hidden (seeded) tests of softmax and nll_loss: a few seconds per grading."""


def autograder(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          timeout=timeout)


def make_class(folder: Path) -> Path:
    """A reference (folder), a stub (.py), a bug-zoo entry (folder) and an unreadable zip."""
    spec = assignment.load("softmax_nll")
    folder.mkdir()
    (folder / "ada").mkdir()
    (folder / "ada" / spec.module_file).write_text(bugzoo.reference_source(spec))
    shutil.copy(spec.template_file, folder / "bob.py")
    bug = next(b for b in bugzoo.entries(spec) if b.name == "softmax_ignores_dim")
    (folder / "carol").mkdir()
    (folder / "carol" / spec.module_file).write_text(bugzoo.materialize(spec, bug))
    (folder / "dave.zip").write_bytes(b"PK\x03\x04 not really a zip")
    return folder


def manifests(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted((out / "submissions").glob("*/manifest.json"))}


def gradebook(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as fh:
        return {row["submission"]: row for row in csv.DictReader(fh)}


# --------------------------------------------------------------------------- unit: seeds, keys, GPU slots

def test_seed_is_pinned_per_submission():
    assert batch.submission_seed(7, "ada") == batch.submission_seed(7, "ada")
    assert len({batch.submission_seed(7, s) for s in ("ada", "bob", "carol")}) == 3
    assert batch.submission_seed(8, "ada") != batch.submission_seed(7, "ada")
    assert 0 <= batch.submission_seed(7, "ada") < 2**31


def test_grader_version_follows_the_assignment_tests(tmp_path):
    for part in ("assignments/softmax_nll", "solutions/softmax_nll"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    spec = assignment.load("softmax_nll", root=tmp_path)
    before = batch.grader_version(spec)
    assert before.startswith(f"{batch.__version__}+") and before == batch.grader_version(spec)
    hidden = next((spec.tests_dir / "hidden").glob("test_*.py"))
    hidden.write_text(hidden.read_text() + "\n# a changed test\n")
    assert batch.grader_version(spec) != before


def test_only_a_graded_manifest_with_the_same_key_is_current(tmp_path):
    key = {"content_hash": "abc", "seed": 1}
    assert not batch.is_current(tmp_path, key)
    (tmp_path / "manifest.json").write_text(json.dumps({"status": "graded", "key": key}))
    assert not batch.is_current(tmp_path, key)  # no results.json
    (tmp_path / "results.json").write_text("{}")
    assert batch.is_current(tmp_path, key)
    assert not batch.is_current(tmp_path, {**key, "content_hash": "abd"})
    (tmp_path / "manifest.json").write_text(json.dumps({"status": "grader error", "key": key}))
    assert not batch.is_current(tmp_path, key)
    digest = hashlib.sha256(b"{}").hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps({"status": "graded", "key": key, "results_sha256": digest}))
    assert batch.is_current(tmp_path, key)
    (tmp_path / "results.json").write_text('{"score": 100}')  # rewritten after grading: regrade
    assert not batch.is_current(tmp_path, key)


@pytest.mark.parametrize("device,count,expected", [
    ("cpu", 2, None), ("auto", 0, None), ("auto", 2, [0, 1]), ("cuda", 1, [0]), ("cuda:1", 2, [1]),
])
def test_gpu_indices(device, count, expected):
    assert batch.gpu_indices(device, count) == expected


class FakeLocks:
    """Stand-in for one Dask Lock per GPU; records how many hold each at once."""

    def __init__(self):
        self.locks: dict[int, threading.Lock] = {}
        self.made: list[int] = []
        self.holders: dict[int, int] = {}
        self.most: dict[int, int] = {}
        self.guard = threading.Lock()

    def __call__(self, index):
        with self.guard:
            self.made.append(index)
            return self.locks.setdefault(index, threading.Lock())

    def enter(self, index):
        with self.guard:
            self.holders[index] = self.holders.get(index, 0) + 1
            self.most[index] = max(self.most.get(index, 0), self.holders[index])

    def leave(self, index):
        with self.guard:
            self.holders[index] -= 1


def test_grade_job_times_at_most_one_submission_per_gpu(monkeypatch):
    """With a fake count of 2 GPUs, 6 concurrent gradings each hold one GPU's lock, never shared."""
    locks = FakeLocks()
    seen = []

    def fake_grade(job, device, env):
        index = int(env["CUDA_VISIBLE_DEVICES"])
        locks.enter(index)
        time.sleep(0.05)
        seen.append((device, index))
        locks.leave(index)
        return {"status": "graded"}

    monkeypatch.setattr(batch, "_gpu_count", lambda: 2)
    monkeypatch.setattr(batch, "_dask_gpu_lock", locks)
    monkeypatch.setattr(batch, "_grade", fake_grade)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    job = batch.Job("s", "/x", "/y", {"device": "auto"}, "run")
    threads = [threading.Thread(target=batch.grade_job, args=(job,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(seen) == 6 and {d for d, _ in seen} == {"cuda"}
    assert locks.most == {0: 1, 1: 1}
    assert not any(lock.locked() for lock in locks.locks.values())


def test_grade_job_on_cpu_takes_no_gpu_lock(monkeypatch):
    locks = FakeLocks()
    monkeypatch.setattr(batch, "_gpu_count", lambda: 2)
    monkeypatch.setattr(batch, "_dask_gpu_lock", locks)
    monkeypatch.setattr(batch, "_grade", lambda job, device, env: {"device": device})
    assert batch.grade_job(batch.Job("s", "/x", "/y", {"device": "cpu"}, "run")) == {"device": "cpu"}
    assert locks.made == []


def test_gpu_lock_is_released_when_the_grading_raises():
    locks = FakeLocks()
    with pytest.raises(RuntimeError), batch.gpu_slot([0], locks):
        raise RuntimeError("boom")
    assert not locks.locks[0].locked()


CHILD = """
import sys, time
open(sys.argv[1] + ".ready", "w").close()
try:
    time.sleep(60)
except KeyboardInterrupt:
    open(sys.argv[1], "w").write("interrupted")
"""

PARENT = """
import os, signal, subprocess, sys, threading, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a batch started in the background or under nohup
from autograder.runner import interrupt_with_parent
def task():  # Dask runs a task in a thread of the worker process, waiting for its grading
    subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], start_new_session=True,
                     preexec_fn=interrupt_with_parent).wait()
threading.Thread(target=task, daemon=True).start()
while not os.path.exists(sys.argv[2] + ".ready"):
    time.sleep(0.05)
os._exit(0)  # the Dask worker dies mid-grading
"""


def test_a_grading_is_interrupted_when_its_dask_worker_dies(tmp_path):
    """PR_SET_PDEATHSIG: the grading gets SIGINT (and stops its sandbox), even if SIGINT was ignored."""
    flag = tmp_path / "flag"
    subprocess.run([sys.executable, "-c", PARENT, CHILD, str(flag)], timeout=60, check=True)
    deadline = time.monotonic() + 30
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert flag.read_text() == "interrupted"


@pytest.mark.parametrize("code,data,status", [
    (0, {"score": 1}, "graded"),
    (1, {"extra_data": {"grader_errors": ["pytest exited with INTERRUPTED"]}}, "grader error"),
    (2, None, "unreadable submission"),
    (-9, None, "grader error"),
    (1, None, "grader error"),
])
def test_exit_codes_of_grade_map_to_statuses(code, data, status):
    data = None if data is None else results.from_gradescope(data)
    assert batch._classify(code, data, "autograder: error: not a readable zip: x\n", False)[0] == status


@pytest.mark.parametrize("args,needle", [
    (["grade-batch", "nope", ".", "--out", "o"], "unknown assignment 'nope'"),
    (["grade-batch", "softmax_nll", "/nonexistent/class", "--out", "o"], "submissions folder not found"),
    (["grade-batch", "softmax_nll", ".", "--out", "o", "--workers", "0"], "--workers 0: must be at least 1"),
    (["grade-batch", "softmax_nll", ".", "--out", "o", "--workers", "1", "--scheduler", "tcp://x:1"],
     "--workers applies to the local cluster only"),
    (["grade-batch", "softmax_nll", ".", "--out", "o", "--isolation", "none"],
     "Invalid value for '--isolation': 'none' is not one of 'auto', 'bubblewrap', 'user', 'plain'."),
    (["grade-batch", "softmax_nll", "."], "Missing option '--out'"),
])
def test_usage_errors_exit_2_with_one_line(args, needle, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and needle in lines[0], proc.stderr


# --------------------------------------------------------------------------- end to end

@pytest.mark.slow
def test_batch_equals_grade_and_rerun_skips_what_is_unchanged(tmp_path):
    """Each score equals `autograder grade` with the recorded seed; a rerun regrades only what changed."""
    folder, out = make_class(tmp_path / "class"), tmp_path / "out"
    first = autograder("grade-batch", "softmax_nll", str(folder), "--out", str(out), "--workers", "2",
                       "--select", SELECT, "--seed", "11", "--device", "cpu")
    assert first.returncode == 0, first.stderr
    assert "[4/4 done, 1 failure] " in first.stderr  # plain lines off a terminal
    book, done = gradebook(out), manifests(out)
    assert book["ada"]["total"] == book["ada"]["max_total"] != ""
    assert book["bob"]["total"] == "0"
    assert 0 < float(book["carol"]["total"]) < float(book["carol"]["max_total"])
    assert book["dave"]["total"] == "" and book["dave"]["status"].startswith("unreadable submission: not a readable")
    assert (out / "summary.html").read_text().count("data:image/png;base64,") == 3
    for sub_id, path in (("ada", folder / "ada"), ("bob", folder / "bob.py"), ("carol", folder / "carol")):
        m = done[sub_id]
        assert m["status"] == "graded" and m["key"]["seed"] == batch.submission_seed(11, sub_id)
        raw = (out / "submissions" / sub_id / "results.json").read_bytes()
        assert m["results_sha256"] == hashlib.sha256(raw).hexdigest()
        ours = json.loads(raw)
        alone = run_grade("softmax_nll", path, tmp_path / f"{sub_id}.json", "--seed", str(m["key"]["seed"]),
                          "--select", SELECT, "--device", "cpu")
        assert alone.score == ours["score"] == float(book[sub_id]["total"])
        assert [(t["name"], t["score"]) for t in alone.data["tests"]] == [(t["name"], t["score"]) for t in ours["tests"]]
        assert (out / "submissions" / sub_id / "feedback.html").is_file()

    # unchanged: nothing regraded (the unreadable one is tried again); the batch seed is remembered
    second = autograder("grade-batch", "softmax_nll", str(folder), "--out", str(out), "--select", SELECT,
                        "--workers", "1", "--device", "cpu")
    assert second.returncode == 0 and "3 of 4 submissions unchanged since they were graded: skipped" in second.stderr
    again = manifests(out)
    assert all(again[s] == done[s] for s in ("ada", "bob", "carol")) and again["dave"]["run"] != done["dave"]["run"]

    # a resubmission is regraded, the others are not
    (folder / "carol" / "softmax_nll.py").write_text((folder / "carol" / "softmax_nll.py").read_text() + "\n# v2\n")
    third = autograder("grade-batch", "softmax_nll", str(folder), "--out", str(out), "--select", SELECT,
                       "--workers", "1", "--device", "cpu")
    assert third.returncode == 0, third.stderr
    latest = manifests(out)
    assert latest["carol"]["run"] != done["carol"]["run"] and latest["ada"] == done["ada"]
    assert not [p for p in out.rglob(".*")]


@pytest.mark.slow
def test_grader_error_is_listed_as_an_error_never_a_zero(tmp_path):
    """pytest refuses the -k expression: every grading is a grader error, the batch goes on and exits 1."""
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(REPO / "solutions" / "softmax_nll" / "softmax_nll.py", folder / "ada.py")
    shutil.copy(REPO / "student_template" / "softmax_nll" / "softmax_nll.py", folder / "bob.py")
    proc = autograder("grade-batch", "softmax_nll", str(folder), "--out", str(tmp_path / "out"), "--workers", "1",
                      "--select", "test_softmax_small and (", "--device", "cpu")
    assert proc.returncode == 1 and "2 submission(s) ended in a grader error" in proc.stderr
    for row in gradebook(tmp_path / "out").values():
        assert row["status"].startswith("grader error: pytest exited with") and row["total"] == ""
    assert "need attention" in (tmp_path / "out" / "summary.html").read_text()


def _gradings_of(out: Path) -> list[int]:
    """Pids of live processes working for this batch (by their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(out) in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_interrupt_loses_nothing_and_resume_regrades_nothing(tmp_path):
    """Ctrl-C after the first result: exit 130, graded results kept; the rerun grades only the rest."""
    spec = assignment.load("softmax_nll")
    folder, out = tmp_path / "class", tmp_path / "out"
    folder.mkdir()
    for i in range(6):
        (folder / f"s{i}").mkdir()
        (folder / f"s{i}" / spec.module_file).write_text(bugzoo.reference_source(spec) + f"\n# student {i}\n")
    cmd = [sys.executable, "-m", "autograder", "grade-batch", "softmax_nll", str(folder), "--out", str(out),
           "--workers", "1", "--select", SELECT, "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(out.glob("submissions/*/manifest.json")):
        assert proc.poll() is None and time.monotonic() < deadline, "no result before the deadline"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C on a terminal does
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted: rerun the same command" in stderr, stderr
    kept = manifests(out)
    assert 1 <= len(kept) < 6 and all(m["status"] == "graded" for m in kept.values())
    deadline = time.monotonic() + 30  # an interrupted grading stops its sandbox, then exits
    while _gradings_of(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _gradings_of(out) == [], "a grading outlived the interrupted batch"
    book = gradebook(out)
    assert sum(row["status"] == "not graded yet" for row in book.values()) == 6 - len(kept)

    rerun = autograder("grade-batch", "softmax_nll", str(folder), "--out", str(out), "--workers", "1",
                       "--select", SELECT, "--device", "cpu")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(kept)} of 6 submissions unchanged since they were graded: skipped" in rerun.stderr
    final = manifests(out)
    assert len(final) == 6 and all(m["status"] == "graded" for m in final.values())
    assert all(final[s] == m for s, m in kept.items()), "a submission graded before the interrupt was regraded"
    assert len({m["run"] for s, m in final.items() if s not in kept}) == 1
    assert all(row["total"] == row["max_total"] for row in gradebook(out).values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group (a clean Dask shutdown), SIGKILL it if it lingers; wait until it is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(proc.pid):
                return
            time.sleep(0.1)


@pytest.mark.slow
def test_scheduler_option_grades_on_an_existing_cluster(tmp_path):
    """A separate `dask scheduler` and `dask worker`: --scheduler grades through them; all torn down after."""
    dask = str(Path(sys.executable).with_name("dask"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    logs = [open(tmp_path / "scheduler.log", "w"), open(tmp_path / "worker.log", "w")]
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  "--no-dashboard"], stdout=logs[0], stderr=subprocess.STDOUT, start_new_session=True)
    worker = None
    try:
        worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--name",
                                   "batch-test-worker", "--no-dashboard", "--memory-limit", "0"],
                                  stdout=logs[1], stderr=subprocess.STDOUT, start_new_session=True)
        folder, out = make_class(tmp_path / "class"), tmp_path / "out"
        (folder / "dave.zip").unlink()
        (folder / "carol" / "softmax_nll.py").unlink()  # a folder without the file: graded 0 with a hint
        proc = autograder("grade-batch", "softmax_nll", str(folder), "--out", str(out), "--scheduler", address,
                          "--select", SELECT, "--device", "cpu", "--seed", "3")
        assert proc.returncode == 0, proc.stderr + (tmp_path / "worker.log").read_text()[-3000:]
        done = manifests(out)
        assert sorted(done) == ["ada", "bob", "carol"]
        assert {m["worker"] for m in done.values()} == {"batch-test-worker"}
        book = gradebook(out)
        assert book["ada"]["total"] == book["ada"]["max_total"] and book["bob"]["total"] == book["carol"]["total"] == "0"
    finally:
        for p in (worker, scheduler):
            if p is not None:
                _stop(p)
        for log in logs:
            log.close()
    assert not _group_alive(scheduler.pid) and (worker is None or not _group_alive(worker.pid))


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signals_interrupt_a_batch_even_when_sigint_was_ignored(signum):
    """A script's background job inherits SIGINT ignored; within a batch both signals still interrupt it."""
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.raises(KeyboardInterrupt), batch.terminate_as_interrupt():
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler runs at the next bytecode; never reached when it works
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # the inherited disposition is restored
    finally:
        signal.signal(signal.SIGINT, saved)
