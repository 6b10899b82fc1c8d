"""Intake: take exactly one file, ``<assignment>.py``, out of a submission.

A submission is a folder, a single ``.py`` or ``.ipynb`` file or a ``.zip``. A notebook
(``<assignment>.ipynb``, taken when a folder or zip holds no ``<assignment>.py``) gives its code by
the rule of ``notebook_submission``. Nothing else it holds
(``conftest.py``, ``sitecustomize.py``, ``.pth`` files, other modules) is ever used.
Zips are read member by member, never extracted: links, absolute or ``..`` paths are
skipped, and entry counts and sizes are capped so a zip bomb costs nothing.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import notebook_submission
from .errors import SubmissionError, UsageError

__all__ = ["MAX_SOURCE_BYTES", "Intake", "take"]

MAX_SOURCE_BYTES = 1 << 20
MAX_ZIP_ENTRIES = 2000
MAX_ZIP_BYTES = 1 << 30
MAX_LISTED = 20
"""How many of a submission's other file names are kept (and named in messages)."""


@dataclass(frozen=True)
class Intake:
    """The one file taken from a submission, and where it came from."""

    source: bytes
    origin: str
    """Path of the file inside the submission, for the record."""
    ignored: tuple[str, ...]
    """Other files present and deliberately ignored (first few)."""
    left_out: tuple[str, ...] = ()
    """For a notebook: the cells and statements not taken as the submission (for the instructor)."""


def take(submission: Path, module_file: str) -> Intake:
    """Read ``module_file`` out of a submission folder, file or zip (UsageError if unreadable)."""
    if not os.path.lexists(submission):
        raise UsageError(f"submission not found: {submission}")
    if submission.is_symlink():
        raise UsageError(f"submission is a symbolic link, not a file or folder: {submission}")
    if submission.is_dir():
        return _from_folder(submission, module_file)
    if submission.suffix == ".zip":
        return _from_zip(submission, module_file)
    if submission.suffix == ".py" and submission.is_file():
        return Intake(_read_capped(submission), submission.name, ())
    if submission.suffix == ".ipynb" and submission.is_file():
        data = _read_capped(submission, notebook_submission.MAX_NOTEBOOK_BYTES)
        return _from_notebook(data, submission.name, module_file, ())
    raise UsageError(f"submission must be a folder, a .py or .ipynb file or a .zip: {submission}")


def _notebook_file(module_file: str) -> str:
    """``<a>.ipynb`` for ``<a>.py``."""
    return PurePosixPath(module_file).stem + ".ipynb"


def _from_notebook(data: bytes, origin: str, module_file: str, others: tuple[str, ...]) -> Intake:
    """The submission's code out of a notebook's bytes (SubmissionError for a bad notebook)."""
    taken = notebook_submission.extract(data, module_file, PurePosixPath(origin).name)
    if len(taken.source) > MAX_SOURCE_BYTES:
        raise SubmissionError(f"the code in {PurePosixPath(origin).name} is larger than {MAX_SOURCE_BYTES >> 10} KiB.",
                              "submit only your source code; do not embed data or precomputed answers.")
    return Intake(taken.source, origin, others, taken.left_out)


