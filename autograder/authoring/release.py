"""``autograder release``: the zips an instructor hands out or uploads, per assignment.

- ``<a>-student.zip``: the handout (README.md), the stub ``<a>.py``, ``assignment.toml``,
  the probes, the public tests, the part of this package the public tests need in local
  mode, a ``conftest.py`` / ``pytest.ini`` that load the plugin and register one marker per
  task, and ``requirements.txt``; the companion notebook ``<a>.ipynb`` (jupytext's conversion
  of ``assignments/<a>/notebook.py``, no outputs) and ``selfcheck.py``, its self-check cells.
  Unzipped anywhere, ``pip install -r requirements.txt`` then ``pytest`` runs the public
  tests and prints each test's points and the total. The performance tests ship too:
  ``pytest tests/performance`` times the student's code as grading does, an estimate on their machine.
- ``<a>-autograder.zip``: Gradescope's format. ``setup.sh`` and ``run_autograder`` at the
  root (Gradescope unzips it into ``/autograder/source``), with the whole grader package,
  the assignment folder (hidden and performance tests, probes; never the bug zoo) and the
  reference under ``solutions/``, laid out as in this repository.
- ``<a>-solution.zip``: the reference solution and the handout, for staff; with the notebook
  executed against the reference (outputs kept) and its HTML rendering. The executed notebook
  is not byte-reproducible (it prints and plots timings); ``execute=False`` leaves it out.

Zips are reproducible: sorted entries, fixed timestamps (1980-01-01, or SOURCE_DATE_EPOCH)
and permissions, no caches; the same sources give byte-identical zips. Every student zip
is leak-checked by content (``autograder.leaks``) before it is kept.
"""

from __future__ import annotations

import ast
import io
import os
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import assignment
from ..errors import AuthoringError
from . import leaks, notebook, templates

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Released", "autograder_files", "markdown_math_problems", "release", "solution_files", "student_files",
           "support_modules", "write_zip"]

PACKAGE = Path(__file__).resolve().parent.parent
"""The ``autograder`` package folder (this module lives in its ``authoring`` wing)."""
FILES = Path(__file__).resolve().parent / "release_files"
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", ".DS_Store"}
SKIP_SUFFIXES = (".pyc", ".pyo")
LOCAL_ENTRY = ("autograder.pytest_plugin",)
"""Modules local mode loads by name; everything they import is found from here."""

Files = dict[str, tuple[bytes, bool]]
"""Archive name -> (content, executable)."""


@dataclass
class Released:
    """The zips written for one assignment."""

    name: str
    zips: dict[str, Path] = field(default_factory=dict)
    """kind (student, autograder, solution) -> path."""

    def sizes(self) -> dict[str, int]:
        return {kind: path.stat().st_size for kind, path in self.zips.items()}


def release(names: list[str] | None, out: Path, echo: Callable[[str], None] = print, *,
            execute: bool = True) -> list[Released]:
    """Write the three zips of each assignment into ``out``; a leak in a student zip is an AuthoringError.

    ``execute=False`` skips running the notebooks for the solution zips (tens of seconds each).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for name in names or assignment.names():
        spec = assignment.load(name)
        student = student_files(spec)
        found = leaks.check_files(spec, {n: data for n, (data, _) in student.items()})
        if found:
            raise AuthoringError(f"{name}-student.zip", "leaks: " + "; ".join(found[:5]))
        r = Released(name)
        for kind, files in (("student", student), ("autograder", autograder_files(spec)),
                            ("solution", solution_files(spec, student if execute else None))):
            path = out / f"{name}-{kind}.zip"
            write_zip(path, files)
            r.zips[kind] = path
        echo(f"{name}: " + ", ".join(f"{p.name} {p.stat().st_size / 1024:.0f} kB" for p in r.zips.values()))
        done.append(r)
    return done


# --------------------------------------------------------------------------- zips

def _date_time() -> tuple[int, int, int, int, int, int]:
    """The timestamp of every entry: SOURCE_DATE_EPOCH if set (not before 1980), else 1980-01-01."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return (1980, 1, 1, 0, 0, 0)
    t = time.gmtime(max(int(epoch), 315532800))
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)


