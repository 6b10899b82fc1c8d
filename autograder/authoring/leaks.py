"""Leak check: nothing secret in what students get, judged by content, not by file names.

An assignment's secrets:

- the reference's solution markers, and the text of every solution region: any window of up
  to ``WINDOW`` consecutive lines (blank lines dropped, whitespace ignored) of at least
  ``MIN_CHARS`` characters that the stub does not show outside its own regions;
- the code of the reference, as syntax trees (so reformatting, comments and renaming the
  enclosing function do not hide it): the statements of each solution region, found inside
  any block of any shipped ``.py``, and the body of each reference function that holds a
  region;
- the hidden tests and every file of the bug zoo: byte-identical copies, and any window of
  ``WINDOW`` lines not also found in the assignment's public, authored files (the imports
  and decorators the public tests share with the hidden ones are not secrets);
- each bug-zoo edit's new text.

``check_files`` returns one message per leak, naming the shipped file, its line and the
secret; ``check_zip`` does the same for a zip on disk. A notebook (``.ipynb``) is checked
as the text of its cells (line numbers count through the cells), and its code, like every
shipped ``.py``, must not import the reference, the hidden or performance tests, the bug
zoo, or a private name of the probes.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..assignment import Assignment
from ..errors import AuthoringError
from . import templates

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["MIN_CHARS", "WINDOW", "Secrets", "check_files", "check_zip", "secrets_of"]

WINDOW = 4
"""Consecutive significant lines compared at once."""
MIN_CHARS = 30
"""Shorter windows are too generic to call a leak (``return out``)."""
MIN_NODES = 8
"""Solution regions with fewer syntax-tree nodes are too generic to search for as code."""
MARKER = re.compile(r"#+\s*(BEGIN|END)\s+SOLUTION")
SKIP = ("__pycache__", ".pyc")
SECRET_MODULES = re.compile(r"^(solutions|tests\.hidden|tests\.performance)(\.|$)|(^|\.)bugzoo(\.|$)")
"""Modules a shipped file or notebook must never import."""
MAGIC = re.compile(r"^\s*[%!]")


def _norm(line: str) -> str:
    return " ".join(line.split())


def _significant(text: str) -> list[tuple[int, str]]:
    """(line number, normalized line) of the lines with a letter or digit in them."""
    return [(i, _norm(line)) for i, line in enumerate(text.splitlines(), 1) if any(c.isalnum() for c in line)]


def _windows(lines: list[tuple[int, str]], size: int) -> dict[str, int]:
    """Window text -> line number of its first line."""
    out: dict[str, int] = {}
    for i in range(len(lines) - size + 1):
        out.setdefault("\n".join(text for _, text in lines[i:i + size]), lines[i][0])
    return out


def _dump(nodes: list[ast.stmt]) -> tuple[str, ...]:
    return tuple(ast.dump(n) for n in nodes)


def _body(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """A function's statements without its docstring."""
    body = list(fn.body)
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        body = body[1:]
    return body


def _blocks(tree: ast.AST) -> list[list[ast.stmt]]:
    """Every statement list in a tree (module, function, loop, branch, handler bodies)."""
    found = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                found.append(value)
    return found


@dataclass
class Secrets:
    """What must not be shipped, with a description of each for the message."""

    texts: dict[int, dict[str, str]] = field(default_factory=dict)
    """Window size -> normalized window text -> what it is."""
    files: dict[bytes, str] = field(default_factory=dict)
    """Content of a secret file -> its path."""
    regions: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    """Statements of a solution region (dumped) -> what it is."""
    bodies: dict[tuple[str, ...], str] = field(default_factory=dict)
    """Body of a reference function holding a region (dumped) -> what it is."""

    def add_text(self, lines: list[tuple[int, str]], what: str, public: dict[int, dict[str, int]]) -> None:
        """Register the windows of ``lines`` (all of them if shorter than a window), unless public."""
        size = min(WINDOW, len(lines))
        if size == 0:
            return
        for text in _windows(lines, size):
            if len(text) >= MIN_CHARS and text not in public.get(size, {}):
                self.texts.setdefault(size, {}).setdefault(text, what)


def _public_windows(spec: Assignment) -> dict[int, dict[str, int]]:
    """Windows of every size found in the files students are meant to have (as authored)."""
    sources = [spec.template_file, spec.folder / "README.md", spec.folder / "assignment.toml", spec.probes_file]
    for shipped in ("public", "performance"):  # the performance tests ship too: the local performance check
        folder = spec.tests_dir / shipped
        if folder.is_dir():
            sources += sorted(p for p in folder.rglob("*") if p.is_file() and not any(s in str(p) for s in SKIP))
    lines = [_significant(p.read_text(encoding="utf-8", errors="replace")) for p in sources if p.is_file()]
    return {size: {t: 0 for ls in lines for t in _windows(ls, size)} for size in range(1, WINDOW + 1)}


