# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # `backprop`: a reverse-mode autodiff engine — companion notebook
#
# This notebook puts your `backprop.py` to work: it checks every operation's gradient against
# finite differences with a reusable `gradient_check`, draws a computation graph in the order your
# `topological_sort` returns, trains a small neural network with nothing but your `Node`
# operations, and times `backward` on graphs up to 100,000 nodes deep.
#
# - Run the cells from the top. A cell that needs a task you have not written yet stops with
#   that task's `NotImplementedError`: write the task in `backprop.py`, then rerun the cell.
#   Your edits show up without restarting the kernel (autoreload).
# - Each task starts with a self-check: `check("<task>")` runs that task's public tests (the same
#   as `pytest -m <task>` in a terminal) and prints each test's points and, for a failing test,
#   its hint.
# - Only `backprop.py` is submitted. This notebook is for you and is not graded.

# %%
# %load_ext autoreload
# %autoreload 2
# %matplotlib inline

import time
from collections.abc import Callable

import backprop as bp
import matplotlib.pyplot as plt
import numpy as np
from selfcheck import check

rng = np.random.default_rng(0)

# %% [markdown]
# ## Task 1: `unbroadcast`
#
# When an operand of shape `(4,)` is broadcast against one of shape `(3, 4)`, each of its entries
# is used three times, so its gradient is the sum of the three copies' gradients (handout
# section 4). `unbroadcast` sums a gradient back down to the operand's shape.

# %%
check("unbroadcast")

# %%
upstream = np.arange(12.0).reshape(3, 4)
for shape in [(3, 4), (4,), (1, 4), (3, 1), ()]:
    print(f"to shape {shape!s:7}: {bp.unbroadcast(upstream, shape).tolist()}")

# %% [markdown]
# ## A reusable gradient check
#
# `gradient_check(f, *inputs)` compares the gradients your engine gives for
# $L = \sum f(x_1, \dots, x_k) \odot G$ (with a random $G$) against central finite differences
# $\partial L / \partial x \approx (L(x + h) - L(x - h)) / 2h$, entry by entry. `f` takes Nodes and
# returns a Node: one of your operations or any composition of them. For a single operation on
# leaves it calls that node's `vjp` directly, so it works before `backward` does (tasks 2 and 3);
# for a composition it runs your `backward` (task 5). It returns the largest relative error over
# all inputs: around 1e-9 or less for a correct vjp in float64.

# %%
def gradient_check(f: Callable[..., bp.Node], *inputs: np.ndarray, h: float = 1e-6, seed: int = 0) -> float:
    """Largest relative error between your engine's gradients of sum(f(*inputs) * G) and central differences."""
    inputs = tuple(np.asarray(x, dtype=np.float64) for x in inputs)
    leaves = [bp.Node(x) for x in inputs]
    out = f(*leaves)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    analytic = [np.zeros_like(x) for x in inputs]
    if all(not parent.parents for parent in out.parents):  # one operation on leaves: its vjp
        for parent, grad in zip(out.parents, out.vjp(weights)):
            for i, leaf in enumerate(leaves):
                if parent is leaf:
                    analytic[i] += grad
    else:  # a composition: your backward
        bp.backward(out, weights)
        analytic = [leaf.grad if leaf.grad is not None else np.zeros_like(leaf.value) for leaf in leaves]

    def loss(values: list[np.ndarray]) -> float:
        return float(np.sum(f(*[bp.Node(v) for v in values]).value * weights))

    worst = 0.0
    for i, x in enumerate(inputs):
        numeric = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            up, down = [v.copy() for v in inputs], [v.copy() for v in inputs]
            up[i][j] += h
            down[i][j] -= h
            numeric[j] = (loss(up) - loss(down)) / (2 * h)
        scale = max(np.max(np.abs(numeric), initial=0.0), np.max(np.abs(analytic[i]), initial=0.0), 1e-12)
        worst = max(worst, float(np.max(np.abs(analytic[i] - numeric), initial=0.0)) / scale)
    return worst


# %% [markdown]
# ## Task 2: elementwise operations
#
# Each operation returns a new `Node` with its parents and a `vjp` (handout section 5). The checks
# below use broadcast shapes, so they also exercise your `unbroadcast`; inputs of `log`, of the
# divisor and of `power` are kept positive, and `relu`'s inputs away from its kink at 0.

# %%
check("elementwise")

