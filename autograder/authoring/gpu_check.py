"""``make gpu-check``: every CUDA path of the grader, run once on a real GPU, into one report.

Three commands (``python -m autograder.gpu_check wheels|install|run``), for a GPU machine that
has a CUDA build of PyTorch and no internet:

- ``wheels DIR``, on a machine with internet: ``pip download`` of every runtime dependency of the
  project except torch (and so torch's nvidia-* and triton packages), plus what building the
  project needs (pyproject's ``[build-system] requires``), as wheels for the GPU machine's Python
  and platform (default CPython 3.12, manylinux x86_64 up to glibc 2.28). DIR also gets
  ``requirements.txt`` (the runtime requirements) and ``manifest.json``. pip then resolves the
  requirements again from DIR alone (``--no-index``, ``--dry-run``), so a missing wheel shows here,
  not on the GPU machine.
- ``install DIR --venv V``, on the GPU machine: a virtual environment that sees the machine's own
  torch (``--system-site-packages``, plus a ``.pth`` for a torch that lives in another venv), the
  dependencies from DIR only (``--no-index``, torch pinned to the installed version by a
  constraints file) and the project itself, editable and without dependencies. Afterwards torch
  must be the same file and version as before.
- ``run --out OUT``, in that environment: the test suite's CUDA tests (with
  ``AUTOGRADER_REQUIRE_CUDA=1``: none may skip for lack of CUDA), the reference, the stub and the
  Python-loop bug-zoo entries of every assignment graded with ``--device cuda``, the stability
  check on CUDA, and the throughput of the timed shapes against the GPU's peak. It writes
  ``OUT/gpu-check.md`` and ``OUT/gpu-check.json`` and exits 1 on any failure.

Only the standard library is imported at module level: ``wheels`` and ``install`` run before the
project's dependencies exist. This module belongs to the instructor's side; the engine never
imports it.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import GraderError, UsageError

if TYPE_CHECKING:
    from ..results import GradingResult
    from ..runner import GradeRun

__all__ = [
    "REQUIRE_CUDA", "CudaTests", "Figure", "Grading", "Peak", "Ratio", "Report", "Step", "Wheel", "download_wheels",
    "install", "known_peak", "loop_entries", "main", "missing_wheels", "parse_args", "parse_wheel", "platforms",
    "render_markdown", "run", "runtime_requirements", "wheel_fits", "write_report",
]

REPO = Path(__file__).resolve().parents[2]
REQUIRE_CUDA = "AUTOGRADER_REQUIRE_CUDA"
"""Environment switch read by tests/conftest.py: ``1`` turns "skipped for lack of CUDA" into a failure."""
DEFAULT_PYTHON = "3.12"
DEFAULT_GLIBC = "2.28"
BUDGET_SECONDS = 480.0
"""The whole run, install included, on one modern GPU (issue 19: at most 8 minutes)."""
EXCLUDED = re.compile(r"^(torch|triton|nvidia-.*)$")
"""Normalised names never downloaded nor installed: the GPU machine's own torch and its CUDA libraries."""
MANIFEST = "manifest.json"
REQUIREMENTS = "requirements.txt"
INSTALLED = ".gpu-check-installed"
"""Written into the venv when ``install`` completed (scripts/gpu_check.sh installs again without it)."""


# --------------------------------------------------------------------------- the wheel folder

@dataclass(frozen=True)
class Wheel:
    """A wheel file name, split into its parts (PEP 427)."""

    name: str
    """Normalised (PEP 503): lower case, runs of ``-_.`` as one ``-``."""
    version: str
    python_tags: tuple[str, ...]
    abi_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The normalised distribution name at the start of a PEP 508 requirement."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise UsageError(f"cannot read a package name from the requirement {requirement!r}")
    return normalize(match.group(1))


def _pyproject(path: Path) -> dict[str, Any]:
    """pyproject.toml, parsed."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def runtime_requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """The project's runtime requirements, less torch and its CUDA packages."""
    deps = [str(d) for d in _pyproject(pyproject).get("project", {}).get("dependencies", [])]
    return [d for d in deps if not EXCLUDED.match(requirement_name(d))]


def build_requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """What pip needs to build the project (``[build-system] requires``)."""
    return [str(r) for r in _pyproject(pyproject).get("build-system", {}).get("requires", [])]


def platforms(glibc: str = DEFAULT_GLIBC, arch: str = "x86_64") -> list[str]:
    """Every manylinux tag a machine with this glibc accepts, newest first (legacy aliases included)."""
    major, minor = _version_pair(glibc, "--glibc")
    if major != 2 or minor < 5:
        raise UsageError(f"--glibc {glibc}: expected 2.N with N >= 5, e.g. 2.28")
    tags = [f"manylinux_2_{m}_{arch}" for m in range(minor, 4, -1)]
    aliases = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{alias}_{arch}" for m, alias in aliases.items() if m <= minor]


def _version_pair(text: str, what: str) -> tuple[int, int]:
    """``"3.12"`` -> (3, 12); a one-line usage error naming ``what`` otherwise."""
    match = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
    if match is None:
        raise UsageError(f"{what} {text!r}: expected MAJOR.MINOR, e.g. 3.12")
    return int(match.group(1)), int(match.group(2))


