"""Self-check for the notebook: ``check("softmax")`` runs that task's public tests and prints their points.

It runs ``python -m pytest -m <task>`` in this folder as a separate process, so a crash or an
endless loop in your code cannot take the notebook's kernel down. It prints the same tests and
points as ``pytest -m <task>`` in a terminal, with each failing test's hint, without tracebacks.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

__all__ = ["check", "tasks"]

FOLDER = Path(__file__).resolve().parent
TIMEOUT = 300
"""Seconds before a self-check is stopped (an endless loop in your code)."""
POINTS_HEADER = " points "
"""The plugin's section title: the report starts at this line."""


def tasks(folder: Path = FOLDER) -> list[str]:
    """The task markers of this assignment, in order, from ``pytest.ini``."""
    config = configparser.ConfigParser()
    config.read(folder / "pytest.ini", encoding="utf-8")
    lines = config.get("pytest", "markers", fallback="").splitlines()
    return [line.split(":")[0].strip() for line in lines if line.strip()]


def report(output: str) -> str:
    """The part of pytest's output worth showing: the points table and the total, no tracebacks."""
    lines = output.rstrip().splitlines()
    start = next((i for i, line in enumerate(lines) if POINTS_HEADER in line and line.startswith("=")), None)
    if start is None:
        return "\n".join(lines[-20:])
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("Total:")), len(lines) - 1)
    return "\n".join(lines[start + 1:end + 1])


def check(task: str, timeout: float = TIMEOUT) -> None:
    """Run the public tests of ``task`` (e.g. ``"softmax"``) and print each test's points and the total."""
    known = tasks()
    if task not in known:
        raise ValueError(f"unknown task {task!r}: this assignment's tasks are {', '.join(known)}")
    command = [sys.executable, "-m", "pytest", "-m", task, "-q", "--tb=no", "-rN", "-p", "no:cacheprovider"]
    try:
        done = subprocess.run(command, cwd=FOLDER, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"{task}: the public tests did not finish within {timeout:.0f} s (an endless loop?)")
        return
    print(f"Public tests of {task} (the same as `pytest -m {task}` in this folder):")
    print(report(done.stdout + done.stderr))
