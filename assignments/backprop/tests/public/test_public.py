"""Public tests for backprop (30 points). Run them with `pytest`, one task with `pytest -m backward`.

Graphs cannot be passed to your functions directly by the grader, so each test describes a
graph as plain data; a small trusted helper (probes.py) builds it with your `Node` and your
operations, runs your code, and sends back the values, gradients and orders. The expected
gradients come from PyTorch's autograd on the same expression in float64. Inputs are random
(a fresh seed every run; the seed is printed at the end so you can repeat a run with --ag-seed).
Per task: unbroadcast 3, elementwise 6, reductions 5, topological_sort 7, backward 9.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from autograder.testing import beside, expect_close, fail, graded

RTOL, ATOL = 1e-7, 1e-9
"""The handout's tolerances (section 8): |yours - PyTorch| <= ATOL + RTOL * |PyTorch|."""

BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "matmul": torch.matmul}
UNARY = {"neg": torch.neg, "exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "relu": torch.relu}
SYMBOLS = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div, "@": torch.matmul}


# =========================================================================== trusted helpers
# (also used by the hidden tests)

def _reduce(fn: Any, t: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
    """np.sum / np.mean semantics (axis None, int or list; keepdims) in torch."""
    if axis is None:
        out = fn(t)
        return out.reshape([1] * t.dim()) if keepdims else out
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    return fn(t, dim=dims, keepdim=keepdims)


def torch_nodes(graph: list[Any], wired: bool = False) -> list[torch.Tensor]:
    """The same graph evaluated by PyTorch in float64; every leaf requires grad."""
    out: list[torch.Tensor] = []
    for entry in graph:
        op = entry[0]
        if op == "leaf":
            t = torch.tensor(np.asarray(entry[1], dtype=np.float64), requires_grad=True)
        elif wired and op == "lin":
            t = sum((c * out[i] for i, c in zip(entry[1], entry[2])), torch.zeros((), dtype=torch.float64))
        elif wired and op == "prod":
            t = out[entry[1][0]] * out[entry[1][1]]
        elif op in BINARY:
            t = BINARY[op](out[entry[1]], out[entry[2]])
        elif op in UNARY:
            t = UNARY[op](out[entry[1]])
        elif op in ("power", "pow"):
            t = out[entry[1]] ** entry[2]
        elif op in ("sum", "mean"):
            t = _reduce(torch.sum if op == "sum" else torch.mean, out[entry[1]], entry[2], entry[3])
        elif op == "reshape":
            t = out[entry[1]].reshape(entry[2] if isinstance(entry[2], int) else tuple(entry[2]))
        elif op == "transpose":
            x = out[entry[1]]
            t = x.permute(tuple(reversed(range(x.dim()))) if entry[2] is None else tuple(entry[2]))
        elif op == "operator":
            t = SYMBOLS[entry[1]](out[entry[2]], out[entry[3]])
        elif op == "constant":
            symbol, i, c, side = entry[1:]
            const = torch.as_tensor(np.asarray(c, dtype=np.float64))
            t = SYMBOLS[symbol](out[i], const) if side == "right" else SYMBOLS[symbol](const, out[i])
        elif op == "negate":
            t = -out[entry[1]]
        else:
            raise ValueError(f"unknown graph entry {op!r}")
        out.append(t)
    return out


def torch_grads(graph: list[Any], root: int, seed: Any, want: list[int], wired: bool = False) -> list[np.ndarray]:
    """d sum(root * seed) / d node for each node in ``want`` (zeros where the node does not reach root)."""
    ts = torch_nodes(graph, wired)
    g = torch.ones((), dtype=torch.float64) if seed is None else torch.as_tensor(np.asarray(seed, dtype=np.float64))
    grads = torch.autograd.grad(ts[root], [ts[i] for i in want], g.reshape(ts[root].shape), allow_unused=True)
    return [(torch.zeros_like(ts[i]) if d is None else d).detach().numpy().copy() for i, d in zip(want, grads)]


def torch_values(graph: list[Any], want: list[int], wired: bool = False) -> list[np.ndarray]:
    ts = torch_nodes(graph, wired)
    return [ts[i].detach().numpy().copy() for i in want]


def ancestors(parents: list[list[int]], root: int) -> set[int]:
    """Every node reachable from ``root`` through parents, ``root`` included (iterative)."""
    seen, stack = {root}, [root]
    while stack:
        for p in parents[stack.pop()]:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def parents_of(graph: list[Any], extra: list[list[int]] = ()) -> list[list[int]]:
    """The parent indices of each entry of a wired graph (plus extra links)."""
    parents = [[] if e[0] == "leaf" else list(e[1]) for e in graph]
    for i, j in extra:
        parents[i].append(j)
    return parents


def expect_topological(result: Any, graph: list[Any], root: int, what: str) -> None:
    """The order lists every node reachable from root exactly once, each after all of its parents."""
    hint = ("visit each node once (keep a set of visited nodes) and emit a node only after all of its "
            "parents have been emitted (post-order DFS).")
    if not isinstance(result, dict) or result.get("type") != "list":
        fail(what, f"returned a {result.get('type') if isinstance(result, dict) else '?'}, expected a list", hint)
    order = result["order"]
    parents = parents_of(graph)
    need = ancestors(parents, root)
    if -1 in order:
        fail(what, "the list contains an object that is not a node of the graph", hint)
    seen: set[int] = set()
    for pos, node in enumerate(order):
        if node in seen:
            fail(what, f"a node appears twice (position {pos})", hint)
        seen.add(node)
    if seen - need:
        fail(what, f"the list contains {len(seen - need)} node(s) that are not reachable from root",
             "follow `parents` from root only; do not collect nodes any other way.")
    if need - seen:
        leaves = sum(1 for n in need - seen if not parents[n])
        fail(what, f"{len(need - seen)} node(s) reachable from root are missing ({leaves} of them leaves)",
             "every node reachable from root through parents belongs in the list, root and leaves included.")
    position = {node: pos for pos, node in enumerate(order)}
    for node in order:
        for p in parents[node]:
            if position[p] > position[node]:
                fail(what, f"the node at position {position[node]} comes before its parent at position "
                     f"{position[p]}", hint)


def expect_array(actual: Any, expected: np.ndarray, what: str, hint: str) -> None:
    """A float64 np.ndarray of the expected shape, close to PyTorch (the handout's tolerances)."""
    expect_close(actual, np.asarray(expected, dtype=np.float64), what=what, hint=hint, rtol=RTOL, atol=ATOL)


def expect_vjp(student: Any, graph: list[Any], upstream: np.ndarray, what: str, hint: str) -> dict[str, Any]:
    """Value and vjp of the last entry of an op graph, against PyTorch; the parents are its operands."""
    got = student.probe("op_vjp", graph, upstream, uses=(_op_name(graph[-1]),))
    if not got["is_node"]:
        fail(what, f"returned a {got['type']}, expected a Node", "return Node(value, parents, vjp).")
    ts = torch_nodes(graph)
    out = ts[-1]
    expect_array(got["value"], out.detach().numpy(), f"{what}: the value", hint)
    operands = _operands(graph[-1])
    if got["parents"] != list(operands):
        fail(what, f"the new node's parents are {_describe_parents(got['parents'])}, expected its operands "
             f"in order ({', '.join(f'node {i}' for i in operands)})",
             "parents must be (a, b) for two operands and (a,) for one, in the order of the arguments.")
    grads = got["grads"]
    if grads is None or not isinstance(grads, list):
        fail(what, f"its vjp returned a {got['grads_type']}, expected a tuple with one gradient per parent",
             "return a tuple, e.g. `return (g * 2,)` for one parent.")
    if len(grads) != len(operands):
        fail(what, f"its vjp returned {len(grads)} gradient(s) for {len(operands)} parent(s)",
             "one gradient per parent, in the order of parents.")
    # Each operand slot as its own leaf, so that x * x has one gradient per slot (not their sum).
    real = [(k, i) for k, i in enumerate(operands) if i >= 0]  # -1: a constant wrapped by the operation
    base = len(graph) - 1
    slots = [["leaf", ts[i].detach().numpy()] for _, i in real]
    separate = torch_nodes(graph[:-1] + slots + [_with_operands(graph[-1], [base + n for n in range(len(real))])])
    g = torch.as_tensor(np.asarray(upstream, dtype=np.float64)).reshape(out.shape)
    expected = torch.autograd.grad(separate[-1], separate[base:base + len(real)], g, allow_unused=True)
    for (k, i), ref in zip(real, expected):
        ref = torch.zeros_like(ts[i]) if ref is None else ref
        expect_array(grads[k], ref.detach().numpy(), f"{what}: the vjp's gradient for parent {k}", hint)
    return got


def _op_name(entry: list[Any]) -> str:
    """The student's function an op entry runs (operators run the function they map to)."""
    by_symbol = {"+": "add", "-": "sub", "*": "mul", "/": "div", "@": "matmul"}
    if entry[0] in ("operator", "constant"):
        return by_symbol[entry[1]]
    return {"negate": "neg", "pow": "power"}.get(entry[0], entry[0])


def _operands(entry: list[Any]) -> tuple[int, ...]:
    op = entry[0]
    if op in BINARY:
        return (entry[1], entry[2])
    if op == "operator":
        return (entry[2], entry[3])
    if op == "constant":
        return (entry[2], -1) if entry[4] == "right" else (-1, entry[2])
    return (entry[1],)


def _with_operands(entry: list[Any], new: list[int]) -> list[Any]:
    """The entry with its node operands replaced, in order, by ``new``."""
    op = entry[0]
    if op in BINARY:
        return [op, *new]
    if op == "operator":
        return [op, entry[1], *new]
    if op == "constant":
        return [op, entry[1], new[0], *entry[3:]]
    return [op, new[0], *entry[2:]]


def _describe_parents(parents: list[int]) -> str:
    return "(" + ", ".join("a node that is not an operand" if p == -1 else f"node {p}" for p in parents) + ")"


def expect_grads(student: Any, graph: list[Any], root: int, seed: Any, want: list[int], what: str, hint: str,
                 wired: bool = False) -> dict[str, Any]:
    """backward(root, seed) through a probe; each wanted node's .grad against PyTorch."""
    uses = ("backward", "topological_sort") if wired else ("backward", "topological_sort", *_ops_in(graph))
    got, expected = beside(lambda: torch_grads(graph, root, seed, want, wired),  # PyTorch's, while yours runs
                           lambda: student.probe("graph_backward", graph, root, [seed], want, wired=wired, uses=uses))
    for i, mine, ref in zip(want, got["grads"][0], expected):
        if mine is None:
            fail(what, f"node {i} has .grad None after backward", "backward sets .grad of every node of the graph.")
        expect_array(mine, ref, f"{what}: .grad of node {i}", hint)
    return got


def _ops_in(graph: list[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_op_name(e) for e in graph if e[0] != "leaf"))


def randn(rng: torch.Generator, *shape: int) -> np.ndarray:
    return torch.randn(shape, generator=rng, dtype=torch.float64).numpy()


def uniform(rng: torch.Generator, low: float, high: float, *shape: int) -> np.ndarray:
    return (low + (high - low) * torch.rand(shape, generator=rng, dtype=torch.float64)).numpy()


def coef(rng: torch.Generator) -> float:
    """A random non-unit local derivative: magnitude in [0.5, 2], either sign."""
    value = float(uniform(rng, 0.5, 2.0))
    return value if float(torch.rand((), generator=rng)) < 0.5 else -value


def chain(depth: int, shape: tuple[int, ...], coefs: list[float], leaf: np.ndarray) -> list[Any]:
    """A wired chain: a leaf and ``depth`` nodes, each a multiple of the one before."""
    return [["leaf", leaf]] + [["lin", [i], [coefs[i]]] for i in range(depth)]


# =========================================================================== Task 1: unbroadcast

UNBROADCAST = "sum the leading axes that `shape` lacks, then the axes where `shape` has 1 (keepdims=True)."


def unbroadcast_expected(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """PyTorch's gradient of x.expand(grad.shape) for an x of ``shape``: what unbroadcast must return."""
    x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(x.expand(grad.shape), x, torch.as_tensor(grad))
    return expected.numpy()


def _unbroadcast_case(student: Any, grad: np.ndarray, shape: tuple[int, ...]) -> None:
    expect_array(student.call("unbroadcast", grad, shape), unbroadcast_expected(grad, shape),
                 f"unbroadcast(<{grad.shape} grad>, {shape})", UNBROADCAST)


@graded("1.1", points=1)
def test_unbroadcast_leading_axes(student, rng):
    """unbroadcast sums away leading axes: (2, 3, 4) down to (3, 4) and (4,)"""
    grad = randn(rng, 2, 3, 4)
    for shape in [(3, 4), (4,)]:
        _unbroadcast_case(student, grad, shape)


@graded("1.2", points=1.5)
def test_unbroadcast_size_one_axes(student, rng):
    """unbroadcast sums size-1 axes with keepdims: (3, 4) down to (1, 4) and (3, 1); (2, 3, 4) to (2, 1, 4)"""
    for grad, shape in [(randn(rng, 3, 4), (1, 4)), (randn(rng, 3, 4), (3, 1)), (randn(rng, 2, 3, 4), (2, 1, 4))]:
        _unbroadcast_case(student, grad, shape)


@graded("1.3", points=0.5)
def test_unbroadcast_to_scalar(student, rng):
    """unbroadcast of a (3, 4) gradient to shape () is a 0-d array holding the total"""
    _unbroadcast_case(student, randn(rng, 3, 4), ())


# =========================================================================== Task 2: elementwise

@graded("2.1", points=1.5)
def test_mul_vjp(student, rng):
    """mul of two (3, 4) nodes: value a * b, parents (a, b), vjp (g * b, g * a)"""
    graph = [["leaf", randn(rng, 3, 4)], ["leaf", randn(rng, 3, 4)], ["mul", 0, 1]]
    expect_vjp(student, graph, randn(rng, 3, 4), "mul(a, b) on (3, 4) inputs",
               "d(a*b)/da = b and d(a*b)/db = a, each multiplied by the upstream gradient g.")


@graded("2.2", points=0.75)
@pytest.mark.parametrize("op", ["sub", "div"])
def test_sub_div_vjp(student, rng, op):
    """sub and div of two (2, 5) nodes: value and vjp match PyTorch (0.75 points each)"""
    graph = [["leaf", randn(rng, 2, 5)], ["leaf", uniform(rng, 0.5, 2.0, 2, 5)], [op, 0, 1]]
    expect_vjp(student, graph, randn(rng, 2, 5), f"{op}(a, b) on (2, 5) inputs",
               "sub: (g, -g); div: (g / b, -g * a / b**2).")


@graded("2.3", points=0.4)
@pytest.mark.parametrize("op", ["exp", "log", "tanh", "relu", "power"])
def test_unary_vjp(student, rng, op):
    """exp, log, tanh, relu and power(a, 3) of a (4, 3) node: value and vjp match PyTorch (0.4 points each)"""
    a = uniform(rng, 0.2, 2.0, 4, 3) if op == "log" else randn(rng, 4, 3)
    entry = ["power", 0, 3] if op == "power" else [op, 0]
    expect_vjp(student, [["leaf", a], entry], randn(rng, 4, 3), f"{op} on a (4, 3) input",
               "multiply g by the local derivative (handout section 4 has the table).")


@graded("2.4", points=1)
def test_mul_broadcast(student, rng):
    """mul of a (3, 4) node and a (4,) node: the (4,) operand's gradient is summed back to (4,)"""
    graph = [["leaf", randn(rng, 3, 4)], ["leaf", randn(rng, 4)], ["mul", 0, 1]]
    expect_vjp(student, graph, randn(rng, 3, 4), "mul(a, b) with a (3, 4) and b (4,)",
               "unbroadcast each operand's gradient to that operand's shape.")


# =========================================================================== Task 3: reductions

@graded("3.1", points=0.5)
@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, True), (0, False)], ids=["all", "axis1-keep", "axis0"])
def test_sum_vjp(student, rng, axis, keepdims):
    """sum of a (3, 4) node over all entries, axis 1 (keepdims) and axis 0 (0.5 points each)"""
    graph = [["leaf", randn(rng, 3, 4)], ["sum", 0, axis, keepdims]]
    shape = tuple(torch_nodes(graph)[-1].shape)
    expect_vjp(student, graph, randn(rng, *shape), f"sum(a, axis={axis}, keepdims={keepdims}) on a (3, 4) input",
               "copy g back across the summed axes (reshape to the keepdims shape, then broadcast).")


