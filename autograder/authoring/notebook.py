"""The companion notebook of an assignment: ``assignments/<a>/notebook.py``, a jupytext percent script.

``student_notebook`` converts it with jupytext into the ``<a>.ipynb`` of the student zip (no
outputs, fixed cell ids and metadata, so the same source gives the same bytes); ``execute``
runs a notebook headless with nbclient in an ipykernel kernel, in a folder laid out like the
unzipped student zip; ``html`` renders an executed notebook with nbconvert for staff.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..assignment import Assignment
from ..errors import AuthoringError

__all__ = ["KERNEL", "SOURCE", "TIMEOUT", "Run", "execute", "html", "lay_out", "solution_notebook", "source_file",
           "student_notebook"]

SOURCE = "notebook.py"
"""The notebook's source in each assignment folder."""
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
TIMEOUT = 120
"""Seconds one cell may run when a notebook is executed headless."""
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""The headless kernel's environment: one intra-op thread, since torch's spinning threads run
many times slower on a busy machine (release and CI); a student's own Jupyter is unaffected."""


TOOLS = ("jupytext", "nbformat", "nbclient", "nbconvert", "ipykernel")
"""The notebook tools release needs (the ``dev`` extra); grading needs none of them."""


def source_file(spec: Assignment) -> Path | None:
    """The assignment's notebook source, or None if it has none; AuthoringError if the tools are missing."""
    path = spec.folder / SOURCE
    if not path.is_file():
        return None
    missing = [tool for tool in TOOLS if importlib.util.find_spec(tool) is None]
    if missing:
        raise AuthoringError(str(path), f"releasing a notebook needs {', '.join(missing)}: "
                                        "pip install -e '.[dev]'")
    return path


def student_notebook(path: Path) -> bytes:
    """The ``.ipynb`` a student gets: jupytext's conversion of ``path``, no outputs, stable ids and metadata."""
    import jupytext
    import nbformat

    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata = {"kernelspec": dict(KERNEL), "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
        cell.metadata = {}
    nbformat.validate(nb)
    return (nbformat.writes(nb) + "\n").encode("utf-8")


def lay_out(files: dict[str, bytes], folder: Path, module_file: str, module: bytes) -> Path:
    """Write a student zip's ``files`` into ``folder``, with ``module`` (reference or stub) as ``module_file``."""
    for name, data in {**files, module_file: module}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


@dataclass
class Run:
    """A notebook executed headless: the notebook with its outputs, the first error, the time taken."""

    notebook: Any
    """The executed ``nbformat.NotebookNode``."""
    error: str | None
    """``ExceptionName: message`` of the cell that stopped the run, or None."""
    seconds: float


def execute(ipynb: Path, timeout: float = TIMEOUT) -> Run:
    """Run ``ipynb`` top to bottom in its own folder (an ipykernel kernel); stop at the first error."""
    import nbclient
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(ipynb, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name=KERNEL["name"], record_timing=False,
                                     resources={"metadata": {"path": str(ipynb.parent)}})
    start = time.perf_counter()
    error = None
    try:
        client.execute(env={**os.environ, **THREADS})
    except CellExecutionError as e:
        error = f"{e.ename}: {e.evalue}"
    return Run(nb, error, time.perf_counter() - start)


def html(nb: Any) -> bytes:
    """An executed notebook rendered as one HTML page (nbconvert), for staff."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body.encode("utf-8")


def solution_notebook(spec: Assignment, student: dict[str, bytes]) -> dict[str, bytes]:
    """``<a>.ipynb`` executed against the reference in a folder laid out like the student zip, and its HTML."""
    import nbformat

    name = f"{spec.name}.ipynb"
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-notebook-") as tmp:
        folder = lay_out(student, Path(tmp), spec.module_file, spec.solution_file.read_bytes())
        run = execute(folder / name)
        shutil.rmtree(folder, ignore_errors=True)
    if run.error:
        raise AuthoringError(str(spec.folder / SOURCE), f"fails with the reference: {run.error}")
    return {name: (nbformat.writes(run.notebook) + "\n").encode("utf-8"), f"{spec.name}.html": html(run.notebook)}
