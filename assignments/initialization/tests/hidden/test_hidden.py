"""Hidden tests for initialization (60 points): autograder only, never shipped to students.

Fans and gains are exact (compared with torch.nn.init's own computation on the trusted side).
The initializers are graded by the distribution of the values they draw, never by PyTorch's
exact random stream: a correct implementation that draws its numbers differently passes.
Every statistical test states in its docstring (below the first line, which is all the
student sees) its false-failure probability for a correct implementation -- at most 1e-6,
from an exact bound -- and what it rejects at its sample size. Fresh seeds every run: the
global RNG of the student's process is seeded from the grader's seed before each call.

Bounds used (n values, target std s, p = 1e-6, x = ln(2/p) = 14.51):
- normal second moment: S = sum (w/s)^2 ~ chi2_n; Laurent & Massart (2000):
  P(S - n >= 2 sqrt(n x) + 2x) <= e^-x and P(n - S >= 2 sqrt(n x)) <= e^-x (two-sided: p);
- uniform second moment: w^2/s^2 in [0, 3]; Hoeffding: P(|mean - 1| >= 3 sqrt(x / 2n)) <= 2 e^-x = p;
- uniform bound: max |w| / bound < 1 - d with probability (1 - d)^n <= e^(-n d) = p for d = ln(1/p) / n;
- distribution shape: Kolmogorov-Smirnov distance D to the target CDF; Dvoretzky-Kiefer-Wolfowitz
  with Massart's constant: P(D > sqrt(x / 2n)) <= 2 e^-x = p.
Each window is widened by a few units of the dtype's rounding (values are stored rounded).
Per task: compute_fans 8, calculate_gain 8, xavier_uniform_ 9, xavier_normal_ 7.5,
kaiming_uniform_ 15.5, kaiming_normal_ 12.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.init as init

from autograder.testing import PER_CASE, GeneratorSpec, describe, expect_equal, fail, graded, origin_of

P_FALSE = 1e-6
X = math.log(2 / P_FALSE)
TASK = {"xavier_uniform_": "xavier_uniform", "xavier_normal_": "xavier_normal",
        "kaiming_uniform_": "kaiming_uniform", "kaiming_normal_": "kaiming_normal"}
UNIFORM = ("xavier_uniform_", "kaiming_uniform_")
NORMAL = ("xavier_normal_", "kaiming_normal_")
NO_GRAD = "fill under torch.no_grad(): an in-place random fill of a leaf that requires grad fails otherwise."
IN_PLACE = "fill the given tensor in place (tensor.uniform_ / normal_ / copy_) and return that same object."


def _fns(names=tuple(TASK)):
    """Parametrize over initializers, each case carrying its task's marker."""
    return [pytest.param(fn, marks=getattr(pytest.mark, TASK[fn]), id=fn) for fn in names]


def _seed(rng: torch.Generator) -> int:
    """A fresh seed for the student's process, drawn from the grader's per-test generator."""
    return int(torch.randint(0, 2**62, (1,), generator=rng))


def _call_text(fn: str, tensor: torch.Tensor, kwargs: dict) -> str:
    args = [describe(tensor)] + [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{fn}({', '.join(args)})"


def _oracle_std(fn: str, shape: tuple[int, ...], kwargs: dict) -> float:
    """The target standard deviation, from torch.nn.init's own fan and gain computations."""
    probe = torch.empty(shape, device="meta")
    if fn.startswith("xavier"):
        fan_in, fan_out = init._calculate_fan_in_and_fan_out(probe)
        return kwargs.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    fan = init._calculate_correct_fan(probe, kwargs.get("mode", "fan_in"))
    return init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0.0)) / math.sqrt(fan)


def _filled(student, fn: str, tensor: torch.Tensor, rng: torch.Generator, what: str, *, seed: int | None = None,
            **kwargs) -> torch.Tensor:
    """Fill ``tensor`` (NaN on entry) with the student's ``fn`` after ``torch.manual_seed(seed)`` (a fresh seed
    from ``rng`` when None); check it was filled in place; return the values."""
    got = student.probe("fill", fn, tensor, _seed(rng) if seed is None else seed, uses=(fn,), **kwargs)
    if not (isinstance(got, dict) and type(got.get("tensor")) is torch.Tensor):
        fail(what, "the grader could not read the filled tensor back", IN_PLACE)
    if got.get("same_object") is not True:
        fail(what, "returned a different object than the tensor it was given", IN_PLACE)
    if got.get("same_storage") is not True:
        fail(what, "replaced the tensor's storage (e.g. tensor.data = ...) instead of writing into it", IN_PLACE)
    values = got["tensor"]
    origin = origin_of(values)
    if values.dtype != tensor.dtype or tuple(values.shape) != tuple(tensor.shape):
        fail(what, f"left the tensor as {describe(values)} (it was {describe(tensor)})", IN_PLACE)
    if origin is not None and origin.has_grad_fn:
        fail(what, "recorded autograd history on the tensor", NO_GRAD)
    unfilled = int(torch.isnan(values).sum())
    if unfilled:
        fail(what, f"left {unfilled} of {values.numel()} entries unfilled", IN_PLACE)
    if not bool(torch.isfinite(values).all()):
        fail(what, "filled some entries with infinity", "check the std / bound formula for a division by zero.")
    return values


