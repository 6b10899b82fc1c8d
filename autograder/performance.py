"""Performance tests on the trusted side: measure, then judge a ratio.

The student's function runs in the worker as whole requests of ``k`` calls; before each
call one input element is nudged in place, so no answer can be memoised, and the output of
the last call is checked against the yardstick on the same nudged inputs. The trusted side
clocks each request itself (the worker's CPU time read from /proc, or wall time on CUDA)
and subtracts the cost of decoding the inputs and encoding the output, measured here.
The yardstick (a PyTorch built-in from the assignment's probes) runs here, in the trusted
process, on the same inputs and the same device with one intra-op thread. Student requests
and yardstick runs alternate over several rounds; the verdict is the median over rounds of
the per-call ratio.

Nothing the worker reports enters the verdict, so a patched timer, a swapped sample or a
lie about the yardstick gains nothing; work hidden in other threads or child processes
is on the worker's clock and counts against the student.
"""

from __future__ import annotations

import importlib.util
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from .assignment import Assignment
from .compare import expect_close, fail
from .errors import AuthoringError, CheckFailed
from .student import Student
from .worker import protocol, timing

__all__ = [
    "Scaling", "Timing", "Verdict", "calibrated_calls", "calls_for", "decided", "feedback", "first_call_limit",
    "judge", "measure", "scaling", "scaling_test", "speed_test", "yardsticks",
]

MIN_REQUEST_SECONDS = 0.25
"""A timed request of fast calls lasts at least this long, so fixed per-request costs are small."""
MAX_CALLS = 500
MIN_CALLS = 2
"""Fewest calls per timed request."""
SLOW_CALL_SECONDS = 0.05
"""A call this slow dwarfs a request's fixed costs (milliseconds, and subtracted): ``MIN_CALLS`` of them
make a request (an optimizer step over 5M parameters), and a warm-up this slow per call sets the calls
per round without a calibration run (see ``calls_for`` and ``calibrated_calls``)."""
CALIBRATION_CALLS = 5
YARDSTICK_CALLS = 30
"""Most yardstick calls per round; fewer when each call is slow (see ``calls_for``)."""
ROUNDS = 5
FIRST_CALL_FACTOR = 10.0
"""A speed test's first call may take this many times (budget x the yardstick's time), at least
``FIRST_CALL_SECONDS``, before it is stopped as too slow to time (see ``first_call_limit``)."""
FIRST_CALL_SECONDS = 2.0


@dataclass
class Timing:
    """What one performance measurement saw, all on the trusted clock except ``reported``."""

    student_per_call: list[float]
    """Per round: seconds per call of the student's function (request time minus overheads)."""
    yardstick_per_call: list[float]
    """Per round: median seconds per call of the yardstick, measured in the trusted process."""
    calls: int
    overhead_seconds: float
    """Per request: decoding the inputs and encoding the output (trusted estimate)."""
    device: str
    reported: list[float] = field(default_factory=list)
    """The worker's own per-call samples: for the record only, never for the verdict."""

    def ratios(self) -> list[float]:
        """Per-round ratios student / yardstick."""
        return [s / y if y > 0 else math.inf for s, y in zip(self.student_per_call, self.yardstick_per_call)]


@dataclass(frozen=True)
class Verdict:
    """A judged timing, recorded in results.json extra_data for the instructor."""

    ratio: float
    budget: float
    passed: bool
    student_ms: float
    yardstick_ms: float
    rounds: int
    calls_per_round: int
    device: str
    reported_median_ms: float | None


def yardsticks(spec: Assignment) -> dict[str, Any]:
    """The YARDSTICKS table of the assignment's probes, imported into the trusted process."""
    path = spec.probes_file
    loaded = sys.modules.get(f"_ag_probes_{spec.name}")
    if loaded is None:
        module_spec = importlib.util.spec_from_file_location(f"_ag_probes_{spec.name}", path)
        if module_spec is None or module_spec.loader is None or not path.is_file():
            raise AuthoringError(str(path), "performance tests need a probes.py with a YARDSTICKS table")
        loaded = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(loaded)
        sys.modules[module_spec.name] = loaded
    table = getattr(loaded, "YARDSTICKS", None)
    if not isinstance(table, dict):
        raise AuthoringError(str(path), "YARDSTICKS must be a dict of name -> PyTorch built-in")
    return table


