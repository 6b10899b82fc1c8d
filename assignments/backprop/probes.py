"""Trusted code that runs beside the student's module in the worker (backprop).

Nodes cannot cross the wire, so the tests send a plain-data description of a graph and these
probes build it with the student's ``Node`` class and operations, run the student's
``topological_sort`` / ``backward`` / ``vjp`` functions, and return plain data: arrays, the
order as indices into the description, counts of vjp calls. NumPy only (the worker never
imports torch for this assignment); the YARDSTICKS import torch lazily, and only the trusted
process ever calls them. Probes reveal inputs, never answers.

Graph descriptions (lists; index ``i`` refers to entry ``i``, which must come earlier):

- op graphs, built with the student's operations (``build``)::

      ["leaf", array]                    a leaf Node(array)
      ["add" | "sub" | "mul" | "div" | "matmul", i, j]     module.add(n_i, n_j), ...
      ["neg" | "exp" | "log" | "tanh" | "relu", i]         module.exp(n_i), ...
      ["power", i, c]                    module.power(n_i, c)
      ["sum" | "mean", i, axis, keepdims] (axis None, an int or a list of ints)
      ["reshape", i, shape]  ["transpose", i, axes]
      ["operator", symbol, i, j]         n_i + n_j etc. (symbol one of + - * / @)
      ["constant", symbol, i, c, side]   n_i + c (side "right") or c + n_i (side "left"), c a number or array
      ["negate", i]  ["pow", i, c]        -n_i and n_i ** c
      ["raw", op, i, *args]              module.<op>(value of n_i, *args): the operand given as a plain
                                         array (a Python float when 0-d), not as a Node

- wired graphs, built directly with ``module.Node`` and vjps defined here (``wire``), so that
  ``topological_sort`` and ``backward`` are tested apart from the student's operations::

      ["leaf", array]
      ["lin", [i, j, ...], [c_i, c_j, ...]]   value sum_k c_k * n_k, vjp g -> (c_i * g, c_j * g, ...)
      ["prod", [i, j]]                        value n_i * n_j, vjp g -> (g * n_j, g * n_i)
      ["bad", [i, j], "count" | "extra" | "shape" | "narrow"]
                                              value n_i + n_j, a broken vjp: one or three gradients
                                              for two parents, or a gradient of the wrong shape for
                                              n_j (summed over axis 0, or only its first column)
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "@": operator.matmul}
_BINARY = ("add", "sub", "mul", "div", "matmul")
_UNARY = ("neg", "exp", "log", "tanh", "relu")


# --------------------------------------------------------------------------- building graphs

def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _apply(module: Any, nodes: list[Any], entry: list[Any]) -> Any:
    """The Node for one entry of an op graph, made by the student's code."""
    op = entry[0]
    if op == "leaf":
        return module.Node(entry[1])
    if op in _BINARY:
        return getattr(module, op)(nodes[entry[1]], nodes[entry[2]])
    if op in _UNARY:
        return getattr(module, op)(nodes[entry[1]])
    if op == "power":
        return module.power(nodes[entry[1]], entry[2])
    if op in ("sum", "mean"):
        return getattr(module, op)(nodes[entry[1]], axis=_axis(entry[2]), keepdims=entry[3])
    if op == "reshape":
        return module.reshape(nodes[entry[1]], entry[2] if isinstance(entry[2], int) else tuple(entry[2]))
    if op == "transpose":
        return module.transpose(nodes[entry[1]], None if entry[2] is None else tuple(entry[2]))
    return _apply_sugar(module, nodes, entry)


def _apply_sugar(module: Any, nodes: list[Any], entry: list[Any]) -> Any:
    """The Node for an entry that uses the operators, or a plain operand instead of a Node."""
    op = entry[0]
    if op == "operator":
        return _OPERATORS[entry[1]](nodes[entry[2]], nodes[entry[3]])
    if op == "constant":
        symbol, i, c, side = entry[1:]
        return _OPERATORS[symbol](nodes[i], c) if side == "right" else _OPERATORS[symbol](c, nodes[i])
    if op == "negate":
        return -nodes[entry[1]]
    if op == "pow":
        return nodes[entry[1]] ** entry[2]
    if op == "raw":
        value = np.array(nodes[entry[2]].value, dtype=np.float64)
        return getattr(module, entry[1])(value.item() if value.ndim == 0 else value, *entry[3:])
    raise LookupError(f"grader bug: unknown graph entry {op!r}")


def build(module: Any, graph: list[Any]) -> list[Any]:
    """The Nodes of an op graph, in description order."""
    nodes: list[Any] = []
    for entry in graph:
        nodes.append(_apply(module, nodes, entry))
    return nodes


def _lin_vjp(coefs: tuple[float, ...]) -> Any:
    return lambda g: tuple(c * g for c in coefs)


def _prod_vjp(a: np.ndarray, b: np.ndarray) -> Any:
    return lambda g: (g * b, g * a)


