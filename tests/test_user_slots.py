"""Sandbox users for the user isolation level: slots, clean-up, and what "readable by others" means."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder import user_slots

root_only = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A world-writable folder under the system temp dir, like /tmp itself."""
    folder = Path(tempfile.mkdtemp(prefix="ag-shared-"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_readable_by_others_needs_every_parent_searchable_and_the_file_readable(shared_dir: Path) -> None:
    private, public = shared_dir / "private", shared_dir / "public"
    private.mkdir(mode=0o700)
    public.mkdir(mode=0o755)
    for folder in (private, public):
        (folder / "open.txt").write_text("x")
        (folder / "open.txt").chmod(0o644)
        (folder / "closed.txt").write_text("x")
        (folder / "closed.txt").chmod(0o640)
    private.chmod(0o700)
    public.chmod(0o755)
    assert user_slots.readable_by_others(public / "open.txt")
    assert not user_slots.readable_by_others(public / "closed.txt")
    assert not user_slots.readable_by_others(private / "open.txt")
    assert user_slots.exposed([public, private]) == [str(public / "open.txt")]
    assert not user_slots.readable_by_others(shared_dir / "missing")


@root_only
def test_slots_are_exclusive_and_released() -> None:
    first, second = user_slots.acquire(), user_slots.acquire()
    try:
        assert first.uid != second.uid
        assert {first.uid, second.uid} <= set(range(user_slots.FIRST_UID, user_slots.FIRST_UID + user_slots.SLOTS))
    finally:
        uid = first.uid
        first.release()
        first.release()  # twice is harmless
        second.release()
    again = user_slots.acquire()
    try:
        assert again.uid == uid  # the lowest free slot is reused
    finally:
        again.release()


@root_only
def test_release_kills_the_users_processes_and_removes_its_files(shared_dir: Path) -> None:
    slot = user_slots.acquire()
    try:
        sleeper = subprocess.Popen(["sleep", "300"], preexec_fn=lambda: user_slots.drop_to(slot.uid),
                                   start_new_session=True)
        nested = shared_dir / "deep"
        nested.mkdir(mode=0o777)
        nested.chmod(0o777)
        mine = [shared_dir / "left.bin", nested / "also.bin"]
        for path in mine:
            path.write_bytes(b"x")
            os.chown(path, slot.uid, slot.uid)
        theirs = shared_dir / "someone_elses.bin"
        theirs.write_bytes(b"y")
        assert sleeper.pid in user_slots.processes_of(slot.uid)
        user_slots.clear(slot.uid)
        user_slots.remove_files_of(slot.uid, shared_dir)
        assert sleeper.wait(timeout=10) != 0
        assert not any(p.exists() for p in mine) and theirs.exists()
        assert user_slots.processes_of(slot.uid) == []
    finally:
        slot.release()


@root_only
def test_dropped_user_has_no_groups_and_its_own_gid() -> None:
    slot = user_slots.acquire()
    try:
        out = subprocess.run(["id"], preexec_fn=lambda: user_slots.drop_to(slot.uid), capture_output=True,
                             text=True, check=True).stdout
    finally:
        slot.release()
    assert f"uid={slot.uid}" in out and f"gid={slot.uid}" in out and "groups=" + str(slot.uid) in out
    assert "root" not in out and "(0)" not in out


def test_user_level_problem_names_a_non_root_grader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    user_slots.user_isolation_problem.cache_clear()
    try:
        assert user_slots.user_isolation_problem("/usr/bin/python3") == (
            "the grader runs as uid 1000, not root, and only root can switch to a sandbox user")
    finally:
        user_slots.user_isolation_problem.cache_clear()


@root_only
def test_user_level_problem_names_the_folder_others_cannot_pass(shared_dir: Path) -> None:
    closed = shared_dir / "closed"
    closed.mkdir(mode=0o700)
    python = closed / "python3"
    python.symlink_to(shutil.which("python3") or "/usr/bin/python3")
    assert user_slots.user_isolation_problem(str(python)) == (
        f"a sandbox user (uid {user_slots.PROBE_UID}) cannot run {python} with its packages: {closed} is not "
        "searchable by other users")
    assert not user_slots.user_isolation_works(str(python))