def _yardstick(spec: Assignment, name: str) -> Any:
    """The YARDSTICKS entry ``name`` (an authoring error naming probes.py if it is missing)."""
    yard = yardsticks(spec).get(name)
    if yard is None:
        raise AuthoringError(str(spec.probes_file), f"no yardstick named {name!r} in YARDSTICKS")
    return yard


def _clock(device: str) -> timing.Clock:
    return timing.CudaEventClock(torch.cuda) if device.startswith("cuda") else timing.CpuClock()


def _nudgeable(args: list[Any], kwargs: dict[str, Any], device: str) -> tuple[list[Any], dict[str, Any], Any]:
    """Independent copies of the inputs on ``device`` (as the worker materialises them), and their nudge."""
    tree, blobs = protocol.encode([args, kwargs], device=device)
    args, kwargs = protocol.decode(tree, blobs, materialize=True)
    return args, kwargs, timing.perturbation(args, torch.Tensor.view, torch.Tensor.add_)


def _run_here(fn: Any, args: list[Any], kwargs: dict[str, Any], device: str, calls: int) -> tuple[float, Any]:
    """Run ``fn`` here (trusted process, one intra-op thread) on nudged copies of the inputs.

    Returns seconds per call over the whole loop, nudges included, as the worker's requests
    are measured, and the last output.
    """
    args, kwargs, nudge = _nudgeable(args, kwargs, device)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    box: list[Any] = []
    try:
        total = _clock(device).measure(lambda: box.append(
            timing.run(fn, args, kwargs, calls, timing.CpuClock(), nudge, reset_hooks=False)[1]))
    finally:
        torch.set_num_threads(threads)
    return total / calls, box[0]


def _overhead(args: list[Any], kwargs: dict[str, Any], output: Any, device: str) -> float:
    """Trusted estimate of a request's fixed cost: decoding its inputs and encoding one output."""
    tree, blobs = protocol.encode([args, kwargs], device=device)
    clock = _clock(device)
    decode = statistics.median(clock.measure(lambda: protocol.decode(tree, blobs, materialize=True))
                               for _ in range(3))
    encode = statistics.median(clock.measure(lambda: protocol.encode(output)) for _ in range(3))
    return float(decode + encode)


def _expected_last(yard: Any, args: list[Any], kwargs: dict[str, Any], device: str, calls: int) -> Any:
    """The yardstick's output on the inputs as the last of ``calls`` timed calls sees them."""
    args, kwargs, nudge = _nudgeable(args, kwargs, device)
    for i in range(calls if nudge is not None else 0):
        nudge(i)
    expected = yard(*args, **kwargs)
    return expected.detach().cpu() if isinstance(expected, torch.Tensor) else expected


def measure(student: Student, spec: Assignment, fn: str, yardstick: str, args: tuple[Any, ...],
            kwargs: dict[str, Any] | None = None, rounds: int = ROUNDS, what: str = "",
            uses: tuple[str, ...] = (), budget: float | None = None) -> Timing:
    """Time ``fn`` (in the worker) against ``yardstick`` (here), alternating over ``rounds``.

    With ``uses``, ``fn`` is a probe running those student functions (see ``Student.run_timed``);
    the yardstick then takes the probe's arguments. With ``budget``, rounds stop as soon as the
    verdict is certain (``decided``): the median of all ``rounds`` would be on the same side.
    """
    kwargs = dict(kwargs or {})
    what = what or fn
    device = student.device
    yard = _yardstick(spec, yardstick)
    arg_list = list(args)
    warm = student.run_timed(fn, args, kwargs, calls=2, uses=uses)
    yard_per_call, sample_output = _run_here(yard, arg_list, kwargs, device, calls=2)
    yard_calls = calls_for(yard_per_call, YARDSTICK_CALLS)
    overhead = _overhead(arg_list, kwargs, sample_output, device)
    calls = calibrated_calls((warm.trusted_seconds - overhead) / 2)
    if calls is None:
        probe = student.run_timed(fn, args, kwargs, calls=CALIBRATION_CALLS, uses=uses)
        calls = calls_for((probe.trusted_seconds - overhead) / CALIBRATION_CALLS, MAX_CALLS)
    out = Timing([], [], calls, overhead, device)
    expected = _expected_last(yard, arg_list, kwargs, device, calls)
    for r in range(rounds):
        if budget is not None and decided(out.ratios(), budget, rounds):
            break
        for role in (("student", "yardstick") if r % 2 == 0 else ("yardstick", "student")):
            if role == "yardstick":
                out.yardstick_per_call.append(_run_here(yard, arg_list, kwargs, device, yard_calls)[0])
            else:
                run = student.run_timed(fn, args, kwargs, calls=calls, uses=uses)
                expect_close(run.last, expected, what=f"{what}, the output of the last timed call",
                             hint="return the real result of every call (no caching of earlier answers).")
                out.student_per_call.append(max((run.trusted_seconds - overhead) / calls, 1e-9))
                out.reported += run.samples
    return out


