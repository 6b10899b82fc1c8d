"""A fork server for ``autograder mutants``: import the runtime once, fork a fresh worker per submission.

Started in the sandbox like a worker, with a Unix socket's fd as its last argument; it replies on
stdout in the protocol's frames, as a worker does, and takes requests on the socket instead.
It imports torch and the probes and installs the guards (``Dispatcher.prepare``: grader code
only), says hello, then waits. Each ``fork`` message carries two pipes (SCM_RIGHTS): the child
makes them its request and reply pipes, imports the submitted file the trusted side has just
written, and serves it like any worker (``serve``), so no student code ever runs in the
zygote itself. The zygote answers with the child's pid and reaps its children as they end.
Grading students never uses it: each of their gradings starts a worker of its own.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

from . import protocol, timing
from .lines import LineTracer
from .serve import Dispatcher, protocol_streams, read_config, serve

__all__ = ["main"]


def main(config_path: str, control_fd: int) -> None:
    """Prepare the runtime once, then fork a worker per ``fork`` message until the socket closes."""
    config = read_config(config_path)
    control = socket.socket(fileno=control_fd)
    _unused, replies = protocol_streams()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    timing.fix_allocator()
    dispatcher = Dispatcher(config)
    dispatcher.prepare()
    protocol.write_message(replies, {"op": "hello"})
    while True:
        _reap()
        if not select.select([control], [], [], 1.0)[0]:
            continue
        message, fds, _flags, _addr = socket.recv_fds(control, 4096, 2)
        if not message:
            os._exit(0)
        request = json.loads(message)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            protocol.write_message(replies, {"op": "refused"})
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            _unused.close()
            replies.close()
            _become_worker(dispatcher, fds, bool(request.get("trace_lines")))
        for fd in fds:
            os.close(fd)
        protocol.write_message(replies, {"op": "forked", "pid": pid})


def _become_worker(dispatcher: Dispatcher, fds: list[int], trace_lines: bool) -> None:
    """In the child: the two pipes become stdin/stdout, then serve the submitted file like any worker."""
    os.setsid()
    os.dup2(fds[0], 0)
    os.dup2(fds[1], 1)
    for fd in fds:
        os.close(fd)
    dispatcher.tracer = LineTracer(dispatcher.config.module_path) if trace_lines else None
    proto_in, proto_out = protocol_streams()
    serve(dispatcher, proto_in, proto_out)


def _reap() -> None:
    """Collect every child that has ended (the trusted side kills them; they must not linger as zombies)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[-1]))
