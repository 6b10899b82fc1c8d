# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # `initialization`: fans, gains, Xavier and Kaiming — companion notebook
#
# This notebook puts your `initialization.py` to work: it checks your fans on real layer shapes,
# shows what a gain compensates for, draws histograms of your four initializers against the
# distributions they should sample, and pushes a signal through a 50-layer network to show why the
# scale of the initial weights decides whether a deep network can train at all.
#
# - Run the cells from the top. A cell that needs a task you have not written yet stops with
#   that task's `NotImplementedError`: write the task in `initialization.py`, then rerun the cell.
#   Your edits show up without restarting the kernel (autoreload).
# - Each task starts with a self-check: `check("<task>")` runs that task's public tests (the same
#   as `pytest -m <task>` in a terminal) and prints each test's points and, for a failing test,
#   its hint.
# - Only `initialization.py` is submitted. This notebook is for you and is not graded.

# %%
# %load_ext autoreload
# %autoreload 2
# %matplotlib inline

import math

import initialization
import matplotlib.pyplot as plt
import torch
from selfcheck import check

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
print(f"running on {device}")

# %% [markdown]
# ## Task 1: `compute_fans`
#
# PyTorch stores a weight with the output dimension first, `(out, in, *kernel)`, and every kernel
# position counts towards both fans (handout, section 3). Below, your `compute_fans` on the weights
# of real PyTorch layers. Building a layer here is fine: only `initialization.py` may not use
# `torch.nn.init`.

# %%
check("compute_fans")

# %%
layers = [
    torch.nn.Linear(300, 100),
    torch.nn.Conv1d(16, 32, kernel_size=5),
    torch.nn.Conv2d(64, 128, kernel_size=(3, 5)),
    torch.nn.Conv3d(8, 4, kernel_size=(2, 3, 3)),
]
print(f"{'layer':<55} {'weight shape':<20} (fan_in, fan_out)")
for layer in layers:
    shape = tuple(layer.weight.shape)
    print(f"{layer!r:<55} {shape!s:<20} {initialization.compute_fans(layer.weight.shape)}")

# %% [markdown]
# The handout's example, `Conv2d(64, 128, kernel_size=(3, 5))`, should give `(960, 1920)`: 64 input
# channels times 15 kernel positions in, 128 times 15 out.
#
# ## Task 2: `calculate_gain`
#
# A layer with weights of variance $\mathrm{gain}^2 / n_\text{in}$ multiplies the second moment of
# its input by $\mathrm{gain}^2 \, \mathbb{E}[f(y)^2] / \mathbb{E}[y^2]$, where $f$ is the
# nonlinearity and $y$ the pre-activation (handout, section 2). A good gain makes that factor 1.
# The plot computes it for pre-activations $y \sim \mathcal{N}(0, s^2)$ of every scale $s$, with
# **your** gains.

# %%
check("calculate_gain")

# %%
z = torch.linspace(-8.0, 8.0, 4001, dtype=torch.float64)
weights = torch.exp(-z**2 / 2)
weights /= weights.sum()  # N(0, 1) quadrature weights on a fine grid: E[g(z)] = sum(weights * g(z))
scales = torch.logspace(-2, 1, 200, dtype=torch.float64)
curves = {
    "linear": (lambda y: y, initialization.calculate_gain("linear")),
    "relu": (torch.relu, initialization.calculate_gain("relu")),
    "leaky_relu, slope 0.2": (lambda y: torch.nn.functional.leaky_relu(y, 0.2),
                              initialization.calculate_gain("leaky_relu", 0.2)),
    "tanh": (torch.tanh, initialization.calculate_gain("tanh")),
}

fig, ax = plt.subplots(figsize=(7, 4))
for (name, (f, gain)), style in zip(curves.items(), ("-", "--", "-.", "-")):
    y = scales[:, None] * z[None, :]
    factor = gain**2 * (weights * f(y) ** 2).sum(dim=1) / scales**2
    ax.plot(scales, factor, style, lw=2, label=f"{name} (gain {gain:.3f})")
ax.axhline(1.0, color="gray", ls=":", label="factor 1: the scale is preserved")
ax.set_xscale("log")
ax.set_ylim(0, 4)
ax.set_xlabel("scale s of the pre-activation y ~ N(0, s²)")
ax.set_ylabel("gain² · E[f(y)²] / E[y²]")
ax.set_title("Per-layer factor on the second moment, with your gains")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# For `linear`, `relu` and `leaky_relu` the factor is exactly 1 at every scale (their three lines lie
# on top of each other): the gain undoes what the nonlinearity takes away. `tanh` is different: it
# is nearly linear for small inputs (factor $(5/3)^2 \approx 2.8$, so the signal grows) and
# squashes large ones (factor below 1, so it shrinks). A deep tanh network initialized with gain
# 5/3 therefore settles near the scale where the curve crosses 1 instead of vanishing or
# saturating.
#
# ## Task 3: `xavier_uniform_`
#
# Xavier uniform fills the weight from $U(-a, a)$ with
# $a = \mathrm{gain}\sqrt{6 / (\text{fan\_in} + \text{fan\_out})}$ (handout, section 5). The
# histogram shows your fill of a rectangular weight against that target density; the printed
# standard deviations should agree to about 1%.

