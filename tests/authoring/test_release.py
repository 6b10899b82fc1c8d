"""``autograder release``: reproducible zips, the student zip run as a student would, and the
autograder zip run as Gradescope would, in a simulated ``/autograder`` root.

The student zip is unzipped into an empty folder and run with this environment's packages
but without this repository: Python starts with ``-S`` (no .pth files, so the editable
install of ``autograder`` is unreachable) and the site-packages folder on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder import assignment, results
from autograder.authoring import bugzoo, leaks, release
from conftest import REPO, isolation_available, sandbox_python

NAMES = assignment.names()
SITE = sysconfig.get_path("purelib")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("release")


_released: dict[str, release.Released] = {}


def released(name: str, out: Path) -> release.Released:
    """Release one assignment once per test module."""
    if name not in _released:
        # the solution zip's executed notebook (not byte-reproducible) is tested in test_notebooks.py
        _released[name] = release.release([name], out / name, echo=lambda _: None, execute=False)[0]
    return _released[name]


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


# --------------------------------------------------------------------------- the zips

@pytest.mark.parametrize("name", NAMES)
def test_release_writes_three_reproducible_zips(name: str, out: Path, tmp_path: Path) -> None:
    first = released(name, out)
    assert sorted(first.zips) == ["autograder", "solution", "student"]
    again = release.release([name], tmp_path, echo=lambda _: None, execute=False)[0]
    for kind, path in first.zips.items():
        assert path.name == f"{name}-{kind}.zip"
        assert path.read_bytes() == again.zips[kind].read_bytes(), f"{kind} zip differs between two releases"
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            assert zf.testzip() is None
        names = [i.filename for i in infos]
        assert names == sorted(names) and len(set(names)) == len(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or ".hypothesis" in n]
        assert {i.external_attr >> 16 for i in infos} <= {0o100644, 0o100755}


def test_source_date_epoch_sets_the_timestamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    path = tmp_path / "x.zip"
    release.write_zip(path, {"b.txt": (b"b", False), "a.sh": (b"#!/bin/sh\n", True)})
    with zipfile.ZipFile(path) as zf:
        assert [i.filename for i in zf.infolist()] == ["a.sh", "b.txt"]
        assert zf.getinfo("a.sh").date_time == (2023, 11, 14, 22, 13, 20)
        assert zf.getinfo("a.sh").external_attr >> 16 == 0o100755


@pytest.mark.parametrize("name", NAMES)
def test_student_zip_contents(name: str, out: Path) -> None:
    spec = assignment.load(name)
    files = members(released(name, out).zips["student"])
    for required in ("README.md", spec.module_file, "assignment.toml", "conftest.py", "pytest.ini", "requirements.txt",
                     "autograder/__init__.py", "autograder/pytest_plugin.py"):
        assert required in files, required
    assert files["README.md"] == (spec.folder / "README.md").read_bytes()
    assert files[spec.module_file] == spec.template_file.read_bytes()
    public = sorted(p.relative_to(spec.folder).as_posix() for p in (spec.tests_dir / "public").rglob("*.py")
                    if "__pycache__" not in p.parts)
    assert public and all(p in files for p in public)
    assert not [n for n in files if n.startswith(("tests/hidden", "solutions", "bugzoo"))]
    timed = sorted(p.relative_to(spec.folder).as_posix() for p in (spec.tests_dir / "performance").rglob("*.py")
                   if "__pycache__" not in p.parts)
    assert timed and all(p in files for p in timed)  # the local performance check
    # only the support code local mode needs: nothing of grading, batch grading or releasing
    shipped = {n for n in files if n.startswith("autograder/")}
    for module in ("grading", "batch", "verification", "bugzoo", "release", "leaks", "templates", "cli",
                   "sandbox", "user_slots"):  # the sandbox is Linux-only: local mode runs on any OS
        assert f"autograder/{module}.py" not in shipped
    ini = files["pytest.ini"].decode()
    assert all(f"    {marker}: " in ini for marker in spec.tasks) and "--strict-markers" in ini
    reqs = files["requirements.txt"].decode()
    for package in ("numpy==", "torch==", "pytest==", "gradescope-utils==", "download.pytorch.org/whl/cpu"):
        assert package in reqs
    assert "click" not in reqs and "jsonschema" not in reqs


@pytest.mark.parametrize("name", NAMES)
def test_autograder_zip_contents(name: str, out: Path) -> None:
    spec = assignment.load(name)
    with zipfile.ZipFile(released(name, out).zips["autograder"]) as zf:
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        files = {n: zf.read(n) for n in modes}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o100755
    assert f'ASSIGNMENT="{name}"' in files["run_autograder"].decode()
    assert files[f"solutions/{name}/{spec.module_file}"] == spec.solution_file.read_bytes()
    hidden = [p for p in (spec.tests_dir / "hidden").rglob("*.py") if "__pycache__" not in p.parts]
    assert all(files[p.relative_to(REPO).as_posix()] == p.read_bytes() for p in hidden)
    assert "autograder/grading.py" in files and "autograder/gradescope_results.schema.json" in files
    assert not [n for n in files if "/bugzoo/" in n], "the bug zoo is not needed to grade"
    setup = files["setup.sh"].decode()
    assert "python3" in setup and "pip install" in setup and "-r requirements.txt" in setup
    reqs = files["requirements.txt"].decode()
    assert "download.pytorch.org/whl/cpu" in reqs and "click==" in reqs and "# grader only" not in reqs


def test_requirements_are_pinned() -> None:
    from packaging.requirements import Requirement

    for student in (True, False):
        lines = [ln.split("#")[0].strip() for ln in release.requirements(student).decode().splitlines()]
        reqs = [Requirement(ln) for ln in lines if ln and not ln.startswith("-")]
        assert reqs and all(str(r.specifier).startswith("==") for r in reqs), reqs


@pytest.mark.parametrize("name", NAMES)
def test_solution_zip_holds_reference_and_handout(name: str, out: Path) -> None:
    spec = assignment.load(name)
    files = members(released(name, out).zips["solution"])
    assert files == {spec.module_file: spec.solution_file.read_bytes(),
                     "README.md": (spec.folder / "README.md").read_bytes()}


@pytest.mark.parametrize("name", NAMES)
def test_student_zip_has_no_leaks(name: str, out: Path) -> None:
    path = released(name, out).zips["student"]
    assert leaks.check_zip(assignment.load(name), path) == []


@pytest.mark.parametrize("name", NAMES)
def test_handout_math_renders_on_github(name: str, out: Path) -> None:
    readme = members(released(name, out).zips["student"])["README.md"].decode()
    assert "$" in readme, "the handout states its math in GitHub-flavoured Markdown ($...$)"
    assert release.markdown_math_problems(readme) == []


@pytest.mark.parametrize("text,problem", [
    ("the loss $L = -\\log p$ is", None),
    ("a $x$ and $$\ny = 2\n$$ display", None),
    ("`$HOME` is code, so is\n```\necho $x\n```\n", None),
    ("price is $5 and", "odd number of $"),
    ("spaced $ x $ math", "space inside"),
    ("opens\n$$\nx = 1\nnever closed", "never closed"),
    ("| a | $|x|$ |", "splits the table cell"),
])
def test_markdown_math_check(text: str, problem: str | None) -> None:
    found = release.markdown_math_problems(text)
    assert (found == []) if problem is None else any(problem in f for f in found), found


def test_release_refuses_a_stale_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autograder.authoring import templates
    from autograder.errors import AuthoringError

    monkeypatch.setattr(templates, "check", lambda names=None: ["student_template/x/x.py"])
    with pytest.raises(AuthoringError, match="build-templates"):
        release.release(["softmax_nll"], tmp_path, echo=lambda _: None)
    assert not list(tmp_path.iterdir())


def test_cli_release(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "autograder", "release", "softmax_nll", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"softmax_nll-{k}.zip" for k in
                                                          ("autograder", "solution", "student")]
    assert "softmax_nll-student.zip" in proc.stdout and "kB" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "autograder", "release", "no_such", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown assignment" in bad.stderr


# --------------------------------------------------------------------------- the student's side

@pytest.mark.parametrize("name", NAMES)
def test_handout_states_platforms_local_checks_and_what_a_regrade_keeps(name: str) -> None:
    spec = assignment.load(name)
    text = " ".join((spec.folder / "README.md").read_text(encoding="utf-8").split())
    assert "Everything in the archive runs on Linux, macOS and Windows, with Python 3.10 to 3.13." in text
    assert "`pytest --tb=long` shows the full traceback." in text
    assert f"A call that runs longer than {spec.limits.call_seconds:g} s fails its test, as when grading." in text
    assert "pytest tests/performance # performance tests: an estimate on this machine" in text
    assert ("Every grading draws new inputs from a fresh seed (recorded for the course staff), so the inputs differ "
            "from one grading to the next; your correctness score does not: grading the same file twice gives the "
            "same correctness score.") in text
    assert "twice gives the same score" not in text


POSIX_ONLY = ("resource", "fcntl", "pwd", "grp", "termios", "tty", "pty", "syslog", "crypt", "spwd", "nis")
"""Standard-library modules that Windows lacks: every student run below has them unimportable."""
AS_ON_WINDOWS = f"import sys; sys.modules.update(dict.fromkeys({POSIX_ONLY!r}))"


def student_run(folder: Path, *args: str, code: str = "import pytest; sys.exit(pytest.main(sys.argv[1:]))"
                ) -> subprocess.CompletedProcess[str]:
    """pytest in the unzipped folder, with the installed packages but not this repository, and, as on
    Windows, without the POSIX-only modules (an ``import resource`` there raises ImportError)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": SITE, "HOME": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-S", "-c", f"{AS_ON_WINDOWS}; {code}", "-p", "no:cacheprovider", *args],
                          capture_output=True, text=True, cwd=folder, env=env, timeout=600)


