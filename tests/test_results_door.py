"""One typed door for results: nothing but ``results.read_results`` reads results.json by string keys,
and what the engine writes reads back the same."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder import results

REPO = Path(__file__).resolve().parent.parent
RESULT_KEYS = ({"tests", "extra_data", "execution_time", "output_format", "stdout_visibility", "score", "max_score",
                "status", "tags", "visibility", "grader_errors"} | {f for f in results.Extra.__dataclass_fields__}) - {
                   "seed", "device", "isolation", "assignment", "grader_version"}
"""Keys of results.json (top level, per test, extra_data) that no other record of ours uses (a batch key, too, has
a seed, device, isolation, assignment and grader version)."""
OTHER_RECORDS = ("manifest", "raw", "mutant")
"""Receivers that are not results.json: a batch's manifest.json (it records a status and score of its own), a
zoo.toml entry (its declared score) and an entry of mutants.json (a mutant's status and score)."""


def readers() -> list[Path]:
    """Every module that might read results.json: the package (but the reader itself) and the examples."""
    return sorted(p for p in [*(REPO / "autograder").rglob("*.py"), *(REPO / "examples").glob("*.py")]
                  if p != REPO / "autograder" / "results.py")


def string_key_reads(source: str) -> list[str]:
    """``x["key"]`` and ``x.get("key")`` of a results.json key, as ``receiver[key]`` (other records left out)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        key = receiver = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key, receiver = node.slice.value, ast.unparse(node.value)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and node.args and isinstance(node.args[0], ast.Constant)):
            key, receiver = node.args[0].value, ast.unparse(node.func.value)
        if key in RESULT_KEYS and not any(other in str(receiver) for other in OTHER_RECORDS):
            found.append(f"{receiver}[{key!r}] (line {node.lineno})")
    return found


@pytest.mark.parametrize("path", readers(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_string_key_read_of_results_outside_the_reader(path: Path) -> None:
    assert not string_key_reads(path.read_text(encoding="utf-8")), "use autograder.results.read_results"


@pytest.mark.parametrize("source", ['data["tests"]', 'data.get("extra_data", {})', 'float(d["score"])',
                                    'r.get("test_functions")', 't["max_score"]'])
def test_the_check_finds_a_string_key_read(source: str) -> None:
    assert string_key_reads(source)


def test_what_is_written_reads_back(tmp_path: Path) -> None:
    tests = [results.TestResult("softmax [a]", "1.2", 0.5, 1.0, "failed", "Failed: x", ["hidden", "softmax"],
                                "after_published", "hidden"),
             results.TestResult("speed", "3.1", 2.0, 2.0, "passed", "Passed: speed", ["performance"], "visible",
                                "performance")]
    extra = results.Extra(seed=7, device="cpu", isolation="plain", test_functions={"speed": "test_speed"},
                          tests={"speed": {"ratio": 1.5, "budget": 4.0}}, worker_starts=0, worker_start_seconds=[])
    written = results.GradingResult(tests, 1.25, "summary", extra, ["boom"])
    path = tmp_path / "results.json"
    results.write_atomic(path, results.to_gradescope(written))
    read = results.read_results(path)
    assert read == written
    assert read.extra_data.measure("speed") == results.Measure("ratio", 1.5, 4.0)
    assert read.extra_data.measure("softmax [a]") is None
    assert results.to_gradescope(read) == results.to_gradescope(written)


def test_extra_keeps_the_key_order_and_leaves_out_what_is_unset() -> None:
    extra = results.Extra(seed=1, device="cpu", static_checks={"banned": []}, worker_starts=0, grader_failed=True)
    assert list(extra.as_dict()) == ["seed", "device", "static_checks", "worker_starts", "grader_failed"]