# %%
check("xavier_uniform")

# %%
def plot_fill(w: torch.Tensor, target_x: torch.Tensor, target_pdf: torch.Tensor, title: str) -> None:
    """Histogram of the values of ``w`` (as a density) against the target density."""
    values = w.detach().flatten().cpu().double()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(values, bins=80, density=True, alpha=0.6, label=f"your fill ({values.numel():,} values)")
    ax.plot(target_x, target_pdf, "k", lw=2, label="target density")
    ax.set_xlabel("weight value")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.set_ylim(0, 1.3 * ax.get_ylim()[1])  # room for the legend above the histogram
    ax.legend(loc="upper right")
    fig.tight_layout()
    plt.show()


def uniform_pdf(bound: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Points and values of the density of U(-bound, bound), drawn slightly beyond the bounds."""
    x = torch.linspace(-1.2 * bound, 1.2 * bound, 601, dtype=torch.float64)
    return x, (x.abs() <= bound).double() / (2 * bound)


def normal_pdf(std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Points and values of the density of N(0, std²)."""
    x = torch.linspace(-4 * std, 4 * std, 601, dtype=torch.float64)
    return x, torch.exp(-((x / std) ** 2) / 2) / (std * math.sqrt(2 * math.pi))


w = torch.empty(200, 600, device=device)  # fan_in 600, fan_out 200
gain = initialization.calculate_gain("tanh")
out = initialization.xavier_uniform_(w, gain=gain)
bound = gain * math.sqrt(6 / (600 + 200))
print(f"returned the same tensor: {out is w}")
print(f"std: yours {w.std().item():.5f}, target {bound / math.sqrt(3):.5f}")
print(f"largest |w|: yours {w.abs().max().item():.5f}, bound a = {bound:.5f}")
plot_fill(w, *uniform_pdf(bound), "xavier_uniform_(w, gain=5/3) on a 200 × 600 weight")

# %% [markdown]
# ## Task 4: `xavier_normal_`
#
# The same standard deviation, $\mathrm{gain}\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}$, from a
# normal distribution. The weight here is a convolution's: its fans include the 3 × 3 kernel.

# %%
check("xavier_normal")

# %%
w = torch.empty(64, 32, 3, 3, device=device)  # fan_in 32 * 9 = 288, fan_out 64 * 9 = 576
initialization.xavier_normal_(w)
std = math.sqrt(2 / (288 + 576))
print(f"std: yours {w.std().item():.5f}, target {std:.5f}")
plot_fill(w, *normal_pdf(std), "xavier_normal_ on a Conv2d(32, 64, 3) weight (64 × 32 × 3 × 3)")

# %% [markdown]
# ## Task 5: `kaiming_uniform_`
#
# Kaiming uses a single fan, chosen by `mode`, and the gain of the nonlinearity that follows:
# bound $b = \sqrt{3}\,\mathrm{gain} / \sqrt{\text{fan}}$ (handout, section 6). With
# `a=math.sqrt(5)`, the way `nn.Linear` initializes its weight, the bound becomes exactly
# $1 / \sqrt{\text{fan\_in}}$. The plot compares the two modes on a rectangular weight: `fan_out`
# is four times `fan_in` here, so its bound is half as wide.

# %%
check("kaiming_uniform")

# %%
w_in = initialization.kaiming_uniform_(torch.empty(1024, 256, device=device), mode="fan_in")
w_out = initialization.kaiming_uniform_(torch.empty(1024, 256, device=device), mode="fan_out")
w_linear = initialization.kaiming_uniform_(torch.empty(1024, 256, device=device), a=math.sqrt(5))
print(f"a=sqrt(5): largest |w| {w_linear.abs().max().item():.5f}, 1/sqrt(fan_in) = {1 / math.sqrt(256):.5f}")

fig, ax = plt.subplots(figsize=(7, 4))
for w, mode, fan in ((w_in, "fan_in", 256), (w_out, "fan_out", 1024)):
    bound = math.sqrt(3) * math.sqrt(2) / math.sqrt(fan)
    values = w.flatten().cpu().double()
    ax.hist(values, bins=80, density=True, alpha=0.5, label=f'your fill, mode="{mode}"')
    ax.plot(*uniform_pdf(bound), lw=2, label=f"target U(-b, b), b = √6 / √{fan} = {bound:.4f}")
ax.set_xlabel("weight value")
ax.set_ylabel("density")
ax.set_title("kaiming_uniform_ on a 1024 × 256 weight: fan_in against fan_out")
ax.set_ylim(0, 1.5 * ax.get_ylim()[1])  # room for the legend above the histograms
ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Task 6: `kaiming_normal_`, and why initialization matters
#
# First the fill itself, then the experiment of the handout's sections 2 and 9, extended: 50 layers
# of width 256, $h_{l+1} = f(W_l h_l)$, with $f$ = tanh or ReLU and three ways to draw every $W_l$:
#
# - **naive**: $\mathcal{N}(0, 1)$, ignoring the fan;
# - **Xavier**: your `xavier_normal_` (gain 1);
# - **He**: your `kaiming_normal_(w, nonlinearity="relu")`.
#
# For each layer we record the standard deviation of the activations $h_l$ in the forward pass and
# of the gradients $\partial L / \partial h_l$ in the backward pass (autograd, with a random
# upstream gradient). The network runs in float64 so that the exploding runs stay finite.

# %%
check("kaiming_normal")

# %%
w = initialization.kaiming_normal_(torch.empty(512, 128, device=device), nonlinearity="relu")
std = math.sqrt(2) / math.sqrt(128)
print(f"std: yours {w.std().item():.5f}, target {std:.5f}")
plot_fill(w, *normal_pdf(std), 'kaiming_normal_(w, nonlinearity="relu") on a 512 × 128 weight')

# %%
DEPTH, WIDTH, BATCH = 50, 256, 128
SCHEMES = ("naive N(0, 1)", "Xavier", "He")


def fill(w: torch.Tensor, scheme: str) -> torch.Tensor:
    """Initialize ``w`` in place with one of SCHEMES (Xavier and He are yours)."""
    if scheme == "naive N(0, 1)":
        return w.normal_(0.0, 1.0)
    if scheme == "Xavier":
        return initialization.xavier_normal_(w)
    return initialization.kaiming_normal_(w, nonlinearity="relu")


def layer_stds(activation, scheme: str) -> tuple[list[float], list[float]]:
    """Std of the activations and of their gradients, layer by layer, through the deep network."""
    torch.manual_seed(0)
    h = torch.randn(BATCH, WIDTH, dtype=torch.float64, device=device, requires_grad=True)
    hidden = []
    for _ in range(DEPTH):
        w = fill(torch.empty(WIDTH, WIDTH, dtype=torch.float64, device=device), scheme)
        h = activation(h @ w.T)
        h.retain_grad()
        hidden.append(h)
    h.backward(torch.randn_like(h))
    return [t.detach().std().item() for t in hidden], [t.grad.std().item() for t in hidden]


results = {(name, scheme): layer_stds(act, scheme)
           for name, act in (("tanh", torch.tanh), ("ReLU", torch.relu)) for scheme in SCHEMES}

fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
layers = range(1, DEPTH + 1)
for row, name in enumerate(("tanh", "ReLU")):
    for scheme in SCHEMES:
        forward, backward = results[(name, scheme)]
        axes[row, 0].plot(layers, forward, lw=2, label=scheme)
        axes[row, 1].plot(layers, backward, lw=2, label=scheme)
    axes[row, 0].set_title(f"{name} network: std of the activations")
    axes[row, 1].set_title(f"{name} network: std of the gradients")
    for ax in axes[row]:
        ax.set_yscale("log")
        ax.set_ylabel("standard deviation (log scale)")
        ax.legend()
for ax in axes[1]:
    ax.set_xlabel("layer")
fig.suptitle("Why initialization matters: 50 layers of width 256, three initializations")
fig.tight_layout()
plt.show()

for (name, scheme), (forward, backward) in results.items():
    print(f"{name:<5} {scheme:<14} activations at layer 50: {forward[-1]:9.2e}   "
          f"gradients at layer 1: {backward[0]:9.2e}")

# %% [markdown]
# What to look for:
#
# - **ReLU, naive**: every layer multiplies the variance by about $n_\text{in}/2 = 128$, so the
#   activations grow by about 11× per layer, and the gradients, flowing back through the same
#   weights, grow just as fast towards the input. No learning rate can handle that.
# - **ReLU, Xavier**: the variance is halved at each layer (Xavier has no ReLU gain), so the signal
#   fades by $2^{-25}$ in standard deviation over 50 layers, and so do the gradients near the input.
# - **ReLU, He**: flat lines. This is the $\sqrt{2}$ of section 2 at work.
# - **tanh, naive**: the pre-activations are about 16 times too large, so every unit saturates at
#   ±1 and the activations look fine, but the gradients explode towards the input.
# - **tanh, Xavier**: tanh shrinks what passes through it, and gain 1 does not make up for that
#   (the task 2 curve without the gain lies below 1), so the activations drift slowly downwards.
# - **tanh, He**: the larger gain holds the activations at a steady scale, where the factor curve
#   of task 2 (with gain $\sqrt{2}$) crosses 1; the gradients grow a little towards the input.
#
# Try it yourself: change `DEPTH` or `WIDTH`, use `mode="fan_out"` in `fill`, or give Xavier the
# tanh gain (`gain=initialization.calculate_gain("tanh")`) and compare with the task 2 plot.
