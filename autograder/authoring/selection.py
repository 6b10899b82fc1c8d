"""Which tests can tell a mutant from the reference: those whose run of the reference reached it.

``autograder mutants`` grades the reference once with the worker tracing lines (``Reach``): per
test, the lines of the reference it ran, and the lines its import ran. A mutant changes one
statement. A test that never ran that statement behaves exactly as it did on the reference,
since everything it ran is unchanged, so its result is the reference's. Such a mutant is graded
with only the tests that ran the statement, and the rest are filled in from the reference
(``merged``). Two things break this, and the mutant is then graded with every test:

- a statement the import ran (every test depends on the module as imported), and
- a grading ``disturbed`` by a timeout or a crash, after which later tests behave differently.

A statement "ran" when one of its lines ran; for a compound statement (``if``, ``for``, ``def``,
...) those are the lines of its header, decorators included. The line tracer reports each line
a frame reaches, so this errs only on the side of running more tests.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import results
from ..results import GradingResult, TestResult

__all__ = ["Reach", "merged", "statement_lines", "tests_reaching"]


@dataclass
class Reach:
    """The reference's traced grading: the lines each test ran, and each test's result."""

    imports: frozenset[int]
    tests: dict[str, frozenset[int]]
    """Test node id -> the lines of the reference it ran."""
    results: dict[str, TestResult] = field(default_factory=dict)
    """Test node id -> the reference's result of that test."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``reach.json`` in the mutants folder)."""
        return {"imports": sorted(self.imports),
                "by_test": {nodeid: {"lines": sorted(lines), "result": asdict(self.results[nodeid])}
                            for nodeid, lines in self.tests.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reach:
        """Read ``as_dict`` back."""
        by_test = data["by_test"]
        return cls(frozenset(data["imports"]), {n: frozenset(t["lines"]) for n, t in by_test.items()},
                   {n: TestResult(**t["result"]) for n, t in by_test.items()})

    @property
    def graded(self) -> GradingResult:
        """The reference's grading, as its results (for its score)."""
        return GradingResult(list(self.results.values()), 0.0, "")


def statement_lines(tree: ast.Module, line: int, column: int) -> range:
    """The lines of which one running shows that the statement at (line, column) ran."""
    best: ast.stmt | ast.excepthandler | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.stmt, ast.excepthandler)) and _contains(node, line, column):
            if best is None or _contains(best, node.lineno, node.col_offset):
                best = node
    if best is None:
        return range(line, line + 1)
    first = min([best.lineno, *(d.lineno for d in getattr(best, "decorator_list", []))])
    body = getattr(best, "body", None)
    if isinstance(body, list) and body and line < body[0].lineno:
        return range(first, max(best.lineno, body[0].lineno - 1) + 1)
    return range(first, (best.end_lineno or best.lineno) + 1)


def _contains(node: ast.stmt | ast.excepthandler, line: int, column: int) -> bool:
    """Whether (line, column) lies within the node's source span (its decorators included)."""
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno, *(d.lineno for d in decorators)])
    last, end_col = node.end_lineno or node.lineno, node.end_col_offset
    if not first <= line <= last:
        return False
    if line == node.lineno and not decorators and column < node.col_offset:
        return False
    return not (line == last and end_col is not None and column >= end_col)


def tests_reaching(reach: Reach, lines: range) -> frozenset[str] | None:
    """Node ids of the tests that ran one of ``lines``; None when the import ran one (then every test)."""
    if reach.imports.intersection(lines):
        return None
    return frozenset(nodeid for nodeid, ran in reach.tests.items() if ran.intersection(lines))


def merged(result: GradingResult, reach: Reach, only: frozenset[str], title: str) -> GradingResult:
    """A grading of the tests in ``only``, completed with the reference's results of every other test."""
    ran = {t.nodeid for t in result.tests}
    rest = [r for nodeid, r in reach.results.items() if nodeid not in only and nodeid not in ran]
    tests = sorted([*result.tests, *rest], key=lambda t: (results.number_key(t.number), t.name))
    full = GradingResult(tests, result.execution_time, "", result.extra_data, list(result.grader_errors))
    full.output = (f"{title}: {full.score:g} / {full.max_score:g} points. {len(ran)} of {len(tests)} tests ran; "
                   "the others never reach the mutated statement, so their results are the reference's.")
    return full
