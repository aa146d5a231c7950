"""Hand-derived derivatives as learners write them, and what a wrong one is missing.

`compare` takes a learner's derivative three ways: a Python function of the inputs, a formula
string in the command line's expression language (`microgradx.expr`, never run as Python), or a
SymPy expression. `hand_function` turns each into the same thing, a function of a `Sample` (one
point with the graph `f` builds there), so one code path evaluates all three: a SymPy expression
is written as SymPy prints it and read as that string (`sympy_text`), so it gives the same
numbers and the same domain errors (``1/(w-1)`` at w = 1 divides by zero), and an operation the
expression language lacks (floor, Product) is refused at once. A formula may name the inputs and
every node that `f` labels (``ŷ``, ``z``): their values come from that graph.

When a hand derivative is wrong, `diagnose` looks for the mistake: it compares autograd with the
hand value at the point and at a few random points near it, and names the ratio when it is a
factor of the chain rule (``the factor ∂z/∂w = x is missing``), a sign, a constant, or some of
several paths. It says "no simple relation found" rather than guess.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import random
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from microgradx.engine import RULES, Value, grad, local_derivatives, topological_order
from microgradx.expr import FUNCTIONS, Expression, ExpressionError, check_name, parse
from microgradx.formatting import derivative_name, fmt

__all__ = ["Diagnosis", "Sample", "check_names", "diagnose", "hand_function", "nearby", "sympy_text"]

SAMPLES = 4
"""How many random points near the given one a diagnosis checks (points where f raises are skipped)."""

TRIES = 40
"""How many random points are drawn at most, per spread, to find the SAMPLES where f is defined."""

SHRINKS = 3
"""How many times the spread halves when too few points lie on the given point's side of every kink."""

MIN_POINTS = 3
"""The fewest points (the given one included) a diagnosis names a relation from."""

SPREAD = 0.5
"""Each input of a random point lies within ±SPREAD·max(1, |x|) of its value at the given point."""

MATCH_RTOL = 1e-9
"""The least relative tolerance of a relation (hand and autograd round differently)."""

MAX_STRETCH = 12
"""The longest stretch of consecutive edges tried as one missing factor (keeps long chains linear)."""

MAX_EDGES = 1000
"""Past this many edges on all paths together, only single edges are tried (a long chain stays quick)."""

MAX_SUBSETS = 10
"""Up to this many paths, every subset of them is tried as what a hand derivative has."""

_DOMAIN_ERRORS = (ValueError, ArithmeticError)


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
        except _DOMAIN_ERRORS:
            continue
        finite = math.isfinite(sample.output.data) and all(map(math.isfinite, sample.grads.values()))
        if finite and _structure(sample.order) == shape:
            found.append(sample)
    return found


# --- one function of a sample for each way of writing a derivative --------------------------------

HandFunction = Callable[[Sample], float]


def hand_function(
    name: str, formula: object, call: Callable[[Callable[..., Any], dict[str, float]], Any], given: Sample
) -> HandFunction:
    """`formula` (a callable, a formula string or a SymPy expression) as a function of a `Sample`.

    `call` calls a Python function with the point's floats (by keyword or by position, as `f`).
    Formulas are parsed and their names checked against `given` now, so a typo is an error at once.
    """
    where = f"hand[{name!r}]"
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
        check_names(where, expression.inputs, expression.assigned, given.names(), _MAY)
        return lambda sample: _formula_value(where, expression, expression.inputs, sample)
    if callable(formula):
        return lambda sample: _number(where, call(formula, dict(sample.point)))
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


def _number(where: str, result: object) -> float:
    if type(result) is Value:
        return result.data
    if isinstance(result, bool) or not isinstance(result, numbers.Real):
        raise TypeError(f"{where} must return a number, got {type(result).__name__} {result!r}")
    return float(result)


