"""Deep-learning mutation operators, as a cosmic-ray operator provider (``dl/<Name>``).

cosmic-ray's core operators change the generic things (``+`` to ``-``, ``<`` to ``<=``, a number
by one, ``and`` to ``or``); these make the mistakes students of a deep-learning course make: the
wrong reduction dimension, ``keepdim`` flipped, ``sum`` for ``mean``, no max-subtraction, a
transpose dropped or added, ``sqrt(d)`` as ``d``, ``p`` for ``1 - p``, in-place for out-of-place
and back, a step counter off by one, a mask's polarity inverted. Each is a cosmic-ray
``Operator`` over parso nodes, registered under the ``cosmic_ray.operator_providers`` entry point
(pyproject), so ``cosmic_ray.plugins.get_operator("dl/SumMeanSwap")`` finds it like a core one.

An operator lists, for one node, the code that may replace it (``_Rewrite.rewrites``); the
mutated node is a leaf holding that code with the original prefix, so everything around it is
kept byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cosmic_ray.operators.operator import Example, Operator
from parso.python.tree import Name

__all__ = ["OPERATORS", "OperatorProvider"]

REDUCTIONS = frozenset({
    "sum", "mean", "amax", "amin", "max", "min", "prod", "std", "var", "norm", "logsumexp", "softmax",
    "log_softmax", "cumsum", "argmax", "argmin", "all", "any", "nansum", "count_nonzero", "median",
})
DIM_KEYWORDS = frozenset({"dim", "axis"})
DIM_VALUES = ("-1", "0", "1")
FUNCTION_MODULES = frozenset({"torch", "np", "numpy", "math", "F"})
INPLACE_CAPABLE = frozenset({
    "add", "sub", "mul", "div", "exp", "exp2", "neg", "clamp", "clamp_min", "clamp_max", "sqrt", "abs",
    "masked_fill", "fill", "pow", "log", "sigmoid", "tanh", "relu", "copy", "scatter_add", "scatter",
    "addcmul", "addcdiv", "lerp", "log_", "reciprocal", "square",
})
STEP_NAMES = frozenset({"step", "steps", "step_count", "num_steps", "timestep"})
"""Names of step counters; ``t`` too, but only as an exponent (``beta ** t``), where it is one."""
TRANSPOSE_ATTRS = frozenset({"T", "mT", "H", "mH"})
TRANSPOSE_CALLS = frozenset({"t", "transpose", "swapaxes", "permute"})


def _code(node: Any) -> str:
    """The node's code without its leading whitespace or comments."""
    return str(node.get_code(include_prefix=False))


def _join(children: list[Any]) -> str:
    """Code of consecutive sibling nodes, the first without its prefix."""
    return "".join([_code(children[0])] + [c.get_code() for c in children[1:]]) if children else ""


def _is_dot_trailer(node: Any, name: str | None = None) -> bool:
    """``node`` is a ``.name`` trailer (of that name, if given)."""
    return (node.type == "trailer" and node.children[0] == "."
            and (name is None or node.children[1].value == name))


def _is_call_trailer(node: Any) -> bool:
    return node.type == "trailer" and node.children[0] == "("


def _call_args(trailer: Any) -> list[Any]:
    """The argument nodes of a ``( ... )`` trailer (keyword arguments included)."""
    inner = trailer.children[1] if len(trailer.children) == 3 else None
    if inner is None:
        return []
    if inner.type == "arglist":
        return [c for c in inner.children if c != ","]
    return [inner]


def _called_name(trailer: Any) -> tuple[str | None, bool]:
    """(name of what a call trailer calls, whether it is a method of a value rather than of a module)."""
    parent = trailer.parent
    index = parent.children.index(trailer)
    if index == 0:
        return None, False
    before = parent.children[index - 1]
    if _is_dot_trailer(before):
        base = parent.children[0]
        module_call = index == 2 and base.type == "name" and base.value in FUNCTION_MODULES
        return str(before.children[1].value), not module_call
    if before.type == "name":
        return str(before.value), False
    return None, False


def _enclosing_call(node: Any) -> Any | None:
    """The call trailer whose argument list holds ``node`` directly (None if there is none)."""
    parent = node.parent
    if parent is not None and parent.type == "arglist":
        parent = parent.parent
    return parent if parent is not None and _is_call_trailer(parent) else None


