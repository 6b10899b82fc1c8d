"""results.json: Gradescope's schema, atomic writes, grader failures that say so."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from autograder import results


def _result(**kwargs):
    test = results.TestResult(name="t", number="1.1", score=1.0, max_score=2.0, status="failed",
                              output="Failed: t", tags=["public"], visibility="visible", category="public")
    return results.GradingResult(tests=[test], execution_time=1.25, output="summary", **kwargs)


def test_gradescope_document_is_schema_valid(tmp_path):
    data = results.to_gradescope(_result(extra_data=results.Extra(seed=3)))
    results.write_atomic(tmp_path / "results.json", data)
    loaded = json.loads((tmp_path / "results.json").read_text())
    assert loaded["score"] == 1.0 and loaded["tests"][0]["max_score"] == 2.0 and loaded["extra_data"]["seed"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_error_result_is_valid_and_not_a_silent_zero(tmp_path):
    data = results.to_gradescope(results.error_result("boom", 0.5, results.Extra(seed=1)))
    results.validate(data)
    assert "autograder itself failed" in data["output"] and data["extra_data"]["grader_errors"] == ["boom"]


@pytest.mark.parametrize("mutate", [
    lambda d: d["tests"][0].update(status="skipped"),
    lambda d: d["tests"][0].update(visibility="students"),
    lambda d: d.update(execution_time="fast"),
    lambda d: d["tests"][0].pop("max_score"),
    lambda d: d.update(scroe=3),
])
def test_schema_rejects_malformed_documents(mutate):
    data = results.to_gradescope(_result())
    mutate(data)
    with pytest.raises(jsonschema.ValidationError):
        results.validate(data)


def test_invalid_document_is_never_written(tmp_path):
    target = tmp_path / "results.json"
    target.write_text('{"old": true}')
    data = results.to_gradescope(_result())
    data["tests"][0]["status"] = "skipped"
    with pytest.raises(jsonschema.ValidationError):
        results.write_atomic(target, data)
    assert target.read_text() == '{"old": true}' and len(list(tmp_path.iterdir())) == 1


def test_points_with_five_decimals_are_kept_exactly():
    """Sixteen cases of 0.21875 points are 3.5 points in results.json, not 16 x 0.2188 = 3.5008."""
    tests = [results.TestResult(f"case {i}", f"2.{i}", 0.21875, 0.21875, "passed", "", ["hidden"], "after_published",
                                "hidden") for i in range(16)]
    data = results.to_gradescope(results.GradingResult(tests, 1.0, ""))
    assert data["score"] == 3.5 and sum(t["score"] for t in data["tests"]) == 3.5
    assert results.loads(json.dumps(data)).score == results.loads(json.dumps(data)).max_score == 3.5


def test_validation_skips_jsonschemas_iri_grammar_and_still_rejects():
    """A fresh process validates results.json without compiling rfc3987_syntax's lark grammars (1 s a grading)."""
    code = ("import sys\n"
            "from autograder import results\n"
            "data = results.to_gradescope(results.error_result('boom', 0.5))\n"
            "results.validate(data)\n"
            "try:\n    results.validate(dict(data, score='x'))\nexcept Exception as exc:\n    print(type(exc).__name__)\n"
            "print('lark' in sys.modules, 'rfc3987_syntax' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["ValidationError", "False", "False"]
