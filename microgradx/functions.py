"""The ops as functions of a Value or a number (``exp(x)``, ``relu(x)``), and `zero_grad`.

Why this exists: ``mg.exp(2.0)`` and ``mg.exp(w)`` both read like the math, where ``Value`` has
only the method ``w.exp()``. Each function is its op's `Value` method, so the op is still
declared once (`rules.RULES`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from microgradx.engine import Number, Value
from microgradx.realmath import type_name

__all__ = ["cos", "exp", "log", "relu", "sigmoid", "sin", "sqrt", "tanh", "zero_grad"]


def _function(op: str) -> Callable[[Value | Number], Value]:
    method = getattr(Value, op)

    def function(x: Value | Number) -> Value:
        return method(x if type(x) is Value else Value(x))

    function.__name__ = function.__qualname__ = op
    function.__doc__ = f"{method.__doc__} Accepts a Value or a number; returns a Value."
    return function


exp, log, sqrt, tanh = _function("exp"), _function("log"), _function("sqrt"), _function("tanh")
sigmoid, relu, sin, cos = _function("sigmoid"), _function("relu"), _function("sin"), _function("cos")


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``.grad = 0.0`` on each Value (do it before each training step's backward)."""
    for v in values:
        if type(v) is not Value:
            raise TypeError(f"zero_grad expects Values, got {type_name(v)}")
        v.grad = 0.0