def _is_literal_int(node: Any) -> bool:
    if node.type == "number":
        return "." not in node.value
    return node.type == "factor" and node.children[0] == "-" and node.children[1].type == "number"


def _leaf(node: Any, code: str) -> Name:
    """A leaf that prints as ``code`` where ``node`` was."""
    return Name(code, node.start_pos, prefix=node.get_first_leaf().prefix)


class _Rewrite(Operator):
    """An operator given by the code each matching node may be replaced with."""

    def rewrites(self, node: Any) -> list[str]:  # pragma: no cover - every operator overrides it
        """The replacement code for ``node`` (empty when it does not apply)."""
        raise NotImplementedError

    def mutation_positions(self, node: Any) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
        for _ in self.rewrites(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        return _leaf(node, self.rewrites(node)[index])

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return ()


class ReductionDim(_Rewrite):
    """A reduction over another dimension: ``dim=-1`` to ``0`` or ``1`` (``axis`` too; a method's literal dim)."""

    def rewrites(self, node: Any) -> list[str]:
        parent = node.parent
        if parent is None:
            return []
        keyword = (parent.type == "argument" and len(parent.children) == 3 and parent.children[2] is node
                   and parent.children[0].type == "name" and parent.children[0].value in DIM_KEYWORDS)
        if keyword:
            call = _enclosing_call(parent)
        else:
            call = _enclosing_call(node)
            if call is None or not _is_literal_int(node) or _call_args(call)[0] is not node:
                return []
            name, method = _called_name(call)
            if not method or name not in REDUCTIONS:
                return []
        if keyword and (call is None or not (_is_literal_int(node) or node.type == "name")):
            return []
        current = _code(node).replace(" ", "")
        return [v for v in DIM_VALUES if v != current]

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("y = x.sum(dim=-1)", "y = x.sum(dim=0)"),
                Example("y = x.amax(1, keepdim=True)", "y = x.amax(-1, keepdim=True)"),
                Example("y = np.mean(a, axis=0)", "y = np.mean(a, axis=1)", occurrence=1))


class KeepdimFlip(_Rewrite):
    """``keepdim=True`` to ``False`` and back (``keepdims`` too)."""

    def rewrites(self, node: Any) -> list[str]:
        parent = node.parent
        if (node.type == "keyword" and node.value in ("True", "False") and parent is not None
                and parent.type == "argument" and parent.children[0].type == "name"
                and parent.children[0].value in ("keepdim", "keepdims")):
            return ["False" if node.value == "True" else "True"]
        return []

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("m = x.amax(1, keepdim=True)", "m = x.amax(1, keepdim=False)"),)


class SumMeanSwap(_Rewrite):
    """``.sum`` for ``.mean`` and back (``torch.sum`` / ``np.mean`` too)."""

    def rewrites(self, node: Any) -> list[str]:
        if node.type == "name" and node.value in ("sum", "mean") and node.parent is not None \
                and _is_dot_trailer(node.parent):
            return ["mean" if node.value == "sum" else "sum"]
        return []

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("s = x.sum(1)", "s = x.mean(1)"), Example("s = torch.mean(x)", "s = torch.sum(x)"))


class MaxSubtractionRemoved(_Rewrite):
    """``x - x.amax(...)`` (the softmax stabilisation) to ``x``: every subtracted term that takes a max."""

    def rewrites(self, node: Any) -> list[str]:
        if node.type != "arith_expr":
            return []
        out = []
        kids = node.children
        for i in range(1, len(kids), 2):
            if kids[i] == "-" and "max" in _code(kids[i + 1]):
                out.append(_join(kids[:i] + kids[i + 2:]))
        return out

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("z = x - x.amax(1, keepdim=True)", "z = x"),)


class TransposeDropped(_Rewrite):
    """A transpose left out: ``.T``, ``.mT``, ``.t()``, ``.transpose(a, b)``, ``.swapaxes(a, b)``, ``.permute(...)``."""

    def rewrites(self, node: Any) -> list[str]:
        if node.type != "atom_expr":
            return []
        kids = node.children
        out = []
        for i, kid in enumerate(kids[1:], start=1):
            if not _is_dot_trailer(kid):
                continue
            attr = kid.children[1].value
            if attr in TRANSPOSE_ATTRS:
                out.append(_join(kids[:i] + kids[i + 1:]))
            elif attr in TRANSPOSE_CALLS and i + 1 < len(kids) and _is_call_trailer(kids[i + 1]):
                out.append(_join(kids[:i] + kids[i + 2:]))
        return out

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("y = a @ b.T", "y = a @ b"), Example("y = k.transpose(-2, -1)", "y = k"))


