"""``grader.check("<task>")`` in an otter course: the task's public tests against the notebook's code.

The student test files ``autograder export otter`` writes (``student/tests/<task>.py``) have one
otter test case per public test of the task, worth its points, as ``pytest -m <task>`` counts
them. The first case run takes the code of the cells executed so far (IPython's ``In``) by the
notebook-submission rule, runs ``pytest -m <task>`` on the public tests against it once, and
every case then reports its own test.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .. import assignment, notebook_submission

__all__ = ["check"]

_RUNS: dict[str, dict[str, str | None]] = {}
"""(assignment, task, code) digest -> test name -> None (passed) or its failure text."""


def _notebook_of(cells: list[str]) -> bytes:
    """An nbformat 4 notebook holding these code cells."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": f"in-{i}", "metadata": {}, "source": src, "outputs": [], "execution_count": None}
        for i, src in enumerate(cells)]}).encode("utf-8")


def _outcomes(name: str, task: str, source: bytes) -> dict[str, str | None]:
    """``pytest -m task`` on the public tests against ``source``: test name -> None or failure text."""
    spec = assignment.load(name)
    with tempfile.TemporaryDirectory(prefix="ag-check-") as tmp:
        (Path(tmp) / spec.module_file).write_bytes(source)
        (Path(tmp) / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        xml = Path(tmp) / "junit.xml"
        subprocess.run([sys.executable, "-m", "pytest", str(spec.tests_dir / "public"), "-m", task, "-q",
                        "-c", str(Path(tmp) / "pytest.ini"), "--rootdir", str(spec.tests_dir), "-p",
                        "autograder.pytest_plugin", "-p", "no:cacheprovider", "--submission-dir", tmp,
                        f"--junitxml={xml}"], capture_output=True, text=True, timeout=600)
        if not xml.is_file():
            raise AssertionError(f"the public tests of {task} could not run")
        out: dict[str, str | None] = {}
        for case in ET.parse(xml).iter("testcase"):
            problem = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
            base = str(case.get("name", "")).split("[", 1)[0]
            text = None if problem is None else (problem.get("message") or problem.text or "failed")
            if base not in out or out[base] is None:  # a parametrized test passes only if every case does
                out[base] = text
        return out


def check(name: str, task: str, test: str, env: dict[str, Any]) -> None:
    """Raise AssertionError (otter's failed case) unless public test ``test`` of ``task`` passes on this notebook."""
    cells = [c for c in env.get("In", []) if isinstance(c, str) and c.strip()]
    if not cells:
        raise AssertionError("grader.check needs the notebook's cell history (IPython's In): run it in Jupyter")
    module = f"{assignment.load(name).module_file}"
    try:
        source = notebook_submission.extract(_notebook_of(cells), module, "this notebook").source
    except Exception as exc:  # noqa: BLE001 - a SubmissionError explains itself to the student
        raise AssertionError(str(exc)) from None
    key = hashlib.sha256(f"{name}:{task}:".encode() + source).hexdigest()
    if key not in _RUNS:
        _RUNS[key] = _outcomes(name, task, source)
    if test not in _RUNS[key]:
        raise AssertionError(f"{test} did not run")
    if _RUNS[key][test] is not None:
        raise AssertionError(str(_RUNS[key][test])[:2000])
