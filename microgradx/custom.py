"""`custom_op`: an op of your own, a rule like the built-in ones, its derivative checked when it is made.

Why this exists: adding an op is the core exercise of every autograd course (PyTorch's
``autograd.Function``, minitorch's ``ScalarFunction``). The learner gives the forward on numbers
and the derivative they worked out by hand; `custom_op` checks that derivative against central
differences, then registers a `Rule` under the op's name in `RULES`, where backward, `grad`,
`explain`, `draw`, the stepper and `trace` find it as they find the built-in ones.
"""

from __future__ import annotations

import inspect
import keyword
import math
import re
import string
from collections.abc import Callable
from typing import Any

from microgradx import node
from microgradx.diagnosis import diagnose
from microgradx.engine import RULES, Number, Rule, Value
from microgradx.formatting import fmt, latex_from_text
from microgradx.functions import call
from microgradx.hand import Sample
from microgradx.realmath import elementwise, is_array, type_name
from microgradx.rules import BUILT_IN, latex_function

__all__ = ["custom_op"]

POINTS = (0.35, -0.6, 1.4, 0.8, -1.3, 2.7, -0.15, 4.2, -2.1, 0.05, 0.95, -0.95, 7.5, -6.5)
"""Where the derivative of an op of one operand is checked: the first CHECKED of these (near 0, on
both sides, and past 1 for ops such as acosh) at which the forward is defined and finite."""

PAIRS = ((0.7, 1.3), (-1.2, 0.6), (0.35, 2.6), (2.1, -0.8), (1.6, 0.25), (-0.45, -1.7), (3.1, 1.9),
         (0.15, 0.9), (-2.3, 3.4), (5.5, 0.4))
"""The same for an op of two operands (both positive at five of them, for ops such as a ** b)."""

CHECKED = 6
"""How many points the derivative is checked at."""

RTOL, ATOL = 1e-6, 1e-8
"""How close the derivative and the central difference must be (the difference is good to ~1e-10)."""


def custom_op(
    name: str,
    forward: Callable[..., float],
    derivative: Callable[..., Any],
    *,
    formula: str | tuple[str, str] | None = None,
    check: bool = True,
) -> Callable[..., Value]:
    """Make an op of your own: returns the function that makes its node, of one or two operands.

    `forward` computes on plain numbers; `derivative` takes the same operands and returns
    ∂out/∂operand (a number for one operand, a tuple for two). With `check` the derivative is first
    compared with central differences at several points where `forward` is defined; a mismatch is a
    `ValueError` naming the point, both numbers and what is missing when it can tell (a constant
    factor, a sign; a factor of the chain rule when `forward` also runs on Values). `formula` is the
    derivative in words for `explain` and pictures, over ``{a}`` (and ``{b}``, ``{out}``) as the rule
    table's are; its LaTeX (`explain(...).to_latex()`) is that formula spelled symbol by symbol
    (`formatting.latex_from_text`: ``σ({a})·{b}`` is ``\\sigma{}({a}) \\cdot {b}``, a word such as
    ``ln`` is a function, ``^(…)`` an exponent). Written with Value arithmetic and microgradx
    functions (``mg.sigmoid(a)``, not ``math.exp``), the derivative can itself be differentiated by
    ``grad(..., create_graph=True)``; otherwise that is an error, never a silently wrong number.
    Making an op again under the same name replaces it (re-running a notebook cell).

    >>> import microgradx as mg
    >>> softplus = mg.custom_op("softplus", lambda a: math.log1p(math.exp(a)), lambda a: mg.sigmoid(a),
    ...                         formula="σ({a})")
    >>> x = mg.Value(0.5, "x"); y = softplus(x); y.backward(); round(x.grad, 6)
    0.622459
    """
    if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"custom_op: the name must be a Python identifier such as 'softplus', got {name!r}")
    if name in BUILT_IN:
        raise ValueError(f"custom_op: {name!r} is a built-in op's name; give your op another name")
    for what, fn in (("forward", forward), ("derivative", derivative)):
        if not callable(fn):
            raise TypeError(f"custom_op {name!r}: {what} must be a function, got {type_name(fn)}")
    arity = _arity(name, forward)
    formulas = _formulas(name, formula, arity)
    rule = Rule(
        op=name,
        forward=_forward_of(name, forward),
        local=_local_of(name, forward, derivative, arity),
        formulas=formulas,
        latex_formulas=_latex_formulas(name, formula, formulas),
        text=f"{name}({{a}})" if arity == 1 else f"{name}({{a}}, {{b}})",
        latex=latex_function(name) + ("({a})" if arity == 1 else "({a}, {b})"),
        glyph=name,
        name=name,
        ordered=arity == 2,
        sympy=lambda sp, *operands: sp.Function(name)(*operands),
        doc=f"{name}, an op of your own (microgradx.custom_op).",
    )
    if check:
        _check(rule, arity, forward)
    RULES[name] = rule

    def function(*operands: Value | Number) -> Value:
        if len(operands) != arity:
            raise TypeError(f"{name}() takes {arity} operand{'s' * (arity > 1)}, got {len(operands)}")
        return call(name, *operands)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name}: an op of your own (microgradx.custom_op). Accepts Values or numbers."
    return function


