"""Practice: small random exercises in backpropagation, and notes on what a wrong gradient most likely is.

`exercise(seed, level=...)` draws a small graph with friendly numbers (a neuron; two layers or an
input used twice; a larger graph with several paths), every node labelled, the same on every
machine for the same seed: it draws from ``random.Random(seed)`` only. `Exercise.check` compares a
learner's gradients with the engine's and, for a wrong one, looks for the usual slips among a few
candidates computed from the graph: the sign flipped, the upstream gradient or the local derivative
alone (the chain rule's product forgotten), the gradient along some of several uses only, the
forward value instead of the gradient. The same candidates, per backward step, make the quiz page
(`quiz`), the worksheets and the terminal practice of the command line.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from microgradx import notebook
from microgradx.diagnosis import diagnose
from microgradx.engine import Value, backward_steps, grad, topological_order
from microgradx.formatting import derivative_name, fmt, local_formula, node_names
from microgradx.hand import Sample, hand_function, nearby
from microgradx.html import stepper_page
from microgradx.steps import page_data

__all__ = [
    "ATOL",
    "LEVELS",
    "RTOL",
    "Candidate",
    "Exercise",
    "PracticeReport",
    "PracticeRow",
    "Use",
    "candidates",
    "close",
    "diagnosis",
    "exercise",
    "parse_number",
    "quiz",
    "quiz_data",
    "uses",
]

RTOL = 5e-3
"""An answer within RTOL·|right| + ATOL of the right number is right: a learner who rounds a step to
three or four digits (as the pages show them) is not wrong."""

ATOL = 1e-4
"""See RTOL: the absolute part, for gradients that are 0."""

LEVELS = (1, 2, 3)
"""1: a neuron; 2: two layers, or an input used twice; 3: a larger graph with several paths."""


def close(given: float, expected: float) -> bool:
    """True when `given` is `expected` up to a learner's rounding (RTOL, ATOL)."""
    return abs(given - expected) <= RTOL * abs(expected) + ATOL


