"""The worker's run-time guard: banned calls from the student's file, and the network barrier."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from autograder.worker import guard


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable package ``agfake`` with one function, not imported yet."""
    (tmp_path / "agfake").mkdir()
    (tmp_path / "agfake" / "__init__.py").write_text("def secret(x):\n    return x + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "agfake", raising=False)
    return "agfake"


def test_a_banned_package_that_is_not_loaded_is_not_imported_to_guard_it(fake_package: str) -> None:
    assert guard.install([f"{fake_package}.*", fake_package], [], "/nowhere/student.py", []) == 0
    assert fake_package not in sys.modules


def test_guarded_call_fails_only_from_the_students_file(fake_package: str, tmp_path: Path) -> None:
    __import__(fake_package)
    student_file = str(tmp_path / "student.py")
    hits: list[str] = []
    assert guard.install([f"{fake_package}.secret"], [], student_file, hits) == 1
    package = sys.modules[fake_package]
    assert package.secret(1) == 2  # the grader's own call passes
    student = types.ModuleType("student")
    exec(compile("import agfake\ndef f():\n    return agfake.secret(1)\n", student_file, "exec"), student.__dict__)
    with pytest.raises(guard.BannedCallError):
        student.f()
    assert hits == [f"{fake_package}.secret"]


def test_network_sockets_and_lookups_are_refused_after_block_network() -> None:
    code = (
        "import socket\nfrom autograder.worker import guard\n"
        "a, b = socket.socketpair(); a.close(); b.close()\n"  # local pipes still work
        "guard.block_network()\n"
        "for attempt in (lambda: socket.socket(), lambda: socket.getaddrinfo('localhost', 80)):\n"
        "    try:\n        attempt()\n        print('allowed')\n"
        "    except PermissionError as exc:\n        print('refused:', exc)\n"
        "a, b = socket.socketpair(); print('unix ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.count("refused: network access is not allowed while grading") == 2 and "unix ok" in out


def test_the_aten_guard_does_not_import_torch_dynamo(tmp_path: Path) -> None:
    """Entering the guard must not pull in torch._dynamo: that import was a second of every worker's start."""
    student = tmp_path / "student_file.py"
    student.write_text("import torch\ndef f(x):\n    return torch.softmax(x, -1)\n", encoding="utf-8")
    script = (
        "import sys, importlib.util, torch\n"
        "from autograder.worker import guard\n"
        f"spec = importlib.util.spec_from_file_location('student_file', {str(student)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "hits = []\n"
        f"mode = guard.aten_guard(['_softmax'], {str(student)!r}, hits)\n"
        "with mode():\n"
        "    torch.exp(torch.ones(2))\n"
        "    try:\n"
        "        mod.f(torch.ones(3))\n"
        "    except guard.BannedCallError:\n"
        "        pass\n"
        "print(hits, 'torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["['aten._softmax']", "False"], out.stdout + out.stderr


STUDENT_ROUTES = '''import torch
def composite(x):
    return torch.log_softmax(x, 1)
def op_overload(x):
    return torch.ops.aten._log_softmax.default(x, 1, False)
def out_variant(x):
    return torch.ops.aten._log_softmax.out(x, 1, False, out=torch.empty_like(x))
def inference_mode(x):
    with torch.inference_mode():
        return torch._log_softmax(x, 1, False)
def backward(y):
    y.sum().backward()
def decomposing(x):
    return torch.dropout(x, 0.5, True)
def decomposing_inference_mode(x):
    with torch.inference_mode():
        return torch.dropout(x, 0.5, True)
def allowed(x):
    return torch.exp(x)
def modes(x):
    from torch.utils._python_dispatch import _get_current_dispatch_mode_stack
    return len(_get_current_dispatch_mode_stack())
'''
GUARD_SCRIPT = '''
import json, sys, torch
from autograder.worker import guard, serve
kind, student = sys.argv[1], sys.argv[2]
if kind == "mode":
    del torch.library.get_kernel  # a torch without it: the dispatch mode takes over
x = torch.randn(4, 5, requires_grad=True)
def grader_side():
    y = torch.log_softmax(x, 1)
    (grad,) = torch.autograd.grad((y * torch.arange(5.0)).sum() + torch.dropout(x, 0.0, True).sum(), x)
    with torch.inference_mode():
        kept = torch.dropout(x.detach(), 0.0, True)
    return y.detach(), grad, kept
before = grader_side()
config = serve.WorkerConfig("student_routes", student, banned=serve.BannedApis(aten=["_log_softmax", "_log_softmax_backward_data", "dropout"]))
d = serve.Dispatcher(config, capture=False)
d.load()
module = d.module
out = {}
for name in ["composite", "op_overload", "out_variant", "inference_mode", "backward", "decomposing",
             "decomposing_inference_mode", "allowed", "modes"]:
    d.hits.clear()
    arg = torch.log_softmax(x, 1) if name == "backward" else x.detach()
    try:
        with d._guarded("call"):
            value = getattr(module, name)(arg)
        out[name] = value if name == "modes" else "ran"
    except guard.BannedCallError as exc:
        out[name] = ["refused", sorted(set(d.hits))]
after = grader_side()
out["grader_side_unchanged"] = all(torch.equal(a, b) for a, b in zip(before, after))
print(json.dumps(out))
'''


@pytest.mark.parametrize("kind", ["kernels", "mode"])
def test_banned_aten_operators_are_refused_on_every_route_from_the_students_file(kind: str, tmp_path: Path) -> None:
    """Replaced kernels (torch.library.get_kernel) and, on a torch without it, the dispatch mode.

    Refused from the student's file: an op that decomposes into a banned one, the overload, its
    out= variant, inference mode, the backward of the grader's own graph, and a banned op that
    decomposes (dropout) in inference mode; the grader's values and gradients are those computed
    before the guard went in. The mode, which sees operators only below autograd, misses that
    last op outside inference mode; the kernels do not. Only the mode costs a Python call per
    operator.
    """
    student = tmp_path / "student_routes.py"
    student.write_text(STUDENT_ROUTES, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", GUARD_SCRIPT, kind, str(student)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    forward = ["refused", ["aten._log_softmax"]]
    dropout = ["refused", ["aten.dropout"]]
    assert out == {"composite": forward, "op_overload": forward, "out_variant": forward, "inference_mode": forward,
                   "backward": ["refused", ["aten._log_softmax_backward_data"]],
                   "decomposing": "ran" if kind == "mode" else dropout, "decomposing_inference_mode": dropout,
                   "allowed": "ran", "modes": 1 if kind == "mode" else 0, "grader_side_unchanged": True}
