"""Which tests reach a mutant: statement ranges, the import rule, and merging in the reference's results."""

from __future__ import annotations

import ast

import pytest

from autograder import results
from autograder.authoring import selection
from autograder.authoring.selection import Reach, merged, statement_lines

SOURCE = '''import functools


@functools.lru_cache(
    maxsize=None)
def f(x, y=2):
    a = x + 1; b = y * 2
    total = g(a,
              b,
              c=3)
    if (total >
            0):
        return total
    elif total < -1:
        return -total
    for i in range(
            3):
        total += i
    try:
        pass
    except (KeyError,
            ValueError):
        return 0
    return [v * 2 for v in
            range(total)]
'''


def _at(text: str, nth: int = 0) -> tuple[int, int]:
    """(line, column) of the nth occurrence of ``text`` in SOURCE."""
    lines = SOURCE.splitlines()
    found = [(i + 1, line.index(text)) for i, line in enumerate(lines) if text in line]
    return found[nth]


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("x + 1", (7, 7), id="first of two statements on a line"),
    pytest.param("y * 2", (7, 7), id="second of two statements on a line"),
    pytest.param("c=3", (8, 10), id="a multi-line call: every line of the statement"),
    pytest.param("0):", (11, 12), id="an if's test: its header only, not its body"),
    pytest.param("return total", (13, 13), id="a statement in a body"),
    pytest.param("total < -1", (14, 14), id="an elif's test"),
    pytest.param("            3):", (16, 17), id="a for's iterable"),
    pytest.param("ValueError", (21, 22), id="an except clause's types"),
    pytest.param("range(total)", (24, 25), id="inside a comprehension"),
    pytest.param("maxsize", (4, 6), id="a decorator's argument: decorators and signature"),
    pytest.param("y=2", (4, 6), id="a default: decorators and signature"),
])
def test_statement_lines(text: str, expected: tuple[int, int]) -> None:
    line, column = _at(text)
    lines = statement_lines(ast.parse(SOURCE), line, column)
    assert (lines.start, lines.stop - 1) == expected


def _result(nodeid: str, number: str, score: float) -> results.TestResult:
    return results.TestResult(name=nodeid, number=number, score=score, max_score=1.0,
                              status="passed" if score == 1.0 else "failed", output="", tags=["hidden"],
                              visibility="visible", category="hidden", nodeid=nodeid)


REACH = Reach(frozenset({1, 4, 5, 6}), {"t1": frozenset({7, 8}), "t2": frozenset({13}), "t3": frozenset()},
              {"t1": _result("t1", "1.1", 1.0), "t2": _result("t2", "1.10", 1.0), "t3": _result("t3", "1.2", 1.0)})


def test_tests_reaching_a_statement() -> None:
    assert selection.tests_reaching(REACH, range(8, 11)) == {"t1"}
    assert selection.tests_reaching(REACH, range(13, 14)) == {"t2"}
    assert selection.tests_reaching(REACH, range(24, 26)) == frozenset(), "no test runs it: every test keeps its result"


def test_a_statement_the_import_ran_reaches_every_test() -> None:
    assert selection.tests_reaching(REACH, range(4, 7)) is None


def test_merged_fills_in_the_reference_and_keeps_the_order_of_numbers() -> None:
    ran = results.GradingResult([_result("t1", "1.1", 0.0)], 1.5, "partial")
    full = merged(ran, REACH, frozenset({"t1"}), "Title")
    assert [t.nodeid for t in full.tests] == ["t1", "t3", "t2"]  # 1.1, 1.2, 1.10
    assert (full.score, full.max_score) == (2.0, 3.0)
    assert full.output.startswith("Title: 2 / 3 points. 1 of 3 tests ran")


def test_reach_round_trips_through_json() -> None:
    assert Reach.from_dict(REACH.as_dict()) == REACH
