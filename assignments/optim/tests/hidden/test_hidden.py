"""Hidden tests for optim (60 points): autograder only, never shipped to students.

Every test runs the student's optimizer in the worker (probe ``trajectory``) on fresh random
parameters and gradients drawn from the grader's seed, and compares the parameters after
every step with ``torch.optim`` (``foreach=False``) run here on the same data. Expected values
are never shown in feedback. Per task: optimizer 6.75, SGD 19.75, Adam 22, AdamW 11.5.
Which test checks which rule of the handout: handout_rules.md, beside this file.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from autograder.testing import F32, F64, PER_CASE, CheckFailed, beside, expect_close, expect_equal, fail, graded

STEPS = 200
SHAPES = [(3, 4), (5,), ()]
TORCH = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}
TASK = {"SGD": pytest.mark.sgd, "Adam": pytest.mark.adam, "AdamW": pytest.mark.adamw}
DEFAULTS = {"SGD": {"lr": 0.05, "momentum": 0.9}, "Adam": {"lr": 0.02}, "AdamW": {"lr": 0.02, "weight_decay": 0.1}}
IN_PLACE = "update each parameter in place (p.add_(...), p.addcdiv_(...)) inside `with torch.no_grad():`."
MOMENTUM = ("PyTorch's buffer is b = momentum * b + (1 - dampening) * g (b = g at a parameter's first step, "
            "undampened), and the step is p -= lr * b.")
BIAS = ("keep m and v as the raw running averages; divide by 1 - beta ** t only in a temporary "
        "(never store the corrected moments back), with t counted per parameter.")
EPS = "eps goes outside the square root and after the bias correction: sqrt(v / (1 - beta2 ** t)) + eps."
BUFFER_COPY = ("create the momentum buffer as a copy of the first gradient (torch.clone(g)), not as the gradient "
               "tensor itself: the caller still owns that tensor, and the buffer is updated in place later.")


BETAS = ("betas", "beta", "beta1", "beta2")
"""How an error about betas may name it."""


def _by_optimizer(*names: str) -> list[Any]:
    """Parametrize over optimizers, each carrying its task's marker."""
    return [pytest.param(n, marks=TASK[n], id=n) for n in names]


