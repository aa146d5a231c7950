"""Losses (microgradx.losses, which a learner calls as mg.nn.mse_loss, …): values and gradients against
closed forms, finite differences and torch."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.nn import bce_loss, hinge_loss, mse_loss


def values(xs):
    return [mg.Value(x) for x in xs]


def central_difference(loss, xs: list[float], i: int, h: float = 1e-6) -> float:
    plus, minus = list(xs), list(xs)
    plus[i] += h
    minus[i] -= h
    return (loss(values(plus)).data - loss(values(minus)).data) / (2 * h)


# --- closed forms ---------------------------------------------------------------------------------


def test_mse_value_and_gradient_closed_form():
    preds, targets = values([0.5, -1.0, 2.0]), [1.0, 0.0, 2.5]
    loss = mse_loss(preds, targets)
    assert loss.data == pytest.approx((0.25 + 1.0 + 0.25) / 3, rel=1e-15)
    loss.backward()
    # d/dp_i mean((p − t)²) = 2·(p_i − t_i)/n
    assert [p.grad for p in preds] == pytest.approx([2 * -0.5 / 3, 2 * -1.0 / 3, 2 * -0.5 / 3], rel=1e-15)


def test_bce_value_and_gradient_closed_form():
    probs, targets = values([0.9, 0.2, 0.6]), [1.0, 0.0, 0.25]
    loss = bce_loss(probs, targets)
    want = (
        -sum(
            t * math.log(p) + (1 - t) * math.log(1 - p) for p, t in zip([0.9, 0.2, 0.6], targets, strict=True)
        )
        / 3
    )
    assert loss.data == pytest.approx(want, rel=1e-14)
    loss.backward()
    # d/dp of −(t·log p + (1−t)·log(1−p)) is (p − t)/(p·(1 − p)); the mean divides by n.
    for p, t in zip(probs, targets, strict=True):
        assert p.grad == pytest.approx((p.data - t) / (p.data * (1 - p.data)) / 3, rel=1e-12)


def test_hinge_value_and_gradient_closed_form():
    scores, labels = values([0.5, -2.0, 3.0, -0.25]), [1, -1, -1, 1]
    loss = hinge_loss(scores, labels)
    # margins 1 − y·s: 0.5, -1 (inactive), 4, 1.25
    assert loss.data == pytest.approx((0.5 + 0.0 + 4.0 + 1.25) / 4, rel=1e-15)
    loss.backward()
    # d/ds relu(1 − y·s) = −y where the margin is violated, else 0
    assert [s.grad for s in scores] == [-1 / 4, 0.0, 1 / 4, -1 / 4]


def test_hinge_at_exactly_the_margin_has_zero_gradient():
    s = mg.Value(1.0)
    loss = hinge_loss([s], [1])
    loss.backward()
    assert loss.data == 0.0 and s.grad == 0.0  # relu'(0) = 0


def test_sigmoid_then_bce_gives_the_textbook_gradient():
    # dE/dz = (σ(z) − y)/n for E = bce(σ(z), y): the sigmoid's derivative cancels the log's.
    zs, ys = values([0.3, -1.7, 2.2]), [1.0, 0.0, 1.0]
    loss = bce_loss([z.sigmoid() for z in zs], ys)
    loss.backward()
    for z, y in zip(zs, ys, strict=True):
        assert z.grad == pytest.approx((1 / (1 + math.exp(-z.data)) - y) / 3, rel=1e-12)


# --- finite differences ------------------------------------------------------------------------


def assert_gradient_matches_finite_differences(loss, xs, ts):
    inputs = values(xs)
    loss(inputs, ts).backward()
    for i, x in enumerate(inputs):
        numeric = central_difference(lambda v: loss(v, ts), xs, i)
        assert x.grad == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def batches(inputs, targets):
    pairs = st.lists(st.tuples(inputs, targets), min_size=1, max_size=6)
    return pairs.map(lambda ps: ([x for x, _ in ps], [t for _, t in ps]))


@settings(max_examples=40, deadline=None)
@given(batches(st.floats(-5, 5), st.floats(-5, 5)))
def test_mse_gradient_matches_finite_differences(batch):
    assert_gradient_matches_finite_differences(mse_loss, *batch)


@settings(max_examples=40, deadline=None)
@given(batches(st.floats(0.05, 0.95), st.floats(0, 1)))
def test_bce_gradient_matches_finite_differences(batch):
    assert_gradient_matches_finite_differences(bce_loss, *batch)


@settings(max_examples=40, deadline=None)
@given(batches(st.floats(-3, 3), st.sampled_from([-1, 1])))
def test_hinge_gradient_matches_finite_differences_away_from_the_kink(batch):
    # at the kink the one-sided slopes differ: such a batch is not a test case (hypothesis draws another)
    assume(all(abs(1 - y * s) >= 1e-3 for s, y in zip(*batch, strict=True)))
    assert_gradient_matches_finite_differences(hinge_loss, *batch)


# --- bce near 0 and 1 ----------------------------------------------------------------------------


@pytest.mark.parametrize(("p", "t"), [(0.0, 1.0), (1.0, 0.0), (0.0, 0.0), (1.0, 1.0), (1e-60, 1.0)])
def test_bce_clamps_each_log_at_minus_100(p, t):
    prob = mg.Value(p)
    loss = bce_loss([prob], [t])
    log_p = max(math.log(p), -100.0) if p > 0 else -100.0
    log_1mp = max(math.log(1 - p), -100.0) if p < 1 else -100.0
    assert loss.data == pytest.approx(-(t * log_p + (1 - t) * log_1mp), abs=1e-12)
    assert math.isfinite(loss.data)
    loss.backward()
    assert math.isfinite(prob.grad)


def test_bce_just_above_the_clamp_keeps_the_exact_gradient():
    p = mg.Value(1e-40)  # log p ≈ -92.1 > -100: not clamped
    bce_loss([p], [1.0]).backward()
    assert p.grad == pytest.approx(-1e40, rel=1e-12)


def test_bce_of_an_underflowed_sigmoid_is_finite():
    z = mg.Value(-800.0)
    loss = bce_loss([z.sigmoid()], [1.0])
    loss.backward()
    assert loss.data == 100.0 and z.grad == 0.0


# --- inputs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [mse_loss, bce_loss, hinge_loss])
def test_numbers_in_give_a_value_out(loss):
    out = loss([0.5, 1.0], [1, -1] if loss is hinge_loss else [1.0, 0.0])
    assert isinstance(out, mg.Value)


@pytest.mark.parametrize("loss", [mse_loss, bce_loss, hinge_loss])
def test_a_single_value_is_a_batch_of_one(loss):
    p = mg.Value(0.25)
    assert loss(p, 1.0).data == loss([mg.Value(0.25)], [1.0]).data


def test_targets_may_be_values_and_get_gradients():
    p, t = mg.Value(0.5), mg.Value(2.0)
    mse_loss([p], [t]).backward()
    assert t.grad == pytest.approx(-2 * (0.5 - 2.0))


@pytest.mark.parametrize("loss", [mse_loss, bce_loss, hinge_loss])
def test_empty_batch_and_length_mismatch_raise_value_error(loss):
    with pytest.raises(ValueError, match="empty"):
        loss([], [])
    with pytest.raises(ValueError, match=r"2 .* but 3"):
        loss([0.5, 0.5], [1, 1, 1])


@pytest.mark.parametrize("loss", [mse_loss, bce_loss, hinge_loss])
@pytest.mark.parametrize("bad", ["0.5", None, [[0.5]], {0.5}])
def test_non_numbers_raise_type_error(loss, bad):
    with pytest.raises(TypeError):
        loss(bad, [1])


@pytest.mark.parametrize(
    ("probs", "targets", "named"),
    [
        ([1.5], [1.0], "probs"),
        ([-0.1], [0.0], "probs"),
        ([0.5], [2.0], "targets"),
        ([0.5], [-1.0], "targets"),
    ],
)
def test_bce_outside_0_1_raises_value_error(probs, targets, named):
    with pytest.raises(ValueError, match=rf"{named}\[0\]"):
        bce_loss(probs, targets)


@pytest.mark.parametrize("label", [0, 2, 0.5, -1.0000001])
def test_hinge_labels_must_be_plus_or_minus_one(label):
    with pytest.raises(ValueError, match=r"labels\[1\].*\+1 or -1"):
        hinge_loss([0.1, 0.2], [1, label])


# --- against torch ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probs", "targets"),
    [
        ([0.9, 0.2, 0.6], [1.0, 0.0, 0.25]),
        ([0.0, 1.0, 0.5], [1.0, 0.0, 1.0]),
        ([1e-60, 0.999999], [0.5, 0.1]),
    ],
)
def test_bce_value_matches_torch_and_gradient_where_torch_is_exact(probs, targets):
    torch = pytest.importorskip("torch")
    tp = torch.tensor(probs, dtype=torch.float64, requires_grad=True)
    want = torch.nn.functional.binary_cross_entropy(tp, torch.tensor(targets, dtype=torch.float64))
    want.backward()
    ps = values(probs)
    loss = bce_loss(ps, targets)
    loss.backward()
    assert loss.data == pytest.approx(want.item(), rel=1e-12)
    for p, g in zip(ps, tp.grad.tolist(), strict=True):
        if p.data * (1 - p.data) >= 1e-12:  # torch bounds this denominator below by 1e-12
            assert p.grad == pytest.approx(g, rel=1e-10)


def test_mse_matches_torch():
    torch = pytest.importorskip("torch")
    preds, targets = [0.3, -1.2, 4.0, 0.0], [0.0, 1.0, 3.5, -2.0]
    tp = torch.tensor(preds, dtype=torch.float64, requires_grad=True)
    want = torch.nn.functional.mse_loss(tp, torch.tensor(targets, dtype=torch.float64))
    want.backward()
    ps = values(preds)
    loss = mse_loss(ps, targets)
    loss.backward()
    assert loss.data == pytest.approx(want.item(), rel=1e-14)
    assert [p.grad for p in ps] == pytest.approx(tp.grad.tolist(), rel=1e-14)


# --- multi-class: softmax, log_softmax, cross_entropy -------------------------------------------------

SPEC_OPS = {"", *"+ - * / ** neg abs exp log sqrt tanh sigmoid relu sin cos".split()}


def naive_softmax(zs: list[float]) -> list[float]:
    """exp(z)/Σ exp(z) written plainly, with plain floats (fine for |z| well below 700)."""
    exps = [math.exp(z) for z in zs]
    return [e / sum(exps) for e in exps]


def test_cross_entropy_value_and_gradient_closed_form():
    # E = log Σ_j exp z_j − z_t and dE/dz_i = softmax_i − [i == t].
    zs = [2.0, 1.0, 0.1, -1.5]
    for t in range(4):
        logits = values(zs)
        loss = mg.nn.cross_entropy(logits, t)
        assert loss.data == pytest.approx(math.log(sum(math.exp(z) for z in zs)) - zs[t], rel=1e-14)
        loss.backward()
        for i, (z, p) in enumerate(zip(logits, naive_softmax(zs), strict=True)):
            assert z.grad == pytest.approx(p - (i == t), rel=1e-13, abs=1e-15)


def test_cross_entropy_of_a_batch_is_the_mean_and_its_gradient_is_divided_by_the_batch_size():
    rows, targets = [[0.5, -1.0, 2.0], [3.0, 0.0, 0.0], [-2.0, 1.0, 1.5]], [2, 0, 1]
    logits = [values(row) for row in rows]
    loss = mg.nn.cross_entropy(logits, targets)
    singles = [mg.nn.cross_entropy(row, t).data for row, t in zip(rows, targets, strict=True)]
    assert loss.data == pytest.approx(sum(singles) / 3, rel=1e-15)
    loss.backward()
    for row, t, zs in zip(logits, targets, rows, strict=True):
        for i, (z, p) in enumerate(zip(row, naive_softmax(zs), strict=True)):
            assert z.grad == pytest.approx((p - (i == t)) / 3, rel=1e-13, abs=1e-16)


def test_softmax_and_log_softmax_closed_forms():
    zs = [1.0, 2.0, 3.0]
    assert [p.data for p in mg.nn.softmax(zs)] == pytest.approx(naive_softmax(zs), rel=1e-15)
    assert [p.data for p in mg.nn.log_softmax(zs)] == pytest.approx(
        [math.log(p) for p in naive_softmax(zs)], rel=1e-14
    )
    # The softmax Jacobian: ∂p_i/∂z_j = p_i·([i == j] − p_j).
    p = naive_softmax(zs)
    for i in range(3):
        logits = values(zs)
        mg.nn.softmax(logits)[i].backward()
        jacobian_row = [p[i] * ((i == j) - p[j]) for j in range(3)]
        assert [z.grad for z in logits] == pytest.approx(jacobian_row, rel=1e-13)
    # ∂ log p_i/∂z_j = [i == j] − p_j.
    logits = values(zs)
    mg.nn.log_softmax(logits)[0].backward()
    assert [z.grad for z in logits] == pytest.approx([1 - p[0], -p[1], -p[2]], rel=1e-13)


def test_one_class_gives_zero_loss_and_probability_one():
    z = mg.Value(3.7)
    loss = mg.nn.cross_entropy([z], 0)
    loss.backward()
    assert loss.data == 0.0 and z.grad == 0.0
    assert mg.nn.softmax([3.7])[0].data == 1.0 and mg.nn.log_softmax([-5.0])[0].data == 0.0


def logit_lists(low: float = -20.0, high: float = 20.0):
    return st.lists(st.floats(low, high), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(zs=logit_lists(), data=st.data())
def test_cross_entropy_gradient_matches_finite_differences(zs, data):
    t = data.draw(st.integers(0, len(zs) - 1))
    logits = values(zs)
    mg.nn.cross_entropy(logits, t).backward()
    for i, z in enumerate(logits):
        numeric = central_difference(lambda v: mg.nn.cross_entropy(v, t), zs, i)
        assert z.grad == pytest.approx(numeric, rel=1e-5, abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(
    zs=st.lists(st.floats(-1e4, 1e4) | st.sampled_from([1000.0, -1000.0, 0.0]), min_size=1, max_size=8),
    data=st.data(),
)
def test_extreme_logits_give_finite_losses_and_gradients(zs, data):
    t = data.draw(st.integers(0, len(zs) - 1))
    logits = values(zs)
    loss = mg.nn.cross_entropy(logits, t)
    loss.backward()
    assert math.isfinite(loss.data) and loss.data >= 0.0
    assert loss.data == pytest.approx(max(zs) - zs[t], abs=math.log(len(zs)) + 1e-9)  # log-sum-exp bounds
    assert all(math.isfinite(z.grad) and -1.0 <= z.grad <= 1.0 for z in logits)
    assert math.fsum(z.grad for z in logits) == pytest.approx(0.0, abs=1e-12)  # Σ softmax − 1
    probs = [p.data for p in mg.nn.softmax(zs)]
    assert all(0.0 <= p <= 1.0 for p in probs) and math.fsum(probs) == pytest.approx(1.0, abs=1e-12)
    log_probs = [p.data for p in mg.nn.log_softmax(zs)]
    assert all(math.isfinite(lp) and lp <= 0.0 for lp in log_probs)


@settings(max_examples=40, deadline=None)
@given(zs=logit_lists(-50, 50), shift=st.floats(-500, 500), data=st.data())
def test_cross_entropy_does_not_change_when_every_logit_is_shifted(zs, shift, data):
    t = data.draw(st.integers(0, len(zs) - 1))
    base = mg.nn.cross_entropy(zs, t).data
    assert mg.nn.cross_entropy([z + shift for z in zs], t).data == pytest.approx(base, rel=1e-9, abs=1e-9)


def test_logits_of_1000_do_not_overflow():
    # exp(1000) overflows a float: a naive softmax would fail here.
    a, b = mg.Value(1000.0), mg.Value(-1000.0)
    loss = mg.nn.cross_entropy([a, b], 1)
    loss.backward()
    assert loss.data == 2000.0 and (a.grad, b.grad) == (1.0, -1.0)
    assert [p.data for p in mg.nn.softmax([1000.0, -1000.0])] == [1.0, 0.0]
    assert [p.data for p in mg.nn.log_softmax([1000.0, -1000.0])] == [0.0, -2000.0]


def test_the_subtracted_max_is_a_constant_with_zero_gradient_up_to_rounding():
    logits = values([0.3, -1.2, 2.5])
    loss = mg.nn.cross_entropy(logits, 0)
    loss.backward()
    (top,) = [node for node in mg.engine.topological_order(loss) if node.label == "max"]
    assert top.op == "" and top.data == 2.5
    assert abs(top.grad) < 1e-15  # softmax is unchanged by a common shift, so ∂E/∂max = 0


def test_graph_nodes_are_spec_ops_with_readable_labels():
    logits = [mg.Value(2.0, "a"), mg.Value(1.0, "b"), mg.Value(0.1, "c")]
    loss = mg.nn.cross_entropy(logits, 0)
    nodes = mg.engine.topological_order(loss)
    assert {n.op for n in nodes} <= SPEC_OPS
    labels = {n.label for n in nodes}
    assert {"max", "a − max", "exp(a − max)", "Σ exp[:2]", "Σ exp", "log Σ exp", "cross-entropy"} <= labels
    assert labels <= {"a", "b", "c", "max", "cross-entropy", "log Σ exp", "Σ exp", "Σ exp[:2]"} | {
        f"{pre}{z} − max{post}" for z in "abc" for pre, post in (("", ""), ("exp(", ")"))
    }
    text = str(mg.explain(loss, logits[1]))
    assert re.search(r"∂\(exp\(b − max\)\)/∂\(b − max\) +\= exp\(b − max\) += 0\.3679", text)
    assert "b → b − max → exp(b − max) → Σ exp[:2] → Σ exp → log Σ exp → cross-entropy" in text
    assert "Σ exp" in mg.to_dot(loss) and "log Σ exp" in mg.to_text(loss)


def test_explain_of_cross_entropy_sums_softmax_minus_onehot():
    zs = [0.5, 1.5, -0.5]
    logits = values(zs)
    loss = mg.nn.cross_entropy(logits, 1)
    p = naive_softmax(zs)
    for i, z in enumerate(logits):
        explanation = mg.explain(loss, z)
        assert explanation.total == pytest.approx(p[i] - (i == 1), rel=1e-13)
        assert len(explanation.paths) == (2 if i == 1 else 1)  # the target also enters −(z_t − max)


def test_number_logits_become_labelled_leaves_and_a_batch_has_unique_leaf_labels():
    loss = mg.nn.cross_entropy([[1.0, 2.0], [0.5, -0.5]], [0, 1])
    assert loss.label == "cross-entropy"
    leaves = [n.label for n in mg.engine.topological_order(loss) if not n.parents and n.label]
    assert sorted(leaves) == ["max[0]", "max[1]", "z[0][0]", "z[0][1]", "z[1][0]", "z[1][1]"]


def test_to_sympy_of_cross_entropy_is_log_sum_exp_minus_the_target_logit():
    sympy = pytest.importorskip("sympy")
    z = [mg.Value(0.4, "z0"), mg.Value(-1.1, "z1"), mg.Value(2.0, "z2")]
    expr = mg.to_sympy(mg.nn.cross_entropy(z, 1))
    z0, z1, z2, top = sympy.symbols("z0 z1 z2 max")
    want = sympy.log(sympy.exp(z0) + sympy.exp(z1) + sympy.exp(z2)) - z1  # the max cancels
    at = {z0: 0.4, z1: -1.1, z2: 2.0}
    for m in (2.0, 0.0, -3.0):  # any value of the constant gives the same loss
        assert float(expr.subs({**at, top: m})) == pytest.approx(float(want.subs(at)), rel=1e-12)


def test_a_traced_cross_entropy_replays_the_rebuilt_numbers():
    # The max is read through float(), a guard: new logits retrace rather than reuse a stale max.
    model = mg.nn.MLP(2, [4, 3], seed=0)

    def loss(x1, x2):
        return mg.nn.cross_entropy(model([x1, x2]), 2)

    replay = mg.trace(loss, 0.5, -0.3)
    for x in ([2.0, 1.0], [-1.0, 0.25], [-1.0, 0.25]):
        got = replay(*x)
        model.zero_grad()
        inputs = values(x)
        want = loss(*inputs)
        want.backward()
        assert got.value == want.data and list(got.grads) == [v.grad for v in inputs]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: mg.nn.cross_entropy([1.0, 2.0], 2), ValueError, r"target = 2 is out of range for 2 classes"),
        (lambda: mg.nn.cross_entropy([1.0, 2.0], -1), ValueError, r"target = -1 is out of range"),
        (
            lambda: mg.nn.cross_entropy([1.0, 2.0], 1.0),
            TypeError,
            r"target must be a class index \(an int\), got float",
        ),
        (lambda: mg.nn.cross_entropy([1.0, 2.0], "0"), TypeError, r"got str '0'"),
        (lambda: mg.nn.cross_entropy([1.0, 2.0], None), TypeError, r"got NoneType"),
        (lambda: mg.nn.cross_entropy([], 0), ValueError, r"logits\) is empty"),
        (
            lambda: mg.nn.cross_entropy([[1.0], []], [0, 0]),
            ValueError,
            r"cross_entropy\(logits\)\[1\] is empty: there must be at least one class",
        ),
        (lambda: mg.nn.cross_entropy([[1.0, 2.0]], [0, 1]), ValueError, r"1 sample of logits but 2 targets"),
        (lambda: mg.nn.cross_entropy([[]], 0), ValueError, r"logits\)\[0\] is empty: there must be"),
        (lambda: mg.nn.cross_entropy([[]], [0]), ValueError, r"logits\)\[0\] is empty: there must be"),
        (lambda: mg.nn.cross_entropy([[1.0, 2.0], [1.0]], [0, 0]), ValueError, r"logits\[1\] has 1 classes"),
        (lambda: mg.nn.cross_entropy([[1.0, 2.0]], [5]), ValueError, r"target\[0\] = 5 is out of range"),
        (lambda: mg.nn.cross_entropy([[1.0, 2.0]], [0.0]), TypeError, r"target\[0\] must be a class index"),
        (
            lambda: mg.nn.cross_entropy([[1.0, 2.0]], 0),
            TypeError,
            r"a batch of 1 sample needs a list of 1 target, got int",
        ),
        (
            lambda: mg.nn.cross_entropy([1.0, 2.0], [0]),
            TypeError,
            r"one sample's logits take one class index",
        ),
        (lambda: mg.nn.cross_entropy([[1.0, 2.0], 3.0], [0, 0]), TypeError, r"logits\)\[1\] must be a list"),
        (lambda: mg.nn.cross_entropy([1.0, "2"], 0), TypeError, r"logits\)\[1\] must be a number or a Value"),
        (lambda: mg.nn.cross_entropy(mg.Value(1.0), 0), TypeError, r"must be a list of logits, got Value"),
        (lambda: mg.nn.cross_entropy("12", 0), TypeError, r"must be a list of logits, got str"),
        (lambda: mg.nn.softmax([]), ValueError, r"softmax\(values\) is empty"),
        (lambda: mg.nn.softmax(2.0), TypeError, r"softmax\(values\) must be a list of logits"),
        (lambda: mg.nn.log_softmax([None]), TypeError, r"log_softmax\(values\)\[0\] must be a number"),
    ],
)
def test_bad_logits_or_targets_raise_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_bool_is_the_number_it_stands_for_everywhere_in_a_graph():
    # one rule (docs/api.md): True is 1 and False is 0 as a Value, a logit and a class target
    assert mg.Value(True).data == 1.0 and mg.Value(False).data == 0.0
    for target in (True, False):
        assert (
            mg.nn.cross_entropy([0.0, 2.0], target).data == mg.nn.cross_entropy([0.0, 2.0], int(target)).data
        )
    by_bool = mg.nn.cross_entropy([[True, False], [False, True]], [True, False]).data
    assert by_bool == mg.nn.cross_entropy([[1.0, 0.0], [0.0, 1.0]], [1, 0]).data
    assert by_bool == pytest.approx(
        math.log(1 + math.e)
    )  # −log softmax: both samples pick their smaller logit
    assert mg.nn.mse_loss([True, False], [1.0, 0.0]).data == 0.0


def test_a_numpy_integer_is_a_class_index():
    np = pytest.importorskip("numpy")
    assert mg.nn.cross_entropy([1.0, 2.0], np.int64(1)).data == mg.nn.cross_entropy([1.0, 2.0], 1).data


# --- multi-class against torch -----------------------------------------------------------------------

EXTREME_LOGITS = [
    [2.0, 1.0, 0.1],
    [1000.0, -1000.0],
    [-1000.0, 1000.0, 0.0],
    [1000.0, 1000.0, 999.0],
    [-1000.0, -1000.5, -999.0],
    [700.0, 710.0, 720.0, 730.0],
    [0.0],
    [1e-12, -1e-12, 0.0],
    [50.0, -50.0, 25.0, -25.0, 0.0, 10.0],
]


def random_logits(seed: int, n: int = 30) -> list[list[float]]:
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        scale = rng.choice([1.0, 10.0, 100.0, 1000.0])
        rows.append([rng.uniform(-scale, scale) for _ in range(rng.randint(1, 7))])
    return rows


TORCH_LOGITS = EXTREME_LOGITS + random_logits(21)


def torch_grads(torch, zs, f):
    tz = torch.tensor(zs, dtype=torch.float64, requires_grad=True)
    out = f(tz)
    out.backward()
    return out.detach(), tz.grad.tolist()


def assert_close_to_torch(got, want):
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("zs", TORCH_LOGITS, ids=str)
def test_cross_entropy_matches_torch_for_every_target(zs):
    torch = pytest.importorskip("torch")
    for t in range(len(zs)):
        want, want_grad = torch_grads(
            torch, zs, lambda tz, t=t: torch.nn.functional.cross_entropy(tz, torch.tensor(t))
        )
        logits = values(zs)
        loss = mg.nn.cross_entropy(logits, t)
        loss.backward()
        assert_close_to_torch(loss.data, want.item())
        assert_close_to_torch([z.grad for z in logits], want_grad)


@pytest.mark.parametrize("zs", TORCH_LOGITS, ids=str)
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax_match_torch_values_and_vector_jacobian_products(zs, which):
    # Backpropagating Σ_j c_j·out_j checks the whole Jacobian against torch's, not one row.
    torch = pytest.importorskip("torch")
    weights = [math.cos(1.7 * j + 0.3) for j in range(len(zs))]
    c = torch.tensor(weights, dtype=torch.float64)
    _, want_grad = torch_grads(torch, zs, lambda tz: (getattr(torch, which)(tz, 0) * c).sum())
    out_values = getattr(torch, which)(torch.tensor(zs, dtype=torch.float64), 0).tolist()
    logits = values(zs)
    out = getattr(mg.nn, which)(logits)
    assert_close_to_torch([o.data for o in out], out_values)
    sum((c * o for c, o in zip(weights, out, strict=True)), mg.Value(0.0)).backward()
    assert_close_to_torch([z.grad for z in logits], want_grad)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_cross_entropy_matches_torch(seed):
    torch = pytest.importorskip("torch")
    import random

    rng = random.Random(seed)
    classes = rng.randint(2, 5)
    rows = [[rng.choice([rng.gauss(0, 3), 1000.0, -1000.0]) for _ in range(classes)] for _ in range(16)]
    targets = [rng.randrange(classes) for _ in rows]
    want, want_grad = torch_grads(
        torch, rows, lambda tz: torch.nn.functional.cross_entropy(tz, torch.tensor(targets))
    )
    logits = [values(row) for row in rows]
    loss = mg.nn.cross_entropy(logits, targets)
    loss.backward()
    assert_close_to_torch(loss.data, want.item())
    for row, grads in zip(logits, want_grad, strict=True):
        assert_close_to_torch([z.grad for z in row], grads)


@pytest.mark.parametrize(
    "zs", [[-math.inf, 0.0, 1.0], [math.nan, 0.0], [0.0, math.nan], [math.inf, 0.0]], ids=str
)
def test_infinite_and_nan_logits_give_torchs_loss(zs):
    torch = pytest.importorskip("torch")
    tz = torch.tensor(zs, dtype=torch.float64)
    for t in range(len(zs)):
        want = torch.nn.functional.cross_entropy(tz, torch.tensor(t)).item()
        got = mg.nn.cross_entropy(zs, t).data
        assert got == want or (math.isnan(got) and math.isnan(want))
