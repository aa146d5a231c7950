"""The CLI's expression language: what it accepts, the graph it builds, and everything it refuses.

Values and derivatives are checked against plain-`math` functions written independently of the
parser, with central finite differences; the security table lists constructs that must never get
past the whitelist; hypothesis feeds random text and random valid expressions.
"""

from __future__ import annotations

import math
import operator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.expr import FUNCTIONS, MAX_LENGTH, MAX_NESTING, ExpressionError, ParseError, check_name, parse


def _sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


# (expression, point, the same function in plain math)
CASES = [
    ("w*x + b", {"w": 0.5, "x": 2.0, "b": 1.0}, lambda w, x, b: w * x + b),
    ("x - y / 3", {"x": 1.5, "y": -2.0}, lambda x, y: x - y / 3),
    ("-x**2", {"x": 3.0}, lambda x: -(x**2)),
    ("2**x**2", {"x": 1.5}, lambda x: 2 ** (x**2)),
    ("x**-1 + +x", {"x": 4.0}, lambda x: x**-1 + x),
    ("(x + 1)*(x - 1)", {"x": 0.7}, lambda x: (x + 1) * (x - 1)),
    ("exp(x)*log(y) - sqrt(y)", {"x": 0.3, "y": 2.5}, lambda x, y: math.exp(x) * math.log(y) - math.sqrt(y)),
    ("tanh(x) + sigmoid(x) + relu(x) + relu(-x)", {"x": 0.8}, lambda x: math.tanh(x) + _sigmoid(x) + x),
    ("sin(x)*cos(y) + abs(x - y)", {"x": 0.4, "y": 1.1}, lambda x, y: math.sin(x) * math.cos(y) + abs(x - y)),
    ("x**y", {"x": 1.7, "y": 0.6}, lambda x, y: x**y),
    ("z = w*x; yhat = sigmoid(z); 0.5*(yhat - y)**2", {"w": 0.3, "x": 1.0, "y": 1.0},
     lambda w, x, y: 0.5 * (_sigmoid(w * x) - y) ** 2),
    ("a = x*x; b = a + x; E = a*b", {"x": 1.3}, lambda x: x * x * (x * x + x)),
    ("1_000 * x + 0x10 + 1e-3", {"x": 2.0}, lambda x: 1000 * x + 16 + 1e-3),
]  # fmt: skip


def _central(f, point: dict[str, float], name: str, h: float = 1e-6) -> float:
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    return (f(**up) - f(**down)) / (2 * h)


@pytest.mark.parametrize(("text", "point", "f"), CASES, ids=[c[0] for c in CASES])
def test_value_and_gradients_match_plain_math_and_finite_differences(text, point, f):
    expression = parse(text)
    assert set(expression.inputs) == set(point)
    leaves = {name: mg.Value(x, name) for name, x in point.items()}
    out = expression.evaluate(leaves)
    assert out.data == pytest.approx(f(**point), rel=1e-12)
    grads = mg.grad(out, list(leaves.values()))
    for name, g in zip(leaves, grads, strict=True):
        assert g == pytest.approx(_central(f, point, name), rel=1e-6, abs=1e-7), name


def test_inputs_in_first_use_order_and_assigned_names_listed():
    e = parse("z = w*x; yhat = sigmoid(z + b); 0.5*(yhat - y)**2")
    assert e.inputs == ("w", "x", "b", "y")
    assert e.assigned == ("z", "yhat")


def test_assignment_names_label_intermediate_nodes_and_inputs_are_labelled_leaves():
    e = parse("z = w*x; yhat = sigmoid(z); E = 0.5*(yhat - y)**2")
    out, names = e.bind({"w": 0.3, "x": 1.0, "y": 1.0})
    assert out.label == "E"
    assert names["z"].op == "*" and names["z"].label == "z"
    assert names["yhat"].op == "sigmoid" and names["yhat"].parents == (names["z"],)
    assert [p.label for p in names["z"].parents] == ["w", "x"]
    assert names["w"].op == "" and names["w"].data == 0.3


def test_given_values_are_used_as_they_are():
    w = mg.Value(2.0, "weight")
    out = parse("w*w").evaluate({"w": w})
    assert out.parents == (w, w) and w.label == "weight"


