"""gradcheck and compare: the seed questions end to end, the report's contract, and clear errors."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.check import TINY, CheckReport, CheckRow


def sig(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


# --- seed 000: Grokking's single weight, E = (input·weight − goal)² ------------------------------


def grokking(input, weight, goal):
    pred = input * weight
    return (pred - goal) ** 2


def grokking_hand(input, weight, goal):
    return 2.0 * (input * weight - goal) * input  # (pred − goal)·input, times 2 from the square


def grokking_at(input: float, error: float, weight: float = 0.5) -> dict[str, float]:
    """A point where pred − goal equals `error`, whatever the input."""
    return {"input": input, "weight": weight, "goal": input * weight - error}


@pytest.mark.parametrize("input", [-3.0, -0.5, 0.0, 0.5, 2.0, 10.0])
def test_grokking_hand_formula_agrees_with_autograd_and_numeric(input):
    report = mg.compare(grokking, {"weight": grokking_hand}, grokking_at(input, error=0.3))
    assert report, str(report)
    row = report.rows[1]
    assert row.name == "weight" and row.hand is not None and row.ok


def test_grokking_zero_input_stops_the_update():
    row = mg.gradcheck(grokking, grokking_at(0.0, error=0.7)).rows[1]
    assert row.autograd == 0.0 and abs(row.numeric) < 1e-9


def test_grokking_negative_input_reverses_the_update():
    plus = mg.gradcheck(grokking, grokking_at(1.5, error=0.4)).rows[1]
    minus = mg.gradcheck(grokking, grokking_at(-1.5, error=0.4)).rows[1]
    assert plus.autograd > 0 > minus.autograd
    assert minus.autograd == pytest.approx(-plus.autograd, rel=1e-12)
    assert minus.numeric == pytest.approx(-plus.numeric, rel=1e-6)


@pytest.mark.parametrize("scale", [2.0, 10.0, 100.0])
def test_grokking_update_scales_with_the_input(scale):
    small = mg.gradcheck(grokking, grokking_at(1.0, error=0.25)).rows[1]
    large = mg.gradcheck(grokking, grokking_at(scale, error=0.25)).rows[1]
    assert large.autograd == pytest.approx(scale * small.autograd, rel=1e-12)
    assert large.numeric == pytest.approx(scale * small.numeric, rel=1e-6)


# --- seed 001: the sigmoid neuron E = ½(σ(w·x) − y)², x ∈ {0, 1} ---------------------------------


def neuron(w, x, y):
    z = w * x
    z.label = "z"
    yhat = z.sigmoid()
    yhat.label = "ŷ"
    return 0.5 * (yhat - y) ** 2


def neuron_hand(w, x, y):
    s = sig(w * x)
    return (s - y) * s * (1.0 - s) * x


def neuron_hand_without_x(w, x, y):
    s = sig(w * x)
    return (s - y) * s * (1.0 - s)


@pytest.mark.parametrize("x", [0.0, 1.0])
@pytest.mark.parametrize("w", [0.0, 0.3, 1.0])
def test_sigmoid_neuron_right_hand_formula_is_ok(w, x):
    report = mg.compare(neuron, {"w": neuron_hand}, {"w": w, "x": x, "y": x})
    assert report, str(report)
    assert report.rows[0].hand == pytest.approx(report.rows[0].autograd, rel=1e-12, abs=1e-15)


def test_sigmoid_neuron_dropping_the_x_factor_is_caught_at_x_2():
    report = mg.compare(neuron, {"w": neuron_hand_without_x}, {"w": 0.5, "x": 2.0, "y": 1.0})
    assert not report
    row = report.rows[0]
    assert not row.ok
    gap = abs(neuron_hand(0.5, 2.0, 1.0) - neuron_hand_without_x(0.5, 2.0, 1.0))
    assert row.abs_err == pytest.approx(gap, rel=1e-6)
    assert f"hand differs from autograd by {mg.formatting.fmt(gap, 2)}" in row.note
    assert "NOT OK" in str(report) and "hand differs from autograd" in str(report)
    assert all(r.ok for r in report.rows[1:])  # x and y have no hand formula: plain gradcheck


def test_sigmoid_neuron_wrong_formula_at_x_1_is_indistinguishable():
    # At x = 1 the dropped factor is 1: the check cannot (and must not) flag it.
    assert mg.compare(neuron, {"w": neuron_hand_without_x}, {"w": 0.5, "x": 1.0, "y": 1.0})


# --- seed 002: E = w1·x + w2·x² isolates each weight --------------------------------------------


def two_weights(w1, w2, x):
    return w1 * x + w2 * x**2


@pytest.mark.parametrize("w2", [-3.0, 0.0, 5.0])
def test_each_weight_derivative_is_isolated(w2):
    hand = {"w1": lambda w1, w2, x: x, "w2": lambda w1, w2, x: x * x}
    report = mg.compare(two_weights, hand, {"w1": 0.7, "w2": w2, "x": 1.5})
    assert report, str(report)
    assert report.rows[0].autograd == 1.5  # dE/dw1 = x, whatever w2 is
    assert report.rows[1].autograd == 2.25  # dE/dw2 = x², whatever w1 is


# --- the report's contract -----------------------------------------------------------------------


def test_rows_follow_the_spec_definitions():
    report = mg.gradcheck(lambda a, b: a * b.exp() + a.sin(), {"a": 0.3, "b": -1.2}, rtol=1e-5, atol=1e-8)
    assert isinstance(report, CheckReport) and report.ok and bool(report)
    assert [row.name for row in report.rows] == ["a", "b"]
    for row in report.rows:
        assert isinstance(row, CheckRow)
        assert row.hand is None
        assert row.abs_err == abs(row.autograd - row.numeric)
        assert row.rel_err == row.abs_err / max(abs(row.numeric), TINY)
        assert row.ok == (row.abs_err <= 1e-8 + 1e-5 * abs(row.numeric))
    # independent truth: the closed form
    assert report.rows[0].numeric == pytest.approx(math.exp(-1.2) + math.cos(0.3), rel=1e-8)
    assert report.rows[1].numeric == pytest.approx(0.3 * math.exp(-1.2), rel=1e-8)


def test_abs_err_is_the_largest_gap_between_the_three_columns():
    report = mg.compare(lambda x: x * x, {"x": lambda x: 2 * x + 0.01}, {"x": 3.0})
    row = report.rows[0]
    assert row.abs_err == max(
        abs(row.autograd - row.numeric), abs(row.autograd - row.hand), abs(row.numeric - row.hand)
    )
    assert row.abs_err == pytest.approx(0.01, rel=1e-6)


def test_list_point_passes_inputs_positionally_named_x0_x1():
    seen = []

    def f(a, b):
        seen.append((a.data, b.data))
        return a / b

    report = mg.gradcheck(f, [1.0, 4.0])
    assert report and [row.name for row in report.rows] == ["x0", "x1"]
    assert seen[0] == (1.0, 4.0)
    assert report.rows[1].autograd == pytest.approx(-1.0 / 16.0)
    hand = mg.compare(lambda a, b: a / b, {"x1": lambda a, b: -a / b**2}, [1.0, 4.0])
    assert hand and hand.rows[1].hand == -1.0 / 16.0


def test_a_kink_is_reported_as_autograd_differing_from_numeric():
    report = mg.gradcheck(lambda x: x.relu(), {"x": 0.0})
    row = report.rows[0]
    assert not report and row.autograd == 0.0 and row.numeric == pytest.approx(0.5)
    assert "autograd differs from numeric by 0.5" in row.note


def test_step_is_scaled_to_the_input_magnitude():
    # With an unscaled step of 1e-6 at x = 1e8, rounding would make the difference quotient ~1% off.
    report = mg.gradcheck(lambda x: x * x, {"x": 1e8})
    assert report, str(report)
    assert report.rows[0].numeric == pytest.approx(2e8, rel=1e-9)


def test_domain_error_near_the_point_gives_nan_and_says_why():
    report = mg.gradcheck(lambda x: x.sqrt(), {"x": 0.0})
    row = report.rows[0]
    assert not report and math.isnan(row.numeric) and row.autograd == math.inf
    assert "undefined" in row.note and "sqrt" in row.note


def test_str_is_a_readable_table():
    text = str(mg.compare(neuron, {"w": neuron_hand}, {"w": 0.5, "x": 1.0, "y": 1.0}))
    lines = text.splitlines()
    assert lines[0] == "compare at w = 0.5, x = 1, y = 1: all 3 inputs ok"
    header = next(line for line in lines if line.startswith("input"))
    for column in ("autograd", "numeric", "hand", "abs err", "rel err"):
        assert column in header
    assert any(line.startswith("w ") and line.endswith("ok") for line in lines)
    assert any(line.startswith("x ") and "—" in line for line in lines)  # no hand formula for x


def test_to_dict_is_json_ready_even_with_non_finite_numbers():
    report = mg.gradcheck(lambda x: x.sqrt(), {"x": 0.0})
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    row = data["rows"][0]
    assert row["autograd"] == "inf" and row["numeric"] == "nan" and row["hand"] is None
    assert data["ok"] is False and data["at"] == {"x": 0.0}
    good = mg.compare(neuron, {"w": neuron_hand}, {"w": 0.5, "x": 1.0, "y": 1.0}).to_dict()
    assert json.loads(json.dumps(good, allow_nan=False))["rows"][0]["hand"] == pytest.approx(
        neuron_hand(0.5, 1.0, 1.0)
    )


def test_hand_formulas_receive_plain_floats():
    kinds = []

    def hand(x):
        kinds.append(type(x))
        return 2 * x

    mg.compare(lambda x: x * x, {"x": hand}, {"x": 1.0})
    assert kinds and set(kinds) == {float}  # at the point and at the random points near it


# --- errors that teach ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda: mg.compare(grokking, {"wieght": grokking_hand}, grokking_at(1, 0.1)),
            ValueError,
            "'wieght'",
        ),
        (lambda: mg.compare(grokking, {"weight": 3.0}, grokking_at(1, 0.1)), TypeError, "hand['weight']"),
        (lambda: mg.compare(grokking, {"weight": lambda **k: "2"}, grokking_at(1, 0.1)), TypeError, "number"),
        (lambda: mg.compare(grokking, [grokking_hand], grokking_at(1, 0.1)), TypeError, "dict"),
        (lambda: mg.gradcheck(grokking, {"input": "1", "weight": 1, "goal": 0}), TypeError, "at['input']"),
        (lambda: mg.gradcheck(grokking, {"input": True, "weight": 1, "goal": 0}), TypeError, "bool"),
        (lambda: mg.gradcheck(lambda x: x, {"x": math.nan}), ValueError, "finite"),
        (lambda: mg.gradcheck(lambda x: x, {}), ValueError, "empty"),
        (lambda: mg.gradcheck(lambda x: x, 3.0), TypeError, "dict"),
        (lambda: mg.gradcheck(lambda x: 2.0, {"x": 1.0}), TypeError, "must return a Value"),
        (lambda: mg.gradcheck("f", {"x": 1.0}), TypeError, "function"),
        (lambda: mg.gradcheck(lambda x: x, {"x": 1.0}, eps=0.0), ValueError, "eps"),
        (lambda: mg.gradcheck(lambda x: x, {"x": 1.0}, rtol=-1.0), ValueError, "rtol"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


# --- property: smooth functions pass at random points ---------------------------------------------

SMOOTH = [
    lambda a, b: a * b + a.sin(),
    lambda a, b: (a - b).tanh() * a,
    lambda a, b: (a * a + b * b + 1.0).sqrt(),
    lambda a, b: a.sigmoid() / (1.0 + b * b),
    lambda a, b: (a * 0.5).exp() - b.cos(),
]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(SMOOTH),
    st.floats(-3, 3, allow_nan=False),
    st.floats(-3, 3, allow_nan=False),
)
def test_smooth_functions_pass_gradcheck_at_random_points(f, a, b):
    report = mg.gradcheck(f, {"a": a, "b": b}, rtol=1e-5, atol=1e-7)
    assert report, str(report)


def product_error(w1, w2):
    return (w1 * w2 - 1.0) ** 2


@pytest.mark.parametrize(
    ("hand", "at", "words"),
    [
        (
            lambda w1: 2 * w1,
            {"w1": 0.5, "w2": 2.0},
            "hand['w1'] does not take the input w2: it is called with every input",
        ),
        (
            lambda w1, w2, z: z,
            {"w1": 0.5, "w2": 2.0},
            "hand['w1'] cannot be called with the inputs by name (w1, w2); it needs z",
        ),
    ],
)
def test_a_hand_function_not_taking_every_input_is_an_error_naming_the_parameter(hand, at, words):
    with pytest.raises(TypeError) as caught:
        mg.compare(product_error, {"w1": hand}, at)
    assert str(caught.value).startswith(words)


def test_a_hand_function_taking_the_rest_by_keyword_is_fine():
    def by_hand(w1, **rest):  # d/dw1 (w1·w2 − 1)² = 2(w1·w2 − 1)·w2
        return 2 * (w1 * rest["w2"] - 1) * rest["w2"]

    assert mg.compare(product_error, {"w1": by_hand}, {"w1": 0.5, "w2": 2.0})


def test_f_not_taking_every_input_is_an_error_naming_it():
    with pytest.raises(TypeError, match=r"^f does not take the input x: "):
        mg.gradcheck(lambda w: w * 2, {"w": 1.0, "x": 3.0})


def test_positional_inputs_and_a_hand_function_of_too_few_say_so():
    with pytest.raises(
        TypeError, match=r"hand\['x0'\] cannot be called with the 2 inputs in order \(x0, x1\)"
    ):
        mg.compare(product_error, {"x0": lambda a: a}, [0.5, 2.0])
