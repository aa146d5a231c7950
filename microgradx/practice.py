"""Practice: small random exercises in backpropagation, checked with notes on what a wrong gradient is.

`exercise(seed, level=...)` draws a small graph with friendly numbers (a neuron; two layers or an
input used twice; a larger graph with several paths), every node labelled, the same on every
machine for the same seed: it draws from ``random.Random(seed)`` only. `Exercise.check` compares a
learner's gradients with the engine's and, for a wrong one, looks for the usual slips (`slips`):
the sign flipped, the upstream gradient or the local derivative alone (the chain rule's product
forgotten), the gradient along some of several uses only, the forward value instead of the
gradient; it returns a `practice_report.PracticeReport`. The same slips, per backward step, make
the quiz page (`quiz_page`), the worksheets and the terminal practice of the command line; this
module re-exports their public names, so ``from microgradx.practice import quiz`` still works.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from microgradx import notebook
from microgradx.diagnosis import diagnose
from microgradx.engine import Value, grad
from microgradx.formatting import derivative_name, fmt
from microgradx.graph import Graph, snapshot
from microgradx.hand import Sample, hand_function, nearby
from microgradx.practice_report import PracticeReport, PracticeRow
from microgradx.quiz_page import quiz, quiz_data
from microgradx.slips import (
    ATOL,
    RTOL,
    Candidate,
    Use,
    candidates,
    close,
    diagnosis,
    parse_number,
    uses,
)

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

LEVELS = (1, 2, 3)

ANSWER_NAMES = "an answer's formula may use the labels of the exercise's graph"
"""What a wrong name in an answer's formula is told (`Exercise.check`), before the labels."""
"""1: a neuron; 2: two layers, or an input used twice; 3: a larger graph with several paths."""


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


# --- the exercise -----------------------------------------------------------------------------------------


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
        self.graph: Graph = snapshot(self.output, caller="Exercise")

    @property
    def order(self) -> list[Value]:
        """The graph's nodes in the backward pass's order, the output first."""
        return self.graph.backward

    @property
    def names(self) -> dict[Value, str]:
        """Each node's name (its label: every node of an exercise is labelled)."""
        return self.graph.names

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
        all_uses = uses(self.graph)
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
            formula = hand_function(
                label, answer, lambda f, point: f(**point), self._sample(self.point),
                where=f"answers[{label!r}]", may=ANSWER_NAMES,
            )  # fmt: skip
            return formula(self._sample(self.point))
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            raise TypeError(
                f"check(answers[{label!r}]) must be a number or a formula string, got {type(answer).__name__}"
            )
        return float(answer)

    def _formula_note(self, label: str, formula: str) -> str:
        """For a formula for an input: what the hand diagnosis finds at points near this one."""
        given = self._sample(self.point)
        hand = hand_function(
            label, formula, lambda f, point: f(**point), given, where=f"answers[{label!r}]", may=ANSWER_NAMES
        )
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