def _nan(shape: tuple[int, ...], dtype=torch.float32) -> torch.Tensor:
    return torch.full(shape, float("nan"), dtype=dtype)


def _rounding(dtype: torch.dtype) -> float:
    """Slack for values stored rounded to ``dtype`` (a few units of its machine epsilon)."""
    return 4 * torch.finfo(dtype).eps


def _check_second_moment(w: torch.Tensor, std: float, uniform: bool, what: str, hint: str, p: float = P_FALSE) -> None:
    """mean(w^2) / std^2 within the exact window for a correct fill (false failure <= p)."""
    n, x = w.numel(), math.log(2 / p)
    m = float((w.double() / std).square().mean())
    if uniform:
        lo, hi = 1 - 3 * math.sqrt(x / (2 * n)), 1 + 3 * math.sqrt(x / (2 * n))
    else:
        lo, hi = 1 - 2 * math.sqrt(x / n), 1 + 2 * math.sqrt(x / n) + 2 * x / n
    slack = _rounding(w.dtype)
    if m > hi + slack:
        fail(what, f"the variance of the {n} values drawn is too large for this shape and these arguments", hint)
    if m < lo - slack:
        fail(what, f"the variance of the {n} values drawn is too small for this shape and these arguments", hint)


def _check_uniform_bound(w: torch.Tensor, bound: float, what: str, hint: str) -> None:
    """max |w| within the bound and within a factor 1 - ln(1/p)/n of it (false failure <= p)."""
    n, slack = w.numel(), _rounding(w.dtype)
    top = w.double().abs().max() / bound
    outside = int((w.double().abs() > bound * (1 + slack)).sum())
    if outside:
        fail(what, f"{outside} of {n} values lie outside the interval [-bound, bound] this shape and these "
             "arguments allow", hint)
    if float(top) < 1 - math.log(1 / P_FALSE) / n - slack:
        fail(what, f"the largest |value| among {n} draws is clearly below the bound this shape and these arguments "
             "allow: the interval is too narrow", hint)


def _ks_distance(w: torch.Tensor, std: float, uniform: bool) -> float:
    """sup |empirical CDF - target CDF| of w / std; the target is U(-sqrt 3, sqrt 3) or N(0, 1)."""
    z = torch.sort((w.double() / std).flatten()).values
    cdf = ((z / math.sqrt(3) + 1) / 2).clamp(0, 1) if uniform else torch.special.ndtr(z)
    n = z.numel()
    i = torch.arange(1, n + 1, dtype=torch.float64)
    return max(float((i / n - cdf).max()), float((cdf - (i - 1) / n).max()))


def _check_distribution(w: torch.Tensor, std: float, uniform: bool, what: str, hint: str) -> None:
    """Kolmogorov-Smirnov distance within the DKW bound (false failure <= p)."""
    n = w.numel()
    if _ks_distance(w, std, uniform) > math.sqrt(X / (2 * n)) + 1e-6:
        family = "a uniform distribution on [-bound, bound]" if uniform else "a normal distribution with mean 0"
        fail(what, f"the {n} values drawn do not follow {family} with the standard deviation these arguments give",
             hint)


# ======================================================================== compute_fans (8)

def _fans_expected(shape: tuple[int, ...]) -> tuple[int, int]:
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(torch.empty(shape, device="meta"))
    return int(fan_in), int(fan_out)


def _as_fans(value, what: str) -> tuple[int, int]:
    """The student's (fan_in, fan_out) as two ints; anything else fails."""
    ok = type(value) in (tuple, list) and len(value) == 2 and all(
        type(v) is int or (hasattr(v, "dtype") and str(v.dtype).startswith(("int", "uint")) and v.shape == ())
        for v in value)
    if not ok:
        fail(what, f"returned {describe(value)}, not a pair of ints",
             "return a tuple (fan_in, fan_out) of two Python ints.")
    return int(value[0]), int(value[1])