def zip_bytes(files: Files) -> bytes:
    """A reproducible zip of ``files``: sorted, fixed timestamps and modes, deflated."""
    buf = io.BytesIO()
    when = _date_time()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            data, executable = files[name]
            info = zipfile.ZipInfo(name, when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the modes below are honoured by unzip
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            zf.writestr(info, data, compresslevel=9)
    return buf.getvalue()


def write_zip(path: Path, files: Files) -> None:
    """Write the zip atomically (a half-written zip is never left under the final name)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(zip_bytes(files))
    os.replace(tmp, path)


def _tree(folder: Path, prefix: str, skip: Iterable[str] = ()) -> Files:
    """Every file under ``folder`` as ``prefix/relative``, without caches or the top-level parts in ``skip``."""
    out: Files = {}
    skipped = set(skip)
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or SKIP_PARTS & set(rel.parts) or path.suffix in SKIP_SUFFIXES:
            continue
        if rel.parts[0] in skipped:
            continue
        out[f"{prefix}{rel.as_posix()}"] = (path.read_bytes(), os.access(path, os.X_OK))
    return out


def _template(name: str, **values: str) -> bytes:
    text = (FILES / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text.encode("utf-8")


def requirements(student: bool) -> bytes:
    """The pinned requirements.txt of the student zip (tests and notebook) or of the autograder zip."""
    return (FILES / f"requirements-{'student' if student else 'autograder'}.txt").read_bytes()


# --------------------------------------------------------------------------- contents

def _handout(spec: assignment.Assignment) -> bytes:
    path = spec.folder / "README.md"
    if not path.is_file():
        raise AuthoringError(str(path), "the handout README.md is missing")
    return path.read_bytes()


def student_files(spec: assignment.Assignment) -> Files:
    """What a student gets; nothing hidden (checked by ``leaks`` before a zip is written)."""
    if templates.check([spec.name]):
        raise AuthoringError(str(spec.template_file), "out of date: run `autograder build-templates`")
    toml = (spec.folder / "assignment.toml").read_bytes()
    if "name" not in tomllib.loads(toml.decode("utf-8")).get("assignment", {}):
        raise AuthoringError(str(spec.folder / "assignment.toml"),
                             "[assignment] name must be set: the student's folder may have any name")
    files: Files = {
        "README.md": (_handout(spec), False),
        spec.module_file: (spec.template_file.read_bytes(), False),
        "assignment.toml": (toml, False),
        "requirements.txt": (requirements(student=True), False),
        "conftest.py": (_template("student_conftest.py", ASSIGNMENT=spec.name), False),
        "pytest.ini": (_template("student_pytest.ini", ASSIGNMENT=spec.name, MARKERS="\n".join(
            f"    {marker}: {title}" for marker, title in spec.tasks.items())), False),
    }
    public = spec.tests_dir / "public"
    if not public.is_dir():
        raise AuthoringError(str(public), "no public tests to ship")
    files.update(_tree(public, "tests/public/"))
    timed = spec.tests_dir / "performance"
    if timed.is_dir():  # the local performance check: `pytest tests/performance`, an estimate on the student's machine
        files.update(_tree(timed, "tests/performance/"))
    sources = [data for n, (data, _) in files.items() if n.endswith(".py")]
    if spec.probes_file.is_file():
        files["probes.py"] = (spec.probes_file.read_bytes(), False)
        sources.append(files["probes.py"][0])
    for module in support_modules(sources):
        path = PACKAGE.parent / module
        files[module] = (path.read_bytes(), False)
    files["selfcheck.py"] = ((FILES / "selfcheck.py").read_bytes(), False)
    source = notebook.source_file(spec)
    if source is not None:
        files[f"{spec.name}.ipynb"] = (notebook.student_notebook(source), False)
    return files


def autograder_files(spec: assignment.Assignment) -> Files:
    """Gradescope's autograder: setup.sh and run_autograder at the root, the grader as in this repo."""
    if not spec.solution_file.is_file():
        raise AuthoringError(str(spec.solution_file), "reference solution missing")
    files: Files = {
        "setup.sh": (_template("setup.sh"), True),
        "run_autograder": (_template("run_autograder", ASSIGNMENT=spec.name), True),
        "requirements.txt": (requirements(student=False), False),
    }
    files.update(_tree(PACKAGE, "autograder/"))
    files.update(_tree(spec.folder, f"assignments/{spec.name}/", skip=[spec.bugzoo_dir.name]))
    files.update(_tree(spec.solution_file.parent, f"solutions/{spec.name}/"))
    return files


def solution_files(spec: assignment.Assignment, student: Files | None = None) -> Files:
    """For staff: the reference (with its solution markers) and the handout; given the ``student``
    files, also the notebook executed against the reference in a folder laid out like them, and its HTML."""
    files = {spec.module_file: (spec.solution_file.read_bytes(), False), "README.md": (_handout(spec), False)}
    if student is not None and notebook.source_file(spec) is not None:
        ran = notebook.solution_notebook(spec, {n: data for n, (data, _) in student.items()})
        files.update({n: (data, False) for n, data in ran.items()})
    return files


# --------------------------------------------------------------------------- support code

def support_modules(sources: Iterable[bytes]) -> list[str]:
    """Files of this package (``autograder/...``) that local mode needs: what the plugin and ``sources`` import.

    Follows imports (relative and absolute, at any depth of the code) from the plugin and
    from the shipped tests and probes, and adds each package's ``__init__.py``.
    """
    todo = list(LOCAL_ENTRY)
    for source in sources:
        todo += [m for m in _imports(ast.parse(source), "") if m.split(".")[0] == PACKAGE.name]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        path = _module_path(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        todo += _imports(ast.parse(path.read_bytes()), package)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
    files = {_module_path(m) for m in seen}
    return sorted(str(p.relative_to(PACKAGE.parent).as_posix()) for p in files if p is not None)


def _module_path(module: str) -> Path | None:
    """This package's file for a dotted module name, or None for anything else."""
    parts = module.split(".")
    if parts[0] != PACKAGE.name:
        return None
    base = PACKAGE.parent.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(tree: ast.AST, package: str) -> list[str]:
    """Dotted names a module imports (``from x import y`` gives both x and x.y: y may be a module).

    Imports under ``if TYPE_CHECKING:`` are left out: they never run (the sandbox, Linux-only,
    is named there by the local-mode code that students run on any OS).
    """
    found = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            found.append(root)
            found += [f"{root}.{alias.name}" for alias in node.names]
    return found


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    nodes: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo += node.orelse
            continue
        todo += ast.iter_child_nodes(node)
    return nodes


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


# --------------------------------------------------------------------------- the handout

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


def markdown_math_problems(text: str) -> list[str]:
    """Math that GitHub-flavoured Markdown would not render: an unclosed ``$$`` block, an odd
    number of ``$`` in a paragraph, ``$ x $`` with spaces inside, or ``|`` inside math in a table row.

    Code blocks and code spans are skipped (``$HOME`` in code is not math); ``\\$`` is a dollar sign.
    """
    problems: list[str] = []
    paragraph: list[tuple[int, str]] = []
    fenced, display = False, 0
    for number, line in enumerate([*text.splitlines(), ""], 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.strip() == "$$":
            display = 0 if display else number
            continue
        if display:
            continue
        if line.strip():
            paragraph.append((number, line))
            continue
        problems += _inline_math_problems(paragraph)
        paragraph = []
    if display:
        problems.append(f"line {display}: display math ($$) is never closed")
    return problems


def _inline_math_problems(paragraph: list[tuple[int, str]]) -> list[str]:
    """Inline ``$...$`` checks over one paragraph (math may wrap onto the next line)."""
    if not paragraph:
        return []
    first = paragraph[0][0]
    text = "\n".join(CODE_SPAN.sub("", line).replace("\\$", "") for _, line in paragraph)
    text = re.sub(r"\$\$.+?\$\$", "", text, flags=re.S)
    if text.count("$") % 2:
        return [f"line {first}: odd number of $ in this paragraph (a dollar sign is written \\$)"]
    problems = []
    for match in re.finditer(r"\$([^$]*)\$", text):
        math = match.group(1)
        line = first + text[:match.start()].count("\n")
        if not math.strip() or math != math.strip():
            problems.append(f"line {line}: space inside ${math}$ (GitHub renders it as text)")
        if "|" in math.replace("\\|", "") and text.splitlines()[line - first].lstrip().startswith("|"):
            problems.append(f"line {line}: | inside ${math}$ splits the table cell (write \\| or \\vert)")
    return problems