# --- the diagnosis ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    """What a wrong hand derivative is missing, found by comparing it with autograd at several points.

    ``relation`` is one of ``"missing factor"``, ``"extra factor"``, ``"paths"`` (the hand has some
    of several paths), ``"constant"`` (autograd/hand is a constant, -1 for a flipped sign),
    ``"none"`` and ``"too few points"`` (fewer than MIN_POINTS points where f is defined on the
    given point's side of every kink, so no relation is named); ``factor`` names the factor or
    paths (empty for none and too few points); ``coincidence`` is True when hand and autograd
    agree at the given point but not at the others. ``text`` says it all in one sentence;
    ``points`` are the points checked, the given one first, with both values.
    """

    relation: str
    factor: str
    text: str
    coincidence: bool
    points: tuple[tuple[dict[str, float], float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the relation, the factor, the text and the points with both values."""
        from microgradx.formatting import json_number

        return {
            "relation": self.relation,
            "factor": self.factor,
            "text": self.text,
            "coincidence": self.coincidence,
            "points": [
                {
                    "at": {n: json_number(x) for n, x in point.items()},
                    "autograd": json_number(a),
                    "hand": json_number(h),
                }
                for point, a, h in self.points
            ],
        }


class _Candidate:
    """A factor the hand derivative may miss (or have once too often), with its value per sample.

    Its words (``noun``: "factor ∂z/∂w = x"; ``formula``: "x") are written only when asked for,
    so that a long chain's many candidates cost only their numbers.
    """

    def __init__(self, words: Callable[[], tuple[str, str]], values: tuple[float, ...], rank: tuple) -> None:
        self._words = words
        self.values = values
        self.rank = rank

    @property
    def noun(self) -> str:
        return self._words()[0]

    @property
    def formula(self) -> str:
        return self._words()[1]

    @property
    def factor(self) -> str:
        return self.noun.removeprefix("factor ")

    def sentence(self, missing: bool, sign: str, where: str) -> str:
        times = as_factor(self.formula)
        if missing:
            said, relation = f"the {self.noun} is missing", f"autograd = hand · {times}"
        else:
            said, relation = f"there is an extra {self.noun}", f"hand = autograd · {times}"
        if not sign and all(v == -1.0 for v in self.values):
            said += ", so the sign is flipped"
        return f"{said}{sign} ({relation}{' · (-1)' if sign else ''} {where})"


def diagnose(
    name: str,
    hand: HandFunction,
    samples: list[Sample],
    rtol: float,
    atol: float,
    max_paths: int = 64,
) -> Diagnosis | None:
    """Why `hand` is not d f/d `name`: a factor, a sign, a constant, paths, or "no simple relation".

    `samples` are the given point first, then random points near it (see `nearby`). None when hand
    and autograd agree at every point where both are defined (and finite).
    """
    pairs: list[tuple[Sample, float, float]] = []
    for i, sample in enumerate(samples):
        try:
            value = hand(sample)
        except _DOMAIN_ERRORS:
            if i == 0:
                raise
            continue
        autograd = sample.grads[name]
        if math.isfinite(value) and math.isfinite(autograd):
            pairs.append((sample, autograd, value))
        elif i == 0:
            return None  # the row's note already says which column is not finite

    def agree(a: float, h: float) -> bool:
        return abs(a - h) <= atol + rtol * abs(a)

    if not pairs or all(agree(a, h) for _, a, h in pairs):
        return None
    coincidence = samples[0] is pairs[0][0] and agree(pairs[0][1], pairs[0][2])
    points = tuple((s.point, a, h) for s, a, h in pairs)
    autograds = [a for _, a, _ in pairs]
    hands = [h for _, _, h in pairs]
    tolerance = max(rtol, MATCH_RTOL)

    def holds(top: list[float], bottom: list[float], factor: tuple[float, ...]) -> bool:
        """top = factor·bottom at every point, and informatively (nonzero) at three at least."""
        informative = 0
        for t, b, c in zip(top, bottom, factor, strict=True):
            cb = c * b
            if abs(t - cb) > atol + tolerance * max(abs(t), abs(cb)):
                return False
            informative += abs(t) > 10 * atol and abs(cb) > 10 * atol
        return informative >= 3

    if len(pairs) < MIN_POINTS:
        relation, factor = "too few points", ""
        said = (
            f"too few points to say what is missing: {_count(len(pairs) - 1, 'point')} near here "
            "where f is defined and on the same side of every kink (relu, abs) as this one"
        )
    else:
        relation, factor, said = _find(
            name, samples[0], [s for s, _, _ in pairs], autograds, hands, holds, max_paths
        )
    if coincidence:
        where, a, h = next((p for p in points[1:] if not agree(p[1], p[2])), points[-1])
        said = (
            f"agrees here by coincidence: at {_point_text(where)} hand = {fmt(h, 6)} "
            f"but autograd = {fmt(a, 6)}; {said}"
        )
    return Diagnosis(relation, factor, said, coincidence, points)


def _count(n: int, noun: str) -> str:
    return f"{'no' if n == 0 else n} {noun}{'s' * (n != 1)}"


def _point_text(point: dict[str, float]) -> str:
    return ", ".join(f"{n} = {fmt(x, 4)}" for n, x in point.items())


def _find(
    name: str,
    given: Sample,
    samples: list[Sample],
    autograds: list[float],
    hands: list[float],
    holds: Callable[[list[float], list[float], tuple[float, ...]], bool],
    max_paths: int,
) -> tuple[str, str, str]:
    """(relation, factor, sentence) for the first recognisable relation, tried simplest first."""
    from microgradx.explain import explain

    n = len(samples)
    where = f"at all {n} points checked"
    explanation = explain(given.output, given.inputs[name], max_paths=max_paths, max_edges=None)
    candidates = [] if explanation.truncated else _candidates(explanation, given, samples)
    flipped = [-h for h in hands]
    for sign, sign_text in ((hands, ""), (flipped, " and a sign is flipped")):
        for candidate in candidates:
            if holds(autograds, sign, candidate.values):
                return "missing factor", candidate.factor, candidate.sentence(True, sign_text, where)
        if sign is hands and explanation.path_count > 1 and not explanation.truncated:
            found = _paths(explanation, given, samples, hands, holds, where)
            if found:
                return found
        for candidate in candidates:
            if holds(sign, autograds, candidate.values):
                return "extra factor", candidate.factor, candidate.sentence(False, sign_text, where)
        if sign is hands:
            ratios = [a / h for a, h in zip(autograds, hands, strict=True) if h != 0.0 and a != 0.0]
            constant = _simple(ratios[0]) if ratios else None
            if constant is not None and holds(autograds, hands, (constant,) * n):
                return "constant", fmt(constant, 6), _constant_text(constant, where)
    ratios = ", ".join(fmt(a / h, 4) if h else "∞" for a, h in zip(autograds, hands, strict=True))
    return "none", "", (
        f"no simple relation found: autograd/hand is {ratios} at the {n} points checked; "
        f"mg.explain(output, {name}) writes out the chain rule factor by factor to compare with yours"
    )


SIMPLE = 12
"""The constants named: ±n and ±1/n for n = 1 … SIMPLE (a rounded 0.3333 is no constant)."""

SIMPLE_RTOL = 1e-6
"""How close autograd/hand must be to a simple constant to be called it."""


def _simple(r: float) -> float | None:
    """The simple constant (±n or ±1/n, n ≤ SIMPLE) that `r` is, or None."""
    for n in range(1, SIMPLE + 1):
        for c in (n, 1.0 / n):
            if abs(abs(r) - c) <= SIMPLE_RTOL * c:
                return math.copysign(c, r)
    return None


def _constant_text(c: float, where: str) -> str:
    """A simple constant autograd/hand = c in words: a flipped sign, a factor n missing or extra."""
    if c == -1.0:
        return f"a sign is flipped: hand = −autograd ({where})"
    flip = "a sign is flipped and " if c < 0 else ""
    if abs(c) > 1.0:
        return f"{flip}a constant factor {round(abs(c))} is missing (autograd = {fmt(c)} · hand {where})"
    n = round(1.0 / abs(c))
    times = f"{'-' if c < 0 else ''}{n}"
    return f"{flip}there is an extra constant factor {n} (hand = {times} · autograd {where})"


# --- the candidates: factors of the chain rule ---------------------------------------------------


def _number_text(text: str) -> float | None:
    try:
        return float(text.replace("−", "-"))
    except ValueError:
        return None


def _strip(text: str) -> str:
    """``(ŷ − y)`` -> ``ŷ − y`` when the parentheses enclose the whole text."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and i < len(text) - 1:
            return text
    return text[1:-1]


def as_factor(text: str) -> str:
    from microgradx.explain import as_factor

    return as_factor(text)


def _candidates(explanation: Any, given: Sample, samples: list[Sample]) -> list[_Candidate]:
    """Every stretch of consecutive edges of a path, and the parts of single edges, with values per sample.

    A stretch from node a down to node b is the factor ∂a/∂b; its formula is the product of its
    edges' formulas with the constants multiplied out. Factors that are 1 at every point say
    nothing and are left out. Best first: stretches between labelled nodes, then shorter ones.
    """
    position = {node: i for i, node in enumerate(given.order)}
    cache: dict[tuple[int, int], tuple[float, ...]] = {}

    def edge_values(edge: Any) -> tuple[float, ...]:
        key = (position[edge.child], edge.index)
        if key not in cache:
            cache[key] = tuple(local_derivatives(s.order[key[0]])[edge.index] for s in samples)
        return cache[key]

    found: dict[tuple, _Candidate] = {}
    longest = MAX_STRETCH if sum(len(p.edges) for p in explanation.paths) <= MAX_EDGES else 1
    for path in explanation.paths:
        edges = path.edges
        for i in range(len(edges)):
            values = [1.0] * len(samples)
            for j in range(i, min(len(edges), i + longest)):
                edge = edges[j]
                values = [v * e for v, e in zip(values, edge_values(edge), strict=True)]
                key = tuple(id(e) for e in edges[i : j + 1])
                if key in found or all(abs(v - 1.0) <= 1e-12 for v in values):
                    continue
                labelled = bool(edges[i].child.label) + bool(edge.parent.label)
                words = functools.partial(_stretch_words, edges[i : j + 1])
                found[key] = _Candidate(words, tuple(values), (0, -labelled, j - i))
        for edge in edges:
            for noun, formula, values in _parts(edge, edge_values(edge), samples, position):
                key = (id(edge), noun)
                if key not in found:
                    found[key] = _Candidate(lambda words=(noun, formula): words, values, (1,))
    return sorted(found.values(), key=lambda c: c.rank)


def _stretch_words(edges: tuple[Any, ...]) -> tuple[str, str]:
    """("factor ∂a/∂b = formula", formula) for consecutive edges, their constants multiplied out."""
    constant, texts = 1.0, []
    for edge in edges:
        number = _number_text(edge.formula)
        if number is not None:
            constant *= number
        else:
            lead, power = _power_parts(edge)
            constant *= lead
            texts.append(as_factor(power))
    shown = ([] if abs(constant - 1.0) <= 1e-12 else [as_factor(fmt(constant))]) + texts
    formula = _strip(shown[0]) if len(shown) == 1 else " · ".join(shown)
    top, bottom = edges[0].child_name, edges[-1].parent_name
    return f"factor ∂{derivative_name(top)}/∂{derivative_name(bottom)} = {formula}", formula


def _power_parts(edge: Any) -> tuple[float, str]:
    """An edge ∂(u^n)/∂u = n·u^(n-1) as (n, "u^(n-1)"); any other edge as (1, its formula)."""
    child = edge.child
    if child.op == "**" and edge.index == 0 and not child.parents[1].parents and not child.parents[1].label:
        lead, _, power = edge.formula.partition("·")
        number = _number_text(lead)
        if power and number is not None:
            return number, power
    return 1.0, edge.formula


def _parts(
    edge: Any, values: tuple[float, ...], samples: list[Sample], position: dict[Value, int]
) -> list[tuple[str, str, tuple[float, ...]]]:
    """The parts of one local derivative a learner may drop: the n of ∂(uⁿ)/∂u, σ or (1−σ) of ∂σ/∂z.

    Each part is (noun, formula, values per sample).
    """
    whole = f"{edge.derivative} = {edge.formula}"
    parts = []
    lead, power = _power_parts(edge)
    if lead != 1.0:
        n = fmt(lead)
        what = "square" if lead == 2.0 else "power"
        parts.append((f"{n} from the {what} in {whole}", n, (lead,) * len(values)))
        rest = tuple(v / lead for v in values)
        parts.append((f"factor {_strip(power)} of {whole}", _strip(power), rest))
    if edge.child.op == "sigmoid":
        outs = tuple(s.order[position[edge.child]].data for s in samples)
        a = edge.parent_name
        for text, part in ((f"σ({a})", outs), (f"1−σ({a})", tuple(1.0 - o for o in outs))):
            parts.append((f"factor {as_factor(text)} of {whole}", text, part))
    return parts


def _paths(
    explanation: Any,
    given: Sample,
    samples: list[Sample],
    hands: list[float],
    holds: Callable[[list[float], list[float], tuple[float, ...]], bool],
    where: str,
) -> tuple[str, str, str] | None:
    """(relation, factor, sentence) when the hand value is the sum of some of several paths' products.

    When every path has the same product (w·w: two paths w → w·w), which ones the hand has
    cannot be told: the relation is the constant, with why the paths read alike.
    """
    position = {node: i for i, node in enumerate(given.order)}
    paths = explanation.paths
    products = []
    for path in paths:
        values = [1.0] * len(samples)
        for edge in path.edges:
            key = position[edge.child]
            values = [
                v * local_derivatives(s.order[key])[edge.index] for v, s in zip(values, samples, strict=True)
            ]
        products.append(values)
    count = len(paths)
    sizes = range(1, count) if count <= MAX_SUBSETS else (1, count - 1)
    names = explanation.names
    ones = (1.0,) * len(samples)
    if all(_same(products[0], product) for product in products[1:]):  # e.g. w·w: the paths read alike
        for size in sizes:
            if holds(hands, [size * v for v in products[0]], ones):
                n = count / size
                shown = str(int(n)) if n.is_integer() else fmt(n, 6)
                said = f"the factor {shown} is missing: {_used_alike(explanation, count)}"
                return "constant", shown, f"{said} (autograd = {shown} · hand {where})"
        return None
    on_all = set.intersection(*(set(p.nodes) for p in paths))

    def plain(path: Any) -> str:
        own = [names[node] for node in path.nodes if node not in on_all]
        return "through " + ", ".join(own) if own else " → ".join(names[node] for node in path.nodes)

    texts = [plain(path) for path in paths]

    def through(i: int) -> str:
        """A path's words; where two paths read the same, which operand of a node used twice it takes."""
        if texts.count(texts[i]) == 1:
            return texts[i]
        twice = [e for e in paths[i].edges if e.child.parents[0] is e.child.parents[-1]]
        operands = ", ".join(f"as operand {'ab'[e.index]} of {names[e.child]}" for e in twice)
        return f"{texts[i]} ({operands})" if operands else texts[i]

    for size in sizes:
        for chosen in itertools.combinations(range(count), size):
            total = [sum(products[i][k] for i in chosen) for k in range(len(samples))]
            if holds(hands, total, ones):
                have = "; ".join(through(i) for i in chosen)
                missing = "; ".join(through(i) for i in range(count) if i not in chosen)
                one = "the one" if size == 1 else "the ones"
                return (
                    "paths",
                    have,
                    f"you have {size} of the {count} paths: {one} {have}; missing: {missing} ({where})",
                )
    return None


def _same(a: list[float], b: list[float]) -> bool:
    return all(abs(x - y) <= 1e-12 * max(abs(x), abs(y)) for x, y in zip(a, b, strict=True))


def _used_alike(explanation: Any, count: int) -> str:
    """Why several paths are one formula: the input is used that many times (w·w), or they just are."""
    source = explanation.paths[0].nodes[0]
    uses = {(id(e.child), e.index) for path in explanation.paths for e in path.edges if e.parent is source}
    name = explanation.names[source]
    if len(uses) == count:
        return f"{name} is used {'twice' if count == 2 else f'{count} times'}, and its {count} paths add"
    return f"the {count} paths from {name} have the same product, and they add"
