"""The companion notebooks: every ``assignments/<a>/notebook.py`` is picked up by discovery.

The released ``<a>.ipynb`` is executed headless (nbclient, an ipykernel kernel) in a fresh
folder laid out like the unzipped student zip: with the reference in place of the stub it
runs to the end without an error and every plotting cell shows a figure; with the stub it
stops at task 1's ``NotImplementedError``. The source is ruff-clean and the released notebook
is what release writes from it; a notebook that imports or copies a secret is a leak.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import assignment
from autograder.authoring import leaks, notebook, release

NAMES = [n for n in assignment.names() if notebook.source_file(assignment.load(n)) is not None]
LIMIT = 120
"""Seconds a notebook may take with the reference (the issue's budget on a 2-core machine)."""
PLOT = "plt.show()"
"""A plotting cell ends its figure with this; each such cell must yield an image."""

_zips: dict[str, dict[str, bytes]] = {}


@pytest.fixture(scope="session")
def released(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """Student-zip members per assignment, each released once per session (notebooks not executed)."""
    out = tmp_path_factory.mktemp("notebook-release")
    for name in NAMES:
        if name not in _zips:
            zipped = release.release([name], out, echo=lambda _: None, execute=False)[0].zips["student"]
            with zipfile.ZipFile(zipped) as zf:
                _zips[name] = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    return _zips


def run(name: str, files: dict[str, bytes], folder: Path, module: bytes) -> notebook.Run:
    """Execute the released notebook in ``folder`` laid out like the student zip, with ``module`` as the stub."""
    spec = assignment.load(name)
    notebook.lay_out(files, folder, spec.module_file, module)
    return notebook.execute(folder / f"{name}.ipynb")


def outputs(nb: object, kind: str) -> list[dict[str, object]]:
    """Every output of type ``kind`` (stream, error, display_data, ...) in an executed notebook."""
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == kind]  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_with_the_reference(name: str, released: dict[str, dict[str, bytes]], tmp_path: Path) -> None:
    ran = run(name, released[name], tmp_path, assignment.load(name).solution_file.read_bytes())
    assert ran.error is None, ran.error
    assert outputs(ran.notebook, "error") == []
    stderr = [o["text"] for o in outputs(ran.notebook, "stream") if o["name"] == "stderr"]
    assert stderr == [], stderr
    plotting = [c for c in ran.notebook.cells if c.cell_type == "code" and PLOT in c.source]
    assert len(plotting) >= 2
    for cell in plotting:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), f"no figure from:\n{cell.source}"
    print(f"{name}: notebook ran in {ran.seconds:.1f} s")
    assert ran.seconds < LIMIT, f"{name}: {ran.seconds:.0f} s"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_stops_at_task_1_on_the_stub(name: str, released: dict[str, dict[str, bytes]], tmp_path: Path) -> None:
    ran = run(name, released[name], tmp_path, assignment.load(name).template_file.read_bytes())
    assert ran.error is not None and ran.error.startswith("NotImplementedError: "), ran.error
    assert f"{name} task 1:" in ran.error, ran.error
    errors = outputs(ran.notebook, "error")
    assert len(errors) == 1 and errors[0]["ename"] == "NotImplementedError"
    checked = "".join(str(o["text"]) for o in outputs(ran.notebook, "stream") if o["name"] == "stdout")
    assert "Traceback" not in checked


@pytest.mark.parametrize("name", NAMES)
def test_notebook_source_is_ruff_clean(name: str) -> None:
    source = notebook.source_file(assignment.load(name))
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(source)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("name", NAMES)
def test_released_notebook_is_the_source_without_outputs(name: str, released: dict[str, dict[str, bytes]]) -> None:
    spec = assignment.load(name)
    shipped = released[name][f"{name}.ipynb"]
    source = notebook.source_file(spec)
    assert source is not None and shipped == notebook.student_notebook(source)
    nb = json.loads(shipped)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert any(f"import {name}" in "".join(c["source"]) for c in code), "the notebook imports the student's module"
    assert any('check("' in "".join(c["source"]) for c in code), "the notebook has self-check cells"
    assert "selfcheck.py" in released[name]


@pytest.mark.parametrize("name", NAMES)
def test_released_notebook_has_no_leaks(name: str, released: dict[str, dict[str, bytes]]) -> None:
    spec = assignment.load(name)
    shipped = {n: released[name][n] for n in (f"{name}.ipynb", "selfcheck.py")}
    assert leaks.check_files(spec, shipped) == []


