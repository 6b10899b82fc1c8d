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
# # `attention`: scaled dot-product attention, its backward, multi-head attention — companion notebook
#
# This notebook puts your `attention.py` to work: it draws the attention weights of a toy sentence
# with a padding mask and with causal masking, checks your `sdpa_backward` against autograd, compares
# your `multi_head_attention` with `nn.MultiheadAttention`, and times a Python loop over heads against
# one vectorized call.
#
# - Run the cells from the top. A cell that needs a task you have not written yet stops with
#   that task's `NotImplementedError`: write the task in `attention.py`, then rerun the cell.
#   Your edits show up without restarting the kernel (autoreload).
# - Each task starts with a self-check: `check("<task>")` runs that task's public tests (the same
#   as `pytest -m <task>` in a terminal) and prints each test's points and, for a failing test,
#   its hint.
# - Only `attention.py` is submitted. This notebook is for you and is not graded. (The notebook may
#   use `F.scaled_dot_product_attention`, autograd and `nn.MultiheadAttention` to compare with; only
#   `attention.py` may not.)

# %%
# %load_ext autoreload
# %autoreload 2
# %matplotlib inline

import time

import attention
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from selfcheck import check

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
print(f"running on {device}")

# %% [markdown]
# ## Task 1: `scaled_dot_product_attention`
#
# A toy sentence of six words, padded to eight positions as in a batch of sentences of different
# lengths. Each word gets a random embedding, used as its query and its key. The attention weights
# $P = \mathrm{softmax}(q k^\top / \sqrt{E} + \text{mask})$ are not returned by your function, but
# one trick exposes them: with the identity matrix as the values, the output $P\,I$ is $P$ itself.
#
# - With a **padding mask** (bool, `True` = may attend, handout section 2), no query may look at
#   the two `<pad>` keys: their columns must be 0 and every row must still sum to 1.
# - With **`is_causal=True`**, query $i$ sees only keys $j \le i$: everything above the diagonal
#   is 0.

# %%
check("scaled_dot_product_attention")

# %%
tokens = ["the", "cat", "sat", "on", "the", "mat", "<pad>", "<pad>"]
vocabulary = sorted(set(tokens))
embedding = torch.randn(len(vocabulary), 16, device=device)
x = embedding[[vocabulary.index(t) for t in tokens]]  # (L, E) = (8, 16); q = k = x
S = len(tokens)
values = torch.eye(S, device=device)  # with v = I the output is the attention weights P
padding = torch.tensor([t != "<pad>" for t in tokens], device=device)[None, :]  # (1, S): broadcasts to (L, S)

cases = {
    "no mask": {},
    "padding mask": {"attn_mask": padding},
    "is_causal=True": {"is_causal": True},
}
maps = {}
for name, kwargs in cases.items():
    maps[name] = attention.scaled_dot_product_attention(x, x, values, **kwargs).cpu()
    reference = F.scaled_dot_product_attention(x, x, values, **kwargs).cpu()
    print(f"{name:<15} rows sum to {maps[name].sum(-1).min().item():.4f}..{maps[name].sum(-1).max().item():.4f}, "
          f"largest difference from F.scaled_dot_product_attention {(maps[name] - reference).abs().max().item():.1e}")

fig, axes = plt.subplots(1, 3, figsize=(16, 5.5), layout="constrained")
for ax, (name, weights) in zip(axes, maps.items()):
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(S), tokens, rotation=45)
    ax.set_yticks(range(S), tokens)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title(name)
fig.colorbar(image, ax=axes, label="attention weight", shrink=0.8)
fig.suptitle("Your attention weights for a padded toy sentence (values = identity, so the output is P)")
plt.show()

# %% [markdown]
# Without a mask each word attends most to itself (a vector's dot product with itself is large) and
# the two "the" share their weight (equal embeddings); some weight goes to the padding. The padding
# mask empties the two `<pad>` columns and renormalizes each row over the real words. The causal
# mask leaves a lower triangle: the first word can only attend to itself, so its row is a single 1.
#
# ## Task 2: `sdpa_backward`
#
# Your closed-form gradients (handout, section 3) should equal what autograd computes for
# `F.scaled_dot_product_attention`, up to float64 rounding. The plot shows, for a batch of
# random inputs of shape (2, 3, L, E) and each kind of masking, the largest difference of each
# gradient relative to the gradient's largest entry.

# %%
check("sdpa_backward")

# %%
torch.manual_seed(0)
L, S, E = 5, 7, 4
alibi = -0.5 * (torch.arange(L)[:, None] - torch.arange(S)[None, :]).abs().double().to(device)
grad_cases = {
    "no mask": {},
    "bool mask": {"attn_mask": torch.rand(L, S, device=device) < 0.7},
    "float mask (bias)": {"attn_mask": alibi},
    "is_causal": {"is_causal": True},
    "scale=0.3": {"scale": 0.3},
}
errors = {"dq": [], "dk": [], "dv": []}
for name, kwargs in grad_cases.items():
    if kwargs.get("attn_mask") is not None and kwargs["attn_mask"].dtype == torch.bool:
        kwargs["attn_mask"][:, 0] = True  # every query keeps at least one key
    q, k, v = (torch.randn(2, 3, n, E, dtype=torch.float64, device=device, requires_grad=True) for n in (L, S, S))
    out = F.scaled_dot_product_attention(q, k, v, **kwargs)
    grad_output = torch.randn_like(out)
    out.backward(grad_output)
    yours = attention.sdpa_backward(q.detach(), k.detach(), v.detach(), grad_output, **kwargs)
    for key, mine, autograd in zip(errors, yours, (q.grad, k.grad, v.grad)):
        errors[key].append(((mine - autograd).abs().max() / autograd.abs().max()).item())
    print(f"{name:<18} " + "   ".join(f"{key}: {errors[key][-1]:.1e}" for key in errors))

