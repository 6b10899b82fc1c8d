"""Static checks: syntax, encoding, banned APIs resolved through aliases and helpers."""

from __future__ import annotations

import pytest

from autograder.assignment import Banned
from autograder.static_checks import check

BANNED = Banned(calls=("torch.softmax", "torch.nn.functional.softmax", "torch.autograd.*", "torch.nn.*Loss"),
                methods=("softmax",), reason="build it yourself")


def hits(source: str) -> dict[str, list[str]]:
    report = check(source.encode(), BANNED, "sub.py")
    assert report.syntax_error is None
    return {k: [h.name for h in v] for k, v in report.hits.items() if v}


@pytest.mark.parametrize("source,expected", [
    ("import torch\ndef f(x):\n    return torch.softmax(x, 0)\n", "torch.softmax"),
    ("import torch.nn.functional as F\ndef f(x):\n    return F.softmax(x, 0)\n", "torch.nn.functional.softmax"),
    ("from torch.nn import functional as G\ndef f(x):\n    return G.softmax(x, 0)\n", "torch.nn.functional.softmax"),
    ("from torch import softmax as s\ndef f(x):\n    return s(x, 0)\n", "torch.softmax"),
    ("def f(x):\n    return x.softmax(0)\n", ".softmax()"),
    ("import torch\ndef f(x):\n    g = torch.softmax\n    return g(x, 0)\n", "torch.softmax"),
    ("import torch\ndef f(x):\n    return torch.autograd.grad(x, x)\n", "torch.autograd.grad"),
    ("import torch\ndef f(x, t):\n    return torch.nn.CrossEntropyLoss()(x, t)\n", "torch.nn.CrossEntropyLoss"),
    ("import torch\ndef f(x):\n    return getattr(torch, 'softmax')(x, 0)\n", "torch.softmax"),
    ("def f(x):\n    return getattr(x, 'softmax')(0)\n", ".softmax()"),
    ("import torch\ndef f(x, n):\n    return getattr(torch, n)(x)\n", "getattr(torch, <computed name>)"),
    ("import importlib\ndef f(x):\n    return importlib.import_module('torch').softmax(x, 0)\n", "importlib.import_module"),
    ("def f(x):\n    return eval('x')\n", "eval"),
    ("def f(x):\n    return __import__('torch')\n", "__import__"),
    ("import sys\ndef f(x):\n    return sys.modules['torch']\n", "sys.modules"),
])
def test_banned_reference_is_found(source, expected):
    assert expected in hits(source)["f"]


def test_hits_are_charged_to_every_function_that_reaches_them():
    source = (
        "import torch\n"
        "def helper(x):\n    return torch.softmax(x, 0)\n"
        "def middle(x):\n    return helper(x)\n"
        "def top(x):\n    return middle(x) + 1\n"
        "def clean(x):\n    return x.exp()\n"
    )
    found = hits(source)
    assert set(found) == {"helper", "middle", "top"}
    report = check(source.encode(), BANNED, "sub.py")
    assert report.violations("clean") == [] and report.violations("top.method")[0].line == 3


def test_module_level_hits_count_for_every_function():
    report = check(b"import torch\nS = torch.softmax\ndef f(x):\n    return S(x, 0)\n", BANNED, "sub.py")
    assert [h.name for h in report.violations("f")] == ["torch.softmax"]


def test_clean_code_and_lookalikes_pass():
    source = ("import torch\nfrom torch import Tensor\n"
              "def softmax(x: Tensor, dim: int = -1) -> Tensor:\n"
              "    e = (x - x.amax(dim, keepdim=True)).exp()\n    return e / e.sum(dim, keepdim=True)\n"
              "def log_softmax(x, dim=-1):\n    return softmax(x, dim).log()\n")
    assert hits(source) == {}


@pytest.mark.parametrize("source,needle", [
    (b"def f(:\n", "line 1: SyntaxError"),
    (b"\xff\xfe not utf8", "not UTF-8"),
    (b"x = (" * 200_000, "SyntaxError"),
])
def test_unparseable_files_are_reported_not_raised(source, needle):
    report = check(source, BANNED, "sub.py")
    assert report.syntax_error is not None and needle.split(":")[0] in report.syntax_error


@pytest.mark.parametrize("source", [
    "import torch\ndef f(x):\n    return x\n",
    "import torch.nn as nn\ndef f(x):\n    return x\n",
    "from torch import tensor\ndef f(x):\n    return x\n",
    "def f(x):\n    import jax.numpy as jnp\n    return x\n",
])
def test_importing_a_banned_module_is_a_hit_even_unused(source):
    banned = Banned(calls=("torch", "torch.*", "jax", "jax.*"), methods=(), reason="no autodiff libraries")
    report = check(source.encode(), banned, "sub.py")
    assert report.violations("f") and report.violations("f")[0].line in (1, 2)


@pytest.mark.parametrize("source,problem,hint", [
    (b"", "sub.py is empty: it defines none of the functions the tests call.",
     "submit sub.py with your code in it (save it in your editor before uploading it)."),
    (b"  \n\n", "sub.py is empty: it defines none of the functions the tests call.",
     "submit sub.py with your code in it (save it in your editor before uploading it)."),
    (b"# TODO\n# later\n", "sub.py holds only comments: it defines none of the functions the tests call.",
     "submit sub.py with your code in it (save it in your editor before uploading it)."),
    (b"def f(:\n", "sub.py line 1: SyntaxError: invalid syntax",
     "fix the syntax error; no test can run until the file parses."),
    (b"x = '\xe9'\n", "sub.py is not UTF-8 text (byte 5 is not valid UTF-8).",
     "save the file with the UTF-8 encoding (your editor's 'Save with Encoding' or 'Save As')."),
])
def test_each_unloadable_file_gets_its_own_hint(source, problem, hint):
    report = check(source, BANNED, "sub.py")
    assert (report.syntax_error, report.hint) == (problem, hint)
    assert report.blocker("f") == (f"Your file could not be loaded: {problem}", hint)


def test_blocker_names_a_top_level_banned_reference_apart_from_a_functions_own():
    report = check(b"from torch import softmax as s\ndef f(x):\n    return x.softmax(0)\ndef g(x):\n    return x\n",
                   BANNED, "sub.py")
    top = ("Your file uses torch.softmax (line 1) outside any function, which this assignment does not allow: "
           "build it yourself.", "remove it from the top level of your file: until then no test can run, not even "
           "those of functions that do not use it.")
    assert report.blocker("g") == top and report.blocker("f") == top
    only_f = check(b"def f(x):\n    return x.softmax(0)\ndef g(x):\n    return x\n", BANNED, "sub.py")
    assert only_f.blocker("f") == ("f uses .softmax() (line 2), which this assignment does not allow: build it "
                                   "yourself.", "rewrite it with elementary tensor operations.")
    assert only_f.blocker("g") is None
