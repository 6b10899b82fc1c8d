"""Public tests for optim (30 points). Run them with `pytest`, one task with `pytest -m adam`.

Each test runs your optimizer on small random parameters and gradients (a fresh seed every
run; the seed is printed at the end so you can repeat a run with --ag-seed) and compares the
parameters after every step with torch.optim (foreach=False) on the same data.
"""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder.testing import F64, beside, expect_close, expect_equal, fail, graded, property_settings

# Deterministic examples (the same score every run), shrunk to a small failing input, no "explain" phase.
PROPERTY = property_settings(max_examples=15)
TORCH = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}


def _data(rng: torch.Generator, steps: int, shapes=((3, 4), (5,)), dtype=F64, scale: float = 1.0):
    """Initial parameters and a (steps, *shape) gradient tensor per parameter."""
    params = [torch.randn(s, generator=rng, dtype=F64).to(dtype) for s in shapes]
    grads = [(torch.randn((steps, *s), generator=rng, dtype=F64) * scale).to(dtype) for s in shapes]
    return params, grads


def _torch_run(name: str, params, grads, hyper) -> list[torch.Tensor]:
    """torch.optim.<name>(foreach=False) on copies of ``params``: the values after every step."""
    ps = [p.clone() for p in params]
    opt = TORCH[name](ps, foreach=False, **hyper)
    out: list[list[torch.Tensor]] = [[] for _ in ps]
    for t in range(grads[0].shape[0]):
        for i, p in enumerate(ps):
            p.grad = grads[i][t].clone()
        opt.step()
        for i, p in enumerate(ps):
            out[i].append(p.detach().clone())
    return [torch.stack(o) for o in out]


def _check(student, name: str, params, grads, hyper, what: str, hint: str, as_iterator: bool = False) -> None:
    """Your optimizer's parameters after every step equal torch.optim's (first index = step)."""
    got = student.probe("trajectory", name, params, grads, hyper, as_iterator=as_iterator, uses=(name,))
    for key, problem in (("history_at", "a parameter recorded autograd history"),
                         ("storage_changed_at", "a parameter's storage was replaced (not updated in place)"),
                         ("grad_modified_at", "a parameter's .grad was modified")):
        if got[key] != -1:
            fail(what, f"{problem} at step {got[key]}", "update p in place under torch.no_grad(); never write p.grad.")
    for i, (traj, exp) in enumerate(zip(got["trajectory"], _torch_run(name, params, grads, hyper))):
        expect_close(traj, exp, what=f"{what}: parameter {i} after each step (first index = step)", hint=hint)


# --------------------------------------------------------------------------- Task 1: optimizer

@graded("1.1", points=2)
def test_params_from_iterator(student, rng):
    """an optimizer built from an iterator (like model.parameters()) still updates every parameter"""
    params, grads = _data(rng, steps=3)
    _check(student, "SGD", params, grads, {"lr": 0.1}, what="SGD(<iterator>, lr=0.1) for 3 steps",
           hint="store list(params): an iterator can be read only once.", as_iterator=True)


@graded("1.2", points=2)
def test_zero_grad(student):
    """zero_grad() sets every .grad to None"""
    params = [torch.zeros(2, 2), torch.zeros(3)]
    got = student.probe("zero_grad", "SGD", params, {"lr": 0.1}, uses=("SGD",))
    expect_equal(got, [True, True], what="after SGD.zero_grad(), is each parameter's .grad None",
                 hint="set p.grad = None for every parameter.")


@graded("1.3", points=1)
def test_empty_params_rejected(student):
    """an empty params list raises ValueError"""
    student.raises("ValueError", "SGD", [], lr=0.1)


# --------------------------------------------------------------------------- Task 2: SGD

@graded("2.1", points=2)
def test_sgd_plain(student, rng):
    """SGD(lr=0.1) for 5 steps matches torch.optim.SGD"""
    params, grads = _data(rng, steps=5)
    _check(student, "SGD", params, grads, {"lr": 0.1}, what="SGD(lr=0.1) for 5 steps", hint="p -= lr * p.grad.")


