"""autograder.testing: the @graded decorator and the one module assignment tests import from.

Throwaway assignments are written under tmp_path; test files are imported from there as pytest
would (the decorator reads the task table and the folder at import time).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, Phase

from autograder import testing
from autograder.assignment import repo_root
from autograder.errors import AuthoringError

TOML = """
[assignment]
name = "demo"
title = "Demo"
[tasks]
double = "Task 1: double"
halve = "Task 2: halve"
"""
HEADER = "from autograder.testing import PER_CASE, graded\n"


@pytest.fixture(autouse=True)
def demo_markers(pytestconfig: pytest.Config) -> None:
    """The demo's task markers, registered as the plugin registers an assignment's (--strict-markers)."""
    for marker in ("double", "halve"):
        pytestconfig.addinivalue_line("markers", f"{marker}: demo task")


def load_tests(root: Path, folder: str, body: str) -> ModuleType:
    """Write ``body`` as tests/<folder>/test_demo.py of an assignment in ``root`` and import it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "assignment.toml").write_text(TOML)
    path = root / "tests" / folder / "test_demo.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + textwrap.dedent(body))
    spec = importlib.util.spec_from_file_location(f"demo_{folder}_{abs(hash(body))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def marks(fn: object) -> list[str]:
    """The names of the pytest marks on a function, as pytest reads them (bottom decorator first)."""
    return [m.name for m in getattr(fn, "pytestmark", [])]


def test_task_from_the_number_and_tag_from_the_folder(tmp_path):
    module = load_tests(tmp_path, "hidden", '@graded("2.16", points=1.5)\ndef test_x():\n    pass\n')
    fn = module.test_x
    assert (fn.__weight__, fn.__number__, fn.__tags__) == (1.5, "2.16", ("hidden",))
    assert marks(fn) == ["halve"]
    assert not hasattr(fn, "__visibility__") and not hasattr(fn, "__hide_errors__")


@pytest.mark.parametrize("folder", ["public", "hidden", "performance"])
def test_every_category_folder_is_a_tag(tmp_path, folder):
    module = load_tests(tmp_path, folder, '@graded("1.1", points=2)\ndef test_x():\n    pass\n')
    assert module.test_x.__tags__ == (folder,) and marks(module.test_x) == ["double"]


def test_explicit_tasks_keep_their_order_and_per_case_adds_none(tmp_path):
    module = load_tests(tmp_path, "performance", '''
        import pytest

        @graded("3.1", points=4, task="halve")
        def test_one():
            pass

        @graded("3.2", points=4, task=("halve", "double"))
        def test_two():
            pass

        @graded("3.3", points=1, task=PER_CASE)
        @pytest.mark.parametrize("n", [pytest.param(1, marks=pytest.mark.double)])
        def test_cases(n):
            pass
    ''')
    assert marks(module.test_one) == ["halve"]
    # as two stacked @pytest.mark lines: halve on top, so pytest sees double first
    assert marks(module.test_two) == ["double", "halve"]
    assert marks(module.test_cases) == ["parametrize"]


def test_size_class_defaults_by_folder_and_scale_adds_its_tag(tmp_path):
    hidden = load_tests(tmp_path / "a", "hidden", '''
        @graded("1.1", points=1)
        def test_small():
            pass

        @graded("1.2", points=1, size="scale")
        def test_chain():
            pass
    ''')
    assert (hidden.test_small.__size__, hidden.test_small.__tags__) == ("small", ("hidden",))
    assert (hidden.test_chain.__size__, hidden.test_chain.__tags__) == ("scale", ("hidden", "scale"))
    timed = load_tests(tmp_path / "b", "performance", '@graded("1.1", points=1)\ndef test_speed():\n    pass\n')
    assert (timed.test_speed.__size__, timed.test_speed.__tags__) == ("performance", ("performance",))


@pytest.mark.parametrize("folder,size,problem", [
    ("public", "performance", "size='performance': a test in tests/public/ has size small or scale"),
    ("hidden", "huge", "size='huge': a test in tests/hidden/ has size small or scale"),
    ("performance", "scale", "size='scale': a test in tests/performance/ has size performance"),
])
def test_a_size_class_that_does_not_fit_the_folder_is_refused(tmp_path, folder, size, problem):
    with pytest.raises(AuthoringError) as caught:
        load_tests(tmp_path, folder, f'@graded("1.1", points=1, size="{size}")\ndef test_wrong():\n    pass\n')
    assert "test_demo.py::test_wrong" in str(caught.value) and problem in str(caught.value)


def test_visibility_and_hide_errors_pass_through(tmp_path):
    module = load_tests(tmp_path, "hidden",
                        '@graded("1.2", points=1, visibility="hidden", hide_errors="Off.")\ndef test_x():\n    pass\n')
    assert (module.test_x.__visibility__, module.test_x.__hide_errors__) == ("hidden", "Off.")


@pytest.mark.parametrize("decorator,problem", [
    ('@graded("3.1", points=1)', "number '3.1' names no task: [tasks] of"),
    ('@graded("P1", points=1)', "number 'P1' names no task"),
    ('@graded("1.1", points=1, task="triple")', "task='triple' is not a task of"),
    ('@graded("1.1", points=1, task=())', "task=() is not a task of"),
    ('@graded(1.1, points=1)', 'the test number must be a string such as "2.16"'),
])
def test_authoring_errors_name_the_test(tmp_path, decorator, problem):
    with pytest.raises(AuthoringError) as caught:
        load_tests(tmp_path, "public", f"{decorator}\ndef test_wrong():\n    pass\n")
    assert "test_demo.py::test_wrong" in str(caught.value) and problem in str(caught.value)


def test_a_file_outside_the_category_folders_is_refused(tmp_path):
    with pytest.raises(AuthoringError, match="lives under tests/public, tests/hidden or tests/performance"):
        load_tests(tmp_path, "extra", '@graded("1.1", points=1)\ndef test_x():\n    pass\n')


def test_a_file_outside_any_assignment_is_refused(tmp_path):
    path = tmp_path / "test_alone.py"
    path.write_text(HEADER + '@graded("1.1", points=1)\ndef test_x():\n    pass\n')
    spec = importlib.util.spec_from_file_location("alone", path)
    assert spec is not None and spec.loader is not None
    with pytest.raises(AuthoringError, match=r"test_alone\.py::test_x: no assignment\.toml above the test file"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def test_property_settings_are_reproducible_and_unhurried():
    s = testing.property_settings(max_examples=7)
    assert (s.max_examples, s.derandomize, s.database, s.deadline) == (7, True, None, None)
    assert tuple(s.phases) == (Phase.explicit, Phase.generate, Phase.shrink)
    assert set(s.suppress_health_check) == set(HealthCheck)


def test_graded_tests_run_and_select_by_task_in_a_student_folder(tmp_path):
    """Local mode: the plugin reads @graded's metadata; -m selects by the derived task."""
    (tmp_path / "assignment.toml").write_text(TOML)
    (tmp_path / "demo.py").write_text("def double(x):\n    return 2 * x\n\ndef halve(x):\n    return x / 3\n")
    (tmp_path / "tests" / "public").mkdir(parents=True)
    (tmp_path / "tests" / "public" / "test_demo.py").write_text(textwrap.dedent('''
        from autograder.testing import expect_equal, graded

        @graded("1.1", points=2)
        def test_double(student):
            """double(3) is 6"""
            expect_equal(student.call("double", 3), 6, what="double(3)")

        @graded("2.1", points=1)
        def test_halve(student):
            """halve(4) is 2"""
            expect_equal(student.call("halve", 4), 2, what="halve(4)")
    '''))
    base = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider", "-c", "/dev/null",
            "--strict-markers", "--rootdir", str(tmp_path), str(tmp_path / "tests"), "--ag-seed", "5"]
    env = {"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": str(repo_root())}
    run = subprocess.run(base, capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert "PASS    2.0 / 2.0   double(3) is 6" in run.stdout and "FAIL    0.0 / 1.0   halve(4) is 2" in run.stdout
    assert "Total: 2 / 3 points" in run.stdout
    one = subprocess.run([*base, "-m", "halve"], capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert "1 failed, 1 deselected" in one.stdout


# --------------------------------------------------------------------------- the module's surface

IMPLEMENTATION = {"annotations", "Any", "Callable", "Sequence", "Path", "TypeVar", "Test", "settings", "HealthCheck",
                  "Phase", "load_folder", "CATEGORIES", "SIZE_CLASSES"}
"""Names autograder.testing uses itself and does not offer to test authors."""


def test_all_lists_every_public_name():
    public = {n for n, v in vars(testing).items() if not n.startswith("_") and not inspect.ismodule(v)}
    assert set(testing.__all__) == public - IMPLEMENTATION
    assert all(hasattr(testing, n) for n in testing.__all__)


def _autograder_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every import from this package in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "autograder":
            found += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.split(".")[0] == "autograder"]
    return found


def test_assignment_tests_import_only_autograder_testing():
    files = sorted(repo_root().glob("assignments/*/tests/*/*.py"))
    assert files
    imports = [(f.relative_to(repo_root()), m, n) for f in files for m, n in _autograder_imports(f)]
    assert [i for i in imports if i[1] != "autograder.testing"] == []
    assert [i for i in imports if i[2] not in testing.__all__] == []
