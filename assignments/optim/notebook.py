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
# # `optim`: SGD, Adam and AdamW — companion notebook
#
# This notebook puts your `optim.py` to work: it runs your optimizers on two classic test
# functions, an ill-conditioned quadratic and Rosenbrock's curved valley, draws their paths with
# `torch.optim`'s paths on top, and shows how Adam's L2 weight decay differs from AdamW's decoupled
# one.
#
# - Run the cells from the top. A cell that needs a task you have not written yet stops with
#   that task's `NotImplementedError`: write the task in `optim.py`, then rerun the cell.
#   Your edits show up without restarting the kernel (autoreload).
# - Each task starts with a self-check: `check("<task>")` runs that task's public tests (the same
#   as `pytest -m <task>` in a terminal) and prints each test's points and, for a failing test,
#   its hint.
# - Only `optim.py` is submitted. This notebook is for you and is not graded. (The notebook may use
#   `torch.optim` to compare with; only `optim.py` may not.)

# %%
# %load_ext autoreload
# %autoreload 2
# %matplotlib inline

import matplotlib.pyplot as plt
import optim
import torch
from selfcheck import check

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
print(f"running on {device}")

# %% [markdown]
# ## Task 1: the `Optimizer` base class
#
# The base class keeps the parameters as a list and a state dict per parameter, and `zero_grad`
# sets every gradient to `None` (handout, section 2). Here it is on the parameters of a small
# model, given as the generator `model.parameters()`, which can be read only once.

# %%
check("optimizer")

# %%
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).to(device)
opt = optim.Optimizer(model.parameters())
print(f"params is a {type(opt.params).__name__} of {len(opt.params)} tensors, shapes "
      f"{[tuple(p.shape) for p in opt.params]}")
print(f"state starts empty: {opt.state == {}}")
model(torch.randn(8, 3, device=device)).sum().backward()
print(f"after backward, gradients present: {[p.grad is not None for p in opt.params]}")
opt.zero_grad()
print(f"after zero_grad, gradients are None: {[p.grad is None for p in opt.params]}")

# %% [markdown]
# ## Task 2: `SGD`
#
# Two test functions, both with analytic gradients (we set `x.grad` ourselves, as the tests do):
#
# - the **ill-conditioned quadratic** $f(x) = \tfrac12 (x_1^2 + 100\, x_2^2)$ from $(1, 1)$ of the
#   handout's section 7: the curvature is 100 times larger along $x_2$ than along $x_1$;
# - **Rosenbrock's function** $f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2$ from $(-1.5, 2)$: a narrow
#   curved valley with its minimum at $(1, 1)$.
#
# Plain SGD must keep $\eta < 2/100$ to stay stable in the steep direction, and then it crawls
# along the flat one. Momentum (heavy ball) and Nesterov build up speed along the valley. Each of
# your paths is drawn as a line, `torch.optim`'s path for the same settings as dots on top: if you
# follow PyTorch's conventions (section 3), the dots sit on your line.

# %%
check("sgd")

