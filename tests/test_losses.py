"""Losses in microgradx.nn: values and gradients against closed forms, finite differences and torch."""

from __future__ import annotations

import math

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
    # margins 1 − y·s: 0.5, −1 (inactive), 4, 1.25
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
    p = mg.Value(1e-40)  # log p ≈ −92.1 > −100: not clamped
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
