"""The numeric claims of docs/questions/isolating-each-weight.md (seed 002), asserted independently.

The page answers "why is dE/dwᵢ a good amount when several weights influence the error?" with the
two-layer network h = σ(w₁·x), ŷ = w₂·h, E = ½(ŷ − y)². Each claim is checked here against a
truth that does not come from microgradx: the closed-form derivatives, SymPy's symbolic second
derivatives, and plain-float evaluations of E.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg

X, Y = 1.5, 1.0  # the page's example
W1, W2 = 0.5, 0.5

weights = st.floats(-2.0, 2.0, allow_nan=False)


def error_float(w1: float, w2: float, x: float = X, y: float = Y) -> float:
    """E with plain floats: no graph, no microgradx."""
    h = 1.0 / (1.0 + math.exp(-w1 * x))
    return 0.5 * (w2 * h - y) ** 2


def error(w1, w2, x=X, y=Y):
    return 0.5 * (w2 * mg.sigmoid(w1 * x) - y) ** 2


def hand_gradient(w1: float, w2: float, x: float = X, y: float = Y) -> tuple[float, float]:
    """dE/dw₁ = (ŷ − y)·w₂·σ(1 − σ)·x and dE/dw₂ = (ŷ − y)·h, derived by hand."""
    h = 1.0 / (1.0 + math.exp(-w1 * x))
    residual = w2 * h - y
    return residual * w2 * h * (1 - h) * x, residual * h


def partials(w1: float, w2: float) -> tuple[float, float]:
    """dE/dw₁ and dE/dw₂ by microgradx's backward pass (the numbers the page's claims are about)."""
    a, b = mg.Value(w1, "w1"), mg.Value(w2, "w2")
    E = error(a, b)
    E.backward()
    return a.grad, b.grad


def autograd(w1: float, w2: float, x: float = X, y: float = Y) -> tuple[mg.Value, mg.Value, list, list]:
    """The gradient (as Values) and the Hessian rows by microgradx's create_graph."""
    a, b = mg.Value(w1, "w1"), mg.Value(w2, "w2")
    g1, g2 = mg.grad(error(a, b, x, y), [a, b], create_graph=True)
    return g1, g2, mg.grad(g1, [a, b]), mg.grad(g2, [a, b])


@pytest.fixture(scope="module")
def symbolic():
    sympy = pytest.importorskip("sympy")
    w1, w2, x, y = sympy.symbols("w1 w2 x y")
    E = sympy.Rational(1, 2) * (w2 / (1 + sympy.exp(-w1 * x)) - y) ** 2
    names = (w1, w2, x, y)
    return {
        "d1": sympy.lambdify(names, sympy.diff(E, w1)),
        "d2": sympy.lambdify(names, sympy.diff(E, w2)),
        "d11": sympy.lambdify(names, sympy.diff(E, w1, 2)),
        "d12": sympy.lambdify(names, sympy.diff(E, w1, w2)),
        "d22": sympy.lambdify(names, sympy.diff(E, w2, 2)),
        "tied": sympy.lambdify((w1, x, y), sympy.diff(E.subs(w2, w1), w1)),
    }


# --- dE/dw₁ carries w₂ ----------------------------------------------------------------------------


def test_the_path_of_w1_has_the_edge_dyhat_dh_equal_to_w2():
    a, b = mg.Value(W1, "w1"), mg.Value(W2, "w2")
    z = a * mg.Value(X, "x")
    z.label = "z"
    h = z.sigmoid()
    h.label = "h"
    yhat = b * h
    yhat.label = "ŷ"
    E = 0.5 * (yhat - mg.Value(Y, "y")) ** 2
    explanation = mg.explain(E, a)
    [path] = explanation.paths
    carried = [edge for edge in path.edges if edge.parent is h and edge.child is yhat]
    assert [edge.formula for edge in carried] == ["w2"] and carried[0].value == W2
    assert explanation.total == pytest.approx(hand_gradient(W1, W2)[0], rel=1e-12)
    # And with w₂ = 0 the first weight has no effect at all, however wrong ŷ is.
    a0 = mg.Value(W1)
    assert mg.grad(error(a0, 0.0), [a0])[0] == 0.0