@graded("2.2", points=2)
def test_sgd_momentum(student, rng):
    """SGD with momentum=0.9 for 10 steps matches torch.optim.SGD (the first step uses the gradient as is)"""
    params, grads = _data(rng, steps=10)
    _check(student, "SGD", params, grads, {"lr": 0.1, "momentum": 0.9}, what="SGD(lr=0.1, momentum=0.9)",
           hint="b = g at a parameter's first step, then b = momentum * b + g; p -= lr * b.")


@graded("2.3", points=1)
def test_sgd_nesterov(student, rng):
    """SGD with Nesterov momentum for 10 steps matches torch.optim.SGD"""
    params, grads = _data(rng, steps=10)
    _check(student, "SGD", params, grads, {"lr": 0.1, "momentum": 0.9, "nesterov": True},
           what="SGD(lr=0.1, momentum=0.9, nesterov=True)", hint="Nesterov steps with g + momentum * b.")


@graded("2.4", points=1)
def test_sgd_weight_decay(student, rng):
    """SGD with weight_decay=0.1 for 5 steps matches torch.optim.SGD"""
    params, grads = _data(rng, steps=5)
    _check(student, "SGD", params, grads, {"lr": 0.1, "weight_decay": 0.1}, what="SGD(lr=0.1, weight_decay=0.1)",
           hint="the gradient becomes g + weight_decay * p (in a new tensor: p.grad stays as it is).")


@graded("2.5", points=1)
def test_sgd_rejects_negative_lr(student):
    """SGD raises ValueError for a negative learning rate"""
    student.raises("ValueError", "SGD", [torch.zeros(3)], lr=-0.1)


@graded("2.6", points=2)
def test_sgd_momentum_on_ill_conditioned_quadratic(student):
    """demo: on f(x) = (x1^2 + 100 x2^2) / 2, heavy-ball momentum converges far faster than plain SGD"""
    matrix = torch.diag(torch.tensor([1.0, 100.0], dtype=F64))
    x0 = torch.tensor([1.0, 1.0], dtype=F64)
    finals = {}
    for hyper in ({"lr": 0.019}, {"lr": 0.033, "momentum": 0.669}):
        got = student.probe("minimize", "SGD", "quadratic", x0, hyper, 100, matrix=matrix, uses=("SGD",))
        x, path = x0.clone(), []
        opt = torch.optim.SGD([x], foreach=False, **hyper)
        for _ in range(100):
            x.grad = matrix @ x
            opt.step()
            path.append(x.detach().clone())
        expect_close(got["path"], torch.stack(path), what=f"SGD({hyper}) on the quadratic: x after each step",
                     hint="b = g at the first step, then b = momentum * b + g; p -= lr * b.")
        finals[hyper.get("momentum", 0.0)] = float(got["losses"][-1])
    if not finals[0.669] < finals[0.0] * 1e-6:
        fail("SGD on the quadratic", f"momentum reached loss {finals[0.669]:.3g} after 100 steps, plain SGD "
             f"{finals[0.0]:.3g}", "with momentum the loss should fall a million times further.")


@graded("2.7", points=2)
@PROPERTY
@given(lr=st.floats(0.001, 0.5), momentum=st.sampled_from([0.0, 0.5, 0.9]), dampening=st.sampled_from([0.0, 0.3]),
       weight_decay=st.sampled_from([0.0, 0.01]), seed=st.integers(0, 2**31 - 1))
def test_sgd_matches_torch_for_any_hyperparameters(student, lr, momentum, dampening, weight_decay, seed):
    """SGD matches torch.optim.SGD for 8 steps, whatever the lr, momentum, dampening and weight decay"""
    params, grads = _data(torch.Generator().manual_seed(seed), steps=8)
    hyper = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay}
    _check(student, "SGD", params, grads, hyper, what=f"SGD({hyper})",
           hint="dampening applies from a parameter's second step on: b = momentum * b + (1 - dampening) * g.")


# --------------------------------------------------------------------------- Task 3: Adam

@graded("3.1", points=2)
def test_adam_first_step(student, rng):
    """Adam's first step moves every coordinate by almost exactly lr, against the gradient's sign"""
    params, grads = _data(rng, steps=1)
    _check(student, "Adam", params, grads, {"lr": 0.1}, what="Adam(lr=0.1), one step",
           hint="with bias correction, m_hat = g and v_hat = g * g at step 1, so the step is lr * g / (|g| + eps).")


