"""The engine's numbers and printed formulas against truths that do not use the engine.

- Every binary op's value and both gradients against PyTorch over a grid that includes zeros,
  negative bases, whole and fractional exponents and divisions by tiny numbers.
- The same ops at their special points (``0**0``, ``0**0.5``, a negative base, ``x**0``, division
  near 0) against closed forms worked out by hand, or exactly with `fractions.Fraction`.
- Every formula of the rule table (``RULES[op].formulas``, which `explain`, `draw` and the HTML
  page print) parsed into SymPy and compared with ``sympy.diff`` of the op, written here in SymPy.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest
import sympy

import microgradx as mg
from microgradx import Value
from microgradx.engine import RULES

inf, nan = math.inf, math.nan


def same(got: float, want: float, rel: float = 1e-12) -> bool:
    """Equal as IEEE numbers where they are special (nan, ±inf, the sign of a zero ignored), else close."""
    if math.isnan(want) or math.isinf(want):
        return (math.isnan(got) and math.isnan(want)) or got == want
    return math.isclose(got, want, rel_tol=rel, abs_tol=1e-300)


def engine(op: str, a0: float, b0: float) -> tuple[float, float, float]:
    """The engine's value and (∂/∂a, ∂/∂b) of ``a op b``, by `backward`."""
    a, b = Value(a0, "a"), Value(b0, "b")
    out = {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__, "**": a.__pow__}[op](b)
    assert out.op == op and out.parents == (a, b)
    out.backward()
    return out.data, a.grad, b.grad


# --- PyTorch: every binary op, values and both gradients ------------------------------------------

GRID = [-2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0]
EXTRA = {  # the corners each op has on top of the grid
    "/": [(1.0, 1e-300), (-3.0, 1e-300), (1e-200, 1e-200), (1.0, -1e-300), (1e-300, 1e300), (5e-324, 2.0)],
    "**": [(0.0, 0.3), (-2.0, 3.0), (-0.5, -3.0), (2.0, 1024.0), (10.0, -400.0), (1e-300, 0.5)],
}


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
def test_binary_op_value_and_both_gradients_match_pytorch(op):
    torch = pytest.importorskip("torch")
    torch_op = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div, "**": torch.pow}[op]
    checked = 0
    for a0, b0 in [(a, b) for a in GRID for b in GRID] + EXTRA.get(op, []):
        ta = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
        t_out = torch_op(ta, tb)
        try:
            got = engine(op, a0, b0)
        except (ValueError, ZeroDivisionError):  # a domain error: torch says nan or ±inf there
            assert not math.isfinite(t_out.item()), (op, a0, b0, t_out.item())
            continue
        t_out.backward()
        want = (t_out.item(), ta.grad.item(), tb.grad.item())
        for what, g, w in zip(("value", "d/da", "d/db"), got, want, strict=True):
            assert same(g, w), f"{a0} {op} {b0}: {what} is {g!r}, torch says {w!r}"
        checked += 1
    assert checked >= len(GRID) ** 2 * 0.7  # most of the grid is in the domain


# --- closed forms at the special points ------------------------------------------------------------

