"""The rule table: everything each operation is, declared once, and every module reads it here.

A `Rule` holds an op's forward (its operands' numbers to the result's), its local derivatives
∂out/∂operand, a formula per operand, and how it is written, drawn and said to SymPy. The local
derivatives are plain arithmetic, so one function serves floats in `Value.backward` and Values in
`grad(..., create_graph=True)`, whose results can be differentiated again. Each rule sits under
a one-line comment with its derivative. Adding an op is one entry here (a `_call` for a function
``op(a)``, which `engine` makes the method ``x.op()``; a `_call2` for ``op(a, b)``; its formulas
in text and in LaTeX) and its rows in the op tables of the tests. Ops of your own join the table
at run time (`custom.custom_op`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any, NamedTuple

from microgradx import realmath

__all__ = ["ATOM", "BUILT_IN", "RULES", "Rule", "latex_function"]

ATOM = 9
"""The precedence of a call (and of a name or a non-negative number): it never needs parentheses."""


class Rule(NamedTuple):
    """Everything one operation is, declared once: every other module reads it from here."""

    op: str
    forward: Callable[..., float]  # the operands' numbers -> the result's (floats, or NumPy arrays)
    local: Callable[..., tuple]  # (*operands, out) -> ∂out/∂operand for each, on floats or on Values
    formulas: tuple[str, ...]  # the same in words, over {a}, {b} (the operands) and {out}; in
    # LaTeX math in `latex_formulas` (a placeholder alone in (…) or {…} gets no parentheses of its own)
    text: str = ""  # how it is written, over {a} and {b}
    latex: str = ""  # the same in LaTeX
    glyph: str = ""  # in its circle in a picture
    name: str = ""  # in node names (mul3); for a call, its function in the expression language
    precedence: int = ATOM  # how tightly it binds (ATOM: a call)
    ordered: bool = False  # pictures say which operand is which (a − b)
    sympy: Callable[..., Any] | None = None  # (the sympy module, *operands) -> the op in SymPy
    doc: str = ""  # for a function of one value, the docstring of its method (x.exp())
    kink: bool = False  # its derivative jumps where its operand crosses 0 (`hand` minds the side)
    latex_formulas: tuple[str, ...] = ()  # `formulas` in LaTeX math, over the same placeholders

    @property
    def is_function(self) -> bool:
        """True for a function of one value, written as a call ``op(a)`` (|a| included)."""
        return self.precedence == ATOM and len(self.formulas) == 1

    @property
    def is_call(self) -> bool:
        """True for a function written as a call, of one value or two (``atan2(a, b)``)."""
        return self.precedence == ATOM


# LaTeX's own named operators (\exp, \tanh): any other function name is written \operatorname{name}.
LATEX_OPERATORS = frozenset("arccos arcsin arctan arg cos cosh cot coth csc deg det dim exp gcd hom inf ker "
                            "lg lim ln log max min sec sin sinh sup tan tanh".split())


def latex_function(name: str) -> str:
    """How LaTeX writes the function `name`: ``\\exp``, or ``\\operatorname{relu}``."""
    return f"\\{name}" if name in LATEX_OPERATORS else f"\\operatorname{{{name}}}"


def _call(
    op: str, *, forward: Callable, local: Callable, formula: str, latex_formula: str = "", **written: Any
) -> Rule:
    """The rule of a function written ``op(a)``: what is not given is spelled from its name.

    Every built-in rule gives its `latex_formula`; without one, `formatting.latex_from_text` spells
    the text formula symbol by symbol."""
    sympy = written.pop("sympy", lambda sp, a: getattr(sp, op)(a))
    spelled = {"text": f"{op}({{a}})", "latex": latex_function(op) + "({a})", "glyph": op, "name": op}
    return Rule(op=op, forward=forward, local=local, formulas=(formula,),
                latex_formulas=(latex_formula,) if latex_formula else (),
                **{**spelled, "sympy": sympy, **written})


def _either(op: str) -> Callable:
    """The op on floats or arrays (`realmath`), or on a Value by its own method (with create_graph)."""
    on_numbers = getattr(realmath, op)
    return lambda x: on_numbers(x) if type(x) is float or realmath.is_number(x) else getattr(x, op)()


def _call2(op: str, *, forward: Callable, local: Callable, formulas: tuple[str, str], **written: Any) -> Rule:
    """The rule of a function of two values written ``op(a, b)``, spelled from its name as `_call`'s."""
    spelled = {"text": f"{op}({{a}}, {{b}})", "latex": latex_function(op) + "({a}, {b})", "glyph": op,
               "name": op, "ordered": True, "sympy": lambda sp, a, b: getattr(sp, op)(a, b)}
    return Rule(op=op, forward=forward, local=local, formulas=formulas, **{**spelled, **written})