PLANTED = {
    "import of the reference": "from solutions.softmax_nll import softmax_nll as ref\n",
    "import of a hidden test": "import tests.hidden.test_hidden as hidden\n",
    "a private name of the probes": "import probes\nprobes._secret_helper()\n",
}


@pytest.mark.parametrize("planted", PLANTED.values(), ids=list(PLANTED))
def test_a_planted_leak_in_a_notebook_is_caught(planted: str, tmp_path: Path) -> None:
    spec = assignment.load("softmax_nll")
    source = tmp_path / "notebook.py"
    source.write_text(f"# %%\n# %load_ext autoreload\nimport torch\n\n# %%\n{planted}", encoding="utf-8")
    assert leaks.check_files(spec, {"softmax_nll.ipynb": notebook.student_notebook(source)}) != []


def test_reference_code_pasted_into_a_notebook_is_caught(tmp_path: Path) -> None:
    spec = assignment.load("softmax_nll")
    reference = spec.solution_file.read_text(encoding="utf-8")
    source = tmp_path / "notebook.py"
    source.write_text("# %% [markdown]\n# A worked answer\n\n# %%\n" + reference, encoding="utf-8")
    found = leaks.check_files(spec, {"softmax_nll.ipynb": notebook.student_notebook(source)})
    assert any("softmax_nll.ipynb:" in f and "solution" in f for f in found), found


@pytest.mark.slow
@pytest.mark.skipif("softmax_nll" not in NAMES, reason="softmax_nll has no notebook")
def test_solution_zip_has_the_notebook_executed_with_the_reference(tmp_path: Path) -> None:
    solution = release.release(["softmax_nll"], tmp_path, echo=lambda _: None)[0].zips["solution"]
    with zipfile.ZipFile(solution) as zf:
        executed = json.loads(zf.read("softmax_nll.ipynb"))
        page = zf.read("softmax_nll.html").decode("utf-8")
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] for c in code)
    shown = [o for c in code for o in c["outputs"] if "image/png" in o.get("data", {})]
    assert len(shown) >= 2 and not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert "<html" in page and page.count("<img") >= len(shown)


# --------------------------------------------------------------------------- selfcheck.py

def self_check(folder: Path, call: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``from selfcheck import check; <call>`` in ``folder``, as a notebook cell would."""
    return subprocess.run([sys.executable, "-c", f"from selfcheck import check; {call}"], cwd=folder,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def softmax_folder(tmp_path: Path) -> Path:
    """The softmax_nll student zip's files laid out in a fresh folder, with the stub."""
    spec = assignment.load("softmax_nll")
    files = {n: data for n, (data, _) in release.student_files(spec).items()}
    return notebook.lay_out(files, tmp_path, spec.module_file, spec.template_file.read_bytes())


def test_self_check_prints_points_and_hints_without_tracebacks(softmax_folder: Path) -> None:
    stub = self_check(softmax_folder, 'check("softmax")')
    assert stub.returncode == 0, stub.stderr
    assert "FAIL" in stub.stdout and "Hint" in stub.stdout and "Total: 0 / 5 points" in stub.stdout
    assert "Traceback" not in stub.stdout + stub.stderr and "PASS" not in stub.stdout
    reference = assignment.load("softmax_nll").solution_file.read_bytes()
    (softmax_folder / "softmax_nll.py").write_bytes(reference)
    done = self_check(softmax_folder, 'check("softmax")')
    assert "Total: 5 / 5 points" in done.stdout and "FAIL" not in done.stdout
    assert done.stdout.count("PASS") == 3, done.stdout


def test_self_check_survives_an_endless_loop(softmax_folder: Path) -> None:
    source = (softmax_folder / "softmax_nll.py").read_text(encoding="utf-8")
    stuck = source.replace('raise NotImplementedError("softmax_nll task 1: softmax")', "while True:\n        pass", 1)
    assert stuck != source
    (softmax_folder / "softmax_nll.py").write_text(stuck, encoding="utf-8")
    done = self_check(softmax_folder, 'check("softmax", timeout=4)')
    assert done.returncode == 0 and "did not finish within 4 s" in done.stdout, done.stdout + done.stderr


def test_self_check_names_the_tasks_for_an_unknown_one(softmax_folder: Path) -> None:
    done = self_check(softmax_folder, 'check("softmx")')
    assert "ValueError: unknown task 'softmx'" in done.stderr
    assert "softmax, log_softmax, nll_loss, cross_entropy, cross_entropy_backward" in done.stderr