@graded("1.10", points=2)
def test_fans_linear_shapes(student, rng):
    """compute_fans of linear (out, in) shapes, square and rectangular, tall and wide"""
    shapes = [(1, 1), (1, 9), (9, 1)] + [tuple(int(d) for d in torch.randint(2, 5000, (2,), generator=rng))
                                         for _ in range(4)]
    for shape in shapes:
        what = f"compute_fans({shape})"
        got = _as_fans(student.call("compute_fans", shape), what)
        expect_equal(got, _fans_expected(shape), what=what,
                     hint="the layout is (out_features, in_features): fan_in = shape[1], fan_out = shape[0].")


@graded("1.11", points=1)
@pytest.mark.parametrize("kernel_dims", [1, 2, 3], ids=["conv1d", "conv2d", "conv3d"])
def test_fans_conv_shapes(student, rng, kernel_dims):
    """compute_fans of convolution weights (out, in, *kernel) with rectangular 1-, 2- and 3-D kernels"""
    for _ in range(3):
        out_in = torch.randperm(64, generator=rng)[:2] + 1
        kernel = torch.randperm(7, generator=rng)[:kernel_dims] + 2  # distinct sizes >= 2: rectangular
        shape = tuple(int(d) for d in torch.cat([out_in, kernel]))
        what = f"compute_fans({shape})"
        got = _as_fans(student.call("compute_fans", shape), what)
        expect_equal(got, _fans_expected(shape), what=what,
                     hint="multiply in and out by the product of ALL kernel dimensions (the receptive field size).")


def _expect_python_ints(value, what: str) -> None:
    """The handout's return type: a tuple of exactly two Python ints (not a list, not NumPy or torch integers)."""
    if type(value) is not tuple or len(value) != 2 or not all(type(v) is int for v in value):
        kinds = ", ".join(type(v).__name__ for v in value) if type(value) in (tuple, list) else ""
        fail(what, f"returned a {type(value).__name__}" + (f" of {kinds}" if kinds else "")
             + ", not a tuple of two Python ints",
             "return `(fan_in, fan_out)` as a tuple of Python ints: compute the receptive field with math.prod "
             "over the ints of the shape (or int(...) around a NumPy / torch product).")


@graded("1.12", points=1.5)
def test_fans_accepts_torch_size_and_list(student, rng):
    """compute_fans accepts tensor.shape (a torch.Size) and a list as well as a tuple, and returns a tuple of two
    Python ints for each (linear and convolution shapes)"""
    dims = [int(d) for d in torch.cat([torch.randint(1, 12, (2,), generator=rng),
                                       torch.randint(2, 12, (2,), generator=rng)])]  # a real 2-D kernel
    what = f"compute_fans(torch.Size({dims}))"
    value = student.probe("fans_of_size", dims, uses=("compute_fans",))
    expect_equal(_as_fans(value, what), _fans_expected(tuple(dims)), what=what,
                 hint="index the shape like a tuple; torch.Size is one.")
    _expect_python_ints(value, what)
    for shape in (dims, tuple(dims), tuple(dims[:2])):
        what = f"compute_fans({shape})"
        value = student.call("compute_fans", shape)
        expect_equal(_as_fans(value, what), _fans_expected(tuple(shape)), what=what,
                     hint="accept any sequence of ints: a tuple, a list or a torch.Size.")
        _expect_python_ints(value, what)


@graded("1.13", points=0.25)
@pytest.mark.parametrize("shape", [(), (7,), (4, -1), (True, 3), (2.0, 3), 5],
                         ids=["0-d", "1-d", "negative", "bool", "float", "not_a_sequence"])
def test_fans_rejects_fewer_than_two_dims(student, shape):
    """compute_fans raises ValueError for shapes with fewer than 2 dimensions (a bias has no fans), and for a
    shape that is not a sequence of non-negative ints"""
    student.raises_naming(("shape",), "compute_fans", shape)


# ======================================================================== calculate_gain (8)

LINEAR_NAMES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                "sigmoid"]


def _expect_gain(student, nonlinearity: str, param, hint: str) -> None:
    what = f"calculate_gain({nonlinearity!r}" + (f", {param!r})" if param is not None else ")")
    got = student.call("calculate_gain", nonlinearity, param) if param is not None else student.call(
        "calculate_gain", nonlinearity)
    if type(got) not in (int, float):
        fail(what, f"returned {describe(got)}", "return a Python float.")
    expected = float(init.calculate_gain(nonlinearity, param))
    if not abs(got - expected) <= 1e-12 * abs(expected):
        fail(what, f"returned {got!r}, which is not the recommended gain", hint)


