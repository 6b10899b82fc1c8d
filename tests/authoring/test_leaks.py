"""The leak check catches secrets by content: deliberately leaky student zips, built here.

Each leak is planted in a copy of the real softmax_nll student zip under an innocent name,
and the check must name it; the real zip is clean (tests/authoring/test_release.py checks every
assignment's).
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest

from autograder import assignment
from autograder.authoring import bugzoo, leaks, release, templates

NAME = "softmax_nll"


@pytest.fixture(scope="module")
def spec() -> assignment.Assignment:
    return assignment.load(NAME)


@pytest.fixture(scope="module")
def secrets(spec: assignment.Assignment) -> leaks.Secrets:
    return leaks.secrets_of(spec)


@pytest.fixture(scope="module")
def clean(spec: assignment.Assignment) -> dict[str, bytes]:
    return {name: data for name, (data, _) in release.student_files(spec).items()}


def leaky_zip(tmp_path: Path, files: dict[str, bytes], planted: dict[str, bytes]) -> Path:
    """A student zip with extra or replaced members."""
    members = dict(files) | planted
    path = tmp_path / f"{NAME}-student.zip"
    release.write_zip(path, {name: (data, False) for name, data in members.items()})
    return path


def region_text(spec: assignment.Assignment, n: int) -> str:
    lines = spec.solution_file.read_text(encoding="utf-8").splitlines(keepends=True)
    begin, end = templates.solution_regions(lines, str(spec.solution_file))[n]
    return "".join(lines[begin + 1:end])


def test_the_real_student_zip_is_clean(spec, clean, secrets, tmp_path):
    assert leaks.check_zip(spec, leaky_zip(tmp_path, clean, {}), secrets) == []


def test_the_check_has_secrets_of_every_kind(spec, secrets):
    regions = len(templates.solution_regions(spec.solution_file.read_text().splitlines(), "ref"))
    assert len(secrets.regions) == regions == len(secrets.bodies)
    assert sum(len(t) for t in secrets.texts.values()) > 100
    assert any("zoo.toml" in p for p in secrets.files.values())
    assert any("test_hidden.py" in p for p in secrets.files.values())


def test_reference_as_the_stub_is_caught(spec, clean, secrets, tmp_path):
    path = leaky_zip(tmp_path, clean, {spec.module_file: bugzoo.reference_source(spec).encode()})
    found = leaks.check_zip(spec, path, secrets)
    assert any("text of solution region 1" in f for f in found), found
    assert any("softmax() has the body of the reference's softmax()" in f for f in found), found


def test_reformatted_and_renamed_reference_code_is_caught(spec, clean, secrets, tmp_path):
    """ast.unparse drops comments and changes quoting and layout; the function gets a new name."""
    tree = ast.parse(bugzoo.reference_source(spec))
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "log_softmax")
    fn.name = "my_helper"
    fn.body = fn.body[1:]  # no docstring
    helper = ast.unparse(ast.Module(body=[fn], type_ignores=[])).encode()
    found = leaks.check_zip(spec, leaky_zip(tmp_path, clean, {"tests/public/helpers.py": helper}), secrets)
    found = [f for f in found if "helpers" in f]
    assert any("code of solution region 2" in f for f in found), found
    assert any("my_helper() has the body of the reference's log_softmax()" in f for f in found), found


def test_a_few_lines_of_a_solution_region_are_caught(spec, clean, secrets, tmp_path):
    lines = [ln for ln in region_text(spec, 3).splitlines() if ln.strip() and not ln.strip().startswith("#")][-4:]
    note = ("Some hints:\n\n" + "\n".join(f"    {ln.strip()}" for ln in lines) + "\n").encode()
    found = leaks.check_zip(spec, leaky_zip(tmp_path, clean, {"NOTES.md": note}), secrets)
    assert any(f.startswith(f"{NAME}-student.zip: NOTES.md:") and "solution region 4" in f for f in found), found


def test_hidden_test_under_another_name_is_caught(spec, clean, secrets, tmp_path):
    hidden = (spec.tests_dir / "hidden" / "test_hidden.py").read_text(encoding="utf-8")
    copy = leaky_zip(tmp_path, clean, {"tests/public/test_more.py": hidden.encode()})
    assert any("test_more.py: a copy of" in f and "test_hidden.py" in f for f in leaks.check_zip(spec, copy, secrets))
    # one hidden test function, pasted into the public tests (not a byte copy of any file)
    tree = ast.parse(hidden)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_"))
    chunk = "".join(hidden.splitlines(keepends=True)[fn.lineno - 1 - len(fn.decorator_list):fn.end_lineno])
    public = clean["tests/public/test_public.py"] + b"\n\n" + chunk.encode()
    found = leaks.check_zip(spec, leaky_zip(tmp_path, clean, {"tests/public/test_public.py": public}), secrets)
    assert any("test_public.py" in f and "text of tests/hidden/test_hidden.py" in f for f in found), found


def test_the_public_tests_share_boilerplate_with_the_hidden_ones_without_a_leak(spec, secrets):
    """Imports and decorators common to both are not secrets (else the real zip would fail)."""
    public = (spec.tests_dir / "public" / "test_public.py").read_bytes()
    assert leaks.check_files(spec, {"tests/public/test_public.py": public}, secrets) == []


def test_bug_zoo_is_caught(spec, clean, secrets, tmp_path):
    zoo = (spec.bugzoo_dir / "zoo.toml").read_bytes()
    found = leaks.check_zip(spec, leaky_zip(tmp_path, clean, {"data/cases.txt": zoo}), secrets)
    assert any("data/cases.txt: a copy of" in f and "zoo.toml" in f for f in found), found
    bug = next(b for b in bugzoo.entries(spec) if len(b.edits[0][1].strip().splitlines()) >= 2)
    readme = clean["README.md"] + b"\n\nCommon mistake:\n\n```python\n" + bug.edits[0][1].encode() + b"```\n"
    found = leaks.check_zip(spec, leaky_zip(tmp_path, clean, {"README.md": readme}), secrets)
    assert any(f"bug-zoo edit of {bug.name!r}" in f for f in found), found
    buggy = bugzoo.materialize(spec, bug).encode()
    found = leaks.check_zip(spec, leaky_zip(tmp_path, clean, {spec.module_file: buggy}), secrets)
    assert found


def test_solution_markers_are_caught(spec, clean, secrets, tmp_path):
    stub = clean[spec.module_file] + b"\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n"
    found = leaks.check_zip(spec, leaky_zip(tmp_path, clean, {spec.module_file: stub}), secrets)
    assert any("a solution marker (### BEGIN SOLUTION)" in f for f in found), found


def test_release_refuses_to_write_a_leaky_student_zip(spec, tmp_path, monkeypatch):
    from autograder.errors import AuthoringError

    real = release.student_files

    def leaky(s):
        files = real(s)
        files["extra.py"] = (spec.solution_file.read_bytes(), False)
        return files

    monkeypatch.setattr(release, "student_files", leaky)
    with pytest.raises(AuthoringError, match=r"leaks: extra\.py: a copy of .*softmax_nll\.py"):
        release.release([NAME], tmp_path, echo=lambda _: None)
    assert not list(tmp_path.glob("*.zip"))


def test_check_zip_reads_every_member(spec, clean, secrets, tmp_path):
    """Members are read whatever their names (a hidden file in a folder with a dot)."""
    path = tmp_path / "odd.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(".cache/x", spec.solution_file.read_bytes())
    assert leaks.check_zip(spec, path, secrets) == [f"odd.zip: .cache/x: a copy of {spec.solution_file}"]


def test_verify_reports_the_leak_check(spec, monkeypatch):
    from autograder.authoring import verification

    assert verification._leak_check(spec).ok
    real = release.student_files
    monkeypatch.setattr(release, "student_files",
                        lambda s: real(s) | {"hint.txt": (b"### BEGIN SOLUTION\n", False)})
    check = verification._leak_check(spec)
    assert not check.ok and "hint.txt:1: a solution marker" in check.note