# %%
def quadratic(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss and gradient of f(x) = (x1² + 100 x2²) / 2 (also on grids: x[0] and x[1] may be arrays)."""
    return 0.5 * (x[0] ** 2 + 100 * x[1] ** 2), torch.stack([x[0], 100 * x[1]])


def rosenbrock(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss and gradient of Rosenbrock's function (1 - x)² + 100 (y - x²)² (also on grids)."""
    a, b = x
    loss = (1 - a) ** 2 + 100 * (b - a * a) ** 2
    return loss, torch.stack([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])


PROBLEMS = {"quadratic": (quadratic, (1.0, 1.0), 100), "Rosenbrock": (rosenbrock, (-1.5, 2.0), 2000)}


def path(make, problem: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the optimizer ``make([x])`` on ``problem``: the points visited and the loss at each."""
    f, start, steps = PROBLEMS[problem]
    x = torch.tensor(start, dtype=torch.float64, device=device)
    opt = make([x])
    points, losses = [x.clone()], []
    for _ in range(steps):
        loss, x.grad = f(x)
        losses.append(loss)
        opt.step()
        points.append(x.clone())
    return torch.stack(points).cpu(), torch.stack(losses).cpu()


def contours(ax, problem: str, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """Log-spaced contour lines of ``problem`` and a star at its minimum."""
    f = PROBLEMS[problem][0]
    xs, ys = torch.meshgrid(torch.linspace(*xlim, 200, dtype=torch.float64),
                            torch.linspace(*ylim, 200, dtype=torch.float64), indexing="xy")
    zs = f(torch.stack([xs, ys]))[0]
    levels = torch.logspace(-3, 3, 13).tolist()
    ax.contour(xs, ys, zs, levels=levels, colors="lightgray", linewidths=0.8)
    ax.plot(*((0.0, 0.0) if problem == "quadratic" else (1.0, 1.0)), "k*", ms=12, label="minimum")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x₁" if problem == "quadratic" else "x")
    ax.set_ylabel("x₂" if problem == "quadratic" else "y")


RUNS: dict = {}
"""(optimizer name, problem) -> (your path, your losses, torch.optim's path), so task 3 reruns only Adam."""


def compare(settings: dict, title: str) -> None:
    """Paths (yours: lines; torch.optim: dots) on both problems, and the loss against the step."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    contours(axes[0], "quadratic", (-1.2, 1.2), (-1.2, 1.2))
    contours(axes[1], "Rosenbrock", (-2.0, 2.0), (-1.0, 3.0))
    for name, (problem_settings, color) in settings.items():
        for ax, problem in zip(axes, PROBLEMS):
            if (name, problem) not in RUNS:
                yours, ref = problem_settings[problem]
                RUNS[name, problem] = (*path(yours, problem), path(ref, problem)[0])
            ours, losses, torch_points = RUNS[name, problem]
            gap = (ours - torch_points).abs().max().item()
            ax.plot(ours[:, 0], ours[:, 1], "-", color=color, lw=1.5, label=f"{name} (yours)")
            ax.plot(torch_points[::5, 0], torch_points[::5, 1], ".", color=color, ms=4,
                    label="dots: torch.optim (every 5th step)" if name == "SGD" else None)
            style = "-" if problem == "quadratic" else "--"
            axes[2].semilogy(losses.clamp_min(1e-30), style, color=color, label=f"{name}, {problem}")
            print(f"{name:<9} {problem:<10} final loss {losses[-1].item():9.2e}   "
                  f"largest gap to torch.optim {gap:.1e}")
    axes[0].set_title("Ill-conditioned quadratic: paths")
    axes[1].set_title("Rosenbrock's valley: paths")
    axes[2].set_title("Loss against the step (your optimizers)")
    axes[2].set_xlabel("step")
    axes[2].set_ylabel("loss (log scale)")
    axes[2].set_xscale("log")
    axes[1].legend(fontsize=8, loc="upper right")
    axes[2].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    plt.show()


def pair(cls_name: str, **hyper) -> tuple:
    """(your optimizer, torch.optim's) with the same hyperparameters, as constructors of a param list."""
    return (lambda ps: getattr(optim, cls_name)(ps, **hyper),
            lambda ps: getattr(torch.optim, cls_name)(ps, foreach=False, **hyper))


SGD_SETTINGS = {
    "SGD": ({"quadratic": pair("SGD", lr=0.019), "Rosenbrock": pair("SGD", lr=1e-3)}, "tab:blue"),
    "momentum": ({"quadratic": pair("SGD", lr=0.033, momentum=0.669),
                  "Rosenbrock": pair("SGD", lr=1e-3, momentum=0.9)}, "tab:orange"),
    "Nesterov": ({"quadratic": pair("SGD", lr=0.012, momentum=0.8, nesterov=True),
                  "Rosenbrock": pair("SGD", lr=1e-3, momentum=0.9, nesterov=True)}, "tab:green"),
}
compare(SGD_SETTINGS, "Your SGD, with momentum and with Nesterov momentum (lines), torch.optim (dots)")

# %% [markdown]
# Plain SGD zigzags across the steep direction and creeps along the flat one (on Rosenbrock it is
# still far from $(1, 1)$ after 2000 steps). Momentum with the textbook settings for condition
# number 100 ($\eta = 0.033$, $\mu = 0.669$) reaches a loss near $10^{-13}$ on the quadratic in
# 100 steps. The Nesterov settings differ because Nesterov's stable range of $\eta$ is smaller.
# Try `momentum=0.669, nesterov=True` with $\eta = 0.033$ and watch it diverge.
#
# ## Task 3: `Adam`
#
# Adam divides each coordinate's step by the root of its own running second moment (handout,
# section 4), so it takes steps of about $\eta$ in every coordinate whatever the curvature. The same
# figure, now with Adam added ($\eta = 0.1$ on the quadratic, $\eta = 0.02$ on Rosenbrock).

# %%
check("adam")

# %%
ALL_SETTINGS = {
    **SGD_SETTINGS,
    "Adam": ({"quadratic": pair("Adam", lr=0.1), "Rosenbrock": pair("Adam", lr=0.02)}, "tab:red"),
}
compare(ALL_SETTINGS, "SGD, momentum, Nesterov and your Adam (lines) against torch.optim (dots)")

# %% [markdown]
# Adam heads almost diagonally at first (equal-sized steps in both coordinates), then follows the
# valley. Its final loss is not the smallest here: on a deterministic problem, momentum with tuned
# settings is hard to beat, and Adam with a constant $\eta$ keeps hopping around the minimum at a
# scale set by $\eta$. Adam's strength is that it needs little tuning across very different scales.
#
# ## Task 4: `AdamW`
#
# Adam's `weight_decay` adds $\lambda p$ to the gradient, so the decay is divided by $\sqrt{\hat v}$
# like the rest of the gradient; AdamW shrinks the parameter itself, $p \leftarrow p(1 - \eta\lambda)$,
# before the Adam step (handout, section 5). To see the difference, take a quadratic with curvatures
# 1 and 100 whose minimum is at $(1, 1)$, start at the origin and use $\lambda = 1$:
#
# - Adam + L2 minimizes $f(x) + \tfrac{\lambda}{2}\lVert x \rVert^2$, whose minimum is
#   $x_i = c_i a_i / (a_i + \lambda)$: the flat coordinate is pulled to $1/2$, the steep one
#   stays at $100/101$. How strongly a coordinate is decayed depends on its curvature.
# - AdamW decays both coordinates at the same relative rate, whatever their gradients.

# %%
check("adamw")

# %%
CURVATURE = torch.tensor([1.0, 100.0], dtype=torch.float64, device=device)
TARGET = torch.ones(2, dtype=torch.float64, device=device)
STEPS = 1500


def decay_path(make) -> torch.Tensor:
    """The points visited on f(x) = sum(a_i (x_i - 1)²) / 2 from the origin."""
    x = torch.zeros(2, dtype=torch.float64, device=device)
    opt = make([x])
    points = [x.clone()]
    for _ in range(STEPS):
        x.grad = CURVATURE * (x - TARGET)
        opt.step()
        points.append(x.clone())
    return torch.stack(points).cpu()


runs = {
    "Adam + L2": (decay_path(lambda ps: optim.Adam(ps, lr=0.01, weight_decay=1.0)),
                  decay_path(lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=1.0, foreach=False))),
    "AdamW": (decay_path(lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=1.0)),
              decay_path(lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=1.0, foreach=False))),
}
l2_optimum = (CURVATURE * TARGET / (CURVATURE + 1.0)).cpu()

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
steps = range(STEPS + 1)
for (name, (yours, theirs)), color in zip(runs.items(), ("tab:purple", "tab:cyan")):
    print(f"{name:<9} after {STEPS} steps: x = ({yours[-1, 0]:.4f}, {yours[-1, 1]:.4f}), "
          f"largest gap to torch.optim {(yours - theirs).abs().max().item():.1e}")
    axes[0].plot(yours[:, 0], yours[:, 1], color=color, lw=2, label=f"{name} (yours)")
    axes[0].plot(theirs[::50, 0], theirs[::50, 1], ".", color=color, ms=6, label=f"{name} (torch.optim)")
    axes[1].plot(steps, yours[:, 0], "-", color=color, lw=2, label=f"{name}: x₁ (curvature 1)")
    axes[1].plot(steps, yours[:, 1], "--", color=color, lw=2, label=f"{name}: x₂ (curvature 100)")
axes[0].plot(1.0, 1.0, "k*", ms=12, label="minimum of f (no decay)")
axes[0].plot(*l2_optimum, "kX", ms=9, label="minimum of f + ‖x‖²/2")
axes[0].set_xlabel("x₁ (curvature 1)")
axes[0].set_ylabel("x₂ (curvature 100)")
axes[0].set_title("Paths from the origin with weight decay λ = 1")
axes[0].legend(fontsize=8)
for value in l2_optimum.tolist():
    axes[1].axhline(value, color="gray", ls=":")
axes[1].set_xlabel("step")
axes[1].set_ylabel("coordinate value")
axes[1].set_title("Each coordinate against the step (dotted: minimum of f + ‖x‖²/2)")
axes[1].legend(fontsize=8)
fig.suptitle("Adam's L2 weight decay against AdamW's decoupled decay (yours: lines, torch.optim: dots)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Adam + L2 lands on the L2 minimum $(0.5, 0.99)$: the flat coordinate is decayed far more than
# the steep one. Under AdamW the two coordinates move together (its two lines on the right lie on
# top of each other): the decay acts on the parameters
# directly and Adam's normalized steps have about the same size in both coordinates, so neither
# the curvature nor the gradient scale decides how much a coordinate is decayed. (With exact
# gradients like these, AdamW is still creeping towards $(1, 1)$ after 1500 steps; with noisy
# mini-batch gradients it settles at a balance between the decay and the noise.)
#
# Try it yourself: change `weight_decay`, the learning rate or `CURVATURE`, or run Adam on
# Rosenbrock with `amsgrad=True`.