_sin, _cos, _sinh, _cosh = _either("sin"), _either("cos"), _either("sinh"), _either("cosh")
_sqrt = _either("sqrt")
_LN2, _LN10, _DEGREE = math.log(2.0), math.log(10.0), 180.0 / math.pi

RULES: dict[str, Rule] = {rule.op: rule for rule in (
    # ∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1
    Rule(op="+", forward=operator.add, local=lambda a, b, out: (1.0, 1.0), formulas=("1", "1"),
         latex_formulas=("1", "1"),
         text="{a} + {b}", latex="{a} + {b}", glyph="+", name="add", precedence=1,
         sympy=lambda sp, a, b: a + b),
    # ∂(a−b)/∂a = 1, ∂(a−b)/∂b = -1
    Rule(op="-", forward=operator.sub, local=lambda a, b, out: (1.0, -1.0), formulas=("1", "-1"),
         latex_formulas=("1", "-1"),
         text="{a} − {b}", latex="{a} - {b}", glyph="a − b", name="sub", precedence=1, ordered=True,
         sympy=lambda sp, a, b: a - b),
    # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
    Rule(op="*", forward=operator.mul, local=lambda a, b, out: (b, a), formulas=("{b}", "{a}"),
         latex_formulas=("{b}", "{a}"),
         text="{a}·{b}", latex="{a} \\cdot {b}", glyph="×", name="mul", precedence=2,
         sympy=lambda sp, a, b: a * b),
    # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b² = −out/b
    Rule(op="/", forward=realmath.div, local=lambda a, b, out: (1.0 / b, -out / b),
         formulas=("1/{b}", "−{a}/{b}²"), latex_formulas=("1/{b}", "-{a}/{b}^{2}"),
         text="{a}/{b}", latex="{a} / {b}", glyph="a ÷ b", name="div", precedence=2, ordered=True,
         sympy=lambda sp, a, b: a / b),
    # ∂(a^b)/∂a = b·a^(b-1), ∂(a^b)/∂b = a^b·ln a (with PyTorch's values at the edges: realmath)
    Rule(op="**", forward=realmath.power,
         local=lambda a, b, out: (realmath.d_power_base(a, b, out), realmath.d_power_exponent(a, b, out)),
         formulas=("{b}·{a}^({b}−1)", "{a}^{b}·ln({a})"),
         latex_formulas=("{b} \\cdot {a}^{{b} - 1}", "{a}^{{b}} \\cdot \\ln({a})"),
         text="{a}^{b}", latex="{a}^{{b}}", glyph="a^b", name="pow", precedence=4, ordered=True,
         sympy=lambda sp, a, b: a**b),
    # ∂(−a)/∂a = -1
    Rule(op="neg", forward=operator.neg, local=lambda a, out: (-1.0,), formulas=("-1",),
         latex_formulas=("-1",),
         text="−{a}", latex="-{a}", glyph="−", name="neg", precedence=3, sympy=lambda sp, a: -a),
    # ∂|a|/∂a = sign(a). Here and in relu, (a > 0) * 1.0 is [a > 0] as a number (float, Value or
    # array); the derivative at the kink is 0, at nan 0 for abs and 1 for relu, as in PyTorch.
    _call(op="abs", forward=abs, local=lambda a, out: ((a > 0.0) * 1.0 - (a < 0.0) * 1.0,),
          formula="sign({a})", latex_formula="\\operatorname{sign}({a})",
          text="|{a}|", latex="\\left|{a}\\right|", glyph="|·|", sympy=lambda sp, a: sp.Abs(a), kink=True),
    # ∂e^a/∂a = e^a
    _call(op="exp", forward=realmath.exp, local=lambda a, out: (out,), formula="exp({a})",
          latex_formula="\\exp({a})",
          doc="e to the power of this value."),
    # ∂ln a/∂a = 1/a
    _call(op="log", forward=realmath.log, local=lambda a, out: (1.0 / a,), formula="1/{a}",
          latex_formula="1/{a}",
          doc="Natural logarithm; `ValueError` for a value <= 0."),
    # ∂√a/∂a = 1/(2√a), ±inf at ±0
    _call(op="sqrt", forward=realmath.sqrt, local=realmath.d_sqrt, formula="1/(2·√{a})",
          latex_formula="1/(2 \\cdot \\sqrt{{a}})",
          text="√({a})", latex="\\sqrt{{a}}", glyph="√",
          doc="Square root; `ValueError` for a negative value."),
    # ∂tanh a/∂a = 1 − tanh²a
    _call(op="tanh", forward=realmath.tanh, local=lambda a, out: (1.0 - out * out,), formula="1−tanh²({a})",
          latex_formula="1 - \\tanh^{2}({a})",
          doc="Hyperbolic tangent (stable for any input)."),
    # ∂σ(a)/∂a = σ(a)·(1 − σ(a))
    _call(op="sigmoid", forward=realmath.sigmoid, local=lambda a, out: (out * (1.0 - out),),
          formula="σ({a})·(1−σ({a}))", latex_formula="\\sigma({a}) \\cdot (1 - \\sigma({a}))",
          text="σ({a})", latex="\\sigma({a})", glyph="σ", sympy=lambda sp, a: 1 / (1 + sp.exp(-a)),
          doc="Logistic sigmoid 1/(1+e^−x), computed without overflow for any input."),
    # relu' = [a > 0]
    _call(op="relu", forward=realmath.relu, local=lambda a, out: (1.0 - (a <= 0.0) * 1.0,),
          formula="[{a} > 0]", latex_formula="[{a} > 0]",
          latex="\\operatorname{relu}({a})", sympy=lambda sp, a: sp.Piecewise((a, a > 0), (0, True)),
          kink=True),
    # ∂sin a/∂a = cos a
    _call(op="sin", forward=realmath.sin, local=lambda a, out: (_cos(a),), formula="cos({a})",
          latex_formula="\\cos({a})",
          doc="Sine (radians)."),
    # ∂cos a/∂a = −sin a
    _call(op="cos", forward=realmath.cos, local=lambda a, out: (-_sin(a),), formula="−sin({a})",
          latex_formula="-\\sin({a})",
          doc="Cosine (radians)."),
    # ∂tan a/∂a = 1 + tan²a
    _call(op="tan", forward=realmath.tan, local=lambda a, out: (1.0 + out * out,), formula="1+tan²({a})",
          latex_formula="1+\\tan^{2}({a})",
          doc="Tangent (radians)."),
    # ∂sinh a/∂a = cosh a
    _call(op="sinh", forward=realmath.sinh, local=lambda a, out: (_cosh(a),), formula="cosh({a})",
          latex_formula="\\cosh({a})",
          doc="Hyperbolic sine; ±inf past the largest float, as PyTorch."),
    # ∂cosh a/∂a = sinh a
    _call(op="cosh", forward=realmath.cosh, local=lambda a, out: (_sinh(a),), formula="sinh({a})",
          latex_formula="\\sinh({a})",
          doc="Hyperbolic cosine; inf past the largest float, as PyTorch."),
    # ∂asin a/∂a = 1/√(1 − a²), written (1 − a)(1 + a) to stay exact near ±1; inf at ±1
    _call(op="asin", forward=realmath.asin,
          local=lambda a, out: (realmath.reciprocal(_sqrt((1.0 - a) * (1.0 + a))),), formula="1/√(1−{a}²)",
          latex_formula="1/\\sqrt{1 - {a}^{2}}",
          latex="\\arcsin({a})", doc="Inverse sine, in radians; `ValueError` outside [-1, 1]."),
    # ∂acos a/∂a = −1/√(1 − a²); -inf at ±1
    _call(op="acos", forward=realmath.acos,
          local=lambda a, out: (-realmath.reciprocal(_sqrt((1.0 - a) * (1.0 + a))),), formula="−1/√(1−{a}²)",
          latex_formula="-1/\\sqrt{1 - {a}^{2}}",
          latex="\\arccos({a})", doc="Inverse cosine, in radians; `ValueError` outside [-1, 1]."),
    # ∂atan a/∂a = 1/(1 + a²)
    _call(op="atan", forward=realmath.atan, local=lambda a, out: (1.0 / (1.0 + a * a),), formula="1/(1+{a}²)",
          latex_formula="1/(1+{a}^{2})",
          latex="\\arctan({a})", doc="Inverse tangent, in radians."),
    # ∂asinh a/∂a = 1/√(a² + 1)
    _call(op="asinh", forward=realmath.asinh, local=lambda a, out: (1.0 / _sqrt(a * a + 1.0),),
          formula="1/√({a}²+1)", latex_formula="1/\\sqrt{{a}^{2}+1}", doc="Inverse hyperbolic sine."),
    # ∂acosh a/∂a = 1/√(a² − 1), written (a − 1)(a + 1); inf at 1
    _call(op="acosh", forward=realmath.acosh,
          local=lambda a, out: (realmath.reciprocal(_sqrt((a - 1.0) * (a + 1.0))),), formula="1/√({a}²−1)",
          latex_formula="1/\\sqrt{{a}^{2} - 1}",
          doc="Inverse hyperbolic cosine; `ValueError` below 1."),
    # ∂atanh a/∂a = 1/(1 − a²)
    _call(op="atanh", forward=realmath.atanh, local=lambda a, out: (1.0 / ((1.0 - a) * (1.0 + a)),),
          formula="1/(1−{a}²)",
          latex_formula="1/(1 - {a}^{2})", doc="Inverse hyperbolic tangent; `ValueError` outside (-1, 1)."),
    # ∂ln(1 + a)/∂a = 1/(1 + a)
    _call(op="log1p", forward=realmath.log1p, local=lambda a, out: (1.0 / (1.0 + a),), formula="1/(1+{a})",
          latex_formula="1/(1+{a})",
          sympy=lambda sp, a: sp.log(1 + a), doc="ln(1 + x), exact for x near 0; `ValueError` for x <= -1."),
    # ∂(e^a − 1)/∂a = e^a = out + 1
    _call(op="expm1", forward=realmath.expm1, local=lambda a, out: (out + 1.0,), formula="exp({a})",
          latex_formula="\\exp({a})",
          sympy=lambda sp, a: sp.exp(a) - 1, doc="e^x − 1, exact for x near 0."),
    # ∂log₂ a/∂a = 1/(a·ln 2)
    _call(op="log2", forward=realmath.log2, local=lambda a, out: (1.0 / (a * _LN2),), formula="1/({a}·ln(2))",
          latex_formula="1/({a} \\cdot \\ln(2))",
          sympy=lambda sp, a: sp.log(a, 2), doc="Base-2 logarithm; `ValueError` for a value <= 0."),
    # ∂log₁₀ a/∂a = 1/(a·ln 10)
    _call(op="log10", forward=realmath.log10, local=lambda a, out: (1.0 / (a * _LN10),),
          formula="1/({a}·ln(10))",
          latex_formula="1/({a} \\cdot \\ln(10))", sympy=lambda sp, a: sp.log(a, 10),
          doc="Base-10 logarithm; `ValueError` for a value <= 0."),
    # ∂2^a/∂a = 2^a·ln 2
    _call(op="exp2", forward=realmath.exp2, local=lambda a, out: (out * _LN2,), formula="2^{a}·ln(2)",
          latex_formula="2^{{a}} \\cdot \\ln(2)",
          sympy=lambda sp, a: 2**a, doc="2 to the power of this value."),
    # ∂sign(a)/∂a = 0 (it jumps at 0, where PyTorch says 0 too)
    _call(op="sign", forward=realmath.sign, local=lambda a, out: (0.0,), formula="0", latex_formula="0",
          doc="1, 0 or -1 as the value is positive, zero or negative (0 for nan, as PyTorch)."),
    # ∂(a·180/π)/∂a = 180/π
    _call(op="degrees", forward=realmath.degrees, local=lambda a, out: (_DEGREE,), formula="180/π",
          latex_formula="180/\\pi ",
          sympy=lambda sp, a: a * 180 / sp.pi, doc="Radians to degrees."),
    # ∂(a·π/180)/∂a = π/180
    _call(op="radians", forward=realmath.radians, local=lambda a, out: (1.0 / _DEGREE,), formula="π/180",
          latex_formula="\\pi /180",
          sympy=lambda sp, a: a * sp.pi / 180, doc="Degrees to radians."),
    # ∂atan2(a, b)/∂a = b/(a² + b²), ∂atan2(a, b)/∂b = −a/(a² + b²): the angle of the point (b, a)
    _call2(op="atan2", forward=realmath.atan2, local=lambda a, b, out: realmath.d_atan2(a, b),
           formulas=("{b}/({a}²+{b}²)", "−{a}/({a}²+{b}²)"),
           latex_formulas=("{b}/({a}^{2}+{b}^{2})", "-{a}/({a}^{2}+{b}^{2})"),
           doc="atan2(y, x): the angle of the point (x, y) in radians, in (−π, π], as math.atan2."),
    # ∂hypot(a, b)/∂a = a/hypot(a, b), ∂/∂b = b/hypot(a, b): hypot(a, b) = √(a² + b²)
    _call2(op="hypot", forward=realmath.hypot, local=realmath.d_hypot,
           formulas=("{a}/√({a}²+{b}²)", "{b}/√({a}²+{b}²)"),
           latex_formulas=("{a}/\\sqrt{{a}^{2}+{b}^{2}}", "{b}/\\sqrt{{a}^{2}+{b}^{2}}"),
           sympy=lambda sp, a, b: sp.sqrt(a**2 + b**2),
           doc="hypot(a, b) = √(a² + b²), without overflow on the way (as math.hypot)."),
    # ∂(a mod b)/∂a = 1, ∂(a mod b)/∂b = −floor(a/b): Python's floor modulo, a − b·floor(a/b)
    Rule(op="%", forward=realmath.mod, local=lambda a, b, out: (1.0, realmath.d_mod_divisor(a, b)),
         formulas=("1", "−floor({a}/{b})"), latex_formulas=("1", "-\\operatorname{floor}({a}/{b})"),
         text="{a} mod {b}", latex="{a} \\bmod {b}", glyph="a mod b", name="mod", precedence=2, ordered=True,
         sympy=lambda sp, a, b: sp.Mod(a, b)),
)}
"""Every operation's rule, keyed by its op name (`Value.op`); ops of your own join it (`custom_op`)."""

BUILT_IN = frozenset(RULES)
"""The built-in ops' names, which an op of your own may not take."""