@graded("3.2", points=1)
def test_mean_vjp(student, rng):
    """mean of a (2, 3, 4) node over axis 2 matches PyTorch"""
    graph = [["leaf", randn(rng, 2, 3, 4)], ["mean", 0, 2, False]]
    expect_vjp(student, graph, randn(rng, 2, 3), "mean(a, axis=2) on a (2, 3, 4) input",
               "like sum, divided by the number of averaged entries.")


@graded("3.3", points=1.5)
def test_matmul_vjp(student, rng):
    """matmul of a (2, 3) and a (3, 4) node: vjp (g @ b.T, a.T @ g)"""
    graph = [["leaf", randn(rng, 2, 3)], ["leaf", randn(rng, 3, 4)], ["matmul", 0, 1]]
    expect_vjp(student, graph, randn(rng, 2, 4), "matmul(a, b) with a (2, 3) and b (3, 4)",
               "the gradients are g @ b.T and a.T @ g; check their shapes.")


@graded("3.4", points=0.5)
@pytest.mark.parametrize("case", ["reshape", "transpose"])
def test_reshape_transpose_vjp(student, rng, case):
    """reshape (2, 6) to (3, 4) and transpose a (2, 3, 4) node with axes (1, 2, 0) (0.5 points each)"""
    if case == "reshape":
        graph, up = [["leaf", randn(rng, 2, 6)], ["reshape", 0, [3, 4]]], randn(rng, 3, 4)
    else:
        graph, up = [["leaf", randn(rng, 2, 3, 4)], ["transpose", 0, [1, 2, 0]]], randn(rng, 3, 4, 2)
    expect_vjp(student, graph, up, f"{case} of a {graph[0][1].shape} input",
               "reshape g back to the input's shape; transpose g with the inverse permutation.")


