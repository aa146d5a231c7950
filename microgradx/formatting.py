"""How nodes, numbers and local-derivative formulas are written, once for every consumer.

`explain`, `draw`, the HTML stepper and the CLI all name nodes and print numbers through here, so
the same node reads the same everywhere. Formulas come from the engine's rule table (`RULES`).
"""

from __future__ import annotations

import math
import re

from microgradx.engine import RULES, Value, topological_order

__all__ = ["expression", "fmt", "local_formula", "node_names"]

# How each op is written as an expression, and how tightly it binds (higher binds tighter).
_INFIX = {"+": (" + ", 1), "-": (" − ", 1), "*": ("·", 2), "/": ("/", 2), "**": ("^", 4)}
_PREFIX = {"neg": ("−", 3)}
_CALL = {
    "abs": ("|", "|"),
    "exp": ("exp(", ")"),
    "log": ("log(", ")"),
    "sqrt": ("√(", ")"),
    "tanh": ("tanh(", ")"),
    "sigmoid": ("σ(", ")"),
    "relu": ("relu(", ")"),
    "sin": ("sin(", ")"),
    "cos": ("cos(", ")"),
}
_WORD = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "neg": "neg"}
_ATOM = 9  # precedence of a name, number or call: never needs parentheses

MAX_EXPRESSION = 24
"""An unlabelled node is named by its expression up to this many characters, else by op and index."""


def fmt(x: float, digits: int = 4) -> str:
    """A number in at most `digits` significant digits: ``0.1040``-style, compact, no ``-0``."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "−inf"
    if x == 0.0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", "−")


def _wrap(text: str, precedence: int, needed: int) -> str:
    return f"({text})" if precedence < needed else text


def expression(node: Value, names: dict[Value, tuple[str, int]]) -> tuple[str, int]:
    """Write `node` as an expression of its parents' names; returns (text, precedence)."""
    op = node.op
    parents = [names[p] for p in node.parents]
    if op in _INFIX:
        symbol, prec = _INFIX[op]
        (a, pa), (b, pb) = parents
        # Left-associative operators need parentheses on the right at equal precedence; ^ on the left.
        left = _wrap(a, pa, prec + (1 if op == "**" else 0))
        right = _wrap(b, pb, prec + (0 if op == "**" else 1) if op in ("-", "/", "**") else prec)
        return f"{left}{symbol}{right}", prec
    if op in _PREFIX:
        symbol, prec = _PREFIX[op]
        ((a, pa),) = parents
        return f"{symbol}{_wrap(a, pa, prec + 1)}", prec
    opening, closing = _CALL[op]
    ((a, _),) = parents
    return f"{opening}{a}{closing}", _ATOM


def node_names(root: Value, max_expression: int = MAX_EXPRESSION) -> dict[Value, str]:
    """A readable, unique name for every node of `root`'s graph.

    A label is used as it is; an unlabelled constant is its number; an unlabelled result is its
    expression in its operands' names (``yhat − y``) while that stays short, else its op and an
    index in forward order (``mul3``). Names are unique: a repeat gets ``#2``, ``#3``, ...
    """
    forward = topological_order(root)[::-1]
    written: dict[Value, tuple[str, int]] = {}
    taken: dict[str, int] = {}
    counters: dict[str, int] = {}
    for node in forward:
        if node.label:
            text, prec = node.label, _ATOM
        elif not node.parents:
            text, prec = fmt(node.data), _ATOM if node.data >= 0 else 3
        else:
            text, prec = expression(node, written)
            if len(text) > max_expression:
                word = _WORD.get(node.op, node.op)
                counters[word] = counters.get(word, 0) + 1
                text, prec = f"{word}{counters[word]}", _ATOM
        seen = taken.get(text, 0)
        taken[text] = seen + 1
        if seen and (node.label or node.parents):
            text, prec = f"{text}#{seen + 1}", _ATOM
        written[node] = (text, prec)
    return {node: text for node, (text, _) in written.items()}


def _operand(name: str) -> str:
    """A name as it must appear beside an operator: compound expressions get parentheses."""
    depth = 0
    for i, ch in enumerate(name):
        if ch in "(|":
            depth += 1 if ch == "(" or name.count("|", 0, i) % 2 == 0 else -1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and (ch in "+·/^ " or (ch == "−" and i == 0)):
            return f"({name})"
    return name


_PLACEHOLDER = re.compile(r"\{(a|b|out)\}")


def _fill(template: str, raw: dict[str, str]) -> str:
    """Put names into a rule's formula; a name alone inside a call's parentheses needs no more."""

    def substitute(match: re.Match[str]) -> str:
        name = raw[match.group(1)]
        start, end = match.span()
        whole = start == 0 and end == len(template)
        alone = whole or (template[start - 1 : start] == "(" and template[end : end + 1] == ")")
        return name if alone else _operand(name)

    return _PLACEHOLDER.sub(substitute, template)


def local_formula(node: Value, index: int, names: dict[Value, str]) -> str:
    """The local derivative ∂node/∂(its operand `index`) as a formula in node names.

    The formula is the engine's own (`RULES[node.op].formulas`), with a constant exponent
    worked out so that ``∂(d²)/∂d`` reads ``2·d``.
    """
    parents = node.parents
    if node.op == "**" and index == 0 and not parents[1].parents and not parents[1].label:
        exponent = parents[1].data
        a = _operand(names[parents[0]])
        lowered = exponent - 1.0
        if lowered == 0.0:
            return fmt(exponent)
        power = a if lowered == 1.0 else f"{a}^{fmt(lowered)}"
        return power if exponent == 1.0 else f"{fmt(exponent)}·{power}"
    raw = {"a": names[parents[0]], "b": names[parents[-1]], "out": names[node]}
    return _fill(RULES[node.op].formulas[index], raw)
