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
# # `dropout`: inverted dropout, forward, backward and as a module — companion notebook
#
# This notebook puts your `dropout.py` to work: it measures that inverted dropout keeps the mean
# of the activations the same in training and in evaluation, checks your backward pass against
# autograd, and trains a small over-parameterised network with and without your `Dropout` layer
# to show what dropout does against overfitting.
#
# - Run the cells from the top. A cell that needs a task you have not written yet stops with
#   that task's `NotImplementedError`: write the task in `dropout.py`, then rerun the cell.
#   Your edits show up without restarting the kernel (autoreload).
# - Each task starts with a self-check: `check("<task>")` runs that task's public tests (the same
#   as `pytest -m <task>` in a terminal) and prints each test's points and, for a failing test,
#   its hint.
# - Only `dropout.py` is submitted. This notebook is for you and is not graded.

# %%
# %load_ext autoreload
# %autoreload 2
# %matplotlib inline

import dropout
import matplotlib.pyplot as plt
import torch
from selfcheck import check

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
print(f"running on {device}")

# %% [markdown]
# ## Task 1: `dropout_forward`
#
# Each element is kept with probability $1 - p$ and the survivors are divided by $1 - p$, so
# $\mathbb{E}[\text{out}_i] = x_i$ (handout, section 2). In evaluation mode the layer does nothing.
# Below, for every $p$, the measured fraction of dropped elements and the mean of the output
# relative to the mean of the input, in training mode and in evaluation mode, on 200,000 positive
# activations. For contrast, the dotted line is what dropout *without* the $1/(1-p)$ would give.

# %%
check("dropout_forward")