POWER_SPECIAL = [
    # a, b, a**b, ∂/∂a = b·a^(b-1), ∂/∂b = a^b·ln a — with the conventions of PyTorch at a zero base
    pytest.param(0.0, 0.0, 1.0, 0.0, 0.0, id="0**0: d/da 0 (b is 0), d/db 0 (zero base)"),
    pytest.param(0.0, 0.5, 0.0, inf, 0.0, id="0**0.5: d/da = 0.5/sqrt(0) = inf"),
    pytest.param(0.0, 1.0, 0.0, 1.0, 0.0, id="0**1: d/da = 1"),
    pytest.param(0.0, 2.0, 0.0, 0.0, 0.0, id="0**2: d/da = 2*0"),
    pytest.param(3.0, 0.0, 1.0, 0.0, math.log(3.0), id="3**0: d/da 0, d/db ln 3"),
    pytest.param(0.25, 0.0, 1.0, 0.0, math.log(0.25), id="0.25**0: d/db ln 0.25 < 0"),
    pytest.param(-2.0, 0.0, 1.0, 0.0, nan, id="(-2)**0: d/db nan (ln of a negative base)"),
    pytest.param(-2.0, 3.0, -8.0, 12.0, nan, id="(-2)**3: d/da 3*(-2)**2, d/db nan"),
    pytest.param(-2.0, 2.0, 4.0, -4.0, nan, id="(-2)**2: d/da 2*(-2)"),
    pytest.param(-0.5, -3.0, -8.0, -48.0, nan, id="(-0.5)**-3: d/da -3*(-0.5)**-4"),
    pytest.param(4.0, 0.5, 2.0, 0.25, 2.0 * math.log(4.0), id="4**0.5"),
]


@pytest.mark.parametrize("a0, b0, value, d_a, d_b", POWER_SPECIAL)
def test_power_at_its_special_points_matches_the_closed_form(a0, b0, value, d_a, d_b):
    got = engine("**", a0, b0)
    assert same(got[0], value) and same(got[1], d_a) and same(got[2], d_b), got


@pytest.mark.parametrize("a0", [0.0, -2.0, 1.5])
def test_a_constant_zero_exponent_gives_one_and_a_zero_derivative(a0):
    a = Value(a0, "a")
    out = a**0
    out.backward()
    assert out.data == 1.0 and a.grad == 0.0
    assert mg.grad(a**0.0, [a]) == [0.0]


@pytest.mark.parametrize("b0", [0.5, 1 / 3, -0.5, 2.5])
def test_a_negative_base_with_a_fractional_exponent_is_a_domain_error(b0):
    with pytest.raises(ValueError, match=r"\*\*.*negative base needs a whole-number exponent"):
        Value(-8.0) ** b0


UNARY_SPECIAL = [
    # op, x, f(x), f'(x) at the points where a rule has a special case or a convention
    pytest.param("sqrt", 0.0, 0.0, inf, id="sqrt'(0) = inf (as PyTorch)"),
    pytest.param("sqrt", 1e-300, 1e-150, 0.5e150, id="sqrt'(1e-300) = 1/(2e-150)"),
    pytest.param("abs", 0.0, 0.0, 0.0, id="abs'(0) = 0 (SPEC)"),
    pytest.param("abs", -0.0, 0.0, 0.0, id="abs'(-0) = 0"),
    pytest.param("relu", 0.0, 0.0, 0.0, id="relu'(0) = 0 (SPEC)"),
    pytest.param("relu", -1e-300, 0.0, 0.0, id="relu'(-tiny) = 0"),
    pytest.param("relu", 1e-300, 1e-300, 1.0, id="relu'(+tiny) = 1"),
    pytest.param("log", 1e-300, math.log(1e-300), 1e300, id="log'(1e-300) = 1e300"),
    pytest.param("exp", -800.0, 0.0, 0.0, id="exp underflows to 0, and so does its slope"),
    pytest.param("exp", 800.0, inf, inf, id="exp overflows to inf (IEEE, as PyTorch)"),
    pytest.param("tanh", 30.0, 1.0, 0.0, id="tanh'(30) = 1 - tanh² = 0 in floats"),
    pytest.param("sigmoid", -800.0, 0.0, 0.0, id="sigmoid'(-800) = 0, no overflow"),
]


@pytest.mark.parametrize("op, x0, value, slope", UNARY_SPECIAL)
def test_unary_ops_at_their_special_points_match_the_closed_form(op, x0, value, slope):
    x = Value(x0, "x")
    out = -x if op == "neg" else abs(x) if op == "abs" else getattr(x, op)()
    out.backward()
    assert same(out.data, value) and same(x.grad, slope), (out.data, x.grad)


