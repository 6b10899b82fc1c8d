"""The sandboxed worker process: isolation, resource limits, framed I/O with deadlines.

Levels, best first: ``bubblewrap`` (all namespaces, read-only runtime, only the
submission and the probe code visible, no network); ``user`` (root without namespaces, as in
Gradescope's container: a sandbox uid of its own per worker, no supplementary groups, see
``user_slots``); ``plain`` (a subprocess with rlimits and a loud warning). Every level gets
rlimits, its own session/process group killed as a whole, and a wall-clock deadline per
request. Replies are read as framed plain data.

One module per noun: ``stage`` (the folder the worker sees), ``isolation`` (probing and
choosing a level), ``process`` (the ``Worker``), ``zygote`` (a fork server of workers, for
``autograder mutants``), ``cgroup`` (its pids cgroup), ``reaping``
(killing and reaping its process tree), ``proc_tree`` (that tree as /proc shows it) and
``cpu_clock`` (its CPU time).
"""

from ..worker.protocol import Reply
from .isolation import ISOLATION_LEVELS, bubblewrap_works, choose_isolation, user_isolation_works
from .process import Worker
from .stage import Stage, prepare_stage
from .zygote import Zygote

__all__ = ["ISOLATION_LEVELS", "Reply", "Stage", "Worker", "Zygote", "bubblewrap_works", "choose_isolation",
           "prepare_stage", "user_isolation_works"]
