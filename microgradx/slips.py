"""The chain rule at one node, and the slips a learner makes there: what a wrong gradient most likely is.

A node's gradient sums one term per use, each the upstream gradient times a local derivative
(`uses`, read from the engine's backward steps). `candidates` lists the usual slips as numbers with
a note each: the sign flipped, the upstream gradient or the local derivative alone (the chain
rule's product forgotten), the gradient along some of several uses only, the forward value
instead of the gradient; `diagnosis` says which one a learner's number is. `Exercise.check`, the
quiz page, the worksheets and the terminal practice all read them.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass

from microgradx.engine import Value, backward_steps
from microgradx.formatting import derivative_name, fmt
from microgradx.graph import Graph, snapshot

__all__ = [
    "ATOL",
    "MAX_PATH_USES",
    "RTOL",
    "Candidate",
    "Use",
    "candidates",
    "close",
    "diagnosis",
    "parse_number",
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


def uses(output: Value | Graph) -> dict[Value, list[Use]]:
    """Every node's uses (in the backward pass's order), each with its upstream gradient and local
    derivative: the engine's backward steps (`engine.backward_steps`). `output` is a Value or its
    snapshot (`graph.snapshot`), whose names the formulas use."""
    graph = output if isinstance(output, Graph) else snapshot(output, caller="uses")
    found: dict[Value, list[Use]] = {node: [] for node in graph.backward}
    for node, steps in itertools.groupby(backward_steps(graph.output), key=operator.attrgetter("node")):
        edges = graph.edges_into(node)
        for k, step in enumerate(steps):  # a node's steps come one per operand, in order
            found[step.operand].append(Use(node, k, step.upstream, step.local, graph.formula(edges[k])))
    return found


@dataclass(frozen=True)
class Candidate:
    """A wrong number a learner is likely to give, and the note that says what it is."""

    value: float
    kind: str  # "sign", "upstream", "local", "paths", "forward"
    note: str


MAX_PATH_USES = 6
"""The most uses summed for which the notes try every choice of some of a node's paths (2**n − 2 of
them) and each use's upstream-alone and local-alone slip. A node summed over more uses gets only
the slips of its newest term (that path alone, the sum without it, its upstream gradient or local
derivative alone), so a node used 400 times gets a few notes per quiz step, not 2**400."""


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

    `used` are the uses summed so far (a quiz asks after each; the newest last), `uses_in_all` how
    many the node has (default: as many). Candidates that equal the right answer (to rounding) are
    left out: they are right; of two with the same number, the first is kept. Beyond
    `MAX_PATH_USES` uses, only the newest term's slips are listed.
    """
    d_out, d_node = derivative_name(output_name), derivative_name(name)
    found = [
        Candidate(
            -expected,
            "sign",
            f"the sign is flipped: d{d_out}/d{d_node} is {'negative' if expected < 0 else 'positive'} here",
        )
    ]
    few = len(used) <= MAX_PATH_USES
    if len(used) > 1:
        total = len(used) if uses_in_all is None else uses_in_all
        count = "twice" if total == 2 else f"{total} times"
        why = (
            f"{name} is used {count}, and its gradient sums one term per use "
            "(the user's gradient · its local derivative)"
        )
        found += _path_slips(used, names, why) if few else _newest_path_slips(used, names, why)
    for i in range(len(used)) if few else [len(used) - 1]:
        found += _term_slips(used, i, names, d_out, d_node)
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


def _path_slips(used: list[Use], names: Mapping[Value, str], why: str) -> list[Candidate]:
    """The gradient along some of the uses only: every choice of 1 to n − 1 of them."""
    found = []
    for size in range(1, len(used)):
        for chosen in itertools.combinations(range(len(used)), size):
            through = ", ".join(_through(used, i, names) for i in chosen)
            one = "the path" if size == 1 else "the paths"
            value = sum(used[i].contribution for i in chosen)
            found.append(Candidate(value, "paths", f"that is {one} through {through} only: {why}"))
    return found


def _newest_path_slips(used: list[Use], names: Mapping[Value, str], why: str) -> list[Candidate]:
    """Of many uses, the newest one's path alone and the sum without it (a term forgotten)."""
    newest = len(used) - 1
    through = _through(used, newest, names)
    return [
        Candidate(used[newest].contribution, "paths", f"that is the path through {through} only: {why}"),
        Candidate(
            sum(u.contribution for u in used[:newest]),
            "paths",
            f"that is the paths through every use but {through}: {why}",
        ),
    ]


def _term_slips(
    used: list[Use], i: int, names: Mapping[Value, str], d_out: str, d_node: str
) -> list[Candidate]:
    """Use `i`'s term with its upstream gradient alone, and with its local derivative alone."""
    use = used[i]
    rest = sum(u.contribution for j, u in enumerate(used) if j != i)
    source = names[use.consumer]
    local = f"∂{derivative_name(source)}/∂{d_node} = {use.formula}"
    term = f" in the term through {_through(used, i, names)}" if len(used) > 1 else ""
    return [
        Candidate(
            rest + use.upstream,
            "upstream",
            f"that is the upstream gradient grad({source}) alone{term}: the chain rule multiplies it "
            f"by the local derivative {local}",
        ),
        Candidate(
            rest + use.local,
            "local",
            f"that is the local derivative {local} alone{term}: the chain rule multiplies it by the "
            f"upstream gradient grad({source}) = d{d_out}/d{derivative_name(source)}",
        ),
    ]


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