@graded("2.10", points=0.25)
@pytest.mark.parametrize("nonlinearity", [*LINEAR_NAMES, "tanh", "relu", "leaky_relu", "selu"])
def test_gain_of_every_nonlinearity(student, nonlinearity):
    """calculate_gain of every supported nonlinearity (default param)"""
    _expect_gain(student, nonlinearity, None,
                 "linear layers, convolutions and sigmoid: 1; tanh: 5/3; relu: sqrt(2); selu: 3/4; "
                 "leaky_relu: sqrt(2 / (1 + 0.01**2)) by default.")


@graded("2.11", points=0.5)
@pytest.mark.parametrize("case", ["zero", "int_one", "tenth", "sqrt5", "random", "negative"])
def test_gain_leaky_relu_slope(student, rng, case):
    """calculate_gain('leaky_relu', param) uses param as the negative slope (0 and ints included)"""
    param = {"zero": 0, "int_one": 1, "tenth": 0.1, "sqrt5": math.sqrt(5), "negative": -0.3,
             "random": float(torch.rand((), generator=rng, dtype=torch.float64)) * 0.5}[case]
    _expect_gain(student, "leaky_relu", param,
                 "gain = sqrt(2 / (1 + s**2)) with s = param; only param=None means the default 0.01 "
                 "(check `param is None`, not `not param`: 0 is a valid slope).")


@graded("2.12", points=1)
def test_gain_ignores_param_elsewhere(student):
    """calculate_gain ignores param for every nonlinearity except leaky_relu, and returns a Python float for
    every nonlinearity"""
    for nonlinearity in (*LINEAR_NAMES, "tanh", "relu", "selu"):
        _expect_gain(student, nonlinearity, 0.3, "param is the slope of leaky_relu only; other gains do not use it.")
    for nonlinearity, param in [(name, None) for name in (*LINEAR_NAMES, "tanh", "relu", "leaky_relu", "selu")] + [
            ("leaky_relu", 0), ("leaky_relu", 2)]:
        args = (nonlinearity,) if param is None else (nonlinearity, param)
        got = student.call("calculate_gain", *args)
        if type(got) is not float:
            fail(f"calculate_gain({', '.join(map(repr, args))})",
                 f"returned a {type(got).__name__}, not a Python float",
                 "return a float in every case, e.g. `return 1.0` rather than `return 1`, and float(...) around "
                 "anything computed with NumPy or torch.")


@graded("2.13", points=0.125)
@pytest.mark.parametrize("nonlinearity,param", [("gelu", None), ("ReLU", None), ("tanhshrink", None), ("", None),
                                                ("leaky_relu", True), ("leaky_relu", "0.1"), ("leaky_relu", [0.1]),
                                                ("leaky_relu", False)],
                         ids=["gelu", "ReLU", "tanhshrink", "empty", "slope_true", "slope_str", "slope_list",
                              "slope_false"])
def test_gain_rejects_unknown_nonlinearity(student, nonlinearity, param):
    """calculate_gain raises ValueError for a nonlinearity it does not know (names are exact, lower-case) and for
    a leaky_relu slope that is not a number (bool included)"""
    student.raises_naming(("param",) if nonlinearity == "leaky_relu" else ("nonlinearity",), "calculate_gain",
                          nonlinearity, param)


# ======================================================================== statistical tests of the fills

# (id, shape, kwargs): rectangular shapes of 2^15 to 2^16 elements in every layout, every mode and gain
# (large enough for every window below; small enough that a correct fill written as a Python loop over
# elements is graded in seconds, not minutes).
KAIMING_CONFIGS = [
    ("default-conv2d", (64, 32, 3, 7), {}),
    ("relu_ignores_a-fan_out-linear", (96, 512), {"mode": "fan_out", "nonlinearity": "relu", "a": math.sqrt(5)}),
    ("leaky_sqrt5-linear", (256, 160), {"a": math.sqrt(5)}),
    ("leaky_random-fan_out-conv1d", (64, 96, 7), {"mode": "fan_out", "nonlinearity": "leaky_relu", "a": None}),
    ("tanh-fan_in-conv3d", (32, 16, 3, 5, 7), {"mode": "fan_in", "nonlinearity": "tanh"}),
    ("selu_ignores_a-fan_out-conv2d", (32, 96, 5, 3), {"mode": "fan_out", "nonlinearity": "selu", "a": None}),
    ("sigmoid-linear", (160, 256), {"nonlinearity": "sigmoid"}),
]
XAVIER_CONFIGS = [
    ("default-linear", (256, 160), {}),
    ("tanh_gain-conv2d", (64, 32, 3, 7), {"gain": 5.0 / 3.0}),
    ("random_gain-conv3d", (32, 16, 3, 5, 7), {"gain": None}),
]
KAIMING_HINT = ("std = calculate_gain(nonlinearity, a) / sqrt(fan), with fan = fan_in or fan_out as mode says, "
                "and fans over the whole receptive field (a is a leaky_relu slope only: other gains ignore it).")