@pytest.mark.parametrize("how", ["backward", "grad", "create_graph"])
def test_every_use_of_a_node_adds_its_term(how):
    # x feeds three unary nodes, a product (twice) and the sum: d/dx = cos x + eˣ + sin(−x) + 2x + 1
    x0 = 0.7
    x = Value(x0, "x")
    out = x.sin() + x.exp() + (-x).cos() + x * x + x
    want = math.cos(x0) + math.exp(x0) + math.sin(-x0) + 2 * x0 + 1.0  # d cos(−x)/dx = sin(−x)
    if how == "backward":
        out.backward()
        got = x.grad
    elif how == "grad":
        (got,) = mg.grad(out, [x])
    else:
        (got,) = mg.grad(out, [x], create_graph=True)
        got = got.data
    assert got == pytest.approx(want, rel=1e-14)


def exact(x: Fraction) -> float:
    """`x` correctly rounded to a float; ±inf past the largest float."""
    try:
        return float(x)
    except OverflowError:
        return inf if x > 0 else -inf


@pytest.mark.parametrize(
    "a0, b0",
    [(1.0, 1e-300), (-3.0, 1e-300), (1e-200, 1e-200), (1.0, -1e-300), (7.0, 3e-320), (1e-300, 1e300)],
)
def test_division_near_zero_matches_exact_rational_arithmetic(a0, b0):
    # a/b, ∂/∂a = 1/b, ∂/∂b = −a/b², computed exactly and rounded once
    a, b = Fraction(a0), Fraction(b0)
    value, d_a, d_b = engine("/", a0, b0)
    assert value == exact(a / b) and d_a == exact(1 / b)
    assert same(d_b, exact(-a / b**2), rel=1e-15)


def test_division_by_zero_is_an_error_not_inf():
    with pytest.raises(ZeroDivisionError, match="'/'"):
        Value(1.0) / 0.0
    with pytest.raises(ZeroDivisionError, match=r"\*\*"):
        Value(0.0) ** -1.0


# --- the formulas learners read, against SymPy ---------------------------------------------------

A, B = sympy.symbols("a b", real=True)


class Floor(sympy.Function):
    """floor, with derivative 0 between its jumps (SymPy leaves floor's derivative unevaluated)."""

    def fdiff(self, argindex=1):
        return sympy.Integer(0)

    def _eval_evalf(self, prec):
        return sympy.floor(self.args[0]).evalf(prec)


SYMPY_OPS = {  # each op written in SymPy, independently of the engine
    "+": A + B,
    "-": A - B,
    "*": A * B,
    "/": A / B,
    "**": A**B,
    "neg": -A,
    "abs": sympy.Abs(A),
    "exp": sympy.exp(A),
    "log": sympy.log(A),
    "sqrt": sympy.sqrt(A),
    "tanh": sympy.tanh(A),
    "sigmoid": 1 / (1 + sympy.exp(-A)),
    "relu": sympy.Max(0, A),
    "sin": sympy.sin(A),
    "cos": sympy.cos(A),
    "tan": sympy.tan(A),
    "sinh": sympy.sinh(A),
    "cosh": sympy.cosh(A),
    "asin": sympy.asin(A),
    "acos": sympy.acos(A),
    "atan": sympy.atan(A),
    "asinh": sympy.asinh(A),
    "acosh": sympy.acosh(A),
    "atanh": sympy.atanh(A),
    "log1p": sympy.log(1 + A),
    "expm1": sympy.exp(A) - 1,
    "log2": sympy.log(A) / sympy.log(2),
    "log10": sympy.log(A) / sympy.log(10),
    "exp2": 2**A,
    "sign": sympy.sign(A),
    "degrees": A * 180 / sympy.pi,
    "radians": A * sympy.pi / 180,
    "atan2": sympy.atan2(A, B),
    "hypot": sympy.sqrt(A**2 + B**2),
    "%": A - B * Floor(A / B),  # Python's floor modulo, written out
}
POSITIVE_BASE = {"**", "log", "sqrt", "log2", "log10", "log1p"}  # where the points stay in the domain (a > 0)
POINTS = [(0.37, 0.6), (1.9, -1.3), (0.8, 2.0), (2.6, 0.25)]
NEGATIVE_POINTS = [(-0.8, 1.7), (-1.6, -0.45)]

SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def formula_to_sympy(text: str, names: dict[str, object]):
    """Read a printed formula (``b·a^(b-1)``, ``1−tanh²(a)``, ``[a > 0]``, ``3·a²``) into SymPy.

    Only the notation is translated (· × − ² √ σ ln [·]); what the formula says stays as written,
    so a wrong formula reads as a wrong expression. The text is the package's own, never user input.
    """
    s = text.replace("·", "*").replace("−", "-").replace("^", "**")
    power_of_call = r"(tanh|tan|sin|cos|σ)([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)\("  # tanh²(a) is tanh(a)²
    s = re.sub(power_of_call, lambda m: f"{m[1]}_pow{m[2].translate(SUPERSCRIPT)}(", s)
    s = re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+", lambda m: f"**({m[0].translate(SUPERSCRIPT)})", s)
    s = re.sub(r"√(\w+)", r"sqrt(\1)", s).replace("√(", "sqrt(")
    s = re.sub(r"\[(.+?) > 0\]", r"Heaviside(\1, 0)", s).replace("[", "(").replace("]", ")")
    s = s.replace("σ", "sigmoid").replace("ln(", "log(").replace("π", "pi")
    sigmoid = sympy.Lambda(A, 1 / (1 + sympy.exp(-A)))
    functions = {
        "sqrt": sympy.sqrt,
        "log": sympy.log,
        "exp": sympy.exp,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "tanh": sympy.tanh,
        "sinh": sympy.sinh,
        "cosh": sympy.cosh,
        "floor": sympy.floor,
        "pi": sympy.pi,
        "sign": sympy.sign,
        "Heaviside": sympy.Heaviside,
        "sigmoid": sigmoid,
        "tanh_pow2": lambda x: sympy.tanh(x) ** 2,
        "tan_pow2": lambda x: sympy.tan(x) ** 2,
        "sin_pow2": lambda x: sympy.sin(x) ** 2,
        "cos_pow2": lambda x: sympy.cos(x) ** 2,
    }
    return sympy.parse_expr(s, local_dict={**functions, **names}, evaluate=True)


def agree_at(expected, got, points) -> list:
    """The points (a, b) where the two SymPy expressions differ numerically (empty when they agree)."""
    wrong = []
    for a0, b0 in points:
        at = {A: sympy.Float(a0, 30), B: sympy.Float(b0, 30)}
        e, g = complex(expected.evalf(30, subs=at)), complex(got.evalf(30, subs=at))
        if not abs(e - g) <= 1e-12 * (1 + abs(e)):
            wrong.append(((a0, b0), e, g))
    return wrong


INSIDE_ONE = {"asin", "acos", "atanh"}  # defined for |a| < 1 (as real functions)
ABOVE_ONE = {"acosh"}  # defined for a >= 1


def op_points(op: str) -> list:
    if op in INSIDE_ONE:
        return [(0.37, 0.6), (-0.8, 1.7), (0.55, -1.3), (-0.2, 2.0)]
    if op in ABOVE_ONE:
        return [(1.9, -1.3), (2.6, 0.25), (1.2, 0.5)]
    return POINTS if op in POSITIVE_BASE else POINTS + NEGATIVE_POINTS


