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


def _call(op: str, forward: Callable, local: Callable, formula: str, **written: Any) -> Rule:
    """The rule of a function written ``op(a)``: what is not given is spelled from its name."""
    sympy = written.pop("sympy", lambda sp, a: getattr(sp, op)(a))
    spelled = {"text": f"{op}({{a}})", "latex": latex_function(op) + "({a})", "glyph": op, "name": op}
    return Rule(op, forward, local, (formula,), **{**spelled, "sympy": sympy, **written})


def _either(op: str) -> Callable:
    """The op on floats or arrays (`realmath`), or on a Value by its own method (with create_graph)."""
    on_numbers = getattr(realmath, op)
    return lambda x: on_numbers(x) if type(x) is float or realmath.is_number(x) else getattr(x, op)()


_sin, _cos = _either("sin"), _either("cos")

RULES: dict[str, Rule] = {rule.op: rule for rule in (
    # ∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1
    Rule("+", operator.add, lambda a, b, out: (1.0, 1.0), ("1", "1"),
         "{a} + {b}", "{a} + {b}", "+", "add", 1, sympy=lambda sp, a, b: a + b),
    # ∂(a−b)/∂a = 1, ∂(a−b)/∂b = -1
    Rule("-", operator.sub, lambda a, b, out: (1.0, -1.0), ("1", "-1"),
         "{a} − {b}", "{a} - {b}", "a − b", "sub", 1, True, lambda sp, a, b: a - b),
    # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
    Rule("*", operator.mul, lambda a, b, out: (b, a), ("{b}", "{a}"),
         "{a}·{b}", "{a} \\cdot {b}", "×", "mul", 2, sympy=lambda sp, a, b: a * b),
    # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b² = −out/b
    Rule("/", realmath.div, lambda a, b, out: (1.0 / b, -out / b), ("1/{b}", "−{a}/{b}²"),
         "{a}/{b}", "{a} / {b}", "a ÷ b", "div", 2, True, lambda sp, a, b: a / b),
    # ∂(a^b)/∂a = b·a^(b-1), ∂(a^b)/∂b = a^b·ln a (with PyTorch's values at the edges: realmath)
    Rule("**", realmath.power,
         lambda a, b, out: (realmath.d_power_base(a, b, out), realmath.d_power_exponent(a, b, out)),
         ("{b}·{a}^({b}−1)", "{a}^{b}·ln({a})"),
         "{a}^{b}", "{a}^{{b}}", "a^b", "pow", 4, True, lambda sp, a, b: a**b),
    # ∂(−a)/∂a = -1
    Rule("neg", operator.neg, lambda a, out: (-1.0,), ("-1",), "−{a}", "-{a}", "−", "neg", 3,
         sympy=lambda sp, a: -a),
    # ∂|a|/∂a = sign(a). Here and in relu, (a > 0) * 1.0 is [a > 0] as a number (float, Value or
    # array); the derivative at the kink is 0, at nan 0 for abs and 1 for relu, as in PyTorch.
    _call("abs", abs, lambda a, out: ((a > 0.0) * 1.0 - (a < 0.0) * 1.0,), "sign({a})",
          text="|{a}|", latex="\\left|{a}\\right|", glyph="|·|", sympy=lambda sp, a: sp.Abs(a), kink=True),
    _call("exp", realmath.exp, lambda a, out: (out,), "exp({a})",  # ∂e^a/∂a = e^a
          doc="e to the power of this value."),
    _call("log", realmath.log, lambda a, out: (1.0 / a,), "1/{a}",  # ∂ln a/∂a = 1/a
          doc="Natural logarithm; `ValueError` for a value <= 0."),
    _call("sqrt", realmath.sqrt, realmath.d_sqrt, "1/(2·√{a})",  # ∂√a/∂a = 1/(2√a), ±inf at ±0
          text="√({a})", latex="\\sqrt{{a}}", glyph="√",
          doc="Square root; `ValueError` for a negative value."),
    _call("tanh", realmath.tanh, lambda a, out: (1.0 - out * out,), "1−tanh²({a})",  # ∂tanh a = 1 − tanh²a
          doc="Hyperbolic tangent (stable for any input)."),
    # ∂σ(a)/∂a = σ(a)·(1 − σ(a))
    _call("sigmoid", realmath.sigmoid, lambda a, out: (out * (1.0 - out),), "σ({a})·(1−σ({a}))",
          text="σ({a})", latex="\\sigma({a})", glyph="σ", sympy=lambda sp, a: 1 / (1 + sp.exp(-a)),
          doc="Logistic sigmoid 1/(1+e^−x), computed without overflow for any input."),
    _call("relu", realmath.relu, lambda a, out: (1.0 - (a <= 0.0) * 1.0,), "[{a} > 0]",  # relu' = [a > 0]
          latex="\\operatorname{relu}({a})", sympy=lambda sp, a: sp.Piecewise((a, a > 0), (0, True)),
          kink=True),
    _call("sin", realmath.sin, lambda a, out: (_cos(a),), "cos({a})",  # ∂sin a/∂a = cos a
          doc="Sine (radians)."),
    _call("cos", realmath.cos, lambda a, out: (-_sin(a),), "−sin({a})",  # ∂cos a/∂a = −sin a
          doc="Cosine (radians)."),
)}
"""Every operation's rule, keyed by its op name (`Value.op`)."""