XAVIER_HINT = "std = gain * sqrt(2 / (fan_in + fan_out)), with fans that include the receptive field."
UNIFORM_HINT = " A uniform on [-b, b] has std b / sqrt(3): b = sqrt(3) * std."


def _configs(fns, table):
    return [pytest.param(fn, shape, kwargs, marks=getattr(pytest.mark, TASK[fn]), id=f"{fn}-{cid}")
            for fn in fns for cid, shape, kwargs in table]


def _fresh_kwargs(kwargs: dict, rng: torch.Generator) -> dict:
    """Fill in the per-run random parameters (a leaky slope in [0.05, 0.5], a gain in [0.5, 2.5])."""
    out = dict(kwargs)
    if "a" in out and out["a"] is None:
        out["a"] = 0.05 + 0.45 * float(torch.rand((), generator=rng, dtype=torch.float64))
    if "gain" in out and out["gain"] is None:
        out["gain"] = 0.5 + 2.0 * float(torch.rand((), generator=rng, dtype=torch.float64))
    return out


def _hint(fn: str) -> str:
    return (KAIMING_HINT if fn.startswith("kaiming") else XAVIER_HINT) + (UNIFORM_HINT if fn in UNIFORM else "")


UNIFORM_BOUND_CASES = (_configs(("xavier_uniform_",), XAVIER_CONFIGS) +
                       _configs(("kaiming_uniform_",), KAIMING_CONFIGS))


@graded("7.1", points=0.5, task=PER_CASE)
@pytest.mark.parametrize("fn,shape,kwargs", UNIFORM_BOUND_CASES)
def test_uniform_bound(student, rng, fn, shape, kwargs):
    """the uniform fill stays within its bound and reaches close to it (every layout, mode and gain)

    Upper side: no value beyond bound * (1 + 4 eps) (impossible for a correct fill).
    Lower side: max |w| / bound < 1 - d with d = ln(1e6) / n has probability (1 - d)^n <= 1e-6
    (n >= 2^15, so d <= 4.3e-4). A bound off by more than 0.05% -- every wrong fan, gain, mode,
    a missing sqrt(3) (factor 1.73) or a normal draw -- is rejected with probability > 1 - e^-16.
    """
    kwargs = _fresh_kwargs(kwargs, rng)
    what = _call_text(fn, _nan(shape), kwargs)
    w = _filled(student, fn, _nan(shape), rng, what, **kwargs)
    _check_uniform_bound(w, math.sqrt(3) * _oracle_std(fn, shape, kwargs), what, _hint(fn))


VARIANCE_CASES = (_configs(("xavier_uniform_", "xavier_normal_"), XAVIER_CONFIGS) +
                  _configs(("kaiming_uniform_", "kaiming_normal_"), KAIMING_CONFIGS))


@graded("7.2", points=0.5, task=PER_CASE)
@pytest.mark.parametrize("fn,shape,kwargs", VARIANCE_CASES)
def test_variance(student, rng, fn, shape, kwargs):
    """the variance of the fill matches the formula (every layout, mode and gain)

    Normal fills: Laurent-Massart chi-square window, [1 - 0.0421, 1 + 0.0430] x std^2 at n = 2^15;
    uniform fills: Hoeffding window +-0.0446 at n = 2^15 (windows scale as 1/sqrt(n); n >= 2^15
    here). False failure <= 1e-6 each. A variance 10% off is rejected with probability
    > 1 - e^-18 at these n; every variance bug of the zoo is off by a factor >= 2.
    """
    kwargs = _fresh_kwargs(kwargs, rng)
    what = _call_text(fn, _nan(shape), kwargs)
    w = _filled(student, fn, _nan(shape), rng, what, **kwargs)
    _check_second_moment(w, _oracle_std(fn, shape, kwargs), fn in UNIFORM, what, _hint(fn))


