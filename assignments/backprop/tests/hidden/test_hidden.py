"""Hidden tests for backprop (60 points): autograder only, never shipped to students.

Inputs (values, shapes, random graphs) are drawn fresh per run from the grader's seed; expected
values come from PyTorch's autograd in float64 on the trusted side and are never shown in feedback.
Orders are checked by their property (every reachable node once, after its parents), never
against one fixed order. Per task: unbroadcast 7, elementwise 14, reductions 10,
topological_sort 13, backward 16. Which test checks which rule of the handout: handout_rules.md,
beside this file.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.testing import expect_names, fail, graded


def _public_helpers() -> Any:
    """The trusted helpers of the public tests (graph evaluation in PyTorch, order checks)."""
    name = "_backprop_public_test_helpers"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "public" / "test_public.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


P = _public_helpers()
expect_array, expect_vjp, expect_topological = P.expect_array, P.expect_vjp, P.expect_topological
torch_grads, torch_values, ancestors, parents_of = P.torch_grads, P.torch_values, P.ancestors, P.parents_of
ORDER_HINT = P.ORDER_HINT
WIRED = ("backward", "topological_sort")


def _nonzero(rng: np.random.Generator, shape: Any, low: float = 0.5, high: float = 2.0) -> np.ndarray:
    """Random values of either sign with magnitude in [low, high] (no zeros, nothing tiny)."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def _expect_error(got: dict[str, Any], what: str, hint: str, names: tuple[str, ...] = ()) -> None:
    """A probe run that had to raise ValueError (whose message names one of ``names``, if given)."""
    error = got["error"]
    if error is None:
        fail(what, "returned normally", hint)
    if not error["value_error"]:
        fail(what, f"raised {error['type']}: {error['message']}", hint)
    if names:
        expect_names(error["message"], names, what)


def _expect_pure_vjp(student: Any, graph: list[Any], upstream: np.ndarray, what: str, hint: str) -> None:
    """expect_vjp, and the operation and its vjp left the operands' values and the upstream gradient alone."""
    got = expect_vjp(student, graph, upstream, what, hint)
    if not got["inputs_unchanged"] or not got["upstream_unchanged"]:
        which = "an operand's value" if not got["inputs_unchanged"] else "the upstream gradient g"
        fail(what, f"modified {which} in place", "use out-of-place operations (g / n, not g /= n; np.reshape "
             "and np.transpose return views of g, so writing into them writes into g).")


def _expect_on_constant(student: Any, np_rng: np.random.Generator, entry: list[Any], value: np.ndarray) -> None:
    """The operation applied to a plain number or array (not a Node): a Node with the right value and vjp."""
    op, args = entry[0], entry[2:]
    kind = "number" if np.ndim(value) == 0 else "NumPy array"
    what = f"{op}(<a {kind}>{''.join(f', {a!r}' for a in args)}) called with a {kind}, not a Node"
    hint = "every operation starts with a = _as_node(a), so it accepts Nodes, numbers and arrays alike."
    graph = [["leaf", value], entry]
    up = np_rng.standard_normal(np.shape(value))
    got = student.probe("op_vjp", [["leaf", value], ["raw", op, 0, *args]], up, uses=(op,))
    if not got["is_node"]:
        fail(what, f"returned a {got['type']}, expected a Node", hint)
    expect_array(got["value"], torch_values(graph, [1])[0], f"{what}: the value", hint)
    if not isinstance(got["grads"], list) or len(got["grads"]) != 1:
        fail(what, "its vjp did not return one gradient for its one parent", hint)
    expect_array(got["grads"][0], torch_grads(graph, 1, up, [0])[0], f"{what}: the vjp's gradient", hint)


# =========================================================================== random graphs

def random_wired(rng: np.random.Generator, n: int, shape: tuple[int, ...], leaves: int = 3,
                 prod: float = 0.2, embed_skip: bool = True) -> list[Any]:
    """A random wired DAG: lin nodes with non-unit coefficients and prod nodes, parents near and far.

    With ``embed_skip`` it holds the handout's pattern twice (w -> x -> a -> b -> c, then y = x + c
    and y = c + x) and the root uses both y: a, b and c have no other child, so every order that
    visits x before a (depth-first preorder, breadth-first) gets x's gradient wrong, for any seed.
    """
    graph: list[Any] = [["leaf", rng.uniform(-1, 1, shape)] for _ in range(leaves)]
    interior: set[int] = set()  # a, b, c of each pattern: their only child is the next of them or y
    tops: list[int] = []
    if embed_skip:
        for short_first in ([True, False] if rng.random() < 0.5 else [False, True]):
            x = len(graph)
            graph.append(["lin", [int(rng.integers(0, leaves))], [float(_nonzero(rng, ()))]])
            for _ in range(3):
                graph.append(["lin", [len(graph) - 1], [float(_nonzero(rng, ()))]])
            c = len(graph) - 1
            interior |= {x + 1, x + 2, c}
            graph.append(["lin", [x, c] if short_first else [c, x], [float(v) for v in _nonzero(rng, 2, 0.3, 1.0)]])
            tops.append(len(graph) - 1)
    allowed = [i for i in range(len(graph)) if i not in interior]  # the last node (i - 1) always is
    while len(graph) < n - (1 if tops else 0):
        i = len(graph)
        k = int(rng.integers(1, 4))
        parents = [i - 1 if rng.random() < 0.5 else int(rng.choice(allowed)) for _ in range(k)]
        if k >= 2 and rng.random() < prod:
            graph.append(["prod", parents[:2]])
        else:
            graph.append(["lin", parents, [float(c) / k for c in _nonzero(rng, k, 0.3, 1.0)]])
        allowed.append(i)
    if tops:
        parents = [len(graph) - 1, *tops]
        graph.append(["lin", parents, [float(c) / 3 for c in _nonzero(rng, 3, 0.3, 1.0)]])
    return graph