def test_alias_assignment_keeps_the_original_label():
    out, names = parse("a = x; a*2").bind({"x": 3.0})
    assert names["a"] is names["x"] and names["x"].label == "x"
    assert out.data == 6.0


def test_a_negative_literal_is_one_constant_leaf():
    out = parse("x*-3").evaluate({"x": 2.0})
    const = out.parents[1]
    assert const.op == "" and const.data == -3.0 and const.label == ""
    neg = parse("-x").evaluate({"x": 2.0})
    assert neg.op == "neg"


def test_each_evaluation_builds_a_fresh_graph():
    e = parse("x*x")
    a, b = e.evaluate({"x": 1.0}), e.evaluate({"x": 1.0})
    assert a is not b and a.parents[0] is not b.parents[0]


# --- refusals -------------------------------------------------------------------------------------

# (text, words the message must contain, column)
REFUSED = [
    ("x.__class__", "attribute access", 1),
    ("w*x + y.real", "attribute access", 7),
    ("  x.y", "attribute access", 3),
    ("ŷ + ŷ.a", "attribute access", 5),
    ("__import__('os')", "dunder", 1),
    ("x + __builtins__", "dunder", 5),
    ("foo(x)", "unknown function 'foo'", 1),
    ("x + open('f')", "unknown function 'open'", 5),
    ("exec('1')", "unknown function 'exec'", 1),
    ("'abc'", "strings", 1),
    ("x + b'a'", "strings", 5),
    ("f'{x}'", "f-strings", 1),
    ("lambda: 3", "lambda", 1),
    ("[i for i in x]", "comprehensions", 1),
    ("sum(i for i in x)", "unknown function 'sum'", 1),
    ("exp(i for i in x)", "comprehensions", 4),
    ("import os", "import", 1),
    ("from os import path", "import", 1),
    ("(y := 3)", "walrus", 2),
    ("y := 3", "invalid syntax", 3),
    ("x < y", "comparisons", 1),
    ("x and y", "'and' and 'or'", 1),
    ("not x", "'not'", 1),
    ("x // 2", "'//'", 3),
    ("x @ y", "'@'", 3),
    ("(x) ^ 2", "'^'", 5),
    ("x | y", "'|'", 3),
    ("~x", "'~'", 1),
    ("x[0]", "subscripts", 1),
    ("[x, y]", "lists", 1),
    ("x, y", "tuples", 1),
    ("{x: 1}", "dicts", 1),
    ("x if y else 1", "conditional", 1),
    ("exp(x)(y)", "calling anything but a function name", 1),
    ("exp(x, y)", "exactly one argument", 1),
    ("exp()", "exactly one argument", 1),
    ("atan2(x)", "atan2() takes exactly two arguments, got 1", 1),
    ("hypot(x, y, 2)", "hypot() takes exactly two arguments, got 3", 1),
    ("exp(x=1)", "keyword arguments", 5),
    ("exp(*x)", "starred", 5),
    ("exp + 1", "'exp' is a function", 1),
    ("exp = 2; x", "cannot assign to 'exp'", 1),
    ("True + x", "True", 1),
    ("None", "None", 1),
    ("...", "Ellipsis", 1),
    ("1j", "complex numbers", 1),
    ("1e999", "too large for a float", 1),
    ("x + " + "9" * 400, "too large for a float", 5),
    ("a = 1; a = 2; a", "assigned twice", 8),
    ("b = a; a = 1; b", "before it is assigned", 8),
    ("a = b = 1; a", "chained assignment", 1),
    ("a, b = 1, 2; a", "tuples as assignment targets", 1),
    ("x.y = 1; x", "attribute access as assignment targets", 1),
    ("x += 1", "augmented assignment", 1),
    ("del x", "delete statements", 1),
    ("x; y", "only the last statement", 1),
    ("for i in x: pass", "for statements", 1),
    ("x # comment", "comment", 3),
    ("x\ny", "line breaks", 2),
    ("x + \x00", "U+0000", 5),
    ("(x + 1", "never closed", 1),
    ("x +* 2", "invalid syntax", 4),
    ("ŷŷ + 3 $", "invalid syntax", 8),
    ("(" * (MAX_NESTING + 1) + "x" + ")" * (MAX_NESTING + 1), "nested deeper", MAX_NESTING + 1),
]