def wire(module: Any, graph: list[Any]) -> list[Any]:
    """The Nodes of a wired graph: the student's Node class with the vjps above."""
    nodes: list[Any] = []
    for entry in graph:
        kind = entry[0]
        if kind == "leaf":
            nodes.append(module.Node(entry[1]))
            continue
        parents = tuple(nodes[i] for i in entry[1])
        values = [np.asarray(p.value, dtype=np.float64) for p in parents]
        if kind == "lin":
            coefs = tuple(float(c) for c in entry[2])
            value = np.sum([c * v for c, v in zip(coefs, values)], axis=0)
            nodes.append(module.Node(value, parents, _lin_vjp(coefs)))
        elif kind == "prod":
            nodes.append(module.Node(values[0] * values[1], parents, _prod_vjp(values[0], values[1])))
        elif kind == "bad":  # a vjp that breaks the contract: backward must raise ValueError
            vjp = {"count": lambda g: (g,), "extra": lambda g: (g, g, g),
                   "shape": lambda g: (g, np.sum(g, axis=0)), "narrow": lambda g: (g, g[:, :1])}[entry[2]]
            nodes.append(module.Node(values[0] + values[1], parents, vjp))
        elif kind == "stop":  # a hand-made node with parents and no vjp: no gradient flows through it
            coefs = tuple(float(c) for c in entry[2])
            nodes.append(module.Node(np.sum([c * v for c, v in zip(coefs, values)], axis=0), parents, None))
        else:
            raise LookupError(f"grader bug: unknown wired entry {kind!r}")
    return nodes


def _link(nodes: list[Any], links: list[Any] | None) -> None:
    """After building, append node j to node i's parents for each [i, j], or make it parent k for [i, j, k].

    The tests make cycles this way (replacing keeps the number of parents the vjp expects).
    """
    for link in links or []:
        i, j = link[0], link[1]
        parents = list(nodes[i].parents)
        if len(link) == 3:
            parents[link[2]] = nodes[j]
        else:
            parents.append(nodes[j])
        nodes[i].parents = tuple(parents)


def _index_of(nodes: list[Any]) -> dict[int, int]:
    return {id(node): i for i, node in enumerate(nodes)}


def _error(exc: BaseException) -> dict[str, Any]:
    """A student exception as plain data (for tests that expect one)."""
    return {"type": type(exc).__name__, "value_error": isinstance(exc, ValueError), "message": str(exc)[:500]}


def _plain(x: Any) -> Any:
    """An array result as it crosses the wire: a private copy of an ndarray, else the value as it is."""
    if type(x) is np.ndarray:
        return x.copy()
    if isinstance(x, np.generic):
        return x  # crosses as a NumPy scalar: the trusted side reports it as not an array
    return x


class _Counter:
    """Wraps a vjp and counts its calls."""

    def __init__(self, vjp: Any) -> None:
        self.vjp = vjp
        self.calls = 0

    def __call__(self, g: Any) -> Any:
        self.calls += 1
        return self.vjp(g)


def _count_vjps(nodes: list[Any]) -> list[_Counter | None]:
    counters: list[_Counter | None] = []
    for node in nodes:
        counter = _Counter(node.vjp) if node.vjp is not None else None
        if counter is not None:
            node.vjp = counter
        counters.append(counter)
    return counters


# --------------------------------------------------------------------------- probes

def op_vjp(module: Any, graph: list[Any], upstream: Any) -> dict[str, Any]:
    """Build an op graph, call the last node's vjp once with ``upstream``; return what came out.

    Also reports whether the operands' values and ``upstream`` were left unchanged.
    """
    nodes = build(module, graph[:-1])
    before = [np.array(n.value, copy=True) for n in nodes]
    up_before = np.array(upstream, copy=True)
    out = _apply(module, nodes, graph[-1])
    if not isinstance(out, module.Node):
        return {"is_node": False, "type": type(out).__name__}
    index = _index_of(nodes)
    parents = [index.get(id(p), -1) for p in out.parents]
    grads: Any = None
    grads_type = None
    if out.vjp is not None:
        raw = out.vjp(upstream)
        grads_type = type(raw).__name__
        if isinstance(raw, (tuple, list)):
            grads = [np.asarray(g) if isinstance(g, np.generic) else _plain(g) for g in raw]
    unchanged = all(np.array_equal(b, n.value, equal_nan=True) for b, n in zip(before, nodes))
    return {
        "is_node": True, "value": _plain(out.value), "parents": parents, "grads_type": grads_type, "grads": grads,
        "inputs_unchanged": unchanged, "upstream_unchanged": bool(np.array_equal(up_before, upstream, equal_nan=True)),
    }


