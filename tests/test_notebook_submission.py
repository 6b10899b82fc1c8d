"""Notebook submissions: the rule of which code is the submission, bad notebooks, and real gradings."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import results
from autograder.errors import SubmissionError
from autograder.intake import take
from autograder.notebook_submission import extract
from conftest import REPO

NAME = "softmax_nll.py"
PLOTTING = [
    "%matplotlib inline\nimport matplotlib.pyplot as plt",
    "!pip list | head -3",
    "x = torch.randn(4, 7)\nprint(softmax(x).sum(-1))\nplt.plot(softmax(x)[0])\nplt.show()",
    "%%time\nfor _ in range(3):\n    cross_entropy(torch.randn(8, 5), torch.randint(5, (8,)))",
]


def notebook(*cells: str, markdown: str = "# Softmax") -> bytes:
    """An nbformat 4 notebook with one markdown cell and these code cells."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), *(nbformat.v4.new_code_cell(c) for c in cells)]
    return nbformat.writes(nb).encode("utf-8")


def task_cells(source: str) -> list[str]:
    """A module's source cut into cells at its ``# Task N`` comments, the way a student lays a notebook out."""
    parts = re.split(r"(?m)^(?=# Task \d+:)", source)
    return [p for p in parts if p.strip()]


def module_of(data: bytes) -> str:
    return extract(data, NAME, "softmax_nll.ipynb").source.decode()


# --------------------------------------------------------------------------- the rule

def test_definitions_are_taken_and_experiments_left_out():
    data = notebook("import torch\nEPS = 1e-3\nDIMS: tuple = (0, 1)",
                    "def softmax(x, dim=-1):\n    '''doc'''\n    return x\nprint(softmax(1))",
                    "%load_ext autoreload\n!ls\n@staticmethod\ndef g():\n    return 2",
                    *PLOTTING)
    taken = extract(data, NAME, "softmax_nll.ipynb")
    src = taken.source.decode()
    assert src == ("# notebook cell 2\nimport torch\nEPS = 1e-3\nDIMS: tuple = (0, 1)\n\n\n"
                   "# notebook cell 3\ndef softmax(x, dim=-1):\n    '''doc'''\n    return x\n\n\n"
                   "# notebook cell 4\n@staticmethod\ndef g():\n    return 2\n\n\n"
                   "# notebook cell 5\nimport matplotlib.pyplot as plt\n")
    assert taken.left_out == (
        "cell 3: print(softmax(1))", "cell 4: magic %load_ext autoreload", "cell 4: magic !ls",
        "cell 5: magic %matplotlib inline", "cell 6: magic !pip list | head -3", "cell 7: x = torch.randn(4, 7)",
        "cell 7: print(softmax(x).sum(-1))", "cell 7: plt.plot(softmax(x)[0])", "cell 7: plt.show()",
        "cell 8: cell magic %%time")


def test_writefile_cell_is_the_whole_submission():
    data = notebook("def softmax(x):\n    return 0", "%%writefile softmax_nll.py\nimport torch\nA = 1\n",
                    "%%writefile ./sub/softmax_nll.py\ndef softmax(x):\n    return x\n", "print(1)")
    taken = extract(data, NAME, "nb.ipynb")
    assert taken.source == b"def softmax(x):\n    return x\n"
    assert taken.left_out == ("cell 2: def softmax(x):", "cell 3: %%writefile softmax_nll.py", "cell 5: print(1)")


def test_future_import_moves_to_the_top_and_syntax_errors_are_kept():
    src = module_of(notebook("import torch", "from __future__ import annotations\ndef f(:\n    pass"))
    assert src.startswith("from __future__ import annotations\n")
    with pytest.raises(SyntaxError):
        ast.parse(src)
    src = module_of(notebook("import torch", "from __future__ import annotations\nX = 1"))
    assert src.startswith("from __future__ import annotations\n") and ast.parse(src)


@settings(max_examples=40, deadline=None)
@given(value=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                       st.lists(st.integers(), max_size=3)),
       call=st.sampled_from(["f()", "torch.randn(3)", "open('x').read()", "[i for i in range(3)]", "x.y"]))
def test_literal_constants_are_kept_and_computed_values_left_out(value, call):
    src = module_of(notebook(f"import torch\nC = {value!r}\nD = {call}"))
    assert f"C = {value!r}" in src and "D =" not in src


@pytest.mark.parametrize("statement", [
    "sys.modules['torch'] = None", "import sys; sys.modules['torch'] = None", "builtins.print = None", "open('/tmp/x', 'w').write('1')",
    "globals()['softmax'] = 1", "if True:\n    import os", "for i in range(2):\n    pass", "del torch",
    "with open('x') as f:\n    pass", "try:\n    import os\nexcept ImportError:\n    pass",
])
def test_statements_that_run_code_are_left_out(statement):
    taken = extract(notebook("import torch", statement), NAME, "nb.ipynb")
    kept = b"\n\n# notebook cell 3\nimport sys\n" if statement.startswith("import sys;") else b""
    assert taken.source == b"# notebook cell 2\nimport torch\n" + kept
    assert len(taken.left_out) >= 1 and not any(s.startswith("cell 3: import") for s in taken.left_out)


