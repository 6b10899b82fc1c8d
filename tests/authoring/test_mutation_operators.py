"""The deep-learning mutation operators: each makes the mistake it names, through cosmic-ray's own machinery."""

from __future__ import annotations

import ast

import pytest
from cosmic_ray.mutating import mutate_code
from cosmic_ray.plugins import get_operator, operator_names
from hypothesis import given
from hypothesis import strategies as st

from autograder import assignment
from autograder.authoring import mutants
from autograder.authoring.mutation_operators import OPERATORS

EXAMPLES = [(name, ex) for name, cls in OPERATORS.items() for ex in cls.examples()]


def test_registered_as_a_cosmic_ray_provider() -> None:
    """cosmic-ray finds every operator under dl/ by its entry point, next to its core operators."""
    names = set(operator_names())
    assert {f"dl/{n}" for n in OPERATORS} <= names
    assert "core/NumberReplacer" in names
    assert get_operator("dl/SumMeanSwap") is OPERATORS["SumMeanSwap"]


def test_the_required_mistakes_are_covered() -> None:
    """Each mistake the issue lists has an operator with at least one example."""
    required = {"ReductionDim", "KeepdimFlip", "SumMeanSwap", "MaxSubtractionRemoved", "TransposeDropped",
                "TransposeAdded", "SqrtScale", "OneMinus", "InPlaceToggle", "StepOffByOne", "MaskPolarity"}
    assert required <= {name for name, _ in EXAMPLES}


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[f"{n}-{e.pre_mutation_code}-{e.occurrence}"
                                                             for n, e in EXAMPLES])
def test_example(name: str, example: object) -> None:
    """The operator turns the example's code into exactly the mutated code it states."""
    got = mutate_code(example.pre_mutation_code, OPERATORS[name](), example.occurrence)  # type: ignore[attr-defined]
    assert got == example.post_mutation_code  # type: ignore[attr-defined]


@given(dim=st.sampled_from(["-1", "0", "1"]), keep=st.booleans(), method=st.sampled_from(["sum", "amax", "mean"]))
def test_reduction_dim_never_keeps_the_dim(dim: str, keep: bool, method: str) -> None:
    """Every ReductionDim mutant of a reduction names another dimension, and the code stays valid."""
    code = f"y = x.{method}(dim={dim}, keepdim={keep})"
    op = OPERATORS["ReductionDim"]()
    out, k = [], 0
    while (mutated := mutate_code(code, op, k)) is not None:
        out.append(mutated)
        k += 1
    assert len(out) == 2
    for mutated in out:
        ast.parse(mutated)
        assert f"dim={dim}," not in mutated


def test_no_mutation_where_nothing_applies() -> None:
    """Code without the pattern is left alone (cosmic-ray gets no position)."""
    for cls in OPERATORS.values():
        assert mutate_code("y = f(a, b)\n", cls(), 0) is None


@pytest.mark.parametrize("name", assignment.names())
def test_every_dl_mutant_of_each_reference_is_valid_python(name: str) -> None:
    """The dl/ mutants of a reference parse and differ from it (a syntax error would be a cheap kill)."""
    spec = assignment.load(name)
    source = mutants.reference_file(spec).read_text(encoding="utf-8")
    dl = [m for m in mutants.enumerate_mutants(source, name) if m.operator.startswith("dl/")]
    for m in dl:
        mutated = mutants.mutate(source, m)
        assert mutated != source
        ast.parse(mutated)