def _data(rng: torch.Generator, dtype: torch.dtype = F64, shapes=SHAPES, steps: int = STEPS,
          grad_scale: float = 1.0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Initial parameters and a (steps, *shape) gradient tensor per parameter."""
    params = [torch.randn(s, generator=rng, dtype=F64).to(dtype) for s in shapes]
    grads = [(torch.randn((steps, *s), generator=rng, dtype=F64) * grad_scale).to(dtype) for s in shapes]
    return params, grads


def _skips(rng: torch.Generator, n: int, steps: int = STEPS, p: float = 0.3) -> list[list[bool]]:
    """Which gradients are None: each with probability p, never all at step 0 for parameter 0."""
    mask = (torch.rand(steps, n, generator=rng) < p).tolist()
    mask[0][0] = False
    return mask


def _torch_run(name: str, params, grads, hyper, skip=None, schedule=None) -> list[torch.Tensor]:
    """torch.optim.<name>(foreach=False) on copies of ``params``: the values after every step."""
    ps = [p.detach().clone() for p in params]
    opt = TORCH[name](ps, foreach=False, **hyper)
    out: list[list[torch.Tensor]] = [[] for _ in ps]
    for t in range(grads[0].shape[0]):
        for key, value in (schedule or {}).get(str(t), {}).items():
            opt.param_groups[0][key] = tuple(value) if isinstance(value, list) else value
        for i, p in enumerate(ps):
            p.grad = None if skip is not None and skip[t][i] else grads[i][t].clone()
        opt.step()
        for i, p in enumerate(ps):
            out[i].append(p.detach().clone())
    return [torch.stack(o) for o in out]


def _describe(p: torch.Tensor) -> str:
    return f"{'x'.join(map(str, p.shape)) or '0-d'} {str(p.dtype).removeprefix('torch.')}"


def _run(student, name: str, params, grads, hyper, what: str, hint: str, skip=None, schedule=None,
         requires_grad: bool = False, as_iterator: bool = False) -> dict[str, Any]:
    """Drive the student's optimizer and compare every step with torch.optim; return the probe's report."""
    # torch.optim's trajectory (hundreds of small steps) is computed here while the worker runs the student's
    got, expected = beside(lambda: _torch_run(name, params, grads, hyper, skip, schedule),
                           lambda: student.probe("trajectory", name, params, grads, hyper, skip=skip,
                                                 schedule=schedule, requires_grad=requires_grad,
                                                 as_iterator=as_iterator, uses=(name,)))
    if not isinstance(got, dict) or not isinstance(got.get("trajectory"), list):
        raise CheckFailed(f"{what}: the grader could not read your optimizer's parameters back", IN_PLACE)
    for key, problem, fix in (
        ("history_at", "a parameter recorded autograd history (or its requires_grad changed)",
         "step() must run under torch.no_grad() and leave requires_grad alone."),
        ("storage_changed_at", "a parameter's storage was replaced (p.data = ... or a new tensor)", IN_PLACE),
        ("grad_modified_at", "a parameter's .grad was modified or replaced",
         "never write into p.grad: grad.add(p, alpha=wd) makes a new tensor, grad.add_(...) does not."),
    ):
        if got.get(key) != -1:
            fail(what, f"{problem} at step {got.get(key)}", fix)
    if got.get("old_grad_modified_at", -1) != -1:
        fail(what, f"the .grad given at step {got.get('old_grad_modified_at')} was modified by a later step()",
             BUFFER_COPY)
    for i, (traj, exp) in enumerate(zip(got["trajectory"], expected)):
        expect_close(traj, exp, what=f"{what}: parameter {i} ({_describe(params[i])}) after each step "
                                     f"(first index = step, from 0)", hint=hint)
    return got


# ======================================================================== Task 1: optimizer (6.75)

@graded("1.10", points=1.125)
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_params_from_generator(student, rng, name):
    """params given as a one-shot iterator (like model.parameters()) are kept as a list"""
    params, grads = _data(rng, steps=20)
    _run(student, name, params, grads, DEFAULTS[name], what=f"{name}(<iterator over 3 tensors>, ...) for 20 steps",
         hint="an iterator can be read only once: store list(params).", as_iterator=True)


@graded("1.11", points=0.75)
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_zero_grad_sets_none(student, name):
    """zero_grad() sets every parameter's .grad to None, also after steps"""
    params = [torch.zeros(2, 3), torch.zeros(4, dtype=F64), torch.zeros(())]
    got = student.probe("zero_grad", name, params, DEFAULTS[name], steps=2, uses=(name,))
    expect_equal(got, [True, True, True], what=f"{name}.zero_grad() after two steps: is each .grad None",
                 hint="set p.grad = None for every parameter (PyTorch's default), not a tensor of zeros.")


@graded("1.12", points=0.125)
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
@pytest.mark.parametrize("case", ["empty", "non_tensor", "not_iterable", "single_tensor"])
def test_bad_params_rejected(student, name, case):
    """every optimizer raises ValueError for params empty, holding a non-tensor, not iterable, or one tensor"""
    params = {"empty": [], "non_tensor": [torch.zeros(2), [1.0, 2.0]], "not_iterable": 5,
              "single_tensor": torch.zeros(2)}[case]
    student.raises_naming(("params",), name, params, **DEFAULTS[name])


@graded("1.13", points=0.25)
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_params_list_and_state_per_parameter(student, rng, name):
    """params (a tuple) kept as a list; self.state maps each parameter that has stepped, and only those, to a dict"""
    params = [torch.randn(s, generator=rng, dtype=F64) for s in [(2, 3), (4,), ()]]
    hyper = {**DEFAULTS[name], "momentum": 0.9} if name == "SGD" else DEFAULTS[name]
    got = student.probe("state_layout", name, params, hyper, uses=(name,))
    what = f"{name}(<tuple of 3 tensors>, ...)"
    if not got["same_tensors"]:
        fail(f"{what}: self.params", f"is a {got['params_type']}, not a list of the given tensors in their order",
             "any iterable is accepted (a tuple too): store self.params = list(params).")
    hint = ("create self.state = {} in the constructor and add a parameter's entry, self.state[p] = {...}, at its "
            "first step (a parameter whose .grad is None has not stepped yet); key it by the tensor itself.")
    for t, (state, stepped) in enumerate(zip(got["state"], [[], [0, 2], [0, 1, 2]])):
        when = "right after construction" if t == 0 else f"after step {t - 1} (parameter 1's .grad was None at step 0)"
        if state["type"] != "dict":
            fail(f"{what}: self.state {when}", f"is a {state['type']}, not a dict", hint)
        if sorted(state["keys"]) != stepped:
            unknown = sum(k == -1 for k in state["keys"])
            problem = (f"has {unknown} key(s) that are not parameter tensors" if unknown else
                       f"has entries for parameters {sorted(state['keys'])}, but the parameters that have taken a "
                       f"step are {stepped}")
            fail(f"{what}: self.state {when}", problem, hint)
        if not state["values_are_dicts"]:
            fail(f"{what}: self.state {when}", "maps a parameter to something that is not a dict", hint)


# ================================================================ Task 2: SGD (16.5, and 3.25 in the shared tests)

@graded("2.10", points=0.75)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_sgd_plain(student, rng, dtype):
    """SGD without momentum matches torch.optim.SGD over 200 steps"""
    params, grads = _data(rng, dtype)
    _run(student, "SGD", params, grads, {"lr": 0.01}, what=f"SGD(lr=0.01) on {dtype} for {STEPS} steps",
         hint="p -= lr * p.grad.")


@graded("2.11", points=1.25)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_sgd_momentum(student, rng, dtype):
    """SGD with momentum matches torch.optim.SGD over 200 steps"""
    params, grads = _data(rng, dtype)
    _run(student, "SGD", params, grads, {"lr": 0.01, "momentum": 0.9},
         what=f"SGD(lr=0.01, momentum=0.9) on {dtype} for {STEPS} steps", hint=MOMENTUM)


@graded("2.12", points=0.75)
@pytest.mark.parametrize("dampening", [0.5, 0.9])
def test_sgd_dampening(student, rng, dampening):
    """SGD with momentum and dampening: the first step is undampened, as in PyTorch"""
    params, grads = _data(rng)
    _run(student, "SGD", params, grads, {"lr": 0.02, "momentum": 0.9, "dampening": dampening},
         what=f"SGD(lr=0.02, momentum=0.9, dampening={dampening}) for {STEPS} steps",
         hint="dampening scales the gradient in b = momentum * b + (1 - dampening) * g from the second step on; "
              "the first step sets b = g.")


@graded("2.13", points=0.75)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_sgd_nesterov(student, rng, dtype):
    """SGD with Nesterov momentum matches torch.optim.SGD over 200 steps"""
    params, grads = _data(rng, dtype)
    _run(student, "SGD", params, grads, {"lr": 0.01, "momentum": 0.8, "nesterov": True},
         what=f"SGD(lr=0.01, momentum=0.8, nesterov=True) on {dtype} for {STEPS} steps",
         hint="with Nesterov, update the buffer b as usual, then step with g + momentum * b instead of b.")


@graded("2.14", points=0.5)
@pytest.mark.parametrize("extra", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                                   {"momentum": 0.5, "dampening": 0.5}], ids=["plain", "momentum", "nesterov",
                                                                               "dampening"])
