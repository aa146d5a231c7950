"""The chain rule made visible: every path from an input to the output, edge by edge.

``d output / d wrt`` is a sum over the paths from `wrt` to `output` of the product of the local
derivatives along each path. `explain` lists those paths, each edge's local derivative as a
formula (from the engine's rule table, the same one backward uses) and as a number, each path's
product, and their sum. Paths are counted by dynamic programming, never by enumerating them, so a
graph with 2^40 paths is recognised at once and explained by its backward accumulation instead.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from microgradx import notebook
from microgradx.engine import Value, backward_steps, grad, local_derivatives, topological_order
from microgradx.formatting import (
    derivative_name,
    fmt,
    json_number,
    latex_escape,
    latex_formula,
    latex_names,
    latex_number,
    latex_operand,
    local_formula,
    node_names,
)
from microgradx.notebook import md as _md

__all__ = ["Edge", "Explanation", "NodeGrad", "Path", "explain"]

MAX_ROWS = 120
"""How many nodes of a backward accumulation the text shows before eliding the middle."""

MAX_COUNT = 10**100
"""Path counts stop growing here: a count of MAX_COUNT means "at least 10^100" (and keeps counting cheap)."""

MAX_TERMS = 4
"""How many uses of one node the accumulation text writes out before eliding the rest."""

MAX_EDGES = 1000
"""The most edges `explain` lists by default, over all paths together: a longer chain (10^6 ops)
is explained by its backward accumulation, as a graph with too many paths is."""

MAX_TEXT = 90_000
"""The longest text (``str``, `to_markdown`, `to_latex`) in characters, as `draw.to_text`'s ~88 KB:
past it the text stops at a line and says how many lines were left out."""


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
    paths in backward order. ``str()`` is plain text; see also `to_markdown`, `to_latex`, `to_dict`.
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
        names: dict[Value, str] | None = None,
        edge_count: int = 0,
        max_edges: int | None = None,
    ) -> None:
        self.output = output
        self.wrt = wrt
        self.paths = paths
        self.path_count = path_count
        self.max_paths = max_paths
        self.edge_count = edge_count
        """How many edges the paths have in all (counted, not listed; 0 when there are too many paths)."""
        self.max_edges = max_edges
        self.total = grads.get(wrt, 0.0)
        self.too_long = path_count <= max_paths and max_edges is not None and edge_count > max_edges
        self.truncated = path_count > max_paths or self.too_long
        self._grads = grads  # d output / d node for every node on a path, in backward order
        self._names = names
        self._accumulation: list[NodeGrad] | None = None

    @property
    def names(self) -> dict[Value, str]:
        """The readable name of every node of the output's graph (`formatting.node_names`)."""
        if self._names is None:
            self._names = node_names(self.output)
        return self._names

    def _shown_accumulation(self) -> list[NodeGrad | None]:
        """The rows a text shows (`_elide`), built alone when the whole accumulation is not built yet."""
        if self._accumulation is not None or len(self._grads) <= MAX_ROWS:
            return _elide(self.accumulation)
        nodes = list(self._grads)
        head, tail = nodes[: MAX_ROWS - _TAIL], nodes[-_TAIL:]
        rows = _accumulate(self.output, self._grads, self.wrt, self.names, head + tail)
        return [*rows[: len(head)], None, *rows[len(head) :]]

    @property
    def accumulation(self) -> list[NodeGrad]:
        """One `NodeGrad` per node on the paths, in backward order (built when first asked for)."""
        if self._accumulation is None:
            self._accumulation = _accumulate(self.output, self._grads, self.wrt, self.names)
        return self._accumulation

    def __repr__(self) -> str:
        return (
            f"<Explanation d{self._output_name}/d{self._wrt_name} = {fmt(self.total, 6)} "
            f"over {_count_text(self.path_count)} path{'s' * (self.path_count != 1)}>"
        )

    @property
    def _output_name(self) -> str:
        return derivative_name(self.names[self.output])

    @property
    def _wrt_name(self) -> str:
        return derivative_name(self.names.get(self.wrt) or self.wrt.label or fmt(self.wrt.data))

    @property
    def _gradient(self) -> str:
        return f"d{self._output_name}/d{self._wrt_name}"

    def _headline(self) -> str:
        n = self.path_count
        route = f"from {self._wrt_name} to {self._output_name}"
        if n == 0:
            return f"{self._gradient} = 0: {self._output_name} does not depend on {self._wrt_name} (no path)"
        if self.too_long:
            are = "path is" if n == 1 else f"{n} paths are"
            return (
                f"{self._gradient}: the {are} too long to list: {_count_text(self.edge_count)} edges "
                f"{route} (max_edges = {self.max_edges})"
            )
        if self.truncated:
            return (
                f"{self._gradient}: too many paths to list: {_count_text(n)} paths {route} "
                f"(max_paths = {self.max_paths})"
            )
        return f"{self._gradient} by the chain rule: {n} path{'s' * (n != 1)} {route}"

    def _ending(self) -> str:
        if self.truncated:
            return f"{self._gradient} = {fmt(self.total)}"
        which = "the path product" if self.path_count == 1 else f"sum of the {self.path_count} path products"
        return f"{self._gradient} = {which} = {fmt(self.total)}"

    def __str__(self) -> str:
        lines = [self._headline()]
        for number, path in enumerate(self.paths, 1):
            lines += ["", *_path_lines(number, path, self.names)]
        if self.truncated:
            o = self._output_name
            lines += [
                "",
                f"Instead, the backward accumulation: each node's d{o}/d(node), in backward order,",
                f"is the sum over its uses of d{o}/d(user) · (local derivative).",
                *_accumulation_lines(self, self._output_name),
            ]
        if self.path_count:
            lines += ["", self._ending()]
        return _bounded(
            lines, "\n", lambda n: f"… {n:,} more lines left out (the text stops at {MAX_TEXT:,} characters)"
        )

    def to_markdown(self) -> str:
        """The explanation as Markdown: a table of edges per path, or of the backward accumulation."""
        lines = [f"**{_md(self._headline())}**"]
        for number, path in enumerate(self.paths, 1):
            route = " → ".join(self.names[node] for node in path.nodes) or self.names[self.output]
            lines += [
                "",
                f"Path {number}: {_md(route)}",
                "",
                "| local derivative | formula | value |",
                "|---|---|---|",
            ]
            for edge in path.edges:
                lines.append(f"| {_md(edge.derivative)} | {_md(edge.formula)} | {_md(fmt(edge.value))} |")
            symbolic = " · ".join(as_factor(edge.formula) for edge in path.edges) or "1"
            lines.append(f"| **path product** | {_md(symbolic)} | **{_md(fmt(path.product))}** |")
        if self.truncated:
            o = self._output_name
            lines += ["", f"| node | d{_md(o)}/d(node) | summed from its uses |", "|---|---|---|"]
            for row in self._shown_accumulation():
                if row is None:
                    lines.append("| … | | |")
                    continue
                lines.append(f"| {_md(row.name)} | {_md(fmt(row.grad))} | {_md(_terms_text(row))} |")
        if self.path_count:
            lines += ["", f"**{_md(self._ending())}**"]
        return _bounded(
            lines, "\n", lambda n: f"\n… {n:,} more lines left out (at most {MAX_TEXT:,} characters)"
        )

    def to_latex(self) -> str:
        """The explanation as a LaTeX ``aligned`` block (needs amsmath); labels are escaped."""
        tex = latex_names(self.output)
        o = tex[self.output]
        w = tex.get(self.wrt) or latex_escape(self.wrt.label or fmt(self.wrt.data))
        gradient = f"\\frac{{d {latex_operand(o)}}}{{d {latex_operand(w)}}}"
        rows = []  # the rows of the aligned block, joined by \\\\ below
        if self.path_count == 0:
            rows.append(f"{gradient} &= 0 && \\text{{(no path)}}")
        elif self.truncated:
            rows.append(
                f"{gradient} &= {latex_number(self.total)} && "
                f"\\text{{({_count_text(self.path_count)} paths: too many paths to list)}}"
            )
            for row in self._shown_accumulation():
                if row is None:
                    rows.append("&\\;\\;\\vdots")
                    continue
                shown = row.terms[:MAX_TERMS]
                terms = " + ".join(
                    f"{_tex_factor(up)} \\cdot {_tex_factor(local)}" for _, _, up, local in shown
                )
                more = " + \\dots" if len(row.terms) > MAX_TERMS else ""
                rhs = f"{terms}{more} = {latex_number(row.grad)}" if row.terms else latex_number(row.grad)
                rows.append(f"{_tex_partial(o, tex[row.node])} &= {rhs}")
        else:
            for number, path in enumerate(self.paths, 1):
                partials = " \\cdot ".join(_tex_partial(tex[e.child], tex[e.parent]) for e in path.edges)
                rows.append(f"\\text{{path {number}:}}\\quad & {partials or '1'}")
                if path.edges:
                    formulas = [latex_formula(e.child, e.index, tex) for e in path.edges]
                    rows.append("&= " + " \\cdot ".join(map(_tex_factor_of, formulas)))
                    numbers = " \\cdot ".join(_tex_factor(e.value) for e in path.edges)
                    rows.append(f"&= {numbers} = {latex_number(path.product)}")
            rows.append(f"{gradient} &= {latex_number(self.total)}")
        body = _bounded(
            rows, " \\\\\n", lambda n: f"&\\;\\;\\vdots\\quad \\text{{({n:,} more rows left out)}}"
        )
        return "\\begin{aligned}\n" + body + "\n\\end{aligned}"

    def _repr_html_(self) -> str:
        """The explanation as HTML for Jupyter: a table of edges per path (or of the accumulation)."""
        parts = [notebook.paragraph(notebook.text(self._headline()), bold=True)]
        for number, path in enumerate(self.paths, 1):
            route = " → ".join(self.names[node] for node in path.nodes) or self.names[self.output]
            parts.append(notebook.paragraph(notebook.text(f"Path {number}: {route}")))
            rows = [
                [
                    notebook.cell(notebook.text(edge.derivative)),
                    notebook.cell(notebook.text(edge.formula)),
                    notebook.cell(notebook.text(fmt(edge.value)), kind="number"),
                ]
                for edge in path.edges
            ]
            symbolic = " · ".join(as_factor(edge.formula) for edge in path.edges) or "1"
            rows.append(
                [
                    notebook.cell("<b>path product</b>"),
                    notebook.cell(notebook.text(symbolic)),
                    notebook.cell(f"<b>{notebook.text(fmt(path.product))}</b>", kind="number"),
                ]
            )
            parts.append(notebook.table(["local derivative", "formula", "value"], rows))
        if self.truncated:
            o = self._output_name
            rows = []
            for row in self._shown_accumulation():
                if row is None:
                    more = len(self._grads) - MAX_ROWS
                    rows.append(
                        [notebook.cell(f"… {more:,} more nodes …"), notebook.cell(""), notebook.cell("")]
                    )
                    continue
                rows.append(
                    [
                        notebook.cell(notebook.text(row.name)),
                        notebook.cell(notebook.text(fmt(row.grad)), kind="number"),
                        notebook.cell(notebook.text(_terms_text(row))),
                    ]
                )
            parts.append(notebook.table(["node", f"d{o}/d(node)", "summed from its uses"], rows))
        if self.path_count:
            parts.append(notebook.paragraph(notebook.text(self._ending()), bold=True))
        return notebook.block(*parts)

    def _repr_markdown_(self) -> str:
        """The explanation as Markdown for Jupyter (the same as `to_markdown`)."""
        return self.to_markdown()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: names, formulas and numbers (non-finite numbers as strings).

        ``path_count`` is an int while it is exactly representable in JSON (< 2^53), else a string.
        """
        count: int | str = self.path_count if self.path_count < 2**53 else _count_text(self.path_count)
        result: dict[str, Any] = {
            "output": self.names[self.output],
            "wrt": self._wrt_name,
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
    if type(output) is not Value:
        raise TypeError(f"explain(output) must be a Value, got {type(output).__name__}")
    if type(wrt) is not Value:
        raise TypeError(f"explain(wrt) must be a Value, got {type(wrt).__name__}")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 0:
        raise ValueError(f"max_paths must be a whole number >= 0, got {max_paths!r}")
    if max_edges is not None and (
        isinstance(max_edges, bool) or not isinstance(max_edges, int) or max_edges < 0
    ):
        raise ValueError(f"max_edges must be a whole number >= 0 or None, got {max_edges!r}")

    backward = topological_order(output)
    counts = _count_paths(backward, wrt)
    path_count = counts.get(output, 0)
    on_paths = [node for node in backward if node in counts]  # nodes on some path, backward order
    grads = dict(zip(on_paths, map(float, grad(output, on_paths)), strict=True)) if on_paths else {}
    edge_count = _count_edges(on_paths, counts) if 0 < path_count <= max_paths else 0
    if not 0 < path_count <= max_paths or (max_edges is not None and edge_count > max_edges):
        return Explanation(
            output, wrt, paths=[], path_count=path_count, max_paths=max_paths, grads=grads,
            edge_count=edge_count, max_edges=max_edges,
        )  # fmt: skip

    names = node_names(output)
    edges: dict[tuple[Value, int], Edge] = {}

    def edge(child: Value, index: int) -> Edge:
        key = (child, index)
        if key not in edges:
            parent = child.parents[index]
            value = float(local_derivatives(child)[index])
            formula = local_formula(child, index, names)
            edges[key] = Edge(parent, child, index, formula, value, names[parent], names[child])
        return edges[key]

    paths = [Path(tuple(e), _product(e)) for e in _enumerate_paths(output, wrt, counts, edge)]
    return Explanation(
        output, wrt, paths=paths, path_count=path_count, max_paths=max_paths, grads=grads, names=names,
        edge_count=edge_count, max_edges=max_edges,
    )  # fmt: skip


def _accumulate(
    output: Value, grads: dict[Value, float], wrt: Value, names: dict[Value, str],
    only: list[Value] | None = None,
) -> list[NodeGrad]:
    """Each on-path node's gradient with the uses it is summed from: the engine's backward steps
    into it (`grads` holds the on-path nodes, in backward order); with `only`, just those nodes'
    rows (a text shows MAX_ROWS of a million)."""
    rows = list(grads) if only is None else only
    uses: dict[Value, list[tuple[Value, int, float, float]]] = {node: [] for node in rows}
    for node, steps in itertools.groupby(backward_steps(output), key=operator.attrgetter("node")):
        if node is wrt or node not in grads:
            continue  # paths end at wrt: what wrt is made of is not on them
        for index, step in enumerate(steps):  # a node's steps come one per operand, in order
            if step.operand in uses:
                uses[step.operand].append((node, index, step.upstream, step.local))
    return [NodeGrad(node, names[node], grads[node], tuple(uses[node])) for node in rows]


# --- counting and enumerating paths ---------------------------------------------------------------


def _count_paths(backward: list[Value], wrt: Value) -> dict[Value, int]:
    """Number of paths from `wrt` to each node that has one, by dynamic programming in forward order.

    A node used twice by the same operation (``x*x``) has two edges into it, so it counts twice.
    Counts saturate at MAX_COUNT, so that a huge graph's counts stay small integers.
    """
    counts: dict[Value, int] = {}
    for node in reversed(backward):
        if node is wrt:
            counts[node] = 1
            continue
        n = 0
        for parent in node.parents:
            n += counts.get(parent, 0)
        if n:
            counts[node] = n if n < MAX_COUNT else MAX_COUNT
    return counts


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


def _enumerate_paths(output: Value, wrt: Value, counts: dict[Value, int], edge: Any) -> list[list[Edge]]:
    """Every path from `output` down to `wrt` as its list of edges, by an explicit stack (no recursion).

    Only parents with a path from `wrt` are followed, so no branch dead-ends and the work is
    proportional to the size of the answer.
    """
    found = []
    # Each stack entry carries its path so far as a linked list (edge, rest), so that extending a
    # path costs O(1) and the whole enumeration is proportional to the total length of the paths.
    stack: list[tuple[Value, tuple | None]] = [(output, None)]
    while stack:
        node, so_far = stack.pop()
        if node is wrt:
            edges = []
            while so_far is not None:
                step, so_far = so_far
                edges.append(step)
            found.append(edges[::-1])
            continue
        steps = [i for i, p in enumerate(node.parents) if p in counts]
        for index in reversed(steps):  # reversed: the first operand's paths come out first
            stack.append((node.parents[index], (edge(node, index), so_far)))
    return found


def _product(edges: list[Edge]) -> float:
    product = 1.0
    for e in edges:
        product *= e.value
    return product


# --- writing -------------------------------------------------------------------------------------


def _top_level(text: str, marks: tuple[str, ...]) -> bool:
    """Whether `text` has one of `marks` outside any brackets or |…|."""
    depth = bars = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|":
            bars ^= 1
        elif depth == 0 and not bars and any(text.startswith(m, i) for m in marks):
            return True
    return False


def as_factor(text: str) -> str:
    """A formula or number as a factor of a product: sums, quotients and negatives get parentheses."""
    if text.startswith(("−", "-")) or _top_level(text, (" + ", " − ", "+", "−", "/")):
        return f"({text})"
    return text


def _count_text(n: int) -> str:
    """A path count: exact with thousands separators, or in scientific form when astronomically large."""
    if n < 10**15:
        return f"{n:,}"
    if n >= MAX_COUNT:
        return "at least 10^100"
    return f"about {float(n):.3g}".replace("e+", "e")


def _path_lines(number: int, path: Path, names: dict[Value, str]) -> list[str]:
    route = " → ".join(names[node] for node in path.nodes)
    if not path.edges:
        return [f"path {number}: the output itself; its derivative with respect to itself is 1"]
    lines = [f"path {number}: {route}"]
    lhs = [e.derivative for e in path.edges]
    formulas = [e.formula for e in path.edges]
    wl, wf = max(map(len, lhs)), max(map(len, formulas))
    for e, left, formula in zip(path.edges, lhs, formulas, strict=True):
        lines.append(f"  {left.ljust(wl)} = {formula.ljust(wf)} = {fmt(e.value)}")
    symbolic = " · ".join(as_factor(e.formula) for e in path.edges)
    numbers = " · ".join(as_factor(fmt(e.value)) for e in path.edges)
    lines.append(f"  path product = {symbolic}")
    lines.append(f"  {' ' * len('path product')} = {numbers} = {fmt(path.product)}")
    return lines


def _terms_text(row: NodeGrad) -> str:
    if not row.terms:
        return "(start)"
    shown = [f"{as_factor(fmt(up))}·{as_factor(fmt(local))}" for _, _, up, local in row.terms[:MAX_TERMS]]
    more = len(row.terms) - MAX_TERMS
    if more > 0:
        shown.append(f"… ({more} more use{'s' * (more != 1)})")
    return " + ".join(shown)


_TAIL = 20
"""How many of the last rows of a long accumulation a text shows (the rest of MAX_ROWS are the first)."""


def _elide(rows: list[NodeGrad]) -> list[NodeGrad | None]:
    """At most MAX_ROWS rows: the start and the end of the accumulation, None where rows are left out."""
    if len(rows) <= MAX_ROWS:
        return list(rows)
    return [*rows[: MAX_ROWS - _TAIL], None, *rows[-_TAIL:]]


def _bounded(parts: list[str], sep: str, left_out: Callable[[int], str]) -> str:
    """`parts` joined by `sep`, stopping before MAX_TEXT characters with `left_out` of how many were not."""
    size = 0
    for i, part in enumerate(parts):
        size += len(part) + len(sep)
        if size > MAX_TEXT:
            return sep.join([*parts[:i], left_out(len(parts) - i)])
    return sep.join(parts)


def _accumulation_lines(explanation: Explanation, output_name: str) -> list[str]:
    rows = explanation._shown_accumulation()
    lefts = [f"d{output_name}/d{derivative_name(row.name)}" if row else "" for row in rows]
    width = max(map(len, lefts))
    lines = []
    for row, left in zip(rows, lefts, strict=True):
        if row is None:
            lines.append(f"  … {len(explanation._grads) - MAX_ROWS:,} more nodes …")
        elif not row.terms:
            lines.append(f"  {left.ljust(width)} = {fmt(row.grad)}")
        else:
            lines.append(f"  {left.ljust(width)} = {_terms_text(row)} = {fmt(row.grad)}")
    return lines


def _tex_factor(x: float) -> str:
    """A number as a LaTeX factor of a product: negatives in parentheses."""
    text = latex_number(x)
    return f"({text})" if text.startswith("-") else text


def _tex_partial(top: str, bottom: str) -> str:
    return f"\\frac{{\\partial {latex_operand(top)}}}{{\\partial {latex_operand(bottom)}}}"


def _tex_factor_of(formula: str) -> str:
    return latex_operand(formula, factor=True)
