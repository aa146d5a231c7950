"""The graph snapshot: one output's graph walked and named once, read by every picture and report.

`draw`, `to_text`, the stepper, `explain`, `explore`, `History` and practice all need the same
things of a graph: its nodes in order, a readable name for each, its edges (one per operand) with
the local derivative ∂child/∂operand as a number and as a formula, and the paths from a
highlighted input to the output. `snapshot(output)` gathers them once, so each view reads the
same names and numbers instead of walking and naming the graph itself.

The order is read when the snapshot is made; every other part (the names, the edges, each local
derivative and formula) is worked out the first time it is asked for and then kept, so a large
graph drawn as a summary costs one walk and no naming. A snapshot is therefore a picture of the
graph as it was when it was read: after changing a graph (a label, a number, an operand), make a
new one. Each view makes its own, once per picture or report. (``.data`` and ``.grad`` are not
copied: a view reads them from the Values as it draws.) Working out a part twice in two threads
gives the same result, so a snapshot may be read from several threads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cached_property
from typing import NamedTuple

from microgradx.engine import Value, local_derivatives, topological_order
from microgradx.formatting import (
    LATEX,
    MAX_EXPRESSION,
    latex_formula,
    local_formula,
    written_names,
)

__all__ = ["Edge", "Graph", "snapshot"]


class Edge(NamedTuple):
    """One operand's arrow: `parent` is operand number `operand` of `child` (0 is a, 1 is b)."""

    number: int  # the edge's place in `Graph.edges`: by child in forward order, then operand
    parent: Value
    child: Value
    operand: int


