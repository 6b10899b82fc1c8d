"""Public tests for initialization (30 points). Run them with `pytest`, one task with `pytest -m kaiming_normal`.

Fans and gains are compared with PyTorch's own computation. Your initializers are random, so
they are tested by the *distribution* of the values they draw (their range, variance and
shape), never against PyTorch's exact random numbers: any correct way of drawing them passes.
Each statistical test is built so that a correct implementation fails it with probability at
most one in a million (the docstrings say how); a fresh seed is used every run and printed at
the end, so you can repeat a run with --ag-seed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.init as init
from hypothesis import given
from hypothesis import strategies as st

from autograder.testing import GeneratorSpec, describe, expect_equal, fail, graded, property_settings

# Deterministic examples (the same score every run), shrunk to a small failing input, no "explain" phase.
PROPERTY = property_settings(max_examples=25)
P_FALSE = 1e-6
X = math.log(2 / P_FALSE)
IN_PLACE = "fill the given tensor in place (tensor.uniform_ / tensor.normal_) and return that same object."


def _seed(rng: torch.Generator) -> int:
    return int(torch.randint(0, 2**62, (1,), generator=rng))


def _nan(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.full(shape, float("nan"))


def _filled(student, fn: str, shape: tuple[int, ...], rng: torch.Generator, **kwargs) -> torch.Tensor:
    """Fill a NaN float32 tensor of ``shape`` with your ``fn``; check it was filled in place; return it."""
    what = f"{fn}(<{'x'.join(map(str, shape))} float32 tensor>{''.join(f', {k}={v!r}' for k, v in kwargs.items())})"
    got = student.probe("fill", fn, _nan(shape), _seed(rng), uses=(fn,), **kwargs)
    if not (isinstance(got, dict) and type(got.get("tensor")) is torch.Tensor):
        fail(what, "the grader could not read the filled tensor back", IN_PLACE)
    if got.get("same_object") is not True or got.get("same_storage") is not True:
        fail(what, "did not return the very tensor it was given, filled in place", IN_PLACE)
    w = got["tensor"]
    if w.dtype != torch.float32 or tuple(w.shape) != shape:
        fail(what, f"changed the tensor to {describe(w)}", IN_PLACE)
    if bool(torch.isnan(w).any()):
        fail(what, f"left {int(torch.isnan(w).sum())} of {w.numel()} entries unfilled", IN_PLACE)
    return w


def _target_std(fn: str, shape: tuple[int, ...], **kwargs) -> float:
    """PyTorch's std for this initializer, from torch.nn.init's fan and gain computations."""
    t = torch.empty(shape, device="meta")
    if fn.startswith("xavier"):
        fan_in, fan_out = init._calculate_fan_in_and_fan_out(t)
        return kwargs.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    fan = init._calculate_correct_fan(t, kwargs.get("mode", "fan_in"))
    return init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0.0)) / math.sqrt(fan)


def _check_variance(w: torch.Tensor, std: float, uniform: bool, what: str, hint: str) -> None:
    """mean(w^2) / std^2 inside a window a correct fill leaves with probability <= 1e-6.

    Normal: sum (w/std)^2 is chi-square with n degrees of freedom (Laurent-Massart bounds);
    uniform: w^2 / std^2 lies in [0, 3] (Hoeffding's inequality).
    """
    n = w.numel()
    ratio = float((w.double() / std).square().mean())
    if uniform:
        lo, hi = 1 - 3 * math.sqrt(X / (2 * n)), 1 + 3 * math.sqrt(X / (2 * n))
    else:
        lo, hi = 1 - 2 * math.sqrt(X / n), 1 + 2 * math.sqrt(X / n) + 2 * X / n
    if not lo - 1e-6 <= ratio <= hi + 1e-6:
        fail(what, f"the variance of your {n} values is {ratio:.3f} times the target {std:.4g}**2 "
             f"(a correct fill lands in [{lo:.3f}, {hi:.3f}])", hint)


# --------------------------------------------------------------------------- Task 1: compute_fans

def _pair(value):
    """A returned list reads as a tuple; ints stay ints (anything else fails the comparison)."""
    return tuple(value) if type(value) is list else value


@graded("1.1", points=1)
def test_fans_linear(student):
    """compute_fans of a linear weight (out_features=20, in_features=30) is (30, 20)"""
    expect_equal(_pair(student.call("compute_fans", (20, 30))), (30, 20), what="compute_fans((20, 30))",
                 hint="the layout is (out, in): fan_in = in = 30, fan_out = out = 20.")


@graded("1.2", points=2)
@PROPERTY
@given(shape=st.lists(st.integers(1, 9), min_size=2, max_size=5).map(tuple))
def test_fans_match_pytorch(student, shape):
    """compute_fans of linear and 1-, 2-, 3-D convolution shapes matches PyTorch's fan computation"""
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(torch.empty(shape, device="meta"))
    expect_equal(_pair(student.call("compute_fans", shape)), (fan_in, fan_out), what=f"compute_fans({shape})",
                 hint="(out, in, *kernel): fan_in = in * prod(kernel), fan_out = out * prod(kernel).")


@graded("1.3", points=1)
def test_fans_rejects_1d(student):
    """compute_fans raises ValueError for a 1-D shape (a bias vector has no fan-in and fan-out)"""
    student.raises("ValueError", "compute_fans", (10,))


# --------------------------------------------------------------------------- Task 2: calculate_gain

def _expect_gain(student, nonlinearity: str, *param) -> None:
    what = f"calculate_gain({', '.join(map(repr, (nonlinearity, *param)))})"
    got = student.call("calculate_gain", nonlinearity, *param)
    expected = float(init.calculate_gain(nonlinearity, *param))
    if type(got) not in (int, float) or not abs(got - expected) <= 1e-12 * expected:
        fail(what, f"returned {got!r}, expected {expected!r}",
             "see the table in the handout; leaky_relu uses sqrt(2 / (1 + slope**2)).")


@graded("2.1", points=2)
def test_gains(student):
    """calculate_gain of linear, conv2d, sigmoid, tanh, relu and selu matches torch.nn.init.calculate_gain"""
    for nonlinearity in ("linear", "conv2d", "sigmoid", "tanh", "relu", "selu"):
        _expect_gain(student, nonlinearity)


@graded("2.2", points=1)
def test_gain_leaky_relu(student):
    """calculate_gain('leaky_relu') with the default slope 0.01 and with param=0.2"""
    _expect_gain(student, "leaky_relu")
    _expect_gain(student, "leaky_relu", 0.2)


@graded("2.3", points=1)
def test_gain_rejects_unknown(student):
    """calculate_gain raises ValueError for an unknown nonlinearity"""
    student.raises("ValueError", "calculate_gain", "swish")


# --------------------------------------------------------------------------- Task 3: xavier_uniform_

@graded("3.1", points=1)
def test_xavier_uniform_in_place(student, rng):
    """xavier_uniform_ fills every entry of the tensor in place and returns the same tensor"""
    _filled(student, "xavier_uniform_", (30, 20), rng)


@graded("3.2", points=2)
def test_xavier_uniform_bound(student, rng):
    """xavier_uniform_ on a 512x256 weight: every value within +-a, the largest close to a

    With n = 131072 values from U(-a, a), max |w| < a (1 - d) for d = ln(1e6) / n has
    probability (1 - d)^n <= 1e-6; values beyond a are impossible.
    """
    shape = (512, 256)
    w = _filled(student, "xavier_uniform_", shape, rng)
    a = math.sqrt(3) * _target_std("xavier_uniform_", shape)
    top = float(w.abs().max())
    what = "xavier_uniform_(<512x256 float32 tensor>)"
    if top > a * (1 + 1e-6):
        fail(what, f"a value of magnitude {top:.5g} lies outside [-a, a] = [-{a:.5g}, {a:.5g}]",
             "a = gain * sqrt(6 / (fan_in + fan_out)).")
    if top < a * (1 - math.log(1 / P_FALSE) / w.numel()) - 1e-6:
        fail(what, f"the largest |value| is {top:.5g}, clearly below a = {a:.5g}",
             "the interval is too narrow: a = sqrt(3) * std, with std = gain * sqrt(2 / (fan_in + fan_out)).")


@graded("3.3", points=2)
def test_xavier_uniform_conv_variance(student, rng):
    """xavier_uniform_ on a 128x64x5x5 conv weight has variance gain^2 * 2 / (fan_in + fan_out) (gain 5/3)"""
    shape = (128, 64, 5, 5)
    w = _filled(student, "xavier_uniform_", shape, rng, gain=5 / 3)
    _check_variance(w, _target_std("xavier_uniform_", shape, gain=5 / 3), True,
                    "xavier_uniform_(<128x64x5x5 float32 tensor>, gain=5/3)",
                    "fans of a convolution include the kernel: fan_in = 64 * 25, fan_out = 128 * 25.")


# --------------------------------------------------------------------------- Task 4: xavier_normal_

@graded("4.1", points=2)
def test_xavier_normal_variance(student, rng):
    """xavier_normal_ on a 1024x256 weight has variance 2 / (fan_in + fan_out)"""
    shape = (1024, 256)
    w = _filled(student, "xavier_normal_", shape, rng)
    _check_variance(w, _target_std("xavier_normal_", shape), False, "xavier_normal_(<1024x256 float32 tensor>)",
                    "std = gain * sqrt(2 / (fan_in + fan_out)).")


@graded("4.2", points=1.5)
def test_xavier_normal_is_normal(student, rng):
    """xavier_normal_ draws from a normal distribution (Kolmogorov-Smirnov test against N(0, std^2))

    The Dvoretzky-Kiefer-Wolfowitz inequality (Massart's constant) bounds the probability that a
    correct fill of n values lies farther than sqrt(ln(2e6) / 2n) from the normal CDF by 1e-6.
    """
    shape, gain = (512, 512), math.sqrt(2)
    w = _filled(student, "xavier_normal_", shape, rng, gain=gain)
    z = torch.sort((w.double() / _target_std("xavier_normal_", shape, gain=gain)).flatten()).values
    n = z.numel()
    cdf = torch.special.ndtr(z)
    i = torch.arange(1, n + 1, dtype=torch.float64)
    distance = max(float((i / n - cdf).max()), float((cdf - (i - 1) / n).max()))
    limit = math.sqrt(X / (2 * n)) + 1e-6
    if distance > limit:
        fail(f"xavier_normal_(<512x512 float32 tensor>, gain={gain:.4f})",
             f"the values are at Kolmogorov-Smirnov distance {distance:.4f} from N(0, std^2) (allowed: {limit:.4f})",
             "draw from a normal distribution with mean 0 and std = gain * sqrt(2 / (fan_in + fan_out)).")


@graded("4.3", points=1)
def test_xavier_normal_rejects_1d(student):
    """xavier_normal_ raises ValueError for a 1-D tensor"""
    student.raises("ValueError", "xavier_normal_", torch.zeros(5))


# --------------------------------------------------------------------------- Task 5: kaiming_uniform_

@graded("5.1", points=1.5)
def test_kaiming_uniform_linear_default(student, rng):
    """kaiming_uniform_(w, a=sqrt(5)) -- nn.Linear's default -- gives values within +-1/sqrt(fan_in)"""
    shape = (300, 500)
    w = _filled(student, "kaiming_uniform_", shape, rng, a=math.sqrt(5))
    bound = 1 / math.sqrt(500)
    top = float(w.abs().max())
    what = "kaiming_uniform_(<300x500 float32 tensor>, a=sqrt(5))"
    if top > bound * (1 + 1e-6) or top < bound * (1 - math.log(1 / P_FALSE) / w.numel()) - 1e-6:
        fail(what, f"the largest |value| is {top:.5g}; it must be just below 1/sqrt(500) = {bound:.5g}",
             "gain = sqrt(2 / (1 + a**2)) = sqrt(1/3); bound = sqrt(3) * gain / sqrt(fan_in).")


@graded("5.2", points=1.5)
def test_kaiming_uniform_fan_out(student, rng):
    """kaiming_uniform_(w, mode='fan_out', nonlinearity='relu') on a 256x1024 weight uses fan_out = 256"""
    shape = (256, 1024)
    w = _filled(student, "kaiming_uniform_", shape, rng, mode="fan_out", nonlinearity="relu")
    _check_variance(w, _target_std("kaiming_uniform_", shape, mode="fan_out", nonlinearity="relu"), True,
                    "kaiming_uniform_(<256x1024 float32 tensor>, mode='fan_out', nonlinearity='relu')",
                    "mode='fan_out' divides by fan_out = out_features = 256; relu's gain is sqrt(2).")


@graded("5.3", points=1.5)
def test_kaiming_uniform_generator(student, rng, device):
    """kaiming_uniform_ with generator=: same generator state -> same values, different state -> different"""
    a, g1 = _seed(rng), _seed(rng)
    b, g2 = a + 1, g1 + 1  # distinct seeds
    runs = [{"generator": GeneratorSpec(a, device), "global_seed": g1},
            {"generator": GeneratorSpec(a, device), "global_seed": g2},
            {"generator": GeneratorSpec(b, device), "global_seed": g1}]
    got = student.probe("generator_runs", "kaiming_uniform_", _nan((32, 16)), runs, uses=("kaiming_uniform_",))
    what = "kaiming_uniform_(<32x16 float32 tensor>, generator=<torch.Generator>)"
    if type(got) is not list or len(got) != 3 or not all(type(t) is torch.Tensor and t.shape == (32, 16) for t in got):
        fail(what, "the grader could not read the filled tensors back", IN_PLACE)
    r1, r2, r3 = got
    if not torch.equal(r1, r2):
        fail(what, "two generators seeded alike gave different values",
             "draw from `generator` (tensor.uniform_(lo, hi, generator=generator)), not the global RNG.")
    if torch.equal(r1, r3):
        fail(what, "generators seeded differently gave the same values", "draw from the generator you are given.")


# --------------------------------------------------------------------------- Task 6: kaiming_normal_

@graded("6.1", points=2)
def test_kaiming_normal_variance(student, rng):
    """kaiming_normal_(w, nonlinearity='relu') on a 128x64x3x3 conv weight has variance 2 / fan_in"""
    shape = (128, 64, 3, 3)
    w = _filled(student, "kaiming_normal_", shape, rng, nonlinearity="relu")
    _check_variance(w, _target_std("kaiming_normal_", shape, nonlinearity="relu"), False,
                    "kaiming_normal_(<128x64x3x3 float32 tensor>, nonlinearity='relu')",
                    "std = sqrt(2) / sqrt(fan_in) with fan_in = 64 * 3 * 3.")


@graded("6.2", points=1)
def test_kaiming_normal_rejects_bad_mode(student):
    """kaiming_normal_ raises ValueError for mode='fan_avg'"""
    student.raises("ValueError", "kaiming_normal_", torch.zeros(4, 3), mode="fan_avg")


WIDTH, DEPTH, BATCH = 256, 50, 32


def _relu_mlp_mean_squares(weights: list[torch.Tensor], x0: torch.Tensor) -> list[float]:
    """Mean squared activation after each layer of x -> relu(x @ W.T), relative to the input's."""
    x, start, out = x0, float(x0.square().mean()), []
    for w in weights:
        x = torch.relu(x @ w.double().T)
        out.append(float(x.square().mean()) / start)
    return out


def _mlp_weights(student, rng, **kwargs) -> list[torch.Tensor]:
    got = student.probe("fill_each", "kaiming_normal_", _nan((WIDTH, WIDTH)), DEPTH, _seed(rng),
                        uses=("kaiming_normal_",), **kwargs)
    if type(got) is not list or len(got) != DEPTH or not all(
            type(w) is torch.Tensor and w.shape == (WIDTH, WIDTH) and not bool(torch.isnan(w).any()) for w in got):
        fail(f"kaiming_normal_(<{WIDTH}x{WIDTH} float32 tensor>)", "did not fill the weights in place", IN_PLACE)
    return got


def _trace(series: list[float]) -> str:
    return ", ".join(f"layer {i + 1}: {series[i]:.3g}" for i in (0, 9, 19, 29, 39, 49))


@graded("6.3", points=3, size="scale")
def test_experiment_he_init_keeps_relu_activations_stable(student, rng):
    """experiment: through a 50-layer ReLU MLP (width 256) with He init the mean square activation stays O(1)

    x -> relu(x @ W.T) fifty times, W from kaiming_normal_(W, nonlinearity='relu'); 32 random
    inputs. For one input the ratio of squared norms after/before a layer is R = (2/n) chi2_K
    with K ~ Binomial(n, 1/2) (rotation invariance of Gaussian rows), independently per layer.
    Chernoff bounds on the product of 50 such R (exact moments of chi2 and the binomial,
    n = 256): P(ratio > 1e3) <= 2e-13, P(ratio < 1e-3) <= 3e-9; over the 32 inputs (a union
    bound) a correct kaiming_normal_ fails with probability <= 1e-7. A std off by a factor
    sqrt(2) either way (gain 1 or 2 instead of sqrt(2)) moves the ratio by 2^(+-50) ~ 1e15 and fails.
    """
    x0 = torch.randn(BATCH, WIDTH, generator=rng, dtype=torch.float64)
    series = _relu_mlp_mean_squares(_mlp_weights(student, rng, nonlinearity="relu"), x0)
    if not 1e-3 <= series[-1] <= 1e3:
        fail("a 50-layer ReLU MLP initialized with your kaiming_normal_(W, nonlinearity='relu')",
             f"the mean square activation relative to the input went {_trace(series)}; He init keeps it "
             "within [1e-3, 1e3] (typically 0.2 to 2)",
             "std = sqrt(2) / sqrt(fan_in): relu halves the second moment, the gain sqrt(2) restores it.")


@graded("6.4", points=2, size="scale")
def test_experiment_small_init_collapses(student, rng):
    """experiment: the same MLP with a too-small init (gain 1, std 1/sqrt(fan_in)) collapses below 1e-6

    With nonlinearity='linear' every layer halves the second moment on average: the ratio is
    2^-50 ~ 9e-16 times the He ratio above, so P(ratio > 1e-6) <= 32 * 1e-119 for a correct
    kaiming_normal_ (same Chernoff bound with R = (1/n) chi2_K). An implementation that ignores
    `nonlinearity` (always the ReLU gain) does not collapse and fails.
    """
    x0 = torch.randn(BATCH, WIDTH, generator=rng, dtype=torch.float64)
    series = _relu_mlp_mean_squares(_mlp_weights(student, rng, nonlinearity="linear"), x0)
    if not series[-1] < 1e-6:
        fail("a 50-layer ReLU MLP initialized with your kaiming_normal_(W, nonlinearity='linear')",
             f"the mean square activation relative to the input went {_trace(series)}; with std = 1/sqrt(fan_in) "
             "it must shrink about 2x per layer, to below 1e-6",
             "calculate_gain('linear') is 1: with nonlinearity='linear' the std is 1 / sqrt(fan_in).")
