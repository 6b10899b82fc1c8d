"""Isolation between submissions and from the grader (SPEC S4, S9), under bubblewrap and as
an unprivileged sandbox user.

A hostile submission graded at the same time as a correct one must not change the correct
one's grade; a student's kill(-1) reaches only the sandbox's own processes (under bubblewrap,
its pid namespace; as a sandbox user, that uid's processes). At plain level as root, kill(-1)
would reach the whole machine, so it is never run there.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder import assignment
from autograder.authoring import bugzoo
from conftest import isolation_levels, run_grade

pytestmark = pytest.mark.slow
CONTAINED = [p for p in isolation_levels() if p.values[0] != "plain"]

HOSTILE = '''

def softmax(logits, dim=-1):
    import os, time
    hog = []
    try:
        for _ in range(40):
            hog.append(bytearray(1 << 28))
    except MemoryError:
        pass
    for _ in range(500):
        try:
            if os.fork() == 0:
                time.sleep(300)
                os._exit(0)
        except OSError:
            break
    return logits
'''


def _source_with(tmp_path: Path, name: str, extra: str) -> Path:
    spec = assignment.load("softmax_nll")
    folder = tmp_path / name
    folder.mkdir()
    (folder / spec.module_file).write_text(bugzoo.reference_source(spec) + extra, encoding="utf-8")
    return folder


@pytest.mark.parametrize("level", CONTAINED)
def test_fork_bomb_and_memory_hog_beside_a_correct_submission(tmp_path, level):
    """Both graded at once: the correct one keeps 100, the hostile one completes with softmax failing."""
    spec = assignment.load("softmax_nll")
    hostile = _source_with(tmp_path, "hostile", HOSTILE)
    with ThreadPoolExecutor(max_workers=2) as pool:
        good = pool.submit(run_grade, "softmax_nll", spec.solution_file.parent, tmp_path / "good.json",
                           "--isolation", level)
        bad = pool.submit(run_grade, "softmax_nll", hostile, tmp_path / "bad.json", "--isolation", level,
                          "--select", "softmax or nll_loss")
        good_result, bad_result = good.result(), bad.result()
    assert good_result.score == 100 and good_result.exit_code == 0, good_result.data["output"]
    assert bad_result.exit_code == 0 and "grader_errors" not in bad_result.extra
    assert not bad_result.passed("test_softmax_small") and bad_result.passed("test_nll_loss_mean")


@pytest.mark.parametrize("level", CONTAINED)
def test_kill_minus_one_reaches_only_the_sandbox(grade, level):
    """os.kill(-1, SIGKILL) from the student's code kills its own sandbox, not the grader."""
    src = bugzoo.reference_source(assignment.load("softmax_nll")) + (
        "\n\ndef softmax(logits, dim=-1):\n    import os, signal\n    os.kill(-1, signal.SIGKILL)\n    return logits\n")
    g = grade(src, select="test_softmax_small or test_nll_loss_mean or test_cross_entropy_mean",
              isolation=level)
    assert g.exit_code == 0 and "grader_errors" not in g.extra
    assert not g.passed("test_softmax_small")
    assert g.passed("test_nll_loss_mean") and g.passed("test_cross_entropy_mean")