# =========================================================================== Task 4: topological_sort

def _topo(student: Any, graph: list[Any], root: int, **kwargs: Any) -> Any:
    return student.probe("topo_order", graph, root, uses=("topological_sort",), **kwargs)


@graded("4.1", points=1.5)
def test_topological_sort_diamond(student, rng):
    """a diamond (x -> a, x -> b, a + b -> y): x, a and b each listed once, before y"""
    x = randn(rng, 2)
    graph = [["leaf", x], ["lin", [0], [2.0]], ["lin", [0], [3.0]], ["lin", [1, 2], [1.0, 1.0]]]
    expect_topological(_topo(student, graph, 3), graph, 3, "topological_sort(y) of a diamond")


@graded("4.2", points=1.5)
def test_topological_sort_shared_nodes(student, rng):
    """a node used twice by one operation (x * x) and by many: each node listed exactly once"""
    graph = [["leaf", randn(rng, 3)], ["prod", [0, 0]], ["lin", [0, 1, 0], [1.0, 2.0, 3.0]],
             ["prod", [2, 1]], ["lin", [3, 0, 2, 1], [1.0, 1.0, 1.0, 1.0]]]
    expect_topological(_topo(student, graph, 4), graph, 4, "topological_sort of a graph where x is used 5 times")


@graded("4.3", points=1.5)
def test_topological_sort_random_dag(student, rng):
    """a random 30-node DAG: the order lists each reachable node once, after all of its parents"""
    graph: list[Any] = [["leaf", randn(rng, 2)] for _ in range(5)]
    for i in range(5, 30):
        k = int(torch.randint(1, 4, (), generator=rng))
        parents = torch.randint(0, i, (k,), generator=rng).tolist()
        graph.append(["lin", parents, [1.0] * k])
    expect_topological(_topo(student, graph, 29), graph, 29, "topological_sort of a random 30-node DAG")