def _arity(name: str, forward: Callable) -> int:
    """How many operands `forward` takes: its positional parameters without a default (1 or 2)."""
    try:
        parameters = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):
        raise ValueError(f"custom_op {name!r}: cannot tell how many operands forward takes; "
                         "wrap it, as in lambda a: f(a)") from None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    arity = sum(p.kind in kinds and p.default is inspect.Parameter.empty for p in parameters)
    if arity not in (1, 2):
        raise ValueError(f"custom_op {name!r}: forward must take one operand or two, it takes {arity}")
    return arity


def _formulas(name: str, formula: object, arity: int) -> tuple[str, ...]:
    """The formulas of the rule: the learner's (checked for stray placeholders) or ``name′({a})``."""
    if formula is None:
        if arity == 1:
            return (f"{name}′({{a}})",)
        return (f"∂₁{name}({{a}}, {{b}})", f"∂₂{name}({{a}}, {{b}})")
    formulas = (formula,) if isinstance(formula, str) else formula
    if not isinstance(formulas, tuple | list) or len(formulas) != arity or not all(
        isinstance(f, str) for f in formulas
    ):
        wanted = "a string such as 'σ({a})'" if arity == 1 else "two strings, ∂/∂a and ∂/∂b"
        raise TypeError(f"custom_op {name!r}: formula must be {wanted}, got {formula!r}")
    allowed = {"a", "out"} | ({"b"} if arity == 2 else set())
    for text in formulas:
        try:
            fields = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
        except ValueError as e:
            raise ValueError(f"custom_op {name!r}: formula {text!r}: {e}") from None
        stray = fields - allowed
        if stray:
            over = ", ".join(f"{{{n}}}" for n in sorted(allowed))
            raise ValueError(f"custom_op {name!r}: formula {text!r} uses {{{sorted(stray)[0]}}}; "
                             f"write it over {over} (the operands and the result)")
    return tuple(formulas)


def _latex_formulas(name: str, formula: object, formulas: tuple[str, ...]) -> tuple[str, ...]:
    """The formulas in LaTeX: the learner's spelled symbol by symbol, or ``\\operatorname{name}'({a})``."""
    if formula is not None:
        return tuple(latex_from_text(text) for text in formulas)
    function = latex_function(name)
    if len(formulas) == 1:
        return (f"{function}'({{a}})",)
    return (f"\\partial_{{1}} {function}({{a}}, {{b}})", f"\\partial_{{2}} {function}({{a}}, {{b}})")


def _forward_of(name: str, forward: Callable) -> Callable[..., float]:
    """The rule's forward: the learner's on floats, element by element on arrays (`trace_batch`)."""

    def on_numbers(*operands: float) -> float:
        if any(is_array(x) for x in operands):
            return elementwise(on_numbers, *operands)
        return node.returned_number(f"custom_op {name!r}: forward", forward(*operands))

    return on_numbers