def parse_wheel(filename: str) -> Wheel | None:
    """The parts of a ``.whl`` file name; None for anything else."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        return None
    name, version, py, abi, plat = parts[0], parts[1], parts[-3], parts[-2], parts[-1]
    return Wheel(normalize(name), version, tuple(py.split(".")), tuple(abi.split(".")), tuple(plat.split(".")))


def wheel_fits(wheel: Wheel, python: str = DEFAULT_PYTHON, glibc: str = DEFAULT_GLIBC) -> bool:
    """Whether CPython ``python`` on manylinux x86_64 (this glibc) can install the wheel."""
    major, minor = _version_pair(python, "--python-version")
    cp = f"cp{major}{minor}"
    pure = {f"py{major}", f"py{major}{minor}"} & set(wheel.python_tags) and "none" in wheel.abi_tags
    native = cp in wheel.python_tags and {cp, "abi3", "none"} & set(wheel.abi_tags)
    stable = "abi3" in wheel.abi_tags and any(
        re.fullmatch(rf"cp{major}(\d+)", t) and int(t[2 + len(str(major)):]) <= minor for t in wheel.python_tags)
    platform_ok = "any" in wheel.platform_tags or bool(set(platforms(glibc)) & set(wheel.platform_tags))
    return bool(pure or native or stable) and platform_ok


def missing_wheels(folder: Path, names: Iterable[str], python: str = DEFAULT_PYTHON,
                   glibc: str = DEFAULT_GLIBC) -> list[str]:
    """The names (normalised) that have no fitting wheel in ``folder``."""
    have = {w.name for w in (parse_wheel(p.name) for p in folder.glob("*.whl")) if w and wheel_fits(w, python, glibc)}
    return sorted({normalize(n) for n in names} - have)


def _pip_target(python: str, glibc: str) -> list[str]:
    """pip options that pick wheels for another interpreter and platform."""
    major, minor = _version_pair(python, "--python-version")
    args = ["--only-binary=:all:", "--python-version", f"{major}.{minor}", "--implementation", "cp"]
    for tag in platforms(glibc):
        args += ["--platform", tag]
    return args


def download_command(folder: Path, requirements: list[str], python: str = DEFAULT_PYTHON,
                     glibc: str = DEFAULT_GLIBC) -> list[str]:
    """``pip download`` of ``requirements`` and their dependencies, as wheels for the target, into ``folder``."""
    return [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(folder), *_pip_target(python, glibc),
            *requirements]


def resolve_command(folder: Path, target: Path, python: str = DEFAULT_PYTHON,
                    glibc: str = DEFAULT_GLIBC) -> list[str]:
    """A dry-run install of ``folder``'s requirements from ``folder`` alone: proves the folder is complete.

    ``--ignore-requires-python``: pip checks Requires-Python against the interpreter running it, not
    ``--python-version`` (pip 23); ``pip download`` already chose the wheels for the target's Python.
    """
    return [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-index", "--find-links", str(folder),
            "--ignore-installed", "--ignore-requires-python", "--target", str(target), *_pip_target(python, glibc),
            "--report", str(target / "report.json"), "-r", str(folder / REQUIREMENTS)]


def _run_checked(cmd: list[str], what: str, env: dict[str, str] | None = None, timeout: float = 1800) -> str:
    """Run ``cmd``; its stdout, or a GraderError naming ``what`` with the tail of its stderr."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise GraderError(f"{what} failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def download_wheels(folder: Path, python: str = DEFAULT_PYTHON, glibc: str = DEFAULT_GLIBC,
                    pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """Fill ``folder`` for an offline install; return the runtime requirements written to it."""
    runtime, build = runtime_requirements(pyproject), build_requirements(pyproject)
    folder.mkdir(parents=True, exist_ok=True)
    _run_checked(download_command(folder, runtime + build, python, glibc), "pip download")
    unwanted = sorted(p.name for p in folder.glob("*.whl") if EXCLUDED.match(getattr(parse_wheel(p.name), "name", "")))
    if unwanted:
        raise GraderError(f"pip download pulled torch or its CUDA packages, which the GPU machine has: {unwanted}")
    (folder / REQUIREMENTS).write_text("".join(f"{r}\n" for r in runtime), encoding="utf-8")
    manifest = {"python": python, "glibc": glibc, "platforms": platforms(glibc), "requirements": runtime,
                "build_requirements": build, "created": _now()}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="ag-gpu-wheels-") as tmp:
        _run_checked(resolve_command(folder, Path(tmp), python, glibc), f"an offline install from {folder}")
    return runtime


# --------------------------------------------------------------------------- install on the GPU machine