@pytest.mark.parametrize("op", sorted(RULES))
def test_every_formula_of_the_rule_table_is_the_derivative_sympy_finds(op):
    expr = SYMPY_OPS[op]
    operands = (A, B) if len(RULES[op].formulas) == 2 else (A,)
    formulas = RULES[op].formulas
    assert len(formulas) == len(operands)
    for operand, template in zip(operands, formulas, strict=True):
        text = template.format(a="a", b="b", out="out")
        got = formula_to_sympy(text, {"a": A, "b": B, "out": expr})
        expected = sympy.diff(expr, operand)
        wrong = agree_at(expected, got, op_points(op))
        assert not wrong, f"∂({op})/∂{operand} is printed {template!r}, SymPy says {expected}: {wrong}"


def printed_graphs():
    """Graphs over leaves labelled a and b whose printed local derivatives we check, with SymPy's op."""
    yield "a + b", lambda a, b: a + b, A + B
    yield "a - b", lambda a, b: a - b, A - B
    yield "a * b", lambda a, b: a * b, A * B
    yield "2.5 * a", lambda a, b: 2.5 * a, 2.5 * A
    yield "a / b", lambda a, b: a / b, A / B
    yield "a ** b", lambda a, b: a**b, A**B
    yield "2 ** a", lambda a, b: 2**a, 2**A
    for k in (3, 2, 1, 0.5, -1, -2.5, 7):
        yield f"a ** {k}", lambda a, b, k=k: a**k, A ** sympy.nsimplify(k)
    yield "-a", lambda a, b: -a, -A
    yield "abs(a)", lambda a, b: abs(a), sympy.Abs(A)
    for fn in ("exp log sqrt tanh sigmoid relu sin cos tan sinh cosh asin acos atan asinh acosh atanh log1p "
               "expm1 log2 log10 exp2 sign degrees radians").split():
        yield f"{fn}(a)", lambda a, b, fn=fn: getattr(a, fn)(), SYMPY_OPS[fn]
    yield "atan2(a, b)", mg.atan2, SYMPY_OPS["atan2"]
    yield "hypot(a, b)", mg.hypot, SYMPY_OPS["hypot"]
    yield "a % b", lambda a, b: a % b, SYMPY_OPS["%"]


@pytest.mark.parametrize("name, build, expr", list(printed_graphs()), ids=[g[0] for g in printed_graphs()])
def test_every_formula_explain_prints_is_the_derivative_sympy_finds(name, build, expr):
    a, b = Value(0.6 if name.partition("(")[0] in INSIDE_ONE else 1.3, "a"), Value(0.7, "b")
    out = build(a, b)
    points = op_points(out.op) if "2 **" not in name else POINTS + NEGATIVE_POINTS
    for operand, symbol in ((a, A), (b, B)):
        if operand not in out.parents:
            continue
        explanation = mg.explain(out, operand)
        (path,) = explanation.paths
        (edge,) = path.edges
        got = formula_to_sympy(edge.formula, {"a": A, "b": B})
        wrong = agree_at(sympy.diff(expr, symbol), got, points)
        assert not wrong, f"∂({name})/∂{operand.label} is printed {edge.formula!r}: {wrong}"


@pytest.mark.parametrize(
    "text, want",
    [("b·a^(b-1)", B * A ** (B - 1)), ("1−tanh²(a)", 1 - sympy.tanh(A) ** 2), ("−a/b²", -A / B**2),
     ("7·a⁶", 7 * A**6), ("-1·a⁻²", -(A**-2)), ("1/(2·√a)", 1 / (2 * sympy.sqrt(A))),
     ("[a > 0]", sympy.Heaviside(A, 0)), ("σ(a)·(1−σ(a))", sympy.exp(-A) / (1 + sympy.exp(-A)) ** 2)],
)
def test_the_formula_reader_reads_the_notation(text, want):
    # the oracle's own check: a misreading would make the formula tests pass or fail for nothing
    assert not agree_at(want, formula_to_sympy(text, {"a": A, "b": B}), POINTS + NEGATIVE_POINTS)