def decided(ratios: list[float], budget: float, rounds: int) -> bool:
    """Whether the median of ``rounds`` ratios is already on one side of ``budget``, whatever the rest.

    More than half of them within the budget puts the median within it (for an even count both
    middle values are), more than half above puts it above: the verdict is the same as after
    every round, and ``judge`` on the rounds taken gives it.
    """
    need = rounds // 2 + 1
    return sum(r <= budget for r in ratios) >= need or sum(r > budget for r in ratios) >= need


def calibrated_calls(warm_per_call: float) -> int | None:
    """Calls per round straight from the warm-up, when its calls are slow enough to estimate well; else None.

    Calls of ``SLOW_CALL_SECONDS`` or more dwarf a request's fixed costs, so the warm-up's
    estimate is good enough (``speed_test`` has already paid the first-call costs); faster ones
    are calibrated with ``CALIBRATION_CALLS`` calls.
    """
    return calls_for(warm_per_call, MAX_CALLS) if warm_per_call >= SLOW_CALL_SECONDS else None


def calls_for(per_call: float, most: int) -> int:
    """Calls per timed run: enough for ``MIN_REQUEST_SECONDS`` at ``per_call`` seconds each, ``MIN_CALLS`` to ``most``.

    Fast calls get many, so fixed per-run costs stay small; calls of ``SLOW_CALL_SECONDS`` or more
    (a whole optimizer over 5M parameters) get ``MIN_CALLS``: their fixed costs are small already,
    and more of them would only make the student wait.
    """
    if per_call >= SLOW_CALL_SECONDS:
        return MIN_CALLS
    return max(MIN_CALLS, min(most, math.ceil(MIN_REQUEST_SECONDS / max(per_call, 1e-5))))


def judge(t: Timing, budget: float, what: str, record: dict[str, Any] | None = None) -> Verdict:
    """Pass if the median per-round ratio is within ``budget``; a student-facing failure otherwise."""
    ratio = float(statistics.median(t.ratios()))
    verdict = Verdict(
        ratio=round(ratio, 4),
        budget=budget,
        passed=ratio <= budget,
        student_ms=round(statistics.median(t.student_per_call) * 1e3, 4),
        yardstick_ms=round(statistics.median(t.yardstick_per_call) * 1e3, 4),
        rounds=len(t.student_per_call),
        calls_per_round=t.calls,
        device=t.device,
        reported_median_ms=round(statistics.median(t.reported) * 1e3, 4) if t.reported else None,
    )
    if record is not None:
        record.update(asdict(verdict))
    if not verdict.passed:
        fail(what, _speed_text(ratio, budget, verdict.rounds, t.calls, t.device),
             "vectorize: no Python loops over rows or elements; avoid needless copies and extra passes.")
    return verdict


def _speed_text(ratio: float, budget: float, rounds: int, calls: int, device: str) -> str:
    """``took 1.3x as long as PyTorch's built-in (budget: 4x; ...)``: a speed verdict, for the student."""
    return (f"took {ratio:.1f}x as long as PyTorch's built-in (budget: {budget:g}x; median of "
            f"{rounds} rounds of {calls} calls on {device})")