def secrets_of(spec: Assignment) -> Secrets:
    """Collect the secrets of one assignment from its reference, hidden tests and bug zoo."""
    found = Secrets()
    public = _public_windows(spec)
    ref = spec.solution_file
    if not ref.is_file():
        raise AuthoringError(str(ref), "reference solution missing")
    found.files[ref.read_bytes()] = str(ref)
    stub = _significant(spec.template_file.read_text(encoding="utf-8")) if spec.template_file.is_file() else []
    in_stub = {size: _windows(stub, size) for size in range(1, WINDOW + 1)}
    _reference_secrets(found, ref, ref.read_text(encoding="utf-8"), in_stub)
    hidden = spec.tests_dir / "hidden"
    paths = sorted(hidden.rglob("*")) if hidden.is_dir() else []
    paths += sorted(spec.bugzoo_dir.rglob("*")) if spec.bugzoo_dir.is_dir() else []
    for path in paths:
        if not path.is_file() or any(s in str(path) for s in SKIP):
            continue
        found.files[path.read_bytes()] = str(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        found.add_text(_significant(text), f"text of {path.relative_to(spec.folder)}", public)
        if path.name == "zoo.toml":
            _zoo_edits(found, path, text, public)
    return found


def _reference_secrets(found: Secrets, ref: Path, source: str, in_stub: dict[int, dict[str, int]]) -> None:
    """Solution-region text and code, and the bodies of the functions holding a region.

    Region text the stub shows outside its regions (a worked example the student is given,
    like ``add`` beside the ``sub`` to write) is not a secret; region code still is, as a whole.
    """
    lines = source.splitlines(keepends=True)
    regions = templates.solution_regions(lines, str(ref))
    for n, (begin, end) in enumerate(regions, 1):
        what = f"solution region {n} of {ref.name} (lines {begin + 2}-{end})"
        body = "".join(lines[begin + 1:end])
        found.add_text([(begin + 2 + i, t) for i, t in _significant(body)], f"text of {what}", in_stub)
        try:
            stmts = ast.parse(textwrap.dedent(body)).body
        except SyntaxError:
            continue
        if stmts and sum(1 for s in stmts for _ in ast.walk(s)) >= MIN_NODES:
            found.regions.append((_dump(stmts), f"code of {what}"))
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            last = node.end_lineno or node.lineno
            if any(node.lineno < begin + 1 <= last for begin, _ in regions) and _body(node):
                found.bodies[_dump(_body(node))] = f"body of the reference's {node.name}() ({ref.name})"


def _zoo_edits(found: Secrets, path: Path, text: str, public: dict[int, dict[str, int]]) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    for bug in data.get("bug", []):
        for edit in bug.get("edit", []):
            found.add_text(_significant(str(edit.get("new", ""))), f"bug-zoo edit of {bug.get('name')!r}", public)


def check_files(spec: Assignment, files: dict[str, bytes], secrets: Secrets | None = None) -> list[str]:
    """Leaks in ``files`` (archive name -> content): one message per leak found."""
    secrets = secrets or secrets_of(spec)
    leaks = []
    for name in sorted(files):
        data = files[name]
        if data in secrets.files:
            leaks.append(f"{name}: a copy of {secrets.files[data]}")
            continue
        text = _notebook_text(data) if name.endswith(".ipynb") else data.decode("utf-8", errors="replace")
        for i, raw in enumerate(text.splitlines(), 1):
            if MARKER.search(raw):
                leaks.append(f"{name}:{i}: a solution marker ({raw.strip()[:60]})")
        lines = _significant(text)
        for size, table in sorted(secrets.texts.items()):
            for window, line in _windows(lines, size).items():
                if window in table:
                    leaks.append(f"{name}:{line}: {table[window]}")
        if name.endswith((".py", ".ipynb")):
            leaks += _code_leaks(name, text.encode("utf-8"), secrets)
    return _first_of_each(leaks)


def _notebook_text(data: bytes) -> str:
    """The cells of an ``.ipynb`` as one text; IPython magics (``%``, ``!``) become comments."""
    try:
        cells = json.loads(data).get("cells", [])
    except (ValueError, AttributeError):
        return data.decode("utf-8", errors="replace")
    lines = []
    for cell in cells:
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") != "code":
            text = textwrap.indent(text, "# ", lambda _: True)
        lines += [("# " + line if MAGIC.match(line) else line) for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def _secret_imports(name: str, tree: ast.AST) -> list[str]:
    """Imports of the reference, hidden or performance tests, the bug zoo, or the probes' private names."""
    leaks = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            root = node.module or ""
            modules = [root] + [f"{root}.{alias.name}" for alias in node.names]
            if root.split(".")[-1] == "probes":
                modules += [f"probes.{a.name} (private)" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "probes" \
                and node.attr.startswith("_"):
            modules = [f"probes.{node.attr} (private)"]
        bad = [m for m in modules if SECRET_MODULES.search(m.split(" ")[0]) or m.endswith("(private)")]
        if bad:
            leaks.append(f"{name}:{getattr(node, 'lineno', 0)}: imports {bad[0]}")
    return leaks


def _first_of_each(leaks: list[str]) -> list[str]:
    """One message per shipped file and secret: the first line where it shows."""
    seen: set[tuple[str, str]] = set()
    out = []
    for leak in leaks:
        where, _, what = leak.partition(": ")
        key = (where.split(":")[0], what)
        if key not in seen:
            seen.add(key)
            out.append(leak)
    return out


def _code_leaks(name: str, data: bytes, secrets: Secrets) -> list[str]:
    """Reference code in a shipped module, compared as syntax trees."""
    try:
        tree = ast.parse(data)
    except SyntaxError:
        return []
    leaks = _secret_imports(name, tree)
    for block in _blocks(tree):
        dumped = _dump(block)
        for region, what in secrets.regions:
            for i in range(len(dumped) - len(region) + 1):
                if dumped[i:i + len(region)] == region:
                    leaks.append(f"{name}:{block[i].lineno}: {what}")
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = secrets.bodies.get(_dump(_body(node)))
            if body:
                leaks.append(f"{name}:{node.lineno}: {node.name}() has the {body}")
    return leaks


def check_zip(spec: Assignment, path: Path, secrets: Secrets | None = None) -> list[str]:
    """Leaks in a zip on disk (every member, whatever its name)."""
    with zipfile.ZipFile(path) as zf:
        files = {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
    return [f"{Path(path).name}: {leak}" for leak in check_files(spec, files, secrets)]