class OpGraph:
    """A random graph of the student's operations, with NumPy values kept to choose valid operations.

    Shapes revolve around (m, k) with broadcasting partners (k,), (m, 1), (1, k), () and a (k, p)
    matrix; operands are drawn from the whole graph (reused nodes, skip connections of every
    length); exp, log, div and fractional powers are only applied where the values keep every
    result finite and moderate.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.graph: list[Any] = []
        self.values: list[np.ndarray] = []
        m, k, p = (int(v) for v in rng.choice(np.arange(2, 6), 3, replace=False))
        self.m, self.k = m, k
        for shape in [(m, k), (m, k), (k,), (m, 1), (1, k), (), (k, p)]:
            self.leaf(_nonzero(rng, shape, 0.2, 1.5))

    def leaf(self, value: np.ndarray) -> int:
        return self.push(["leaf", value], value)

    def push(self, entry: list[Any], value: np.ndarray) -> int:
        self.graph.append(entry)
        self.values.append(np.asarray(value, dtype=np.float64))
        return len(self.graph) - 1

    def pick(self, ok: Any = None) -> int | None:
        """A random node (half the time one of the last four) satisfying ``ok``."""
        n = len(self.values)
        candidates = [i for i in range(n) if ok is None or ok(self.values[i])]
        if not candidates:
            return None
        recent = [i for i in candidates if i >= n - 4]
        pool = recent if recent and self.rng.random() < 0.5 else candidates
        return int(self.rng.choice(pool))

    def try_op(self) -> None:
        rng, v = self.rng, self.values
        kind = rng.choice(["binary", "binary", "unary", "power", "reduce", "shape", "matmul", "square", "operator"])
        i = self.pick()
        assert i is not None
        a = v[i]
        entry: list[Any] | None = None
        if kind in ("binary", "operator"):
            op = str(rng.choice(["add", "sub", "mul", "div"]))
            ok = (lambda x: np.all(np.abs(x) > 0.3)) if op == "div" else None
            j = self.pick(lambda x, ok=ok: _broadcasts(a.shape, x.shape) and (ok is None or ok(x)))
            if j is not None:
                if kind == "operator":
                    entry = ["operator", {"add": "+", "sub": "-", "mul": "*", "div": "/"}[op], i, j]
                else:
                    entry = [op, i, j] if rng.random() < 0.5 or op == "div" else [op, j, i]
        elif kind == "unary":
            op = str(rng.choice(["exp", "log", "tanh", "relu", "neg"]))
            if (op != "exp" or a.max() < 3) and (op != "log" or a.min() > 0.3):
                entry = [op, i]
        elif kind == "power":
            c = rng.choice([2, 3, 0.5, 1.5, -1.0]) if a.min() > 0.3 else rng.choice([2, 3])
            entry = ["power", i, float(c) if c % 1 else int(c)]
        elif kind == "reduce" and a.ndim >= 1:
            axes: Any = [None, int(rng.integers(-a.ndim, a.ndim))]
            if a.ndim >= 2:
                axes.append(sorted(int(d) for d in rng.choice(a.ndim, 2, replace=False)))
            entry = [str(rng.choice(["sum", "mean"])), i, axes[int(rng.integers(len(axes)))], bool(rng.random() < 0.5)]
        elif kind == "shape" and a.ndim >= 1:
            if a.ndim >= 2 and rng.random() < 0.5:
                entry = ["transpose", i, None if rng.random() < 0.5 else [int(d) for d in rng.permutation(a.ndim)]]
            else:
                entry = ["reshape", i, [-1] if a.ndim > 1 else [1, a.size]]
        elif kind == "matmul" and a.ndim == 2:
            j = self.pick(lambda x: x.ndim == 2 and x.shape[0] == a.shape[1])
            if j is not None:
                entry = ["matmul", i, j]
        elif kind == "square":
            entry = ["mul", i, i]
        if entry is not None:
            value = P.torch_nodes([["leaf", x] for x in v] + [entry])[-1].detach().numpy()
            if np.all(np.isfinite(value)) and np.abs(value).max(initial=0.0) < 30:
                self.push(entry, value)

    def finish(self, matrix_root: bool) -> tuple[int, Any]:
        """Join every sink into a root: a scalar sum, or an (m, k) node with a random seed gradient."""
        used = {j for e in self.graph for j in _operand_indices(e)}
        sinks = [i for i in range(len(self.graph)) if i not in used]
        total: int | None = None
        for s in sinks:
            term = s
            if not (matrix_root and _broadcasts((self.m, self.k), self.values[s].shape)
                    and len(np.broadcast_shapes((self.m, self.k), self.values[s].shape)) == 2):
                term = self.push(["sum", s, None, False], self.values[s].sum())
            total = term if total is None else self.push(["add", total, term], self.values[total] + self.values[term])
        assert total is not None
        if matrix_root:
            total = self.push(["add", total, 0], self.values[total] + self.values[0])  # leaf 0 is (m, k)
            return total, _nonzero(self.rng, self.values[total].shape)
        return total, None


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _operand_indices(entry: list[Any]) -> list[int]:
    op = entry[0]
    if op == "leaf":
        return []
    if op in ("add", "sub", "mul", "div", "matmul"):
        return [entry[1], entry[2]]
    if op == "operator":
        return [entry[2], entry[3]]
    return [entry[1]]


def random_op_graph(rng: np.random.Generator, ops: int, matrix_root: bool = False) -> tuple[list[Any], int, Any]:
    g = OpGraph(rng)
    attempts = 0
    while len(g.graph) < 7 + ops and attempts < 20 * ops:
        g.try_op()
        attempts += 1
    root, seed = g.finish(matrix_root)
    return g.graph, root, seed


def _uses(graph: list[Any]) -> tuple[str, ...]:
    return ("backward", "topological_sort", *P._ops_in(graph))


# =========================================================================== Task 1: unbroadcast (7)

UNBROADCAST_AGAINST_3X4_CASES = [(3, 1), (1, 4), (), (4,), (1, 1), (3, 4)]


@graded("1.10", points=0.5)
@pytest.mark.parametrize("shape", UNBROADCAST_AGAINST_3X4_CASES, ids=["3x1", "1x4", "scalar", "4", "1x1", "3x4"])
def test_unbroadcast_against_3x4(student, np_rng, shape):
    """unbroadcast of a (3, 4) gradient to (3, 1), (1, 4), (), (4,), (1, 1) and (3, 4)"""
    P._unbroadcast_case(student, np_rng.standard_normal((3, 4)), shape)


@graded("1.11", points=1.5)
def test_unbroadcast_random_shapes(student, np_rng):
    """unbroadcast on random shapes of rank up to 4 with random broadcast axes and missing leading axes"""
    for _ in range(8):
        full = tuple(int(s) for s in np_rng.integers(2, 5, int(np_rng.integers(1, 5))))
        keep = int(np_rng.integers(0, len(full) + 1))
        shape = tuple(1 if np_rng.random() < 0.5 else s for s in full[len(full) - keep:])
        P._unbroadcast_case(student, np_rng.standard_normal(full), shape)


@graded("1.14", points=0.5)
def test_unbroadcast_wide_and_empty_dimensions(student, np_rng):
    """unbroadcast with sizes over 256 (a bias of 300 features) and with size 0 (an empty batch sums to zeros)"""
    for full, shape in [((4, 300), (300,)), ((4, 300), (1, 300)), ((300, 2), (300, 1)),
                        ((0, 3), (3,)), ((0, 3), (1, 3)), ((2, 0), (0,)), ((2, 0), (1, 0)), ((0, 3), ())]:
        P._unbroadcast_case(student, np_rng.standard_normal(full), shape)


@graded("1.12", points=1)
def test_unbroadcast_result_and_input(student, np_rng):
    """unbroadcast returns a float64 np.ndarray of exactly the shape (0-d for ()) and leaves grad unchanged"""
    grad = np_rng.standard_normal((2, 3, 4))
    for shape in [(), (1, 1, 1), (3, 1)]:
        value, after = student.call_with_args("unbroadcast", grad, shape)
        what = f"unbroadcast(<(2, 3, 4) grad>, {shape})"
        expect_array(value, P.unbroadcast_expected(grad, shape), what,
                     "return an np.ndarray of exactly `shape`: np.asarray turns a NumPy scalar into a 0-d array.")
        if after is None or type(after[0]) is not np.ndarray or not np.array_equal(after[0], grad):
            fail(what, "modified its argument grad", "never write into grad: use out-of-place operations.")


@graded("1.13", points=1)
def test_unbroadcast_rejects_bad_shapes(student, np_rng):
    """unbroadcast raises ValueError, naming the argument, when shape does not broadcast to grad's shape (empty
    grads included)"""
    grad = np_rng.standard_normal((3, 4))
    for shape in [(2, 4), (5, 3, 4), (4, 3), (3, 2), (3, 5), (4, 4), (0, 4), (1, 3, 4)]:
        student.raises_naming(("shape", "grad"), "unbroadcast", grad, shape)
    # empty grads, where a reshape alone would not notice, and a shape with more axes than grad
    for grad, shape in [(np.zeros((2, 0)), (0, 0)), (np.zeros((0, 2)), (0, 3)), (np.zeros((0, 3)), (0, 2)),
                        (np_rng.standard_normal(1), (1, 1))]:
        student.raises_naming(("shape", "grad"), "unbroadcast", grad, shape)


# =========================================================================== Task 2: elementwise (14)

BROADCAST_PAIRS = [((3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 3, 4), (3, 1)), ((1, 5), (4, 1)),
                   ((2, 1, 3), ())]


@graded("2.10", points=1.5)
@pytest.mark.parametrize("op", ["sub", "mul", "div"])
def test_binary_ops_broadcast(student, np_rng, op):
    """sub, mul and div with both operands broadcast in many patterns: values and vjps match PyTorch"""
    for sa, sb in BROADCAST_PAIRS:
        if np_rng.random() < 0.5:
            sa, sb = sb, sa
        graph = [["leaf", np_rng.standard_normal(sa)], ["leaf", _nonzero(np_rng, sb)], [op, 0, 1]]
        up = np_rng.standard_normal(np.broadcast_shapes(sa, sb))
        expect_vjp(student, graph, up, f"{op}(a, b) with a {sa} and b {sb}",
                   "unbroadcast each operand's gradient to that operand's own shape.")


@graded("2.11", points=0.5)
@pytest.mark.parametrize("op", ["exp", "log", "tanh", "relu"])
def test_unary_ops_random(student, np_rng, op):
    """exp, log, tanh and relu on random inputs of several shapes, 0-d included, as Nodes, numbers and arrays"""
    for shape in [(), (5,), (2, 3, 4)]:
        a = np_rng.uniform(0.1, 5, shape) if op == "log" else np_rng.standard_normal(shape) * 2
        expect_vjp(student, [["leaf", a], [op, 0]], np_rng.standard_normal(shape), f"{op} on a {shape} input",
                   "multiply g by the local derivative; keep 0-d results arrays (np.asarray).")
        _expect_on_constant(student, np_rng, [op, 0], a)


@graded("2.12", points=1.5)
def test_power_exponents(student, np_rng):
    """power(a, c) for c = 2, 3, 0, 1, 0.5, 1.5, -1 and -2.5 matches PyTorch; a may be a number or an array"""
    for c in [2, 3, 0, 1, 0.5, 1.5, -1.0, -2.5]:
        a = np_rng.uniform(0.2, 3, (3, 4)) if c % 1 or c < 0 else np_rng.standard_normal((3, 4))
        expect_vjp(student, [["leaf", a], ["power", 0, c]], np_rng.standard_normal((3, 4)), f"power(a, {c})",
                   "d(a**c)/da = c * a**(c - 1), and exactly 0 when c == 0.")
    _expect_on_constant(student, np_rng, ["power", 0, 2], np_rng.standard_normal((2, 3)))
    _expect_on_constant(student, np_rng, ["power", 0, 3], np.float64(np_rng.standard_normal()))


@graded("2.13", points=1.5)
def test_special_values(student, np_rng):
    """log(0), log(-1), division by 0, exp overflow, (-4) ** 0.5 and the gradient of a ** 0 at 0, like PyTorch"""
    up = np_rng.uniform(0.5, 1.5, 4)
    cases = [
        ("log", [["leaf", np.array([0.0, 1.0, -1.0, 0.5])], ["log", 0]]),
        ("exp", [["leaf", np.array([800.0, -800.0, 1.0, 0.0])], ["exp", 0]]),
        ("div", [["leaf", np.array([1.0, -2.0, 3.0, 4.0])], ["leaf", np.array([0.0, 0.0, 1.0, 2.0])], ["div", 0, 1]]),
        ("power", [["leaf", np.array([-4.0, 4.0, 9.0, 0.0])], ["power", 0, 0.5]]),
        ("power(a, 0)", [["leaf", np.array([0.0, 2.0, -3.0, 0.0])], ["power", 0, 0]]),
    ]
    for name, graph in cases:
        expect_vjp(student, graph, up, f"{name} with special values (inf / NaN expected where PyTorch gives them)",
                   "follow IEEE arithmetic like NumPy and PyTorch: do not clip, replace or raise; silence warnings "
                   "with np.errstate if you like. The gradient of a ** 0 is exactly 0, also where a == 0.")


@graded("2.14", points=0.5)
def test_relu_at_zero(student, np_rng):
    """relu's gradient is 0 at exactly 0 (PyTorch's convention)"""
    a = np.array([-1.0, 0.0, 2.0, 0.0, -0.0, 3.0])
    expect_vjp(student, [["leaf", a], ["relu", 0]], np_rng.uniform(0.5, 1.5, 6), "relu at 0",
               "the gradient passes only where a > 0 (strictly).")


@graded("2.15", points=0.2)
@pytest.mark.parametrize("case", ["2*x", "x-1", "1-x", "x/2", "2/x", "array-x", "x*array", "x*y", "x**2", "x@W"])
def test_operators(student, np_rng, case):
    """the Node operators (- * / @, ** c) between Nodes and with numbers and arrays on either side (0.2 points each)"""
    x = _nonzero(np_rng, (2, 3))
    arr = np_rng.standard_normal(3)
    entries = {
        "2*x": ["constant", "*", 0, 2.0, "left"], "x-1": ["constant", "-", 0, 1.0, "right"],
        "1-x": ["constant", "-", 0, 1.0, "left"], "x/2": ["constant", "/", 0, 2.0, "right"],
        "2/x": ["constant", "/", 0, 2.0, "left"], "array-x": ["constant", "-", 0, arr, "left"],
        "x*array": ["constant", "*", 0, arr, "right"], "x*y": ["operator", "*", 0, 2], "x**2": ["pow", 0, 2],
        "x@W": ["operator", "@", 0, 1],
    }
    graph = [["leaf", x], ["leaf", np_rng.standard_normal((3, 4))], ["leaf", np_rng.standard_normal(3)], entries[case]]
    shape = tuple(P.torch_nodes(graph)[-1].shape)
    expect_vjp(student, graph, np_rng.standard_normal(shape), f"the expression {case} with a (2, 3) Node x",
               "each operator calls the matching function; numbers and arrays become constant leaves (_as_node).")


@graded("2.16", points=1)
def test_same_operand_twice(student, np_rng):
    """mul(x, x), sub(x, x) and div(x, x): the vjp returns one gradient per parent, both for x"""
    x = _nonzero(np_rng, (3, 2))
    for op in ["mul", "sub", "div"]:
        expect_vjp(student, [["leaf", x], [op, 0, 0]], np_rng.standard_normal((3, 2)), f"{op}(x, x)",
                   "parents are (x, x): return one gradient for each, backward adds them up.")


@graded("2.17", points=0.5)
def test_ops_leave_inputs_alone(student, np_rng):
    """no operation and no vjp modifies its operands' values or the upstream gradient"""
    a, b = _nonzero(np_rng, (3, 4)), _nonzero(np_rng, (4,))
    for op in ["sub", "mul", "div", "power", "exp", "log", "tanh", "relu"]:
        entry = [op, 0, 1] if op in ("sub", "mul", "div") else (["power", 0, 2] if op == "power" else [op, 0])
        leaf_a = np.abs(a) if op == "log" else a
        got = expect_vjp(student, [["leaf", leaf_a], ["leaf", b], entry], np_rng.standard_normal((3, 4)),
                         f"{op} (checking its inputs afterwards)", "compute new arrays; never write into inputs.")
        if not got["inputs_unchanged"] or not got["upstream_unchanged"]:
            which = "an operand's value" if not got["inputs_unchanged"] else "the upstream gradient g"
            fail(f"{op} and its vjp", f"modified {which} in place",
                 "use out-of-place operations (g * b, not g *= b).")


