"""`to_sympy`: the graph of a Value as a SymPy expression, to compare with a hand derivation.

Labelled leaves become symbols and unlabelled leaves numbers, so ``sympy.diff(to_sympy(E), w)``
is the derivative a learner would write by hand. SymPy is an optional extra
(``pip install 'microgradx[sym]'``) and is imported only when `to_sympy` is called.
"""

from __future__ import annotations

import math
from typing import Any

from microgradx.engine import RULES, Value, topological_order

__all__ = ["to_sympy"]


def _import_sympy() -> Any:
    try:
        import sympy
    except ImportError as error:
        raise ImportError(
            "to_sympy needs SymPy, which is not installed: pip install 'microgradx[sym]'"
        ) from error
    return sympy


def _sympy_constant(sympy: Any, x: float) -> Any:
    """A constant leaf: an exact Integer for whole numbers (so ``x**2`` stays ``x**2``), else a Float."""
    if math.isnan(x):
        return sympy.nan
    if math.isinf(x):
        return sympy.oo if x > 0 else -sympy.oo
    return sympy.Integer(int(x)) if x.is_integer() else sympy.Float(x)


def to_sympy(output: Value) -> Any:
    """The SymPy expression computed by `output`'s graph: labelled leaves as symbols, others as numbers.

    Labels of intermediate nodes are ignored (their expressions are written out); two different
    leaves with the same label raise `ValueError`, since one symbol cannot stand for both.
    Shared sub-expressions are converted once, iteratively, so deep graphs work.

    >>> w = Value(0.5, "w"); print(to_sympy((w * 3.0 - 1) ** 2))
    (3*w - 1)**2
    """
    if type(output) is not Value:
        raise TypeError(f"to_sympy(output) must be a Value, got {type(output).__name__}")
    sympy = _import_sympy()
    leaves_by_label: dict[str, Value] = {}
    converted: dict[Value, Any] = {}
    for node in reversed(topological_order(output)):  # forward order: operands before results
        if node.parents:
            # each op as its rule declares it on SymPy (relu a Piecewise: its derivative at 0 is 0)
            converted[node] = RULES[node.op].sympy(sympy, *(converted[p] for p in node.parents))
        elif node.label:
            first = leaves_by_label.setdefault(node.label, node)
            if first is not node:
                raise ValueError(
                    f"two different leaves share the label {node.label!r} "
                    f"(data {first.data!r} and {node.data!r}); give each input its own label"
                )
            converted[node] = sympy.Symbol(node.label)
        else:
            converted[node] = _sympy_constant(sympy, node.data)
    return converted[output]
