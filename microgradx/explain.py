"""The chain rule made visible: every path from an input to the output, edge by edge.

``d output / d wrt`` is a sum over the paths from `wrt` to `output` of the product of the local
derivatives along each path. `explain` lists those paths, each edge's local derivative as a
formula (from the engine's rule table, the same one backward uses) and as a number, each path's
product, and their sum. Paths are counted by dynamic programming, never by enumerating them, so a
graph with 2^40 paths is recognised at once and explained by its backward accumulation instead.
The graph is read from one snapshot (`microgradx.graph`); the report's writers (text, Markdown,
LaTeX, HTML) are in `microgradx.explain_writers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from microgradx.engine import Value, grad
from microgradx.explain_writers import (
    MAX_COUNT,
    MAX_ROWS,
    MAX_TERMS,
    MAX_TEXT,
    ROWS_TAIL,
    as_factor,
    count_text,
    elide,
    html_report,
    latex_report,
    markdown_report,
    output_name,
    text_report,
    wrt_name,
)
from microgradx.formatting import derivative_name, fmt, json_number
from microgradx.graph import Graph, snapshot

__all__ = ["Edge", "Explanation", "NodeGrad", "Path", "explain", "explain_graph"]
__all__ += ["MAX_COUNT", "MAX_EDGES", "MAX_ROWS", "MAX_TERMS", "MAX_TEXT", "as_factor"]  # re-exported

MAX_EDGES = 1000
"""The most edges `explain` lists by default, over all paths together: a longer chain (10^6 ops)
is explained by its backward accumulation, as a graph with too many paths is."""


@dataclass(frozen=True, eq=False)
class Edge:
    """One step of a path: `parent` is operand `index` of `child`, with local derivative ∂child/∂parent.

    ``formula`` is that derivative in node names (e.g. ``σ(z)·(1−σ(z))``), ``value`` is it
    evaluated at the graph's numbers by the engine's rule.
    """

    parent: Value
    child: Value
    index: int
    formula: str
    value: float
    parent_name: str
    child_name: str

    @property
    def derivative(self) -> str:
        """The edge written as a partial derivative, e.g. ``∂ŷ/∂z``."""
        return f"∂{derivative_name(self.child_name)}/∂{derivative_name(self.parent_name)}"


@dataclass(frozen=True, eq=False)
class Path:
    """One path from `wrt` to `output`: its edges in chain-rule order and their product.

    ``edges[0].child`` is the output and ``edges[-1].parent`` is `wrt`, so the edges read like the
    chain rule ``dE/dw = ∂E/∂ŷ · ∂ŷ/∂z · ∂z/∂w``. A path from a node to itself has no edges.
    """

    edges: tuple[Edge, ...]
    product: float

    @property
    def nodes(self) -> list[Value]:
        """The nodes along the path in forward order, from `wrt` to the output."""
        if not self.edges:
            return []
        return [self.edges[-1].parent] + [edge.child for edge in reversed(self.edges)]


@dataclass(frozen=True, eq=False)
class NodeGrad:
    """One row of the backward accumulation: ``d output / d node`` and the uses it is summed from.

    Each term is ``(consumer, index, upstream, local)``: `node` is operand `index` of `consumer`,
    ``upstream = d output / d consumer`` and ``local = ∂consumer/∂node``.
    """

    node: Value
    name: str
    grad: float
    terms: tuple[tuple[Value, int, float, float], ...]


class Explanation:
    """What `explain` returns: the paths (or, when too many, the backward accumulation) and the total.

    ``paths`` lists `Path` objects (empty when ``truncated``), ``path_count`` is the exact number of
    paths, ``total`` is ``d output / d wrt``, ``accumulation`` lists a `NodeGrad` per node on the
    paths in backward order, ``graph`` is the output's snapshot (`microgradx.graph`) it was read
    from. ``str()`` is plain text; see also `to_markdown`, `to_latex`, `to_dict`.
    """

    def __init__(
        self,
        output: Value,
        wrt: Value,
        *,
        paths: list[Path],
        path_count: int,
        max_paths: int,
        grads: dict[Value, float],
        graph: Graph | None = None,
        edge_count: int = 0,
        max_edges: int | None = None,
    ) -> None:
        self.output = output
        self.wrt = wrt
        self.graph = graph if graph is not None else snapshot(output, caller="Explanation")
        self.paths = paths
        self.path_count = path_count
        self.max_paths = max_paths
        self.edge_count = edge_count
        """How many edges the paths have in all (counted, not listed; 0 when there are too many paths)."""
        self.max_edges = max_edges
        self.total = grads.get(wrt, 0.0)
        self.too_long = path_count <= max_paths and max_edges is not None and edge_count > max_edges
        self.truncated = path_count > max_paths or self.too_long
        self.grads = grads
        """d output / d node for every node on a path, in backward order."""
        self._accumulation: list[NodeGrad] | None = None

    @property
    def names(self) -> dict[Value, str]:
        """The readable name of every node of the output's graph (`formatting.node_names`)."""
        return self.graph.names

    def shown_accumulation(self) -> list[NodeGrad | None]:
        """The rows a text shows (`elide`), built alone when the whole accumulation is not built yet."""
        if self._accumulation is not None or len(self.grads) <= MAX_ROWS:
            return elide(self.accumulation)
        nodes = list(self.grads)
        head, tail = nodes[: MAX_ROWS - ROWS_TAIL], nodes[-ROWS_TAIL:]
        rows = accumulate(self.graph, self.grads, self.wrt, head + tail)
        return [*rows[: len(head)], None, *rows[len(head) :]]

    @property
    def accumulation(self) -> list[NodeGrad]:
        """One `NodeGrad` per node on the paths, in backward order (built when first asked for)."""
        if self._accumulation is None:
            self._accumulation = accumulate(self.graph, self.grads, self.wrt)
        return self._accumulation

    def __repr__(self) -> str:
        return (
            f"<Explanation d{output_name(self)}/d{wrt_name(self)} = {fmt(self.total, 6)} "
            f"over {count_text(self.path_count)} path{'s' * (self.path_count != 1)}>"
        )

    def __str__(self) -> str:
        return text_report(self)

    def to_markdown(self) -> str:
        """The explanation as Markdown: a table of edges per path, or of the backward accumulation."""
        return markdown_report(self)

    def to_latex(self) -> str:
        """The explanation as a LaTeX ``aligned`` block (needs amsmath); labels are escaped."""
        return latex_report(self)

    def _repr_html_(self) -> str:
        """The explanation as HTML for Jupyter: a table of edges per path (or of the accumulation)."""
        return html_report(self)

    def _repr_markdown_(self) -> str:
        """The explanation as Markdown for Jupyter (the same as `to_markdown`)."""
        return self.to_markdown()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: names, formulas and numbers (non-finite numbers as strings).

        ``path_count`` is an int while it is exactly representable in JSON (< 2^53), else a string.
        """
        count: int | str = self.path_count if self.path_count < 2**53 else count_text(self.path_count)
        result: dict[str, Any] = {
            "output": self.names[self.output],
            "wrt": wrt_name(self),
            "total": json_number(self.total),
            "path_count": count,
            "truncated": self.truncated,
            "paths": [
                {
                    "edges": [
                        {
                            "child": e.child_name,
                            "parent": e.parent_name,
                            "formula": e.formula,
                            "value": json_number(e.value),
                        }
                        for e in path.edges
                    ],
                    "product": json_number(path.product),
                }
                for path in self.paths
            ],
        }
        if self.truncated:
            result["accumulation"] = [
                {"node": row.name, "grad": json_number(row.grad)} for row in self.accumulation
            ]
        return result


def explain(output: Value, wrt: Value, max_paths: int = 64, max_edges: int | None = MAX_EDGES) -> Explanation:
    """Explain ``d output / d wrt`` as the chain rule's sum over paths of products of local derivatives.

    Paths are counted without enumerating them; when there are more than `max_paths`, or their
    edges number more than `max_edges` in all (None: no limit), ``.paths`` is empty,
    ``.truncated`` is True and the text shows the backward accumulation node by node, its middle
    left out past MAX_ROWS nodes. Every text stops at MAX_TEXT characters, saying what it left
    out. Everything is iterative, so deep and wide graphs work.

    >>> w = Value(0.5, "w"); x = Value(1.5, "x"); print(explain(w * x, w).paths[0].edges[0].formula)
    x
    """
    return explain_graph(snapshot(output, caller="explain"), wrt, max_paths, max_edges)


def explain_graph(
    graph: Graph, wrt: Value, max_paths: int = 64, max_edges: int | None = MAX_EDGES
) -> Explanation:
    """`explain` for the output of a snapshot already made (`microgradx.graph.snapshot`): a view
    that explains several inputs of one graph names and walks it once."""
    _check(wrt, max_paths, max_edges)
    output = graph.output
    counts = graph.path_counts(wrt, cap=MAX_COUNT)
    path_count = counts.get(output, 0)
    on_paths = [node for node in graph.backward if node in counts]  # nodes on some path, backward order
    grads = dict(zip(on_paths, map(float, grad(output, on_paths)), strict=True)) if on_paths else {}
    edge_count = _count_edges(on_paths, counts) if 0 < path_count <= max_paths else 0
    if not 0 < path_count <= max_paths or (max_edges is not None and edge_count > max_edges):
        _read_now(graph, on_paths, wrt)
        return Explanation(
            output, wrt, paths=[], path_count=path_count, max_paths=max_paths, grads=grads,
            graph=graph, edge_count=edge_count, max_edges=max_edges,
        )  # fmt: skip

    names = graph.names
    edges: dict[int, Edge] = {}

    def edge(step: Any) -> Edge:  # one `graph.Edge` as a path's `Edge`, made once
        if step.number not in edges:
            parent, child, formula = step.parent, step.child, graph.formula(step)
            shown = Edge(parent, child, step.operand, formula, graph.local(step), names[parent], names[child])
            edges[step.number] = shown
        return edges[step.number]

    paths = [Path(tuple(e), _product(e)) for e in _enumerate_paths(graph, wrt, counts, edge)]
    return Explanation(
        output, wrt, paths=paths, path_count=path_count, max_paths=max_paths, grads=grads,
        graph=graph, edge_count=edge_count, max_edges=max_edges,
    )  # fmt: skip


def _read_now(graph: Graph, on_paths: list[Value], wrt: Value) -> None:
    """Read the names and the on-path local derivatives the accumulation shows now, with the grads:
    it is written when first printed, and a graph changed in between (an optimizer's step) must not
    mix today's local derivatives with the grads of then."""
    graph.names  # noqa: B018  (a cached part of the snapshot, read for its effect)
    for node in on_paths:
        if node is not wrt:
            for step in graph.edges_into(node):
                graph.local(step)


def _check(wrt: object, max_paths: object, max_edges: object) -> None:
    if type(wrt) is not Value:
        raise TypeError(f"explain(wrt) must be a Value, got {type(wrt).__name__}")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 0:
        raise ValueError(f"max_paths must be a whole number >= 0, got {max_paths!r}")
    if max_edges is not None and (
        isinstance(max_edges, bool) or not isinstance(max_edges, int) or max_edges < 0
    ):
        raise ValueError(f"max_edges must be a whole number >= 0 or None, got {max_edges!r}")


def accumulate(
    graph: Graph, grads: dict[Value, float], wrt: Value, only: list[Value] | None = None
) -> list[NodeGrad]:
    """Each on-path node's gradient with the uses it is summed from, as the backward pass adds them
    (`grads` holds the on-path nodes, in backward order); with `only`, just those nodes' rows (a
    text shows MAX_ROWS of a million). A use is (consumer, operand, d output/d consumer, local)."""
    rows = list(grads) if only is None else only
    uses: dict[Value, list[tuple[Value, int, float, float]]] = {node: [] for node in rows}
    for node in graph.backward:
        if node is wrt or node not in grads:
            continue  # paths end at wrt: what wrt is made of is not on them
        for step in graph.edges_into(node):
            if step.parent in uses:
                uses[step.parent].append((node, step.operand, grads[node], graph.local(step)))
    names = graph.names
    return [NodeGrad(node, names[node], grads[node], tuple(uses[node])) for node in rows]


# --- counting and enumerating paths ---------------------------------------------------------------


def _count_edges(on_paths: list[Value], counts: dict[Value, int]) -> int:
    """The number of edges of all paths together, by dynamic programming (`on_paths` in backward order):
    the paths into a node are those into each operand, each one edge longer."""
    edges: dict[Value, int] = {}
    for node in reversed(on_paths):
        n = 0
        for parent in node.parents:
            if parent in edges:
                n += edges[parent] + counts[parent]
        edges[node] = min(n, MAX_COUNT)
    return edges[on_paths[0]]


def _enumerate_paths(graph: Graph, wrt: Value, counts: dict[Value, int], edge: Any) -> list[list[Edge]]:
    """Every path from the output down to `wrt` as its list of edges, by an explicit stack (no recursion).

    Only operands with a path from `wrt` are followed, so no branch dead-ends and the work is
    proportional to the size of the answer.
    """
    found = []
    # Each stack entry carries its path so far as a linked list (edge, rest), so that extending a
    # path costs O(1) and the whole enumeration is proportional to the total length of the paths.
    stack: list[tuple[Value, tuple | None]] = [(graph.output, None)]
    while stack:
        node, so_far = stack.pop()
        if node is wrt:
            edges = []
            while so_far is not None:
                step, so_far = so_far
                edges.append(step)
            found.append(edges[::-1])
            continue
        steps = [step for step in graph.edges_into(node) if step.parent in counts]
        for step in reversed(steps):  # reversed: the first operand's paths come out first
            stack.append((step.parent, (edge(step), so_far)))
    return found


def _product(edges: list[Edge]) -> float:
    product = 1.0
    for e in edges:
        product *= e.value
    return product
