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
# # `softmax_nll`: softmax, log-softmax, NLL and cross-entropy — companion notebook
#
# This notebook puts your `softmax_nll.py` to work: it shows why the textbook softmax breaks on
# large logits, trains a small classifier with nothing but your `cross_entropy` and
# `cross_entropy_backward`, and shows what label smoothing does to a model's confidence.
#
# - Run the cells from the top. A cell that needs a task you have not written yet stops with
#   that task's `NotImplementedError`: write the task in `softmax_nll.py`, then rerun the cell.
#   Your edits show up without restarting the kernel (autoreload).
# - Each task starts with a self-check: `check("<task>")` runs that task's public tests (the same
#   as `pytest -m <task>` in a terminal) and prints each test's points and, for a failing test,
#   its hint.
# - Only `softmax_nll.py` is submitted. This notebook is for you and is not graded.

# %%
# %load_ext autoreload
# %autoreload 2
# %matplotlib inline

import math

import matplotlib.pyplot as plt
import softmax_nll as sn
import torch
from selfcheck import check

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
print(f"running on {device}")

# %% [markdown]
# ## Task 1: `softmax`
#
# The formula from the slides, $\mathrm{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}$, overflows as
# soon as a logit passes $\log(\text{float32 max}) \approx 88.7$: $e^{x}$ becomes `inf` and
# `inf / inf` is `nan`. Section 3 of the handout shows the fix: subtract each row's maximum first,
# which changes nothing mathematically. Here is your implementation against the naive formula.

# %%
check("softmax")

# %%
def naive_softmax(x: torch.Tensor) -> torch.Tensor:
    """The textbook formula, without the max subtraction."""
    return torch.exp(x) / torch.exp(x).sum(dim=-1, keepdim=True)


logits = torch.tensor([[1000.0, 999.0, 998.0]], device=device)
print("logits       ", logits.tolist())
print("naive formula", naive_softmax(logits).tolist())
print("your softmax ", sn.softmax(logits).tolist())

# %% [markdown]
# The same three logits shifted by a constant $c$ have the same softmax for every $c$. The naive
# formula agrees only while $c + 2$ stays below 88.7; yours should give a flat line.

# %%
shifts = torch.linspace(0.0, 1000.0, 401, device=device)
rows = torch.tensor([2.0, 1.0, 0.0], device=device) + shifts[:, None]
naive_p0 = naive_softmax(rows)[:, 0].cpu()
yours_p0 = sn.softmax(rows)[:, 0].cpu()

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(shifts.cpu(), yours_p0, lw=3, label="your softmax")
ax.plot(shifts.cpu(), naive_p0, "--", lw=2, label="naive exp(x) / sum exp(x) (NaN not drawn)")
ax.axvline(math.log(torch.finfo(torch.float32).max) - 2, color="gray", ls=":",
           label="exp overflows float32 beyond here")
ax.set_xlabel("shift c added to the logits [2, 1, 0]")
ax.set_ylabel("probability of class 0")
ax.set_ylim(0, 1)
ax.set_title("Softmax of shifted logits: naive formula vs yours (float32)")
ax.legend(loc="lower left")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Task 2: `log_softmax`
#
# `log(softmax(x))` fails the other way round: when one logit is far above the others, their
# probabilities underflow to 0 and their log becomes `-inf`, although the exact answer is a
# perfectly ordinary negative number. `log_softmax` computes $x_i - \operatorname{logsumexp}(x)$
# directly (handout section 4).

# %%
check("log_softmax")

# %%
gap = torch.tensor([[200.0, 0.0, -5.0]], device=device)
print("log(softmax(x))", torch.log(sn.softmax(gap)).tolist())
print("log_softmax(x) ", sn.log_softmax(gap).tolist())

# %% [markdown]
# ## Task 3: `nll_loss`
#
# The negative log-likelihood picks, for each sample, minus the log-probability of its target
# class and averages over the batch (or sums, or keeps one loss per sample).

# %%
check("nll_loss")

# %%
log_probs = sn.log_softmax(torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], device=device))
targets = torch.tensor([0, 1], device=device)
for reduction in ("none", "sum", "mean"):
    print(f"{reduction:>4}: {sn.nll_loss(log_probs, targets, reduction=reduction).tolist()}")

# %% [markdown]
# ## Task 4: `cross_entropy`
#
# Cross-entropy is `nll_loss(log_softmax(logits))`. With label smoothing $\varepsilon$ the target
# is no longer one-hot but $(1 - \varepsilon)\,\text{one\_hot} + \varepsilon / C$ (handout
# section 6). The plot shows the loss of one sample as its correct logit pulls ahead of the four
# others by a margin $m$: without smoothing the loss keeps falling as $m \to \infty$, so training
# pushes the margin (the confidence) up forever; with smoothing the loss has a minimum at a finite
# margin, which caps the confidence a model is rewarded for.

# %%
check("cross_entropy")

# %%
classes = 5
margins = torch.linspace(-2.0, 12.0, 281, device=device, dtype=torch.float64)
batch = torch.zeros(len(margins), classes, device=device, dtype=torch.float64)
batch[:, 0] = margins
target0 = torch.zeros(len(margins), dtype=torch.long, device=device)

fig, ax = plt.subplots(figsize=(7, 4))
for eps in (0.0, 0.1, 0.3):
    loss = sn.cross_entropy(batch, target0, reduction="none", label_smoothing=eps).cpu()
    best = int(loss.argmin())
    ax.plot(margins.cpu(), loss, label=f"label_smoothing = {eps}")
    if eps > 0:
        ax.plot(margins[best].item(), loss[best].item(), "ko")
