"""What a wrong hand derivative is missing: `diagnose` and its `Diagnosis`.

When a hand derivative (read by `microgradx.hand` as a function of a `Sample`) is wrong,
`diagnose` looks for the mistake: it compares autograd with the hand value at the point and at a
few random points near it (`microgradx.hand.nearby`), and names the ratio when it is a factor of
the chain rule (``the factor ∂z/∂w = x is missing``), a sign, a constant, or some of several
paths. It says "no simple relation found" rather than guess.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from microgradx.engine import Value, local_derivatives
from microgradx.explain import explain
from microgradx.explain_writers import as_factor
from microgradx.formatting import derivative_name, fmt
from microgradx.hand import DOMAIN_ERRORS, HandFunction, Sample

__all__ = ["Diagnosis", "diagnose"]

MIN_POINTS = 3
"""The fewest points (the given one included) a diagnosis names a relation from."""

MATCH_RTOL = 1e-9
"""The least relative tolerance of a relation (hand and autograd round differently)."""

MAX_STRETCH = 12
"""The longest stretch of consecutive edges tried as one missing factor (keeps long chains linear)."""

MAX_EDGES = 1000
"""Past this many edges on all paths together, only single edges are tried (a long chain stays quick)."""

MAX_SUBSETS = 10
"""Up to this many paths, every subset of them is tried as what a hand derivative has."""


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
        except DOMAIN_ERRORS:
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


def _formula_number(text: str) -> float | None:
    """The number a formula is when it is one (``−0.5``, with the formulas' minus), else None."""
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
        number = _formula_number(edge.formula)
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
        number = _formula_number(lead)
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