@graded("2.18", points=0.5)
def test_elementwise_errors(student, np_rng):
    """ValueError for sub, mul and div of shapes that do not broadcast, and for power(a, c) with c not a number"""
    for op in ["sub", "mul", "div"]:
        student.raises_naming(("a", "b"), op, np_rng.standard_normal((2, 3)), np_rng.standard_normal((3, 2)))
    for c in ["2", [1.0, 2.0]]:
        student.raises_naming(("c",), "power", np_rng.standard_normal(3), c)


# =========================================================================== Task 3: reductions (10)

SUM_AXES_CASES = [(None, False), (None, True), (0, False), (-1, True), ([0, -1], False)]


@graded("3.10", points=0.5)
@pytest.mark.parametrize("axis,keepdims", SUM_AXES_CASES, ids=["all", "all-keep", "axis0", "axis-1-keep", "axes0-1"])
def test_sum_axes(student, np_rng, axis, keepdims):
    """sum of a (2, 3, 4) node over several axes, with and without keepdims (0.5 points each)"""
    graph = [["leaf", np_rng.standard_normal((2, 3, 4))], ["sum", 0, axis, keepdims]]
    shape = tuple(P.torch_nodes(graph)[-1].shape)
    _expect_pure_vjp(student, graph, np_rng.standard_normal(shape), f"sum(a, axis={axis}, keepdims={keepdims})",
               "reshape g to the keepdims shape (use _axes), then broadcast it to the input's shape.")