# %%
a = rng.standard_normal((3, 4))
row = rng.standard_normal(4)
positive = rng.uniform(0.5, 2.0, (3, 4))
away_from_0 = rng.choice([-1.0, 1.0], (3, 4)) * rng.uniform(0.1, 1.0, (3, 4))
errors = {
    "sub": gradient_check(bp.sub, a, row),
    "mul": gradient_check(bp.mul, a, row),
    "div": gradient_check(bp.div, row, positive),
    "power": gradient_check(lambda x: bp.power(x, 2.5), positive),
    "exp": gradient_check(bp.exp, a),
    "log": gradient_check(bp.log, positive),
    "tanh": gradient_check(bp.tanh, a),
    "relu": gradient_check(bp.relu, away_from_0),
}
for op, error in errors.items():
    print(f"{op:>9}: largest relative error {error:.1e}")

# %% [markdown]
# ## Task 3: reductions, shapes and `matmul`
#
# Reductions spread the upstream gradient back over the entries they reduced; `reshape` and
# `transpose` undo themselves; `matmul`'s vjp is two matrix products (handout section 6).

# %%
check("reductions")

# %%
errors.update({
    "sum": gradient_check(lambda x: bp.sum(x, axis=1, keepdims=True), a),
    "mean": gradient_check(lambda x: bp.mean(x, axis=0), a),
    "reshape": gradient_check(lambda x: bp.reshape(x, (2, 6)), a),
    "transpose": gradient_check(bp.transpose, a),
    "matmul": gradient_check(bp.matmul, a, rng.standard_normal((4, 2))),
})
for op in ("sum", "mean", "reshape", "transpose", "matmul"):
    print(f"{op:>9}: largest relative error {errors[op]:.1e}")

fig, ax = plt.subplots(figsize=(8, 4))
ax.bar(list(errors), [max(e, 1e-16) for e in errors.values()], color="tab:blue", label="your vjp")
ax.axhline(1e-6, color="tab:red", ls="--", label="1e-6: above this, suspect a bug")
ax.set_yscale("log")
ax.set_ylim(1e-13, 1e-3)
ax.tick_params(axis="x", labelrotation=30)
ax.set_xlabel("operation")
ax.set_ylabel("largest relative error vs finite differences")
ax.set_title("Gradient check of every operation's vjp (float64, central differences)")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Task 4: `topological_sort`
#
# `backward` must visit a node only after every node that uses it, so it walks the graph in the
# reverse of a topological order (handout section 7). Below, the graph of
# $y = \tanh(w x + b) \cdot x$ is drawn with the nodes placed left to right in the order your
# `topological_sort` returns: every arrow (from a parent to the node computed from it) must point
# to the right. The height of a node is the length of the longest path from a leaf to it.

# %%
check("topological_sort")


# %%
def op_name(node: bp.Node) -> str:
    """The operation that made a node, from its vjp's name (``mul.<locals>.vjp`` gives ``mul``)."""
    return getattr(node.vjp, "__qualname__", "op").split(".")[0]


w, x, b = bp.Node(0.5), bp.Node(2.0), bp.Node(-1.0)
y = bp.tanh(w * x + b) * x
names = {id(w): "w", id(x): "x", id(b): "b"}
order = bp.topological_sort(y)
where = {id(node): i for i, node in enumerate(order)}
height: dict[int, int] = {}
for node in order:
    height[id(node)] = 1 + max((height[id(p)] for p in node.parents), default=-1)

fig, ax = plt.subplots(figsize=(8, 3.5))
for node in order:
    for parent in node.parents:
        bend = 0.4 if where[id(node)] - where[id(parent)] == 2 else 0.15  # bend around a node skipped over
        ax.annotate("", xy=(where[id(node)], height[id(node)]), xytext=(where[id(parent)], height[id(parent)]),
                    arrowprops={"arrowstyle": "->", "color": "gray", "shrinkA": 14, "shrinkB": 14,
                                "connectionstyle": f"arc3,rad={bend}"})
for kind, color in (("leaf", "tab:green"), ("operation", "tab:orange")):
    chosen = [n for n in order if (not n.parents) == (kind == "leaf")]
    ax.scatter([where[id(n)] for n in chosen], [height[id(n)] for n in chosen], s=900, color=color, label=kind)
    for n in chosen:
        label = names.get(id(n), "const") if kind == "leaf" else op_name(n)
        ax.text(where[id(n)], height[id(n)], label, ha="center", va="center", fontsize=9)
ax.set_xlim(-0.7, len(order) - 0.3)
ax.set_ylim(-0.7, max(height.values()) + 0.7)
ax.set_xlabel("position in your topological order")
ax.set_ylabel("longest path from a leaf")
ax.set_title("Graph of y = tanh(w·x + b)·x in topological order (arrows: parent → child)")
ax.legend(loc="upper left", markerscale=0.4)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Task 5: `backward`
#
# With `backward`, the engine differentiates any composition of your operations. First the whole
# of a small multi-layer perceptron (MLP) is gradient-checked, then trained on a synthetic data
# set of two interleaved half-moons: `tanh` hidden layers, a `tanh` output and the squared error
# against labels ±1, with plain gradient descent on the gradients your `backward` leaves in `.grad`.

