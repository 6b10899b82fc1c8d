"""Performance tests for backprop (10 points): graph algorithms are judged by how their time scales.

All three run topological_sort + backward on "skip chains" built by probes.py with your Node
class: node i has parents (node i - 1, node skip[i]) with a random skip[i] < i and vjps defined
by the grader, so only your topological_sort and backward are timed (plus building the Nodes).
Times are the worker's CPU time, measured by the grader (autograder/performance.py).

- Scaling (4 points): the exponent p in time ~ n^p between n and 4n nodes must be at most the
  budget (linear: about 1.2 here; quadratic: about 1.9).
- Speed (3 points): on a 500-node chain, your time divided by PyTorch's autograd on the same
  chain (forward + backward, run by the grader) must be within the budget.
- Scale (3 points): a chain 100,000 nodes deep finishes within the time limit under the default
  recursion limit, with the right gradient.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from autograder.testing import expect_close, graded, scaling_test, speed_test, yardsticks

USES = ("topological_sort", "backward")
LINEAR = ("visit each node and each parent link a constant number of times: sets or dicts (keyed by the node "
          "or id(node)) for 'seen' and for gradients, append and reverse once (no list.insert(0, ...), "
          "list.pop(0), `in` on a list, or a rescan of the graph per node).")


def _probes(assignment: Any) -> Any:
    """The assignment's probes module, loaded in this (trusted) process for its input generator."""
    yardsticks(assignment)  # loads probes.py once as _ag_probes_<name>
    return sys.modules[f"_ag_probes_{assignment.name}"]


def _exact_grad(x: np.ndarray, a: np.ndarray, b: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """d sum(last node) / d leaf of a skip chain, by a reverse sweep over scalar adjoints (trusted)."""
    adj = [0.0] * len(a)
    adj[-1] = 1.0
    al, bl, sl = a.tolist(), b.tolist(), skip.tolist()
    for i in range(len(al) - 1, 0, -1):
        adj[i - 1] += al[i] * adj[i]
        adj[sl[i]] += bl[i] * adj[i]
    return np.full(x.shape, adj[0])


@graded("6.1", points=4, task="topological_sort")
def test_scaling(student, assignment, seed, extra_data):
    """topological_sort + backward take linear time: the exponent between n and 4n nodes is within budget"""
    n = int(assignment.performance["scaling_n"])
    scaling_test(student, assignment, "scaling_chain", USES, (n, 4 * n), "scale_exponent", extra_data,
                 args=(seed,), hint=LINEAR)


@graded("6.2", points=3, task="backward")
def test_speed_against_autograd(student, assignment, seed, extra_data):
    """topological_sort + backward on a 500-node skip chain are within budget of PyTorch's autograd"""
    args = _probes(assignment).chain_arrays(int(assignment.performance["speed_n"]), seed)
    speed_test(student, assignment, "skip_chain", "skip_chain", args, _exact_grad(*args), "skip_chain",
               extra_data, uses=USES)


@graded("6.3", points=3, task="backward")
def test_deep_chain(student, assignment, seed, extra_data):
    """a skip chain 100,000 nodes deep: sorted and differentiated within the time limit, without recursion"""
    args = _probes(assignment).chain_arrays(int(assignment.performance["deep_n"]), seed + 1)
    got = student.probe("skip_chain", *args, uses=USES)
    extra_data["nodes"] = len(args[1])
    expect_close(got, _exact_grad(*args), what="the leaf's gradient after backward on a 100,000-deep skip chain",
                 hint="no recursion (Python's limit is 1000 frames) and linear time: " + LINEAR, rtol=1e-7, atol=1e-9)

