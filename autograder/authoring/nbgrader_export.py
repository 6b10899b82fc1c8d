"""``autograder export nbgrader``: our assignments as an nbgrader course, graded by our sandbox.

Per assignment it writes ``DIR/source/<a>/<a>.ipynb``: the handout's text, the reference's
preamble (docstring, imports) in a locked cell, then per task a solution cell (the reference
between ``### BEGIN SOLUTION`` / ``### END SOLUTION``) and a locked graded cell worth the task's
points. ``DIR/nbgrader_config.py`` gets one marked block (replaced on each export, the rest of the
file kept as it is) that puts ``SandboxGrades`` in place of nbgrader's ``Execute`` for these
assignments: ``nbgrader autograde`` then grades with ``autograder grade`` (the sandbox) and never
runs the student's notebook in a kernel.
"""

from __future__ import annotations

import importlib.util
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from .. import assignment
from ..errors import UsageError
from .tasks import TaskCode, split, task_points

__all__ = ["BEGIN_BLOCK", "END_BLOCK", "export", "source_notebook", "write_config"]

BEGIN_BLOCK = "# BEGIN dl-autograder (written by `autograder export nbgrader`; replaced on each export)"
END_BLOCK = "# END dl-autograder"
PREAMBLE_ID = "preamble"
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _cell_meta(grade_id: str, *, solution: bool = False, grade: bool = False, points: float | None = None,
               locked: bool = False) -> dict[str, object]:
    """nbgrader's cell metadata (schema version 3)."""
    meta: dict[str, object] = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
                               "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook(spec: assignment.Assignment, code: TaskCode, points: dict[str, float]) -> bytes:
    """The instructor's source notebook of one assignment (nbformat 4, with nbgrader metadata)."""
    import nbformat

    v4 = nbformat.v4
    handout = (spec.folder / "README.md").read_text(encoding="utf-8") if (spec.folder / "README.md").is_file() \
        else f"# {spec.title}\n"
    cells = [
        v4.new_markdown_cell(handout.rstrip() + "\n\n---\nWrite your code in the cells marked for each task; "
                             "everything else in this notebook is yours to experiment with. Your functions are "
                             "graded by dl-autograder in its sandbox, with fresh random inputs: the graded cells "
                             "below show your points once your submission is graded."),
        v4.new_code_cell(code.preamble, metadata=_cell_meta(PREAMBLE_ID, locked=True)),
    ]
    for task, title in spec.tasks.items():
        cells += [
            v4.new_markdown_cell(f"## {title} ({points[task]:g} points)"),
            v4.new_code_cell(code.tasks[task], metadata=_cell_meta(f"{task}_solution", solution=True)),
            v4.new_code_cell(f"# {title}: {points[task]:g} points, graded by dl-autograder's tests (public, hidden "
                             f"and performance) in its sandbox.\n# Run the public tests yourself with "
                             f"`pytest -m {task}` in the student folder.",
                             metadata=_cell_meta(task, grade=True, points=points[task], locked=True)),
        ]
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNEL), "language_info": {"name": "python"}})
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    nbformat.validate(nb)
    return (nbformat.writes(nb) + "\n").encode("utf-8")


def write_config(course_dir: Path, names: list[str]) -> Path:
    """Add or replace our block in ``course_dir/nbgrader_config.py`` (keeping its assignments and the rest)."""
    path = course_dir / "nbgrader_config.py"
    text = path.read_text(encoding="utf-8") if path.is_file() else "c = get_config()  # noqa: F821\n"
    block = re.search(re.escape(BEGIN_BLOCK) + r".*?" + re.escape(END_BLOCK) + r"\n?", text, flags=re.S)
    before = re.search(r"SandboxGrades\.assignments = (\[.*?\])", block[0]) if block else None
    seed = re.search(r"SandboxGrades\.course_seed = (\d+)", block[0]) if block else None
    known = re.findall(r"'([^']+)'|\"([^\"]+)\"", before[1]) if before else []
    merged = list(dict.fromkeys([a or b for a, b in known] + names))
    ours = "\n".join([
        BEGIN_BLOCK,
        "# nbgrader autograde grades these assignments with `autograder grade` (dl-autograder's sandbox), never",
        "# by running the student's notebook: SandboxGrades takes the place of nbgrader's Execute preprocessor.",
        "from autograder.authoring.nbgrader_preprocessor import with_sandbox as _dl_autograder_with_sandbox",
        "",
        "c.Autograde.autograde_preprocessors = _dl_autograder_with_sandbox(c)",
        f"c.SandboxGrades.assignments = {merged!r}",
        "# each student's seed for the hidden inputs derives from this one (set c.SandboxGrades.seed to fix it)",
        f"c.SandboxGrades.course_seed = {seed[1] if seed else secrets.randbelow(2**31)}",
        END_BLOCK,
        "",
    ])
    if block:
        text = text[:block.start()] + ours + text[block.end():]
    else:
        text = text.rstrip("\n") + "\n\n" + ours
    path.write_text(text, encoding="utf-8")
    return path


def export(names: list[str], course_dir: Path, echo: Callable[[str], object] = print) -> list[Path]:
    """Write each assignment's source notebook and the course's config block; return the files written."""
    if not names:
        raise UsageError("export nbgrader: name at least one assignment")
    if importlib.util.find_spec("nbgrader") is None:
        raise UsageError("export nbgrader needs nbgrader: pip install 'dl-autograder[nbgrader]'")
    written = []
    for name in names:
        spec = assignment.load(name)
        target = course_dir / "source" / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source_notebook(spec, split(spec), task_points(spec)))
        echo(f"wrote {target}")
        written.append(target)
    written.append(write_config(course_dir, names))
    echo(f"wrote {written[-1]}")
    return written