def _scaling_text(sizes: tuple[int, int], seconds: tuple[float, float], exponent: float, limit: float) -> str:
    """``running time grew as n^1.02 from n = 1000 to n = 4000 (...)``: a scaling verdict, for the student."""
    return (f"running time grew as n^{exponent:.2f} from n = {sizes[0]} to n = {sizes[1]} "
            f"({seconds[0] * 1e3:.0f} ms to {seconds[1] * 1e3:.0f} ms; allowed: n^{limit:g})")


def feedback(record: dict[str, Any]) -> str:
    """The line a passing performance test adds to its feedback: what was measured ('' if nothing was)."""
    try:
        if "ratio" in record:
            text = _speed_text(float(record["ratio"]), float(record["budget"]), int(record["rounds"]),
                               int(record["calls_per_round"]), str(record["device"]))
            return f"Measured: your code {text}."
        if "exponent" in record:
            n1, n2 = record["sizes"]
            t1, t2 = record["seconds"]
            text = _scaling_text((int(n1), int(n2)), (float(t1), float(t2)), float(record["exponent"]),
                                 float(record["max_exponent"]))
            return f"Measured: your code's {text}."
    except (KeyError, TypeError, ValueError):
        pass
    return ""


def speed_test(student: Student, spec: Assignment, fn: str, yardstick: str, args: tuple[Any, ...],
               expected: Any, budget: str, record: dict[str, Any], kwargs: dict[str, Any] | None = None,
               uses: tuple[str, ...] = ()) -> Verdict:
    """The body of a performance test: correct first (against ``expected``), then measured and judged.

    ``budget`` names the entry of ``[performance.budgets]`` in assignment.toml. With ``uses``,
    ``fn`` is a probe that runs those student functions (classes, graphs). ``expected`` may be a
    function of no arguments that computes it (in this trusted process): then it is computed only
    once the student's call has returned, and a call that fails or times out does not pay for it.
    The first call is stopped at ``first_call_limit`` of the yardstick's time: far over budget.
    """
    shapes = ", ".join("x".join(map(str, a.shape)) for a in args if isinstance(a, torch.Tensor))
    what = f"{', '.join(uses) if uses else fn} on inputs of shape {shapes}" if shapes else (", ".join(uses) or fn)
    allowed = _budget(spec, budget)
    yard_seconds = _yardstick_wall_seconds(spec, yardstick, list(args), dict(kwargs or {}), student.device)
    limit = first_call_limit(yard_seconds, allowed, spec.limits.call_seconds)
    hung_before = set(student.timed_out)
    try:
        with student.time_limit(limit):
            got = (student.probe(fn, *args, uses=uses, **(kwargs or {})) if uses
                   else student.call(fn, *args, **(kwargs or {})))
    except CheckFailed:
        if set(student.timed_out) - hung_before:
            fail(what, f"its first call did not finish within {limit:.3g} s, over {limit / yard_seconds:.0f}x the "
                 f"time of PyTorch's built-in ({yard_seconds * 1e3:.0f} ms here; budget: {allowed:g}x), and was "
                 "stopped: too slow to time",
                 "vectorize: no Python loops over rows or elements; avoid needless copies and extra passes.")
        raise
    if callable(expected):
        expected = expected()
    expect_close(got, expected, what=what, hint="it must be correct before it is timed.")
    timing = measure(student, spec, fn, yardstick, args, kwargs, what=what, uses=uses, budget=allowed)
    return judge(timing, allowed, what, record=record)


def first_call_limit(yardstick_seconds: float, budget: float, call_seconds: float) -> float:
    """Seconds a speed test's first call may take: ``FIRST_CALL_FACTOR`` x budget x the yardstick's time.

    At least ``FIRST_CALL_SECONDS`` (first-call costs, the request's own encoding) and at most the
    assignment's call limit. A first call that slow would need its later calls over ten times
    faster to pass, so stopping it keeps the verdict and spares the student's wait (a Python loop
    over 5M elements would otherwise run to the call limit in every speed test).
    """
    return min(call_seconds, max(FIRST_CALL_SECONDS, FIRST_CALL_FACTOR * budget * yardstick_seconds))