class TransposeAdded(_Rewrite):
    """An operand of ``@`` transposed (its last two axes swapped) that should not be."""

    def rewrites(self, node: Any) -> list[str]:
        if node.type != "term":
            return []
        kids = node.children
        out = []
        for i in range(1, len(kids), 2):
            if kids[i] == "@":
                for j in (i - 1, i + 1):
                    swapped = f"({_code(kids[j])}).swapaxes(-2, -1)"
                    parts = [*kids[:j], _leaf(kids[j], swapped), *kids[j + 1:]]
                    out.append(_join(parts))
        return out

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("y = a @ b", "y = (a).swapaxes(-2, -1) @ b"),
                Example("y = a @ b", "y = a @ (b).swapaxes(-2, -1)", occurrence=1))


class SqrtScale(_Rewrite):
    """``sqrt(d)`` replaced by ``d`` or removed (``1``): ``math.sqrt``, ``torch.sqrt``, ``.sqrt()``, ``** 0.5``."""

    def rewrites(self, node: Any) -> list[str]:
        kids = getattr(node, "children", [])
        if node.type == "power" and len(kids) == 3 and kids[2].type == "number" and kids[2].value == "0.5":
            return [_code(kids[0])]
        if node.type != "atom_expr":
            return []
        for i in range(1, len(kids) - 1):
            if _is_dot_trailer(kids[i], "sqrt") and _is_call_trailer(kids[i + 1]) and i + 2 == len(kids):
                args = _call_args(kids[i + 1])
                if i == 1 and kids[0].type == "name" and kids[0].value in FUNCTION_MODULES and len(args) == 1:
                    return [f"({_code(args[0])})", "1"]
                if not args:
                    return [_join(kids[:i])]
        return []

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("s = 1.0 / math.sqrt(d)", "s = 1.0 / (d)"),
                Example("s = 1.0 / math.sqrt(d)", "s = 1.0 / 1", occurrence=1),
                Example("s = v.sqrt()", "s = v"), Example("s = (1 - b) ** 0.5", "s = (1 - b)"))


class OneMinus(_Rewrite):
    """``1 - p`` replaced by ``p`` (keep probability for drop probability, and the like)."""

    def rewrites(self, node: Any) -> list[str]:
        kids = getattr(node, "children", [])
        if (node.type == "arith_expr" and kids[0].type == "number" and kids[0].value in ("1", "1.0")
                and kids[1] == "-"):
            return [_join(kids[2:])]
        return []

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("keep = 1 - p", "keep = p"), Example("c = 1.0 - b * b", "c = b * b"))


class InPlaceToggle(_Rewrite):
    """An in-place method made out of place (``.add_`` to ``.add``) and back; ``x op= y`` to ``x = x op (y)``."""

    def rewrites(self, node: Any) -> list[str]:
        if node.type == "expr_stmt" and len(node.children) == 3 and node.children[1].type == "operator" \
                and node.children[1].value in ("+=", "-=", "*=", "/="):
            target, op, value = node.children
            return [f"{_code(target)} = {_code(target)} {op.value[0]} ({_code(value)})"]
        parent = node.parent
        if node.type != "name" or parent is None or not _is_dot_trailer(parent):
            return []
        owner = parent.parent
        index = owner.children.index(parent)
        if index + 1 >= len(owner.children) or not _is_call_trailer(owner.children[index + 1]):
            return []
        name = str(node.value)
        if name.endswith("_") and not name.startswith("_") and name[:-1] in INPLACE_CAPABLE | {"zero", "fill"}:
            return [name[:-1]]
        _, method = _called_name(owner.children[index + 1])
        if method and name in INPLACE_CAPABLE:
            return [name + "_"]
        return []

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("y = x.mul_(2)", "y = x.mul(2)"), Example("y = x.exp()", "y = x.exp_()"),
                Example("m *= beta", "m = m * (beta)"))


