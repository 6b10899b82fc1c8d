"""Intake: only <assignment>.py is taken, safely, from folders, files and zips."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest

from autograder.errors import SubmissionError, UsageError
from autograder.intake import MAX_SOURCE_BYTES, take

NAME = "softmax_nll.py"


def test_folder_takes_only_the_module_and_ignores_the_rest(tmp_path):
    (tmp_path / NAME).write_text("x = 1\n")
    for extra in ("conftest.py", "sitecustomize.py", "evil.pth", "pytest.ini", "helper.py"):
        (tmp_path / extra).write_text("import os; os._exit(1)\n")
    got = take(tmp_path, NAME)
    assert got.source == b"x = 1\n" and got.origin == NAME and "conftest.py" in got.ignored


def test_folder_prefers_the_shallowest_copy(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / NAME).write_text("shallow = 1\n")
    (tmp_path / "a" / "b" / NAME).write_text("deep = 1\n")
    assert take(tmp_path, NAME).source == b"shallow = 1\n"


def test_symlinked_module_is_not_followed(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 1\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / NAME).symlink_to(secret)
    with pytest.raises(SubmissionError, match="No file named"):
        take(sub, NAME)


def test_single_py_file_and_size_cap(tmp_path):
    f = tmp_path / NAME
    f.write_bytes(b"a" * (MAX_SOURCE_BYTES + 1))
    with pytest.raises(SubmissionError, match="larger than"):
        take(f, NAME)
    f.write_text("ok = 1\n")
    assert take(f, NAME).source == b"ok = 1\n"


def test_fifo_in_a_folder_is_not_read(tmp_path):
    os.mkfifo(tmp_path / NAME)
    with pytest.raises(SubmissionError, match="not a regular file"):
        take(tmp_path, NAME)


def _zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def test_zip_slip_and_symlink_entries_are_skipped(tmp_path):
    z = _zip(tmp_path / "s.zip", [
        (f"../../{NAME}", "slip = 1\n", None),
        (f"/abs/{NAME}", "abs = 1\n", None),
        (f"link/{NAME}", "/etc/passwd", stat.S_IFLNK | 0o777),
        (f"deep/ok/{NAME}", "good = 1\n", None),
    ])
    got = take(z, NAME)
    assert got.source == b"good = 1\n" and got.origin == f"deep/ok/{NAME}"


def test_zip_bomb_is_capped_without_inflating_it(tmp_path):
    z = _zip(tmp_path / "bomb.zip", [(NAME, b"0" * (50 * MAX_SOURCE_BYTES), None)])
    assert z.stat().st_size < MAX_SOURCE_BYTES
    with pytest.raises(SubmissionError, match="larger than"):
        take(z, NAME)


def test_zip_with_too_many_entries(tmp_path):
    z = _zip(tmp_path / "many.zip", [(f"f{i}.txt", "", None) for i in range(2001)])
    with pytest.raises(SubmissionError, match="entries"):
        take(z, NAME)


@pytest.mark.parametrize("make,message", [
    (lambda p: p / "missing", "not found"),
    (lambda p: (p / "x.zip").write_bytes(b"not a zip") and p / "x.zip", "not a readable zip"),
    (lambda p: (p / "notes.txt").write_text("hi") and p / "notes.txt", "must be a folder"),
])
def test_bad_arguments_are_usage_errors(tmp_path, make, message):
    with pytest.raises(UsageError, match=message):
        take(make(tmp_path), NAME)


def test_missing_module_in_folder_is_the_students_problem(tmp_path):
    (tmp_path / "softmax.py").write_text("")
    with pytest.raises(SubmissionError, match=r"softmax_nll\.py"):
        take(tmp_path, NAME)


ONLY = "only a file named exactly softmax_nll.py is graded, and no other file is used."


@pytest.mark.parametrize("found,near", [
    ("softmax_nll (1).py", "softmax_nll (1).py"),
    ("SoftMax_NLL.py", "SoftMax_NLL.py"),
    ("softmax_nll.PY", "softmax_nll.PY"),
    ("softmax-nl.py", "softmax-nl.py"),
    ("hw1/softmax_nll (2).py", "hw1/softmax_nll (2).py"),
])
@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_misnamed_file_is_named_with_the_expected_one_and_never_used(tmp_path, found, near, as_zip):
    """S6: only the exact name is graded; the message names what was found and what to rename."""
    folder = tmp_path / "sub"
    (folder / found).parent.mkdir(parents=True, exist_ok=True)
    (folder / found).write_text("def softmax(x, dim=-1):\n    return x\n")
    submission = _zip(tmp_path / "s.zip", [(found, "x = 1\n", None)]) if as_zip else folder
    with pytest.raises(SubmissionError) as info:
        take(submission, NAME)
    assert info.value.problem == f"No file named softmax_nll.py was found in your submission; it holds {found!r}."
    assert info.value.hint == f"rename {near!r} to softmax_nll.py and submit again: {ONLY}"


def test_misnamed_notebook_is_named_with_how_to_rename_it(tmp_path):
    (tmp_path / "README.md").write_text("hi")
    (tmp_path / "softmax_nll (1).ipynb").write_text("{}")
    with pytest.raises(SubmissionError) as info:
        take(tmp_path, NAME)
    assert str(info.value) == (
        "No file named softmax_nll.py was found in your submission; it holds 'README.md', 'softmax_nll (1).ipynb'. "
        "Hint: rename the notebook 'softmax_nll (1).ipynb' to softmax_nll.ipynb and submit again: only a file named "
        "exactly softmax_nll.py, or a notebook named exactly softmax_nll.ipynb, is graded, and no other file is used.")


def test_unrelated_files_are_listed_and_the_name_is_asked_for(tmp_path):
    for i in range(7):
        (tmp_path / f"notes{i}.txt").write_text("")
    with pytest.raises(SubmissionError) as info:
        take(tmp_path, NAME)
    assert str(info.value) == (
        "No file named softmax_nll.py was found in your submission; it holds 'notes0.txt', 'notes1.txt', "
        "'notes2.txt', 'notes3.txt', 'notes4.txt' and other files. Hint: put your code in a file named exactly "
        f"softmax_nll.py and submit again: {ONLY}")


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_empty_submission_says_it_is_empty(tmp_path, as_zip):
    folder = tmp_path / "sub"
    folder.mkdir()
    submission = _zip(tmp_path / "s.zip", []) if as_zip else folder
    with pytest.raises(SubmissionError) as info:
        take(submission, NAME)
    assert str(info.value) == ("Your submission is empty: it holds no file, and the grader needs softmax_nll.py. "
                               "Hint: upload your code in a file named exactly softmax_nll.py.")


def test_linked_module_is_named_as_never_read(tmp_path):
    (tmp_path / "real.py").write_text("x = 1\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / NAME).symlink_to(tmp_path / "real.py")
    with pytest.raises(SubmissionError) as info:
        take(sub, NAME)
    assert info.value.hint == ("'softmax_nll.py' is a symbolic link or lies outside the submission, and is never "
                               "read: submit the file itself, named exactly softmax_nll.py.")