def test_sgd_weight_decay(student, rng, extra):
    """SGD weight decay is the L2 gradient g + weight_decay * p, added before the momentum"""
    params, grads = _data(rng)
    hyper = {"lr": 0.02, "weight_decay": 0.1, **extra}
    _run(student, "SGD", params, grads, hyper, what=f"SGD({hyper}) for {STEPS} steps",
         hint="add weight_decay * p to the gradient first (it then flows through the momentum buffer); "
              "SGD's weight decay is not decoupled.")


@graded("2.15", points=1.25)
@pytest.mark.parametrize("extra", [{}, {"momentum": 0.9}], ids=["plain", "momentum"])
def test_sgd_lr_change(student, rng, extra):
    """a new learning rate set between steps (opt.lr = ...) applies from the next step, momentum kept"""
    params, grads = _data(rng)
    schedule = {"60": {"lr": 0.003}, "130": {"lr": 0.05}}
    _run(student, "SGD", params, grads, {"lr": 0.02, **extra}, schedule=schedule,
         what=f"SGD(lr=0.02, {extra}) with lr changed to 0.003 before step 60 and 0.05 before step 130",
         hint="read self.lr at every step. PyTorch's buffer holds gradients, not velocities: p -= lr * b with the "
              "current lr (the v = mu * v - lr * g form keeps old learning rates inside v).")


