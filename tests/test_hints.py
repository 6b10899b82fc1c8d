"""Hints: each way a submission can fail to import or run gets its own next step, word for word."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from autograder import hints
from autograder.errors import WorkerCrash
from autograder.student import StudentError
from conftest import GradeFn

FILE = "softmax_nll.py"
MAIN = 'if __name__ == "__main__":'


def error(kind: str, message: str, *bases: str, line: int | None = 3, code: str | None = "x") -> StudentError:
    return StudentError(kind, message, line, code, (kind, *bases, "BaseException"), False)


@pytest.mark.parametrize("raised,hint", [
    (error("SystemExit", "3"),
     f"remove the call to sys.exit() (or exit() / quit()) from the top level of {FILE}, or put it under `{MAIN}`: "
     "importing your file must not end the program."),
    (error("ModuleNotFoundError", "No module named 'jax.numpy'", "ImportError", "Exception"),
     "the package 'jax' is not installed where your code is graded: use only the Python standard library and the "
     "packages the handout lists, and remove the import."),
    (error("MemoryError", "", "Exception"),
     f"{FILE} ran out of memory while being imported: do not build large tensors or lists at the top level of your "
     "file; create data inside your functions."),
    (error("ImportError", "cannot import name 'softmaxx' from 'torch'", "Exception"),
     "check that line's import: that name does not exist in the module it is imported from."),
    (error("ValueError", "boom", "Exception"),
     f"code outside functions runs as soon as {FILE} is imported: fix that line, or move test and demo code into a "
     f"function or under `{MAIN}`."),
], ids=["sys_exit", "missing_package", "memory", "bad_name", "exception"])
def test_import_failure_hint_fits_the_failure(raised: StudentError, hint: str) -> None:
    problem, got = hints.import_failure(raised, FILE)
    assert problem == f"Importing {FILE} failed, so no test can run: {raised.describe(FILE)}."
    assert got == hint


@pytest.mark.parametrize("ignored,named", [
    (("helpers.py", "README.md"), "'helpers.py'"),
    (("helpers/__init__.py", "helpers/more.py"), "'helpers/__init__.py', 'helpers/more.py'"),
])
def test_importing_a_submitted_helper_says_only_the_module_is_used(ignored: tuple[str, ...], named: str) -> None:
    _, hint = hints.import_failure(error("ModuleNotFoundError", "No module named 'helpers'", "ImportError"), FILE,
                                   ignored)
    assert hint == (f"only {FILE} is used from your submission; the other files ({named}) were ignored: copy the "
                    f"code you need from {ignored[0]!r} into {FILE} and remove the import.")


LOOP_HINT = (f"look for an endless loop or a long computation at the top level of your file, outside any function: "
             f"move it into a function or under `{MAIN}`.")


@pytest.mark.parametrize("crash,problem,hint", [
    (WorkerCrash("Your code did not finish importing your module within the time limit (10 s) and was stopped.",
                 timed_out=True),
     "Your code did not finish importing your module within the time limit (10 s) and was stopped.", LOOP_HINT),
    (WorkerCrash("The process running your code used more than its 30 s of CPU time and was stopped importing "
                 "your module.", exit_code=-signal.SIGXCPU),
     "Importing your module ended the process running it (The process running your code used more than its 30 s "
     "of CPU time and was stopped importing your module.)", LOOP_HINT),
    (WorkerCrash("The process running your code was killed (out of memory, or a process limit) importing your "
                 "module.", exit_code=128 + signal.SIGKILL),
     "Importing your module ended the process running it (The process running your code was killed (out of "
     "memory, or a process limit) importing your module.)",
     "your file probably used too much memory while being imported: do not build large tensors or lists at the "
     "top level of your file."),
    (WorkerCrash("The process running your code exited with status 0 importing your module.", exit_code=0),
     "Importing your module ended the process running it (The process running your code exited with status 0 "
     "importing your module.)",
     f"do not call os._exit() or kill processes at the top level of your file (or put that code under `{MAIN}`): "
     "importing your file must not end the program."),
], ids=["endless_loop", "cpu_limit", "killed", "os_exit"])
def test_import_crash_hint_fits_how_the_import_ended(crash: WorkerCrash, problem: str, hint: str) -> None:
    got = hints.import_crash(crash)
    assert (got.problem, got.hint, got.timed_out) == (problem, hint, crash.timed_out)


@pytest.mark.parametrize("raised,hint", [
    (error("NotImplementedError", "", "RuntimeError"),
     "this task is still the stub: replace `# YOUR CODE HERE` and the raise with your code."),
    (error("AttributeError", f"{FILE} does not define 'softmax'", "Exception"),
     "define this function at the top level of your file, with the exact name and parameters the handout gives."),
    (error("ValueError", "bad", "Exception"), "read the error and the line of your file it points to."),
])
def test_call_failure_hint_fits_the_exception(raised: StudentError, hint: str) -> None:
    assert hints.for_exception(raised) == hint


# --------------------------------------------------------------------------- end to end

def test_import_time_endless_loop_gets_the_loop_hint(grade: GradeFn) -> None:
    """The issue's case: the loop at import used to get the hint about sys.exit()."""
    g = grade("while True:\n    pass\n", select="test_softmax_small", isolation="plain")
    assert g.score == 0 and g.exit_code == 0
    expected = ("Your code did not finish importing your module within the time limit (10 s) and was stopped. "
                f"Hint: {LOOP_HINT}")
    assert expected in g.data["output"]
    assert g.data["tests"][0]["output"].endswith(expected)


def test_helper_module_beside_the_file_is_named_as_ignored(grade: GradeFn, tmp_path: Path) -> None:
    folder = tmp_path / "helper_submission"
    folder.mkdir()
    (folder / FILE).write_text("from helpers import f\n", encoding="utf-8")
    (folder / "helpers.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    g = grade(folder, select="test_softmax_small", isolation="plain")
    assert g.score == 0 and g.exit_code == 0
    expected = (f"Importing {FILE} failed, so no test can run: ModuleNotFoundError: No module named 'helpers' ({FILE} "
                f"line 1: `from helpers import f`). Hint: only {FILE} is used from your submission; the other files "
                f"('helpers.py') were ignored: copy the code you need from 'helpers.py' into {FILE} and remove the "
                "import.")
    assert expected in g.data["output"]
    assert g.data["tests"][0]["output"].endswith(expected)


def test_misnamed_file_scores_zero_and_names_what_was_found(grade: GradeFn, tmp_path: Path) -> None:
    folder = tmp_path / "misnamed"
    folder.mkdir()
    (folder / "softmax_nll (1).py").write_text("def softmax(x, dim=-1):\n    return x.softmax(dim)\n")
    g = grade(folder, select="test_softmax_small", isolation="plain")
    assert g.score == 0 and g.exit_code == 0 and g.extra["submitted_file"] == ""
    expected = ("Your file could not be loaded: No file named softmax_nll.py was found in your submission; it holds "
                "'softmax_nll (1).py'. Hint: rename 'softmax_nll (1).py' to softmax_nll.py and submit again: only a "
                "file named exactly softmax_nll.py is graded, and no other file is used.")
    assert expected in g.data["output"]
    assert g.data["tests"][0]["output"].endswith(expected)