fig, ax = plt.subplots(figsize=(9, 4))
width = 0.25
for i, (key, values_) in enumerate(errors.items()):
    positions = [j + (i - 1) * width for j in range(len(grad_cases))]
    ax.bar(positions, [max(e, 1e-18) for e in values_], width, label=key)
ax.axhline(torch.finfo(torch.float64).eps, color="gray", ls=":", label="float64 machine epsilon")
ax.set_yscale("log")
ax.set_ylim(1e-18, 1e-10)
ax.set_xticks(range(len(grad_cases)), list(grad_cases))
ax.set_xlabel("masking")
ax.set_ylabel("largest |yours - autograd| / largest |autograd|")
ax.set_title("Your sdpa_backward against autograd (float64; exact zeros drawn at 1e-18)")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Differences of a few machine epsilons are rounding: autograd and your formulas add the same terms
# in a different order. A forgotten row-sum term in the softmax backward, or a missing scale,
# shows up as a difference of order 1, far above the top of this plot.
#
# ## Task 3: `multi_head_attention`
#
# First, your function against `nn.MultiheadAttention` with the same weights (handout, section 4:
# `in_proj_weight` is `w_q`, `w_k`, `w_v` stacked). Watch the polarity: `nn.MultiheadAttention`'s
# bool masks mean "masked out", yours mean "may attend", so we pass it the negation.

# %%
check("multi_head_attention")

# %%
torch.manual_seed(0)
N, L, D, H = 2, 6, 32, 4
mha = torch.nn.MultiheadAttention(D, H, batch_first=True, device=device, dtype=torch.float64).eval()
w_q, w_k, w_v = mha.in_proj_weight.detach().chunk(3)
with torch.no_grad():
    mha.in_proj_bias.normal_()  # nonzero biases, so that a bias mistake would show
    mha.out_proj.bias.normal_()
b_q, b_k, b_v = mha.in_proj_bias.detach().chunk(3)
query = torch.randn(N, L, D, dtype=torch.float64, device=device)
may_attend = torch.rand(L, L, device=device) < 0.7
may_attend[:, 0] = True
with torch.no_grad():
    theirs, _ = mha(query, query, query, attn_mask=~may_attend, need_weights=False)
yours = attention.multi_head_attention(query, query, query, H, w_q, w_k, w_v, mha.out_proj.weight.detach(),
                                       b_q, b_k, b_v, mha.out_proj.bias.detach(), attn_mask=may_attend)
print(f"largest difference from nn.MultiheadAttention: {(yours - theirs).abs().max().item():.1e}")

# %% [markdown]
# Why vectorize over heads? The performance test (handout, section 6) runs many short sequences
# with many heads. Below, your `scaled_dot_product_attention` called once per head in a Python loop
# against one call on all heads at once, on inputs of shape (1, H, 16, 16), for a growing number of
# heads H. Both give the same result; the loop pays Python's and PyTorch's per-call overhead H times.

# %%
def best_time(fn, repeats: int = 5, number: int = 20) -> float:
    """The best over ``repeats`` of the mean time of ``number`` calls of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / number)
    return best


heads = [1, 2, 4, 8, 16, 32, 64, 96]
loop_times, vectorized_times = [], []
for h in heads:
    q, k, v = (torch.randn(1, h, 16, 16, device=device) for _ in range(3))

    def loop(q=q, k=k, v=v, h=h) -> torch.Tensor:
        return torch.stack([attention.scaled_dot_product_attention(q[:, i], k[:, i], v[:, i]) for i in range(h)], 1)

    def vectorized(q=q, k=k, v=v) -> torch.Tensor:
        return attention.scaled_dot_product_attention(q, k, v)

    assert torch.allclose(loop(), vectorized(), atol=1e-6), "the loop and the vectorized call disagree"
    loop_times.append(best_time(loop))
    vectorized_times.append(best_time(vectorized))
    print(f"H = {h:3d}: loop {loop_times[-1] * 1e3:7.3f} ms, vectorized {vectorized_times[-1] * 1e3:7.3f} ms, "
          f"ratio {loop_times[-1] / vectorized_times[-1]:5.1f}x")

fig, ax = plt.subplots(figsize=(7, 4))
ax.loglog(heads, [t * 1e3 for t in loop_times], "o-", label="Python loop over heads (your function per head)")
ax.loglog(heads, [t * 1e3 for t in vectorized_times], "s-", label="one vectorized call (your function)")
ax.set_xlabel("number of heads H")
ax.set_ylabel("time per call (milliseconds)")
ax.set_title("Attention on (1, H, 16, 16): a loop over heads against one call")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The loop's time grows in proportion to H, while the vectorized call stays almost flat until the
# arithmetic itself starts to count: at H = 96 the loop is many times slower, which is why a loop
# over heads fails the performance budget.
#
# Try it yourself: time your `multi_head_attention` against `nn.MultiheadAttention`, or make the
# sequences longer (L = 256) and watch the ratio shrink as the arithmetic takes over.