def parse_number(text: str) -> float:
    """A number a learner typed: ``-0.25``, ``−0.25`` (a typographic minus), ``1e-3``, `` 2 ``.

    Raises ValueError saying what was typed when it is not a finite number.
    """
    cleaned = text.strip().replace("−", "-").replace("\u2009", "").replace(" ", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number (type it like -0.25)") from None
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not a finite number")
    return value


# --- the graphs -------------------------------------------------------------------------------------------

_INPUTS = (-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 3.0)
_WEIGHTS = (-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
_BIASES = (-1.0, -0.5, 0.5, 1.0, 1.5)
_TARGETS = (-1.0, 0.0, 0.5, 1.0, 2.0)
_ACTIVATIONS = ("relu", "sigmoid", "tanh")

KINK_MARGIN = 0.5
"""A relu's input is at least this far above 0 (above: a dead relu makes every gradient before it 0)."""

MAX_GRADIENT = 50.0
"""Exercises whose gradients grow past this are drawn again (hand arithmetic stays small)."""

SMOOTH_RANGE = 2.0
"""A sigmoid's or tanh's input stays within ±this (beyond it the local derivative is nearly 0)."""

Leaves = dict[str, Value]


def _act(node: Value, kind: str, label: str) -> Value:
    out = getattr(node, kind)()
    out.label = label
    return out


def _named(node: Value, label: str) -> Value:
    node.label = label
    return node


def _neuron(v: Leaves, act: str) -> Value:
    z = _named(_named(v["w"] * v["x"], "p") + v["b"], "z")
    return _act(z, act, "a")


def _neuron2(v: Leaves, act: str) -> Value:
    s = _named(_named(v["w1"] * v["x1"], "p1") + _named(v["w2"] * v["x2"], "p2"), "s")
    return _act(_named(s + v["b"], "z"), act, "a")


def _neuron_loss(v: Leaves, act: str) -> Value:
    a = _neuron(v, act)
    e = _named(a - v["y"], "e")
    return _named(e**2, "L")


def _layers(v: Leaves, act: str) -> Value:
    h = _act(_named(_named(v["w1"] * v["x"], "p") + v["b1"], "z"), act, "h")
    o = _named(_named(v["w2"] * h, "q") + v["b2"], "o")
    return _named(_named(o - v["y"], "e") ** 2, "L")


def _twice(v: Leaves, act: str) -> Value:
    z = _named(_named(v["w"] * v["x"], "p") + v["b"], "z")
    return _named(_act(z, act, "h") * v["x"], "f")


def _hidden2(v: Leaves, act: str) -> Value:
    h1 = _act(_named(v["w1"] * v["x"], "p1"), act, "h1")
    h2 = _act(_named(v["w2"] * v["x"], "p2"), act, "h2")
    o = _named(_named(v["v1"] * h1, "q1") + _named(v["v2"] * h2, "q2"), "o")
    return _named(_named(o - v["y"], "e") ** 2, "L")


def _skip(v: Leaves, act: str) -> Value:
    h = _act(_named(_named(v["w"] * v["x"], "p") + v["b"], "z"), act, "h")
    o = _named(_named(v["v"] * h, "q") + v["x"], "o")
    return _named(_named(o - v["y"], "e") ** 2, "L")


def _shared(v: Leaves, act: str) -> Value:
    h = _act(_named(v["w"] * v["x"], "p"), act, "h")
    g = _named(_named(v["v"] * h, "q") + v["b"], "g")
    return _named(_named(g * h, "m") - v["y"], "L")


@dataclass(frozen=True)
class _Template:
    """One kind of graph: its leaves (name → the numbers it draws from), how it is built, and in words."""

    build: Callable[[Leaves, str], Value]
    leaves: tuple[tuple[str, tuple[float, ...]], ...]
    words: str


def _leaves(*names: str) -> tuple[tuple[str, tuple[float, ...]], ...]:
    pools = {"x": _INPUTS, "w": _WEIGHTS, "v": _WEIGHTS, "b": _BIASES, "y": _TARGETS}
    return tuple((name, pools[name[0]]) for name in names)


_TEMPLATES: dict[int, tuple[_Template, ...]] = {
    1: (
        _Template(_neuron, _leaves("x", "w", "b"), "a neuron a = {act}(w·x + b)"),
        _Template(_neuron2, _leaves("x1", "x2", "w1", "w2", "b"), "a neuron a = {act}(w1·x1 + w2·x2 + b)"),
        _Template(
            _neuron_loss,
            _leaves("x", "w", "b", "y"),
            "a neuron a = {act}(w·x + b) with the loss L = (a − y)²",
        ),
    ),
    2: (
        _Template(
            _layers,
            _leaves("x", "w1", "b1", "w2", "b2", "y"),
            "two layers h = {act}(w1·x + b1), o = w2·h + b2, with the loss L = (o − y)²",
        ),
        _Template(_twice, _leaves("x", "w", "b"), "f = {act}(w·x + b)·x, where x is used twice"),
    ),
    3: (
        _Template(
            _hidden2,
            _leaves("x", "w1", "w2", "v1", "v2", "y"),
            "two hidden units h1 = {act}(w1·x), h2 = {act}(w2·x), o = v1·h1 + v2·h2, "
            "with the loss L = (o − y)²",
        ),
        _Template(
            _skip,
            _leaves("x", "w", "b", "v", "y"),
            "a skip connection h = {act}(w·x + b), o = v·h + x, with the loss L = (o − y)²",
        ),
        _Template(
            _shared, _leaves("x", "w", "v", "b", "y"), "h = {act}(w·x) used twice: g = v·h + b, L = g·h − y"
        ),
    ),
}


def _suitable(output: Value, order: list[Value]) -> bool:
    """No relu near its kink (nor dead), no saturated sigmoid or tanh, and gradients a hand can work."""
    for node in order:
        if node.op == "relu" and node.parents[0].data < KINK_MARGIN:
            return False
        if node.op in ("sigmoid", "tanh") and abs(node.parents[0].data) > SMOOTH_RANGE:
            return False
    grads = grad(output, order)
    return all(abs(g) <= MAX_GRADIENT for g in grads) and abs(output.data) <= MAX_GRADIENT


# --- the chain rule at one node: its uses, and the slips a learner makes -------------------------------


@dataclass(frozen=True)
class Use:
    """One use of a node as operand `index` of `consumer`: the chain rule's two factors there."""

    consumer: Value
    index: int
    upstream: float  # d output / d consumer
    local: float  # ∂consumer/∂node
    formula: str  # the local derivative in node names

    @property
    def contribution(self) -> float:
        """This use's part of the node's gradient: upstream · local."""
        return self.upstream * self.local


def uses(output: Value) -> dict[Value, list[Use]]:
    """Every node's uses (in the backward pass's order), each with its upstream gradient and local
    derivative: the engine's backward steps (`engine.backward_steps`)."""
    names = node_names(output)
    found: dict[Value, list[Use]] = {node: [] for node in topological_order(output)}
    for node, steps in itertools.groupby(backward_steps(output), key=operator.attrgetter("node")):
        for k, step in enumerate(steps):  # a node's steps come one per operand, in order
            found[step.operand].append(Use(node, k, step.upstream, step.local, local_formula(node, k, names)))
    return found


@dataclass(frozen=True)
class Candidate:
    """A wrong number a learner is likely to give, and the note that says what it is."""

    value: float
    kind: str  # "sign", "upstream", "local", "paths", "forward"
    note: str


def candidates(
    node: Value,
    name: str,
    output_name: str,
    expected: float,
    used: list[Use],
    names: Mapping[Value, str],
    *,
    uses_in_all: int | None = None,
) -> list[Candidate]:
    """The likely slips for d output/d `node` = sum of `used`'s contributions (`expected`), best first.

    `used` are the uses summed so far (a quiz asks after each), `uses_in_all` how many the node has
    (default: as many). Candidates that equal the right answer (to rounding) are left out: they are
    right; of two with the same number, the first is kept.
    """
    d_out, d_node = derivative_name(output_name), derivative_name(name)
    found = [
        Candidate(
            -expected,
            "sign",
            f"the sign is flipped: d{d_out}/d{d_node} is {'negative' if expected < 0 else 'positive'} here",
        )
    ]
    if len(used) > 1:
        total = len(used) if uses_in_all is None else uses_in_all
        count = "twice" if total == 2 else f"{total} times"
        for size in range(1, len(used)):
            for chosen in itertools.combinations(range(len(used)), size):
                through = ", ".join(_through(used, i, names) for i in chosen)
                one = "the path" if size == 1 else "the paths"
                found.append(
                    Candidate(
                        sum(used[i].contribution for i in chosen),
                        "paths",
                        f"that is {one} through {through} only: {name} is used {count}, and its "
                        f"gradient sums one term per use (the user's gradient · its local derivative)",
                    )
                )
    for i, use in enumerate(used):
        rest = sum(u.contribution for j, u in enumerate(used) if j != i)
        source = names[use.consumer]
        local = f"∂{derivative_name(source)}/∂{d_node} = {use.formula}"
        term = f" in the term through {_through(used, i, names)}" if len(used) > 1 else ""
        found.append(
            Candidate(
                rest + use.upstream,
                "upstream",
                f"that is the upstream gradient grad({source}) alone{term}: the chain rule multiplies it "
                f"by the local derivative {local}",
            )
        )
        found.append(
            Candidate(
                rest + use.local,
                "local",
                f"that is the local derivative {local} alone{term}: the chain rule multiplies it by the "
                f"upstream gradient grad({source}) = d{d_out}/d{derivative_name(source)}",
            )
        )
    found.append(
        Candidate(
            node.data,
            "forward",
            f"that is {name}'s forward value (its data); the question asks for its gradient "
            f"d{d_out}/d{d_node}",
        )
    )
    kept: list[Candidate] = []
    for c in found:
        if not close(c.value, expected) and not any(close(c.value, k.value) for k in kept):
            kept.append(c)
    return kept


def _through(used: list[Use], i: int, names: Mapping[Value, str]) -> str:
    """A use's node by name, and which operand where that node uses the same value twice (x·x)."""
    consumer = used[i].consumer
    if sum(u.consumer is consumer for u in used) > 1:
        return f"{names[consumer]} (as its operand {'ab'[used[i].index]})"
    return names[consumer]


def diagnosis(given: float, expected: float, found: list[Candidate]) -> tuple[bool, str]:
    """(right, note) for a learner's number: right to rounding, or the first candidate it matches."""
    if close(given, expected):
        return True, "" if given == expected else f"right (to rounding: {fmt(expected, 6)})"
    for candidate in found:
        if close(given, candidate.value):
            return False, candidate.note
    return False, "no usual slip found: check the local derivative and the upstream gradient of each use"


# --- the exercise -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PracticeRow:
    """One checked gradient: the node's label, the right number, the learner's (None: not given)."""

    name: str
    expected: float
    given: float | None
    ok: bool
    note: str


class PracticeReport:
    """The result of `Exercise.check`: true when every answer given is right (and one was given).

    ``rows`` holds one `PracticeRow` per answer, in the backward pass's order; ``missing`` the labels
    not answered yet. ``str()`` is a table; Jupyter shows it as HTML.
    """

    def __init__(self, rows: list[PracticeRow], missing: list[str], output_name: str) -> None:
        self.rows = rows
        self.missing = missing
        self.output_name = output_name

    def __bool__(self) -> bool:
        return bool(self.rows) and all(row.ok for row in self.rows)

    def __repr__(self) -> str:
        return f"<PracticeReport: {self._headline()}>"

    def _headline(self) -> str:
        right = sum(row.ok for row in self.rows)
        said = f"{right} of {len(self.rows)} answers right"
        if self.missing:
            said += f"; not answered yet: {', '.join(self.missing)}"
        return said

    def _cells(self, row: PracticeRow) -> list[str]:
        given = "—" if row.given is None else fmt(row.given, 6)
        verdict = "right" if row.ok else "wrong"
        return [row.name, fmt(row.expected, 6) if row.ok else "?", given, verdict]

    def __str__(self) -> str:
        lines = [self._headline(), ""]
        table = [["node", "right", "given", "", "note"]] + [[*self._cells(r), r.note] for r in self.rows]
        widths = [max(len(cells[i]) for cells in table) for i in range(4)]
        for cells in table:
            lines.append(
                "  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[4]]).rstrip()
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for row in self.rows:
            name, right, given, verdict = self._cells(row)
            colour = notebook.OK_COLOUR if row.ok else notebook.BAD_COLOUR
            rows.append(
                [
                    notebook.cell(
                        notebook.text(f"d{derivative_name(self.output_name)}/d{derivative_name(name)}")
                    ),
                    notebook.cell(notebook.text(right), kind="number"),
                    notebook.cell(notebook.text(given), kind="number"),
                    notebook.cell(f"<b>{verdict}</b> {notebook.text(row.note)}", kind="note", colour=colour),
                ]
            )
        colour = notebook.OK_COLOUR if self else notebook.BAD_COLOUR
        headline = notebook.text(self._headline())
        return notebook.block(
            f'<p style="margin:0.3em 0;font-weight:bold;color:{colour}">{headline}</p>',
            notebook.table(["gradient", "right", "given", "verdict"], rows),
        )

    def _repr_markdown_(self) -> str:
        lines = [
            f"**{notebook.md(self._headline())}**",
            "",
            "| gradient | right | given | verdict |",
            "|---|---|---|---|",
        ]
        for row in self.rows:
            name, right, given, verdict = self._cells(row)
            shown = verdict if not row.note else f"**{verdict}**: {notebook.md(row.note)}"
            lines.append(f"| {notebook.md(name)} | {right} | {given} | {shown} |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every row, and the labels not answered."""
        return {
            "ok": bool(self),
            "rows": [row.__dict__ for row in self.rows],
            "missing": list(self.missing),
        }


class Exercise:
    """One practice exercise: a small graph with its forward values, whose gradients a learner works out.

    ``output`` is the graph (every node labelled), ``question`` says what to do, ``answers()`` gives
    every labelled node's gradient d output/d node, ``check(answers)`` says which are right and what
    a wrong one most likely is. `to_html` is its quiz page; Jupyter shows the question.
    """

    def __init__(
        self, seed: int | None, level: int, template: _Template, act: str, point: dict[str, float]
    ) -> None:
        self.seed = seed
        self.level = level
        self.point = dict(point)
        self._template = template
        self._act = act
        self.output, self.inputs = self._build(self.point)
        self.order = topological_order(self.output)
        self.names = node_names(self.output)

    def _build(self, point: Mapping[str, float]) -> tuple[Value, Leaves]:
        leaves = {name: Value(x, name) for name, x in point.items()}
        return self._template.build(leaves, self._act), leaves

    @property
    def labels(self) -> list[str]:
        """The labelled nodes in the backward pass's order: the gradients to find, output first."""
        return [node.label for node in self.order if node.label]

    @property
    def question(self) -> str:
        """The exercise in words: the graph, the forward values, what to compute."""
        out = self.output.label
        given = ", ".join(f"{name} = {fmt(x)}" for name, x in self.point.items())
        what = self._template.words.format(act=self._act)
        return (
            f"Take {what}, at {given}. The forward pass gives "
            + ", ".join(f"{n.label} = {fmt(n.data)}" for n in reversed(self.order) if n.parents and n.label)
            + f". Find the gradient d{derivative_name(out)}/d(node) of every node: "
            + ", ".join(self.labels)
            + "."
        )

    def answers(self) -> dict[str, float]:
        """Every labelled node's gradient d output/d node, by the engine (`grad`), output first."""
        nodes = [node for node in self.order if node.label]
        return {node.label: g for node, g in zip(nodes, grad(self.output, nodes), strict=True)}

    def check(self, answers: Mapping[str, float | str]) -> PracticeReport:
        """Check a learner's gradients: label → a number, or a formula string over the inputs and labels
        (as `compare`'s hand, e.g. ``"2*e*x"``; never run as Python). Each wrong one gets a note saying
        what it most likely is. Unknown labels and answers that are neither raise an error."""
        if not isinstance(answers, Mapping):
            raise TypeError(f"check(answers) takes a dict label → number, got {type(answers).__name__}")
        expected = self.answers()
        unknown = [str(k) for k in answers if k not in expected]
        if unknown:
            raise ValueError(
                f"check(answers): no node labelled {', '.join(unknown)} (the nodes: {', '.join(expected)})"
            )
        all_uses = uses(self.output)
        node_of = {node.label: node for node in self.order if node.label}
        out = self.output.label
        rows = []
        for label, right in expected.items():
            if label not in answers:
                continue
            node = node_of[label]
            given = self._answer_number(label, answers[label])
            ok, note = diagnosis(
                given, right, candidates(node, label, out, right, all_uses[node], self.names)
            )
            if (
                not ok
                and isinstance(answers[label], str)
                and label in self.inputs
                and note.startswith("no usual")
            ):
                note = self._formula_note(label, answers[label]) or note
            rows.append(PracticeRow(label, right, given, ok, note))
        missing = [label for label in expected if label not in answers]
        return PracticeReport(rows, missing, out)

    def _sample(self, point: Mapping[str, float]) -> Sample:
        output, leaves = self._build(point)
        return Sample.of(output, leaves, dict(point))

    def _answer_number(self, label: str, answer: object) -> float:
        if isinstance(answer, str):
            try:
                return parse_number(answer)
            except ValueError:
                pass
            formula = hand_function(label, answer, lambda f, point: f(**point), self._sample(self.point))
            return formula(self._sample(self.point))
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            raise TypeError(
                f"check(answers[{label!r}]) must be a number or a formula string, got {type(answer).__name__}"
            )
        return float(answer)

    def _formula_note(self, label: str, formula: str) -> str:
        """For a formula for an input: what the hand diagnosis finds at points near this one."""
        given = self._sample(self.point)
        hand = hand_function(label, formula, lambda f, point: f(**point), given)
        found = diagnose(label, hand, [given, *nearby(self._sample, given, 0)], 1e-6, 1e-9)
        return found.text if found is not None else ""

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """The quiz page of this exercise (see `quiz`); with `path` also written there (atomically)."""
        page = str(quiz(self.output, title=f"Practice: {self._title()}"))
        if path is not None:
            notebook.Stepper(page).save(path)
        return page

    def _title(self) -> str:
        return (
            f"level {self.level}, exercise {self.seed}" if self.seed is not None else f"level {self.level}"
        )

    def __repr__(self) -> str:
        return f"<Exercise level {self.level}: {self.question}>"

    def _repr_html_(self) -> str:
        return notebook.block(notebook.paragraph(notebook.text(self.question)))

    def _repr_markdown_(self) -> str:
        return notebook.md(self.question)


def exercise(seed: int | None = None, *, level: int = 1) -> Exercise:
    """A random small exercise in backpropagation, the same for the same `seed` and `level` everywhere.

    Level 1 is a neuron, level 2 two layers or an input used twice, level 3 a larger graph with
    several paths. Numbers are friendly (a few digits), no relu sits near its kink.

    >>> import microgradx as mg
    >>> ex = mg.exercise(7)
    >>> bool(ex.check(ex.answers()))
    True
    """
    if type(level) is not int or level not in LEVELS:
        raise ValueError(f"exercise(level) must be 1, 2 or 3, got {level!r}")
    if seed is not None and (type(seed) is not int):
        raise TypeError(f"exercise(seed) must be a whole number or None, got {type(seed).__name__}")
    rng = random.Random(seed)
    templates = _TEMPLATES[level]
    while True:  # a few draws at most: most draws are suitable
        template = templates[rng.randrange(len(templates))]
        act = _ACTIVATIONS[rng.randrange(len(_ACTIVATIONS))]
        point = {name: pool[rng.randrange(len(pool))] for name, pool in template.leaves}
        candidate = Exercise(seed, level, template, act, point)
        if _suitable(candidate.output, candidate.order):
            return candidate


# --- the quiz page ------------------------------------------------------------------------------------------


def quiz_data(output: Value, data: dict) -> dict:
    """Add to the stepper's `data` (from `steps.page_data`) what the quiz asks at each backward step:
    the running gradient after the step, and the slips' numbers with their notes."""
    order = topological_order(output)
    forward = order[::-1]
    names = node_names(output)
    all_uses = uses(output)
    out_name = names[output]
    done: set[tuple[Value, int]] = set()  # (consumer, operand) pairs the steps so far went through
    for step in data["steps"]:
        if step["phase"] != "backward" or "from" not in step:
            continue
        node = forward[step["node"]]
        done.add((forward[step["from"]], data["edges"][step["edges"][0]]["index"]))
        used = [use for use in all_uses[node] if (use.consumer, use.index) in done]
        expected = float(step["after"])
        found = candidates(
            node, names[node], out_name, expected, used, names, uses_in_all=len(all_uses[node])
        )
        step["ask"] = {
            "answer": expected,
            "notes": [[c.value, c.note] for c in found if math.isfinite(c.value)],
        }
    data["quiz"] = {"rtol": RTOL, "atol": ATOL}
    return data


def quiz(
    output: Value, *, highlight: Value | Iterable[Value] | None = None, title: str | None = None
) -> notebook.Stepper:
    """The step-through page of `output` in quiz mode: at each backward step it asks for the gradient
    before showing it, accepts a right one (to rounding), answers a wrong one with a note on what it
    most likely is, and offers "show me". Same object as `stepper`: inline in Jupyter, ``str()`` is
    the page, ``.save(path)`` writes it. Offline, keyboard-usable, the stepper's CSP."""
    if title is not None and type(title) is not str:
        raise TypeError(f"quiz(title) must be a str or None, got {type(title).__name__}")
    data = quiz_data(output, page_data(output, highlight=highlight))
    name = data["nodes"][data["output"]]["name"]
    heading = title if title is not None else f"Backpropagation quiz: {name}"
    return notebook.Stepper(stepper_page(output, data, heading, quiz=True))