# --------------------------------------------------------------------------- bad notebooks

@pytest.mark.parametrize("data,problem", [
    (b"not json at all", "softmax_nll.ipynb is not a notebook: it is not valid JSON."),
    (b"\xff\xfe\x00", "softmax_nll.ipynb is not a notebook: it is not UTF-8 text."),
    (b'{"nbformat": 9, "nbformat_minor": 0, "cells": [], "metadata": {}}',
     "softmax_nll.ipynb is not a readable Jupyter notebook (nbformat 4)"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
     "softmax_nll.ipynb is not a readable Jupyter notebook (nbformat 4): The notebook is invalid and is missing an "
     "expected key: cells."),
    (b'{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{"cell_type": "weird", "source": "", '
     b'"metadata": {}}]}', "softmax_nll.ipynb is not a valid Jupyter notebook (nbformat 4): {'cell_type': 'weird'"),
    (b'{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{"cell_type": "code", "source": "import os", '
     b'"metadata": {}, "outputs": [], "execution_count": null}]}', None),
    (notebook("print(1)", "x = torch.ones(3)"),
     "softmax_nll.ipynb has no code for softmax_nll.py: no code cell defines a function, class or import."),
])
def test_bad_notebooks_name_the_problem(tmp_path, data, problem):
    path = tmp_path / "softmax_nll.ipynb"
    path.write_bytes(data)
    if problem is None:  # a valid nbformat 4.4 notebook (cells without ids, as older Jupyters save them)
        assert take(path, NAME).source == b"# notebook cell 1\nimport os\n"
        return
    with pytest.raises(SubmissionError) as info:
        take(path, NAME)
    assert info.value.problem.startswith(problem) and "\n" not in str(info.value) and info.value.hint


@pytest.mark.parametrize("layout", ["folder", "zip", "both"])
def test_folder_or_zip_with_the_notebook_and_no_py(tmp_path, layout):
    data = notebook("import torch\ndef softmax(x):\n    return x")
    if layout == "zip":
        sub = tmp_path / "s.zip"
        with zipfile.ZipFile(sub, "w") as z:
            z.writestr("hw/softmax_nll.ipynb", data)
            z.writestr("notes.txt", "x")
    else:
        sub = tmp_path / "sub"
        sub.mkdir()
        (sub / "softmax_nll.ipynb").write_bytes(data)
        if layout == "both":
            (sub / "softmax_nll.py").write_text("A = 1\n")
    taken = take(sub, NAME)
    if layout == "both":
        assert taken.source == b"A = 1\n" and taken.origin == "softmax_nll.py" and "softmax_nll.ipynb" in taken.ignored
    else:
        assert b"def softmax" in taken.source and taken.origin.endswith("softmax_nll.ipynb")


# --------------------------------------------------------------------------- real gradings (autograder grade)

def grade_cli(submission: Path, out: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "softmax_nll", str(submission),
                           "--results", str(out), "--seed", "7", *args], capture_output=True, text=True, timeout=600)
    data = json.loads(out.read_text(encoding="utf-8"))
    results.validate(data)
    return proc, data


@pytest.mark.slow
def test_reference_notebook_with_plotting_cells_scores_100(tmp_path):
    source = (REPO / "solutions/softmax_nll/softmax_nll.py").read_text(encoding="utf-8")
    sub = tmp_path / "sub.ipynb"
    sub.write_bytes(notebook(*task_cells(source), *PLOTTING))
    proc, data = grade_cli(sub, tmp_path / "results.json")
    assert proc.returncode == 0, proc.stderr
    assert data["score"] == 100 and data["extra_data"]["submitted_file"] == "sub.ipynb"
    assert "cell 10: x = torch.randn(4, 7)" in data["extra_data"]["notebook_left_out"]


@pytest.mark.slow
def test_stub_notebook_scores_0_and_a_broken_one_gets_one_line(tmp_path):
    source = (REPO / "student_template/softmax_nll/softmax_nll.py").read_text(encoding="utf-8")
    sub = tmp_path / "softmax_nll.ipynb"
    sub.write_bytes(notebook(*task_cells(source), *PLOTTING))
    proc, data = grade_cli(sub, tmp_path / "stub.json")
    assert proc.returncode == 0 and data["score"] == 0
    broken = tmp_path / "broken.ipynb"
    broken.write_bytes(notebook(*task_cells(source))[:-40])
    proc, data = grade_cli(broken, tmp_path / "broken.json")
    assert proc.returncode == 0 and data["score"] == 0 and data["tests"]
    problem = data["extra_data"]["static_checks"]["syntax_error"]
    assert problem == "broken.ipynb is not a notebook: it is not valid JSON."
    assert f"Your file could not be loaded: {problem} Hint:" in proc.stdout


def test_grade_batch_roster_takes_notebook_entries(tmp_path):
    from autograder.batch.roster import discover

    (tmp_path / "ada.ipynb").write_bytes(notebook("import torch"))
    (tmp_path / "bob.py").write_text("import torch\n")
    (tmp_path / "notes.txt").write_text("x")
    assert [(s.id, s.path.name) for s in discover(tmp_path)] == [("ada", "ada.ipynb"), ("bob", "bob.py")]