MEAN_AXES_CASES = [(None, False), (1, False), ([-1, 0], True), (-1, False)]


@graded("3.11", points=0.5)
@pytest.mark.parametrize("axis,keepdims", MEAN_AXES_CASES, ids=["all", "axis1", "axes-10-keep", "axis-1"])
def test_mean_axes(student, np_rng, axis, keepdims):
    """mean of a (2, 3, 4) node over several axes (0.5 points each)"""
    graph = [["leaf", np_rng.standard_normal((2, 3, 4))], ["mean", 0, axis, keepdims]]
    shape = tuple(P.torch_nodes(graph)[-1].shape)
    _expect_pure_vjp(student, graph, np_rng.standard_normal(shape), f"mean(a, axis={axis}, keepdims={keepdims})",
               "divide by the number of entries averaged over, not by the total size.")


@graded("3.12", points=2)
def test_matmul_non_square(student, np_rng):
    """matmul with random non-square shapes (m, k) @ (k, n), m, k, n all different, 1-wide edges, and k = 300"""
    for _ in range(3):
        m, k, n = (int(v) for v in np_rng.choice(np.arange(2, 8), 3, replace=False))
        graph = [["leaf", np_rng.standard_normal((m, k))], ["leaf", np_rng.standard_normal((k, n))], ["matmul", 0, 1]]
        _expect_pure_vjp(student, graph, np_rng.standard_normal((m, n)), f"matmul of ({m}, {k}) and ({k}, {n})",
                   "a's gradient is g @ b.T of shape (m, k); b's is a.T @ g of shape (k, n).")
    graph = [["leaf", np_rng.standard_normal((1, 5))], ["leaf", np_rng.standard_normal((5, 1))], ["matmul", 0, 1]]
    expect_vjp(student, graph, np_rng.standard_normal((1, 1)), "matmul of (1, 5) and (5, 1)",
               "a's gradient is g @ b.T; b's is a.T @ g.")
    graph = [["leaf", np_rng.standard_normal((2, 300))], ["leaf", np_rng.standard_normal((300, 3))], ["matmul", 0, 1]]
    expect_vjp(student, graph, np_rng.standard_normal((2, 3)), "matmul of (2, 300) and (300, 3)",
               "a's gradient is g @ b.T; b's is a.T @ g.")