DISTRIBUTION_SHAPE_CASES = [
    *_configs(("xavier_uniform_", "xavier_normal_"), XAVIER_CONFIGS[1:2]),
    *_configs(("kaiming_uniform_", "kaiming_normal_"), [KAIMING_CONFIGS[1], KAIMING_CONFIGS[4]]),
]


@graded("7.3", points=1, task=PER_CASE)
@pytest.mark.parametrize("fn,shape,kwargs", DISTRIBUTION_SHAPE_CASES)
def test_distribution_shape(student, rng, fn, shape, kwargs):
    """the values follow the right family: uniform for *_uniform_, normal for *_normal_, centred at 0

    Kolmogorov-Smirnov distance to the target CDF (U(-sqrt 3 s, sqrt 3 s) or N(0, s^2)) below
    sqrt(ln(2e6) / 2n) + 1e-6 (= 0.0149 at n = 2^15); DKW-Massart: false failure <= 1e-6.
    Targets: a normal draw instead of a uniform one with the same variance (or vice versa) is at
    distance 0.057 and a one-sided uniform on [0, b] (same second moment!) at 0.5: each is
    rejected with probability > 1 - 2 e^-116 at n >= 2^15 (a std 10% off is test_variance's).
    """
    kwargs = _fresh_kwargs(kwargs, rng)
    what = _call_text(fn, _nan(shape), kwargs)
    w = _filled(student, fn, _nan(shape), rng, what, **kwargs)
    family = "tensor.uniform_(-b, b) (centred at 0)" if fn in UNIFORM else "tensor.normal_(0, std)"
    _check_distribution(w, _oracle_std(fn, shape, kwargs), fn in UNIFORM, what,
                        f"draw from {family}; " + _hint(fn))


# ======================================================================== in place, dtypes, devices, generators

@graded("8.1", points=0.75, task=PER_CASE)
@pytest.mark.parametrize("fn", _fns())
def test_fills_in_place_and_returns_same_tensor(student, rng, fn):
    """fills every entry of the given tensor in place and returns that same tensor object"""
    shape = (48, 80)
    _filled(student, fn, _nan(shape), rng, _call_text(fn, _nan(shape), {}))


@graded("8.2", points=0.75, task=PER_CASE)
@pytest.mark.parametrize("fn", _fns())
def test_fills_parameter_that_requires_grad(student, rng, fn):
    """works on a tensor with requires_grad=True (an nn.Parameter) and records no autograd history"""
    t = _nan((40, 60)).requires_grad_(True)
    what = _call_text(fn, t, {}) + " on a tensor with requires_grad=True"
    got = student.probe("fill", fn, t, _seed(rng), uses=(fn,))
    got = got if isinstance(got, dict) else {}
    values = got.get("tensor")
    origin = origin_of(values)
    if got.get("same_object") is not True or type(values) is not torch.Tensor or origin is None:
        fail(what, "did not return the tensor it was given", IN_PLACE)
    if not origin.requires_grad or origin.has_grad_fn:
        fail(what, "changed the tensor's autograd state (it must stay a leaf that requires grad, with no history)",
             NO_GRAD)
    if bool(torch.isnan(values).any()):
        fail(what, "left entries unfilled", IN_PLACE)


@graded("8.3", points=0.75, task=PER_CASE)
@pytest.mark.parametrize("fn", _fns())
def test_fills_a_view(student, rng, fn):
    """fills a non-contiguous view (some columns of a bigger tensor) in place and leaves the rest alone"""
    base, columns = _nan((96, 160)), 100
    what = f"{fn}(base[:, :{columns}]) on a 96x160 float32 base tensor"
    got = student.probe("fill_view", fn, base, columns, _seed(rng), uses=(fn,))
    got = got if isinstance(got, dict) else {}
    after = got.get("base")
    if type(after) is not torch.Tensor or tuple(after.shape) != tuple(base.shape):
        fail(what, "the grader could not read the base tensor back", IN_PLACE)
    if got.get("same_object") is not True:
        fail(what, "returned a different object than the view it was given", IN_PLACE)
    if bool(torch.isnan(after[:, :columns]).any()):
        fail(what, "did not write into the view's entries of the base tensor",
             "write through the view itself (view.uniform_(...) or view.copy_(...)); view.view(-1) or .data = "
             "do not reach the base tensor's memory.")
    if not bool(torch.isnan(after[:, columns:]).all()):
        fail(what, "wrote outside the view (into the base tensor's other columns)",
             "fill only the tensor you are given, with its own shape.")


