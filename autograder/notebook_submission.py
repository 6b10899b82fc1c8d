"""Notebook submissions: which code of a student's ``<a>.ipynb`` is the submission.

The rule (README "Notebook submissions"), applied to the notebook's code cells in order:

1. If a code cell starts with ``%%writefile <a>.py`` (any folder before the name), the body of
   the last such cell is the submission, and nothing else of the notebook is.
2. Otherwise the submission is every top-level statement of the code cells that is an import, a
   function or class definition (decorated or not), a docstring, or an assignment of a literal
   value to plain names (a constant), in notebook order. Every other statement (experiments,
   prints, plots, training loops), IPython line magics (``%...``), shell escapes (``!...``) and
   cells that start with a cell magic (``%%...``) are left out, never executed by the grader, and
   listed for the instructor in results.json. A cell that is not valid Python even without its
   magics is kept whole, so its syntax error is reported like a ``.py`` file's.

The submission is then one Python file, graded exactly like a submitted ``<a>.py`` (intake,
static checks, sandbox). Nothing of the notebook is ever executed here: it is read as JSON.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass

from .errors import SubmissionError

__all__ = ["MAX_NOTEBOOK_BYTES", "Extraction", "extract"]

MAX_NOTEBOOK_BYTES = 32 << 20
"""Largest notebook read (plots make notebooks large; the code taken out is capped like a .py)."""
WRITEFILE = re.compile(r"^%%writefile(?:\s+-a)?\s+(?P<path>\S+)\s*$")
FUTURE = re.compile(r"^from\s+__future__\s+import\b")
"""``from __future__`` imports, moved to the top of the submission (Python requires them first)."""
SHOW = 60
"""Characters of a left-out statement kept in its description."""


@dataclass(frozen=True)
class Extraction:
    """The submission's Python source and what of the notebook was left out."""

    source: bytes
    left_out: tuple[str, ...]
    """``cell N: <first line>`` for each statement or cell not taken (for the instructor)."""


def extract(data: bytes, module_file: str, name: str) -> Extraction:
    """The code of ``module_file`` in the notebook ``data`` (named ``name``); SubmissionError if there is none."""
    cells = _code_cells(_read(data, name))
    written = [(i, src) for i, src in cells if _writefile_target(src) == module_file]
    if written:
        index, src = written[-1]
        left = tuple(f"cell {i}: {_first_line(s)}" for i, s in cells if i != index)
        return Extraction(src.split("\n", 1)[1].encode("utf-8") if "\n" in src else b"", left)
    kept: list[str] = []
    future: list[str] = []
    left_out: list[str] = []
    for index, src in cells:
        taken, dropped = _definitions(src)
        lines = taken.splitlines(keepends=True)
        future += [line for line in lines if FUTURE.match(line)]
        taken = "".join(line for line in lines if not FUTURE.match(line))
        if taken.strip():
            kept.append(f"# notebook cell {index}\n{taken.rstrip()}\n")
        left_out += [f"cell {index}: {d}" for d in dropped]
    if not kept:
        raise SubmissionError(
            f"{name} has no code for {module_file}: no code cell defines a function, class or import.",
            f"write your functions in code cells of the notebook (or a cell starting with %%writefile "
            f"{module_file}) and submit it again.")
    head = "".join(dict.fromkeys(line.rstrip() + "\n" for line in future))
    return Extraction((head + "\n\n".join(kept)).encode("utf-8"), tuple(left_out))


def _read(data: bytes, name: str) -> dict[str, object]:
    """The notebook as nbformat 4 JSON; SubmissionError naming what is wrong with it."""
    import nbformat

    hint = "submit the .ipynb file that Jupyter saved (File > Save Notebook), not a copy edited by hand."
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB.",
                              "clear the notebook's outputs (Edit > Clear Outputs of All Cells) and submit again.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(f"{name} is not a notebook: it is not UTF-8 text.", hint) from None
    try:
        with warnings.catch_warnings():  # nbformat warns about notebooks older Jupyters saved (no cell ids)
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except nbformat.reader.NotJSONError:
        raise SubmissionError(f"{name} is not a notebook: it is not valid JSON.", hint) from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for a malformed notebook
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise SubmissionError(f"{name} is not a readable Jupyter notebook (nbformat 4): {detail}.", hint) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise SubmissionError(f"{name} is not a valid Jupyter notebook (nbformat 4): "
                              f"{str(exc).splitlines()[0][:160]}.", hint) from None
    return dict(nb)


def _code_cells(nb: dict[str, object]) -> list[tuple[int, str]]:
    """(1-based cell number, source) of every code cell."""
    cells = nb.get("cells") or []
    assert isinstance(cells, list)
    out = []
    for i, cell in enumerate(cells, start=1):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            out.append((i, "".join(src) if isinstance(src, list) else str(src)))
    return out


def _writefile_target(src: str) -> str | None:
    """The file name a ``%%writefile`` cell writes, or None."""
    match = WRITEFILE.match(src.split("\n", 1)[0].strip())
    return match["path"].replace("\\", "/").rsplit("/", 1)[-1] if match else None


def _first_line(src: str) -> str:
    """The first non-blank line of a cell or statement, shortened."""
    line = next((s.strip() for s in src.splitlines() if s.strip()), "(empty)")
    return line if len(line) <= SHOW else line[: SHOW - 3] + "..."


def _definitions(src: str) -> tuple[str, list[str]]:
    """The definition statements of one cell's source, and descriptions of what was left out."""
    if src.lstrip().startswith("%%"):
        return "", [f"cell magic {_first_line(src)}"]
    lines = src.splitlines(keepends=True)
    magic = [i for i, line in enumerate(lines) if _is_magic(line)]
    plain = "".join("\n" if i in magic else line for i, line in enumerate(lines))
    dropped = [f"magic {lines[i].strip()[:SHOW]}" for i in magic]
    try:
        tree = ast.parse(plain)
    except SyntaxError:
        return plain, dropped  # kept whole: the static checks report the syntax error
    kept: list[str] = []
    body_lines = plain.splitlines(keepends=True)
    for node in tree.body:
        decorators = getattr(node, "decorator_list", [])
        if decorators:  # decorators stand on lines of their own: take those whole lines
            text = "".join(body_lines[min(d.lineno for d in decorators) - 1: node.end_lineno])
        else:  # exactly the statement, also where a `;` puts others on its lines
            text = (ast.get_source_segment(plain, node) or "") + "\n"
        if _is_definition(node):
            kept.append(text)
        else:
            dropped.append(_first_line(text))
    return "".join(kept), dropped


def _is_magic(line: str) -> bool:
    """True for an IPython line magic or shell escape at the start of a line."""
    stripped = line.lstrip()
    return stripped.startswith("%") or (stripped.startswith("!") and not stripped.startswith("!="))


def _is_definition(node: ast.stmt) -> bool:
    """An import, def, class, docstring or constant assignment: what a module holds, not what a session runs."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    if isinstance(node, ast.Assign):
        return all(_plain_names(t) for t in node.targets) and _literal(node.value)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and (node.value is None or _literal(node.value))
    return False


def _plain_names(target: ast.expr) -> bool:
    """True for ``X`` or ``X, Y`` (no attribute, subscript or starred target)."""
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Name) for e in target.elts)


def _literal(value: ast.expr) -> bool:
    """True for a value Python can evaluate without running any code (``ast.literal_eval``)."""
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True
