"""microgradx.optim: SGD, Adam and AdamW against their update equations, closed forms and torch.optim.

The reference updates below are written from PyTorch's documented algorithms (the pseudo-code in
``torch.optim.SGD`` / ``torch.optim.Adam``), arranged as in the docs rather than as in the code
under test, so a slip in either shows up as a mismatch.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.optim import SGD, Adam, AdamW

STEPS = 25


def hand_grad(t: int, i: int, p: float) -> float:
    """A hand-set gradient for parameter i at step t (1-based): varied signs and sizes, some zero."""
    if i == 2 and t % 5 == 0:
        return 0.0
    return math.cos(1.3 * t + i) * (i + 1) + 0.1 * p


def run(make, p0: list[float], steps: int = STEPS) -> list[list[float]]:
    """Trajectory of the optimizer made by `make(params)` under `hand_grad`, one row per step."""
    params = [mg.Value(x) for x in p0]
    opt = make(params)
    rows = []
    for t in range(1, steps + 1):
        for i, p in enumerate(params):
            p.grad = hand_grad(t, i, p.data)
        opt.step()
        rows.append([p.data for p in params])
    return rows


def sgd_reference(p0, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, steps=STEPS):
    theta, buf, rows = list(p0), [None] * len(p0), []
    for t in range(1, steps + 1):
        for i in range(len(theta)):
            g = hand_grad(t, i, theta[i])
            if weight_decay:
                g = g + weight_decay * theta[i]
            if momentum:
                buf[i] = g if t == 1 else momentum * buf[i] + (1 - dampening) * g
                g = g + momentum * buf[i] if nesterov else buf[i]
            theta[i] = theta[i] - lr * g
        rows.append(list(theta))
    return rows


def adam_reference(p0, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, steps=STEPS):
    b1, b2 = betas
    theta, m, v, rows = list(p0), [0.0] * len(p0), [0.0] * len(p0), []
    for t in range(1, steps + 1):
        for i in range(len(theta)):
            g = hand_grad(t, i, theta[i])
            if weight_decay:
                g = g + weight_decay * theta[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            theta[i] = theta[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
        rows.append(list(theta))
    return rows


def assert_rows_close(got, want, rel=1e-12):
    assert len(got) == len(want)
    for t, (a, b) in enumerate(zip(got, want, strict=True), start=1):
        for x, y in zip(a, b, strict=True):
            assert x == pytest.approx(y, rel=rel, abs=1e-14), f"step {t}"


P0 = [0.5, -1.25, 2.0]

SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.05, "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.1},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    {"lr": 0.02, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1},
    {"lr": 0.0},
]
ADAM_CASES = [
    {},
    {"lr": 0.1},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.01, "weight_decay": 0.05},
    {"lr": 0.01, "betas": (0.0, 0.5)},
    {"lr": 0.01, "betas": (0.6, 0.0)},
]


@pytest.mark.parametrize("hyper", SGD_CASES, ids=str)
def test_sgd_follows_its_update_equations_for_25_steps(hyper):
    assert_rows_close(run(lambda ps: SGD(ps, **hyper), P0), sgd_reference(P0, **hyper))


@pytest.mark.parametrize("hyper", ADAM_CASES, ids=str)
def test_adam_follows_its_update_equations_for_25_steps(hyper):
    assert_rows_close(run(lambda ps: Adam(ps, **hyper), P0), adam_reference(P0, **hyper), rel=1e-11)


# --- closed forms -----------------------------------------------------------------------------


def test_sgd_on_a_quadratic_shrinks_by_one_minus_lr_times_curvature():
    # E = a/2 · w², dE/dw = a·w, so w_t = w_0 · (1 − lr·a)^t.
    a, lr, w = 3.0, 0.1, mg.Value(2.0)
    opt = SGD([w], lr=lr)
    for t in range(1, 31):
        opt.zero_grad()
        (0.5 * a * w**2).backward()
        opt.step()
        assert w.data == pytest.approx(2.0 * (1 - lr * a) ** t, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    g=st.floats(-10, 10).filter(lambda x: abs(x) > 1e-3),
    momentum=st.floats(0.0, 0.99),
    dampening=st.floats(0.0, 1.0),
)
def test_sgd_momentum_with_a_constant_gradient_matches_the_geometric_sum(g, momentum, dampening):
    # b_1 = g, b_t = μ·b_{t-1} + (1−τ)·g  =>  b_t = g·(μ^(t-1) + (1−τ)·(1 − μ^(t-1))/(1 − μ)).
    lr, w = 0.01, mg.Value(0.0)
    opt = SGD([w], lr=lr, momentum=momentum, dampening=dampening)
    total = 0.0
    for t in range(1, 21):
        w.grad = g
        opt.step()
        k = momentum ** (t - 1)
        total += g * (k + (1 - dampening) * (1 - k) / (1 - momentum)) if momentum else g
        assert w.data == pytest.approx(-lr * total, rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    g=st.floats(-100, 100).filter(lambda x: abs(x) > 1e-6),
    lr=st.floats(1e-4, 1.0),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.0, 0.9999),
)
def test_adam_with_a_constant_gradient_moves_lr_per_step(g, lr, beta1, beta2):
    # Bias correction makes m̂ = g and v̂ = g² exactly, so each step is lr·g/(|g| + eps).
    eps, w = 1e-8, mg.Value(1.0)
    opt = Adam([w], lr=lr, betas=(beta1, beta2), eps=eps)
    for t in range(1, 21):
        w.grad = g
        opt.step()
        assert w.data == pytest.approx(1.0 - t * lr * g / (abs(g) + eps), rel=1e-9, abs=1e-12)


def test_adam_without_eps_divides_by_zero_as_ieee_floats_do():
    # eps = 0 and beta2 = 0 make the denominator |g|: a zero gradient after a nonzero one gives
    # m / 0 = inf, and a zero gradient from the start gives 0 / 0 = nan, as in torch.
    w, z = mg.Value(1.0), mg.Value(1.0)
    opt = Adam([w, z], lr=0.1, betas=(0.5, 0.0), eps=0.0)
    w.grad, z.grad = 1.0, 0.0
    opt.step()
    assert w.data == pytest.approx(0.9) and math.isnan(z.data)
    w.grad = 0.0
    opt.step()
    assert w.data == -math.inf


def test_state_uses_torch_names():
    w = mg.Value(1.0)
    sgd, adam = SGD([w], lr=0.1, momentum=0.9), Adam([w])
    w.grad = 2.0
    sgd.step()
    adam.step()
    assert sgd.state[w] == {"momentum_buffer": 2.0}
    assert set(adam.state[w]) == {"step", "exp_avg", "exp_avg_sq"} and adam.state[w]["step"] == 1


# --- Grokking Deep Learning's single weight: alpha decides convergence ------------------------------


def grokking_run(alpha: float, steps: int = 50) -> list[float]:
    """input 8, goal 0.8, E = (input·w − goal)²; SGD on w from 0.5. Returns the errors per step."""
    inp, goal = 8.0, 0.8
    w = mg.Value(0.5, "w")
    opt = SGD([w], lr=alpha)
    errors = []
    for _ in range(steps):
        error = (inp * w - goal) ** 2
        errors.append(error.data)
        opt.zero_grad()
        error.backward()
        assert w.grad == pytest.approx(2 * inp * (inp * w.data - goal))  # dE/dw = 2·input·(pred − goal)
        opt.step()
    return errors


def test_grokking_single_weight_converges_with_a_small_alpha():
    # w − 0.1 shrinks by |1 − 128·alpha| = 0.872 per step.
    errors = grokking_run(0.001, steps=200)
    assert errors[-1] < 1e-20
    assert all(b < a for a, b in itertools.pairwise(errors))
    assert errors[10] == pytest.approx(errors[0] * (1 - 128 * 0.001) ** 20, rel=1e-9)


def test_grokking_single_weight_diverges_with_a_large_alpha():
    # |1 − 128·0.1| = 11.8 > 1: each step overshoots further, the error grows by 11.8² per step.
    errors = grokking_run(0.1, steps=20)
    assert errors[-1] > 1e30
    for a, b in itertools.pairwise(errors):
        assert b == pytest.approx(a * 11.8**2, rel=1e-9)


# --- behaviour and validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1), lambda ps: AdamW(ps, lr=0.1)],
)
def test_step_changes_data_only_and_records_no_graph(make):
    x = mg.Value(1.5, "x")
    w = mg.Value(0.5, "w")
    opt = make([w])
    (w * x).backward()
    opt.step()
    assert w.op == "" and w.parents == () and w.label == "w"
    assert w.data != 0.5 and x.data == 1.5 and w.grad == 1.5  # grad untouched by step
    opt.zero_grad()
    assert w.grad == 0.0 and x.grad == 0.5  # only the optimizer's parameters


def test_lr_can_be_changed_between_steps():
    w = mg.Value(1.0)
    opt = SGD([w], lr=0.1)
    w.grad = 1.0
    opt.step()
    opt.lr = 0.5
    opt.step()
    assert w.data == pytest.approx(1.0 - 0.1 - 0.5)


def test_sgd_trains_a_model():
    model = mg.nn.MLP(1, [8, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    xs, ys = [[-1.0], [0.0], [1.0]], [1.0, 0.0, 1.0]
    first = None
    for _ in range(60):
        loss = mg.nn.mse_loss([model(x) for x in xs], ys)
        first = first if first is not None else loss.data
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.data < first / 10


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda ps: SGD(ps, lr=-0.1), "lr"),
        (lambda ps: SGD(ps, lr=math.nan), "lr"),
        (lambda ps: SGD(ps, lr="0.1"), "lr"),
        (lambda ps: SGD(ps, lr=0.1, momentum=-0.1), "momentum"),
        (lambda ps: SGD(ps, lr=0.1, momentum=1.0), "momentum"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), "nesterov"),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
        (lambda ps: SGD(ps, lr=0.1, weight_decay=-1.0), "weight_decay"),
        (lambda ps: Adam(ps, lr=-1e-3), "lr"),
        (lambda ps: Adam(ps, eps=-1e-8), "eps"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), "beta1"),
        (lambda ps: Adam(ps, betas=(0.9, 1.0)), "beta2"),
        (lambda ps: Adam(ps, betas=(-0.1, 0.999)), "beta1"),
        (lambda ps: Adam(ps, betas=(0.9,)), "betas"),
        (lambda ps: Adam(ps, weight_decay=-0.1), "weight_decay"),
        (lambda ps: Adam(ps, amsgrad=1), "amsgrad"),
        (lambda ps: AdamW(ps, lr=-1e-3), "AdamW lr"),
        (lambda ps: AdamW(ps, eps=math.nan), "AdamW eps"),
        (lambda ps: AdamW(ps, betas=(0.9, 1.0)), "AdamW beta2"),
        (lambda ps: AdamW(ps, betas=0.9), "AdamW betas"),
        (lambda ps: AdamW(ps, weight_decay=-0.01), "AdamW weight_decay"),
        (lambda ps: AdamW(ps, weight_decay=True), "AdamW weight_decay"),
        (lambda ps: AdamW(ps, amsgrad="yes"), "AdamW amsgrad"),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=1), "nesterov"),
        (lambda ps: SGD(ps, lr=math.inf), "SGD lr must be a finite real number: it is not finite"),
        (lambda ps: SGD(ps, lr=10**400), "SGD lr must be a finite real number: it is too large for a float"),
        (lambda ps: SGD(ps, lr=0.1, dampening=math.nan), "SGD dampening must be a finite real number"),
        (lambda ps: SGD(ps, lr=0.1, weight_decay=math.inf), "SGD weight_decay must be a finite"),
        (lambda ps: Adam(ps, lr=math.inf), "Adam lr must be a finite"),
        (lambda ps: Adam(ps, eps=math.inf), "Adam eps must be a finite"),
        (lambda ps: AdamW(ps, weight_decay=math.inf), "AdamW weight_decay must be a finite"),
        (lambda ps: Adam(ps, betas=(math.nan, 0.9)), "Adam beta1 must be a finite"),
    ],
)
def test_bad_hyper_parameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make([mg.Value(1.0)])


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([], "empty"),
        ([1.0, 2.0], r"\[0\] is a float"),
        (mg.nn.MLP(1, [1]), "model.parameters()"),
        (None, "iterable"),
    ],
)
def test_bad_params_raise_value_error(cls, params, message):
    with pytest.raises(ValueError, match=message):
        cls(params, lr=0.1)


def test_a_parameter_listed_twice_is_refused():
    w = mg.Value(1.0)
    with pytest.raises(ValueError, match="more than once"):
        SGD([w, w], lr=0.1)


# --- against torch.optim -------------------------------------------------------------------------


def torch_run(opt_name: str, hyper: dict, p0: list[float], steps: int = STEPS) -> list[list[float]]:
    torch = pytest.importorskip("torch")
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in p0]
    opt = getattr(torch.optim, opt_name)(params, **hyper)
    rows = []
    for t in range(1, steps + 1):
        for i, p in enumerate(params):
            p.grad = torch.tensor(hand_grad(t, i, p.item()), dtype=torch.float64)
        opt.step()
        rows.append([p.item() for p in params])
    return rows


@pytest.mark.parametrize("hyper", SGD_CASES, ids=str)
def test_sgd_matches_torch_optim_sgd(hyper):
    want = torch_run("SGD", hyper, P0)
    assert_rows_close(run(lambda ps: SGD(ps, **hyper), P0), want, rel=1e-10)


@pytest.mark.parametrize("hyper", ADAM_CASES, ids=str)
def test_adam_matches_torch_optim_adam(hyper):
    want = torch_run("Adam", hyper, P0)
    assert_rows_close(run(lambda ps: Adam(ps, **hyper), P0), want, rel=1e-10)


# --- AdamW: decoupled weight decay, amsgrad --------------------------------------------------------


def adamw_reference(p0, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, steps=STEPS):
    """AdamW as Loshchilov & Hutter write it (and PyTorch's docs): decay θ, then Adam on the raw g.

    With amsgrad, the running maximum is kept of the raw second moment v and bias-corrected at each
    step (as PyTorch's code does it: max(v) / (1 − β2^t)).
    """
    b1, b2 = betas
    n = len(p0)
    theta, m, v, v_max, rows = list(p0), [0.0] * n, [0.0] * n, [0.0] * n, []
    for t in range(1, steps + 1):
        for i in range(n):
            g = hand_grad(t, i, theta[i])
            theta[i] = theta[i] - lr * weight_decay * theta[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            v_max[i] = max(v_max[i], v[i])
            m_hat = m[i] / (1 - b1**t)
            v_hat = (v_max[i] if amsgrad else v[i]) / (1 - b2**t)
            theta[i] = theta[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
        rows.append(list(theta))
    return rows


ADAMW_CASES = [
    {},
    {"lr": 0.1},
    {"lr": 0.05, "weight_decay": 0.5},
    {"lr": 0.05, "amsgrad": True},
    {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.2, "amsgrad": True},
    {"lr": 0.01, "weight_decay": 0.0},
]


@pytest.mark.parametrize("hyper", ADAMW_CASES, ids=str)
def test_adamw_follows_its_update_equations_for_100_steps(hyper):
    got = run(lambda ps: AdamW(ps, **hyper), P0, steps=100)
    assert_rows_close(got, adamw_reference(P0, **hyper, steps=100), rel=1e-11)


@pytest.mark.parametrize("hyper", [{"lr": 0.05}, {"lr": 0.05, "betas": (0.5, 0.6)}], ids=str)
def test_adam_amsgrad_follows_its_update_equations(hyper):
    # Adam's L2 weight decay is zero here, so Adam(amsgrad) is AdamW(amsgrad) without the decay.
    got = run(lambda ps: Adam(ps, **hyper, amsgrad=True), P0, steps=100)
    want = adamw_reference(P0, **hyper, weight_decay=0.0, amsgrad=True, steps=100)
    assert_rows_close(got, want, rel=1e-11)


def test_adamw_without_weight_decay_is_adam_bit_for_bit():
    assert run(lambda ps: AdamW(ps, lr=0.1, weight_decay=0.0), P0) == run(lambda ps: Adam(ps, lr=0.1), P0)


def test_adamw_decay_is_not_adams_l2_penalty():
    # The same weight_decay means different things: Adam adds λθ to the gradient (then divides
    # by √v), AdamW shrinks θ by lr·λ. They part from the first step on.
    adam = run(lambda ps: Adam(ps, lr=0.1, weight_decay=0.5), P0, steps=1)
    adamw = run(lambda ps: AdamW(ps, lr=0.1, weight_decay=0.5), P0, steps=1)
    assert all(a != b for a, b in zip(adam[0], adamw[0], strict=True))


@settings(max_examples=30, deadline=None)
@given(p0=st.floats(-100, 100), lr=st.floats(1e-4, 1.0), wd=st.floats(0.0, 0.9))
def test_adamw_with_zero_gradient_only_decays_geometrically(p0, lr, wd):
    # g = 0 keeps m = v = 0, so the Adam part is 0/eps = 0 and θ_t = θ_0·(1 − lr·λ)^t.
    w = mg.Value(p0)
    opt = AdamW([w], lr=lr, weight_decay=wd)
    for t in range(1, 31):
        w.grad = 0.0
        opt.step()
        assert w.data == pytest.approx(p0 * (1 - lr * wd) ** t, rel=1e-12, abs=1e-300)


@settings(max_examples=30, deadline=None)
@given(
    g=st.floats(-100, 100).filter(lambda x: abs(x) > 1e-6),
    lr=st.floats(1e-4, 0.5),
    wd=st.floats(0.0, 0.9),
)
def test_adamw_with_a_constant_gradient_matches_the_geometric_sum(g, lr, wd):
    # m̂ = g and v̂ = g² (bias correction), so θ_t = q·θ_{t-1} − s with q = 1 − lr·λ and
    # s = lr·g/(|g| + eps): θ_t = q^t·θ_0 − s·(1 − q^t)/(1 − q)  (or θ_0 − t·s when q = 1).
    eps, theta0, w = 1e-8, 1.0, mg.Value(1.0)
    q, s = 1 - lr * wd, lr * g / (abs(g) + eps)
    opt = AdamW([w], lr=lr, weight_decay=wd, eps=eps)
    for t in range(1, 21):
        w.grad = g
        opt.step()
        # the geometric sum Σ q^k (k < t) added up term by term: (1 − q^t)/(1 − q) cancels
        # catastrophically when lr·λ is tiny (hypothesis found lr·λ ≈ 1e-12: off by 2.5e-9)
        want = q**t * theta0 - s * math.fsum(q**k for k in range(t))
        assert w.data == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_amsgrad_never_lets_the_step_grow_when_gradients_shrink():
    # A big gradient then small ones: v decays, max(v) does not, so each amsgrad step is smaller.
    grads = [10.0] + [0.1] * 20
    steps = {}
    for amsgrad in (False, True):
        w = mg.Value(0.0)
        opt = AdamW([w], lr=0.1, betas=(0.0, 0.9), weight_decay=0.0, amsgrad=amsgrad)
        before, steps[amsgrad] = 0.0, []
        for g in grads:
            w.grad = g
            opt.step()
            steps[amsgrad].append(before - w.data)
            before = w.data
        if amsgrad:
            assert set(opt.state[w]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
            assert opt.state[w]["max_exp_avg_sq"] == pytest.approx(0.1 * 100.0)  # (1 − β2)·g² at step 1
    assert steps[True][0] == steps[False][0]
    assert all(0 < a < b for a, b in zip(steps[True][1:], steps[False][1:], strict=True))


def test_adamw_trains_a_model():
    model = mg.nn.MLP(1, [8, 1], seed=0)
    opt = AdamW(model.parameters(), lr=0.05)
    xs, ys = [[-1.0], [0.0], [1.0]], [1.0, 0.0, 1.0]
    losses = []
    for _ in range(60):
        loss = mg.nn.mse_loss([model(x) for x in xs], ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    assert losses[-1] < losses[0] / 10


@pytest.mark.parametrize("hyper", ADAMW_CASES, ids=str)
def test_adamw_matches_torch_optim_adamw_over_100_steps(hyper):
    want = torch_run("AdamW", hyper, P0, steps=100)
    assert_rows_close(run(lambda ps: AdamW(ps, **hyper), P0, steps=100), want, rel=1e-12)


@pytest.mark.parametrize(
    "hyper", [{"lr": 0.05, "amsgrad": True}, {"lr": 0.1, "weight_decay": 0.1, "amsgrad": True}], ids=str
)
def test_adam_amsgrad_matches_torch_optim_adam(hyper):
    want = torch_run("Adam", hyper, P0, steps=100)
    assert_rows_close(run(lambda ps: Adam(ps, **hyper), P0, steps=100), want, rel=1e-12)


# --- state_dict / load_state_dict: stop and resume ---------------------------------------------------

OPTIMIZERS = {
    "SGD": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "SGD-plain": lambda ps: SGD(ps, lr=0.05),
    "Adam": lambda ps: Adam(ps, lr=0.05, betas=(0.8, 0.99), weight_decay=0.1),
    "AdamW": lambda ps: AdamW(ps, lr=0.05),
    "AdamW-amsgrad": lambda ps: AdamW(ps, lr=0.1, weight_decay=0.2, amsgrad=True),
}


def stepped(make, steps: int, start: int = 1, params=None):
    params = params or [mg.Value(x) for x in P0]
    opt = make(params)
    for t in range(start, start + steps):
        for i, p in enumerate(params):
            p.grad = hand_grad(t, i, p.data)
        opt.step()
    return params, opt


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_resumed_run_equals_an_uninterrupted_one(name):
    make = OPTIMIZERS[name]
    straight, _ = stepped(make, 40)
    # 15 steps, save both halves as JSON, then 25 more steps in a fresh optimizer on fresh Values.
    first, opt = stepped(make, 15)
    saved = json.dumps({"params": [p.data for p in first], "optimizer": opt.state_dict()})
    loaded = json.loads(saved)
    params = [mg.Value(x) for x in loaded["params"]]
    fresh = make(params)
    fresh.load_state_dict(loaded["optimizer"])
    for t in range(16, 41):
        for i, p in enumerate(params):
            p.grad = hand_grad(t, i, p.data)
        fresh.step()
    assert [p.data for p in params] == [p.data for p in straight]  # bit for bit


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_is_json_ready_and_a_copy(name):
    params, opt = stepped(OPTIMIZERS[name], 3)
    state = opt.state_dict()
    assert json.loads(json.dumps(state)) == state
    assert state["optimizer"] == type(opt).__name__ and len(state["state"]) == len(params)
    assert set(state["hyper"]) == set(type(opt).HYPER)
    for entry in state["state"]:
        for value in entry.values():
            value += 1.0
        entry.clear()
    assert opt.state_dict() == state | {"state": opt.state_dict()["state"]}
    assert all(opt.state[p] for p in params) == (name != "SGD-plain")


def test_state_dict_before_any_step_has_empty_buffers():
    opt = AdamW([mg.Value(1.0), mg.Value(2.0)])
    assert opt.state_dict() == {
        "optimizer": "AdamW",
        "hyper": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
        "state": [{}, {}],
    }


def test_load_state_dict_restores_the_hyper_parameters():
    _, opt = stepped(OPTIMIZERS["Adam"], 2)
    opt.lr = 0.01  # a decayed learning rate is part of what resumes
    other = Adam(opt.params, lr=0.9)
    other.load_state_dict(opt.state_dict())
    assert (other.lr, other.betas, other.weight_decay) == (0.01, (0.8, 0.99), 0.1)


def adamw_state():
    _, opt = stepped(OPTIMIZERS["AdamW-amsgrad"], 2)
    return opt.state_dict()


def changed(state, path, value):
    """A deep copy of `state` with the entry at `path` (keys) set to `value`, or deleted for DELETE."""
    state = json.loads(json.dumps(state))
    *parents, last = path
    target = state
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return state


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("optimizer",), "Adam", r"saved by 'Adam', not 'AdamW'"),
        (("optimizer",), DELETE, r"missing 'optimizer'"),
        (("extra",), 1, r"unknown 'extra'"),
        (("hyper", "lr"), -1.0, r"AdamW lr must be >= 0"),
        (("hyper", "lr"), DELETE, r"missing 'hyper.lr'"),
        (("hyper", "momentum"), 0.9, r"unknown 'hyper.momentum'"),
        (("hyper", "betas"), [0.9, 1.0], r"AdamW beta2"),
        (("hyper", "amsgrad"), 1, r"AdamW amsgrad must be True or False"),
        (("hyper",), [1, 2], r"'hyper' must be a dict"),
        (("state",), {}, r"'state' must be a list"),
        (("state", 2), DELETE, r"state for 2 parameters, this optimizer has 3"),
        (("state", 1), 5, r"state\[1\] is not a dict"),
        (("state", 1, "exp_avg"), "0.5", r"state\[1\]\.exp_avg is not a number"),
        (("state", 1, "exp_avg"), True, r"state\[1\]\.exp_avg is not a number"),
        (("state", 0, "exp_avg_sq"), math.inf, r"state\[0\]\.exp_avg_sq is not finite"),
        (("state", 0, "step"), 0, r"state\[0\]\.step must be a whole number >= 1"),
        (("state", 0, "step"), 1.5, r"state\[0\]\.step must be a whole number >= 1"),
        (("state", 2, "max_exp_avg_sq"), DELETE, r"missing 'state\[2\]\.max_exp_avg_sq'"),
        (("state", 2, "momentum_buffer"), 1.0, r"unknown 'state\[2\]\.momentum_buffer'"),
        # what a hostile or damaged file holds: each refused with a short message, nothing changed
        (("state", 0, "exp_avg_sq"), -1.0, r"state\[0\]\.exp_avg_sq is an average of squares, so >= 0"),
        (("state", 2, "max_exp_avg_sq"), -1e-300, r"state\[2\]\.max_exp_avg_sq is an average of squares"),
        (("hyper", "lr"), 10**400, r"AdamW lr .* too large for a float \(got an integer of about 400 digits"),
        (("hyper", "lr"), math.inf, r"AdamW lr must be a finite real number: it is not finite"),
        (("hyper", "eps"), math.nan, r"AdamW eps must be a finite real number"),
        (("state", 1, "exp_avg"), 10**400, r"state\[1\]\.exp_avg is too large for a float"),
        (("state", 1, "step"), 10**400, r"state\[1\]\.step is too large for a float"),
        (("hyper", "betas"), "DEEP", r"AdamW betas must be a pair \(beta1, beta2\), got a list of 1 items"),
        (
            ("state", 0, "exp_avg"),
            "DEEP",
            r"state\[0\]\.exp_avg is not a number \(got list a list of 1 items",
        ),
        (("optimizer",), "x" * 50_000_000, r"saved by 'xxx.*…, not 'AdamW'"),
        (("hyper", "lr"), "x" * 50_000_000, r"AdamW lr .* not a number \(got str 'xxx"),
        (("state", 0, "x" * 50_000_000), 1.0, r"unknown 'state\[0\]\.xxx"),
    ],
)
def test_load_state_dict_rejects_bad_state_and_changes_nothing(path, value, message):
    if value == "DEEP":  # a list 50,000 deep: its repr alone is a RecursionError
        value = []
        for _ in range(50_000):
            value = [value]
    _, opt = stepped(OPTIMIZERS["AdamW-amsgrad"], 5)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=message) as caught:
        opt.load_state_dict(changed(adamw_state(), path, value))
    assert opt.state_dict() == before
    assert len(str(caught.value)) < 400  # a 50 MB string is not copied into the message


@pytest.mark.parametrize("bad", [None, [], "state", 3])
def test_load_state_dict_rejects_what_is_not_a_dict(bad):
    opt = SGD([mg.Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match=r"must be a dict made by SGD.state_dict\(\)"):
        opt.load_state_dict(bad)


def test_an_unstepped_entry_may_be_empty_and_stays_empty():
    state = changed(adamw_state(), ("state", 1), {})
    params, opt = stepped(OPTIMIZERS["AdamW-amsgrad"], 1)
    opt.load_state_dict(state)
    assert opt.state[params[1]] == {} and opt.state[params[0]]["step"] == 2.0


def test_sgd_state_follows_the_loaded_momentum():
    # Without momentum SGD keeps no buffer, so a buffer in the state is an error.
    _, with_momentum = stepped(OPTIMIZERS["SGD"], 2)
    plain = SGD([mg.Value(x) for x in P0], lr=0.1)
    plain.load_state_dict(with_momentum.state_dict())  # momentum comes with the state
    assert plain.momentum == 0.9 and plain.nesterov
    state = with_momentum.state_dict()
    state["hyper"] |= {"momentum": 0.0, "nesterov": False}
    with pytest.raises(ValueError, match=r"unknown 'state\[0\]\.momentum_buffer'"):
        plain.load_state_dict(state)