@graded("4.4", points=1)
def test_topological_sort_cycle(student, rng):
    """a graph with a cycle (made by assigning parents by hand) raises ValueError"""
    graph = [["leaf", randn(rng, 2)], ["lin", [0], [1.0]], ["lin", [1], [1.0]], ["lin", [2], [1.0]]]
    got = _topo(student, graph, 3, extra_parents=[[1, 3]], expect_error=True)
    if got["error"] is None:
        fail("topological_sort of a graph with a cycle (node 1 -> 2 -> 3 -> 1)", "returned normally",
             "track the nodes on the current DFS path (grey); meeting one again means a cycle: raise ValueError.")
    if not got["error"]["value_error"]:
        fail("topological_sort of a graph with a cycle", f"raised {got['error']['type']}: {got['error']['message']}",
             "raise ValueError for a cycle.")


@graded("4.5", points=1.5, size="scale")
def test_topological_sort_deep_chain(student, rng):
    """a chain 2,000 nodes deep (more than Python's recursion limit of 1000) is sorted without recursion"""
    graph = chain(2000, (2,), [1.0] * 2000, randn(rng, 2))
    expect_topological(_topo(student, graph, 2000), graph, 2000, "topological_sort of a chain 2,000 deep")


# =========================================================================== Task 5: backward