class StepOffByOne(_Rewrite):
    """A step counter read one off: ``t`` or ``state["step"]`` as ``(t + 1)`` or ``(t - 1)`` (bias correction)."""

    def rewrites(self, node: Any) -> list[str]:
        exponent = node.parent is not None and node.parent.type == "power" and node.parent.children[-1] is node
        if node.type == "name" and (node.value in STEP_NAMES or (node.value == "t" and exponent)) and _is_value(node):
            return [f"({node.value} + 1)", f"({node.value} - 1)"]
        if node.type == "atom_expr" and _is_value(node):
            last = node.children[-1]
            if last.type == "trailer" and last.children[0] == "[" and _code(last.children[1]).strip("'\"") \
                    in STEP_NAMES and last.children[1].type == "string":
                return [f"({_code(node)} + 1)", f"({_code(node)} - 1)"]
        return []

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("c = 1 - beta ** step", "c = 1 - beta ** (step + 1)"),
                Example("c = 1 - beta ** step", "c = 1 - beta ** (step - 1)", occurrence=1),
                Example('n = state["step"] * 2', 'n = (state["step"] + 1) * 2'))


def _is_value(node: Any) -> bool:
    """``node`` is read as a value: not assigned to, not a parameter, attribute name or keyword."""
    parent = node.parent
    if parent is None or parent.type in ("param", "funcdef", "classdef", "import_from", "dotted_name"):
        return False
    if parent.type == "trailer" and parent.children[0] == ".":
        return False
    if parent.type == "argument" and parent.children[0] is node:
        return False
    if parent.type in ("expr_stmt", "for_stmt", "sync_comp_for") and parent.children[0] is node:
        return False
    return parent.type != "global_stmt"


class MaskPolarity(_Rewrite):
    """A mask inverted: ``~m`` / ``m.logical_not()`` to ``m``, and the mask of ``masked_fill`` / ``where`` negated."""

    def rewrites(self, node: Any) -> list[str]:
        kids = getattr(node, "children", [])
        if node.type == "factor" and kids[0] == "~":
            return [_code(kids[1])]
        if node.type != "atom_expr":
            return []
        out = []
        for i in range(1, len(kids) - 1):
            if _is_dot_trailer(kids[i], "logical_not") and _is_call_trailer(kids[i + 1]):
                args = _call_args(kids[i + 1])
                if not args:
                    out.append(_join(kids[:i] + kids[i + 2:]))
                elif i == 1 and len(args) == 1:
                    out.append(f"({_code(args[0])})")
            elif _is_dot_trailer(kids[i]) and kids[i].children[1].value in ("masked_fill", "masked_fill_", "where") \
                    and _is_call_trailer(kids[i + 1]):
                args = _call_args(kids[i + 1])
                name, method = _called_name(kids[i + 1])
                at = 1 if name != "where" and not method else 0
                if len(args) <= at or args[at].type == "argument":
                    continue
                call = ", ".join(f"~({_code(a)})" if k == at else _code(a) for k, a in enumerate(args))
                out.append(_join(kids[:i + 1]) + f"({call})" + "".join(c.get_code() for c in kids[i + 2:]))
        return out

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("y = x[~keep]", "y = x[keep]"),
                Example("s.masked_fill_(m.logical_not(), 0.0)", "s.masked_fill_(m, 0.0)", occurrence=1),
                Example("s.masked_fill_(m, 0.0)", "s.masked_fill_(~(m), 0.0)"),
                Example("y = torch.where(m, a, b)", "y = torch.where(~(m), a, b)"))


OPERATORS: dict[str, type[Operator]] = {cls.__name__: cls for cls in (
    ReductionDim, KeepdimFlip, SumMeanSwap, MaxSubtractionRemoved, TransposeDropped, TransposeAdded, SqrtScale,
    OneMinus, InPlaceToggle, StepOffByOne, MaskPolarity,
)}
"""The deep-learning operators by name (cosmic-ray names them ``dl/<name>``)."""


class OperatorProvider:
    """cosmic-ray's operator-provider protocol: iterate the names, index by name."""

    def __iter__(self) -> Iterator[str]:
        return iter(OPERATORS)

    def __getitem__(self, name: str) -> type[Operator]:
        return OPERATORS[name]
