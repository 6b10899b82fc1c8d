"""The Zygote: workers forked from one sandboxed fork server grade exactly as workers started afresh."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from autograder import assignment, sandbox
from autograder.line_coverage import LineCoverage
from autograder.sandbox.proc_tree import carrying

WRONG = "    return -x\n", "    return x\n"
HANGS = "    return -x\n", "    while True:\n        pass\n"
CRASHES = "    return -x\n", "    import os\n    os._exit(3)\n"
LEAKS = "SCALE = 2\n", "SCALE = 2\nimport math\nmath.leaked = True\n"
SEES_A_LEAK = "    return SCALE * x\n", "    import math\n    return SCALE * x + hasattr(math, 'leaked')\n"


@pytest.fixture
def zygote(two: Any) -> Iterator[sandbox.Zygote]:
    server = sandbox.Zygote(assignment.load("two", two.root), sandbox.choose_isolation("auto"))
    yield server
    server.shut()


def _scores(grading: Any) -> list[tuple[str, float]]:
    return [(t.number, t.score) for t in grading.result.tests]


@pytest.mark.parametrize("change", [None, WRONG, HANGS, CRASHES], ids=["reference", "wrong", "hangs", "crashes"])
def test_forked_workers_score_as_fresh_ones(two: Any, zygote: sandbox.Zygote, change: tuple[str, str] | None) -> None:
    source = two.reference if change is None else two.reference.replace(*change)
    forked, fresh = two.grade(source, zygote=zygote), two.grade(source)
    assert _scores(forked) == _scores(fresh)
    assert not forked.result.grader_errors and forked.result.extra_data.worker_starts == fresh.result.extra_data.worker_starts


def test_one_zygote_serves_many_gradings_each_in_a_fresh_process(two: Any, zygote: sandbox.Zygote) -> None:
    """A submission that changes the runtime at import leaves nothing behind for the next one."""
    assert two.grade(two.reference.replace(*LEAKS), zygote=zygote).result.score == 3
    watch = LineCoverage(trace=False)
    after = two.grade(two.reference.replace(*SEES_A_LEAK), zygote=zygote, coverage=watch)
    assert after.result.score == 3, "the second grading saw what the first one's import left in its process"
    hung = two.grade(two.reference.replace(*HANGS), zygote=zygote, coverage=watch)
    assert hung.result.score == 1 and watch.disturbed
    assert two.grade(two.reference, zygote=zygote).result.score == 3, "a killed child takes the zygote down"


def test_shutting_the_zygote_leaves_no_process(two: Any, zygote: sandbox.Zygote) -> None:
    two.grade(two.reference.replace(*HANGS), zygote=zygote)
    assert zygote.server is not None
    token = zygote.server.token
    assert carrying(token), "the zygote runs with its worker token"
    zygote.shut()
    assert not carrying(token) and zygote.server is None and zygote.stage is None