def _read_capped(path: Path, cap: int = MAX_SOURCE_BYTES) -> bytes:
    """Read a regular file (not following links) of at most ``cap`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise UsageError(f"cannot read submission file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionError(f"{path.name} is not a regular file.", "submit the .py file itself.")
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise SubmissionError(
            f"{path.name} is larger than {cap >> 10} KiB.",
            "submit only your source code; do not embed data or precomputed answers.",
        )
    return data


def _from_folder(folder: Path, module_file: str) -> Intake:
    """The shallowest regular (non-link) ``module_file`` under ``folder``, else its ``.ipynb``."""
    found: list[Path] = []
    notebooks: list[Path] = []
    others: list[str] = []
    notebook = _notebook_file(module_file)
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if name == module_file and not path.is_symlink():
                found.append(path)
            elif name == notebook and not path.is_symlink():
                notebooks.append(path)
            elif len(others) < MAX_LISTED or (not found and _looks_like(name, module_file)):
                others.append(str(path.relative_to(folder)))
    if not found and notebooks:
        best = min(notebooks, key=lambda p: (len(p.relative_to(folder).parts), str(p)))
        data = _read_capped(best, notebook_submission.MAX_NOTEBOOK_BYTES)
        return _from_notebook(data, str(best.relative_to(folder)), module_file, tuple(others))
    others += [str(p.relative_to(folder)) for p in notebooks]
    if not found:
        raise _missing(module_file, others)
    best = min(found, key=lambda p: (len(p.relative_to(folder).parts), str(p)))
    return Intake(_read_capped(best), str(best.relative_to(folder)), tuple(others))


def _from_zip(path: Path, module_file: str) -> Intake:
    """The shallowest safe ``module_file`` member of a zip, read with a size cap."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"not a readable zip: {path} ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise SubmissionError(f"the zip has {len(infos)} entries (at most {MAX_ZIP_ENTRIES}).",
                                  f"zip only {module_file}.")
        candidates: list[zipfile.ZipInfo] = []
        notebooks: list[zipfile.ZipInfo] = []
        others: list[str] = []
        notebook = _notebook_file(module_file)
        for info in infos:
            name = PurePosixPath(info.filename)
            unsafe = name.is_absolute() or ".." in name.parts or _is_link(info)
            if name.name == module_file and not unsafe and not info.is_dir():
                candidates.append(info)
            elif name.name == notebook and not unsafe and not info.is_dir():
                notebooks.append(info)
            elif not info.is_dir() and (len(others) < MAX_LISTED or _looks_like(name.name, module_file)):
                others.append(info.filename)
        is_notebook = not candidates and bool(notebooks)
        if not is_notebook:
            others += [i.filename for i in notebooks]
        if not candidates and not notebooks:
            raise _missing(module_file, others)
        best = min(candidates or notebooks, key=lambda i: (len(PurePosixPath(i.filename).parts), i.filename))
        cap = notebook_submission.MAX_NOTEBOOK_BYTES if is_notebook else MAX_SOURCE_BYTES
        try:
            with archive.open(best) as fh:
                data = fh.read(cap + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise UsageError(f"not a readable zip: {path} ({exc})") from None
    if is_notebook:
        return _from_notebook(data, best.filename, module_file, tuple(others))
    if len(data) > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{module_file} is larger than {MAX_SOURCE_BYTES >> 10} KiB.",
                              "submit only your source code.")
    return Intake(data, best.filename, tuple(others))


def _is_link(info: zipfile.ZipInfo) -> bool:
    """True for a zip entry that stores a symbolic link."""
    return stat.S_ISLNK(info.external_attr >> 16)


def _looks_like(name: str, module_file: str) -> bool:
    """True for a file name that was probably meant to be ``module_file`` (case, copy suffix, typo, notebook)."""
    base = PurePosixPath(name).name.lower()
    squeezed, wanted = re.sub(r"[^a-z0-9]", "", base), re.sub(r"[^a-z0-9]", "", PurePosixPath(module_file).stem.lower())
    return wanted in squeezed or bool(difflib.get_close_matches(base, [module_file.lower()], n=1, cutoff=0.85))


def _missing(module_file: str, present: list[str]) -> SubmissionError:
    """The student's error for a submission without ``module_file``: what was found, and what to do."""
    if not present:
        return SubmissionError(f"Your submission is empty: it holds no file, and the grader needs {module_file}.",
                               f"upload your code in a file named exactly {module_file}.")
    shown = ", ".join(repr(p) for p in present[:5]) + (" and other files" if len(present) > 5 else "")
    problem = f"No file named {module_file} was found in your submission; it holds {shown}."
    close = [p for p in present if _looks_like(p, module_file)]
    only = f"only a file named exactly {module_file} is graded, and no other file is used."
    if not close:
        return SubmissionError(problem, f"put your code in a file named exactly {module_file} and submit again: {only}")
    near = min(close, key=lambda p: (PurePosixPath(p).suffix.lower() == ".ipynb", len(PurePosixPath(p).parts), p))
    if PurePosixPath(near).name == module_file:
        return SubmissionError(problem, f"{near!r} is a symbolic link or lies outside the submission, and is never "
                                        f"read: submit the file itself, named exactly {module_file}.")
    if PurePosixPath(near).suffix.lower() == ".ipynb":
        notebook = _notebook_file(module_file)
        return SubmissionError(problem, f"rename the notebook {near!r} to {notebook} and submit again: only a file "
                                        f"named exactly {module_file}, or a notebook named exactly {notebook}, is "
                                        "graded, and no other file is used.")
    return SubmissionError(problem, f"rename {near!r} to {module_file} and submit again: {only}")
