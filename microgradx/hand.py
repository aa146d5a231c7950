"""Hand-derived derivatives as learners write them, and what a wrong one is missing.

`compare` takes a learner's derivative three ways: a Python function of the inputs, a formula
string in the command line's expression language (`microgradx.expr`, never run as Python), or a
SymPy expression. `hand_function` turns each into the same thing, a function of a `Sample` (one
point with the graph `f` builds there), so one code path evaluates all three: a SymPy expression
is written as SymPy prints it and read as that string (`sympy_text`), so it gives the same
numbers and the same domain errors (``1/(w-1)`` at w = 1 divides by zero), and an operation the
expression language lacks (floor, Product) is refused at once. A formula may name the inputs and
every node that `f` labels (``ŷ``, ``z``): their values come from that graph.

`nearby` finds the random points near the given one at which `microgradx.diagnosis` compares a
wrong hand derivative with autograd, to name what it is missing.
"""

from __future__ import annotations

import functools
import math
import random
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from microgradx.engine import RULES, Value, grad, topological_order
from microgradx.expr import FUNCTIONS, Expression, ExpressionError, check_name, parse
from microgradx.node import returned_number

__all__ = ["DOMAIN_ERRORS", "HandFunction", "Sample", "check_names", "hand_function", "nearby", "sympy_text"]

SAMPLES = 4
"""How many random points near the given one a diagnosis checks (points where f raises are skipped)."""

TRIES = 40
"""How many random points are drawn at most, per spread, to find the SAMPLES where f is defined."""

SHRINKS = 3
"""How many times the spread halves when too few points lie on the given point's side of every kink."""

SPREAD = 0.5
"""Each input of a random point lies within ±SPREAD·max(1, |x|) of its value at the given point."""

DOMAIN_ERRORS = (ValueError, ArithmeticError)
"""What f, or a hand formula, raises where it is undefined (``log(-1)``, ``1/0``): that point is skipped."""


# --- a point, with the graph f builds there -------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Sample:
    """One point: the inputs, the graph `f` builds there (newest node first) and autograd's derivatives."""

    point: dict[str, float]
    inputs: dict[str, Value]
    output: Value
    order: list[Value]
    grads: dict[str, float]

    @classmethod
    def of(cls, output: Value, inputs: Mapping[str, Value], point: dict[str, float]) -> Sample:
        """The sample of a graph already built: `inputs` are its leaves, named as in `point`."""
        grads = grad(output, list(inputs.values()))
        order = topological_order(output)
        return cls(dict(point), dict(inputs), output, order, dict(zip(inputs, grads, strict=True)))

    def names(self) -> dict[str, float | None]:
        """Every name a formula may use: the inputs, then f's labels (None: two nodes share it)."""
        names: dict[str, float | None] = dict(self.point)
        labels: dict[str, Value] = {}
        for node in reversed(self.order):
            label = unicodedata.normalize("NFKC", node.label)
            if not label or label in self.point:
                continue
            first = labels.setdefault(label, node)
            names[label] = node.data if first is node else None
        return names


_KINKS = {op for op, rule in RULES.items() if rule.kink}
"""Operations whose derivative jumps where their input crosses 0: a formula may hold on one side only."""


def _branch(node: Value) -> int:
    """Which side of its kink a node is on (the sign of the input of relu, abs, or a fractional power's
    base), or 0 for a node without a kink: points on different branches are different formulas."""
    if node.op in _KINKS or (node.op == "**" and not _integer_constant(node.parents[1])):
        a = node.parents[0].data
        return (a > 0.0) - (a < 0.0) + 2  # 1, 2, 3: below, at, above the kink
    return 0


def _integer_constant(node: Value) -> bool:
    return not node.parents and float(node.data).is_integer()


def _structure(order: list[Value]) -> list[tuple[str, tuple[int, ...], int]]:
    """The graph's shape and branch: each node's op, its parents' positions, and its side of any kink."""
    position = {node: i for i, node in enumerate(order)}
    return [(node.op, tuple(position[p] for p in node.parents), _branch(node)) for node in order]


