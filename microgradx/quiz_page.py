"""The quiz page: the stepper that asks for each gradient before it shows it.

`quiz_data` adds to the stepper's data (from `steps`) what each backward step asks: the running
gradient after the step, and the usual slips' numbers with their notes (`slips.candidates`); the
page's own script (``assets/quiz.*``) compares a learner's number with them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from microgradx import notebook
from microgradx.engine import Value
from microgradx.graph import Graph, snapshot
from microgradx.html import stepper_page
from microgradx.slips import ATOL, RTOL, Use, candidates, uses
from microgradx.steps import page_graph_and_data

__all__ = ["quiz", "quiz_data"]


def quiz_data(output: Value | Graph, data: dict) -> dict:
    """Add to the stepper's `data` (from `steps.page_data` of `output`, a Value or its snapshot) what
    the quiz asks at each backward step: the running gradient after the step, and the slips' numbers
    with their notes."""
    graph = output if isinstance(output, Graph) else snapshot(output, caller="quiz_data")
    forward, names = graph.forward, graph.names
    all_uses = uses(graph)
    out_name = names[graph.output]
    summed = _UsesSummed(all_uses)
    for step in data["steps"]:
        if step["phase"] != "backward" or "from" not in step:
            continue
        node = forward[step["node"]]
        used = summed.add(node, forward[step["from"]], data["edges"][step["edges"][0]]["index"])
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


class _UsesSummed:
    """Which of each node's uses the steps so far went through, in the order of `uses`.

    The steps follow the engine's backward order, as `uses` does, so each step adds a node's next
    use (constant work, not a pass over all of them). Steps in another order fall back to picking
    the done uses out of all of the node's uses."""

    def __init__(self, all_uses: dict[Value, list[Use]]) -> None:
        self.all_uses = all_uses
        self.done: set[tuple[Value, int]] = set()  # (consumer, operand) pairs gone through
        self.count: dict[Value, int] = {}  # how many of a node's uses, from the first, are done
        self.unordered: set[Value] = set()  # nodes whose uses were not gone through in order

    def add(self, node: Value, consumer: Value, operand: int) -> list[Use]:
        """Mark `node`'s use as operand `operand` of `consumer` done; returns its done uses."""
        mine, key = self.all_uses[node], (consumer, operand)
        if key not in self.done:
            self.done.add(key)
            n = self.count.get(node, 0)
            if node not in self.unordered and n < len(mine) and (mine[n].consumer, mine[n].index) == key:
                self.count[node] = n + 1
            else:
                self.unordered.add(node)
        if node in self.unordered:
            return [use for use in mine if (use.consumer, use.index) in self.done]
        return mine[: self.count.get(node, 0)]


def quiz(
    output: Value, *, highlight: Value | Iterable[Value] | None = None, title: str | None = None
) -> notebook.Stepper:
    """The step-through page of `output` in quiz mode: at each backward step it asks for the gradient
    before showing it, accepts a right one (to rounding), answers a wrong one with a note on what it
    most likely is, and offers "show me". Same object as `stepper`: inline in Jupyter, ``str()`` is
    the page, ``.save(path)`` writes it. Offline, keyboard-usable, the stepper's CSP."""
    if title is not None and type(title) is not str:
        raise TypeError(f"quiz(title) must be a str or None, got {type(title).__name__}")
    graph, data = page_graph_and_data(output, highlight=highlight, caller="quiz")
    data = quiz_data(graph, data)
    heading = title if title is not None else f"Backpropagation quiz: {graph.names[output]}"
    return notebook.Stepper(stepper_page(graph, data, heading, quiz=True))