def test_student_runs_have_no_posix_only_modules(tmp_path: Path) -> None:
    proc = student_run(tmp_path, code="import resource")
    assert proc.returncode == 1 and "ModuleNotFoundError: import of resource halted" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_student_zip_runs_the_public_tests_with_plain_pytest(name: str, out: Path, tmp_path: Path) -> None:
    spec = assignment.load(name)
    folder = tmp_path / "unzipped"
    folder.mkdir()
    with zipfile.ZipFile(released(name, out).zips["student"]) as zf:
        zf.extractall(folder)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": SITE}
    where = [sys.executable, "-S", "-c", "import autograder; print(autograder.__file__)"]
    inside = subprocess.run(where, capture_output=True, text=True, cwd=folder, env=env, timeout=120)
    assert Path(inside.stdout.strip()).resolve() == (folder / "autograder" / "__init__.py").resolve()
    outside = subprocess.run(where, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert outside.returncode == 1 and "No module named 'autograder'" in outside.stderr

    public = spec.points["public"]
    stub = student_run(folder)
    assert stub.returncode == 1, stub.stdout[-3000:]
    assert f"Total: 0 / {public:g} points" in stub.stdout
    summary = stub.stdout.split("= points =")[-1]
    failed = [line for line in summary.splitlines() if line.startswith("FAIL ")]
    assert failed and not [line for line in summary.splitlines() if line.startswith("PASS ")]
    assert f"{name} task " in stub.stdout.split("= points =")[0]  # each failure's short block names the task
    assert "Traceback" not in stub.stdout and "autograder/" not in stub.stdout, stub.stdout[-3000:]
    timed = student_run(folder, "tests/performance")  # the local performance check, on the stub
    assert "Performance tests: an estimate on this machine (Gradescope times them again)" in timed.stdout
    assert f"Total: 0 / {spec.points['performance']:g} points" in timed.stdout, timed.stdout[-3000:]

    shutil.copyfile(spec.solution_file, folder / spec.module_file)
    ok = student_run(folder)
    assert ok.returncode == 0, ok.stdout[-3000:]
    assert f"Total: {public:g} / {public:g} points" in ok.stdout
    points = [line for line in ok.stdout.splitlines() if line.startswith("PASS ")]
    assert len(points) >= len(spec.tasks) and all(" / " in line for line in points)

    task = next(iter(spec.tasks))
    one = student_run(folder, "-m", task)
    assert one.returncode == 0, one.stdout[-3000:]
    assert "deselected" in one.stdout and "Total: " in one.stdout
    assert len([ln for ln in one.stdout.splitlines() if ln.startswith("PASS ")]) < len(points)


# --------------------------------------------------------------------------- Gradescope's side

@pytest.fixture
def gradescope_root() -> Iterator[Path]:
    """A fresh /autograder stand-in, searchable (not listable) by other users, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="ag-gradescope-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def run_autograder(root: Path, zip_path: Path, module_file: str, source: str, *, python: str = sys.executable,
                   **env: str) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """Lay out Gradescope's root as its harness does, run run_autograder, return the validated results."""
    shutil.rmtree(root / "source", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "source").mkdir()
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            zf.extract(info, root / "source")
            os.chmod(root / "source" / info.filename, info.external_attr >> 16 & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "submission" / module_file).write_text(source, encoding="utf-8")
    environment = {"PATH": "/usr/bin:/bin", "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": python,
                   **{f"AUTOGRADER_{k.upper()}": v for k, v in env.items()}}
    proc = subprocess.run([str(root / "run_autograder")], capture_output=True, text=True, cwd=root,
                          env=environment, timeout=900)
    path = root / "results" / "results.json"
    assert path.is_file(), f"no results.json (exit {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    data = json.loads(path.read_text(encoding="utf-8"))
    results.validate(data)
    assert f"autograder: {root / 'source' / 'autograder' / '__init__.py'}" in proc.stdout, "graded by another copy"
    return data, proc


def grader_errors(data: dict) -> list[str]:
    return list(data.get("extra_data", {}).get("grader_errors", []))


ATTACK = '''

# ---- adversarial additions: read the grader's secrets, forge the results
import glob as _glob

_SECRETS = {secrets!r}
_stolen = []
for _path in _SECRETS + _glob.glob({root!r} + "/source/**/*.py", recursive=True):
    try:
        with open(_path, encoding="utf-8") as _fh:
            _stolen.append(_fh.read())
    except OSError as _exc:
        print("blocked:", type(_exc).__name__)
print("STOLEN " + str(len(_stolen)) + " files:", "\\n".join(_stolen)[:20000])
try:
    with open({root!r} + "/results/results.json", "w", encoding="utf-8") as _fh:
        _fh.write('{{"score": 100, "output": "AG-FORGED", "tests": []}}')
except OSError as _exc:
    print("results blocked:", type(_exc).__name__)
'''


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_simulated_gradescope_run(name: str, out: Path, gradescope_root: Path) -> None:
    spec = assignment.load(name)
    path = released(name, out).zips["autograder"]
    root = gradescope_root

    ref, _ = run_autograder(root, path, spec.module_file, bugzoo.reference_source(spec))
    failed = [t["name"] for t in ref["tests"] if t["status"] != "passed"]
    assert ref["score"] == 100 and not failed and not grader_errors(ref), failed or grader_errors(ref)
    assert ref["extra_data"]["isolation"] in ("bubblewrap", "user")

    stub, proc = run_autograder(root, path, spec.module_file, spec.template_file.read_text(encoding="utf-8"))
    assert stub["score"] == 0 and not grader_errors(stub) and proc.returncode == 0

    bugs = bugzoo.entries(spec)
    if bugs:
        bug = bugs[0]
        data, _ = run_autograder(root, path, spec.module_file, bugzoo.materialize(spec, bug),
                                 select=" or ".join(bug.caught_by))
        assert not grader_errors(data) and data["score"] < sum(t["max_score"] for t in data["tests"])

    hidden = [p for p in (spec.tests_dir / "hidden").rglob("*.py") if "__pycache__" not in p.parts]
    secrets = [str(root / "source" / p.relative_to(REPO)) for p in [*hidden, spec.solution_file]]
    attack = spec.template_file.read_text(encoding="utf-8") + ATTACK.format(secrets=secrets, root=str(root))
    data, proc = run_autograder(root, path, spec.module_file, attack, select=next(iter(spec.tasks)))
    feedback = "\n".join([data["output"]] + [t["output"] for t in data["tests"]])
    assert data["score"] == 0 and not grader_errors(data) and proc.returncode == 0
    assert "AG-FORGED" not in json.dumps(data) and "blocked:" in feedback and "STOLEN 0 files" in feedback
    assert leaks.check_files(spec, {"feedback": feedback.encode()}) == []


@pytest.mark.slow
@pytest.mark.skipif(not isolation_available("user"), reason="needs root and a Python an unprivileged user can run")
@pytest.mark.parametrize("name", NAMES)
def test_simulated_gradescope_run_as_unprivileged_user(name: str, out: Path, gradescope_root: Path) -> None:
    """Root without namespaces, as on Gradescope: run_autograder's lock-down leaves nothing readable."""
    spec = assignment.load(name)
    task = next(iter(spec.tasks))
    data, proc = run_autograder(gradescope_root, released(name, out).zips["autograder"], spec.module_file,
                                bugzoo.reference_source(spec), python=sandbox_python(), isolation="user", select=task)
    extra = data["extra_data"]
    assert extra["isolation"] == "user" and "isolation_warning" not in extra, extra.get("isolation_warning")
    assert not grader_errors(data) and proc.returncode == 0
    assert data["tests"] and all(t["status"] == "passed" for t in data["tests"])
    assert data["score"] == pytest.approx(sum(t["max_score"] for t in data["tests"])) and data["score"] > 0