@settings(max_examples=50, deadline=None)
@given(weights, weights)
def test_autograd_is_the_hand_derivation(w1, w2):
    g1, g2, _, _ = autograd(w1, w2)
    h1, h2 = hand_gradient(w1, w2)
    assert g1.data == pytest.approx(h1, rel=1e-12, abs=1e-14)
    assert g2.data == pytest.approx(h2, rel=1e-12, abs=1e-14)


# --- first order: nudges add up ---------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(weights, weights, st.floats(-1.0, 1.0), st.floats(-1.0, 1.0))
def test_a_nudge_changes_E_by_the_gradient_dot_the_nudge_to_second_order(w1, w2, u1, u2):
    g1, g2 = partials(w1, w2)
    base = error_float(w1, w2)
    # ΔE − Σ gᵢδᵢ = O(|δ|²): with |∂²E| ≤ 4 on this box, the gap is below 2·|δ|² (and below 1e-12 slack).
    for scale in (1e-1, 1e-2, 1e-3):
        d1, d2 = scale * u1, scale * u2
        gap = error_float(w1 + d1, w2 + d2) - base - (g1 * d1 + g2 * d2)
        assert abs(gap) <= 2.0 * (d1 * d1 + d2 * d2) + 1e-12
        alone = error_float(w1 + d1, w2) - base - g1 * d1  # w₁ alone
        assert abs(alone) <= 2.0 * d1 * d1 + 1e-12


def test_the_page_gap_shrinks_a_hundredfold_per_tenfold_smaller_step():
    g1, _ = partials(W1, W2)
    base = error_float(W1, W2)
    gaps = [error_float(W1 + d, W2) - base - g1 * d for d in (0.1, 0.01, 0.001)]
    for big, small in itertools.pairwise(gaps):
        assert 80 < big / small < 120


# --- second order: the cross derivative ---------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(weights, weights, st.floats(0.2, 2.0), st.floats(-1.0, 1.0))
def test_the_hessian_from_create_graph_is_sympys(symbolic, w1, w2, x, y):
    g1, g2, row1, row2 = autograd(w1, w2, x, y)
    point = (w1, w2, x, y)
    assert g1.data == pytest.approx(symbolic["d1"](*point), rel=1e-9, abs=1e-12)
    assert g2.data == pytest.approx(symbolic["d2"](*point), rel=1e-9, abs=1e-12)
    assert row1[0] == pytest.approx(symbolic["d11"](*point), rel=1e-9, abs=1e-12)
    assert row1[1] == pytest.approx(symbolic["d12"](*point), rel=1e-9, abs=1e-12)
    assert row2[0] == pytest.approx(symbolic["d12"](*point), rel=1e-9, abs=1e-12)  # symmetric
    assert row2[1] == pytest.approx(symbolic["d22"](*point), rel=1e-9, abs=1e-12)


def test_the_cross_derivative_is_how_much_moving_w2_changes_w1s_gradient():
    _, _, row1, _ = autograd(W1, W2)
    h = 1e-5
    central = (hand_gradient(W1, W2 + h)[0] - hand_gradient(W1, W2 - h)[0]) / (2 * h)
    assert row1[1] == pytest.approx(central, rel=1e-7)
    assert row1[1] < -0.1  # the page's point: clearly not 0, so the weights interact


def test_the_seeds_own_example_has_no_cross_derivative():
    w1, w2, x = mg.Value(0.5, "w1"), mg.Value(-0.2, "w2"), mg.Value(3.0, "x")
    g1, g2 = mg.grad(w1 * x + w2 * x**2, [w1, w2], create_graph=True)
    assert mg.grad(g1, [w2]) == [0.0] and mg.grad(g2, [w1]) == [0.0]


