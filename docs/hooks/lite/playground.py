"""The playground's Python (its page runs it in Pyodide): what a learner typed becomes a graph.

The expression is read by microgradx's own parser (microgradx.expr: a whitelist, nothing evaluated
by Python) and the values by float(); the page passes both in as strings and gets JSON back.
"""

from __future__ import annotations

import json
import math

import microgradx as mg
from microgradx.expr import ExpressionError, parse


def inputs(text: str) -> str:
    """JSON: the input names of the expression `text` in order, or the error that says what is wrong."""
    try:
        return json.dumps({"inputs": list(parse(text).inputs)})
    except ExpressionError as error:
        return json.dumps({"error": str(error)})


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ExpressionError(f"the value of {name} is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise ExpressionError(f"the value of {name} must be a finite number, got {text!r}")
    return value


def run(text: str, values: str, wrt: str) -> str:
    """JSON: the output, every input's gradient, the chain rule for `wrt` path by path, the stepper."""
    try:
        expression = parse(text)
        if not expression.inputs:
            raise ExpressionError("the expression has no inputs (names like w, x): nothing to differentiate")
        given = json.loads(values)
        numbers = {name: _number(name, str(given.get(name, ""))) for name in expression.inputs}
        output, named = expression.bind(numbers)
        output.backward()
        target = named[wrt] if wrt in expression.inputs else named[expression.inputs[0]]
        explanation = mg.explain(output, target)
        return json.dumps(
            {
                "output": [output.label or "output", output.data],
                "grads": [[name, named[name].grad] for name in expression.inputs],
                "explain": explanation._repr_html_(),
                "explain_text": str(explanation),
                "tree": mg.to_text(output),
                "stepper": str(mg.stepper(output, highlight=target)),
            }
        )
    except (ExpressionError, ValueError, ZeroDivisionError, OverflowError) as error:
        return json.dumps({"error": str(error)})