def _derivatives(name: str, derivative: Callable, operands: tuple, arity: int) -> tuple:
    """The learner's derivative at `operands`, as a tuple of one item per operand (as it returned them)."""
    result = derivative(*operands)
    if arity == 1:
        if isinstance(result, tuple | list):
            if len(result) != 1:
                raise TypeError(f"custom_op {name!r}: derivative must return one number, got {result!r}")
            result = result[0]
        return (result,)
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise TypeError(f"custom_op {name!r}: derivative must return a tuple (∂out/∂a, ∂out/∂b), "
                        f"got {result!r}")
    return tuple(result)


def _local_of(name: str, forward: Callable, derivative: Callable, arity: int) -> Callable[..., tuple]:
    """The rule's local derivatives ``(*operands, out) -> (∂out/∂a, ...)``, on floats, arrays or Values."""

    def on_floats(*operands: float) -> tuple[float, ...]:
        found = _derivatives(name, derivative, operands, arity)
        return tuple(node.returned_number(f"custom_op {name!r}: derivative", d) for d in found)

    def local(*operands_and_out: Any) -> tuple:
        operands = operands_and_out[:-1]
        if any(is_array(x) for x in operands):  # trace_batch: one sample at a time
            return tuple(elementwise(lambda *xs, i=i: on_floats(*xs)[i], *operands) for i in range(arity))
        if any(type(x) is Value for x in operands):  # grad(..., create_graph=True)
            return _on_values(name, derivative, operands, arity, on_floats)
        return on_floats(*operands)

    return local


def _on_values(name: str, derivative: Callable, operands: tuple, arity: int, on_floats: Callable) -> tuple:
    """The derivative on Values, for a graph that can be differentiated again, or a clear error when
    it was computed from plain numbers (``math.exp(a)``, ``a.data``), which would make its own
    derivative silently 0."""
    floats_taken: list[Value] = []
    previous = node.observer.get()

    def hear(question: str, asked: Any, other: Any, answer: Any) -> None:
        if question == "__float__":
            floats_taken.append(asked)
        if previous is not None:
            previous(question, asked, other, answer)

    token = node.observer.set(hear)
    try:
        found = _derivatives(name, derivative, operands, arity)
    finally:
        node.observer.reset(token)
    if floats_taken:
        raise TypeError(
            f"custom_op {name!r}: its derivative turned a Value into a float (math.exp(a), float(a)?), so "
            "grad(..., create_graph=True) cannot differentiate it again; write it with Value arithmetic "
            "and microgradx functions (mg.exp(a), mg.sigmoid(a), a * a), or use create_graph=False"
        )
    numbers_at = tuple(x.data if type(x) is Value else x for x in operands)
    for i, d in enumerate(found):
        for j, operand in enumerate(operands):
            if type(operand) is Value and not _reaches(d, operand):
                slope = _central(lambda *xs, i=i: on_floats(*xs)[i], numbers_at, j)
                given = node.returned_number(f"custom_op {name!r}: derivative", d)
                if not abs(slope) <= ATOL + RTOL * abs(given):
                    raise TypeError(
                        f"custom_op {name!r}: its derivative ∂{name}/∂{'ab'[i]} was computed from plain "
                        f"numbers (a.data? math.*?), not from the Values, yet it changes with "
                        f"{'ab'[j]} (slope {fmt(slope, 6)} here), so grad(..., create_graph=True) would "
                        "take its derivative as 0; write it with Value arithmetic and microgradx functions"
                    )
    return found


def _reaches(result: object, operand: Value) -> bool:
    """Whether the Value `result` was computed from `operand` (a walk of its own: this runs inside one)."""
    if type(result) is not Value:
        return False
    seen, stack = set(), [result]
    while stack:
        v = stack.pop()
        if v is operand:
            return True
        if v not in seen:
            seen.add(v)
            stack.extend(v.parents)
    return False


def _central(f: Callable[..., float], at: tuple[float, ...], j: int) -> float:
    """∂f/∂(operand j) at `at` by the five-point central difference (error ~h⁴)."""
    h = 1e-3 * max(1.0, abs(at[j]))

    def f_at(step: float) -> float:
        moved = list(at)
        moved[j] += step
        return f(*moved)

    return (f_at(-2 * h) - 8 * f_at(-h) + 8 * f_at(h) - f_at(2 * h)) / (12 * h)