@graded("2.16", points=1)
def test_sgd_hyperparameter_change(student, rng):
    """momentum, dampening, weight_decay and nesterov changed between steps apply from the next step"""
    params, grads = _data(rng)
    schedule = {"50": {"momentum": 0.5, "weight_decay": 1.0, "nesterov": True},
                "120": {"dampening": 0.3, "weight_decay": 0.0, "nesterov": False}}
    _run(student, "SGD", params, grads, {"lr": 0.02, "momentum": 0.9}, schedule=schedule,
         what="SGD(lr=0.02, momentum=0.9) with momentum, dampening, weight_decay and nesterov changed mid-run",
         hint="read every hyperparameter from self at each step; keep the momentum buffer when they change.")


SGD_GRAD_NONE_SKIPPED_CASES = [{"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1}]


@graded("2.17", points=1)
@pytest.mark.parametrize("extra", SGD_GRAD_NONE_SKIPPED_CASES, ids=["momentum", "dampening_decay"])
def test_sgd_grad_none_skipped(student, rng, extra):
    """parameters whose .grad is None are skipped entirely (no step, no momentum, no decay)"""
    params, grads = _data(rng)
    skip = _skips(rng, len(params))
    _run(student, "SGD", params, grads, {"lr": 0.02, **extra}, skip=skip,
         what=f"SGD(lr=0.02, {extra}) with about 30% of the gradients None",
         hint="skip a parameter whose .grad is None: it does not move and its momentum buffer is not updated; "
              "its first real gradient starts the buffer.")


@graded("2.18", points=0.75)
def test_sgd_small_gradients(student, rng):
    """SGD with momentum on gradients of size 1e-6 (float32) matches torch.optim.SGD"""
    params, grads = _data(rng, F32, grad_scale=1e-6)
    params = [p * 1e-4 for p in params]
    _run(student, "SGD", params, grads, {"lr": 1.0, "momentum": 0.9, "nesterov": True},
         what="SGD(lr=1.0, momentum=0.9, nesterov=True) on float32 gradients of size 1e-6", hint=MOMENTUM)


SGD_VALUE_ERRORS_CASES = ["lr", "lr_with_momentum", "momentum", "weight_decay", "nesterov_without_momentum",
                          "nesterov_with_zero_momentum", "nesterov_with_dampening", "nesterov_with_negative_dampening"]


@graded("2.19", points=0.125)
@pytest.mark.parametrize("case", SGD_VALUE_ERRORS_CASES)
def test_sgd_value_errors(student, case):
    """SGD raises ValueError for a negative lr, momentum or weight_decay, and for Nesterov without momentum or with a
    dampening other than 0 (negative too)"""
    hyper = {
        "lr": {"lr": -0.1},
        "momentum": {"lr": 0.1, "momentum": -0.5},
        "weight_decay": {"lr": 0.1, "weight_decay": -1e-4},
        "nesterov_without_momentum": {"lr": 0.1, "nesterov": True},
        "nesterov_with_dampening": {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True},
        "nesterov_with_negative_dampening": {"lr": 0.1, "momentum": 0.9, "dampening": -0.1, "nesterov": True},
        "nesterov_with_zero_momentum": {"lr": 0.1, "momentum": 0.0, "nesterov": True},
        "lr_with_momentum": {"lr": -0.1, "momentum": 0.9},
    }[case]
    names = ("nesterov",) if case.startswith("nesterov") else (case.split("_with_")[0],)
    student.raises_naming(names, "SGD", [torch.zeros(3)], **hyper)


# ================================================================ Task 3: Adam (18.75, and 3.25 in the shared tests)

@graded("3.10", points=1.5)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_adam(student, rng, dtype):
    """Adam matches torch.optim.Adam over 200 steps"""
    params, grads = _data(rng, dtype)
    _run(student, "Adam", params, grads, {"lr": 0.02}, what=f"Adam(lr=0.02) on {dtype} for {STEPS} steps", hint=BIAS)


@graded("3.11", points=1.5)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_adam_small_gradients(student, rng, dtype):
    """Adam on gradients of size 1e-6, where the placement of eps decides the step size"""
    params, grads = _data(rng, dtype, grad_scale=1e-6)
    _run(student, "Adam", params, grads, {"lr": 0.01}, what=f"Adam(lr=0.01) on {dtype} gradients of size 1e-6",
         hint=EPS)


@graded("3.12", points=1.25)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_adam_amsgrad(student, rng, dtype):
    """Adam with amsgrad=True matches torch.optim.Adam over 200 steps"""
    params, grads = _data(rng, dtype)
    grads = [g * torch.linspace(3, 0.1, STEPS, dtype=dtype).view(-1, *[1] * (g.dim() - 1)) for g in grads]
    _run(student, "Adam", params, grads, {"lr": 0.02, "amsgrad": True},
         what=f"Adam(lr=0.02, amsgrad=True) on {dtype} gradients shrinking over time",
         hint="keep v_max = max(v_max, v) of the raw second moments (a state of its own) and use "
              "sqrt(v_max / (1 - beta2 ** t)) + eps as the denominator.")


@graded("3.13", points=1)
@pytest.mark.parametrize("extra", [{}, {"amsgrad": True}], ids=["plain", "amsgrad"])
def test_adam_weight_decay(student, rng, extra):
    """Adam's weight_decay is the L2 gradient g + weight_decay * p, fed into both moments"""
    params, grads = _data(rng)
    hyper = {"lr": 0.02, "weight_decay": 0.1, **extra}
    _run(student, "Adam", params, grads, hyper, what=f"Adam({hyper}) for {STEPS} steps",
         hint="Adam (unlike AdamW) adds weight_decay * p to the gradient before updating m and v.")


@graded("3.14", points=1.5)
def test_adam_lr_change(student, rng):
    """a new learning rate set between steps (opt.lr = ...) applies from the next step"""
    params, grads = _data(rng)
    schedule = {"40": {"lr": 0.002}, "150": {"lr": 0.05}}
    _run(student, "Adam", params, grads, {"lr": 0.02}, schedule=schedule,
         what="Adam(lr=0.02) with lr changed to 0.002 before step 40 and 0.05 before step 150",
         hint="read self.lr at every step; the moments do not depend on the learning rate.")


@graded("3.15", points=1.25)
@pytest.mark.parametrize("extra", [{}, {"amsgrad": True, "weight_decay": 0.05}], ids=["plain", "amsgrad_decay"])
def test_adam_grad_none_skipped(student, rng, extra):
    """parameters whose .grad is None are skipped, and each parameter counts its own steps"""
    params, grads = _data(rng)
    skip = _skips(rng, len(params), p=0.4)
    _run(student, "Adam", params, grads, {"lr": 0.02, **extra}, skip=skip,
         what=f"Adam(lr=0.02, {extra}) with about 40% of the gradients None",
         hint="skip a parameter whose .grad is None, and keep the step count t per parameter (in its state): "
              "the bias correction uses how many steps that parameter has taken.")


@graded("3.16", points=1.5)
def test_adam_betas(student, rng):
    """Adam with betas=(0, 0.5) and betas changed mid-run matches torch.optim.Adam"""
    params, grads = _data(rng)
    _run(student, "Adam", params, grads, {"lr": 0.01, "betas": (0.0, 0.5)}, schedule={"100": {"betas": [0.8, 0.9]}},
         what="Adam(lr=0.01, betas=(0.0, 0.5)) with betas set to (0.8, 0.9) before step 100",
         hint="beta1 = 0 is allowed (no momentum); use self.betas at every step, in the moments and the "
              "bias corrections alike.")


@graded("3.17", points=1)
def test_adam_hyperparameter_change(student, rng):
    """eps, weight_decay and amsgrad changed between steps apply from the next step"""
    params, grads = _data(rng, grad_scale=1e-5)
    schedule = {"70": {"eps": 1e-4, "weight_decay": 1.0}, "140": {"eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}}
    _run(student, "Adam", params, grads, {"lr": 0.01, "amsgrad": True}, schedule=schedule,
         what="Adam(lr=0.01, amsgrad=True) on gradients of size 1e-5 with eps, weight_decay and amsgrad changed "
              "mid-run", hint="read self.eps, self.weight_decay and self.amsgrad at every step.")


ADAM_VALUE_ERRORS_CASES = ["lr", "eps", "weight_decay", "beta1_one", "beta1_negative", "beta2_one",
                           "beta2_negative", "beta2_above_one", "betas_three", "betas_one", "betas_number",
                           "betas_string"]


@graded("3.18", points=0.125)
@pytest.mark.parametrize("case", ADAM_VALUE_ERRORS_CASES)
def test_adam_value_errors(student, case):
    """Adam raises ValueError for a negative lr, eps or weight_decay, betas outside [0, 1), and betas that are not a
    pair"""
    hyper = {
        "lr": {"lr": -1e-3},
        "eps": {"eps": -1e-8},
        "weight_decay": {"weight_decay": -0.1},
        "beta1_one": {"betas": (1.0, 0.999)},
        "beta1_negative": {"betas": (-0.1, 0.999)},
        "beta2_one": {"betas": (0.9, 1.0)},
        "beta2_above_one": {"betas": (0.9, 1.5)},
        "beta2_negative": {"betas": (0.9, -0.1)},
        "betas_three": {"betas": (0.9, 0.999, 0.5)},
        "betas_one": {"betas": (0.9,)},
        "betas_number": {"betas": 0.9},
        "betas_string": {"betas": "0.9, 0.999"},
    }[case]
    student.raises_naming(BETAS if "beta" in case else (case,), "Adam", [torch.zeros(3)], **hyper)


# ================================================================ Task 4: AdamW (8.75, and 2.75 in the shared tests)

@graded("4.10", points=1.25)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_adamw(student, rng, dtype):
    """AdamW with weight_decay=0.1, then 1.0 from step 150, matches torch.optim.AdamW over 200 steps"""
    params, grads = _data(rng, dtype)
    _run(student, "AdamW", params, grads, {"lr": 0.02, "weight_decay": 0.1}, schedule={"150": {"weight_decay": 1.0}},
         what=f"AdamW(lr=0.02, weight_decay=0.1, then 1.0 from step 150) on {dtype} for {STEPS} steps",
         hint="AdamW multiplies p by (1 - lr * weight_decay) before the Adam step and leaves the gradient alone.")


@graded("4.11", points=0.5)
def test_adamw_default_weight_decay(student, rng):
    """AdamW's default weight_decay is 1e-2 (Adam's is 0)"""
    params, grads = _data(rng)
    _run(student, "AdamW", params, grads, {"lr": 0.05}, what=f"AdamW(lr=0.05) for {STEPS} steps",
         hint="AdamW(params, lr) decays with weight_decay=1e-2 unless told otherwise.")


@graded("4.12", points=1.25)
def test_adamw_lr_change(student, rng):
    """AdamW's decay uses the current learning rate and weight_decay: p *= 1 - lr * weight_decay with the new values"""
    params, grads = _data(rng)
    schedule = {"50": {"lr": 0.1}, "120": {"lr": 0.005, "weight_decay": 0.5}}
    _run(student, "AdamW", params, grads, {"lr": 0.02, "weight_decay": 0.2}, schedule=schedule,
         what="AdamW(lr=0.02, weight_decay=0.2) with lr changed to 0.1 before step 50, and lr to 0.005 and "
              "weight_decay to 0.5 before step 120",
         hint="the decoupled decay is p *= 1 - lr * weight_decay with this step's self.lr and self.weight_decay "
              "(the decay is scaled by the learning rate in PyTorch).")


@graded("4.13", points=1)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_adamw_amsgrad(student, rng, dtype):
    """AdamW with amsgrad=True matches torch.optim.AdamW over 200 steps"""
    params, grads = _data(rng, dtype)
    grads = [g * torch.linspace(2, 0.2, STEPS, dtype=dtype).view(-1, *[1] * (g.dim() - 1)) for g in grads]
    _run(student, "AdamW", params, grads, {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True},
         what=f"AdamW(lr=0.02, weight_decay=0.1, amsgrad=True) on {dtype} gradients shrinking over time",
         hint="AMSGrad works in AdamW exactly as in Adam; only the weight decay differs.")


@graded("4.14", points=1)
def test_adamw_small_gradients(student, rng):
    """AdamW on gradients of size 1e-6: the decay is independent of the gradient's scale"""
    params, grads = _data(rng, grad_scale=1e-6)
    _run(student, "AdamW", params, grads, {"lr": 0.01, "weight_decay": 0.5},
         what="AdamW(lr=0.01, weight_decay=0.5) on gradients of size 1e-6",
         hint="decoupled decay shrinks p directly; with L2 decay instead, weight_decay * p would swamp "
              "these gradients inside the moments. " + EPS)


@graded("4.15", points=0.5)
def test_adamw_grad_none_skipped(student, rng):
    """AdamW skips parameters whose .grad is None: no Adam step and no decay"""
    params, grads = _data(rng)
    skip = _skips(rng, len(params))
    _run(student, "AdamW", params, grads, {"lr": 0.02, "weight_decay": 0.1}, skip=skip,
         what="AdamW(lr=0.02, weight_decay=0.1) with about 30% of the gradients None",
         hint="a parameter without a gradient is not decayed either in PyTorch's AdamW.")


@graded("4.16", points=0.1875)
@pytest.mark.parametrize("case", ["lr", "eps", "weight_decay", "betas"])
def test_adamw_value_errors(student, case):
    """AdamW raises ValueError for a negative lr, eps or weight_decay, and betas outside [0, 1)"""
    hyper = {"lr": {"lr": -0.1}, "eps": {"eps": -1.0}, "weight_decay": {"weight_decay": -0.01},
             "betas": {"betas": (0.9, 1.0)}}[case]
    student.raises_naming(BETAS if case == "betas" else (case,), "AdamW", [torch.zeros(3)], **hyper)


# ======================================================================== every optimizer (shared conventions)

@graded("5.10", points=0.75, task=PER_CASE)
@pytest.mark.parametrize("name", _by_optimizer("SGD", "Adam", "AdamW"))
def test_mixed_shapes_and_dtypes(student, rng, name):
    """one optimizer over tensors of several shapes (0-d to 4-d) and of float32 and float64 together"""
    shapes = [(2, 3), (), (4, 1, 2), (7,), (1, 2, 1, 3)]
    dtypes = [F32, F64, F32, F64, F32]
    params = [torch.randn(s, generator=rng, dtype=F64).to(d) for s, d in zip(shapes, dtypes)]
    grads = [torch.randn((STEPS, *s), generator=rng, dtype=F64).to(d) for s, d in zip(shapes, dtypes)]
    hyper = {**DEFAULTS[name], "weight_decay": 0.01}
    _run(student, name, params, grads, hyper, what=f"{name}({hyper}) on 5 tensors of mixed shapes and dtypes",
         hint="keep the state per tensor, with each tensor's own shape and dtype (torch.zeros_like(p)).")


@graded("5.11", points=0.75, task=PER_CASE)
@pytest.mark.parametrize("name", _by_optimizer("SGD", "Adam", "AdamW"))
def test_updates_in_place(student, rng, name):
    """step() updates each parameter in place: the same tensor object and the same storage"""
    params, grads = _data(rng, steps=10)
    _run(student, name, params, grads, {**DEFAULTS[name], "weight_decay": 0.01},
         what=f"{name} over 10 steps, watching each parameter's storage", hint=IN_PLACE)


@graded("5.12", points=0.75, task=PER_CASE)
@pytest.mark.parametrize("name", _by_optimizer("SGD", "Adam", "AdamW"))
def test_grads_untouched(student, rng, name):
    """step() never modifies or replaces .grad, also with weight decay"""
    params, grads = _data(rng, steps=10)
    _run(student, name, params, grads, {**DEFAULTS[name], "weight_decay": 0.1},
         what=f"{name} with weight_decay=0.1 over 10 steps, watching each .grad",
         hint="never write into p.grad: grad.add(p, alpha=wd) makes a new tensor, grad.add_(...) does not.")


@graded("5.13", points=0.5, task=PER_CASE)
@pytest.mark.parametrize("name", _by_optimizer("SGD", "Adam", "AdamW"))
def test_no_autograd_history(student, rng, name):
    """parameters with requires_grad=True are updated without autograd history"""
    params, grads = _data(rng, steps=10)
    try:
        _run(student, name, params, grads, DEFAULTS[name], requires_grad=True,
             what=f"{name} over 10 steps on parameters with requires_grad=True", hint=IN_PLACE)
    except CheckFailed as exc:
        if "leaf Variable" in exc.problem or "requires grad" in exc.problem:
            raise CheckFailed(exc.problem, "wrap the body of step() in `with torch.no_grad():` (in-place updates "
                                           "of leaf tensors that require grad are refused otherwise).") from None
        raise


FLOAT16_CASES = [pytest.param("SGD", {"lr": 0.01, "momentum": 0.9}, marks=TASK["SGD"], id="SGD"),
                 pytest.param("Adam", {"lr": 0.01}, marks=TASK["Adam"], id="Adam")]


@graded("5.14", points=0.5, task=PER_CASE)
@pytest.mark.parametrize("name,hyper", FLOAT16_CASES)
def test_float16(student, rng, name, hyper):
    """float16 parameters keep their dtype and follow torch.optim for 10 steps"""
    params, grads = _data(rng, torch.float16, shapes=[(4, 5), (6,)], steps=10)
    _run(student, name, params, grads, hyper, what=f"{name}({hyper}) on float16 parameters for 10 steps",
         hint="create the state with torch.zeros_like(p) so it has the parameter's dtype.")


BOUNDARY_CASES = [
    pytest.param("SGD", [{"lr": 0.0, "momentum": 0.9}], marks=TASK["SGD"], id="SGD"),
    pytest.param("Adam", [{"lr": 0.0}, {"lr": 0.01, "betas": (0.0, 0.0), "eps": 0.0}], marks=TASK["Adam"], id="Adam"),
    pytest.param("AdamW", [{"lr": 0.0, "weight_decay": 0.0}, {"lr": 0.01, "betas": (0.0, 0.0), "eps": 0.0}],
                 marks=TASK["AdamW"], id="AdamW"),
]


@graded("5.15", points=0.25, task=PER_CASE)
@pytest.mark.parametrize("name,hypers", BOUNDARY_CASES)
def test_boundary_values_accepted(student, rng, name, hypers):
    """only negative values are errors: lr = 0, eps = 0, weight_decay = 0 and betas of 0 are accepted"""
    params, grads = _data(rng, steps=10)
    for hyper in hypers:
        _run(student, name, params, grads, hyper, what=f"{name}({hyper}) for 10 steps",
             hint="only a negative lr, eps, momentum or weight_decay, or a beta outside [0, 1), is an error: "
                  "compare with < 0 (not <= 0), and allow beta == 0.")