@graded("3.13", points=0.5)
@pytest.mark.parametrize("axes", [None, [2, 0, 3, 1], [-1, 0, -2, 1]], ids=["reverse", "perm", "negative"])
def test_transpose_axes(student, np_rng, axes):
    """transpose of a (2, 3, 4, 5) node: reversed, a permutation that is not its own inverse, negative axes"""
    graph = [["leaf", np_rng.standard_normal((2, 3, 4, 5))], ["transpose", 0, axes]]
    shape = tuple(P.torch_nodes(graph)[-1].shape)
    _expect_pure_vjp(student, graph, np_rng.standard_normal(shape), f"transpose(a, axes={axes})",
               "transpose g with the inverse permutation (np.argsort of the normalized axes).")


@graded("3.14", points=1)
def test_reshape_shapes(student, np_rng):
    """reshape with -1, from and to 0-d, (2, 3, 4) to (4, 6), and to an int shape"""
    for src, dst in [((2, 3, 4), [4, 6]), ((2, 3, 4), [-1]), ((), [1, 1]), ((1,), []), ((6,), [3, -1]), ((2, 3), 6)]:
        graph = [["leaf", np_rng.standard_normal(src)], ["reshape", 0, dst]]
        shape = tuple(P.torch_nodes(graph)[-1].shape)
        _expect_pure_vjp(student, graph, np_rng.standard_normal(shape),
                         f"reshape of a {src} input to {dst if isinstance(dst, int) else tuple(dst)}",
                   "the gradient is g reshaped to the input's shape.")


@graded("3.15", points=1)
def test_shape_errors(student, np_rng):
    """ValueError, naming the argument: matmul of non-2-D (a or b) or mismatched operands, sum / mean over a
    missing or repeated axis, an impossible reshape, axes that are not a permutation"""
    a = np_rng.standard_normal((2, 3))
    student.raises_naming(("a",), "matmul", np_rng.standard_normal(3), a.T)
    student.raises_naming(("b",), "matmul", a, np_rng.standard_normal(3))
    student.raises_naming(("a", "b"), "matmul", a, a)
    student.raises_naming(("a",), "matmul", np_rng.standard_normal((2, 2, 3)), a.T)
    student.raises_naming(("a",), "matmul", np_rng.standard_normal((2, 3, 3)), a.T)
    student.raises_naming(("b",), "matmul", a, np_rng.standard_normal((3, 3, 4)))
    student.raises_naming(("axis",), "sum", a, axis=2)
    student.raises_naming(("axis",), "mean", a, axis=-3)
    student.raises_naming(("axis",), "sum", a, axis=(0, 0))
    student.raises_naming(("axis",), "mean", a, axis=(1, -1))
    student.raises_naming(("shape",), "reshape", a, (4, 2))
    student.raises_naming(("axes",), "transpose", a, (0, 0))