def _yardstick_wall_seconds(spec: Assignment, yardstick: str, args: list[Any], kwargs: dict[str, Any],
                            device: str) -> float:
    """Wall seconds of one yardstick call here (wall, as the worker's time limit is: a throttled CPU slows both)."""
    yard = _yardstick(spec, yardstick)
    started = time.monotonic()
    _run_here(yard, args, kwargs, device, calls=1)
    return time.monotonic() - started


def _budget(spec: Assignment, name: str) -> float:
    """The ``[performance.budgets]`` entry ``name`` of assignment.toml (an authoring error if missing)."""
    if name not in spec.budgets:
        raise AuthoringError(str(spec.folder / "assignment.toml"), f"no budget {name!r} in [performance.budgets]")
    return spec.budgets[name]


@dataclass(frozen=True)
class Scaling:
    """How a probe's cost grows with its size argument, on the trusted clock."""

    sizes: tuple[int, int]
    seconds: tuple[float, float]
    """Median trusted seconds per run at each size."""
    exponent: float
    """log(t2 / t1) / log(n2 / n1): 1 for linear, 2 for quadratic."""
    max_exponent: float
    passed: bool


def scaling(student: Student, probe: str, uses: tuple[str, ...], sizes: tuple[int, int],
            args: tuple[Any, ...] = (), rounds: int = ROUNDS, timeout: float | None = None,
            limit: float | None = None) -> tuple[float, float]:
    """Median trusted seconds of ``probe(size, *args)`` at both sizes, alternating over ``rounds``.

    With ``limit`` (a maximum exponent), rounds stop as soon as the verdict is certain
    (``scaling_decided``): the medians of all ``rounds`` would give an exponent on the same side.
    """
    student.run_timed(probe, (sizes[0], *args), {}, calls=1, uses=uses, timeout=timeout)  # warm-up
    runs: dict[int, list[float]] = {n: [] for n in sizes}
    for r in range(rounds):
        if limit is not None and scaling_decided(runs[sizes[0]], runs[sizes[1]], sizes, limit, rounds):
            break
        for n in (sizes if r % 2 == 0 else sizes[::-1]):
            run = student.run_timed(probe, (n, *args), {}, calls=1, uses=uses, timeout=timeout)
            runs[n].append(run.trusted_seconds)
    return statistics.median(runs[sizes[0]]), statistics.median(runs[sizes[1]])


def scaling_decided(small: list[float], large: list[float], sizes: tuple[int, int], limit: float,
                    rounds: int) -> bool:
    """Whether the exponent from the medians of ``rounds`` timings per size is on one side of ``limit`` already.

    Each median still lies between the medians of the timings so far padded with the missing
    rounds as 0 s or as endless: if even the extremes agree, the rest cannot change the verdict.
    """
    missing = rounds - len(small)
    if missing >= rounds or missing != rounds - len(large):
        return False
    low1, high1 = (statistics.median(small + [v] * missing) for v in (0.0, math.inf))
    low2, high2 = (statistics.median(large + [v] * missing) for v in (0.0, math.inf))
    if min(low1, low2) <= 0:
        return False
    scale = math.log(sizes[1] / sizes[0])
    return math.log(high2 / low1) / scale <= limit or math.log(low2 / high1) / scale > limit


def scaling_test(student: Student, spec: Assignment, probe: str, uses: tuple[str, ...], sizes: tuple[int, int],
                 budget: str, record: dict[str, Any], args: tuple[Any, ...] = (), timeout: float | None = None,
                 hint: str = "visit each node and edge a constant number of times: no list.remove, `in` on lists, "
                             "or rescans.") -> Scaling:
    """The body of a scaling test: pass if the cost grows no faster than ``size ** budget``.

    ``budget`` names a maximum exponent in ``[performance.budgets]`` (e.g. 1.5 between n and 4n).
    """
    limit = _budget(spec, budget)
    t1, t2 = scaling(student, probe, uses, sizes, args, timeout=timeout, limit=limit)
    exponent = math.log(max(t2, 1e-9) / max(t1, 1e-9)) / math.log(sizes[1] / sizes[0])
    result = Scaling(sizes, (round(t1, 6), round(t2, 6)), round(exponent, 3), limit, exponent <= limit)
    record.update(asdict(result))
    if not result.passed:
        fail(", ".join(uses), f"its {_scaling_text(sizes, (t1, t2), exponent, limit)}", hint)
    return result
