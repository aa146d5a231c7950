"""Hand derivations as learners write them: formula strings and SymPy in `compare`, and the diagnosis.

The truth for every table below is the seed's hand derivation: for the neuron E = ½(σ(w·x) − y)²,
dE/dw = (ŷ − y)·ŷ·(1 − ŷ)·x; for the two-layer network h = σ(w1·x), ŷ = w2·h, E = ½(ŷ − y)²,
dE/dw1 = (ŷ − y)·w2·h·(1 − h)·x. A wrong derivation is the right one with one thing changed, and
each row says what the diagnosis must name. SymPy's own derivative checks the correct ones.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.expr import ParseError


def labelled(v: mg.Value, label: str) -> mg.Value:
    v.label = label
    return v


def neuron(w, x, y):
    z = labelled(w * x, "z")
    yhat = labelled(z.sigmoid(), "ŷ")
    return labelled(0.5 * (yhat - y) ** 2, "E")


def two_layer(w1, w2, x, y):
    z = labelled(w1 * x, "z")
    h = labelled(z.sigmoid(), "h")
    yhat = labelled(w2 * h, "ŷ")
    return labelled(0.5 * (yhat - y) ** 2, "E")


def two_hidden(v1, v2, x, y):
    """A diamond: x reaches ŷ through h1 and through h2."""
    h1 = labelled(labelled(0.3 * x, "z1").sigmoid(), "h1")
    h2 = labelled(labelled(-0.8 * x, "z2").tanh(), "h2")
    yhat = labelled(v1 * h1 + v2 * h2, "ŷ")
    return labelled(0.5 * (yhat - y) ** 2, "E")


NEURON_AT = {"w": 0.5, "x": 2.0, "y": 1.0}
TWO_LAYER_AT = {"w1": 0.4, "w2": -0.7, "x": 1.5, "y": 0.2}
TWO_HIDDEN_AT = {"v1": 0.5, "v2": 1.2, "x": 0.7, "y": 1.0}
SEED = "(ŷ - y)*ŷ*(1 - ŷ)*x"


def diagnosis_of(f, hand, at, name):
    report = mg.compare(f, hand, at)
    return next(row for row in report.rows if row.name == name).diagnosis


# --- the tables of wrong derivations ------------------------------------------------------------------

NEURON_WRONG = [
    # (hand dE/dw, relation, factor named)
    ("(ŷ - y)*ŷ*(1 - ŷ)", "missing factor", "∂z/∂w = x"),  # the x dropped
    ("ŷ*(1 - ŷ)*x", "missing factor", "∂E/∂ŷ = ŷ − y"),  # the (ŷ − y) dropped
    ("(ŷ - y)*(1 - ŷ)*x", "missing factor", "σ(z) of ∂ŷ/∂z = σ(z)·(1−σ(z))"),  # the ŷ dropped
    ("(ŷ - y)*ŷ*x", "missing factor", "(1−σ(z)) of ∂ŷ/∂z = σ(z)·(1−σ(z))"),  # a σ where σ(1−σ) belongs
    ("(ŷ - y)*x", "missing factor", "∂ŷ/∂z = σ(z)·(1−σ(z))"),  # the sigmoid's derivative dropped
    ("2*(ŷ - y)*ŷ*(1 - ŷ)*x", "missing factor", "∂E/∂((ŷ − y)²) = 0.5"),  # the ½ in front dropped
    ("0.5*(ŷ - y)*ŷ*(1 - ŷ)*x", "missing factor", "2 from the square in ∂((ŷ − y)²)/∂(ŷ − y) = 2·(ŷ − y)"),
    ("(ŷ - y)*ŷ*(1 - ŷ)*x*x", "extra factor", "∂z/∂w = x"),
    ("(y - ŷ)*ŷ*(1 - ŷ)*x", "constant", "-1"),  # a sign flipped
    ("3*(ŷ - y)*ŷ*(1 - ŷ)*x", "constant", "0.333333"),
    ("(ŷ - y)*ŷ*(1 - ŷ)*x + 0.01", "none", ""),
    ("(ŷ - y)*ŷ*(1 - ŷ)*x*w", "none", ""),  # a factor that is on no path: no guess
]


@pytest.mark.parametrize(("hand", "relation", "factor"), NEURON_WRONG)
def test_a_wrong_derivation_of_the_seed_neuron_is_diagnosed(hand, relation, factor):
    d = diagnosis_of(neuron, {"w": hand}, NEURON_AT, "w")
    assert d is not None
    assert (d.relation, d.factor) == (relation, factor), d.text
    assert not d.coincidence
    if relation == "none":
        assert d.text.startswith("no simple relation found")
        assert d.text.endswith(
            "mg.explain(output, w) writes out the chain rule factor by factor to compare with yours"
        )


def test_a_flipped_sign_is_said_in_words():
    d = diagnosis_of(neuron, {"w": "(y - ŷ)*ŷ*(1 - ŷ)*x"}, NEURON_AT, "w")
    assert "a sign is flipped" in d.text
    d = diagnosis_of(neuron, {"w": "-(ŷ - y)*ŷ*(1 - ŷ)"}, NEURON_AT, "w")
    assert d.factor == "∂z/∂w = x" and "and a sign is flipped" in d.text
    d = diagnosis_of(neuron, {"y": "ŷ - y"}, NEURON_AT, "y")  # dE/dy = −(ŷ − y)
    assert d.factor == "∂(ŷ − y)/∂y = -1" and "the sign is flipped" in d.text


TWO_LAYER_WRONG = [
    ("(ŷ - y)*h*(1 - h)*x", "missing factor", "∂ŷ/∂h = w2"),
    ("w2*h*(1 - h)*x", "missing factor", "∂E/∂ŷ = ŷ − y"),
    ("(ŷ - y)*w2*(1 - h)*x", "missing factor", "σ(z) of ∂h/∂z = σ(z)·(1−σ(z))"),
    ("(ŷ - y)*w2*h*x", "missing factor", "(1−σ(z)) of ∂h/∂z = σ(z)·(1−σ(z))"),
    ("(ŷ - y)*w2*h*(1 - h)", "missing factor", "∂z/∂w1 = x"),
    ("(ŷ - y)*w2*x", "missing factor", "∂h/∂z = σ(z)·(1−σ(z))"),
    ("(ŷ - y)*w2*w2*h*(1 - h)*x", "extra factor", "∂ŷ/∂h = w2"),
    ("-(ŷ - y)*w2*h*(1 - h)*x", "constant", "-1"),
]


@pytest.mark.parametrize(("hand", "relation", "factor"), TWO_LAYER_WRONG)
def test_a_wrong_derivation_of_the_two_layer_network_is_diagnosed(hand, relation, factor):
    d = diagnosis_of(two_layer, {"w1": hand}, TWO_LAYER_AT, "w1")
    assert (d.relation, d.factor) == (relation, factor), d.text


@pytest.mark.parametrize(
    ("hand", "have", "missing"),
    [
        ("(ŷ - y)*v1*h1*(1 - h1)*0.3", "h1", "h2"),
        ("(ŷ - y)*v2*(1 - h2**2)*(-0.8)", "h2", "h1"),
    ],
)
def test_one_path_of_a_diamond_is_named_and_so_is_the_missing_one(hand, have, missing):
    d = diagnosis_of(two_hidden, {"x": hand}, TWO_HIDDEN_AT, "x")
    assert d.relation == "paths", d.text
    assert d.text.startswith("you have 1 of the 2 paths: the one through ")
    through, _, rest = d.text.partition("; missing: ")
    assert have in through.split(", ") and missing not in through
    assert missing in rest


CORRECT = [
    (neuron, {"w": SEED, "x": "(ŷ - y)*ŷ*(1 - ŷ)*w", "y": "y - ŷ"}, NEURON_AT),
    (two_layer, {"w1": "(ŷ - y)*w2*h*(1 - h)*x", "w2": "(ŷ - y)*h"}, TWO_LAYER_AT),
    (
        two_hidden,
        {"x": "(ŷ - y)*(v1*h1*(1 - h1)*0.3 + v2*(1 - h2**2)*(-0.8))", "v1": "(ŷ - y)*h1"},
        TWO_HIDDEN_AT,
    ),
]


@pytest.mark.parametrize(("f", "hand", "at"), CORRECT)
def test_a_correct_derivation_gets_no_diagnosis(f, hand, at):
    report = mg.compare(f, hand, at)
    assert report, str(report)
    assert all(row.diagnosis is None and row.note == "" for row in report.rows)
    assert "by coincidence" not in str(report) and "only here" not in str(report)


@settings(max_examples=30, deadline=None)
@given(
    w=st.floats(-2.0, 2.0),
    x=st.floats(-2.0, 2.0),
    y=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
)
def test_the_seed_derivation_is_right_and_the_one_without_x_is_found_anywhere(w, x, y, seed):
    at = {"w": w, "x": x, "y": y}
    right = mg.compare(neuron, {"w": SEED}, at, seed=seed).rows[0]
    assert right.diagnosis is None
    wrong = mg.compare(neuron, {"w": "(ŷ - y)*ŷ*(1 - ŷ)"}, at, seed=seed).rows[0]
    if wrong.diagnosis is None:  # only when hand and autograd agree at every point checked
        pytest.fail(f"no diagnosis at {at}")
    assert wrong.diagnosis.factor == "∂z/∂w = x", wrong.diagnosis.text


# --- coincidence, zeros and the domain ----------------------------------------------------------------


def test_a_formula_that_agrees_only_at_the_point_is_reported_as_a_coincidence():
    # at x = 1 the formula without x gives the same number: the row is ok, the report says why not
    report = mg.compare(neuron, {"w": "(ŷ - y)*ŷ*(1 - ŷ)"}, {"w": 0.5, "x": 1.0, "y": 1.0})
    row = report.rows[0]
    assert row.ok and report  # at the point, every column agrees (SPEC §3)
    assert row.diagnosis.coincidence and row.diagnosis.factor == "∂z/∂w = x"
    assert row.note.startswith("agrees here by coincidence: at w = ")
    text = str(report)
    assert "ok, but agrees here by coincidence" in text
    assert text.splitlines()[0].endswith("all 3 inputs ok, but 1 hand formula agrees only here")


def test_a_zero_derivative_at_the_point_still_gets_its_factor():
    # seed 001's other sample, x = 0: dE/dw = 0 there, the formula without x is not
    d = diagnosis_of(neuron, {"w": "(ŷ - y)*ŷ*(1 - ŷ)"}, {"w": 0.5, "x": 0.0, "y": 0.0}, "w")
    assert d.factor == "∂z/∂w = x" and d.points[0][1] == 0.0 and d.points[0][2] != 0.0


def test_points_outside_the_domain_are_skipped():
    def f(w, x):
        return labelled(labelled(w.log(), "u") * x, "E")

    d = diagnosis_of(f, {"w": "1/w"}, {"w": 0.1, "x": 3.0}, "w")  # the x dropped; log(w ≤ 0) raises
    assert d.factor == "∂E/∂u = x", d.text
    assert all(point["w"] > 0 for point, _, _ in d.points) and len(d.points) >= 4


def test_a_factor_that_is_always_one_is_never_named():
    # ∂(a + b)/∂a = 1: dropping it changes nothing, so a wrong formula is never blamed on it
    def f(a, b):
        return labelled((a + b) ** 2, "E")

    d = diagnosis_of(f, {"a": "(a + b)"}, {"a": 0.3, "b": 0.9}, "a")
    assert d.factor == "2 from the square in ∂E/∂(a + b) = 2·(a + b)", d.text
    assert mg.compare(f, {"a": "2*(a + b)"}, {"a": 0.3, "b": 0.9}).rows[0].diagnosis is None


# --- the three ways of writing a derivative, one code path --------------------------------------------


def test_a_callable_a_formula_and_a_sympy_expression_give_the_same_report():
    sympy = pytest.importorskip("sympy")
    w, x, y = sympy.symbols("w x y")
    s = 1 / (1 + sympy.exp(-w * x))
    E = sympy.Rational(1, 2) * (s - y) ** 2
    by_sympy = sympy.diff(E, w) / x  # SymPy's own derivative, with the factor x taken out
    yhat = sympy.Symbol("ŷ")

    def by_function(w, x, y):
        t = 1 / (1 + math.exp(-w * x))
        return (t - y) * t * (1 - t)

    forms = [by_function, "(ŷ - y)*ŷ*(1 - ŷ)", by_sympy, (yhat - y) * yhat * (1 - yhat)]
    reports = [mg.compare(neuron, {"w": form}, NEURON_AT) for form in forms]
    hands = [r.rows[0].hand for r in reports]
    assert hands == pytest.approx([hands[0]] * 4, rel=1e-12)
    assert {r.rows[0].diagnosis.factor for r in reports} == {"∂z/∂w = x"}
    assert mg.compare(neuron, {"w": sympy.diff(E, w)}, NEURON_AT).rows[0].diagnosis is None


def test_sympy_is_imported_only_when_a_sympy_expression_is_given():
    code = (
        "import sys, microgradx as mg\n"
        "mg.compare(lambda w: w*w, {'w': '2*w'}, {'w': 1.5})\n"
        "print('sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_sympy_expression_that_is_not_real_there_is_a_clear_error():
    sympy = pytest.importorskip("sympy")
    w = sympy.Symbol("w")
    with pytest.raises(ValueError, match=r"hand\['w'\]: column 1: sqrt: .* sqrt\(-4.0\) is not real"):
        mg.compare(lambda w: w * w, {"w": sympy.sqrt(w - 5)}, {"w": 1.0})
    with pytest.raises(ValueError, match=r"hand\['w'\] uses I \(not a real number\)"):
        mg.compare(lambda w: w * w, {"w": sympy.I * w}, {"w": 1.0})


SYMPY_AS_STRINGS = [
    # (formula text, the point): SymPy reads the text, and the string path reads it too
    ("1/(w-1)", {"w": 1.0, "x": 2.0}),  # divides by zero
    ("log(w-1)", {"w": 1.0, "x": 2.0}),  # a domain error
    ("sqrt(w-2)", {"w": 1.0, "x": 2.0}),
    ("(w-1)**-2", {"w": 1.0, "x": 2.0}),
    ("2*w*x + (1-w)**2*10**300", {"w": 1.0, "x": 2.0}),  # exact: a huge factor times 0
    ("x/3 + w/7 - 5*x/(3*w)", {"w": 0.3, "x": 0.7}),  # quotients round as the string's
    ("exp(-w*x)/(1 + exp(-w*x))**2*x", {"w": 0.3, "x": 0.7}),
    ("abs(w - x)**(3/2) + tanh(w) * cos(x) - sin(w*x)", {"w": 0.3, "x": 0.7}),
    ("1/sqrt(w) + w**-3", {"w": 0.3, "x": 0.7}),
    ("10**400*(w - 1) + x", {"w": 1.0, "x": 2.0}),  # no float holds 10**400
]


@pytest.mark.parametrize(("text", "at"), SYMPY_AS_STRINGS)
def test_a_sympy_formula_gives_the_numbers_and_errors_of_the_same_formula_as_a_string(text, at):
    sympy = pytest.importorskip("sympy")
    w, x = sympy.symbols("w x")
    formula = sympy.sympify(text, locals={"w": w, "x": x})

    def f(w, x):
        return w * x

    def outcome(hand):
        try:
            row = mg.compare(f, {"w": hand}, at).rows[0]
        except ValueError as e:  # a string error also says where in the text: SymPy has no text
            return type(e), re.sub(r"column \d+: |the number \S+ |holds .*, which ", "", str(e))
        return row.hand, row.ok

    by_sympy = outcome(formula)
    by_string = outcome(str(formula).replace("Abs", "abs"))  # SymPy's own text of it
    if text.startswith("10**400"):  # the two say where the number is in their own words
        assert "too large for a float" in by_sympy[1] and "too large for a float" in by_string[1]
    else:
        assert by_sympy == by_string


def test_a_sympy_formula_with_an_operation_formulas_lack_is_a_clear_error_at_once():
    sympy = pytest.importorskip("sympy")
    w, x, t = sympy.symbols("w x t")
    unevaluated = sympy.Pow(w, sympy.Pow(9, sympy.Pow(9, 9, evaluate=False), evaluate=False), evaluate=False)
    for formula, named in [
        (sympy.floor(w * x), "floor"),
        (sympy.Product(t * w, (t, 1, 10**9)), "Product"),
        (sympy.Sum(w**t, (t, 1, 10**9)), "Sum"),
        (sympy.Max(w, x), "Max"),
        (sympy.Piecewise((w, w > 0), (x, True)), "Piecewise"),
        (sympy.Integral(w * t, (t, 0, x)), "Integral"),
    ]:
        with pytest.raises(
            ValueError, match=rf"hand\['w'\] uses .*\({named}\), which a hand formula cannot use"
        ):
            mg.compare(lambda w, x: w * x, {"w": formula}, {"w": 1.0, "x": 2.0})
    # a tower of powers is computed as the string w**(9**(9**9)) is: floats, overflowing to inf
    row = mg.compare(lambda w, x: w * x, {"w": unevaluated}, {"w": 1.0, "x": 2.0}).rows[0]
    string = mg.compare(lambda w, x: w * x, {"w": "w**(9**(9**9))"}, {"w": 1.0, "x": 2.0}).rows[0]
    assert (row.hand, row.ok) == (string.hand, string.ok) == (1.0, False)


def test_formula_names_are_the_inputs_and_the_labels_of_f():
    with pytest.raises(ValueError, match=r"hand\['w'\]: no value for q, yhat \(.*graph: w, x, y, z, ŷ, E\)"):
        mg.compare(neuron, {"w": "q*yhat"}, NEURON_AT)


def test_a_label_on_two_nodes_cannot_be_used():
    def f(a):
        return labelled(a * 2.0, "u") + labelled(a * 3.0, "u")

    with pytest.raises(ValueError, match="labels more than one node"):
        mg.compare(f, {"a": "u"}, {"a": 1.0})


def test_positional_inputs_are_named_x0_x1():
    report = mg.compare(lambda a, b: a * b, {"x0": "x1", "x1": "x1"}, [2.0, 3.0])
    assert report.rows[0].diagnosis is None
    assert report.rows[1].diagnosis.relation == "none"  # d(a·b)/db = a, not b


# --- errors: parse errors say where, hostile strings are refused ---------------------------------------


def test_a_parse_error_says_where():
    with pytest.raises(ParseError, match=r"hand\['w'\]: column 9: invalid syntax") as caught:
        mg.compare(neuron, {"w": "(ŷ - y)*"}, NEURON_AT)  # the end of the text: an operand is missing
    assert caught.value.column == 9


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('touch HACKED')",
        "open('HACKED', 'w')",
        "x.__class__.__bases__",
        "(lambda: 1)()",
        "[c for c in 'abc']",
        "globals()",
        "eval('1')",
        "'a' * 10",
        "x if x else y",
    ],
)
def test_hostile_strings_are_refused_without_being_run(hostile, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"hand\['w'\]"):
        mg.compare(neuron, {"w": hostile}, NEURON_AT)
    assert not (tmp_path / "HACKED").exists()


def test_a_formula_that_overflows_is_a_column_not_a_hang():
    row = mg.compare(neuron, {"w": "9**9**9**9"}, NEURON_AT).rows[0]
    assert not row.ok and row.note == "hand is inf" and row.diagnosis is None


def test_something_else_is_a_type_error_listing_what_is_accepted():
    with pytest.raises(
        TypeError, match=r"a function of the inputs, a formula string .* or a SymPy expression"
    ):
        mg.compare(neuron, {"w": 3}, NEURON_AT)


# --- determinism, text and JSON ---------------------------------------------------------------------------


def test_the_random_points_are_the_same_under_the_same_seed():
    def points(**seed):
        report = mg.compare(neuron, {"w": "(ŷ - y)*ŷ*(1 - ŷ)"}, NEURON_AT, **seed)
        return [p for p, _, _ in report.rows[0].diagnosis.points]

    default = points()
    assert default == points(seed=0) and len(default) == 5
    assert points(seed=1) == points(seed=1) != default
    assert default[0] == NEURON_AT  # the given point first, then points near it
    for point in default[1:]:
        assert all(abs(point[n] - x) <= 0.5 * max(1.0, abs(x)) for n, x in NEURON_AT.items())


def test_done_when_the_missing_x_is_named_in_text_and_json():
    report = mg.compare(neuron, {"w": "(ŷ - y)*ŷ*(1 - ŷ)"}, NEURON_AT)
    text = str(report)
    assert "NOT OK: hand differs from autograd by 0.053" in text
    assert "the factor ∂z/∂w = x is missing (autograd = hand · x at all 5 points checked)" in text
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    row = data["rows"][0]
    assert row["diagnosis"]["factor"] == "∂z/∂w = x" and "∂z/∂w = x is missing" in row["note"]
    assert row["diagnosis"]["relation"] == "missing factor" and row["diagnosis"]["coincidence"] is False
    first = row["diagnosis"]["points"][0]
    assert first["at"] == NEURON_AT and first["autograd"] == pytest.approx(row["autograd"])
    # the autograd/hand ratio at every point is x there: the diagnosis is checkable from the JSON
    for point in row["diagnosis"]["points"]:
        assert point["autograd"] == pytest.approx(point["hand"] * point["at"]["x"], rel=1e-9)
    assert data["rows"][1]["diagnosis"] is None  # no hand formula for x
    assert mg.gradcheck(neuron, NEURON_AT).to_dict()["rows"][0]["diagnosis"] is None


# --- the command line shows the same diagnosis ------------------------------------------------------------

NEURON_CLI = "z = w*x; ŷ = sigmoid(z); E = 0.5*(ŷ - y)**2"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microgradx", *args], capture_output=True, text=True, encoding="utf-8"
    )


def test_cli_hand_shows_the_diagnosis_in_text_and_json():
    args = ["grad", NEURON_CLI, "--wrt", "w", "--at", "w=0.5", "x=2", "y=1", "--hand", "w=(ŷ - y)*ŷ*(1 - ŷ)"]
    text = cli(*args)
    assert text.returncode == 0 and "the factor ∂z/∂w = x is missing" in text.stdout
    data = json.loads(cli(*args, "--json").stdout)
    assert data["hand"]["rows"][0]["diagnosis"]["factor"] == "∂z/∂w = x"
    assert [row["name"] for row in data["hand"]["rows"]] == ["w"]
    # the same report as compare's in Python
    python = mg.compare(neuron, {"w": "(ŷ - y)*ŷ*(1 - ŷ)"}, NEURON_AT).rows[0].to_dict()
    assert data["hand"]["rows"][0] == python


def test_cli_hand_moves_every_at_name_so_x_equal_to_one_is_no_hiding_place():
    result = cli(
        "grad", NEURON_CLI, "--wrt", "w", "--at", "w=0.3", "x=1", "y=1", "--hand", "w=(ŷ - y)*ŷ*(1 - ŷ)"
    )
    assert "ok, but agrees here by coincidence" in result.stdout and "∂z/∂w = x" in result.stdout


def test_cli_hand_may_use_an_alias_and_an_unused_at_name():
    expr = "z = w*x; a = z; yhat = sigmoid(a); E = 0.5*(yhat - y)**2"
    hand = "w=(yhat - y)*yhat*(1 - yhat)*a/w + 0*q"
    result = cli("grad", expr, "--wrt", "w", "--at", "w=0.3", "x=2", "y=1", "q=5", "--hand", hand, "--json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)["hand"]["rows"][0]
    assert row["ok"] and row["diagnosis"] is None


def test_cli_hand_refuses_a_hostile_formula_with_its_column():
    result = cli("grad", NEURON_CLI, "--wrt", "w", "--at", "w=0.3", "x=1", "y=1", "--hand", "w=x.__class__")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: --hand w: column 1: attribute access is not allowed")


# --- kinks: relu and abs take one branch at the point, and the random points take the same --------------


@pytest.mark.parametrize(
    ("f", "hand", "at"),
    [
        (lambda w, x: (1 - w * x).relu(), {"w": "-x"}, {"w": 0.5, "x": 1.0}),  # 1 − w·x > 0 here
        (lambda w: abs(w - 0.2), {"w": "1"}, {"w": 0.3}),  # w − 0.2 > 0 here
        (lambda w: abs(w - 0.2), {"w": "-1"}, {"w": 0.1}),  # w − 0.2 < 0 here
        (lambda w, x: (w * x).relu() + (w - x).relu(), {"w": "x + 1", "x": "w - 1"}, {"w": 0.5, "x": 0.45}),
    ],
)
def test_a_derivative_right_on_this_side_of_a_kink_is_no_coincidence(f, hand, at):
    # the truth: on this side of every kink, relu is the identity (or 0) and |u| is ±u
    report = mg.compare(f, hand, at)
    assert report, str(report)
    assert all(row.diagnosis is None and row.note == "" for row in report.rows), str(report)
    assert "coincidence" not in str(report) and "only here" not in str(report)


def test_the_random_points_lie_on_the_same_side_of_every_kink():
    def f(w, x):
        return labelled((1 - w * x).relu() * x, "E")

    d = diagnosis_of(f, {"w": "-x"}, {"w": 0.5, "x": 1.0}, "w")  # dE/dw = −x² here: E's factor x dropped
    assert d is not None and d.relation == "missing factor" and d.factor.endswith("= x"), d.text
    assert d.coincidence  # x = 1 hides it here, but the points near it (on the same branch) do not
    assert len(d.points) == 5
    assert all(1 - p["w"] * p["x"] > 0 for p, _, _ in d.points)


def test_at_a_kink_itself_no_point_shares_its_branch_and_the_diagnosis_says_so():
    # relu's input is exactly 0 at the point: every point near it is on one side or the other
    report = mg.compare(lambda w: (w - 0.5).relu(), {"w": "2"}, {"w": 0.5})
    d = report.rows[0].diagnosis
    assert d.relation == "too few points" and d.factor == "" and not d.coincidence
    assert "same side of every kink" in d.text and len(d.points) == 1
    ok = mg.compare(lambda w: (w - 0.5).relu(), {"w": "0"}, {"w": 0.5})  # PyTorch's 0 at the kink
    assert ok.rows[0].diagnosis is None  # (numeric is ½ there: the row says so, the diagnosis does not)


# --- paths that read the same ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "hand", "missing"), [(lambda w: w * w, "w", "2"), (lambda w: w * w * w, "w*w", "3")]
)
def test_a_node_used_twice_is_a_missing_constant_not_two_paths_that_read_the_same(f, hand, missing):
    # d(w·w)/dw = 2w: the two paths w → w·w are one formula each, and the hand has one of them
    d = diagnosis_of(f, {"w": hand}, {"w": 0.7}, "w")
    assert (d.relation, d.factor) == ("constant", missing), d.text
    assert d.text.startswith(f"the factor {missing} is missing: w is used ") and "paths add" in d.text
    assert "you have" not in d.text
    for _, autograd, by_hand in d.points:  # the truth: autograd is exactly that many times hand
        assert autograd == pytest.approx(int(missing) * by_hand, rel=1e-12)


def test_two_paths_through_the_same_nodes_are_told_apart_by_operand():
    # f = w·w + sin(w): three paths, two of them w → w·w; the hand has one of those and sin's
    d = diagnosis_of(lambda w: w * w + w.sin(), {"w": "w + cos(w)"}, {"w": 0.7}, "w")
    assert d.relation == "paths", d.text
    have, _, missing = d.text.partition("; missing: ")
    assert "through w·w (as operand b of w·w)" == missing.removesuffix(" (at all 5 points checked)")
    assert "through w·w (as operand a of w·w)" in have and "sin(w)" in have


# --- one set of name rules, in Python and on the command line ---------------------------------------------


def test_a_formula_may_not_assign_to_an_input_in_python_or_on_the_command_line():
    shadowing = "x = 2; (ŷ - y)*ŷ*(1 - ŷ)*x"  # would silently use x = 2 instead of the input x
    with pytest.raises(ValueError, match=r"^hand\['w'\] assigns x, which is already a name") as caught:
        mg.compare(neuron, {"w": shadowing}, NEURON_AT)
    result = cli("grad", NEURON_CLI, "--wrt", "w", "--at", "w=0.5", "x=2", "y=1", "--hand", f"w={shadowing}")
    assert result.returncode == 2 and result.stdout == ""
    python_reason = str(caught.value).partition(" assigns ")[2].partition(" (")[0]
    assert result.stderr.startswith(f"error: --hand w assigns {python_reason} (")
    ok = mg.compare(neuron, {"w": "d = (ŷ - y)*ŷ*(1 - ŷ); d*x"}, NEURON_AT)  # a new name is fine
    assert ok and ok.rows[0].diagnosis is None


def test_an_unknown_name_reads_the_same_in_python_and_on_the_command_line():
    with pytest.raises(ValueError, match=r"^hand\['w'\]: no value for v \(") as caught:
        mg.compare(neuron, {"w": "v*x"}, NEURON_AT)
    assert "w, x, y, z, ŷ, E" in str(caught.value)
    result = cli("grad", NEURON_CLI, "--wrt", "w", "--at", "w=0.5", "x=2", "y=1", "--hand", "w=v*x")
    assert result.returncode == 2 and result.stderr.startswith("error: --hand w: no value for v (")


@pytest.mark.parametrize("kind", ["Eq", "Gt", "And", "Tuple"])
def test_a_sympy_relation_or_other_non_expression_is_a_type_error_saying_what_is_expected(kind):
    sympy = pytest.importorskip("sympy")
    w = sympy.Symbol("w")
    hand = {
        "Eq": sympy.Eq(w, 1),
        "Gt": w > 1,
        "And": sympy.And(w > 1, w < 2),
        "Tuple": sympy.Tuple(w, 1),
    }[kind]
    with pytest.raises(TypeError, match=r"hand\['w'\] is a SymPy .*, not an expression: give the derivative"):
        mg.compare(lambda w: w * w, {"w": hand}, {"w": 1.0})
    if kind == "Eq":  # its right-hand side is an expression, and is taken
        assert mg.compare(lambda w: w * w, {"w": sympy.Eq(w, 2 * w).rhs}, {"w": 1.0})


# --- constants: only simple ones are named ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hand", "factor", "words"),
    [
        ("-2*cos(w)", "-0.5", "a sign is flipped and there is an extra constant factor 2 (hand = -2 · "),
        ("3*cos(w)", "0.333333", "there is an extra constant factor 3 (hand = 3 · autograd"),
        ("cos(w)/4", "4", "a constant factor 4 is missing (autograd = 4 · hand"),
        ("-cos(w)/3", "-3", "a sign is flipped and a constant factor 3 is missing (autograd = -3 · hand"),
        ("-cos(w)", "-1", "a sign is flipped: hand = −autograd"),
    ],
)
def test_a_simple_constant_is_named_with_its_sign(hand, factor, words):
    d = diagnosis_of(lambda w: w.sin(), {"w": hand}, {"w": 0.7}, "w")  # d/dw = cos(w)
    assert (d.relation, d.factor) == ("constant", factor), d.text
    assert d.text.startswith(words), d.text
    for _, autograd, by_hand in d.points:  # the truth: autograd/hand is that constant everywhere
        assert autograd / by_hand == pytest.approx(float(factor.replace("−", "-")), rel=1e-5)


@pytest.mark.parametrize("hand", ["0.3333", "0.333", "1.0001/3", "0.7/2"])
def test_a_rounded_or_odd_constant_is_no_simple_relation(hand):
    d = diagnosis_of(lambda w: w / 3, {"w": hand}, {"w": 0.7}, "w")  # d/dw = 1/3 exactly
    assert d.relation == "none" and d.text.startswith("no simple relation found"), d.text


def test_cli_hand_json_at_is_the_point_the_diagnosis_moved():
    args = ["grad", NEURON_CLI, "--wrt", "w", "--at", "w=0.5", "x=2", "y=1", "--hand", "w=(ŷ - y)*ŷ*(1 - ŷ)"]
    data = json.loads(cli(*args, "--json").stdout)["hand"]
    assert data["at"] == NEURON_AT  # every --at name: the random points move them all
    points = data["rows"][0]["diagnosis"]["points"]
    assert points[0]["at"] == data["at"] and all(set(p["at"]) == set(data["at"]) for p in points)
    python = mg.compare(neuron, {"w": "(ŷ - y)*ŷ*(1 - ŷ)"}, NEURON_AT).to_dict()
    assert data == python | {"rows": data["rows"]}
    assert "compare at w = 0.5, x = 2, y = 1:" in cli(*args).stdout  # the text says the same point
