"""Hints: the student's next step for each way their file can fail to import or run.

Each kind of failure gets its own hint: an exception, ``sys.exit()``, a missing package or a
helper module submitted beside the file at import time; an endless loop, a memory blow-up or
a killed process while importing; an exception in a call. Messages name the student's file
and line, never the grader's internals.
"""

from __future__ import annotations

import re
import signal
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from .errors import WorkerCrash

if TYPE_CHECKING:
    from .student import StudentError

__all__ = ["for_exception", "import_crash", "import_failure"]

MAIN_GUARD = 'if __name__ == "__main__":'
STUB = "this task is still the stub: replace `# YOUR CODE HERE` and the raise with your code."
_NO_MODULE = re.compile(r"No module named '([^']+)'")
_NOT_DEFINED = re.compile(r"does not define '([^']+)'")
_SIGXCPU = getattr(signal, "SIGXCPU", None)  # POSIX only: this module is imported by local runs on any OS
_SIGKILL = getattr(signal, "SIGKILL", None)


def for_exception(error: StudentError) -> str:
    """A next step that fits the exception one call of the student's code raised."""
    if error.is_a("NotImplementedError"):
        return STUB
    if error.is_a("AttributeError") and _NOT_DEFINED.search(error.message):
        return ("define this function at the top level of your file, with the exact name and parameters "
                "the handout gives.")
    if error.is_a("MemoryError"):
        return "your code ran out of memory: avoid building large intermediate tensors or Python lists."
    return "read the error and the line of your file it points to."


def import_failure(error: StudentError, module_file: str, ignored: tuple[str, ...] = ()) -> tuple[str, str]:
    """(problem, hint) for a file whose import raised ``error``; ``ignored`` lists the submission's other files."""
    problem = f"Importing {module_file} failed, so no test can run: {error.describe(module_file)}."
    if error.is_a("SystemExit"):
        return problem, (f"remove the call to sys.exit() (or exit() / quit()) from the top level of {module_file}, "
                         f"or put it under `{MAIN_GUARD}`: importing your file must not end the program.")
    if error.is_a("ModuleNotFoundError") and (found := _NO_MODULE.search(error.message)):
        return problem, _missing_module(found.group(1), module_file, ignored)
    if error.is_a("MemoryError"):
        return problem, (f"{module_file} ran out of memory while being imported: do not build large tensors or "
                         "lists at the top level of your file; create data inside your functions.")
    if error.is_a("ImportError") and error.message.startswith("cannot import name"):
        return problem, "check that line's import: that name does not exist in the module it is imported from."
    return problem, (f"code outside functions runs as soon as {module_file} is imported: fix that line, or move "
                     f"test and demo code into a function or under `{MAIN_GUARD}`.")


def _missing_module(name: str, module_file: str, ignored: tuple[str, ...]) -> str:
    """Hint for ``import name`` failing: a helper file that was submitted (and ignored), or a package not installed."""
    top = name.split(".", 1)[0]
    submitted = sorted(p for p in ignored if _provides(p, top))
    if submitted:
        others = sorted(p for p in ignored if p.endswith(".py"))
        listed = ", ".join(repr(p) for p in others[:5]) + (" and other files" if len(others) > 5 else "")
        return (f"only {module_file} is used from your submission; the other files ({listed}) were ignored: copy "
                f"the code you need from {submitted[0]!r} into {module_file} and remove the import.")
    return (f"the package '{top}' is not installed where your code is graded: use only the Python standard library "
            f"and the packages the handout lists, and remove the import.")


def _provides(path: str, module: str) -> bool:
    """True if a submitted file ``path`` is the module ``module`` (``module.py`` or a ``module/`` package)."""
    parts = PurePosixPath(path).parts
    return PurePosixPath(path).name == f"{module}.py" or module in parts[:-1]


def import_crash(crash: WorkerCrash) -> WorkerCrash:
    """The crash to report for every test when importing the student's file hung or ended its process."""
    code = crash.exit_code
    sig = -code if code is not None and code < 0 else code - 128 if code is not None and code > 128 else 0
    if crash.timed_out or (sig and sig == _SIGXCPU):
        hint = ("look for an endless loop or a long computation at the top level of your file, outside any "
                f"function: move it into a function or under `{MAIN_GUARD}`.")
    elif sig and sig == _SIGKILL:
        hint = ("your file probably used too much memory while being imported: do not build large tensors or "
                "lists at the top level of your file.")
    else:
        hint = (f"do not call os._exit() or kill processes at the top level of your file (or put that code under "
                f"`{MAIN_GUARD}`): importing your file must not end the program.")
    problem = crash.problem if crash.timed_out else (
        f"Importing your module ended the process running it ({crash.problem})")
    return WorkerCrash(problem, hint, timed_out=crash.timed_out, exit_code=code)
