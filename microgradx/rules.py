"""The rule table: everything each operation is, declared once, and every module reads it here.

A `Rule` holds an op's forward (its operands' numbers to the result's), its local derivatives
∂out/∂operand, a formula per operand, and how it is written, drawn and said to SymPy. The local
derivatives are plain arithmetic, so one function serves floats in `Value.backward` and Values in
`grad(..., create_graph=True)`, whose results can be differentiated again. Each rule sits under
a one-line comment with its derivative. Adding an op is one entry here (a `_call` for a function
``op(a)``, which `engine` makes the method ``x.op()``) and its rows in the op tables of the tests.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, NamedTuple

from microgradx import realmath

__all__ = ["RULES", "Rule"]


class Rule(NamedTuple):
    """Everything one operation is, declared once: every other module reads it from here."""

    op: str
    forward: Callable[..., float]  # the operands' numbers -> the result's (floats, or NumPy arrays)
    local: Callable[..., tuple]  # (*operands, out) -> ∂out/∂operand for each, on floats or on Values
    formulas: tuple[str, ...]  # the same in words, over {a}, {b} (the operands) and {out}
    text: str = ""  # how it is written, over {a} and {b}
    latex: str = ""  # the same in LaTeX
    glyph: str = ""  # in its circle in a picture
    name: str = ""  # in node names (mul3); for a call, its function in the expression language
    precedence: int = 9  # how tightly it binds (9: a call)
    ordered: bool = False  # pictures say which operand is which (a − b)
    sympy: Callable[..., Any] | None = None  # (the sympy module, *operands) -> the op in SymPy
    doc: str = ""  # for a function of one value, the docstring of its method (x.exp())
    kink: bool = False  # its derivative jumps where its operand crosses 0 (`hand` minds the side)

    @property
    def is_function(self) -> bool:
        """True for a function of one value, written as a call ``op(a)`` (|a| included)."""
        return self.precedence == 9 and len(self.formulas) == 1


# LaTeX's own named operators (\exp, \tanh): any other function name is written \operatorname{name}.
LATEX_OPERATORS = frozenset("arccos arcsin arctan arg cos cosh cot coth csc deg det dim exp gcd hom inf ker "
                            "lg lim ln log max min sec sin sinh sup tan tanh".split())


def latex_function(name: str) -> str:
    """How LaTeX writes the function `name`: ``\\exp``, or ``\\operatorname{relu}``."""
    return f"\\{name}" if name in LATEX_OPERATORS else f"\\operatorname{{{name}}}"


def _call(op: str, *, forward: Callable, local: Callable, formula: str, **written: Any) -> Rule:
    """The rule of a function written ``op(a)``: what is not given is spelled from its name."""
    sympy = written.pop("sympy", lambda sp, a: getattr(sp, op)(a))
    spelled = {"text": f"{op}({{a}})", "latex": latex_function(op) + "({a})", "glyph": op, "name": op}
    return Rule(op=op, forward=forward, local=local, formulas=(formula,),
                **{**spelled, "sympy": sympy, **written})


def _either(op: str) -> Callable:
    """The op on floats or arrays (`realmath`), or on a Value by its own method (with create_graph)."""
    on_numbers = getattr(realmath, op)
    return lambda x: on_numbers(x) if type(x) is float or realmath.is_number(x) else getattr(x, op)()


_sin, _cos = _either("sin"), _either("cos")

RULES: dict[str, Rule] = {rule.op: rule for rule in (
    # ∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1
    Rule(op="+", forward=operator.add, local=lambda a, b, out: (1.0, 1.0), formulas=("1", "1"),
         text="{a} + {b}", latex="{a} + {b}", glyph="+", name="add", precedence=1,
         sympy=lambda sp, a, b: a + b),
    # ∂(a−b)/∂a = 1, ∂(a−b)/∂b = -1
    Rule(op="-", forward=operator.sub, local=lambda a, b, out: (1.0, -1.0), formulas=("1", "-1"),
         text="{a} − {b}", latex="{a} - {b}", glyph="a − b", name="sub", precedence=1, ordered=True,
         sympy=lambda sp, a, b: a - b),
    # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
    Rule(op="*", forward=operator.mul, local=lambda a, b, out: (b, a), formulas=("{b}", "{a}"),
         text="{a}·{b}", latex="{a} \\cdot {b}", glyph="×", name="mul", precedence=2,
         sympy=lambda sp, a, b: a * b),
    # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b² = −out/b
    Rule(op="/", forward=realmath.div, local=lambda a, b, out: (1.0 / b, -out / b),
         formulas=("1/{b}", "−{a}/{b}²"),
         text="{a}/{b}", latex="{a} / {b}", glyph="a ÷ b", name="div", precedence=2, ordered=True,
         sympy=lambda sp, a, b: a / b),
    # ∂(a^b)/∂a = b·a^(b-1), ∂(a^b)/∂b = a^b·ln a (with PyTorch's values at the edges: realmath)
    Rule(op="**", forward=realmath.power,
         local=lambda a, b, out: (realmath.d_power_base(a, b, out), realmath.d_power_exponent(a, b, out)),
         formulas=("{b}·{a}^({b}−1)", "{a}^{b}·ln({a})"),
         text="{a}^{b}", latex="{a}^{{b}}", glyph="a^b", name="pow", precedence=4, ordered=True,
         sympy=lambda sp, a, b: a**b),
    # ∂(−a)/∂a = -1
    Rule(op="neg", forward=operator.neg, local=lambda a, out: (-1.0,), formulas=("-1",),
         text="−{a}", latex="-{a}", glyph="−", name="neg", precedence=3, sympy=lambda sp, a: -a),
    # ∂|a|/∂a = sign(a). Here and in relu, (a > 0) * 1.0 is [a > 0] as a number (float, Value or
    # array); the derivative at the kink is 0, at nan 0 for abs and 1 for relu, as in PyTorch.
    _call(op="abs", forward=abs, local=lambda a, out: ((a > 0.0) * 1.0 - (a < 0.0) * 1.0,),
          formula="sign({a})",
          text="|{a}|", latex="\\left|{a}\\right|", glyph="|·|", sympy=lambda sp, a: sp.Abs(a), kink=True),
    # ∂e^a/∂a = e^a
    _call(op="exp", forward=realmath.exp, local=lambda a, out: (out,), formula="exp({a})",
          doc="e to the power of this value."),
    # ∂ln a/∂a = 1/a
    _call(op="log", forward=realmath.log, local=lambda a, out: (1.0 / a,), formula="1/{a}",
          doc="Natural logarithm; `ValueError` for a value <= 0."),
    # ∂√a/∂a = 1/(2√a), ±inf at ±0
    _call(op="sqrt", forward=realmath.sqrt, local=realmath.d_sqrt, formula="1/(2·√{a})",
          text="√({a})", latex="\\sqrt{{a}}", glyph="√",
          doc="Square root; `ValueError` for a negative value."),
    # ∂tanh a/∂a = 1 − tanh²a
    _call(op="tanh", forward=realmath.tanh, local=lambda a, out: (1.0 - out * out,), formula="1−tanh²({a})",
          doc="Hyperbolic tangent (stable for any input)."),
    # ∂σ(a)/∂a = σ(a)·(1 − σ(a))
    _call(op="sigmoid", forward=realmath.sigmoid, local=lambda a, out: (out * (1.0 - out),),
          formula="σ({a})·(1−σ({a}))",
          text="σ({a})", latex="\\sigma({a})", glyph="σ", sympy=lambda sp, a: 1 / (1 + sp.exp(-a)),
          doc="Logistic sigmoid 1/(1+e^−x), computed without overflow for any input."),
    # relu' = [a > 0]
    _call(op="relu", forward=realmath.relu, local=lambda a, out: (1.0 - (a <= 0.0) * 1.0,),
          formula="[{a} > 0]",
          latex="\\operatorname{relu}({a})", sympy=lambda sp, a: sp.Piecewise((a, a > 0), (0, True)),
          kink=True),
    # ∂sin a/∂a = cos a
    _call(op="sin", forward=realmath.sin, local=lambda a, out: (_cos(a),), formula="cos({a})",
          doc="Sine (radians)."),
    # ∂cos a/∂a = −sin a
    _call(op="cos", forward=realmath.cos, local=lambda a, out: (-_sin(a),), formula="−sin({a})",
          doc="Cosine (radians)."),
)}
"""Every operation's rule, keyed by its op name (`Value.op`)."""