def _hermetic_pip_env() -> dict[str, str]:
    """This environment without pip settings: the install reads nothing but the wheel folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


_TORCH_IDENTITY = "import json, torch; print(json.dumps([torch.__version__, torch.__file__]))"


def torch_identity(python: str) -> tuple[str, str]:
    """(version, file) of the torch that ``python`` imports."""
    out = subprocess.run([python, "-c", _TORCH_IDENTITY], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise UsageError(f"{python} cannot import torch: install a CUDA build of PyTorch first "
                         f"({(out.stderr.strip().splitlines() or ['no output'])[-1]})")
    version, path = json.loads(out.stdout.strip().splitlines()[-1])
    return str(version), str(path)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The wheel folder's manifest, or a usage error saying how to make one."""
    path = folder / MANIFEST
    if not path.is_file() or not (folder / REQUIREMENTS).is_file():
        raise UsageError(f"{folder} is not a wheel folder (no {MANIFEST} / {REQUIREMENTS}): run "
                         f"`make gpu-wheels WHEELS={folder}` on a machine with internet")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment."""
    return venv / "bin" / "python"


def install_commands(pip: list[str], folder: Path, constraints: Path, repo: Path = REPO) -> dict[str, list[str]]:
    """The two offline pip installs: dependencies (torch pinned), then the project (editable, no deps)."""
    base = [*pip, "install", "--quiet", "--no-index", "--find-links", str(folder)]
    return {"installing the requirements": [*base, "-c", str(constraints), "-r", str(folder / REQUIREMENTS)],
            "installing the project (editable)": [*base, "--no-deps", "-e", str(repo)]}


def make_venv(python: str, venv: Path) -> list[str]:
    """A venv over ``python``'s packages; the pip command that installs into it.

    Where ``venv`` cannot bootstrap pip (Debian's Python without python3-venv), the venv is made
    without pip and ``python``'s own pip installs into it (``pip --python``).
    """
    made = subprocess.run([python, "-m", "venv", "--clear", "--system-site-packages", str(venv)], capture_output=True,
                          text=True, timeout=300)
    if made.returncode == 0:
        return [str(venv_python(venv)), "-m", "pip"]
    shutil.rmtree(venv, ignore_errors=True)
    _run_checked([python, "-m", "venv", "--clear", "--system-site-packages", "--without-pip", str(venv)],
                 f"creating the venv {venv}")
    return [python, "-m", "pip", "--python", str(venv_python(venv))]


def install(folder: Path, venv: Path, python: str = sys.executable, repo: Path = REPO) -> tuple[str, str]:
    """Make ``venv`` ready for ``run`` from ``folder`` alone; return the machine's torch (version, file)."""
    manifest = read_manifest(folder)
    wanted = str(manifest.get("python", ""))
    have = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, timeout=60).stdout.strip()
    if wanted != have:
        raise UsageError(f"{folder} holds wheels for Python {wanted}, but {python} is Python {have}: run "
                         f"`make gpu-wheels WHEELS={folder} GPU_PYTHON_VERSION={have}` on a machine with internet")
    before = torch_identity(python)
    pip = make_venv(python, venv)
    outer = subprocess.run([python, "-c", "import json, site; print(json.dumps(site.getsitepackages()))"],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    inner = subprocess.run([str(venv_python(venv)), "-c", "import site; print(site.getsitepackages()[0])"],
                           capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    # --system-site-packages reaches the base interpreter's packages only; a torch installed in a
    # venv or a conda environment is reached through this .pth (after the venv's own packages).
    Path(inner, "gpu_check_machine_torch.pth").write_text("\n".join(json.loads(outer)) + "\n", encoding="utf-8")
    constraints = venv / "torch-constraints.txt"
    constraints.write_text(f"torch=={before[0]}\n", encoding="utf-8")
    for what, cmd in install_commands(pip, folder, constraints, repo).items():
        _run_checked(cmd, what, env=_hermetic_pip_env())
    after = torch_identity(str(venv_python(venv)))
    if after != before:
        raise GraderError(f"the install changed torch: {before} before, {after} after")
    (venv / INSTALLED).write_text(json.dumps({"torch": before, "wheels": str(folder)}) + "\n", encoding="utf-8")
    return before


# --------------------------------------------------------------------------- what the report holds

@dataclass
class Step:
    """One stage of the run, with its time against its share of the budget."""

    name: str
    seconds: float = 0.0
    budget_seconds: float = 0.0
    ok: bool = True
    notes: list[str] = field(default_factory=list)


@dataclass
class CudaTests:
    """The test suite's CUDA tests, from pytest's JUnit XML."""

    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """``test: reason`` of each skipped test (legitimate ones, e.g. CPU-only checks, on a GPU)."""

    @property
    def ok(self) -> bool:
        return bool(self.passed) and not self.failed


@dataclass
class Grading:
    """One graded submission and the verdict of the check on it."""

    assignment: str
    submission: str
    """``reference``, ``stub`` or ``loop: <bug-zoo entry>``."""
    score: float
    max_score: float
    performance_lost: float
    """Performance points missed (a loop entry must lose some)."""
    ok: bool
    note: str
    seconds: float


@dataclass
class Ratio:
    """One performance test over the stability runs: its ratio (or exponent) against its limit."""

    assignment: str
    test: str
    kind: str
    """``ratio`` (speed or memory, the 2x margin applies), ``exponent`` (scaling) or ``status``."""
    runs: int
    failed_runs: int
    median: float | None
    worst: float | None
    limit: float | None
    ok: bool


@dataclass
class Peak:
    """A GPU's peak rates: from the table of known GPUs (datasheet, dense) or measured here."""

    source: str
    bandwidth_gbs: float | None = None
    fp32_tflops: float | None = None
    fp16_tflops: float | None = None


@dataclass
class Figure:
    """Achieved throughput of one timed shape: a figure, not a verdict."""

    assignment: str
    test: str
    what: str
    unit: str
    """``GB/s`` (model bytes moved) or ``TFLOP/s`` (model FLOPs)."""
    student: float | None
    yardstick: float | None
    peak: float | None
    student_of_peak: float | None
    """student / peak (None without a peak)."""


@dataclass
class Report:
    """Everything one run found."""

    started: str
    graded_on: str = "cuda"
    """The ``--device`` of every grading (``cpu`` only in a rehearsal)."""
    device: str = ""
    torch: str = ""
    cuda: str = ""
    python: str = ""
    budget_seconds: float = BUDGET_SECONDS
    seconds: float = 0.0
    steps: list[Step] = field(default_factory=list)
    cuda_tests: CudaTests = field(default_factory=CudaTests)
    gradings: list[Grading] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    peaks: list[Peak] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


# --------------------------------------------------------------------------- peaks of known GPUs

KNOWN_GPUS: tuple[tuple[str, Peak], ...] = (
    # (pattern on torch.cuda.get_device_name, datasheet peaks: HBM/GDDR GB/s, FP32 TFLOP/s, FP16 tensor dense)
    (r"H200", Peak("datasheet H200 SXM", 4800, 67, 989)),
    (r"H100.*(PCIe|PCIE)", Peak("datasheet H100 PCIe", 2000, 51, 756)),
    (r"H100.*NVL", Peak("datasheet H100 NVL", 3900, 60, 835)),
    (r"H100", Peak("datasheet H100 SXM", 3350, 67, 989)),
    (r"A100.*80GB.*(PCIe|PCIE)", Peak("datasheet A100 80GB PCIe", 1935, 19.5, 312)),
    (r"A100.*80GB", Peak("datasheet A100 80GB SXM", 2039, 19.5, 312)),
    (r"A100", Peak("datasheet A100 40GB", 1555, 19.5, 312)),
    (r"L40S", Peak("datasheet L40S", 864, 91.6, 362)),
    (r"\bL4\b", Peak("datasheet L4", 300, 30.3, 121)),
    (r"A10G", Peak("datasheet A10G", 600, 31.2, 70)),
    (r"\bA10\b", Peak("datasheet A10", 600, 31.2, 125)),
    (r"\bT4\b", Peak("datasheet T4", 320, 8.1, 65)),
    (r"V100", Peak("datasheet V100 SXM2", 900, 15.7, 125)),
)


def known_peak(device_name: str) -> Peak | None:
    """The datasheet peaks of a GPU named like ``torch.cuda.get_device_name()``, if it is in the table."""
    for pattern, peak in KNOWN_GPUS:
        if re.search(pattern, device_name):
            return peak
    return None


def measured_peak(device: str = "cuda", copy_mb: int = 1024, matmul_n: int = 8192, repeats: int = 5) -> Peak:
    """Bandwidth of a device-to-device copy and matmul FLOP/s (float32, float16), measured on ``device``."""
    import torch

    def best(fn: Callable[[], Any]) -> float:
        """Fastest of ``repeats`` timed runs, after one warm-up."""
        fn()
        times = []
        for _ in range(repeats):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        return max(min(times), 1e-9)

    source = torch.empty(copy_mb * 2**20 // 4, dtype=torch.float32, device=device)
    target = torch.empty_like(source)
    bandwidth = 2 * source.numel() * 4 / best(lambda: target.copy_(source)) / 1e9
    rates: dict[Any, float] = {}
    for dtype in (torch.float32, torch.float16):
        left = torch.randn(matmul_n, matmul_n, device=device).to(dtype)
        right = torch.randn(matmul_n, matmul_n, device=device).to(dtype)
        rates[dtype] = 2 * matmul_n**3 / best(lambda: left @ right) / 1e12  # noqa: B023 - called at once
    return Peak(f"measured on {device}", _significant(bandwidth), _significant(rates[torch.float32]),
                _significant(rates[torch.float16]))


def _significant(value: float, digits: int = 4) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    return float(f"{value:.{digits}g}")


# --------------------------------------------------------------------------- throughput models

def _bytes_per_element(per_element: float) -> Callable[[dict[str, Any], dict[str, Any]], float]:
    """A model of bytes moved per call: ``per_element`` bytes for each element of the timed shape.

    The shape is ``[performance] cuda_shape`` (``cpu_shape`` in a CPU rehearsal), as the test chose it.
    """
    def model(perf: dict[str, Any], record: dict[str, Any]) -> float:
        count = 1
        for n in perf["cpu_shape" if record.get("device") == "cpu" else "cuda_shape"]:
            count *= int(n)
        return per_element * count
    return model


def _optimizer_bytes(per_parameter: float) -> Callable[[dict[str, Any], dict[str, Any]], float]:
    """Bytes of two optimizer steps: ``per_parameter`` bytes for each float32 parameter (the test records them)."""
    return lambda perf, record: per_parameter * float(record.get("parameters", 0))


BYTE_MODELS: dict[tuple[str, str], tuple[str, Callable[[dict[str, Any], dict[str, Any]], float]]] = {
    # (assignment, test function): (what the model counts, bytes per call); float32 throughout
    ("softmax_nll", "test_cross_entropy_speed"): ("logits read once", _bytes_per_element(4)),
    ("softmax_nll", "test_cross_entropy_backward_speed"): ("logits read, gradient written",
                                                           _bytes_per_element(8)),
    ("dropout", "test_dropout_step_speed"): ("forward x, out, mask + backward grad, mask, grad_in",
                                             _bytes_per_element(18)),
    ("initialization", "test_kaiming_normal_speed"): ("weight written once", _bytes_per_element(4)),
    ("optim", "test_adam_speed"): ("2 steps x (p, g, m, v read; p, m, v written)", _optimizer_bytes(2 * 7 * 4)),
    ("optim", "test_sgd_momentum_speed"): ("2 steps x (p, g, buf read; p, buf written)", _optimizer_bytes(2 * 5 * 4)),
}


def figures_of(name: str, perf: dict[str, Any], data: GradingResult, peak: Peak | None) -> list[Figure]:
    """Throughput of each timed test of one reference grading (results.json ``data``), against ``peak``."""
    functions = data.extra_data.test_functions
    out = []
    for shown, record in data.extra_data.tests.items():
        function = functions.get(shown, shown)
        if isinstance(record.get("runs"), dict) and record.get("model_flops"):
            for dtype, timed in record["runs"].items():
                half = dtype in ("float16", "bfloat16")
                top = None if peak is None else peak.fp16_tflops if half else peak.fp32_tflops
                out.append(_figure(name, shown, f"{dtype}, {record['model_flops']:.3g} model FLOPs", "TFLOP/s",
                                   timed.get("student_ms"), timed.get("yardstick_ms"),
                                   float(record["model_flops"]) / 1e12, top))
        elif (name, function) in BYTE_MODELS and record.get("student_ms"):
            what, model = BYTE_MODELS[(name, function)]
            out.append(_figure(name, shown, what, "GB/s", record.get("student_ms"), record.get("yardstick_ms"),
                               model(perf, record) / 1e9, peak.bandwidth_gbs if peak else None))
    return out


def _figure(name: str, test: str, what: str, unit: str, student_ms: float | None, yardstick_ms: float | None,
            work: float, peak: float | None) -> Figure:
    """Work per call over time per call, for the student (the reference here) and the yardstick."""
    def rate(ms: float | None) -> float | None:
        return round(work / (ms * 1e-3), 3) if ms else None

    student = rate(student_ms)
    return Figure(name, test, what, unit, student, rate(yardstick_ms), peak,
                  round(student / peak, 4) if student is not None and peak else None)


# --------------------------------------------------------------------------- CUDA tests

def junit_summary(xml_text: str) -> CudaTests:
    """Passed, failed (failures and errors) and skipped tests from pytest's JUnit XML."""
    out = CudaTests()
    for case in ET.fromstring(xml_text).iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        skip = case.find("skipped")
        if bad is not None:
            message = (bad.get("message") or bad.text or "").strip().splitlines()
            out.failed.append(f"{name}: {message[0][:300] if message else 'failed'}")
        elif skip is not None:
            out.skipped.append(f"{name}: {skip.get('message', '')}")
        else:
            out.passed.append(name)
    return out


def run_cuda_tests(folder: Path, timeout: float, tests: tuple[str, ...] = ("tests/test_cuda.py",)) -> CudaTests:
    """Run the suite's CUDA tests with ``AUTOGRADER_REQUIRE_CUDA=1``; their outcome."""
    xml = folder / "cuda-tests.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", f"--junitxml={xml}",
           *(str(REPO / t) for t in tests)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, REQUIRE_CUDA: "1"})
    (folder / "cuda-tests.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if not xml.is_file():
        return CudaTests(failed=[f"pytest wrote no report (exit {proc.returncode}): {proc.stderr[-300:]}"])
    return junit_summary(xml.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- gradings

def performance_functions(spec: Any) -> set[str]:
    """Names of the test functions defined in the assignment's ``tests/performance/``."""
    names = set()
    for path in sorted((spec.tests_dir / "performance").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    return names


def loop_entries(spec: Any) -> list[Any]:
    """The bug zoo's Python-loop entries: correct code caught only by performance tests, a loop by name or reason."""
    from . import bugzoo

    timed = performance_functions(spec)
    return [bug for bug in bugzoo.entries(spec)
            if set(bug.caught_by) <= timed and re.search(r"\bloop", f"{bug.name} {bug.reason}".replace("_", " "))]


def _performance_lost(data: GradingResult) -> float:
    """Performance points a grading missed."""
    return float(sum(t.max_score - t.score for t in data.tests if "performance" in t.tags))


def _total(data: GradingResult) -> float:
    return float(sum(t.max_score for t in data.tests))


def _on(data: GradingResult, device: str) -> bool:
    """Whether the grading ran on ``device`` (``cuda`` matches ``cuda:0``)."""
    return str(data.extra_data.device or "").startswith(device)


def check_reference(name: str, run: GradeRun, seconds: float, device: str = "cuda") -> Grading:
    """The reference scores 100 on ``device``, without a grader error."""
    data = run.require()
    score, top = data.score, _total(data)
    failed = [t.name for t in data.tests if t.status != "passed"]
    notes = data.grader_errors[:3] + ([f"failed: {'; '.join(failed[:4])}"] if failed else [])
    notes += [] if _on(data, device) else [f"graded on {data.extra_data.device!r}, not {device}"]
    ok = not notes and score == 100
    return Grading(name, "reference", score, top, _performance_lost(data), ok, "; ".join(notes) or "100", seconds)


def check_stub(name: str, run: GradeRun, seconds: float) -> Grading:
    """The stub scores 0 without a grader error."""
    data = run.require()
    score, errors = data.score, data.grader_errors
    ok = score == 0 and not errors and run.exit_code == 0
    return Grading(name, "stub", score, _total(data), _performance_lost(data), ok,
                   "; ".join(errors[:3]) or ("0, no grader error" if ok else f"scores {score:g}"), seconds)


def check_loop(name: str, bug: Any, run: GradeRun, seconds: float, device: str = "cuda") -> Grading:
    """A loop entry loses performance points, and every test meant to catch it fails."""
    data = run.require()
    functions = data.extra_data.test_functions
    failed = {functions.get(t.name, t.name) for t in data.tests if t.status != "passed"}
    missed = [t for t in bug.caught_by if t not in failed]
    lost, errors = _performance_lost(data), data.grader_errors
    ok = lost > 0 and not missed and not errors and _on(data, device)
    notes = errors[:3] + ([f"not caught by {', '.join(missed)}"] if missed else [])
    notes += [] if lost > 0 else [f"loses no performance point on {device}"]
    return Grading(name, f"loop: {bug.name}", data.score, _total(data), lost, ok,
                   "; ".join(notes) or f"loses {lost:g} performance points", seconds)


def _grade(name: str, submission: Path, results: Path, device: str,
           select: str | None = None) -> tuple[GradeRun, float]:
    """``autograder grade --device DEVICE`` in a fresh process: how it ended (its results.json) and wall seconds."""
    from ..runner import grade_subprocess

    start = time.monotonic()
    return grade_subprocess(name, submission, results, device=device, select=select, timeout=900), \
        time.monotonic() - start


def _uses_gpu(spec: Any) -> bool:
    """Whether the assignment's worker loads torch (backprop's NumPy timings run on the CPU)."""
    return "torch" in spec.preload


Job = Callable[[], list[Any]]


def grading_jobs(names: list[str], folder: Path, device: str = "cuda") -> tuple[list[Job], list[Job]]:
    """(GPU lane, CPU lane): references and loop entries of torch assignments are timed on the GPU one
    at a time; stubs (nothing timed) and NumPy assignments run beside them."""
    from .. import assignment
    from . import bugzoo

    gpu: list[Job] = []
    cpu: list[Job] = []
    for name in names:
        spec = assignment.load(name)
        lane = gpu if _uses_gpu(spec) else cpu
        out = folder / name

        def reference(spec: Any = spec, out: Path = out) -> list[Any]:
            data, seconds = _grade(spec.name, spec.solution_file.parent, out / "reference.json", device)
            return [check_reference(spec.name, data, seconds, device), ("reference", spec.name, data.require())]

        def stub(spec: Any = spec, out: Path = out) -> list[Any]:
            data, seconds = _grade(spec.name, spec.template_file.parent, out / "stub.json", device)
            return [check_stub(spec.name, data, seconds)]

        lane.append(reference)
        cpu.append(stub)
        for bug in loop_entries(spec):
            def loop(spec: Any = spec, bug: Any = bug, out: Path = out) -> list[Any]:
                path = bugzoo.write(spec, bug, out / "bugs")
                data, seconds = _grade(spec.name, path, out / f"loop-{bug.name}.json", device,
                                       " or ".join(bug.caught_by))
                return [check_loop(spec.name, bug, data, seconds, device)]
            lane.append(loop)
    return gpu, cpu


def run_lanes(gpu: list[Job], cpu: list[Job], workers: int = 2) -> list[Any]:
    """Run the GPU lane's jobs one at a time here while the CPU lane's run ``workers`` at a time beside them."""
    results: list[Any] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures: list[Future[list[Any]]] = [pool.submit(job) for job in cpu]
        for job in gpu:
            results += _safely(job)
        for future in futures:
            try:
                results += future.result()
            except Exception as exc:  # noqa: BLE001 - one broken job is a failure in the report, not a crash
                results.append(f"{type(exc).__name__}: {exc}")
    return results


def _safely(job: Job) -> list[Any]:
    """A job's results, or its exception as a failure line."""
    try:
        return job()
    except Exception as exc:  # noqa: BLE001 - one broken job is a failure in the report, not a crash
        return [f"{type(exc).__name__}: {exc}"]


# --------------------------------------------------------------------------- stability

def ratios_of(name: str, record: Any) -> Ratio:
    """A stability TestRecord as a report row."""
    values = list(record.values)
    return Ratio(name, record.name, record.kind, len(record.passed), record.false_failures,
                 round(statistics.median(values), 4) if values else None,
                 round(max(values), 4) if values else None, record.limit if record.kind != "status" else None,
                 record.ok)


def stability_jobs(names: list[str], runs: int, folder: Path, device: str = "cuda") -> tuple[list[Job], list[Job]]:
    """(GPU lane, CPU lane) of ``autograder stability --device cuda --runs N`` per assignment (log in ``folder``)."""
    from .. import assignment
    from . import stability

    gpu: list[Job] = []
    cpu: list[Job] = []
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        def job(name: str = name) -> list[Any]:
            with open(folder / f"stability-{name}.log", "w", encoding="utf-8") as log:
                result = stability.stability(name, runs, busy=True, echo=lambda line: print(line, file=log, flush=True),
                                             device=device)
            return [ratios_of(name, t) for t in result.tests.values()] + [f"stability {name}: {e}"
                                                                             for e in result.errors]
        (gpu if _uses_gpu(assignment.load(name)) else cpu).append(job)
    return gpu, cpu


# --------------------------------------------------------------------------- the run

@dataclass(frozen=True)
class Options:
    """What ``run`` was asked to do."""

    out: Path
    assignments: tuple[str, ...] = ()
    runs: int = 2
    budget_seconds: float = BUDGET_SECONDS
    install_seconds: float = 0.0
    """Seconds the install took before this process started (counted against the budget)."""
    workers: int = 2
    device: str = "cuda"
    """``cpu``: a rehearsal of the whole run on a machine without a GPU (its CUDA tests then fail)."""


SHARES = {"device": 0.03, "cuda tests": 0.25, "gradings": 0.37, "stability": 0.25}
"""Each step's share of the budget (the rest is the install): a guide for the report, not a limit."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _device_step(report: Report, device: str) -> None:
    """Device name, versions and peaks (datasheet where known, measured always)."""
    import platform

    import torch

    if device == "cpu":
        report.device, report.torch, report.cuda = f"cpu ({platform.machine()}), a rehearsal", torch.__version__, "none"
        report.peaks = [measured_peak("cpu", copy_mb=64, matmul_n=512)]
        return
    if not torch.cuda.is_available():
        raise UsageError("no CUDA device is available here: run make gpu-check on a machine with a GPU")
    report.device = torch.cuda.get_device_name(0)
    report.torch = str(torch.__version__)
    report.cuda = str(torch.version.cuda)
    known = known_peak(report.device)
    report.peaks = [p for p in (known, measured_peak("cuda")) if p is not None]


def _sort(results: list[Any], report: Report, references: dict[str, GradingResult]) -> None:
    """File each job result into the report."""
    for item in results:
        if isinstance(item, Grading):
            report.gradings.append(item)
            if not item.ok:
                report.failures.append(f"{item.assignment} {item.submission}: {item.note}")
        elif isinstance(item, Ratio):
            report.ratios.append(item)
            if not item.ok:
                report.failures.append(f"{item.assignment} stability {item.test}: {item.failed_runs}/{item.runs} "
                                       f"failed, worst {item.worst} against {item.limit}")
        elif isinstance(item, tuple):
            references[item[1]] = item[2]
        else:
            report.failures.append(str(item))


def run(options: Options) -> Report:
    """The whole check; the report is written to ``options.out`` whatever happens."""
    from .. import assignment

    started = time.monotonic() - options.install_seconds
    report = Report(_now(), options.device, python=sys.version.split()[0], budget_seconds=options.budget_seconds)
    if options.install_seconds:
        report.steps.append(Step("install", options.install_seconds, options.budget_seconds * 0.1))
    names = list(options.assignments) or assignment.names()
    options.out.mkdir(parents=True, exist_ok=True)
    references: dict[str, GradingResult] = {}

    def step(name: str, body: Callable[[], None]) -> None:
        s = Step(name, budget_seconds=round(options.budget_seconds * SHARES[name], 1))
        print(f"gpu-check: {name} ...", flush=True)
        start = time.monotonic()
        before = len(report.failures)
        try:
            body()
        except Exception as exc:  # noqa: BLE001 - a broken step is a failure in the report, not a lost report
            report.failures.append(f"{name}: {type(exc).__name__}: {exc}")
        s.seconds = round(time.monotonic() - start, 1)
        s.ok = len(report.failures) == before
        s.notes = report.failures[before:]
        report.steps.append(s)
        print(f"gpu-check: {name}: {s.seconds:.0f} s, {'ok' if s.ok else 'FAILED: ' + '; '.join(s.notes)[:500]}",
              flush=True)
        write_report(report, options.out)

    def cuda_tests() -> None:
        report.cuda_tests = run_cuda_tests(options.out, timeout=options.budget_seconds)
        report.failures += [f"CUDA test {f}" for f in report.cuda_tests.failed]
        if not report.cuda_tests.passed:
            report.failures.append("no CUDA test passed")

    def gradings() -> None:
        _sort(run_lanes(*grading_jobs(names, options.out / "gradings", options.device), workers=options.workers),
              report, references)
        peak = report.peaks[0] if report.peaks else None
        for name, data in references.items():
            report.figures += figures_of(name, assignment.load(name).performance, data, peak)

    def stable() -> None:
        _sort(run_lanes(*stability_jobs(names, options.runs, options.out, options.device), workers=options.workers),
              report, references)

    step("device", lambda: _device_step(report, options.device))
    if report.device:
        step("cuda tests", cuda_tests)
        step("gradings", gradings)
        step("stability", stable)
    report.seconds = round(time.monotonic() - started, 1)
    if report.seconds > options.budget_seconds:
        report.failures.append(f"the run took {report.seconds:.0f} s, over its {options.budget_seconds:.0f} s budget")
    write_report(report, options.out)
    return report


# --------------------------------------------------------------------------- the report

def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def render_markdown(report: Report) -> str:
    """The report as Markdown: environment, steps, CUDA tests, gradings, ratios, throughput, failures."""
    lines = [f"# GPU check: {'passed' if report.ok else 'FAILED'}", "",
             f"- device: {report.device or 'none'}", f"- torch {report.torch}, CUDA {report.cuda}, "
             f"Python {report.python}", f"- started {report.started}, took {report.seconds:.0f} s "
             f"(budget {report.budget_seconds:.0f} s)", "", "## Steps", "", "| step | seconds | share of budget | ok |",
             "| --- | ---: | ---: | --- |"]
    lines += [f"| {s.name} | {s.seconds:.1f} | {s.budget_seconds:.0f} | {'yes' if s.ok else 'NO'} |"
              for s in report.steps]
    t = report.cuda_tests
    lines += ["", "## CUDA tests", "", f"{len(t.passed)} passed, {len(t.failed)} failed, {len(t.skipped)} skipped", ""]
    lines += [f"- FAILED {f}" for f in t.failed] + [f"- skipped {s}" for s in t.skipped]
    lines += ["", f"## Gradings (--device {report.graded_on})", "",
              "| assignment | submission | score | performance lost | seconds | ok | note |",
              "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    lines += [f"| {g.assignment} | {g.submission} | {g.score:g} / {g.max_score:g} | {g.performance_lost:g} | "
              f"{g.seconds:.1f} | {'yes' if g.ok else 'NO'} | {g.note} |" for g in report.gradings]
    lines += ["", f"## Performance tests against their budgets (stability runs, --device {report.graded_on})", "",
              "| assignment | test | kind | runs | failed | median | worst | limit | ok |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    lines += [f"| {r.assignment} | {r.test} | {r.kind} | {r.runs} | {r.failed_runs} | {_fmt(r.median)} | "
              f"{_fmt(r.worst)} | {_fmt(r.limit)} | {'yes' if r.ok else 'NO'} |" for r in report.ratios]
    lines += ["", "## Peaks", ""]
    lines += [f"- {p.source}: {_fmt(p.bandwidth_gbs, 4)} GB/s, FP32 {_fmt(p.fp32_tflops)} TFLOP/s, "
              f"FP16 {_fmt(p.fp16_tflops)} TFLOP/s" for p in report.peaks]
    lines += ["", "## Throughput of the timed shapes (reference and yardstick; figures, not verdicts)", "",
              "| assignment | test | model | unit | reference | yardstick | peak | reference / peak |",
              "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {f.assignment} | {f.test} | {f.what} | {f.unit} | {_fmt(f.student, 4)} | {_fmt(f.yardstick, 4)} | "
              f"{_fmt(f.peak, 4)} | {_fmt(f.student_of_peak, 2)} |" for f in report.figures]
    lines += ["", "## Failures", ""] + ([f"- {f}" for f in report.failures] or ["none"])
    return "\n".join(lines) + "\n"


def write_report(report: Report, folder: Path) -> tuple[Path, Path]:
    """Write ``gpu-check.md`` and ``gpu-check.json`` into ``folder`` (atomically each); return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {**asdict(report), "ok": report.ok}
    paths = (folder / "gpu-check.md", folder / "gpu-check.json")
    for path, text in zip(paths, (render_markdown(report), json.dumps(data, indent=2) + "\n")):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return paths


# --------------------------------------------------------------------------- command line

def _positive(kind: type, what: str) -> Callable[[str], Any]:
    """An argparse type: a positive int or float, or a one-line error naming ``what``."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a positive number, not {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{what} must be a positive number, not {text!r}")
        return value
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as our UsageError (one line, exit 2)."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(message)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line of ``python -m autograder.gpu_check``."""
    parser = _Parser(prog="python -m autograder.gpu_check", description=__doc__.splitlines()[0] if __doc__ else "")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    wheels = sub.add_parser("wheels", help="download the wheel folder (on a machine with internet)")
    wheels.add_argument("folder", type=Path)
    wheels.add_argument("--python-version", default=DEFAULT_PYTHON, help="the GPU machine's Python (MAJOR.MINOR)")
    wheels.add_argument("--glibc", default=DEFAULT_GLIBC, help="the GPU machine's glibc (newest manylinux tag)")
    inst = sub.add_parser("install", help="an environment from the wheel folder (on the GPU machine)")
    inst.add_argument("folder", type=Path)
    inst.add_argument("--venv", type=Path, required=True)
    check = sub.add_parser("run", help="the check itself (in the installed environment)")
    check.add_argument("--out", type=Path, required=True, help="folder for gpu-check.md / gpu-check.json")
    check.add_argument("--assignment", dest="assignments", action="append", default=[],
                       help="check only this assignment (repeatable; default all)")
    check.add_argument("--runs", type=_positive(int, "--runs"), default=2, help="stability runs per assignment")
    check.add_argument("--budget", type=_positive(float, "--budget"), default=BUDGET_SECONDS,
                       help="seconds the whole run may take, install included")
    check.add_argument("--install-seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    check.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                       help="cpu: rehearse the whole run on a machine without a GPU (its CUDA tests then fail)")
    check.add_argument("--workers", type=_positive(int, "--workers"), default=2,
                       help="gradings run beside the GPU lane (stubs, NumPy assignments)")
    args = parser.parse_args(argv)
    if args.command == "wheels":
        _version_pair(args.python_version, "--python-version")
        platforms(args.glibc)
    if args.command == "run":
        from .. import assignment

        for name in args.assignments:
            assignment.load(name)
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 when everything passed, 1 on any failure, 2 for a bad argument."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.command == "wheels":
            runtime = download_wheels(args.folder, args.python_version, args.glibc)
            print(f"gpu-check: {len(list(args.folder.glob('*.whl')))} wheels for Python {args.python_version} in "
                  f"{args.folder} ({len(runtime)} runtime requirements, torch excluded); copy it with the project")
            return 0
        if args.command == "install":
            start = time.monotonic()
            version, path = install(args.folder, args.venv)
            print(f"gpu-check: {args.venv} ready in {time.monotonic() - start:.0f} s, with the machine's torch "
                  f"{version} ({path})")
            return 0
        report = run(Options(args.out, tuple(args.assignments), args.runs, args.budget, args.install_seconds,
                             args.workers, args.device))
    except UsageError as exc:
        print(f"gpu-check: error: {exc}", file=sys.stderr)
        return 2
    except GraderError as exc:
        print(f"gpu-check: {exc}", file=sys.stderr)
        return 1
    print(render_markdown(report))
    print(f"gpu-check: report in {args.out / 'gpu-check.md'} and {args.out / 'gpu-check.json'}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
