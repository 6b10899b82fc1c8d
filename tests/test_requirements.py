"""Every shipped requirements file installs on each Python the README promises (3.10 to 3.13).

pip's resolver is asked, against the real package index, with the real interpreter of each
version: pip evaluates environment markers (``python_version < "3.11"``) and each release's
``Requires-Python`` with the Python that runs it, so ``--python-version`` would not do.
``--dry-run`` resolves without installing; ``--isolated`` leaves out this machine's pip
configuration (local wheels, constraints), so the answer is the one a student's fresh pip gets;
``--retries 0 --timeout 10`` make the unreachable extra index (PyTorch's CPU index, where only
PyPI is reachable) fail fast instead of hanging.

The files are the student zip's and the autograder zip's ``requirements.txt`` (as ``release``
writes them) and the project's own dependencies (``pyproject.toml``, extras included). One pip
run per Python resolves them together (resolving a union succeeds only if each file resolves),
the four Pythons side by side; only when that fails is each file resolved alone, to name it.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from autograder.authoring import release
from conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYTHONS = ("3.10", "3.11", "3.12", "3.13")
PIP_TIMEOUT = 900
"""Seconds one pip run may take (it downloads torch's wheels to read their metadata)."""


@dataclass(frozen=True)
class Resolution:
    """One pip dry run: the interpreter, its exit code and what it printed."""

    python: Path
    returncode: int
    output: str

    def errors(self) -> str:
        """pip's ERROR lines (the reason a resolution failed), or its last lines."""
        lines = [ln for ln in self.output.splitlines() if ln.startswith("ERROR")]
        return "\n".join(lines or self.output.splitlines()[-15:])


def interpreter(version: str) -> Path | None:
    """CPython ``version`` (e.g. "3.10"): pyenv's newest patch release of it, else ``python3.X`` on PATH."""
    found = {}
    for python in Path.home().glob(f".pyenv/versions/{version}.*/bin/python"):
        patch = python.parent.parent.name.removeprefix(f"{version}.")
        if patch.isdigit():
            found[int(patch)] = python
    if found:
        return found[max(found)]
    path = shutil.which(f"python{version}")
    return Path(path) if path else None


def project_requirements() -> str:
    """The project's own dependencies, extras included, one per line."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [dep for deps in project.get("optional-dependencies", {}).values() for dep in deps]
    return "\n".join([*project["dependencies"], *extras]) + "\n"


def resolve(python: Path, files: list[Path]) -> Resolution:
    """pip's dry-run resolution of ``files`` together, by ``python`` itself."""
    command = [str(python), "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed",
               "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--retries", "0", "--timeout", "10"]
    for file in files:
        command += ["-r", str(file)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    return Resolution(python, proc.returncode, proc.stdout + proc.stderr)


def diagnose(python: Path, files: list[Path]) -> str:
    """Which file fails alone, with pip's reason; or that each resolves alone but not together."""
    alone = {file.name: resolve(python, [file]) for file in files}
    failed = [f"{name}:\n{r.errors()}" for name, r in alone.items() if r.returncode]
    return "\n".join(failed) or "each file resolves alone, but not together (conflicting pins between them)"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The requirements files as shipped: the student zip's, the autograder zip's, the project's."""
    folder = tmp_path_factory.mktemp("requirements")
    files = {"student-requirements.txt": release.requirements(student=True),
             "autograder-requirements.txt": release.requirements(student=False),
             "pyproject-dependencies.txt": project_requirements().encode()}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


@pytest.fixture(scope="module")
def resolutions(shipped: list[Path]) -> dict[str, Resolution | None]:
    """Each Python's resolution of all the files (None where that Python is not installed), run side by side."""
    pythons = {version: interpreter(version) for version in PYTHONS}
    with concurrent.futures.ThreadPoolExecutor(len(PYTHONS)) as pool:
        running = {v: pool.submit(resolve, p, shipped) for v, p in pythons.items() if p is not None}
        return {v: running[v].result() if v in running else None for v in PYTHONS}


@pytest.mark.parametrize("version", PYTHONS)
def test_requirements_resolve(version: str, shipped: list[Path], resolutions: dict[str, Resolution | None]) -> None:
    result = resolutions[version]
    if result is None:
        pytest.skip(f"CPython {version} is not installed (looked in ~/.pyenv/versions and for python{version})")
    assert result.returncode == 0, (f"pip on CPython {version} ({result.python}) cannot install "
                                    f"the shipped requirements:\n{diagnose(result.python, shipped)}")
    assert "Would install" in result.output, result.output[-2000:]


def test_interpreters_are_the_versions_asked_for() -> None:
    for version in PYTHONS:
        python = interpreter(version)
        if python is None:
            continue
        out = subprocess.run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
        assert out == version, python


def pins(student: bool) -> dict[tuple[str, str], str]:
    """(package, marker) -> version of each pin in a shipped file."""
    found = {}
    for line in release.requirements(student).decode().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            found[(req.name, str(req.marker or ""))] = str(req.specifier)
    return found


def test_student_and_autograder_pin_the_same_versions() -> None:
    student, grader = pins(True), pins(False)
    shared = student.keys() & grader.keys()
    assert {name for name, _ in shared} >= {"numpy", "torch", "pytest", "hypothesis"}
    assert {key: student[key] for key in shared} == {key: grader[key] for key in shared}


def test_student_requirements_carry_the_notebook() -> None:
    names = {name for name, _ in pins(True)}
    assert {"notebook", "ipykernel", "matplotlib"} <= names
    assert not {"click", "jsonschema"} & names, "what only the grader needs stays out of the student zip"


def test_version_markers_cover_each_python_once() -> None:
    """A package pinned per Python version has exactly one pin for each of 3.10 to 3.13."""
    for student in (True, False):
        by_name: dict[str, list[str]] = {}
        for name, marker in pins(student):
            by_name.setdefault(name, []).append(marker)
        for name, markers in by_name.items():
            if not any(markers):
                assert len(markers) == 1, name
                continue
            if name == "tomli":  # only Pythons without tomllib need it
                continue
            for version in PYTHONS:
                env = {"python_version": version, "python_full_version": f"{version}.0"}
                matching = [m for m in markers if Requirement(f"x; {m}").marker.evaluate(env)]  # type: ignore[union-attr]
                assert len(matching) == 1, (name, version, markers)


def test_interpreter_picks_the_newest_patch_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("3.10.2", "3.10.13", "3.10.9", "3.11.7"):
        (tmp_path / ".pyenv" / "versions" / name / "bin").mkdir(parents=True)
        (tmp_path / ".pyenv" / "versions" / name / "bin" / "python").touch()
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    assert interpreter("3.10") == tmp_path / ".pyenv/versions/3.10.13/bin/python"
    assert interpreter("3.11") == tmp_path / ".pyenv/versions/3.11.7/bin/python"



def test_gradescope_setup_installs_the_cpu_torch_of_requirements(tmp_path: Path) -> None:
    """setup.sh installs torch from PyTorch's CPU index, with the one torch pin of the autograder's requirements."""
    setup = (release.FILES / "setup.sh").read_text(encoding="utf-8")
    assert '--index-url https://download.pytorch.org/whl/cpu "$TORCH"' in setup
    line = next(ln for ln in setup.splitlines() if ln.startswith("TORCH="))
    (tmp_path / "requirements.txt").write_bytes(release.requirements(student=False))
    got = subprocess.run(["bash", "-c", line.removeprefix("TORCH=$(").removesuffix(")")], capture_output=True,
                         text=True, check=True, cwd=tmp_path).stdout
    torch = [ln for ln in release.requirements(student=False).decode().splitlines() if ln.startswith("torch")]
    assert got.splitlines() == torch == ["torch==2.13.0"]