@pytest.mark.parametrize(("text", "words", "column"), REFUSED, ids=[repr(r[0][:30]) for r in REFUSED])
def test_refused_constructs_name_what_was_found_and_the_column(text, words, column):
    with pytest.raises(ParseError) as info:
        parse(text)
    message = str(info.value)
    assert words in message
    assert info.value.column == column
    assert message.startswith(f"column {column}: ")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("(" * 10_000 + "x" + ")" * 10_000, "the limit is"),
        ("(" * 4_000 + "x" + ")" * 4_000, "nested deeper"),
        ("x + " * 5_000 + "x", "the limit is"),
        ("-" * 5_000 + "x", "nested too deeply"),
        ("x+" * 4_000 + "x", "nested too deeply"),
        ("9" * 5_000, "(5,000 digits) is too large for a float"),
        ("", "empty"),
        ("   ", "empty"),
    ],
    ids=["10k-parens", "4k-parens", "too-long", "5k-unary", "4k-chain", "huge-int", "empty", "blank"],
)
def test_resource_attacks_are_clean_errors(text, words):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert words in str(info.value)


def test_a_long_flat_expression_within_the_limits_works():
    text = "+".join(["x"] * 1_500)
    assert parse(text).evaluate({"x": 1.0}).data == 1_500.0


def test_huge_exponent_is_an_overflow_error_unless_overflow_is_allowed():
    e = parse("10**10**10")
    with pytest.raises(ExpressionError, match=r"column 3: '\*\*' overflows: 10 \*\* 1e10"):
        e.evaluate({})
    assert e.evaluate({}, overflow=True).data == math.inf
    with pytest.raises(ExpressionError, match="'exp' overflows"):
        parse("exp(x)").evaluate({"x": 1000.0})


@pytest.mark.parametrize(
    ("text", "point", "words"),
    [
        ("log(x)", {"x": -1.0}, "column 1: log: math domain error, log(-1.0)"),
        ("x + sqrt(x)", {"x": -4.0}, "column 5: sqrt"),
        ("1 + x / y", {"x": 1.0, "y": 0.0}, "column 7: '/': division by zero"),
        ("x ** 0.5", {"x": -2.0}, "column 3: '**'"),
    ],
)
def test_domain_errors_name_the_operation_the_value_and_the_column(text, point, words):
    with pytest.raises(ExpressionError) as info:
        parse(text).evaluate(point)
    assert words in str(info.value)


def test_missing_values_are_all_listed():
    with pytest.raises(ExpressionError, match=r"no value for x, y$"):
        parse("a = w*x; a + y").evaluate({"w": 1.0})


def test_a_name_both_assigned_and_given_is_an_error():
    with pytest.raises(ExpressionError, match="z is assigned in the expression and also given"):
        parse("z = 2*x; z").evaluate({"x": 1.0, "z": 3.0})


def test_check_name_normalises_like_the_parser_and_refuses_bad_names():
    assert check_name("ﬁ") == "fi"  # NFKC, as Python's parser reads identifiers
    assert parse("ﬁ + 1").inputs == ("fi",)
    for bad in ["1x", "x-y", "lambda", "__class__", "exp", ""]:
        with pytest.raises(ExpressionError):
            check_name(bad)


def test_parse_needs_a_string():
    with pytest.raises(TypeError, match="got bytes"):
        parse(b"x")  # type: ignore[arg-type]


def test_the_length_limit_is_exact():
    assert parse("x" * MAX_LENGTH).inputs == ("x" * MAX_LENGTH,)


# --- fuzzing --------------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    ["x", "y", "w", "1", "2.5", "1e308", "0", "+", "-", "*", "/", "**", "(", ")", ";", "=", " ", ".",
     ",", "'", "[", "]", ":", "exp", "log", "sqrt", "__", "lambda", "import", "for", "in", "9" * 30,
     "\\", "#", "@", "%", "j", "ŷ", "\t", "not", "if", "else", ":="]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.lists(_PIECES, max_size=25).map("".join)))