class Graph:
    """A snapshot of `output`'s graph (make one with `snapshot`).

    - ``forward``: the nodes, operands first; ``backward``: the engine's backward order (the
      output first); ``index``: each node's place in ``forward``; ``node in graph``, ``len(graph)``.
    - ``names``: each node's readable name (`formatting.node_names`: a label, a number, a short
      expression or ``mul3``; a repeated label or expression gets ``#2``); ``latex_names``: the
      same in LaTeX; ``written``: each name with its precedence, for writing it beside an operator.
    - ``edges``: one `Edge` per operand; ``edges_into(node)``: a node's own; ``uses``: how many
      times each node is an operand; ``local(edge)`` and ``formula(edge)`` (``latex_formula``):
      its local derivative ∂child/∂parent as a number and in node names.
    - ``highlight``: the highlighted nodes (each once); ``on_path``: the nodes of the graph on a
      path from one of them to the output; ``path_counts(start)`` and ``paths_to_output()``: how
      many paths lead from `start` to each node, and from each node to the output.
    """

    def __init__(self, output: Value, highlight: tuple[Value, ...], max_expression: int) -> None:
        self.output = output
        self.backward: list[Value] = topological_order(output)
        self.forward: list[Value] = self.backward[::-1]
        self.highlight = highlight
        self._max_expression = max_expression
        self._locals: dict[Value, tuple[float, ...]] = {}

    def __len__(self) -> int:
        return len(self.forward)

    def __contains__(self, node: object) -> bool:
        return node in self.members

    @cached_property
    def index(self) -> dict[Value, int]:
        """Each node's place in `forward`."""
        return {node: i for i, node in enumerate(self.forward)}

    @cached_property
    def written(self) -> dict[Value, tuple[str, int]]:
        """Each node's name with its precedence (`formatting.written_names`), for writing it beside
        an operator: ``(ŷ − y)²`` keeps its parentheses."""
        return written_names(self.output, self._max_expression, forward=self.forward)

    @cached_property
    def names(self) -> dict[Value, str]:
        """A readable name for every node (`formatting.node_names`; a repeat gets ``#2``)."""
        return {node: name for node, (name, _) in self.written.items()}

    @cached_property
    def latex_names(self) -> dict[Value, str]:
        """The same names as LaTeX math (`formatting.latex_names`)."""
        written = written_names(self.output, self._max_expression, LATEX, forward=self.forward)
        return {node: name for node, (name, _) in written.items()}

    @cached_property
    def edges(self) -> list[Edge]:
        """Every operand's edge, by child in forward order, then by operand."""
        edges: list[Edge] = []
        for node in self.forward:
            for k, parent in enumerate(node.parents):
                edges.append(Edge(len(edges), parent, node, k))
        return edges

    @cached_property
    def _first_edge(self) -> dict[Value, int]:
        first: dict[Value, int] = {}
        for edge in self.edges:
            first.setdefault(edge.child, edge.number)
        return first

    def edges_into(self, node: Value) -> list[Edge]:
        """`node`'s own edges, one per operand, in operand order (none for a leaf)."""
        if not node.parents:
            return []
        if node not in self._first_edge:
            raise ValueError(f"edges_into: {node!r} is not in the graph of this snapshot")
        start = self._first_edge[node]
        return self.edges[start : start + len(node.parents)]

    @cached_property
    def uses(self) -> Counter[Value]:
        """How many times each node is an operand (``x*x`` uses x twice)."""
        return Counter(parent for node in self.forward for parent in node.parents)

    def local(self, edge: Edge) -> float:
        """∂child/∂parent along `edge` as a number, by the child's rule (the engine's own)."""
        child = edge.child
        if child not in self._locals:
            self._locals[child] = tuple(float(d) for d in local_derivatives(child))
        return self._locals[child][edge.operand]

    def formula(self, edge: Edge) -> str:
        """∂child/∂parent along `edge` as a formula in node names (``σ(z)·(1−σ(z))``)."""
        return local_formula(edge.child, edge.operand, self.names)

    def latex_formula(self, edge: Edge) -> str:
        """`formula` in LaTeX, in `latex_names`."""
        return latex_formula(edge.child, edge.operand, self.latex_names)

    @cached_property
    def on_path(self) -> frozenset[Value]:
        """The nodes of the graph on a path from a highlighted node to the output (one pass in
        forward order); empty when no highlighted node is in the graph."""
        on_path = {node for node in self.highlight if node in self}
        if on_path:
            for node in self.forward:
                if node not in on_path and any(parent in on_path for parent in node.parents):
                    on_path.add(node)
        return frozenset(on_path)

    def path_counts(self, start: Value, cap: int = 2**53) -> dict[Value, int]:
        """How many paths lead from `start` to each node that has one (``x*x``: two into it).

        Counts stop growing at `cap` (2**53 unless given), so a huge graph's counts stay small
        integers, exact below it.
        """
        counts: dict[Value, int] = {}
        for node in self.forward:
            if node is start:
                counts[node] = 1
                continue
            n = 0
            for parent in node.parents:
                n += counts.get(parent, 0)
            if n:
                counts[node] = min(n, cap)
        return counts

    def paths_to_output(self, cap: int = 2**53) -> dict[Value, int]:
        """How many paths lead from each node to the output (``x*x``: two from x), at most `cap`.

        One pass in backward order: a node's count is the sum of its consumers' counts, once per use.
        """
        counts = {self.output: 1}
        for node in self.backward:
            n = counts.get(node, 0)
            for parent in node.parents:
                counts[parent] = min(counts.get(parent, 0) + n, cap)
        return counts

    @cached_property
    def members(self) -> frozenset[Value]:
        """The nodes as a set, what ``node in graph`` reads: a summary of a huge graph asks only
        that of its highlighted node, and a set is several times cheaper to build than `index`."""
        return frozenset(self.forward)


def snapshot(
    output: Value,
    *,
    highlight: Value | Iterable[Value] | None = None,
    max_expression: int = MAX_EXPRESSION,
    caller: str = "snapshot",
) -> Graph:
    """Walk `output`'s graph once (see `Graph`); `highlight` is a Value or Values of it.

    `caller` names the function a bad argument was given to, so its errors read
    ``draw(output) must be a Value``.
    """
    if type(output) is not Value:
        raise TypeError(f"{caller}(output) must be a Value, got {type(output).__name__}")
    if highlight is None:
        chosen: tuple[Value, ...] = ()
    elif type(highlight) is Value:
        chosen = (highlight,)
    elif isinstance(highlight, Iterable) and not isinstance(highlight, str | bytes):
        chosen = tuple(dict.fromkeys(highlight))  # each once, in the order given
    else:
        raise TypeError(
            f"{caller}(highlight) must be a Value or Values of the graph, got {type(highlight).__name__}"
        )
    for node in chosen:
        if type(node) is not Value:
            raise TypeError(
                f"{caller}(highlight) must be a Value or Values of the graph, got {type(node).__name__}"
            )
    graph = Graph(output, chosen, max_expression)
    return graph