ax.set_xlabel("margin m of the correct logit over the 4 others")
ax.set_ylabel("cross-entropy of the sample")
ax.set_title("Cross-entropy vs margin: smoothing puts the minimum (dots) at a finite margin")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Task 5: `cross_entropy_backward`
#
# The gradient of the mean cross-entropy with respect to the logits has a closed form,
# $(\mathrm{softmax}(x) - q) / N$ (handout section 7). First a check against central finite
# differences of your own `cross_entropy`, then a softmax classifier trained with your two
# functions only: no autograd anywhere. The model is linear, `logits = X @ W + b`, so the chain
# rule to the parameters is one matrix product: `dW = X.T @ dlogits`, `db = dlogits.sum(0)`.

# %%
check("cross_entropy_backward")

# %%
x = torch.randn(4, 3, dtype=torch.float64, device=device)
y = torch.tensor([0, 2, 1, 2], device=device)
analytic = sn.cross_entropy_backward(x, y, label_smoothing=0.1)
numeric = torch.zeros_like(x)
h = 1e-6
for i in range(x.shape[0]):
    for j in range(x.shape[1]):
        step = torch.zeros_like(x)
        step[i, j] = h
        up = sn.cross_entropy(x + step, y, label_smoothing=0.1)
        down = sn.cross_entropy(x - step, y, label_smoothing=0.1)
        numeric[i, j] = (up - down) / (2 * h)
print(f"largest difference from central finite differences: {(analytic - numeric).abs().max().item():.2e}")


# %%
def blobs(per_class: int, classes: int, spread: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian blobs around points on a circle: a 2-D classification data set."""
    angles = torch.arange(classes, dtype=torch.float64) * 2 * math.pi / classes
    centers = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) * 3
    labels = torch.arange(classes).repeat_interleave(per_class)
    points = centers[labels] + spread * torch.randn(len(labels), 2, dtype=torch.float64, generator=generator)
    return points.to(device), labels.to(device)


def train(points: torch.Tensor, labels: torch.Tensor, classes: int, label_smoothing: float = 0.0,
          steps: int = 150, lr: float = 0.5, momentum: float = 0.9) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Full-batch gradient descent with momentum on a linear softmax classifier: your loss, your gradient."""
    weights = torch.zeros(2, classes, dtype=torch.float64, device=device)
    bias = torch.zeros(classes, dtype=torch.float64, device=device)
    velocity_w, velocity_b = torch.zeros_like(weights), torch.zeros_like(bias)
    losses = []
    for _ in range(steps):
        logits = points @ weights + bias
        losses.append(sn.cross_entropy(logits, labels, label_smoothing=label_smoothing).item())
        dlogits = sn.cross_entropy_backward(logits, labels, label_smoothing=label_smoothing)
        velocity_w = momentum * velocity_w + points.T @ dlogits
        velocity_b = momentum * velocity_b + dlogits.sum(dim=0)
        weights -= lr * velocity_w
        bias -= lr * velocity_b
    return weights, bias, losses


points, labels = blobs(150, 4, 1.0, torch.Generator().manual_seed(0))
weights, bias, losses = train(points, labels, 4)
accuracy = ((points @ weights + bias).argmax(dim=1) == labels).double().mean().item()
print(f"final loss {losses[-1]:.3f}, training accuracy {accuracy:.1%}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(losses, label="your cross_entropy, gradients from your cross_entropy_backward")
ax.set_xlabel("gradient-descent step (momentum 0.9)")
ax.set_ylabel("mean cross-entropy (training set)")
ax.set_title("Training loss of a linear softmax classifier (no autograd)")
ax.legend()
fig.tight_layout()
plt.show()

# %%
grid = torch.linspace(-6.0, 6.0, 300, dtype=torch.float64, device=device)
gx, gy = torch.meshgrid(grid, grid, indexing="xy")
cells = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
regions = (cells @ weights + bias).argmax(dim=1).reshape(gx.shape)

fig, ax = plt.subplots(figsize=(5.5, 5))
ax.contourf(gx.cpu(), gy.cpu(), regions.cpu(), levels=[-0.5, 0.5, 1.5, 2.5, 3.5], cmap="tab10", vmax=9, alpha=0.3)
for c in range(4):
    mine = labels == c
    ax.scatter(points[mine, 0].cpu(), points[mine, 1].cpu(), s=10, color=plt.cm.tab10(c), label=f"class {c}")
ax.set_xlabel("feature 1")
ax.set_ylabel("feature 2")
ax.set_title("Decision regions of the trained classifier (shaded) and the data")
ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### What label smoothing does to the confidences
#
# The same classifier trained twice, once with plain cross-entropy and once with
# `label_smoothing=0.2`. The histogram shows the probability each model gives its predicted class
# on the training points: without smoothing most predictions sit near 1; with smoothing they
# gather around $1 - \varepsilon + \varepsilon / C = 0.85$ (the smoothed target's own
# probability) and none comes near 1, because beyond the target the loss goes up again.

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
for eps in (0.0, 0.2):
    w, b, _ = train(points, labels, 4, label_smoothing=eps)
    confidence = sn.softmax(points @ w + b).max(dim=1).values.cpu()
    ax.hist(confidence, bins=40, range=(0.25, 1.0), alpha=0.6, label=f"label_smoothing = {eps}")
ax.axvline(1 - 0.2 + 0.2 / 4, color="gray", ls=":", label="smoothed target probability 0.85")
ax.set_xlabel("probability of the predicted class")
ax.set_ylabel("number of training points")
ax.set_title("Predicted confidences with and without label smoothing")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()