@graded("8.4", points=0.75, task=PER_CASE)
@pytest.mark.parametrize("fn", _fns())
def test_dtypes(student, rng, fn, device):
    """keeps the tensor's dtype and device (float16, float32, float64) and draws the right variance in each

    For each dtype, the second-moment window of test_variance at p = 1e-6 / 3 (union bound over
    the three dtypes: false failure <= 1e-6), widened by 4 eps of the dtype for the rounding of
    the stored values (float16: 0.4%); n = 40960. A dtype-specific scale bug (e.g. a std computed
    in float16) or a changed dtype is rejected.
    """
    shape = (256, 160)
    for dtype in (torch.float16, torch.float32, torch.float64):
        what = _call_text(fn, _nan(shape, dtype), {})
        w = _filled(student, fn, _nan(shape, dtype), rng, what)
        origin = origin_of(w)
        if origin is not None and origin.device != device:
            fail(what, f"moved the tensor to {origin.device}", "fill the tensor where it is.")
        _check_second_moment(w, _oracle_std(fn, shape, {}), fn in UNIFORM, what, _hint(fn), p=P_FALSE / 3)


def _runs(student, fn, rng, device, runs):
    template = _nan((64, 96))
    got = student.probe("generator_runs", fn, template, runs, uses=(fn,))
    what = _call_text(fn, template, {})
    if type(got) is not list or len(got) != len(runs) or not all(type(t) is torch.Tensor for t in got):
        fail(what, "the grader could not read the filled tensors back", IN_PLACE)
    for t in got:
        if tuple(t.shape) != tuple(template.shape) or bool(torch.isnan(t).any()):
            fail(what, "left entries unfilled", IN_PLACE)
    return got, what


def _distinct_seeds(rng: torch.Generator, k: int) -> list[int]:
    seeds: list[int] = []
    while len(seeds) < k:
        s = _seed(rng)
        if s not in seeds:
            seeds.append(s)
    return seeds


@graded("8.5", points=1, task=PER_CASE)
@pytest.mark.parametrize("fn", _fns())
def test_generator_is_respected(student, rng, device, fn):
    """draws from the generator passed: same generator state -> same values; different state -> different values

    Runs: (generator seeded a, global RNG seeded g1), (a, g2), (b, g1), then the third run's
    generator again. Exact checks: runs 1 and 2 are identical (whatever the global RNG); run 3
    differs from run 1, and run 4 from run 3 (the generator's stream advances). A correct
    implementation fails only if two different streams of an ideal generator agree on all
    6144 values: probability < 2^-100000. Targets: ignoring the generator (run 2 differs),
    re-seeding a private generator from it (run 4 repeats run 3).
    """
    a, b, g1, g2 = _distinct_seeds(rng, 4)
    runs = [{"generator": GeneratorSpec(a, device), "global_seed": g1},
            {"generator": GeneratorSpec(a, device), "global_seed": g2},
            {"generator": GeneratorSpec(b, device), "global_seed": g1},
            {"again": True, "global_seed": g1}]
    (r1, r2, r3, r4), what = _runs(student, fn, rng, device, runs)
    what += ", generator=<torch.Generator>"
    if not torch.equal(r1, r2):
        fail(what, "gave different values for two generators in the same state",
             "draw every random number from `generator` when one is given (tensor.uniform_(..., generator=generator)),"
             " not from the global RNG.")
    if torch.equal(r1, r3):
        fail(what, "gave the same values for generators in different states", "draw from the generator you are given.")
    if torch.equal(r3, r4):
        fail(what, "gave the same values twice from one generator (its state did not advance)",
             "use the generator itself, not a copy re-seeded from it.")


@graded("8.6", points=0.5, task=PER_CASE)
@pytest.mark.parametrize("fn", _fns())
def test_global_rng_without_generator(student, rng, device, fn):
    """without a generator, draws from PyTorch's global RNG: torch.manual_seed(s) makes it repeatable

    Runs with no generator after torch.manual_seed(g1), (g1), (g2): runs 1 and 2 identical,
    run 3 different. False failure: two streams of an ideal generator agreeing on 6144 values.
    Target: a fresh torch.Generator() per call (fixed default seed: every weight identical).
    """
    g1, g2 = _distinct_seeds(rng, 2)
    runs = [{"generator": None, "global_seed": g1}, {"generator": None, "global_seed": g1},
            {"generator": None, "global_seed": g2}]
    (r1, r2, r3), what = _runs(student, fn, rng, device, runs)
    if not torch.equal(r1, r2):
        fail(what, "gave different values after the same torch.manual_seed", "with generator=None, use the global RNG.")
    if torch.equal(r1, r3):
        fail(what, "gave the same values after different torch.manual_seed calls",
             "with generator=None, draw from the global RNG (pass generator=None through), not from a new "
             "torch.Generator(), whose seed is always the same.")


