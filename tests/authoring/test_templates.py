"""Stubs from solution markers."""

from __future__ import annotations

import ast

import pytest

from autograder import assignment
from autograder.authoring import templates
from autograder.errors import AuthoringError

SOURCE = '''import torch

# Task 1: double
def double(x: torch.Tensor) -> torch.Tensor:
    """Twice x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


class Box:
    # Task 2: area
    def area(self) -> float:
        """The area."""
        ### BEGIN SOLUTION
        return self.w * self.h
        ### END SOLUTION
'''


def test_regions_become_named_stubs_at_their_indentation():
    stub = templates.stub_source(SOURCE, "demo", "demo.py")
    assert "return 2 * x" not in stub and "self.w * self.h" not in stub
    assert '    raise NotImplementedError("demo task 1: double")\n' in stub
    assert '        raise NotImplementedError("demo task 2: area")\n' in stub
    assert '"""Twice x."""' in stub and "def area(self) -> float:" in stub
    ast.parse(stub)


@pytest.mark.parametrize("broken,problem", [
    (SOURCE.replace("    ### END SOLUTION\n", "", 1), "inside another region"),
    (SOURCE.replace("    ### BEGIN SOLUTION\n", "", 1), "END SOLUTION without BEGIN"),
    (SOURCE.replace("# Task 1: double\n", ""), "no '# Task N: name' comment"),
    ("def f():\n    return 1\n", "no ### BEGIN SOLUTION"),
])
def test_malformed_markers_are_authoring_errors(broken, problem):
    with pytest.raises(AuthoringError, match=problem):
        templates.stub_source(broken, "demo", "demo.py")


@pytest.mark.parametrize("name", assignment.names())
def test_committed_templates_are_in_sync_and_leak_nothing(name):
    assert templates.check([name]) == [], templates.diff(name)
    spec = assignment.load(name)
    stub = spec.template_file.read_text(encoding="utf-8")
    lines = spec.solution_file.read_text(encoding="utf-8").splitlines()
    regions = templates.solution_regions(lines, name)
    inside = {i for begin, end in regions for i in range(begin, end + 1)}
    given = {line for i, line in enumerate(lines) if i not in inside}  # code the handout gives (e.g. backprop's add)
    for begin, end in regions:
        for line in lines[begin + 1:end]:
            if len(line.strip()) > 20 and line not in given:
                assert line not in stub.splitlines(), f"solution line leaked into the stub: {line.strip()}"
