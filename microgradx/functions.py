"""The ops as functions of a Value or a number (``exp(x)``, ``atan2(y, x)``), and `zero_grad`.

Why this exists: ``mg.exp(2.0)`` and ``mg.exp(w)`` both read like the math, where ``Value`` has
only the method ``w.exp()``. Each function makes its op's node by its rule (`rules.RULES`), so
the op is still declared once.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable

from microgradx.engine import RULES, Number, Value, apply
from microgradx.realmath import type_name

__all__ = [
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "call",
    "cos",
    "cosh",
    "degrees",
    "exp",
    "exp2",
    "expm1",
    "hypot",
    "log",
    "log1p",
    "log2",
    "log10",
    "radians",
    "relu",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "tan",
    "tanh",
    "zero_grad",
]


def call(op: str, *operands: Value | Number) -> Value:
    """The node of `op` on its operands, as a function call: where an operator hands Python back
    NotImplemented (so that Python raises its own error), a call says what was wrong."""
    out = apply(op, *operands)
    if out is NotImplemented:
        wrong = next(x for x in operands if not isinstance(x, Value | numbers.Real))
        raise TypeError(f"{op}() takes Values or real numbers, got {type_name(wrong)}")
    return out


def _function(op: str) -> Callable[..., Value]:
    """The function of the rule `op`, written as a call ``op(a)`` or ``op(a, b)``."""
    rule = RULES[op]

    def function(*operands: Value | Number) -> Value:
        if len(operands) != len(rule.formulas):
            raise TypeError(f"{op}() takes {len(rule.formulas)} argument{'s' * (len(rule.formulas) > 1)}, "
                            f"got {len(operands)}")
        return call(op, *operands)

    function.__name__ = function.__qualname__ = op
    said = rule.doc or f"{rule.text.format(a='a', b='b')}, as RULES[{op!r}] declares it."
    function.__doc__ = f"{said} Accepts Values or numbers; returns a Value."
    return function


exp, log, sqrt, tanh = _function("exp"), _function("log"), _function("sqrt"), _function("tanh")
sigmoid, relu, sin, cos = _function("sigmoid"), _function("relu"), _function("sin"), _function("cos")
tan, sinh, cosh = _function("tan"), _function("sinh"), _function("cosh")
asin, acos, atan = _function("asin"), _function("acos"), _function("atan")
asinh, acosh, atanh = _function("asinh"), _function("acosh"), _function("atanh")
log1p, expm1, log2, log10, exp2 = (_function(op) for op in ("log1p", "expm1", "log2", "log10", "exp2"))
sign, degrees, radians = _function("sign"), _function("degrees"), _function("radians")
atan2 = _function("atan2")  # atan2(y, x): the angle of the point (x, y)
hypot = _function("hypot")  # hypot(a, b) = √(a² + b²)


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``.grad = 0.0`` on each Value (do it before each training step's backward)."""
    for v in values:
        if type(v) is not Value:
            raise TypeError(f"zero_grad expects Values, got {type_name(v)}")
        v.grad = 0.0