@graded("8.7", points=0.125, task=PER_CASE)
@pytest.mark.parametrize("dims", [(), (12,)], ids=["0-d", "1-d"])
@pytest.mark.parametrize("fn", _fns())
def test_rejects_fewer_than_two_dims(student, fn, dims):
    """raises ValueError for a tensor with fewer than 2 dimensions"""
    student.raises_naming(("tensor", "shape"), fn, torch.zeros(dims))


@graded("8.9", points=0.25, task=PER_CASE)
@pytest.mark.parametrize("fn", _fns())
def test_empty_and_single_element(student, fn):
    """fills a 1x1 tensor, and returns a 0x0 tensor as it is, without an error (as PyTorch does)"""
    empty = student.call(fn, torch.empty(0, 0))
    if not isinstance(empty, torch.Tensor) or empty.shape != (0, 0):
        fail(f"{fn}(<0x0 float32 tensor>)", f"returned {describe(empty)}",
             "a tensor with no elements is returned as it is (its fans may be 0: do not divide by them).")
    one = student.call(fn, torch.zeros(1, 1))
    if not isinstance(one, torch.Tensor) or one.shape != (1, 1) or not bool(one.ne(0).all()):
        fail(f"{fn}(<1x1 float32 zeros>)", f"returned {describe(one)}, not a drawn value",
             "a single-element tensor is filled like any other (only empty tensors are skipped).")


@graded("8.8", points=0.25, task=PER_CASE)
@pytest.mark.parametrize("kwargs", [{"mode": "fan_avg"}, {"mode": "FAN_IN"}, {"nonlinearity": "tanhshrink"},
                                    {"nonlinearity": "Tanh"}], ids=["mode_fan_avg", "mode_upper", "tanhshrink", "Tanh"])
@pytest.mark.parametrize("fn", _fns(("kaiming_uniform_", "kaiming_normal_")))
def test_kaiming_rejects_bad_arguments(student, fn, kwargs):
    """kaiming_* raise ValueError for a mode other than 'fan_in'/'fan_out' and an unknown nonlinearity"""
    student.raises_naming(tuple(kwargs), fn, torch.zeros(8, 6), **kwargs)


@graded("8.10", points=0.5, task=PER_CASE)
@pytest.mark.parametrize("fn", _fns(("kaiming_uniform_", "kaiming_normal_")))
def test_kaiming_default_slope_is_zero(student, rng, fn):
    """the defaults a=0, nonlinearity='leaky_relu' give exactly the ReLU gain sqrt(2) (a slope of 0, not 0.01)

    Two fills of the same 64x96 float32 tensor after the same torch.manual_seed(s): one with the
    default arguments, one with nonlinearity='relu'. Both have std sqrt(2 / fan_in), so a correct
    implementation draws the same numbers from the same RNG state and scales them alike: the
    values agree up to rounding (|w1 - w2| <= 1e-6 (std + |w2|), room for a gain computed by another
    exact formula). No randomness in the verdict. Target: a = 0 read as "no slope given" (`a or None`,
    `if a:`), which uses the default slope 0.01: a std 5e-5 too small, far below what a statistical
    test can see, but every value differs by that factor (max difference ~2e-4 std, for every seed).
    """
    shape, seed = (64, 96), _seed(rng)
    what = f"{fn}(<64x96 float32 tensor>) with the defaults a=0, nonlinearity='leaky_relu'"
    default = _filled(student, fn, _nan(shape), rng, what, seed=seed)
    relu = _filled(student, fn, _nan(shape), rng, f"{fn}(<64x96 float32 tensor>, nonlinearity='relu')", seed=seed,
                   nonlinearity="relu")
    std = _oracle_std(fn, shape, {"nonlinearity": "relu"})
    if not bool(((default.double() - relu.double()).abs() <= 1e-6 * (std + relu.double().abs())).all()):
        fail(what, "drew values on a different scale than with nonlinearity='relu' after the same torch.manual_seed, "
             "so its gain is not the ReLU gain sqrt(2)",
             "a=0 is a negative slope of 0, which gives sqrt(2 / (1 + 0**2)) = sqrt(2): pass a on as "
             "calculate_gain(nonlinearity, a); only param=None means the default slope 0.01 (so no `a or None`, "
             "no `if a:`).")