def _defined(rule: Rule, at: tuple[float, ...]) -> bool:
    """Whether the forward is defined and finite at `at` and at every point its central differences use."""
    try:
        for j in range(len(at)):
            h = 1e-3 * max(1.0, abs(at[j]))
            for step in (-2 * h, -h, 0.0, h, 2 * h):
                moved = list(at)
                moved[j] += step
                if not math.isfinite(rule.forward(*moved)):
                    return False
    except (ValueError, ArithmeticError):
        return False
    return True


def _check(rule: Rule, arity: int, forward: Callable) -> None:
    """Compare the rule's derivatives with central differences at CHECKED points; ValueError if not equal."""
    name = rule.op
    candidates = [(x,) for x in POINTS] if arity == 1 else list(PAIRS)
    points = [at for at in candidates if _defined(rule, at)][:CHECKED]
    if not points:
        tried = ", ".join(fmt(x[0]) for x in candidates)
        raise ValueError(f"custom_op {name!r}: forward is not defined (or not finite) at any of the points "
                         f"it is checked at ({tried}, ...); pass check=False")
    rows = []
    for at in points:
        out = rule.forward(*at)
        given = rule.local(*at, out)
        numeric = tuple(_central(rule.forward, at, j) for j in range(arity))
        rows.append((at, given, numeric))
    for j in range(arity):
        wrong = [(at, g[j], n[j]) for at, g, n in rows if not abs(g[j] - n[j]) <= ATOL + RTOL * abs(n[j])]
        if wrong:
            at, g, n = wrong[0]
            where = ", ".join(f"{'ab'[k]} = {fmt(x, 6)}" for k, x in enumerate(at))
            raise ValueError(
                f"custom_op {name!r}: the derivative ∂{name}/∂{'ab'[j]} looks wrong: at {where} it gives "
                f"{fmt(g, 8)}, central differences give {fmt(n, 8)}{_diagnosis(rows, j, forward)}"
            )


def _graph_samples(rows: list, forward: Callable) -> list[Sample] | None:
    """The points as samples of forward's own graph, when forward runs on Values (``mg.sin(a * a)``)
    and that graph's derivatives are the central differences; else None."""
    samples = []
    for at, _, numeric in rows:
        point = {"ab"[k]: x for k, x in enumerate(at)}
        inputs = {n: Value(x, n) for n, x in point.items()}
        try:
            out = forward(*inputs.values())
        except (TypeError, ValueError, ArithmeticError, AttributeError):
            return None
        if type(out) is not Value:
            return None
        sample = Sample.of(out, inputs, point)
        pairs = zip(sample.grads.values(), numeric, strict=True)
        if not all(abs(g - d) <= ATOL + RTOL * abs(d) for g, d in pairs):
            return None  # (part of it was computed from plain numbers)
        samples.append(sample)
    return samples


def _diagnosis(rows: list, j: int, forward: Callable) -> str:
    """What `diagnosis.diagnose` finds comparing the derivative ('yours') with the central differences: with
    forward's own graph, a missing factor of the chain rule; without it, a constant factor or a sign."""
    samples = _graph_samples(rows, forward)
    if samples is None:
        samples = []
        for at, _, numeric in rows:
            point = {"ab"[k]: x for k, x in enumerate(at)}
            inputs = {n: Value(x, n) for n, x in point.items()}
            leaf = inputs["ab"[j]]  # (a graph of one node: constants and signs are what can be named)
            samples.append(Sample(point, inputs, leaf, [leaf], dict(zip(point, numeric, strict=True))))
    given = {id(s): g[j] for s, (_, g, _) in zip(samples, rows, strict=True)}
    found = diagnose("ab"[j], lambda sample: given[id(sample)], samples, RTOL, ATOL)
    if found is None or found.relation in ("none", "too few points"):
        return ""
    text = re.sub(r"\bhand\b", "yours", re.sub(r"\bautograd\b", "numeric", found.text))
    return f"; {text}"