@graded("3.2", points=3)
def test_adam(student, rng):
    """Adam(lr=0.01) for 20 steps matches torch.optim.Adam"""
    params, grads = _data(rng, steps=20)
    _check(student, "Adam", params, grads, {"lr": 0.01}, what="Adam(lr=0.01) for 20 steps",
           hint="keep m and v uncorrected in the state; divide by 1 - beta ** t only when computing the step.")


@graded("3.3", points=1)
def test_adam_amsgrad(student, rng):
    """Adam with amsgrad=True for 20 steps matches torch.optim.Adam"""
    params, grads = _data(rng, steps=20)
    _check(student, "Adam", params, grads, {"lr": 0.01, "amsgrad": True}, what="Adam(lr=0.01, amsgrad=True)",
           hint="keep the running maximum of v and use it in place of v in the denominator.")


@graded("3.4", points=1)
def test_adam_rejects_beta_one(student):
    """Adam raises ValueError for betas=(0.9, 1.0)"""
    student.raises("ValueError", "Adam", [torch.zeros(3)], betas=(0.9, 1.0))


def _torch_rosenbrock() -> torch.Tensor:
    """torch.optim.Adam(lr=0.02) for 2000 steps on Rosenbrock's function from (-1.5, 2): where it ends."""
    x = torch.tensor([-1.5, 2.0], dtype=F64)
    opt = torch.optim.Adam([x], lr=0.02, foreach=False)
    for _ in range(2000):
        a, b = x[0], x[1]
        x.grad = torch.stack([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
        opt.step()
    return x


@graded("3.5", points=2)
def test_adam_on_rosenbrock(student):
    """demo: Adam(lr=0.02) walks down Rosenbrock's curved valley from (-1.5, 2) to its minimum at (1, 1)"""
    got, x = beside(_torch_rosenbrock, lambda: student.probe(
        "minimize", "Adam", "rosenbrock", torch.tensor([-1.5, 2.0], dtype=F64), {"lr": 0.02}, 2000, uses=("Adam",)))
    expect_close(got["path"][-1], x, what="Adam on Rosenbrock: x after 2000 steps",
                 hint="compare your first few steps with torch.optim.Adam on the same gradients.")
    expect_close(got["path"][-1], torch.ones(2, dtype=F64), rtol=0, atol=0.02,
                 what="Adam on Rosenbrock: distance from the minimum (1, 1) after 2000 steps")


# --------------------------------------------------------------------------- Task 4: AdamW

@graded("4.1", points=3)
def test_adamw(student, rng):
    """AdamW(lr=0.01, weight_decay=0.1) for 20 steps matches torch.optim.AdamW"""
    params, grads = _data(rng, steps=20)
    _check(student, "AdamW", params, grads, {"lr": 0.01, "weight_decay": 0.1},
           what="AdamW(lr=0.01, weight_decay=0.1) for 20 steps",
           hint="shrink p by (1 - lr * weight_decay), then take the Adam step with the gradient unchanged.")


@graded("4.2", points=2)
def test_adamw_decay_is_decoupled(student, rng):
    """with zero gradients AdamW only decays: p is multiplied by exactly 1 - lr * weight_decay per step"""
    params, _ = _data(rng, steps=1)
    grads = [torch.zeros(5, *p.shape, dtype=F64) for p in params]
    got = student.probe("trajectory", "AdamW", params, grads, {"lr": 0.1, "weight_decay": 0.5}, uses=("AdamW",))
    factors = (1 - 0.1 * 0.5) ** torch.arange(1, 6, dtype=F64)
    for i, p in enumerate(params):
        expect_close(got["trajectory"][i], factors.view(-1, *[1] * p.dim()) * p,
                     what=f"AdamW(lr=0.1, weight_decay=0.5) with zero gradients: parameter {i} after each step",
                     hint="the decay is p *= 1 - lr * weight_decay, outside the moments: with g = 0 the Adam part "
                          "of the step is 0 / (0 + eps) = 0.")