def test_random_text_parses_or_raises_expression_error_only(text):
    try:
        expression = parse(text)
    except ExpressionError as e:
        assert "\n" not in str(e)
        return
    try:
        out = expression.evaluate({name: 0.7 for name in expression.inputs})
    except ExpressionError as e:
        assert "\n" not in str(e)
        return
    assert isinstance(out, mg.Value)


_UNARY = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda a: max(a, 0.0),
    "sin": math.sin,
    "cos": math.cos,
    "abs": abs,
    **{f: getattr(math, f) for f in "tan sinh cosh asin acos atan asinh acosh atanh".split()},
    **{f: getattr(math, f) for f in "log1p expm1 log2 log10 exp2 degrees radians".split()},
    "sign": lambda a: float((a > 0) - (a < 0)),
}
_TWO = {"atan2": math.atan2, "hypot": math.hypot}
assert set(_UNARY) | set(_TWO) == set(FUNCTIONS)
# The operator module, not float.__mul__ & co.: those answer NotImplemented for a complex operand
# (from (-1.5) ** -1.5), which is neither a number nor an error; operator.mul gives the complex we skip.
_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": pow,
           "%": operator.mod}


def _expressions():
    """Random expressions as (text, the same function in plain math over an env dict)."""
    leaves = st.one_of(
        st.sampled_from(["a", "b", "c"]).map(lambda n: (n, lambda env, n=n: env[n])),
        st.floats(0.1, 3.0).map(lambda x: (repr(x), lambda env, x=x: x)),
    )

    def extend(children):
        binary = st.tuples(children, st.sampled_from(sorted(_BINARY)), children).map(
            lambda t: (
                f"({t[0][0]}) {t[1]} ({t[2][0]})",
                lambda env, t=t: _BINARY[t[1]](t[0][1](env), t[2][1](env)),
            )
        )
        unary = st.tuples(st.sampled_from(sorted(_UNARY)), children).map(
            lambda t: (f"{t[0]}({t[1][0]})", lambda env, t=t: _UNARY[t[0]](t[1][1](env)))
        )
        two = st.tuples(st.sampled_from(sorted(_TWO)), children, children).map(
            lambda t: (
                f"{t[0]}({t[1][0]}, {t[2][0]})",
                lambda env, t=t: _TWO[t[0]](t[1][1](env), t[2][1](env)),
            )
        )
        neg = children.map(lambda c: (f"-({c[0]})", lambda env, c=c: -c[1](env)))
        return st.one_of(binary, unary, two, neg)

    return st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_expressions(), st.floats(-2.0, 2.0), st.floats(0.1, 2.0), st.floats(-2.0, 2.0))
def test_random_valid_expressions_evaluate_like_plain_math(case, a, b, c):
    text, f = case
    env = {"a": a, "b": b, "c": c}
    try:
        expected = f(env)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        expected = None
    if expected is not None and (isinstance(expected, complex) or not math.isfinite(expected)):
        expected = None
    try:
        got = parse(text).evaluate(env).data
    except ExpressionError as e:  # only where plain math fails too, or an intermediate overflows
        assert expected is None or "overflows" in str(e)
        return
    if expected is not None:
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("2x", "a product needs '*': write 2*x"),
        ("x**2 + 3x", "write 3*x"),
        ("1.5e2w", "write 1.5e2*w"),
        ("w x", "write w*x"),
        ("(w x)", "write w*x"),
        ("sin(x) cos(x)", "write ...)*cos"),
        ("tanh x", "a function's argument goes in brackets: write tanh(x)"),
        ("exp 2*x", "write exp(...)"),
    ],
)
def test_side_by_side_names_get_a_hint_instead_of_pythons_bare_syntax_error(text, hint):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert str(caught.value).endswith(hint) and "Perhaps" not in str(caught.value)


def test_a_syntax_error_without_side_by_side_names_gets_no_hint():
    with pytest.raises(ParseError, match=r"^column 4: invalid syntax$"):
        parse("x +")


@pytest.mark.parametrize("text", ["w·x - y", "w⋅x - y", "w×x − y", "w * x - y"])
def test_the_docs_notation_for_times_and_minus_reads_as_the_operators(text):
    expression = parse(text)
    assert expression.inputs == ("w", "x", "y")
    assert expression.evaluate({"w": 0.5, "x": 4.0, "y": 1.5}).data == 0.5  # 0.5·4 − 1.5