# =========================================================================== Task 4: topological_sort (13)

def _topo(student: Any, graph: list[Any], root: int, **kwargs: Any) -> Any:
    return student.probe("topo_order", graph, root, uses=("topological_sort",), **kwargs)


@graded("4.10", points=1.5)
@pytest.mark.parametrize("n", [20, 100, 400])
def test_topological_sort_random_dags(student, np_rng, n):
    """random DAGs of 20, 100 and 400 nodes (shared nodes, skips of every length): a valid order each"""
    graph = random_wired(np_rng, n, (2,), leaves=max(2, n // 10), embed_skip=False)
    for root in [n - 1, int(np_rng.integers(n // 2, n - 1))]:
        expect_topological(_topo(student, graph, root), graph, root, f"topological_sort of a random {n}-node DAG")


@graded("4.11", points=1.5)
def test_topological_sort_only_reachable(student, np_rng):
    """only nodes reachable from root are listed: a leaf root alone, and a graph with side branches"""
    graph = random_wired(np_rng, 30, (2,), leaves=4, embed_skip=False)
    for root in [0, 3, 12, 20]:
        expect_topological(_topo(student, graph, root), graph, root,
                           "topological_sort of a node in the middle of a larger graph" if root else
                           "topological_sort of a leaf (the list holds just that leaf)")


def _chain_with_skips(rng: np.random.Generator, depth: int, window: int = 50) -> list[Any]:
    """A wired chain (node i always has parent i - 1), most nodes with a second, random earlier parent."""
    graph: list[Any] = [["leaf", rng.standard_normal(2)]]
    for i in range(1, depth + 1):
        if rng.random() < 0.7:
            graph.append(["lin", [i - 1, int(rng.integers(max(0, i - window), i))], [0.5, 0.5]])
        else:
            graph.append(["lin", [i - 1], [1.0]])
    return graph


@graded("4.12", points=0.5)
@pytest.mark.parametrize("case", ["self-loop", "two-cycle", "long-cycle", "cycle-below-diamond"])
def test_topological_sort_cycles(student, np_rng, case):
    """cycles of length 1, 2 and 41, and one deep below a diamond, raise ValueError (0.5 points each)"""
    graph = _chain_with_skips(np_rng, 59)
    graph += [["lin", [59], [1.0]], ["lin", [59], [2.0]], ["lin", [60, 61], [1.0, 1.0]]]  # a diamond on top
    # node i - 1 is always a parent of node i, so node j descends from node i < j: a link i -> j closes a cycle
    link = {"self-loop": [50, 50], "two-cycle": [40, 41], "long-cycle": [10, 50], "cycle-below-diamond": [5, 30]}[case]
    got = _topo(student, graph, 62, extra_parents=[link], expect_error=True)
    _expect_error(got, f"topological_sort of a graph with a cycle ({case})",
                  "mark nodes grey while they are on the DFS stack; a grey parent means a cycle: raise ValueError.")


@graded("4.13", points=2.5, size="scale")
def test_topological_sort_deep_skip_chain(student, np_rng):
    """a chain 5,000 nodes deep with random skip connections, under the default recursion limit"""
    depth = 5000
    graph = _chain_with_skips(np_rng, depth)
    expect_topological(_topo(student, graph, depth), graph, depth, "topological_sort of a 5,000-deep chain with skips")


@graded("4.14", points=1.5)
def test_topological_sort_many_paths(student, np_rng):
    """60 stacked diamonds (2**60 paths from top to bottom): each node listed once"""
    graph: list[Any] = [["leaf", np_rng.standard_normal(2)]]
    for _ in range(60):
        top = len(graph) - 1
        graph += [["lin", [top], [0.5]], ["lin", [top, top], [0.3, 0.2]],
                  ["lin", [top + 1, top + 2, top], [1.0, 1.0, 0.1]]]
    root = len(graph) - 1
    expect_topological(_topo(student, graph, root), graph, root, "topological_sort of 60 stacked diamonds")


@graded("4.16", points=0.5)
def test_topological_sort_wide_fan_in(student, np_rng):
    """a node with 300 distinct parents (5 of them listed twice) over 20 shared leaves: a valid order"""
    graph: list[Any] = [["leaf", np_rng.standard_normal(2)] for _ in range(20)]
    graph += [["lin", [int(np_rng.integers(0, 20))], [1.0]] for _ in range(300)]
    inputs = list(range(20, 320)) + [int(i) for i in np_rng.integers(20, 320, 5)]
    graph.append(["lin", inputs, [1.0] * len(inputs)])
    root = len(graph) - 1
    expect_topological(_topo(student, graph, root), graph, root,
                       "topological_sort of a node with 305 parent links (300 distinct parents)")


@graded("4.15", points=0.5)
def test_topological_sort_rejects_non_nodes(student, np_rng):
    """topological_sort raises ValueError when root is not a Node"""
    for root in [np_rng.standard_normal(3), 2.0, None]:
        student.raises_naming(("root",), "topological_sort", root)


# =========================================================================== Task 5: backward (16)

BACKWARD_RANDOM_GRAPHS_CASES = [(12, False), (40, False), (30, True)]


@graded("5.10", points=1.5)
@pytest.mark.parametrize("size,matrix_root", BACKWARD_RANDOM_GRAPHS_CASES, ids=["small", "medium", "matrix-root"])
def test_backward_random_graphs(student, np_rng, size, matrix_root):
    """random graphs of your operations (broadcasting, reuse, skips, x * x): every node's .grad matches PyTorch"""
    graph, root, seed = random_op_graph(np_rng, size, matrix_root)
    want = sorted(ancestors(_op_parents(graph), root))
    what = f"backward on a random graph of {len(graph)} nodes made with your operations"
    got = student.probe("graph_backward", graph, root, [seed], want, uses=_uses(graph))
    for i, mine, ref in zip(want, got["values"], torch_values(graph, want)):
        expect_array(mine, ref, f"{what}: the value of node {i} ({graph[i][0]})", "check that operation's forward.")
    for i, mine, ref in zip(want, got["grads"][0], torch_grads(graph, root, seed, want)):
        if mine is None:
            fail(what, f"node {i} has .grad None", "backward sets .grad of every node of the graph.")
        expect_array(mine, ref, f"{what}: .grad of node {i} ({graph[i][0]})", ORDER_HINT)


def _op_parents(graph: list[Any]) -> list[list[int]]:
    return [_operand_indices(e) for e in graph]


@graded("5.11", points=1.5)
def test_backward_skip_graphs(student, np_rng):
    """random graphs with skip connections of unequal lengths and non-unit local derivatives"""
    for n, shape in [(25, (3,)), (80, (2, 2))]:
        graph = random_wired(np_rng, n, shape)
        root = len(graph) - 1
        want = sorted(ancestors(parents_of(graph), root))
        P.expect_grads(student, graph, root, np_rng.standard_normal(shape), want,
                       f"backward on a random {n}-node graph with skip connections", ORDER_HINT, wired=True)


@graded("5.12", points=1)
def test_backward_diamond_non_unit(student, np_rng):
    """a diamond and a triple fan-in with non-unit, negative local derivatives"""
    c = [float(v) for v in _nonzero(np_rng, 8)]
    graph = [["leaf", np_rng.standard_normal((2, 3))], ["lin", [0], [c[0]]], ["lin", [0], [c[1]]],
             ["prod", [1, 2]], ["lin", [3, 1, 0], c[2:5]], ["lin", [4, 2], c[5:7]]]
    P.expect_grads(student, graph, 5, np_rng.standard_normal((2, 3)), list(range(6)),
                   "backward through a diamond with a product and a triple fan-in", ORDER_HINT, wired=True)


@graded("5.13", points=1.5)
def test_backward_fan_out(student, np_rng):
    """x * x and x - x with your operations, and one node used by five others: paths are summed"""
    x = _nonzero(np_rng, (2, 3))
    graph = [["leaf", x], ["mul", 0, 0], ["sub", 0, 0], ["add", 1, 2], ["sum", 3, None, False]]
    P.expect_grads(student, graph, 4, None, [0, 1, 2, 3], "backward(sum(x * x + (x - x)))",
                   "both parents of x * x are x: add the two contributions.")
    graph = [["leaf", x]] + [["lin", [0], [float(v)]] for v in _nonzero(np_rng, 5)]
    graph.append(["lin", [1, 2, 3, 4, 5], [1.0] * 5])
    P.expect_grads(student, graph, 6, np_rng.standard_normal((2, 3)), list(range(7)),
                   "backward where x feeds five nodes", "add every child's contribution into x's gradient.",
                   wired=True)


@graded("5.14", points=1.5)
def test_backward_replaces_earlier_calls(student, np_rng):
    """backward twice: the second call's gradients replace the first's; the same seed twice equals once"""
    graph = random_wired(np_rng, 20, (3,))
    root = len(graph) - 1
    want = sorted(ancestors(parents_of(graph), root))
    g1, g2 = np_rng.standard_normal(3), np_rng.standard_normal(3)
    got = student.probe("graph_backward", graph, root, [g1, g2, g2], want, wired=True, uses=WIRED)
    hint = "reset the gradients at the start of each call: a second call must not add to the first's."
    for call, seed in [(1, g2), (2, g2)]:
        for i, mine, ref in zip(want, got["grads"][call], torch_grads(graph, root, seed, want, wired=True)):
            expect_array(mine, ref, f"backward called {call + 1} times: .grad of node {i}", hint)


@graded("5.15", points=1.5)
def test_backward_vjp_once(student, np_rng):
    """each node's vjp runs at most once per backward call (counted), on a 300-node graph whose root has every
    node as a parent"""
    graph = random_wired(np_rng, 300, (2,))
    graph += [["lin", list(range(len(graph))), [0.1] * len(graph)]]
    root = len(graph) - 1
    got = student.probe("graph_backward", graph, root, [np_rng.standard_normal(2)], [0], wired=True, uses=WIRED)
    worst = max(got["vjp_calls"])
    if worst > 1:
        node = got["vjp_calls"].index(worst)
        fail("backward on a 300-node graph where every node feeds the root",
             f"the vjp of node {node} ran {worst} times",
             "call each node's vjp once, with its complete gradient, not once per child or per parent.")


@graded("5.16", points=1.5)
def test_backward_grad_argument_shapes(student, np_rng):
    """grad: required for larger roots, shape-checked, a number or array (ints too), optional for size-1 roots"""
    graph = [["leaf", np_rng.standard_normal((2, 3))], ["lin", [0], [2.0]]]
    for seeds, why in [([None], "no grad for a (2, 3) root"),
                       ([np_rng.standard_normal(3)], "a (3,) grad for a (2, 3) root"),
                       ([np_rng.standard_normal((3, 2))], "a (3, 2) grad for a (2, 3) root"),
                       ([np_rng.standard_normal(2)], "a (2,) grad for a (2, 3) root"),
                       ([np_rng.standard_normal((1, 3))], "a (1, 3) grad for a (2, 3) root"),
                       ([2.5], "a number grad for a (2, 3) root"),
                       (["six"], "a str grad"), ([{"g": 1.0}], "a dict grad")]:
        got = student.probe("graph_backward", graph, 1, seeds, [0], wired=True, expect_error=True, uses=WIRED)
        _expect_error(got, f"backward(y, grad) with {why}",
                      "grad may be omitted only for a single-entry root, and must otherwise have the root's shape "
                      "(a number or an array: anything else is a ValueError).", names=("grad",))
    single = "a single-entry root accepts any single-entry grad; a grad with more entries is a ValueError."
    for root, seed, what, hint in [
        (np_rng.standard_normal(()), np_rng.standard_normal(2), "backward(y, grad) with a (2,) grad for a 0-d root",
         single),
        (np_rng.standard_normal(()), np.zeros(0), "backward(y, grad) with an empty (0,) grad for a 0-d root", single),
        (np.zeros((0, 3)), 1.0, "backward(y, 1.0) for an empty (0, 3) root",
         "only a single-entry root accepts a single number as grad; any other root needs a grad of its shape."),
    ]:
        got = student.probe("graph_backward", [["leaf", root], ["lin", [0], [2.0]]], 1, [seed], [0], wired=True,
                            expect_error=True, uses=WIRED)
        _expect_error(got, what, hint, names=("grad",))
    P.expect_grads(student, graph, 1, np_rng.integers(-3, 4, (2, 3)), [0, 1], "backward(y, <int array grad>)",
                   "every .grad is a float64 array, also for an integer grad: np.asarray(grad, dtype=np.float64).",
                   wired=True)
    for shape in [(), (1,), (1, 1)]:
        graph = [["leaf", np_rng.standard_normal(shape)], ["prod", [0, 0]]]
        for seed in [None, 2.5, np.array(2.5), np.array([[2.5]]), 2]:
            P.expect_grads(student, graph, 1, seed, [0, 1],
                           f"backward(y, {seed!r}) for a root of shape {shape}",
                           "for a single-entry root, grad may be None (1.0) or any single-entry number or array, "
                           "reshaped to the root's shape.", wired=True)


@graded("5.17", points=1)
def test_backward_grads_are_fresh_arrays(student, np_rng):
    """every node gets its own float64 np.ndarray .grad (no shared memory), and grad itself is not modified"""
    graph = [["leaf", np_rng.standard_normal((2, 2))], ["leaf", np_rng.standard_normal((2, 2))], ["add", 0, 1],
             ["reshape", 2, [4]], ["reshape", 3, [2, 2]]]
    seed = np_rng.standard_normal((2, 2))
    got = P.expect_grads(student, graph, 4, seed, [0, 1, 2, 3, 4], "backward through add and reshape",
                         "store a float64 np.ndarray of the node's shape in every .grad.")
    if got["shared"]:
        fail("backward through add and reshape", "two nodes' .grad arrays (or a .grad and the grad argument) "
             "share memory", "copy when you store: node.grad = np.array(g) gives each node its own array.")
    if not got["seeds_unchanged"]:
        fail("backward(y, grad)", "modified its grad argument", "never write into grad.")


@graded("5.18", points=1, size="scale")
def test_backward_deep_chain(student, np_rng):
    """backward through a chain 5,000 nodes deep, under the default recursion limit"""
    coefs = [float(v) for v in np_rng.uniform(0.999, 1.001, 5000)]
    graph = P.chain(5000, (2,), coefs, np_rng.standard_normal(2))
    P.expect_grads(student, graph, 5000, np_rng.standard_normal(2), [0, 2500, 5000],
                   "backward through a 5,000-deep chain", "no recursion: an explicit stack in topological_sort "
                   "and a loop over the reversed order in backward.", wired=True)


@graded("5.19", points=0.5)
def test_backward_rejects_cycles_and_non_nodes(student, np_rng):
    """backward raises ValueError on a graph with a cycle, for a root that is not a Node, and for a vjp that returns
    the wrong number of gradients or one of the wrong shape"""
    student.raises_naming(("root",), "backward", np_rng.standard_normal(3))
    graph = [["leaf", np_rng.standard_normal(2)], ["lin", [0, 0], [1.0, 1.0]], ["lin", [1], [1.0]]]
    got = student.probe("graph_backward", graph, 2, [np_rng.standard_normal(2)], [0], wired=True,
                        extra_parents=[[1, 2, 1]], expect_error=True, uses=WIRED)
    _expect_error(got, "backward on a graph with a cycle", "topological_sort raises ValueError for a cycle; let it "
                  "propagate.")
    for mode, problem in [("count", "one gradient for its two parents"),
                          ("extra", "three gradients for its two parents"),
                          ("shape", "a (3,) gradient for a (2, 3) parent"),
                          ("narrow", "a (2, 1) gradient for a (2, 3) parent")]:
        graph = [["leaf", np_rng.standard_normal((2, 3))], ["leaf", np_rng.standard_normal((2, 3))],
                 ["bad", [0, 1], mode], ["lin", [2], [1.0]]]
        got = student.probe("graph_backward", graph, 3, [np_rng.standard_normal((2, 3))], [0], wired=True,
                            expect_error=True, uses=WIRED)
        _expect_error(got, f"backward through a node whose vjp returns {problem}",
                      "check what each vjp returns: one gradient per parent (len), each of its parent's shape; "
                      "raise ValueError otherwise (zip would silently drop one, and + would broadcast).")


@graded("5.20", points=0.5)
def test_backward_stops_at_a_node_without_vjp(student, np_rng):
    """a node with parents but vjp None gets its .grad and passes none on; a node left without one gets zeros"""
    x, y = np_rng.standard_normal((2, 3)), np_rng.standard_normal((2, 3))
    a, b, c = (float(v) for v in _nonzero(np_rng, 3))
    graph = [["leaf", x], ["leaf", y], ["stop", [0, 1], [c, 1.0]], ["lin", [2, 0], [a, b]]]
    seed = np_rng.standard_normal((2, 3))
    what = "backward through a node made with Node(value, parents, vjp=None)"
    got = student.probe("graph_backward", graph, 3, [seed], [0, 1, 2, 3], wired=True, uses=WIRED)
    hint = ("call a node's vjp only if it has one; a node that receives no gradient (here the stopped node's "
            "parents, but for the other path) gets zeros of its shape.")
    for i, ref in [(3, seed), (2, a * seed), (0, b * seed), (1, np.zeros((2, 3)))]:
        expect_array(got["grads"][0][i], ref, f"{what}: .grad of node {i} ({graph[i][0]})", hint)