# %%
x = torch.rand(200_000, device=device) + 0.5  # positive activations with mean 1
ps = [i / 20 for i in range(19)]  # 0.0, 0.05, ..., 0.9
dropped, train_ratio, eval_ratio, unscaled_ratio = [], [], [], []
for p in ps:
    out, mask = dropout.dropout_forward(x, p=p, training=True)
    kept = torch.ones_like(x, dtype=torch.bool) if mask is None else mask
    dropped.append(1 - kept.double().mean().item())
    train_ratio.append((out.mean() / x.mean()).item())
    unscaled_ratio.append(((x * kept).mean() / x.mean()).item())
    out_eval, _ = dropout.dropout_forward(x, p=p, training=False)
    eval_ratio.append((out_eval.mean() / x.mean()).item())

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].plot(ps, ps, "k:", label="expected: p")
axes[0].plot(ps, dropped, "o", label="measured (your masks)")
axes[0].set_xlabel("drop probability p")
axes[0].set_ylabel("fraction of elements dropped")
axes[0].set_title("Fraction of elements your dropout_forward zeroes")
axes[0].legend()
axes[1].plot(ps, train_ratio, "o-", label="training mode (yours)")
axes[1].plot(ps, eval_ratio, "s--", label="evaluation mode (yours)")
axes[1].plot(ps, unscaled_ratio, ":", label="without the 1/(1-p) scaling")
axes[1].set_xlabel("drop probability p")
axes[1].set_ylabel("mean(out) / mean(x)")
axes[1].set_title("Inverted dropout keeps the mean: training against evaluation")
axes[1].set_ylim(0, 1.3)
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Both ratios should sit on 1 for every $p$ (in training mode up to a random wobble of about
# $\pm 0.01$ at large $p$). This is what lets the same network run in evaluation mode without any
# correction: the next layer sees activations of the same average size in both modes. Without the
# scaling, the training-mode mean would drop to $1 - p$ of the evaluation-mode mean.
#
# ## Task 2: `dropout_backward`
#
# Once the mask is drawn, the forward pass is the linear map $x \mapsto x \odot m / (1 - p)$, so the
# gradient is the upstream gradient times the same mask and scale (handout, section 3). Autograd
# can differentiate that map for us: we rebuild it from your mask and compare.

# %%
check("dropout_backward")

# %%
for p in (0.1, 0.5, 0.9):
    x = torch.randn(64, 32, dtype=torch.float64, device=device, requires_grad=True)
    out, mask = dropout.dropout_forward(x, p=p)
    grad_output = torch.randn_like(out)
    (x * mask / (1 - p)).backward(grad_output)  # the same map, differentiated by autograd
    yours = dropout.dropout_backward(grad_output, mask, p)
    zero_where_dropped = bool((yours[~mask] == 0).all())
    print(f"p = {p}: largest difference from autograd {(yours - x.grad).abs().max().item():.1e}, "
          f"gradient zero wherever the element was dropped: {zero_where_dropped}")

# %% [markdown]
# ## Task 3: the `Dropout` class
#
# The layer remembers the mask of its latest forward pass and switches between training and
# evaluation (handout, section 4). To train a network with it, we let autograd call your
# `forward` and `backward` through a small `torch.autograd.Function`.
#
# The task: 30 noisy samples of $\sin(3x)$ on $[-1, 1]$ and a network with two hidden layers of
# 256 units, about 66,000 parameters for 30 points. Without dropout it can memorise the noise;
# with `Dropout(0.5)` after each hidden layer, no unit can rely on any particular other one. Both
# networks start from the same weights and train with Adam for 2000 steps. The losses are
# measured in evaluation mode (dropout off) on the training points and on 200 fresh validation
# points.

# %%
check("dropout_module")


# %%
class DropoutFunction(torch.autograd.Function):
    """Lets autograd use a Dropout layer: forward is layer.forward, backward is layer.backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, layer: dropout.Dropout) -> torch.Tensor:
        ctx.layer = layer
        return layer.forward(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return ctx.layer.backward(grad_output), None


layer = dropout.Dropout(0.5)
h = torch.rand(1000, 256, device=device) + 0.5
train_mean = torch.stack([layer.forward(h).mean() for _ in range(50)]).mean().item()
eval_mean = layer.eval().forward(h).mean().item()
print(f"{layer!r}: mean activation {h.mean().item():.4f}; after the layer, training mode "
      f"(50 masks) {train_mean:.4f}, evaluation mode {eval_mean:.4f}")

torch.manual_seed(0)
x_train = torch.rand(30, 1, device=device) * 2 - 1
y_train = torch.sin(3 * x_train) + 0.3 * torch.randn(30, 1, device=device)
x_val = torch.rand(200, 1, device=device) * 2 - 1
y_val = torch.sin(3 * x_val) + 0.3 * torch.randn(200, 1, device=device)
STEPS, EVERY = 2000, 20


def train(p: float) -> tuple[list[float], list[float], torch.nn.Module, list[dropout.Dropout]]:
    """Train the 1-256-256-1 ReLU network with your Dropout(p) after each hidden layer."""
    torch.manual_seed(1)  # the same initial weights for every p
    linears = torch.nn.ModuleList([torch.nn.Linear(1, 256), torch.nn.Linear(256, 256),
                                   torch.nn.Linear(256, 1)]).to(device)
    drops = [dropout.Dropout(p), dropout.Dropout(p)]
    opt = torch.optim.Adam(linears.parameters(), lr=3e-3)
    train_loss, val_loss = [], []
    for step in range(STEPS):
        for layer in drops:
            layer.train()
        loss = torch.nn.functional.mse_loss(predict(linears, drops, x_train), y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % EVERY == 0 or step == STEPS - 1:
            with torch.no_grad():
                for layer in drops:
                    layer.eval()
                train_loss.append(torch.nn.functional.mse_loss(predict(linears, drops, x_train), y_train).item())
                val_loss.append(torch.nn.functional.mse_loss(predict(linears, drops, x_val), y_val).item())
    return train_loss, val_loss, linears, drops


def predict(linears: torch.nn.Module, drops: list[dropout.Dropout], x: torch.Tensor) -> torch.Tensor:
    """The network's output: linear, ReLU, your dropout; twice; then the output layer."""
    h = DropoutFunction.apply(torch.relu(linears[0](x)), drops[0])
    h = DropoutFunction.apply(torch.relu(linears[1](h)), drops[1])
    return linears[2](h)


runs = {p: train(p) for p in (0.0, 0.5)}
for p, (train_loss, val_loss, _, _) in runs.items():
    print(f"p = {p}: final training loss {train_loss[-1]:.3f}, final validation loss {val_loss[-1]:.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
steps = [min(i * EVERY, STEPS - 1) for i in range(len(runs[0.0][0]))]
for (p, (train_loss, val_loss, _, _)), color in zip(runs.items(), ("tab:red", "tab:blue")):
    name = "no dropout" if p == 0 else f"your Dropout({p})"
    axes[0].plot(steps, train_loss, "--", color=color, label=f"{name}: training loss")
    axes[0].plot(steps, val_loss, "-", color=color, label=f"{name}: validation loss")
axes[0].axhline(0.09, color="gray", ls=":", label="noise level (0.3² = 0.09)")
axes[0].set_yscale("log")
axes[0].set_xlabel("step")
axes[0].set_ylabel("mean squared error (log scale)")
axes[0].set_title("Training and validation loss, with and without dropout")
axes[0].legend(fontsize=8)

grid = torch.linspace(-1, 1, 400, device=device)[:, None]
axes[1].plot(x_train.cpu(), y_train.cpu(), "ko", ms=4, label="training points")
axes[1].plot(grid.cpu(), torch.sin(3 * grid).cpu(), "k:", label="sin(3x), the noise-free target")
with torch.no_grad():
    for (p, (_, _, linears, drops)), color in zip(runs.items(), ("tab:red", "tab:blue")):
        name = "no dropout" if p == 0 else f"your Dropout({p})"
        axes[1].plot(grid.cpu(), predict(linears, drops, grid).cpu(), color=color, label=name)
axes[1].set_xlabel("x")
axes[1].set_ylabel("y")
axes[1].set_title("The fitted functions after training (evaluation mode)")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Without dropout the training loss keeps falling far below the noise level: the network fits the
# noise of the 30 points, and its validation loss rises again after the first hundred steps. With
# dropout the training loss falls much more slowly and the validation loss stays lower: the fitted
# curve is smoother. Dropout
# is not free, though: it slows training down, and too large a $p$ underfits.
#
# Try it yourself: other values of $p$, fewer or more training points, or a wider network.
