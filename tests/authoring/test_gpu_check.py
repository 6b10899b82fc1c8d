"""make gpu-check, on the CPU: arguments, the wheel folder, loop entries, checks, figures, the report.

What needs a GPU (the gradings, stability and throughput on CUDA) runs in ``make gpu-check``
itself; here each piece is fed fabricated inputs, and the parts that run anywhere (pip, pytest
with the require-CUDA switch, the device step without CUDA) run for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from autograder import assignment
from autograder.authoring import gpu_check
from autograder.authoring.gpu_check import (
    CudaTests,
    Figure,
    Grading,
    Peak,
    Ratio,
    Report,
    Step,
    figures_of,
    known_peak,
    loop_entries,
    parse_args,
    parse_wheel,
    wheel_fits,
)
from autograder.errors import UsageError
from autograder.results import GradingResult, from_gradescope
from autograder.runner import GradeRun

REPO = Path(__file__).resolve().parents[2]
HAS_CUDA = torch.cuda.is_available()


# --------------------------------------------------------------------------- arguments

def test_run_arguments_are_read() -> None:
    args = parse_args(["run", "--out", "r", "--assignment", "softmax_nll", "--assignment", "optim", "--runs", "3",
                       "--budget", "300", "--workers", "4"])
    assert (args.command, args.out, args.assignments, args.runs, args.budget, args.workers) == (
        "run", Path("r"), ["softmax_nll", "optim"], 3, 300.0, 4)
    defaults = parse_args(["run", "--out", "r"])
    assert (defaults.assignments, defaults.runs, defaults.budget) == ([], 2, gpu_check.BUDGET_SECONDS)
    wheels = parse_args(["wheels", "dir"])
    assert (wheels.folder, wheels.python_version, wheels.glibc) == (Path("dir"), "3.12", "2.28")


@pytest.mark.parametrize(("argv", "message"), [
    ([], "required: command"),
    (["run"], "--out"),
    (["run", "--out", "r", "--runs", "0"], "--runs must be a positive number, not '0'"),
    (["run", "--out", "r", "--budget", "soon"], "--budget must be a positive number, not 'soon'"),
    (["run", "--out", "r", "--assignment", "nope"], "unknown assignment 'nope'"),
    (["wheels", "dir", "--python-version", "3"], "--python-version '3'"),
    (["wheels", "dir", "--glibc", "1.9"], "--glibc 1.9"),
    (["install", "dir"], "--venv"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_bad_arguments_are_one_line_usage_errors(argv: list[str], message: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        parse_args(argv)
    assert gpu_check.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpu-check: error: ") and message in err and err.count("\n") == 1


def test_install_refuses_a_folder_that_is_not_a_wheel_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"not a wheel folder .*`make gpu-wheels"):
        gpu_check.install(tmp_path, tmp_path / "venv")
    assert not (tmp_path / "venv").exists()


def test_install_refuses_wheels_for_another_python_before_touching_anything(tmp_path: Path) -> None:
    (tmp_path / gpu_check.MANIFEST).write_text(json.dumps({"python": "2.7"}), encoding="utf-8")
    (tmp_path / gpu_check.REQUIREMENTS).write_text("numpy\n", encoding="utf-8")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    with pytest.raises(UsageError, match=f"wheels for Python 2.7, but .* is Python {here}"):
        gpu_check.install(tmp_path, tmp_path / "venv")
    assert not (tmp_path / "venv").exists()


# --------------------------------------------------------------------------- the wheel folder

def test_runtime_requirements_leave_out_torch_and_its_cuda_packages(tmp_path: Path) -> None:
    names = [gpu_check.requirement_name(r) for r in gpu_check.runtime_requirements()]
    assert "torch" not in names and {"numpy", "pytest", "dask", "matplotlib"} <= set(names)
    fake = tmp_path / "pyproject.toml"
    fake.write_text('[project]\ndependencies = ["torch>=2.5", "Nvidia_CuBLAS-cu12", "triton", "numpy"]\n'
                    '[build-system]\nrequires = ["setuptools>=68"]\n', encoding="utf-8")
    assert gpu_check.runtime_requirements(fake) == ["numpy"]
    assert gpu_check.build_requirements(fake) == ["setuptools>=68"]


def test_manylinux_tags_accept_older_glibc_only() -> None:
    tags = gpu_check.platforms("2.28")
    assert tags[0] == "manylinux_2_28_x86_64" and {"manylinux_2_17_x86_64", "manylinux2014_x86_64",
                                                   "manylinux1_x86_64"} <= set(tags)
    assert "manylinux_2_28_x86_64" not in gpu_check.platforms("2.17")
    assert "manylinux2014_x86_64" not in gpu_check.platforms("2.12")


@pytest.mark.parametrize(("filename", "fits"), [
    ("numpy-2.5.5-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", True),
    ("numpy-2.5.5-cp311-cp311-manylinux_2_27_x86_64.whl", False),
    ("click-8.5.1-py3-none-any.whl", True),
    ("locket-1.0.0-py2.py3-none-any.whl", True),
    ("psutil-7.2.2-cp36-abi3-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", True),
    ("future-1.0-cp313-abi3-manylinux_2_17_x86_64.whl", False),
    ("numpy-2.5.5-cp312-cp312-manylinux_2_34_x86_64.whl", False),
    ("numpy-2.5.5-cp312-cp312-manylinux_2_28_aarch64.whl", False),
    ("numpy-2.5.5-cp312-cp312-win_amd64.whl", False),
    ("old-1.0-py2-none-any.whl", False),
])
def test_a_wheel_fits_cpython_312_on_manylinux_x86_64(filename: str, fits: bool) -> None:
    wheel = parse_wheel(filename)
    assert wheel is not None and wheel_fits(wheel, "3.12", "2.28") is fits


def test_wheel_names_are_normalised_and_other_files_ignored() -> None:
    wheel = parse_wheel("Jinja2-3.1.6-py3-none-any.whl")
    assert wheel is not None and (wheel.name, wheel.version) == ("jinja2", "3.1.6")
    assert parse_wheel("python_dateutil-4.0.0-1build-py3-none-any.whl") is not None
    assert parse_wheel("requirements.txt") is None and parse_wheel("a-b.whl") is None


@pytest.mark.slow
def test_the_wheel_folder_for_python_312_is_complete_without_torch(tmp_path: Path) -> None:
    """The real `make gpu-wheels` (pip download from PyPI; about 25 s here, less with pip's cache)."""
    folder = tmp_path / "wheels"
    proc = subprocess.run(["make", "-s", "gpu-wheels", f"WHEELS={folder}"], cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheels = [w for w in (parse_wheel(p.name) for p in folder.glob("*.whl")) if w]
    assert wheels and all(wheel_fits(w, "3.12") for w in wheels)
    assert not [w.name for w in wheels if gpu_check.EXCLUDED.match(w.name)]
    manifest = json.loads((folder / gpu_check.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["python"] == "3.12" and manifest["requirements"] == gpu_check.runtime_requirements()
    # every direct requirement for 3.12 (tomli is for Python < 3.11 only) and the build backend
    direct = [gpu_check.requirement_name(r) for r in manifest["requirements"] if "python_version < '3.11'" not in r]
    assert gpu_check.missing_wheels(folder, [*direct, "setuptools"]) == []
    # and everything they pull in: pip resolves the requirements again from the folder alone
    target = tmp_path / "target"
    target.mkdir()
    subprocess.run(gpu_check.resolve_command(folder, target), check=True, capture_output=True, timeout=600)
    resolved = [gpu_check.normalize(i["metadata"]["name"])
                for i in json.loads((target / "report.json").read_text(encoding="utf-8"))["install"]]
    assert len(resolved) > len(direct) and gpu_check.missing_wheels(folder, resolved) == []
    assert not [n for n in resolved if gpu_check.EXCLUDED.match(n)]


def test_the_install_reads_only_the_wheel_folder_and_leaves_torch_alone(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://example.invalid/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "/elsewhere")
    env = gpu_check._hermetic_pip_env()
    assert env["PIP_CONFIG_FILE"] == os.devnull and "PIP_INDEX_URL" not in env and "PIP_FIND_LINKS" not in env
    pip = ["venv/bin/python", "-m", "pip"]
    deps, project = gpu_check.install_commands(pip, tmp_path, tmp_path / "c.txt", REPO).values()
    for cmd in (deps, project):
        assert cmd[:4] == [*pip, "install"] and "--no-index" in cmd
        assert cmd[cmd.index("--find-links") + 1] == str(tmp_path)
        assert not [a for a in cmd if a.startswith("torch")]
    assert deps[deps.index("-c") + 1] == str(tmp_path / "c.txt")
    assert deps[deps.index("-r") + 1] == str(tmp_path / gpu_check.REQUIREMENTS)
    assert project[-3:] == ["--no-deps", "-e", str(REPO)]


# --------------------------------------------------------------------------- loop entries

def _fake_assignment(tmp_path: Path, bugs: str) -> SimpleNamespace:
    """Just what loop_entries reads: tests/performance/*.py and bugzoo/zoo.toml."""
    (tmp_path / "tests" / "performance").mkdir(parents=True)
    (tmp_path / "tests" / "performance" / "test_performance.py").write_text(
        "def test_speed():\n    pass\n\n\ndef test_memory():\n    pass\n\n\ndef helper():\n    pass\n", encoding="utf-8")
    (tmp_path / "bugzoo").mkdir()
    (tmp_path / "bugzoo" / "zoo.toml").write_text(bugs, encoding="utf-8")
    return SimpleNamespace(tests_dir=tmp_path / "tests", bugzoo_dir=tmp_path / "bugzoo")


def _bug(name: str, reason: str, caught_by: list[str]) -> str:
    return (f'[[bug]]\nname = "{name}"\nreason = "{reason}"\ncaught_by = {json.dumps(caught_by)}\n'
            '[[bug.edit]]\nold = "a"\nnew = "b"\n\n')


def test_loop_entries_are_loops_caught_by_performance_tests_only(tmp_path: Path) -> None:
    spec = _fake_assignment(tmp_path, "".join([
        _bug("row_loop", "correct, but one row at a time in a Python loop", ["test_speed"]),
        _bug("loop_over_heads", "correct but slow", ["test_speed", "test_memory"]),
        _bug("wrong_and_looping", "loops over rows and gets the sign wrong", ["test_speed", "test_values"]),
        _bug("copies_everything", "correct, but holds 4x the parameters", ["test_memory"]),
        _bug("helper_loop", "a loop caught by a helper, not a test", ["helper"]),
        _bug("sloop", "no loop word here: sloops are boats", ["test_speed"]),
    ]))
    assert gpu_check.performance_functions(spec) == {"test_speed", "test_memory"}
    assert [b.name for b in loop_entries(spec)] == ["row_loop", "loop_over_heads", "sloop"]


def test_the_real_zoos_have_loop_entries_for_the_timed_torch_assignments() -> None:
    found = {name: [b.name for b in loop_entries(assignment.load(name))] for name in assignment.names()}
    assert found["softmax_nll"] == ["cross_entropy_row_loop", "backward_row_loop"]
    assert "per_element_loop" in found["optim"] and "all_updates_then_apply" not in found["optim"]
    assert found["attention"] and found["dropout"]
    for name in found:
        timed = gpu_check.performance_functions(assignment.load(name))
        assert all(set(b.caught_by) <= timed for b in loop_entries(assignment.load(name))), name


# --------------------------------------------------------------------------- checks of gradings

def _results(tests: list[tuple[str, str, float, float, str]], device: str = "cuda", errors: tuple[str, ...] = (),
             exit_code: int = 0, records: dict[str, Any] | None = None) -> GradeRun:
    """A grading that wrote a results.json: (shown name, function, score, max, category) per test."""
    data = {"score": sum(t[2] for t in tests),
            "tests": [{"name": n, "score": s, "max_score": m, "status": "passed" if s == m else "failed", "tags": [c]}
                      for n, _, s, m, c in tests],
            "extra_data": {"device": device, "grader_errors": list(errors),
                           "test_functions": {n: f for n, f, *_ in tests}, "tests": records or {}}}
    return GradeRun(exit_code, "", False, 0.5, from_gradescope(data), None)


FULL = [("softmax", "test_softmax", 90.0, 90.0, "hidden"), ("speed", "test_speed", 10.0, 10.0, "performance")]
SLOW = [("softmax", "test_softmax", 90.0, 90.0, "hidden"), ("speed", "test_speed", 0.0, 10.0, "performance")]


def test_the_reference_must_score_100_on_cuda() -> None:
    assert gpu_check.check_reference("a", _results(FULL), 1.0).ok
    assert not gpu_check.check_reference("a", _results(SLOW), 1.0).ok
    on_cpu = gpu_check.check_reference("a", _results(FULL, device="cpu"), 1.0)
    assert not on_cpu.ok and "not cuda" in on_cpu.note
    assert not gpu_check.check_reference("a", _results(FULL, errors=("worker died",)), 1.0).ok


def test_the_stub_must_score_0_without_a_grader_error() -> None:
    zero = [(n, f, 0.0, m, c) for n, f, _, m, c in FULL]
    assert gpu_check.check_stub("a", _results(zero), 1.0).ok
    assert not gpu_check.check_stub("a", _results(zero, errors=("boom",)), 1.0).ok
    assert not gpu_check.check_stub("a", _results(zero, exit_code=1), 1.0).ok
    assert not gpu_check.check_stub("a", _results(SLOW), 1.0).ok


def test_a_loop_entry_must_lose_performance_points_in_its_own_tests() -> None:
    bug = SimpleNamespace(name="row_loop", caught_by=("test_speed",))
    slow = gpu_check.check_loop("a", bug, _results(SLOW), 1.0)
    assert slow.ok and slow.performance_lost == 10 and slow.submission == "loop: row_loop"
    fast = gpu_check.check_loop("a", bug, _results(FULL), 1.0)
    assert not fast.ok and "loses no performance point on cuda" in fast.note and "not caught by test_speed" in fast.note
    other = SimpleNamespace(name="row_loop", caught_by=("test_speed", "test_other"))
    assert not gpu_check.check_loop("a", other, _results(SLOW), 1.0).ok


def test_lanes_run_beside_each_other_and_a_broken_job_is_a_failure_line() -> None:
    order: list[str] = []

    def gpu_job(name: str) -> Any:
        return lambda: order.append(name) or [name]

    def broken() -> list[Any]:
        raise RuntimeError("worker died")

    results = gpu_check.run_lanes([gpu_job("g1"), gpu_job("g2"), broken], [lambda: ["c1"], broken], workers=2)
    assert order == ["g1", "g2"]
    assert results[:2] == ["g1", "g2"] and "c1" in results
    assert results.count("RuntimeError: worker died") == 2


# --------------------------------------------------------------------------- peaks and throughput

@pytest.mark.parametrize(("name", "source"), [
    ("NVIDIA H100 80GB HBM3", "datasheet H100 SXM"),
    ("NVIDIA H100 PCIe", "datasheet H100 PCIe"),
    ("NVIDIA H100 NVL", "datasheet H100 NVL"),
    ("NVIDIA H200", "datasheet H200 SXM"),
    ("NVIDIA A100-SXM4-80GB", "datasheet A100 80GB SXM"),
    ("NVIDIA A100 80GB PCIe", "datasheet A100 80GB PCIe"),
    ("NVIDIA A100-PCIE-40GB", "datasheet A100 40GB"),
    ("NVIDIA L4", "datasheet L4"),
    ("NVIDIA L40S", "datasheet L40S"),
    ("NVIDIA A10G", "datasheet A10G"),
    ("Tesla T4", "datasheet T4"),
    ("NVIDIA GeForce RTX 4090", None),
])
def test_known_gpus_are_found_by_name(name: str, source: str | None) -> None:
    peak = known_peak(name)
    assert (peak.source if peak else None) == source


def test_measured_peaks_are_positive_rates() -> None:
    peak = gpu_check.measured_peak("cpu", copy_mb=4, matmul_n=64, repeats=2)
    assert peak.source == "measured on cpu"
    assert all(v is not None and v > 0 for v in (peak.bandwidth_gbs, peak.fp32_tflops, peak.fp16_tflops))


def test_throughput_figures_from_a_reference_grading() -> None:
    peak = Peak("datasheet X", bandwidth_gbs=1000.0, fp32_tflops=50.0, fp16_tflops=500.0)
    def data(function: str, record: dict[str, Any]) -> GradingResult:
        return from_gradescope({"extra_data": {"test_functions": {"shown": function}, "tests": {"shown": record}}})

    runs = {"float16": {"student_ms": 100.0, "yardstick_ms": 200.0}, "float32": {"student_ms": 1000.0}}
    attention_data = data("test_forward_speed", {"model_flops": 2e12, "runs": runs})
    attention = {f.what.split(",")[0]: f for f in figures_of("attention", {}, attention_data, peak)}
    assert attention["float16"].unit == "TFLOP/s" and attention["float16"].student == 20.0
    assert attention["float16"].yardstick == 10.0 and attention["float16"].student_of_peak == 0.04
    assert attention["float32"].student == 2.0 and attention["float32"].peak == 50.0
    assert attention["float32"].yardstick is None
    ce_record = {"student_ms": 0.5, "yardstick_ms": 1.0, "ratio": 0.5, "budget": 4.0}
    [ce] = figures_of("softmax_nll", {"cuda_shape": [1000, 100]}, data("test_cross_entropy_speed", ce_record), peak)
    assert (ce.unit, ce.student, ce.yardstick, ce.student_of_peak) == ("GB/s", 0.8, 0.4, 0.0008)
    adam_record = {"student_ms": 10.0, "yardstick_ms": 5.0, "parameters": 1_000_000}
    [adam] = figures_of("optim", {}, data("test_adam_speed", adam_record), None)
    assert adam.test == "shown" and adam.student == pytest.approx(56e6 / 1e-2 / 1e9) and adam.student_of_peak is None
    # a memory verdict or a test with no model gives no figure
    assert figures_of("optim", {}, data("test_step_memory", {"ratio": 1.0, "budget": 2.0}), peak) == []
    assert figures_of("backprop", {}, data("test_speed_against_autograd", ce_record), peak) == []


# --------------------------------------------------------------------------- the report

def _report() -> Report:
    report = Report("2026-12-05T17:00:00+00:00", device="NVIDIA H100 80GB HBM3", torch="2.11.0+cu126", cuda="12.6",
                    python="3.12.3", seconds=401.5)
    report.steps = [Step("install", 40.0, 48.0), Step("cuda tests", 95.2, 120.0, ok=False, notes=["x"])]
    report.cuda_tests = CudaTests(passed=["t::a"], failed=["t::b: boom"], skipped=["t::c: this machine has CUDA"])
    report.gradings = [Grading("softmax_nll", "reference", 100, 100, 0, True, "100", 12.5),
                       Grading("softmax_nll", "loop: backward_row_loop", 95, 100, 5, True, "loses 5", 20.1)]
    report.ratios = [Ratio("softmax_nll", "cross_entropy speed", "ratio", 2, 0, 0.61, 0.72, 4.0, True),
                     Ratio("backprop", "deep graph", "status", 2, 0, None, None, None, True)]
    report.peaks = [Peak("datasheet H100 SXM", 3350, 67, 989)]
    report.figures = [Figure("softmax_nll", "cross_entropy speed", "logits read once", "GB/s", 1500.5, 1800.0, 3350,
                             0.4479)]
    report.failures = ["CUDA test t::b: boom"]
    return report


def test_the_report_is_written_as_markdown_and_json(tmp_path: Path) -> None:
    md, js = gpu_check.write_report(_report(), tmp_path / "out")
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["ok"] is False and data["device"] == "NVIDIA H100 80GB HBM3" and data["torch"] == "2.11.0+cu126"
    assert data["gradings"][1]["performance_lost"] == 5 and data["ratios"][0]["worst"] == 0.72
    assert data["figures"][0]["student_of_peak"] == 0.4479 and data["cuda_tests"]["failed"] == ["t::b: boom"]
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# GPU check: FAILED")
    for row in ("| softmax_nll | loop: backward_row_loop | 95 / 100 | 5 | 20.1 | yes | loses 5 |",
                "| softmax_nll | cross_entropy speed | ratio | 2 | 0 | 0.61 | 0.72 | 4 | yes |",
                "| backprop | deep graph | status | 2 | 0 | n/a | n/a | n/a | yes |",
                "| softmax_nll | cross_entropy speed | logits read once | GB/s | 1500 | 1800 | 3350 | 0.45 |",
                "- torch 2.11.0+cu126, CUDA 12.6, Python 3.12.3", "- skipped t::c: this machine has CUDA",
                "| cuda tests | 95.2 | 120 | NO |", "- CUDA test t::b: boom"):
        assert row in text, row
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["gpu-check.json", "gpu-check.md"]


def test_a_clean_report_says_passed(tmp_path: Path) -> None:
    report = _report()
    report.failures = []
    md, js = gpu_check.write_report(report, tmp_path)
    assert md.read_text(encoding="utf-8").startswith("# GPU check: passed") and json.loads(js.read_text())["ok"]


def test_junit_outcomes_are_sorted_into_passed_failed_and_skipped() -> None:
    xml = """<testsuites><testsuite>
      <testcase classname="tests.test_cuda" name="ok"/>
      <testcase classname="tests.test_cuda" name="bad"><failure message="assert 99 == 100&#10;more">tb</failure></testcase>
      <testcase classname="tests.test_cuda" name="setup"><error message="failed on setup">tb</error></testcase>
      <testcase classname="tests.test_cuda" name="cpu_only"><skipped message="this machine has CUDA"/></testcase>
    </testsuite></testsuites>"""
    out = gpu_check.junit_summary(xml)
    assert out.passed == ["tests.test_cuda::ok"] and not out.ok
    assert out.failed == ["tests.test_cuda::bad: assert 99 == 100", "tests.test_cuda::setup: failed on setup"]
    assert out.skipped == ["tests.test_cuda::cpu_only: this machine has CUDA"]


# --------------------------------------------------------------------------- the switch and the run without a GPU

@pytest.mark.skipif(HAS_CUDA, reason="checks what happens where no GPU exists")
def test_require_cuda_turns_skipped_cuda_tests_into_failures(tmp_path: Path) -> None:
    """The suite's CUDA tests as make gpu-check runs them (AUTOGRADER_REQUIRE_CUDA=1): none may skip."""
    tests = gpu_check.run_cuda_tests(tmp_path, timeout=300)
    assert len(tests.failed) == len(assignment.names()) and not tests.ok
    assert all("AUTOGRADER_REQUIRE_CUDA=1 forbids skipping a CUDA test" in f for f in tests.failed)
    plain = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "tests/test_cuda.py", "-rs"],
                           cwd=REPO, capture_output=True, text=True, timeout=300,
                           env={k: v for k, v in os.environ.items() if k != gpu_check.REQUIRE_CUDA})
    # the summary line, not the exit code: the suite's leftover check may see another test run's files
    assert f"2 passed, {len(assignment.names())} skipped in" in plain.stdout, plain.stdout[-2000:]


def test_a_bad_require_cuda_value_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "tests/test_cuda.py", "-k", "auto"],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, gpu_check.REQUIRE_CUDA: "yes"})
    assert proc.returncode == 4 and "AUTOGRADER_REQUIRE_CUDA must be 0 or 1, not 'yes'" in proc.stderr