def nearby(build: Callable[[dict[str, float]], Sample], given: Sample, seed: int | None) -> list[Sample]:
    """Up to SAMPLES random points near `given` where f is defined and builds the same graph on the
    same side of every kink (relu, abs): a formula right on this branch is right at all of them.

    `build` makes the sample of a point (raising a domain error where f is undefined). The points
    are drawn from ``random.Random(seed)``, so the same seed gives the same points. When points on
    the same branch are rare, the spread halves every TRIES draws, SHRINKS times at most; fewer
    than SAMPLES points may come back (none at a kink itself).
    """
    rng = random.Random(seed)
    shape = _structure(given.order)
    found: list[Sample] = []
    for attempt in range(TRIES * (SHRINKS + 1)):
        if len(found) == SAMPLES:
            break
        spread = SPREAD * 0.5 ** (attempt // TRIES)
        point = {name: x + rng.uniform(-spread, spread) * max(1.0, abs(x)) for name, x in given.point.items()}
        try:
            sample = build(point)
        except DOMAIN_ERRORS:
            continue
        finite = math.isfinite(sample.output.data) and all(map(math.isfinite, sample.grads.values()))
        if finite and _structure(sample.order) == shape:
            found.append(sample)
    return found


# --- one function of a sample for each way of writing a derivative --------------------------------

HandFunction = Callable[[Sample], float]


def hand_function(
    name: str,
    formula: object,
    call: Callable[[Callable[..., Any], dict[str, float]], Any],
    given: Sample,
    *,
    where: str | None = None,
    may: str = "",
) -> HandFunction:
    """`formula` (a callable, a formula string or a SymPy expression) as a function of a `Sample`.

    `call` calls a Python function with the point's floats (by keyword or by position, as `f`).
    Formulas are parsed and their names checked against `given` now, so a typo is an error at once.
    Errors name it `where` (``hand['w']`` unless given) and say which names it `may` use.
    """
    where = where or f"hand[{name!r}]"
    sympy = sys.modules.get("sympy")  # a SymPy expression can only exist once SymPy is imported
    if sympy is not None and isinstance(formula, sympy.Basic) and not isinstance(formula, sympy.Expr):
        side = " (for an equation, its .rhs)" if isinstance(formula, sympy.Equality) else ""
        raise TypeError(
            f"{where} is a SymPy {type(formula).__name__}, {formula}, not an expression: give the "
            f"derivative itself as an expression{side}, e.g. (ŷ - y)*x"
        )
    if sympy is not None and isinstance(formula, sympy.Basic):
        formula = sympy_text(where, formula, sympy)  # then read as a string is
    if isinstance(formula, str):
        try:
            expression = parse(formula)
        except ExpressionError as e:  # a ParseError keeps its type and .column
            e.args = (f"{where}: {e}",)
            raise e from None
        check_names(where, expression.inputs, expression.assigned, given.names(), may or _MAY)
        return lambda sample: _formula_value(where, expression, expression.inputs, sample)
    if callable(formula):
        return lambda sample: returned_number(where, call(formula, dict(sample.point)))
    raise TypeError(
        f"{where} must be a function of the inputs, a formula string such as '(ŷ - y)*x' "
        f"or a SymPy expression, got {type(formula).__name__}"
    )


def check_names(
    where: str, used: tuple[str, ...], assigned: tuple[str, ...], known: Mapping[str, float | None], may: str
) -> None:
    """Refuse a formula that uses a name without a value, a label of two nodes, or assigns a known name.

    `known` maps each name a formula may use to its value (None: it labels two nodes); `may` says
    in words what those names are. ``x = 2; …`` would silently replace the input x, so it is
    refused as the command line refuses it. Raises ValueError naming the names.
    """
    names = ", ".join(known)
    unknown = [n for n in used if n not in known]
    if unknown:
        raise ValueError(f"{where}: no value for {', '.join(unknown)} ({may}: {names})")
    shared = [n for n in used if known[n] is None]
    if shared:
        raise ValueError(f"{where} uses {', '.join(shared)}, which labels more than one node of f's graph")
    clash = [n for n in assigned if n in known]
    if clash:
        raise ValueError(
            f"{where} assigns {', '.join(clash)}, which is already a name ({may}: {names}); "
            "give the result another name"
        )


_MAY = "a hand formula may use the inputs and the labels of f's graph"


def _values(where: str, variables: tuple[str, ...], sample: Sample) -> dict[str, float]:
    names = sample.names()
    values = {n: names.get(n) for n in variables}
    lost = [n for n, x in values.items() if x is None]
    if lost:  # f labels differently at this point than at the given one
        raise ValueError(f"{where}: f's graph has no single node labelled {', '.join(lost)} here")
    return values  # type: ignore[return-value]


def _formula_value(where: str, expression: Expression, variables: tuple[str, ...], sample: Sample) -> float:
    from microgradx.engine import no_grad

    try:
        with no_grad():
            return expression.evaluate(_values(where, variables, sample), overflow=True).data
    except ExpressionError as e:
        raise ExpressionError(f"{where}: {e}") from None


def sympy_text(where: str, formula: Any, sympy: Any) -> str:
    """A SymPy expression as a formula string, for the string path to read: same numbers, same errors.

    The expression is written as SymPy prints it (``1/(w - 1)``, ``x/2``, ``sqrt(w)``), with each
    float, pi or E as its shortest float text, so ``1/(w-1)`` at w = 1 divides by zero as the string
    does; SymPy evaluates nothing. Anything the expression language has no operation for (floor,
    Product, Piecewise, I), a name it cannot read, or a number no float holds is a ValueError now,
    before any point is evaluated.
    """
    functions = _sympy_functions(sympy)
    todo = [formula]
    while todo:  # no recursion: a SymPy tree may be deep
        node = todo.pop()
        if isinstance(node, sympy.Symbol):
            try:
                check_name(node.name)
            except ExpressionError as e:
                raise ValueError(f"{where}: the symbol {e}") from None
        elif isinstance(node, sympy.Rational):
            _float_of(where, int(node.p)), _float_of(where, int(node.q))
        elif isinstance(node, sympy.Number | sympy.NumberSymbol) and node.is_real and node.is_finite:
            _float_of(where, node)  # a Float, pi, E
        elif isinstance(node, sympy.Add | sympy.Mul | sympy.Pow) or type(node) in functions:
            todo += node.args
        else:
            what = "a number that is not real and finite" if isinstance(node, sympy.Number) else None
            what = what or ("not a real number" if node.is_number and node.is_real is False else None)
            raise ValueError(
                f"{where} uses {_short(node)} ({what or type(node).__name__}), which a hand formula "
                f"cannot use: write it with numbers, + - * / ** and {', '.join(FUNCTIONS)}"
            )
    return _printer(sympy).doprint(formula)


@functools.cache
def _sympy_functions(sympy: Any) -> dict[type, str]:
    """SymPy's classes for the expression language's functions (Abs: abs, exp: exp, ...), read from
    the rule table: a rule's SymPy form of a symbol, when it is one SymPy function of it."""
    a = sympy.Symbol("a")
    found = {}
    for rule in RULES.values():
        form = rule.sympy(sympy, a) if rule.is_function and rule.sympy else None
        if isinstance(form, sympy.Function) and form.args == (a,):
            found[type(form)] = rule.name
    return found


@functools.cache
def _printer(sympy: Any) -> Any:
    """SymPy's text printer, writing a float, pi or E as the float the string path reads, and each
    function by its name in the expression language (abs, not Abs)."""
    functions = _sympy_functions(sympy)

    def number(self: Any, node: Any) -> str:
        text = repr(float(node))
        return f"({text})" if text.startswith("-") else text

    def function(self: Any, node: Any) -> str:
        return f"{functions[type(node)]}({self._print(node.args[0])})"

    methods = {"_print_Float": number, "_print_NumberSymbol": number, "_print_Pi": number}
    methods |= {"_print_Exp1": number, "_print_GoldenRatio": number, "_print_TribonacciConstant": number}
    methods |= {f"_print_{cls.__name__}": function for cls in functions}
    return type("FloatPrinter", (sympy.printing.str.StrPrinter,), methods)()


def _short(node: Any) -> str:
    """A SymPy node's text, cut to a line (a huge integer has no text in Python: its type stands in)."""
    try:
        text = str(node)
    except ValueError:
        return type(node).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _float_of(where: str, number: Any) -> float:
    """A SymPy or Python number as a float, or a ValueError when no float holds it (as the parser says)."""
    try:
        x = float(number)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        if isinstance(number, int):
            size = f"an integer of about {int(number.bit_length() * math.log10(2)) + 1:,} digits"
        else:
            size = _short(number)
        raise ValueError(f"{where} holds {size}, which is too large for a float")
    return x