ORDER_HINT = ("process nodes in reverse topological order, so a node's vjp runs only after every path to it "
              "has contributed; add contributions, never overwrite.")


@graded("5.1", points=1.5)
def test_backward_diamond(student, rng):
    """backward through a diamond with non-unit local derivatives sums both paths"""
    graph = [["leaf", randn(rng, 3)], ["lin", [0], [coef(rng)]], ["lin", [0], [coef(rng)]],
             ["lin", [1, 2], [coef(rng), coef(rng)]]]
    expect_grads(student, graph, 3, randn(rng, 3), [0, 1, 2, 3], "backward(y, g) through a diamond", ORDER_HINT,
                 wired=True)


@graded("5.2", points=1)
@pytest.mark.parametrize("direct_first", [True, False], ids=["y=x+c", "y=c+x"])
def test_backward_unequal_paths(student, rng, direct_first):
    """the handout's skip graph (w -> x -> a -> b -> c, y = x + c): paths of length 1 and 4 both reach x"""
    graph = [["leaf", randn(rng, 2)], ["lin", [0], [coef(rng)]], ["lin", [1], [coef(rng)]],
             ["lin", [2], [coef(rng)]], ["lin", [3], [coef(rng)]],
             ["lin", [1, 4] if direct_first else [4, 1], [coef(rng), coef(rng)]]]
    expect_grads(student, graph, 5, randn(rng, 2), [0, 1, 2, 3, 4, 5],
                 "backward(y) on the skip graph of handout section 6", ORDER_HINT, wired=True)