def graph_backward(module: Any, graph: list[Any], root: int, seeds: list[Any], want: list[int],
                   wired: bool = False, extra_parents: list[Any] | None = None,
                   expect_error: bool = False) -> dict[str, Any]:
    """Build a graph, run ``backward(root, seed)`` once per seed (None: no grad argument).

    Returns the values of the ``want`` nodes, their ``.grad`` after each call, the number of
    times each node's vjp ran over all calls, whether each want node's grad shares memory
    with another's or with the seed, and whether the seeds were left unchanged.
    """
    nodes = wire(module, graph) if wired else build(module, graph)
    _link(nodes, extra_parents)
    counters = _count_vjps(nodes)
    seed_copies = [None if s is None else np.array(s, copy=True) for s in seeds]
    grads: list[list[Any]] = []
    shared = False
    for seed in seeds:
        try:
            if seed is None:
                module.backward(nodes[root])
            else:
                module.backward(nodes[root], seed)
        except Exception as exc:  # the test asked for the student's error
            if not expect_error:
                raise
            return {"error": _error(exc)}
        got = [nodes[i].grad for i in want]
        arrays = [g for g in got if type(g) is np.ndarray] + [seed] * (type(seed) is np.ndarray)
        shared = shared or any(np.shares_memory(a, b) for k, a in enumerate(arrays) for b in arrays[k + 1:])
        grads.append([_plain(g) for g in got])
    if expect_error:
        return {"error": None}
    return {
        "values": [_plain(nodes[i].value) for i in want],
        "grads": grads,
        "vjp_calls": [c.calls if c is not None else 0 for c in counters],
        "shared": shared,
        "seeds_unchanged": all(c is None or np.array_equal(c, s) for c, s in zip(seed_copies, seeds)),
    }


def topo_order(module: Any, graph: list[Any], root: int, extra_parents: list[Any] | None = None,
               expect_error: bool = False) -> dict[str, Any]:
    """``topological_sort`` of a wired graph, as indices into the description (-1: unknown object).

    ``extra_parents``: links added after building (see ``_link``).
    """
    nodes = wire(module, graph)
    _link(nodes, extra_parents)
    try:
        order = module.topological_sort(nodes[root])
    except Exception as exc:  # the test asked for the student's error
        if not expect_error:
            raise
        return {"error": _error(exc)}
    if expect_error:
        return {"error": None}
    index = _index_of(nodes)
    kind = type(order).__name__
    return {"type": kind, "order": [index.get(id(n), -1) for n in order]}


def _skip_chain(module: Any, x: np.ndarray, a: np.ndarray, b: np.ndarray, skip: np.ndarray) -> Any:
    """A chain x_i = a_i * x_(i-1) + b_i * x_skip[i] built with the student's Node, sorted, differentiated."""
    node_cls = module.Node
    nodes = [node_cls(x)]
    al, bl, sl = a.tolist(), b.tolist(), skip.tolist()
    for i in range(1, len(al)):
        p, q = nodes[i - 1], nodes[sl[i]]
        nodes.append(node_cls(al[i] * p.value + bl[i] * q.value, (p, q), _lin_vjp((al[i], bl[i]))))
    root = nodes[-1]
    module.topological_sort(root)
    module.backward(root, np.ones_like(root.value))
    return nodes[0].grad


def skip_chain(module: Any, x: np.ndarray, a: np.ndarray, b: np.ndarray, skip: np.ndarray) -> Any:
    """The gradient of the chain's last node (upstream ones) with respect to the leaf ``x``.

    Node i (i >= 1) has parents (node i-1, node skip[i]) with skip[i] < i: a graph as deep as
    it is long, with skip connections of every length.
    """
    return _plain(_skip_chain(module, x, a, b, skip))


def chain_arrays(n: int, seed: int, width: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random inputs of ``skip_chain`` with ``n`` nodes (coefficients keep the values bounded)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(width)
    a = rng.uniform(0.3, 0.6, n)
    b = rng.uniform(-0.4, 0.4, n)
    skip = np.zeros(n, dtype=np.int64)
    if n > 1:
        skip[1:] = rng.integers(0, np.arange(1, n))
    return x, a, b, skip


def scaling_chain(module: Any, n: int, seed: int) -> Any:
    """``skip_chain`` on ``n`` nodes drawn from ``seed``: the scaling test's probe (probe(module, n, seed))."""
    return _plain(_skip_chain(module, *chain_arrays(n, seed)))


# --------------------------------------------------------------------------- yardsticks

def _torch_skip_chain(x: np.ndarray, a: np.ndarray, b: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """PyTorch's autograd on the same chain (forward and backward), float64, as a NumPy array."""
    import torch

    with torch.enable_grad():
        x0 = torch.from_numpy(np.array(x, dtype=np.float64)).requires_grad_(True)
        nodes = [x0]
        al, bl, sl = a.tolist(), b.tolist(), skip.tolist()
        for i in range(1, len(al)):
            nodes.append(al[i] * nodes[i - 1] + bl[i] * nodes[sl[i]])
        (grad,) = torch.autograd.grad(nodes[-1], x0, torch.ones_like(x0))
    return grad.numpy()


YARDSTICKS = {"skip_chain": _torch_skip_chain}