# %%
check("backward")


# %%
def moons(n: int, noise: float, generator: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles in 2-D with labels -1 and +1."""
    t = generator.uniform(0, np.pi, n)
    upper = generator.random(n) < 0.5
    points = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return points + noise * generator.standard_normal((n, 2)), np.where(upper, -1.0, 1.0)[:, None]


def mlp(points: bp.Node, w1: bp.Node, b1: bp.Node, w2: bp.Node, b2: bp.Node, w3: bp.Node, b3: bp.Node) -> bp.Node:
    """A 2-16-16-1 tanh network, built from your operations."""
    hidden = bp.tanh(points @ w1 + b1)
    hidden = bp.tanh(hidden @ w2 + b2)
    return bp.tanh(hidden @ w3 + b3)


points, labels = moons(200, 0.1, np.random.default_rng(1))
sizes = [(2, 16), (16,), (16, 16), (16,), (16, 1), (1,)]
params = [rng.standard_normal(s) / np.sqrt(s[0]) if len(s) == 2 else np.zeros(s) for s in sizes]


def loss_of(*nodes: bp.Node) -> bp.Node:
    """Mean squared error of the MLP on the training set."""
    return bp.mean((mlp(bp.Node(points), *nodes) - labels) ** 2)


print(f"gradient check of the whole MLP loss: largest relative error {gradient_check(loss_of, *params):.1e}")

# %%
losses = []
for _ in range(300):
    nodes = [bp.Node(p) for p in params]
    loss = loss_of(*nodes)
    bp.backward(loss)
    losses.append(float(loss.value))
    params = [p - 0.2 * n.grad for p, n in zip(params, nodes)]
predictions = np.sign(mlp(bp.Node(points), *[bp.Node(p) for p in params]).value)
print(f"final loss {losses[-1]:.3f}, training accuracy {np.mean(predictions == labels):.1%}")

grid = np.linspace(-1.5, 2.5, 200)
gx, gy = np.meshgrid(grid, grid - 0.5)
scores = mlp(bp.Node(np.c_[gx.ravel(), gy.ravel()]), *[bp.Node(p) for p in params]).value.reshape(gx.shape)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.plot(losses, label="mean squared error")
left.set_xlabel("gradient-descent step")
left.set_ylabel("training loss")
left.set_title("Training loss of the MLP (gradients from your backward)")
left.legend()
right.contourf(gx, gy, scores, levels=[-1, 0, 1], colors=["tab:blue", "tab:orange"], alpha=0.3)
for label, color in ((-1.0, "tab:blue"), (1.0, "tab:orange")):
    chosen = labels[:, 0] == label
    right.scatter(points[chosen, 0], points[chosen, 1], s=10, color=color, label=f"label {label:+.0f}")
right.set_xlabel("feature 1")
right.set_ylabel("feature 2")
right.set_title("Decision regions of the trained MLP (shaded) and the data")
right.legend(loc="upper right")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Time of `backward` against depth
#
# A chain $y = \tanh(\tanh(\cdots \tanh(x)))$ of depth $d$ has $d + 1$ nodes. `backward` should
# take time proportional to $d$ (one vjp per node), and finish at depth 100,000 under Python's
# default recursion limit, which a recursive topological sort cannot (handout section 7).


# %%
def chain(depth: int) -> tuple[bp.Node, bp.Node]:
    """The leaf x and the end of a chain of ``depth`` tanh operations."""
    x = bp.Node(0.5)
    y = x
    for _ in range(depth):
        y = bp.tanh(y)
    return x, y


depths = [6_250, 12_500, 25_000, 50_000, 100_000]
seconds = []
for depth in depths:
    x, y = chain(depth)
    start = time.perf_counter()
    bp.backward(y)
    seconds.append(time.perf_counter() - start)
    print(f"depth {depth:>7,}: backward took {seconds[-1]:.3f} s, dy/dx = {float(x.grad):.3e}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(depths, seconds, "o-", label="your backward")
ax.loglog(depths, [seconds[-1] * d / depths[-1] for d in depths], "k:", label="linear in depth (slope 1)")
ax.set_xlabel("depth of the chain (nodes, log scale)")
ax.set_ylabel("time of backward (seconds, log scale)")
ax.set_title("Time of your backward on a chain of tanh nodes against its depth")
ax.legend()
fig.tight_layout()
plt.show()
