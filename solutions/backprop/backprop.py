"""Assignment backprop: reverse-mode automatic differentiation in NumPy.

You build a tiny autograd engine, the machinery behind ``loss.backward()``. A ``Node`` holds a
value (a float64 NumPy array), the nodes it was computed from (its ``parents``) and a ``vjp``
function that turns the gradient arriving at the node into one gradient per parent. You write:

1. ``unbroadcast``       -- sum a gradient back down to the shape of a broadcast operand
2. elementwise ops       -- ``sub``, ``mul``, ``div``, ``power``, ``exp``, ``log``, ``tanh``, ``relu``
3. reductions and shapes -- ``sum``, ``mean``, ``reshape``, ``transpose``, ``matmul``
4. ``topological_sort``  -- order the graph so every node comes after its parents (iteratively)
5. ``backward``          -- run the vector-Jacobian products in reverse topological order

The ``Node`` class, the helpers ``_as_node`` and ``_broadcast_shape``, and the two operations
``add`` and ``neg`` are given complete: they are the worked examples for every other operation.

Read the handout (README.md) first: it explains the maths, pins the conventions and tolerances,
lists the banned libraries (only NumPy is allowed) and describes the performance tests.
Fill in every `# YOUR CODE HERE`. Submit this single file.

Note: this module defines a function called ``sum``, so inside this file the name ``sum``
means *that* function, not Python's built-in. Use ``np.sum``, ``math.fsum`` or a loop if you
need to add up numbers (the ``builtins`` module is off limits, like every other way of reaching
code dynamically).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# An upstream gradient goes in; one gradient per parent comes out.
VJP = Callable[[np.ndarray], Sequence[np.ndarray]]
Axis = int | tuple[int, ...] | None


class Node:
    """One value in a computation graph.

    Attributes:
        value: the node's value, a float64 ``np.ndarray`` (0-d for a scalar).
        parents: the nodes this value was computed from, a tuple (empty for a leaf).
        vjp: ``None`` for a leaf; otherwise a function that takes the upstream gradient (an
            array of this node's shape) and returns a tuple with one gradient per parent, in
            the order of ``parents``, each an array of that parent's shape.
        grad: ``None`` until ``backward`` sets it to the gradient of the output with respect
            to this node (an array of this node's shape).
        shape: the shape of ``value`` (read-only).

    The operators ``+ - * / @``, unary ``-`` and ``** c`` (with a constant number ``c``) call
    the functions of this module. A Python number or a NumPy array on either side of an
    operator is wrapped as a constant leaf, so ``2 * x``, ``x - 1`` and ``x + np.ones(3)``
    all work. Nodes compare and hash by identity, so they can be used in sets and as dict keys.
    """

    # NumPy must not treat a Node as an array: `np_array + node` then calls Node.__radd__.
    __array_ufunc__ = None

    def __init__(self, value: Any, parents: Sequence[Node] = (), vjp: VJP | None = None) -> None:
        try:
            self.value: np.ndarray = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"value must be convertible to a float64 array, got {type(value).__name__}") from err
        parents = tuple(parents)
        for parent in parents:
            if not isinstance(parent, Node):
                raise ValueError(f"parents must be Nodes, got a {type(parent).__name__}")
        if vjp is not None and not callable(vjp):
            raise ValueError(f"vjp must be callable or None, got {type(vjp).__name__}")
        self.parents: tuple[Node, ...] = parents
        self.vjp: VJP | None = vjp
        self.grad: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``value``."""
        return self.value.shape

    def __repr__(self) -> str:
        kind = "leaf" if not self.parents else f"{len(self.parents)} parent(s)"
        return f"Node(shape={self.shape}, {kind})"

    def __add__(self, other: Any) -> Node:
        return add(self, other)

    def __radd__(self, other: Any) -> Node:
        return add(other, self)

    def __sub__(self, other: Any) -> Node:
        return sub(self, other)

    def __rsub__(self, other: Any) -> Node:
        return sub(other, self)

    def __mul__(self, other: Any) -> Node:
        return mul(self, other)

    def __rmul__(self, other: Any) -> Node:
        return mul(other, self)

    def __truediv__(self, other: Any) -> Node:
        return div(self, other)

    def __rtruediv__(self, other: Any) -> Node:
        return div(other, self)

    def __matmul__(self, other: Any) -> Node:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Node:
        return matmul(other, self)

    def __neg__(self) -> Node:
        return neg(self)

    def __pow__(self, c: float) -> Node:
        if isinstance(c, Node):
            return NotImplemented  # only constant exponents are supported
        return power(self, c)


def _as_node(x: Any) -> Node:
    """``x`` itself if it is a Node, otherwise a new constant leaf holding ``x`` as float64."""
    return x if isinstance(x, Node) else Node(x)


def _broadcast_shape(a: Node, b: Node) -> tuple[int, ...]:
    """The shape NumPy broadcasting gives ``a.value`` and ``b.value``; ValueError if they do not broadcast."""
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"a and b must broadcast against each other, got shapes {a.shape} and {b.shape}") from None


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """The dimensions that ``axis`` (None for all, an int or a tuple of ints) names, as non-negative ints.

    Assumes ``axis`` is valid for an array with ``ndim`` dimensions (check that first).
    """
    if axis is None:
        return tuple(range(ndim))
    items = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(int(ax) % ndim for ax in items)


# Task 1: unbroadcast
def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the gradient of an operand that was broadcast.

    If an operand of shape ``shape`` was broadcast to ``grad.shape`` in the forward pass, each
    of its entries was used several times, so its gradient is the sum of the gradients of all
    the copies. ``shape`` is ``grad.shape`` with some leading dimensions removed and/or some
    dimensions replaced by 1 (NumPy's broadcasting rules), for example ``(4,)``, ``(3, 1)``,
    ``(1, 4)`` or ``()`` for a ``grad`` of shape ``(3, 4)``.

    Args:
        grad: a float64 array, the gradient with respect to the broadcast result.
        shape: the shape of the operand before broadcasting (``()`` for a scalar).

    Returns:
        A float64 ``np.ndarray`` of exactly ``shape`` (a 0-d array when ``shape`` is ``()``).
        When ``grad`` already has ``shape`` it may be returned as it is.

    Raises:
        ValueError: ``shape`` does not broadcast to ``grad.shape``.
    """
    ### BEGIN SOLUTION
    grad = np.asarray(grad, dtype=np.float64)
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0 or any(s != 1 and s != g for s, g in zip(shape, grad.shape[lead:])):
        raise ValueError(f"shape {shape} does not broadcast to the shape {grad.shape} of grad")
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    ones = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    return np.asarray(grad).reshape(shape)
    ### END SOLUTION


# Given (worked examples): add and neg, complete. Every other operation follows this pattern.
def add(a: Any, b: Any) -> Node:
    """``a + b`` with NumPy broadcasting.

    Args:
        a, b: Nodes, or numbers / arrays (wrapped as constant leaves).

    Returns:
        A new Node with value ``a.value + b.value``, parents ``(a, b)`` and its vjp.

    Raises:
        ValueError: the shapes of ``a`` and ``b`` do not broadcast.
    """
    a, b = _as_node(a), _as_node(b)
    _broadcast_shape(a, b)
    a_shape, b_shape = a.shape, b.shape

    def vjp(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # d(a + b)/da = d(a + b)/db = 1: each operand receives the upstream gradient,
        # summed down to its own shape if it was broadcast.
        return unbroadcast(g, a_shape), unbroadcast(g, b_shape)

    return Node(a.value + b.value, (a, b), vjp)


def neg(a: Any) -> Node:
    """``-a``.

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).

    Returns:
        A new Node with value ``-a.value``, parent ``(a,)`` and its vjp.
    """
    a = _as_node(a)

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        # d(-a)/da = -1, elementwise. Note the one-element tuple: one gradient per parent.
        return (np.asarray(-g),)

    return Node(-a.value, (a,), vjp)


# Task 2: elementwise
def sub(a: Any, b: Any) -> Node:
    """``a - b`` with NumPy broadcasting.

    Args:
        a, b: Nodes, or numbers / arrays (wrapped as constant leaves).

    Returns:
        A new Node with value ``a.value - b.value``, parents ``(a, b)`` and its vjp.

    Raises:
        ValueError: the shapes of ``a`` and ``b`` do not broadcast.
    """
    ### BEGIN SOLUTION
    a, b = _as_node(a), _as_node(b)
    _broadcast_shape(a, b)
    a_shape, b_shape = a.shape, b.shape

    def vjp(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return unbroadcast(g, a_shape), unbroadcast(-g, b_shape)

    return Node(a.value - b.value, (a, b), vjp)
    ### END SOLUTION


def mul(a: Any, b: Any) -> Node:
    """``a * b`` (elementwise) with NumPy broadcasting.

    Args:
        a, b: Nodes, or numbers / arrays (wrapped as constant leaves). ``a`` and ``b`` may be
            the same Node (``x * x``).

    Returns:
        A new Node with value ``a.value * b.value``, parents ``(a, b)`` and its vjp.

    Raises:
        ValueError: the shapes of ``a`` and ``b`` do not broadcast.
    """
    ### BEGIN SOLUTION
    a, b = _as_node(a), _as_node(b)
    _broadcast_shape(a, b)
    av, bv = a.value, b.value

    def vjp(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return unbroadcast(g * bv, av.shape), unbroadcast(g * av, bv.shape)

    return Node(av * bv, (a, b), vjp)
    ### END SOLUTION


def div(a: Any, b: Any) -> Node:
    """``a / b`` (elementwise) with NumPy broadcasting.

    Division by zero follows IEEE arithmetic (``inf`` or ``nan``), as in NumPy and PyTorch.

    Args:
        a, b: Nodes, or numbers / arrays (wrapped as constant leaves).

    Returns:
        A new Node with value ``a.value / b.value``, parents ``(a, b)`` and its vjp.

    Raises:
        ValueError: the shapes of ``a`` and ``b`` do not broadcast.
    """
    ### BEGIN SOLUTION
    a, b = _as_node(a), _as_node(b)
    _broadcast_shape(a, b)
    av, bv = a.value, b.value

    def vjp(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return unbroadcast(g / bv, av.shape), unbroadcast(-g * av / (bv * bv), bv.shape)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = av / bv
    return Node(out, (a, b), vjp)
    ### END SOLUTION


def power(a: Any, c: float) -> Node:
    """``a ** c`` (elementwise) for a constant exponent ``c``.

    Only ``a`` is differentiated; ``c`` is a plain number, not part of the graph. Where the
    result is not a real number (a negative base with a fractional exponent) the value is
    ``nan``, as in NumPy and PyTorch. For ``c == 0`` the gradient is 0 everywhere.

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).
        c: the exponent, a real number (int or float), not a Node.

    Returns:
        A new Node with value ``a.value ** c``, parent ``(a,)`` and its vjp.

    Raises:
        ValueError: ``c`` is a Node or not a real number.
    """
    ### BEGIN SOLUTION
    a = _as_node(a)
    if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, float, np.integer, np.floating)):
        raise ValueError(f"c must be a constant real number, got {type(c).__name__}")
    c = float(c)
    av = a.value

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        if c == 0.0:
            return (np.zeros(av.shape),)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (np.asarray(g * (c * av ** (c - 1.0))),)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = av**c
    return Node(out, (a,), vjp)
    ### END SOLUTION


def exp(a: Any) -> Node:
    """``exp(a)`` (elementwise); overflows to ``inf`` like ``np.exp``.

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).

    Returns:
        A new Node with value ``np.exp(a.value)``, parent ``(a,)`` and its vjp.
    """
    ### BEGIN SOLUTION
    a = _as_node(a)
    with np.errstate(over="ignore"):
        out = np.exp(a.value)

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(invalid="ignore", over="ignore"):
            return (np.asarray(g * out),)

    return Node(out, (a,), vjp)
    ### END SOLUTION


def log(a: Any) -> Node:
    """Natural logarithm ``log(a)`` (elementwise).

    ``log(0) = -inf`` and the log of a negative number is ``nan``, as in NumPy and PyTorch
    (no warning, no exception).

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).

    Returns:
        A new Node with value ``np.log(a.value)``, parent ``(a,)`` and its vjp.
    """
    ### BEGIN SOLUTION
    a = _as_node(a)
    av = a.value

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (np.asarray(g / av),)

    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(av)
    return Node(out, (a,), vjp)
    ### END SOLUTION


def tanh(a: Any) -> Node:
    """Hyperbolic tangent ``tanh(a)`` (elementwise).

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).

    Returns:
        A new Node with value ``np.tanh(a.value)``, parent ``(a,)`` and its vjp.
    """
    ### BEGIN SOLUTION
    a = _as_node(a)
    out = np.tanh(a.value)

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        return (np.asarray(g * (1.0 - out * out)),)

    return Node(out, (a,), vjp)
    ### END SOLUTION


def relu(a: Any) -> Node:
    """Rectified linear unit ``max(a, 0)`` (elementwise).

    At exactly ``a == 0`` the gradient is 0 (PyTorch's convention).

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).

    Returns:
        A new Node with value ``np.maximum(a.value, 0)``, parent ``(a,)`` and its vjp.
    """
    ### BEGIN SOLUTION
    a = _as_node(a)
    av = a.value

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        return (np.asarray(np.where(av > 0.0, g, 0.0)),)

    return Node(np.maximum(av, 0.0), (a,), vjp)
    ### END SOLUTION


# Task 3: reductions
def sum(a: Any, axis: Axis = None, keepdims: bool = False) -> Node:  # noqa: A001 (shadows the built-in on purpose)
    """Sum of the entries of ``a`` over ``axis``, like ``np.sum(a.value, axis, keepdims=keepdims)``.

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).
        axis: ``None`` (sum over all entries), an int or a tuple of ints; negative values
            count from the end.
        keepdims: keep the summed dimensions as dimensions of size 1.

    Returns:
        A new Node with the sum (a 0-d value for ``axis=None, keepdims=False``), parent
        ``(a,)`` and its vjp.

    Raises:
        ValueError: ``axis`` is out of range for ``a`` or repeats a dimension.
    """
    ### BEGIN SOLUTION
    a = _as_node(a)
    a_shape = a.shape
    out = np.sum(a.value, axis=axis, keepdims=keepdims)  # AxisError is a ValueError naming the axis
    axes = _axes(axis, a.value.ndim)
    kept = tuple(1 if i in axes else n for i, n in enumerate(a_shape))  # the sum with keepdims=True

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        return (np.broadcast_to(np.reshape(g, kept), a_shape),)

    return Node(out, (a,), vjp)
    ### END SOLUTION


def mean(a: Any, axis: Axis = None, keepdims: bool = False) -> Node:
    """Mean of the entries of ``a`` over ``axis``, like ``np.mean(a.value, axis, keepdims=keepdims)``.

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).
        axis: ``None`` (mean of all entries), an int or a tuple of ints; negative values count
            from the end.
        keepdims: keep the averaged dimensions as dimensions of size 1.

    Returns:
        A new Node with the mean, parent ``(a,)`` and its vjp.

    Raises:
        ValueError: ``axis`` is out of range for ``a`` or repeats a dimension.
    """
    ### BEGIN SOLUTION
    a = _as_node(a)
    a_shape = a.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.mean(a.value, axis=axis, keepdims=keepdims)
    axes = _axes(axis, a.value.ndim)
    count = 1
    for i in axes:
        count *= a_shape[i]
    kept = tuple(1 if i in axes else n for i, n in enumerate(a_shape))  # the sum with keepdims=True

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.broadcast_to(np.reshape(g, kept) / count, a_shape),)

    return Node(out, (a,), vjp)
    ### END SOLUTION


def reshape(a: Any, shape: int | tuple[int, ...]) -> Node:
    """``a`` with a new shape, like ``a.value.reshape(shape)`` (one entry may be -1).

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).
        shape: the new shape, an int or a tuple of ints with the same total size.

    Returns:
        A new Node with the reshaped value, parent ``(a,)`` and its vjp.

    Raises:
        ValueError: ``shape`` does not fit the size of ``a``.
    """
    ### BEGIN SOLUTION
    a = _as_node(a)
    a_shape = a.shape
    try:
        out = a.value.reshape(shape)
    except (TypeError, ValueError) as err:
        raise ValueError(f"shape {shape!r} does not fit a of shape {a_shape}: {err}") from None

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        return (np.reshape(g, a_shape),)

    return Node(out, (a,), vjp)
    ### END SOLUTION


def transpose(a: Any, axes: Sequence[int] | None = None) -> Node:
    """``a`` with its dimensions permuted, like ``np.transpose(a.value, axes)``.

    Args:
        a: a Node, or a number / array (wrapped as a constant leaf).
        axes: ``None`` to reverse the order of the dimensions, or a permutation of
            ``range(a.ndim)``; negative values count from the end. Output dimension ``i`` is
            input dimension ``axes[i]``.

    Returns:
        A new Node with the transposed value, parent ``(a,)`` and its vjp.

    Raises:
        ValueError: ``axes`` is not a permutation of the dimensions of ``a``.
    """
    ### BEGIN SOLUTION
    a = _as_node(a)
    try:
        out = np.transpose(a.value, axes)
    except (TypeError, ValueError) as err:
        raise ValueError(f"axes must be None or a permutation of the {a.value.ndim} dimensions of a, "
                         f"got {axes!r}: {err}") from None
    ndim = a.value.ndim
    perm = tuple(reversed(range(ndim))) if axes is None else tuple(int(ax) % ndim for ax in axes)
    inverse = tuple(int(i) for i in np.argsort(perm))

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        return (np.transpose(g, inverse),)

    return Node(out, (a,), vjp)
    ### END SOLUTION


def matmul(a: Any, b: Any) -> Node:
    """Matrix product ``a @ b`` of two 2-D operands: (m, k) @ (k, n) -> (m, n).

    Args:
        a: a Node (or array) of shape (m, k).
        b: a Node (or array) of shape (k, n).

    Returns:
        A new Node with value ``a.value @ b.value``, parents ``(a, b)`` and its vjp.

    Raises:
        ValueError: ``a`` or ``b`` is not 2-D, or their inner dimensions differ.
    """
    ### BEGIN SOLUTION
    a, b = _as_node(a), _as_node(b)
    if a.value.ndim != 2:
        raise ValueError(f"a must be 2-D, got shape {a.shape}")
    if b.value.ndim != 2:
        raise ValueError(f"b must be 2-D, got shape {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"inner dimensions of a {a.shape} and b {b.shape} differ")
    av, bv = a.value, b.value

    def vjp(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return g @ bv.T, av.T @ g

    return Node(av @ bv, (a, b), vjp)
    ### END SOLUTION


# Task 4: topological_sort
def topological_sort(root: Node) -> list[Node]:
    """All nodes reachable from ``root`` through ``parents``, each after all of its parents.

    Every reachable node (``root`` included, leaves included) appears exactly once, even if
    it is reached along many paths (``x * x``, diamonds, skip connections). Any valid order
    is accepted. ``root`` is therefore always last.

    The traversal must be iterative (an explicit stack, no recursion): a graph 100,000 nodes
    deep must work under Python's default recursion limit. It must take O(V + E) time for V
    nodes and E parent links.

    Args:
        root: the output node.

    Returns:
        A new list of Nodes in topological order (parents first).

    Raises:
        ValueError: ``root`` is not a Node, or the graph contains a cycle (a node that is,
            through ``parents``, its own ancestor).
    """
    ### BEGIN SOLUTION
    if not isinstance(root, Node):
        raise ValueError(f"root must be a Node, got {type(root).__name__}")
    grey, black = 1, 2
    state: dict[int, int] = {id(root): grey}  # id(node) -> colour; absent = white (unvisited)
    order: list[Node] = []
    # The DFS stack as two parallel lists: a node, and how many of its parents were looked at.
    # (Plain ints, not tuples or iterators: fewer objects for the garbage collector to scan.)
    nodes: list[Node] = [root]
    next_parent: list[int] = [0]
    while nodes:
        node = nodes[-1]
        parents = node.parents
        i = next_parent[-1]
        while i < len(parents):
            parent = parents[i]
            i += 1
            seen = state.get(id(parent))
            if seen is None:  # white: descend into it, come back to parent i of node later
                next_parent[-1] = i
                state[id(parent)] = grey
                nodes.append(parent)
                next_parent.append(0)
                break
            if seen == grey:  # on the current DFS path: following it leads back to node
                raise ValueError("the graph contains a cycle: a node is its own ancestor through parents")
        else:  # every parent is finished (black), so node can be emitted
            nodes.pop()
            next_parent.pop()
            state[id(node)] = black
            order.append(node)
    return order
    ### END SOLUTION


# Task 5: backward
def backward(root: Node, grad: Any = None) -> None:
    """Set ``.grad`` of every node of ``root``'s graph to d sum(root.value * grad) / d node.

    Gradients of all paths from a node to ``root`` are summed. Every node of the graph gets a
    ``.grad`` of its own shape, leaves and ``root`` included (``root.grad`` is ``grad``); a
    node that receives no gradient gets zeros. Each node's ``vjp`` is called at most once per
    call. A second call replaces the gradients of the first (no accumulation across calls).

    Args:
        root: the output node.
        grad: the upstream gradient, an array of ``root``'s shape. For a root with a single
            entry, any number or array with a single entry is accepted (and reshaped to the
            root's shape), and ``None`` means 1.0.

    Raises:
        ValueError: ``root`` is not a Node; ``grad`` is missing for a root with more than one
            entry, or does not have ``root``'s shape; the graph contains a cycle; or a vjp
            returns the wrong number of gradients or a gradient of the wrong shape.
    """
    ### BEGIN SOLUTION
    if not isinstance(root, Node):
        raise ValueError(f"root must be a Node, got {type(root).__name__}")
    if grad is None:
        if root.value.size != 1:
            raise ValueError(f"grad must be given for a root of shape {root.shape} (more than one entry)")
        seed = np.ones(root.shape)
    else:
        try:
            seed = np.asarray(grad, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"grad must be a number or an array, got {type(grad).__name__}") from None
        if root.value.size == 1 and seed.size == 1:
            seed = seed.reshape(root.shape)
        elif seed.shape != root.shape:
            raise ValueError(f"grad must have the root's shape {root.shape}, got shape {seed.shape}")

    order = topological_sort(root)
    for node in order:
        node.grad = None
    grads: dict[int, np.ndarray] = {id(root): seed}
    for node in reversed(order):  # every node comes before its parents: its gradient is complete
        g = grads.pop(id(node), None)
        if g is None:
            g = np.zeros(node.shape)
        node.grad = np.array(g, dtype=np.float64)  # a private copy: results never alias each other
        parents = node.parents
        if node.vjp is None or not parents:
            continue
        parent_grads = node.vjp(g)
        if len(parent_grads) != len(parents):
            raise ValueError(f"the vjp of {node!r} returned {len(parent_grads)} gradient(s) "
                             f"for {len(parents)} parent(s)")
        for parent, pg in zip(parents, parent_grads):
            pg = np.asarray(pg, dtype=np.float64)
            if pg.shape != parent.value.shape:
                raise ValueError(f"the vjp of {node!r} returned a gradient of shape {pg.shape} "
                                 f"for a parent of shape {parent.shape}")
            key = id(parent)
            acc = grads.get(key)
            grads[key] = pg if acc is None else acc + pg
    ### END SOLUTION
