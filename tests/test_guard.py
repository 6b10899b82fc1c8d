"""The worker's run-time guard: banned calls from the student's file, and the network barrier."""

from __future__ import annotations

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