@graded("5.3", points=1)
def test_backward_x_times_x(student, rng):
    """y = x * x (the same node twice as parent) gives x.grad = 2 * x * g"""
    graph = [["leaf", randn(rng, 4)], ["prod", [0, 0]]]
    expect_grads(student, graph, 1, randn(rng, 4), [0, 1], "backward(x * x, g)",
                 "both parents are x: add both contributions into x's gradient.", wired=True)


@graded("5.4", points=1.5)
def test_backward_grad_argument(student, rng):
    """grad defaults to 1 for a scalar root; a root with more entries and no grad raises ValueError"""
    graph = [["leaf", randn(rng)], ["lin", [0], [coef(rng)]]]
    expect_grads(student, graph, 1, None, [0, 1], "backward(y) for a 0-d y (default grad 1.0)",
                 "for a root with one entry, grad=None means 1.0, as an array of the root's shape.", wired=True)
    graph = [["leaf", randn(rng, 3)], ["lin", [0], [coef(rng)]]]
    got = student.probe("graph_backward", graph, 1, [None], [0], wired=True, expect_error=True,
                        uses=("backward", "topological_sort"))
    if got["error"] is None or not got["error"]["value_error"]:
        problem = "returned normally" if got["error"] is None else f"raised {got['error']['type']}"
        fail("backward(y) with a (3,) root and no grad", problem,
             "grad may be omitted only for a root with a single entry: raise ValueError otherwise.")


@graded("5.5", points=1)
def test_backward_second_call_replaces(student, rng):
    """a second backward call replaces the gradients of the first (no accumulation across calls)"""
    graph = [["leaf", randn(rng, 3)], ["lin", [0], [coef(rng)]], ["prod", [0, 1]]]
    seeds = [randn(rng, 3), randn(rng, 3)]
    got = student.probe("graph_backward", graph, 2, seeds, [0, 1, 2], wired=True, uses=("backward", "topological_sort"))
    expected = torch_grads(graph, 2, seeds[1], [0, 1, 2], wired=True)
    for i, mine, ref in zip([0, 1, 2], got["grads"][1], expected):
        expect_array(mine, ref, f"after backward(y, g1) then backward(y, g2): .grad of node {i}",
                     "start every call from zero: reset the gradients, do not add to those of earlier calls.")


@graded("5.6", points=2)
def test_backward_end_to_end(student, rng):
    """loss = mean(relu(x @ w + b) ** 2) built with your operations: gradients of x, w and b match PyTorch"""
    graph = [["leaf", randn(rng, 4, 3)], ["leaf", randn(rng, 3, 2)], ["leaf", randn(rng, 2)],
             ["matmul", 0, 1], ["add", 3, 2], ["relu", 4], ["power", 5, 2], ["mean", 6, None, False]]
    expect_grads(student, graph, 7, None, [0, 1, 2], "backward(mean(relu(x @ w + b) ** 2))",
                 "check each operation's vjp (tasks 2 and 3) and that b's gradient is unbroadcast to (2,).")
