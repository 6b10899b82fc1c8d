"""The roster of a batch: which submissions a folder holds, and whose they are.

Two layouts are understood:

- a plain folder with one entry per student: a sub-folder, a ``.py``, an ``.ipynb`` or a ``.zip``
  (the entry's name, less its suffix, is the submission id);
- a Gradescope "export submissions" folder: ``submission_metadata.yml`` beside one
  ``submission_<n>/`` folder per submission; the students' names, emails and ids are read
  from the metadata (a group submission lists every member).

Each submission has a content hash over every file it holds (paths and bytes, links not
followed), so a rerun can tell an unchanged submission from a resubmitted one.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError

__all__ = ["GRADESCOPE_METADATA", "Student", "Submission", "content_hash", "discover", "read_gradescope_metadata"]

GRADESCOPE_METADATA = "submission_metadata.yml"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Student:
    """One submitter, as far as the export says who it is."""

    name: str = ""
    email: str = ""
    sid: str = ""


@dataclass(frozen=True)
class Submission:
    """One submission to grade."""

    id: str
    """Unique within the batch and safe as a folder name."""
    path: Path
    students: tuple[Student, ...] = field(default_factory=tuple)
    """Who submitted it (from Gradescope's metadata); empty when unknown."""


def discover(folder: Path, skip: Path | None = None) -> list[Submission]:
    """Every submission in ``folder`` (plain layout or Gradescope export), sorted by id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"submissions folder not found: {folder}")
    metadata_file = folder / GRADESCOPE_METADATA
    metadata = read_gradescope_metadata(metadata_file) if metadata_file.is_file() else {}
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if not _is_submission(entry, skip):
            continue
        sid = _id_of(entry)
        if sid in found:
            raise UsageError(f"two submissions would share the id {sid!r}: {found[sid].path.name} and {entry.name}")
        found[sid] = Submission(sid, entry, metadata.get(entry.name, ()))
    if not found:
        raise UsageError(f"no submissions (folders, .py, .ipynb or .zip files) in {folder}")
    return list(found.values())


def _is_submission(entry: Path, skip: Path | None) -> bool:
    if entry.name.startswith((".", "__")) or entry.is_symlink():
        return False
    if skip is not None and entry.resolve() == skip.resolve():
        return False
    return entry.is_dir() or (entry.is_file() and entry.suffix in (".py", ".ipynb", ".zip"))


def _id_of(entry: Path) -> str:
    name = entry.stem if entry.is_file() else entry.name
    return _UNSAFE.sub("_", name).strip("._") or "submission"


def read_gradescope_metadata(path: Path) -> dict[str, tuple[Student, ...]]:
    """Folder name -> submitters, from Gradescope's ``submission_metadata.yml``.

    Gradescope writes Ruby-style keys (``:submitters:``, ``:name:``); Ruby object tags are
    read as plain data. A file that is not such a mapping is a UsageError naming it.
    """
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_MetadataLoader)  # a SafeLoader subclass
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a Gradescope submissions export (expected a mapping of submissions)")
    out: dict[str, tuple[Student, ...]] = {}
    for folder, record in data.items():
        submitters = _plain(record).get("submitters", []) if isinstance(record, dict) else []
        people = [_plain(s) for s in submitters if isinstance(s, dict)] if isinstance(submitters, list) else []
        out[str(folder)] = tuple(Student(str(p.get("name") or ""), str(p.get("email") or ""), str(p.get("sid") or ""))
                                 for p in people)
    return out


def _plain(record: dict[Any, Any]) -> dict[str, Any]:
    """``{":name": x}`` -> ``{"name": x}``."""
    return {str(k).strip(":"): v for k, v in record.items()}


class _MetadataLoader(yaml.SafeLoader):
    """A safe loader that reads any tagged node (``!ruby/object:...``) as plain data."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_MetadataLoader.add_multi_constructor("!", _untagged)


def content_hash(path: Path) -> str:
    """sha256 over every file of a submission: relative paths, then bytes; links hashed as links."""
    digest = hashlib.sha256()
    path = Path(path)
    if not path.is_dir():
        _hash_entry(digest, path, path.name)
        return digest.hexdigest()
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if Path(dirpath, d).is_symlink()]):
            full = Path(dirpath, name)
            _hash_entry(digest, full, str(full.relative_to(path)))
    return digest.hexdigest()


def _hash_entry(digest: Any, path: Path, label: str) -> None:
    digest.update(label.encode("utf-8", "surrogateescape") + b"\0")
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        digest.update(b"missing\0")
        return
    if stat.S_ISLNK(mode):
        digest.update(b"link\0" + os.readlink(path).encode("utf-8", "surrogateescape") + b"\0")
    elif stat.S_ISREG(mode):
        try:
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            digest.update(f"unreadable {exc.errno}".encode())
        digest.update(b"\0")
    else:
        digest.update(b"special\0")