@pytest.mark.skipif(HAS_CUDA, reason="checks what happens where no GPU exists")
def test_run_without_a_gpu_writes_a_failed_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_check.main(["run", "--out", str(tmp_path), "--assignment", "softmax_nll"]) == 1
    data = json.loads((tmp_path / "gpu-check.json").read_text(encoding="utf-8"))
    assert data["ok"] is False and data["device"] == "" and not data["gradings"]
    assert [s["name"] for s in data["steps"]] == ["device"]
    assert any("no CUDA device is available here" in f for f in data["failures"])
    assert "report in" in capsys.readouterr().out



def test_jobs_go_to_the_gpu_lane_only_when_timed_on_the_gpu(tmp_path: Path) -> None:
    gpu, cpu = gpu_check.grading_jobs(["softmax_nll", "backprop"], tmp_path)
    assert len(gpu) == 1 + len(loop_entries(assignment.load("softmax_nll")))  # its reference and loop entries
    assert len(cpu) == 3  # both stubs and backprop's reference (NumPy, timed on the CPU)
    gpu, cpu = gpu_check.stability_jobs(["softmax_nll", "backprop"], 2, tmp_path)
    assert (len(gpu), len(cpu)) == (1, 1)


def test_a_whole_rehearsal_files_every_result_into_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run() end to end on the CPU, with the gradings, the CUDA tests and stability replaced by fabrications."""
    graded: list[tuple[str, str, str | None]] = []

    def fake_grade(name: str, submission: Path, results: Path, device: str,
                   select: str | None = None) -> tuple[GradeRun, float]:
        graded.append((name, results.name, select))
        tests = FULL if results.name == "reference.json" else SLOW
        if results.name == "stub.json":
            tests = [(n, f, 0.0, m, c) for n, f, _, m, c in FULL]
        loop = [(n, "test_cross_entropy_speed" if f == "test_speed" else f, *rest) for n, f, *rest in tests]
        return _results(loop, device=device,
                        records={"speed": {"student_ms": 1.0, "yardstick_ms": 2.0, "device": device}}), 0.5

    def fake_stability(name: str, runs: int, busy: bool, echo: Any, device: str) -> Any:
        record = SimpleNamespace(name="speed", kind="ratio", values=[0.5, 2.5], passed=[True, True],
                                 false_failures=0, limit=4.0, ok=name != "backprop")
        return SimpleNamespace(tests={"speed": record}, errors=[])

    monkeypatch.setattr(gpu_check, "_grade", fake_grade)
    monkeypatch.setattr(gpu_check, "run_cuda_tests", lambda folder, timeout: CudaTests(passed=["t::a"]))
    monkeypatch.setattr("autograder.authoring.stability.stability", fake_stability)
    report = gpu_check.run(gpu_check.Options(tmp_path, ("softmax_nll", "backprop"), runs=2, device="cpu"))
    assert [s.name for s in report.steps] == ["device", "cuda tests", "gradings", "stability"]
    assert sorted(r for _, r, _ in graded) == sorted(
        ["reference.json", "stub.json", "reference.json", "stub.json", "loop-cross_entropy_row_loop.json",
         "loop-backward_row_loop.json"])
    assert ("softmax_nll", "loop-backward_row_loop.json", "test_cross_entropy_backward_speed") in graded
    by_submission = {(g.assignment, g.submission): g for g in report.gradings}
    assert by_submission[("softmax_nll", "reference")].ok and by_submission[("backprop", "stub")].ok
    # the fabricated loop results fail test_cross_entropy_speed, not the backward test it is meant for
    assert by_submission[("softmax_nll", "loop: cross_entropy_row_loop")].ok
    assert not by_submission[("softmax_nll", "loop: backward_row_loop")].ok
    assert [(r.assignment, r.median, r.worst, r.ok) for r in report.ratios] == [
        ("softmax_nll", 1.5, 2.5, True), ("backprop", 1.5, 2.5, False)]
    assert [f.assignment for f in report.figures] == ["softmax_nll"] and report.figures[0].unit == "GB/s"
    assert any("backward_row_loop" in f for f in report.failures)
    assert any(f.startswith("backprop stability speed") for f in report.failures)
    assert json.loads((tmp_path / "gpu-check.json").read_text(encoding="utf-8"))["graded_on"] == "cpu"
