"""to_sympy: the graph as a SymPy expression, differentiated by SymPy and compared with autograd."""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx import Value

sympy = pytest.importorskip("sympy")


def real(expr):
    """The expression over real symbols of the same names (so Abs and Piecewise differentiate plainly)."""
    return expr.subs({s: sympy.Symbol(s.name, real=True) for s in expr.free_symbols})


def test_seed_neuron_derivative_matches_the_hand_derivation_symbolically():
    w, x, y = Value(0.5, "w"), Value(1.5, "x"), Value(1.0, "y")
    z = w * x
    z.label = "z"  # labels of intermediate nodes do not become symbols
    E = 0.5 * (z.sigmoid() - y) ** 2
    expr = mg.to_sympy(E)
    W, X, Y = sympy.symbols("w x y")
    assert expr.free_symbols == {W, X, Y}
    s = 1 / (1 + sympy.exp(-W * X))
    hand = (s - Y) * s * (1 - s) * X
    assert sympy.simplify(sympy.diff(expr, W) - hand) == 0
    value = float(sympy.diff(expr, W).subs({W: 0.5, X: 1.5, Y: 1.0}))
    assert value == pytest.approx(mg.grad(E, [w])[0], rel=1e-12)


def test_whole_number_constants_stay_exact():
    x = Value(3.0, "x")
    assert str(mg.to_sympy(x**2)) == "x**2"
    assert mg.to_sympy(2 * x - 1) == 2 * sympy.Symbol("x") - 1
    assert mg.to_sympy(x * 0.5) == sympy.Float(0.5) * sympy.Symbol("x")


def test_unlabelled_leaf_is_its_number():
    x = Value(3.0, "x")
    assert mg.to_sympy(x + Value(0.25)) == sympy.Symbol("x") + sympy.Float(0.25)


def test_shared_sub_expressions_are_converted_once_and_reused():
    x = Value(0.3, "x")
    t = x.tanh()
    expr = mg.to_sympy(t * t + t)
    X = sympy.Symbol("x")
    assert expr == sympy.tanh(X) ** 2 + sympy.tanh(X)


def test_two_leaves_with_one_label_raise_naming_the_label():
    a, b = Value(1.0, "w"), Value(2.0, "w")
    with pytest.raises(ValueError, match="'w'"):
        mg.to_sympy(a * b)
    mg.to_sympy(a * a)  # the same leaf twice is fine


def test_relu_and_abs_follow_the_engine_conventions_at_zero():
    x = Value(0.0, "x")
    X = sympy.Symbol("x", real=True)
    for out in (x.relu(), abs(x)):
        derivative = sympy.diff(real(mg.to_sympy(out)), X).subs(X, 0)
        assert float(derivative) == mg.grad(out, [x])[0] == 0.0


def test_missing_sympy_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sympy", None)
    with pytest.raises(ImportError, match=r"pip install 'microgradx\[sym\]'"):
        mg.to_sympy(Value(1.0, "x"))


def test_non_value_is_a_type_error():
    with pytest.raises(TypeError, match="Value"):
        mg.to_sympy(1.0)


def test_deep_chain_converts_without_recursion():
    x = Value(0.5, "x")
    v = x
    for _ in range(5000):
        v = v + 1
    assert mg.to_sympy(v) == sympy.Symbol("x") + 5000


# --- property: SymPy's derivative of the converted graph equals autograd ------------------------

UNARY = ["neg", "abs", "exp", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt_safe", "log_safe"]
BINARY = ["+", "-", "*", "/", "**2"]


def apply(op: str, a: Value, b: Value) -> Value:
    if op == "sqrt_safe":
        return (a * a + 1.0).sqrt()
    if op == "log_safe":
        return (a * a + 0.5).log()
    if op == "/":
        return a / (b * b + 1.0)
    if op == "**2":
        return a**2
    if op in ("+", "-", "*"):
        return {"+": a + b, "-": a - b, "*": a * b}[op]
    if op == "neg":
        return -a
    return abs(a) if op == "abs" else getattr(a, op)()


@st.composite
def expressions(draw):
    leaves = [Value(draw(st.floats(-2, 2).filter(lambda v: abs(v) > 1e-3)), name) for name in "abc"]
    nodes = list(leaves)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(UNARY + BINARY))
        a = nodes[draw(st.integers(0, len(nodes) - 1))]
        b = nodes[draw(st.integers(0, len(nodes) - 1))]
        nodes.append(apply(op, a, b))
    return nodes[-1], leaves


@settings(max_examples=60, deadline=None)
@given(expressions())
def test_sympy_diff_of_converted_graph_equals_autograd(case):
    out, leaves = case
    assume(math.isfinite(out.data) and abs(out.data) < 1e6)
    expr = real(mg.to_sympy(out))
    symbols = {s.name: s for s in expr.free_symbols}
    point = {symbols[v.label]: v.data for v in leaves if v.label in symbols}
    assert float(expr.subs(point)) == pytest.approx(out.data, rel=1e-9, abs=1e-12)
    autograd = mg.grad(out, leaves)
    for leaf, expected in zip(leaves, autograd, strict=True):
        if leaf.label not in symbols:
            assert expected == 0.0
            continue
        symbolic = sympy.diff(expr, symbols[leaf.label]).subs(point)
        assume(symbolic.is_finite)  # a kink hit exactly (e.g. relu of exactly 0) is not compared
        assert float(symbolic) == pytest.approx(expected, rel=1e-7, abs=1e-9)
