"""The roster of a batch: plain folders, Gradescope exports, content hashes."""

from __future__ import annotations

import os

import pytest

from autograder.batch import roster
from autograder.errors import UsageError

METADATA = """\
submission_101:
  :submitters:
  - :name: Ada Lovelace
    :sid: '100'
    :email: ada@example.edu
  :created_at: 2025-10-01 12:00:00.000000000 -07:00
  :score: 12.0
submission_102:
  :submitters:
  - :name: Pair One
    :sid: '200'
    :email: one@example.edu
  - :name: Pair Two
    :sid: '201'
    :email: two@example.edu
  :history: !ruby/object:ActiveSupport::HashWithIndifferentAccess
    attempts: 2
"""


def test_plain_folder_entries_are_submissions(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "bob.py").write_text("x = 1\n")
    (tmp_path / "carol smith.zip").write_bytes(b"PK")
    (tmp_path / "notes.txt").write_text("not a submission")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "alice")
    found = roster.discover(tmp_path)
    assert [(s.id, s.path.name) for s in found] == [("alice", "alice"), ("bob", "bob.py"),
                                                   ("carol_smith", "carol smith.zip")]
    assert all(s.students == () for s in found)


def test_output_folder_inside_the_input_is_skipped(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "out").mkdir()
    assert [s.id for s in roster.discover(tmp_path, skip=tmp_path / "out")] == ["alice"]


def test_two_entries_with_one_id_are_a_usage_error(tmp_path):
    (tmp_path / "bob.py").write_text("")
    (tmp_path / "bob.zip").write_bytes(b"")
    with pytest.raises(UsageError, match="share the id 'bob'"):
        roster.discover(tmp_path)


@pytest.mark.parametrize("make", [lambda p: None, lambda p: (p / "x.txt").write_text("")])
def test_no_submissions_or_no_folder_is_a_usage_error(tmp_path, make):
    make(tmp_path)
    with pytest.raises(UsageError, match="no submissions"):
        roster.discover(tmp_path)
    with pytest.raises(UsageError, match="submissions folder not found"):
        roster.discover(tmp_path / "missing")


def test_gradescope_export_names_every_submitter(tmp_path):
    (tmp_path / roster.GRADESCOPE_METADATA).write_text(METADATA)
    for name in ("submission_101", "submission_102", "submission_103"):
        (tmp_path / name).mkdir()
    found = {s.id: s for s in roster.discover(tmp_path)}
    assert found["submission_101"].students == (roster.Student("Ada Lovelace", "ada@example.edu", "100"),)
    assert [s.name for s in found["submission_102"].students] == ["Pair One", "Pair Two"]
    assert found["submission_103"].students == ()


def test_unreadable_metadata_is_a_usage_error(tmp_path):
    (tmp_path / roster.GRADESCOPE_METADATA).write_text("- just\n- a list\n")
    (tmp_path / "submission_1").mkdir()
    with pytest.raises(UsageError, match="not a Gradescope submissions export"):
        roster.discover(tmp_path)
    (tmp_path / roster.GRADESCOPE_METADATA).write_text("a: [unclosed\n")
    with pytest.raises(UsageError, match="cannot read"):
        roster.discover(tmp_path)


def test_content_hash_sees_every_byte_and_name_but_not_mtimes(tmp_path):
    sub = tmp_path / "sub"
    (sub / "deep").mkdir(parents=True)
    (sub / "softmax_nll.py").write_text("a = 1\n")
    (sub / "deep" / "notes.md").write_text("hi")
    first = roster.content_hash(sub)
    os.utime(sub / "softmax_nll.py", (1, 1))
    assert roster.content_hash(sub) == first
    (sub / "softmax_nll.py").write_text("a = 2\n")
    second = roster.content_hash(sub)
    assert second != first
    (sub / "deep" / "notes.md").rename(sub / "deep" / "notes2.md")
    assert roster.content_hash(sub) not in (first, second)
    (sub / "link").symlink_to("/etc/passwd")
    assert roster.content_hash(sub) != second
    single = tmp_path / "one.py"
    single.write_text("a = 1\n")
    assert roster.content_hash(single) != roster.content_hash(sub)
