"""``make demo`` (examples/demo.py): every example listed in demo.toml builds, and the table judges scores right.

The demo's gradings themselves are not run here (about two minutes); each example's source is.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from autograder import assignment
from conftest import REPO


def load_demo() -> ModuleType:
    """examples/demo.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("demo", REPO / "examples" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo"] = module
    spec.loader.exec_module(module)
    return module


demo = load_demo()
EXAMPLES = demo.examples()


def test_every_assignment_has_its_reference_and_each_kind_is_shown() -> None:
    assert {e.assignment for e in EXAMPLES if e.source == "reference"} == set(assignment.names())
    sources = {e.source.split(":")[0].split("+")[0] for e in EXAMPLES}
    assert sources == {"reference", "bugzoo"}
    assert any(e.source.startswith("reference+") for e in EXAMPLES), "a hostile example"
    assert any("loop" in e.source for e in EXAMPLES), "a Python-loop example"
    assert all(e.expect in ("full", "less") and e.shows for e in EXAMPLES)
    ids = [(e.assignment, e.id) for e in EXAMPLES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.assignment}-{e.id}" for e in EXAMPLES])
def test_example_source_builds_and_compiles(example: demo.Example) -> None:
    code = demo.source(example)
    compile(code, f"{example.assignment}.py", "exec")
    if example.source.startswith("bugzoo:"):
        assert code.startswith(f"# Bug zoo entry {example.source.removeprefix('bugzoo:')!r}")


def test_lay_out_writes_one_folder_per_example(tmp_path: Path) -> None:
    entries = [e for e in EXAMPLES if e.assignment == "softmax_nll"]
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "stale").mkdir()
    demo.lay_out("softmax_nll", entries, tmp_path / "subs")
    assert sorted(p.name for p in (tmp_path / "subs").iterdir()) == sorted(e.id for e in entries)
    assert all((tmp_path / "subs" / e.id / "softmax_nll.py").is_file() for e in entries)


def test_unknown_source_is_a_clear_error() -> None:
    bad = demo.Example("softmax_nll", "x", "bugzoo:no_such_bug", "less", "nothing")
    with pytest.raises(SystemExit, match="softmax_nll has no bug-zoo entry 'no_such_bug'"):
        demo.source(bad)


@pytest.mark.parametrize("expect,result,ok", [("full", (100.0, 100.0), True), ("full", (99.5, 100.0), False),
                                              ("less", (97.0, 100.0), True), ("less", (100.0, 100.0), False),
                                              ("full", None, False), ("less", None, False)])
def test_as_expected(expect: str, result: tuple[float, float] | None, ok: bool) -> None:
    assert demo.as_expected(demo.Example("a", "b", "reference", expect, "s"), result) is ok


def test_table_names_each_row_and_marks_the_unexpected() -> None:
    rows = [(demo.Example("softmax_nll", "reference", "reference", "full", "every point"), (100.0, 100.0)),
            (demo.Example("softmax_nll", "hostile", "reference+x", "less", "no point"), None)]
    lines = demo.table(rows).splitlines()
    assert "100 / 100  yes every point" in lines[-2]
    assert "no result  NO  no point" in lines[-1]