@pytest.mark.parametrize("lr", [1.0, 0.1, 0.01])
def test_the_second_order_terms_close_the_gap_of_a_descent_step(lr):
    g1, g2, (h11, h12), (_, h22) = autograd(W1, W2)
    d1, d2 = -lr * g1.data, -lr * g2.data
    change = error_float(W1 + d1, W2 + d2) - error_float(W1, W2)
    first = g1.data * d1 + g2.data * d2
    second = first + 0.5 * (h11 * d1 * d1 + 2 * h12 * d1 * d2 + h22 * d2 * d2)
    assert abs(change - second) < abs(change - first) / 8
    assert abs(change - second) <= (d1 * d1 + d2 * d2) ** 1.5  # third order left


def test_both_at_once_minus_each_alone_tends_to_the_cross_term():
    _, _, (_, h12), _ = autograd(W1, W2)
    base = error_float(W1, W2)
    ratios = []
    for d in (1e-1, 1e-2, 1e-3):
        d1, d2 = 0.24 * d, d  # the direction of the page's descent step
        both = error_float(W1 + d1, W2 + d2)
        interaction = both - error_float(W1 + d1, W2) - error_float(W1, W2 + d2) + base
        ratios.append(interaction / (h12 * d1 * d2))
    assert abs(ratios[-1] - 1) < 0.01 and abs(ratios[-1] - 1) < abs(ratios[0] - 1)


# --- a weight used twice ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(weights)
def test_a_weight_used_in_both_layers_gets_the_sum_of_both_partials(symbolic, w):
    tied = mg.Value(w, "w")
    total = mg.grad(error(tied, tied), [tied])[0]
    h1, h2 = hand_gradient(w, w)
    assert total == pytest.approx(h1 + h2, rel=1e-12, abs=1e-14)
    assert total == pytest.approx(symbolic["tied"](w, X, Y), rel=1e-9, abs=1e-12)


def test_explain_finds_the_two_uses_as_two_paths():
    w = mg.Value(W1, "w")
    explanation = mg.explain(error(w, w), w)
    assert len(explanation.paths) == 2
    products = sorted(path.product for path in explanation.paths)
    assert products == pytest.approx(sorted(hand_gradient(W1, W1)), rel=1e-12)


# --- steepest descent ---------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(weights, weights)
def test_of_all_equal_length_steps_minus_the_gradient_lowers_E_most(w1, w2):
    g1, g2 = partials(w1, w2)
    norm = math.hypot(g1, g2)
    if norm < 1e-3:
        return  # (a flat spot: every direction is as good)
    length, n = 1e-4, 3600
    base = error_float(w1, w2)
    changes = []
    for k in range(n):
        angle = 2 * math.pi * k / n
        changes.append(error_float(w1 + length * math.cos(angle), w2 + length * math.sin(angle)) - base)
    best = 2 * math.pi * min(range(n), key=changes.__getitem__) / n
    steepest = math.atan2(-g2, -g1) % (2 * math.pi)
    off = abs((best - steepest + math.pi) % (2 * math.pi) - math.pi)
    assert math.degrees(off) < 1.0
    assert min(changes) == pytest.approx(-length * norm, rel=0.05)


def test_on_the_page_only_w2_is_second_best_and_equal_amounts_lose():
    g1, g2 = partials(W1, W2)
    norm, length = math.hypot(g1, g2), 0.01
    base = error_float(W1, W2)

    def change(u1: float, u2: float) -> float:
        return error_float(W1 + length * u1, W2 + length * u2) - base

    steepest = change(-g1 / norm, -g2 / norm)
    only_w2 = change(0.0, 1.0)
    equal = change(0.5**0.5, 0.5**0.5)
    only_w1 = change(1.0, 0.0)
    assert steepest < only_w2 < equal < only_w1 < 0
    assert g1 / g2 == pytest.approx(0.24, abs=0.01)  # "dE/dw₁ is about a quarter of dE/dw₂"
