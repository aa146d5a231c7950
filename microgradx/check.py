"""Check derivatives three ways: autograd, central finite differences, and the user's own hand.

`gradcheck` puts autograd next to a numerical derivative for every input; `compare` adds the
learner's hand-derived formula as a third column. A row is ok only when every column present
agrees, and a row that is not ok says which column is off and by how much.
"""

from __future__ import annotations

import inspect
import math
import numbers
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from microgradx import notebook
from microgradx.engine import Value, no_grad
from microgradx.formatting import fmt, json_number

if TYPE_CHECKING:
    from microgradx.diagnosis import Diagnosis

__all__ = ["CheckReport", "CheckRow", "compare", "gradcheck", "json_number"]

TINY = sys.float_info.min
"""The floor of the denominator of ``rel_err`` (so a zero derivative does not divide by zero)."""

Point = Mapping[str, float] | Sequence[float]
HandFormula = Callable[..., Any] | str | Any
"""A hand derivative: a function of the inputs, a formula string (``"(ŷ - y)*x"``) or a SymPy expression."""


@dataclass(frozen=True)
class CheckRow:
    """One input's derivative by autograd, by central differences and (in `compare`) by hand.

    ``abs_err`` is the largest absolute difference between the columns present, ``rel_err`` is
    ``abs_err / max(|numeric|, TINY)``, and ``ok`` means ``abs_err <= atol + rtol·|numeric|``.
    ``note`` says in words what disagrees (empty when ok).
    """

    name: str
    autograd: float
    numeric: float
    hand: float | None
    abs_err: float
    rel_err: float
    ok: bool
    note: str = ""
    diagnosis: Diagnosis | None = None
    """In `compare`, what a wrong hand derivative is missing (`microgradx.diagnosis.Diagnosis`), else None."""

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict (non-finite numbers as strings, see `json_number`)."""
        return {
            "name": self.name,
            "autograd": json_number(self.autograd),
            "numeric": json_number(self.numeric),
            "hand": None if self.hand is None else json_number(self.hand),
            "abs_err": json_number(self.abs_err),
            "rel_err": json_number(self.rel_err),
            "ok": self.ok,
            "note": self.note,
            "diagnosis": None if self.diagnosis is None else self.diagnosis.to_dict(),
        }


@dataclass(frozen=True)
class CheckReport:
    """The result of `gradcheck` or `compare`: true when every row is ok.

    ``rows`` holds one `CheckRow` per input, in the order of `at`; ``at`` is the point, ``value``
    the function's value there. ``str(report)`` is a table; ``to_dict()`` is JSON-ready.
    """

    rows: list[CheckRow]
    at: dict[str, float]
    value: float
    eps: float
    rtol: float
    atol: float
    has_hand: bool = field(default=False)

    def __bool__(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def ok(self) -> bool:
        """True when every row is ok (the same as ``bool(report)``)."""
        return bool(self)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain dicts, lists, numbers and strings, ready for ``json.dumps``.

        Non-finite numbers become the strings ``"inf"``, ``"-inf"``, ``"nan"`` (JSON has none);
        ``hand`` is ``null`` for an input without a hand formula.
        """
        return {
            "ok": self.ok,
            "at": {name: json_number(x) for name, x in self.at.items()},
            "value": json_number(self.value),
            "eps": self.eps,
            "rtol": self.rtol,
            "atol": self.atol,
            "rows": [row.to_dict() for row in self.rows],
        }

    def _summary(self) -> list[str]:
        """The three lines above the table: the verdict, how each column is computed, the tolerance.

        Every display (text, HTML, Markdown) shows these same lines.
        """
        point = ", ".join(f"{name} = {fmt(x, 6)}" for name, x in self.at.items())
        failed = sum(not row.ok for row in self.rows)
        inputs = f"{len(self.rows)} input{'s' * (len(self.rows) != 1)}"
        verdict = f"all {inputs} ok" if not failed else f"{failed} of {inputs} NOT OK"
        lucky = sum(_status(row)[2] == "warn" for row in self.rows)
        if lucky:
            verdict += f", but {lucky} hand formula{'s' * (lucky != 1)} agree{'s' * (lucky == 1)} only here"
        return [
            f"{'compare' if self.has_hand else 'gradcheck'} at {point}: {verdict}",
            f"f = {fmt(self.value, 6)}; numeric: central differences, step {fmt(self.eps)}·max(1, |input|)"
            + ("; hand: your formula" if self.has_hand else ""),
            f"a row is ok when abs err <= {fmt(self.atol)} + {fmt(self.rtol)}·|numeric|",
        ]

    def _kind(self) -> str:
        """The report's verdict as a kind of `_status`: "bad", else "warn", else "ok"."""
        kinds = {_status(row)[2] for row in self.rows}
        return "bad" if "bad" in kinds else "warn" if "warn" in kinds else "ok"

    def _columns(self, row: CheckRow) -> list[str]:
        """A row's numbers as the table shows them, in the order of its header."""
        cells = [fmt(row.autograd, 8), fmt(row.numeric, 8)]
        if self.has_hand:
            cells.append("—" if row.hand is None else fmt(row.hand, 8))
        return [*cells, fmt(row.abs_err, 2), fmt(row.rel_err, 2)]

    def _header(self) -> list[str]:
        return ["input", "autograd", "numeric", *(["hand"] if self.has_hand else []), "abs err", "rel err"]

    def _repr_html_(self) -> str:
        """The report as HTML for Jupyter: the summary, then a table whose verdicts are coloured."""
        headline, *details = self._summary()
        rows = []
        for row in self.rows:
            verdict, rest, kind = _status(row)
            note = f"<b>{verdict}</b>{notebook.text(rest)}"
            rows.append(
                [
                    notebook.cell(notebook.text(row.name)),
                    *(notebook.cell(notebook.text(x), kind="number") for x in self._columns(row)),
                    notebook.cell(note, kind="note", colour=_COLOURS[kind]),
                ]
            )
        colour = _COLOURS[self._kind()]
        return notebook.block(
            f'<p style="margin:0.3em 0;font-weight:bold;color:{colour}">{notebook.text(headline)}</p>',
            *(notebook.paragraph(notebook.text(line), small=True) for line in details),
            notebook.table([*self._header(), "verdict"], rows),
        )

    def _repr_markdown_(self) -> str:
        """The report as Markdown for Jupyter: the summary and a table (verdicts in words)."""
        headline, *details = self._summary()
        header = [*self._header(), "verdict"]
        lines = [f"**{notebook.md(headline)}**", "", *(f"{notebook.md(x)}  " for x in details), ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in self.rows:
            verdict, rest, kind = _status(row)
            shown = verdict if kind == "ok" else f"**{verdict}**{notebook.md(rest)}"
            cells = [notebook.md(row.name), *map(notebook.md, self._columns(row)), shown]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def __str__(self) -> str:
        table = [[*self._header(), ""]]
        table += [[row.name, *self._columns(row), "".join(_status(row)[:2])] for row in self.rows]
        widths = [max(len(cells[i]) for cells in table) for i in range(len(table[0]) - 1)]
        lines = [*self._summary(), ""]
        for cells in table:  # the last cell is not padded
            padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
            lines.append("  ".join([*padded, cells[-1]]).rstrip())
        return "\n".join(lines)


_COLOURS = {"ok": notebook.OK_COLOUR, "warn": notebook.WARN_COLOUR, "bad": notebook.BAD_COLOUR}


def _status(row: CheckRow) -> tuple[str, str, str]:
    """A row's verdict as every display shows it: (verdict, the rest of the text, kind).

    ``"NOT OK", ": why", "bad"``; ``"ok, but", " agrees here by coincidence…", "warn"`` when the
    row agrees at the point but its hand formula does not near it; ``"ok", "", "ok"``.
    """
    if not row.ok:
        return "NOT OK", f": {row.note}" if row.note else "", "bad"
    if row.note:
        return "ok, but", f" {row.note}", "warn"
    return "ok", "", "ok"


def gradcheck(
    f: Callable[..., Value],
    at: Point,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> CheckReport:
    """Compare autograd with central finite differences for every input of `f` at the point `at`.

    `f` takes Values as keyword arguments (`at` a dict name -> number) or positionally (`at` a
    list, inputs named ``x0``, ``x1``, ...) and returns a Value. Each input is nudged by
    ``h = eps·max(1, |x|)`` both ways: ``(f(x+h) − f(x−h)) / 2h``.

    >>> report = gradcheck(lambda w, x: (w * x - 1.0) ** 2, {"w": 0.5, "x": 2.0}); bool(report)
    True
    """
    return _check(f, None, at, eps, rtol, atol)


def compare(
    f: Callable[..., Value],
    hand: Mapping[str, HandFormula],
    at: Point,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    *,
    seed: int | None = 0,
) -> CheckReport:
    """Check hand-derived derivatives against autograd and central finite differences.

    `hand` maps an input name to its derivative of `f`, written as a callable taking the same
    arguments as `f` but as plain floats, as a formula string in the command line's expression
    language (``"(ŷ - y)*ŷ*(1 - ŷ)*x"``, over the inputs and the labels of `f`'s graph, never run
    as Python), or as a SymPy expression in those names. A row is ok only when autograd, numeric
    and hand agree; inputs without a hand formula are checked as in `gradcheck`. Each hand
    derivative is also compared with autograd at a few random points near `at` (drawn with
    `seed`), and a wrong one gets a `Diagnosis` saying what it is missing (see `microgradx.diagnosis`).

    >>> import microgradx as mg
    >>> def neuron(w, x, y):
    ...     z = w * x; z.label = "z"
    ...     yhat = z.sigmoid(); yhat.label = "ŷ"
    ...     return 0.5 * (yhat - y) ** 2
    >>> report = compare(neuron, {"w": "(ŷ - y)*ŷ*(1 - ŷ)"}, {"w": 0.5, "x": 2.0, "y": 1.0})
    >>> print(report.rows[0].diagnosis.factor)
    ∂z/∂w = x
    """
    if not isinstance(hand, Mapping):
        raise TypeError(
            f"compare(hand) must be a dict mapping an input name to a function, got {type(hand).__name__}"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    return _check(f, hand, at, eps, rtol, atol, seed)


# --- the work ------------------------------------------------------------------------------------


def validate_point(at: object) -> tuple[dict[str, float], bool]:
    """`at` as an ordered name -> float dict, and whether `f` takes its inputs positionally."""
    if isinstance(at, Mapping):
        items, positional = list(at.items()), False
    elif isinstance(at, (list, tuple)):
        items, positional = [(f"x{i}", x) for i, x in enumerate(at)], True
    else:
        raise TypeError(f"at must be a dict name -> number or a list of numbers, got {type(at).__name__}")
    if not items:
        raise ValueError("at is empty: give at least one input to check, e.g. at={'w': 0.5}")
    point = {}
    for name, x in items:
        if type(name) is not str:
            raise TypeError(f"at: input names must be str, got {type(name).__name__} {name!r}")
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"at[{name!r}] must be a real number, got {type(x).__name__} {x!r}")
        x = float(x)
        if not math.isfinite(x):
            raise ValueError(f"at[{name!r}] must be finite to take a derivative there, got {x!r}")
        point[name] = x
    return point, positional


def _validate_settings(eps: object, rtol: object, atol: object) -> None:
    for name, x, positive in (("eps", eps, True), ("rtol", rtol, False), ("atol", atol, False)):
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
        x = float(x)
        if not math.isfinite(x) or x < 0.0 or (positive and x == 0.0):
            needed = "> 0" if positive else ">= 0"
            raise ValueError(f"{name} must be a finite number {needed}, got {x!r}")


def call_with(f: Callable[..., Any], args: dict[str, Any], positional: bool) -> Any:
    return f(*args.values()) if positional else f(**args)


def _check_takes_inputs(
    who: str, func: Callable[..., Any], point: Mapping[str, float], positional: bool
) -> None:
    """Refuse, before any call, a function that cannot take every input as `compare` passes them.

    `f` and each hand function get all the inputs (by name, or by position for a list `at`), so a
    forgotten parameter would be a raw TypeError deep inside; this names the parameter instead.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin or C function without a signature: just call it
        return
    inputs = ", ".join(point)
    try:
        if positional:
            signature.bind(*point.values())
        else:
            signature.bind(**point)
    except TypeError:
        pass
    else:
        return
    params = signature.parameters
    rest = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if positional:
        how = f"with the {len(point)} input{'s' * (len(point) != 1)} in order ({inputs})"
        raise TypeError(f"{who} cannot be called {how}: its parameters are {signature}")
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        untaken = [name for name in point if name not in params]
        if untaken:
            missing = ", ".join(untaken)
            raise TypeError(
                f"{who} does not take the input{'s' * (len(untaken) != 1)} {missing}: it is called with "
                f"every input of at by name ({inputs}); add {missing} to its parameters, even where "
                "the formula does not use it (or end them with **rest)"
            )
    extra = [n for n, p in params.items() if p.default is p.empty and p.kind not in rest and n not in point]
    needs = f"; it needs {', '.join(extra)}, which at does not give" if extra else ""
    how = f"with the inputs by name ({inputs}){needs}"
    raise TypeError(f"{who} cannot be called {how}: its parameters are {signature}")


def _evaluate(f: Callable[..., Value], point: dict[str, float], positional: bool) -> float:
    """f at `point` as a float, recording no graph (for the finite differences)."""
    with no_grad():
        out = call_with(f, {name: Value(x, name) for name, x in point.items()}, positional)
    if type(out) is not Value:
        raise TypeError(f"f must return a Value, got {type(out).__name__}")
    return out.data


def _central_difference(
    f: Callable[..., Value], point: dict[str, float], positional: bool, name: str, eps: float
) -> tuple[float, str]:
    """(f(x+h) − f(x−h)) / (2h) for input `name`, with h scaled to |x|; nan and why on a domain error."""
    x = point[name]
    h = eps * max(1.0, abs(x))
    up, down = x + h, x - h
    try:
        f_up = _evaluate(f, {**point, name: up}, positional)
        f_down = _evaluate(f, {**point, name: down}, positional)
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        return math.nan, f"f is undefined at {name} = {fmt(x, 6)} ± {fmt(h)}: {error}"
    return (f_up - f_down) / (up - down), ""  # up − down: the step actually taken, after rounding


def _verdict(autograd: float, numeric: float, hand: float | None, tol: float) -> str:
    """Which column is off, and by how much (empty when all agree)."""

    def agree(a: float, b: float) -> bool:
        return abs(a - b) <= tol

    def by(a: float, b: float) -> str:
        return fmt(abs(a - b), 2)

    if hand is None:
        if agree(autograd, numeric):
            return ""
        return f"autograd differs from numeric by {by(autograd, numeric)}"
    if agree(autograd, numeric) and agree(autograd, hand) and agree(numeric, hand):
        return ""
    if agree(autograd, numeric):
        return f"hand differs from autograd by {by(hand, autograd)} (autograd and numeric agree)"
    if agree(autograd, hand):
        return (
            f"numeric differs from autograd by {by(numeric, autograd)} (autograd and hand agree; "
            "is f smooth here, and is eps suitable?)"
        )
    if agree(numeric, hand):
        return f"autograd differs from numeric by {by(autograd, numeric)} (numeric and hand agree)"
    return (
        f"all three differ: hand differs from autograd by {by(hand, autograd)}, "
        f"numeric from autograd by {by(numeric, autograd)}"
    )


def _check(
    f: Callable[..., Value],
    hand: Mapping[str, HandFormula] | None,
    at: Point,
    eps: float,
    rtol: float,
    atol: float,
    seed: int | None = 0,
) -> CheckReport:
    if not callable(f):
        raise TypeError(f"f must be a function returning a Value, got {type(f).__name__}")
    point, positional = validate_point(at)
    _validate_settings(eps, rtol, atol)
    eps, rtol, atol = float(eps), float(rtol), float(atol)
    hand = dict(hand) if hand is not None else {}
    unknown = [name for name in hand if name not in point]
    if unknown:
        raise ValueError(
            f"hand has formulas for {', '.join(map(repr, unknown))}, which are not inputs; "
            f"the inputs are {', '.join(map(repr, point))}"
        )

    def build(at: dict[str, float]) -> Any:
        """The graph f builds at a point, with autograd's derivatives (a `microgradx.hand.Sample`)."""
        from microgradx.hand import Sample

        inputs = {name: Value(x, name) for name, x in at.items()}
        out = call_with(f, inputs, positional)
        if type(out) is not Value:
            raise TypeError(f"f must return a Value, got {type(out).__name__}")
        return Sample.of(out, inputs, at)

    _check_takes_inputs("f", f, point, positional)
    for name, formula in hand.items():
        if callable(formula) and not isinstance(formula, str) and "sympy" not in type(formula).__module__:
            _check_takes_inputs(f"hand[{name!r}]", formula, point, positional)
    given = build(point)
    samples = [given]
    formulas = {}
    if hand:
        from microgradx.diagnosis import diagnose
        from microgradx.hand import hand_function, nearby

        def call(formula: Callable[..., Any], args: dict[str, float]) -> Any:
            return call_with(formula, args, positional)

        formulas = {name: hand_function(name, formula, call, given) for name, formula in hand.items()}
        samples += nearby(build, given, seed)

    rows = []
    for name in point:
        autograd = given.grads[name]
        numeric, failure = _central_difference(f, point, positional, name, eps)
        by_hand = formulas[name](given) if name in formulas else None
        columns = {"autograd": autograd, "numeric": numeric}
        if by_hand is not None:
            columns["hand"] = by_hand
        values = list(columns.values())
        gaps = [abs(a - b) for i, a in enumerate(values) for b in values[i + 1 :]]
        abs_err = math.nan if any(math.isnan(gap) for gap in gaps) else max(gaps)
        tol = atol + rtol * abs(numeric)
        ok = abs_err <= tol  # False for nan
        note = ""
        if not ok:
            odd = [f"{column} is {fmt(x)}" for column, x in columns.items() if not math.isfinite(x)]
            note = failure or ", ".join(odd) or _verdict(autograd, numeric, by_hand, tol)
        diagnosis = diagnose(name, formulas[name], samples, rtol, atol) if name in formulas else None
        if diagnosis is not None:
            note = f"{note}; {diagnosis.text}" if note else diagnosis.text
        rel_err = abs_err / max(abs(numeric), TINY)
        rows.append(CheckRow(name, autograd, numeric, by_hand, abs_err, rel_err, ok, note, diagnosis))
    return CheckReport(rows, point, given.output.data, eps, rtol, atol, has_hand=bool(hand))
