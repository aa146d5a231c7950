"""The writers of `explain`'s report: plain text, Markdown, LaTeX and HTML, and the words they share.

Each writer takes an `Explanation` (`microgradx.explain`) and reads its paths, or, when there are
too many, its backward accumulation, with the node names of its graph snapshot. Every text stops
at MAX_TEXT characters and says how much it left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from microgradx import notebook
from microgradx.engine import Value
from microgradx.formatting import (
    derivative_name,
    fmt,
    latex_escape,
    latex_number,
    latex_operand,
)
from microgradx.graph import Graph
from microgradx.notebook import md as _md

__all__ = ["Report", "html_report", "latex_report", "markdown_report", "route", "text_report"]

NodeGrad = Path = Any  # `microgradx.explain`'s classes (that module imports this one, not back)


class Report(Protocol):
    """What the writers read of an `explain.Explanation` (see there for what each part holds)."""

    output: Value
    wrt: Value
    graph: Graph
    paths: list[Any]
    path_count: int
    max_paths: int
    edge_count: int
    max_edges: int | None
    total: float
    too_long: bool
    truncated: bool
    grads: dict[Value, float]

    @property
    def names(self) -> dict[Value, str]: ...

    def shown_accumulation(self) -> list[Any]: ...


MAX_ROWS = 120
"""How many nodes of a backward accumulation the text shows before eliding the middle."""

ROWS_TAIL = 20
"""How many of the last rows of a long accumulation a text shows (the rest of MAX_ROWS are the first)."""

MAX_COUNT = 10**100
"""Path counts stop growing here: a count of MAX_COUNT means "at least 10^100" (and keeps counting cheap)."""

MAX_TERMS = 4
"""How many uses of one node the accumulation text writes out before eliding the rest."""

MAX_TEXT = 90_000
"""The longest text (``str``, `to_markdown`, `to_latex`) in characters, as `draw.to_text`'s ~88 KB:
past it the text stops at a line and says how many lines were left out."""


# --- the words every writer shares -----------------------------------------------------------------


def output_name(ex: Report) -> str:
    """The output's name as it reads in a derivative (``E``, ``(a+b)``)."""
    return derivative_name(ex.names[ex.output])


def wrt_name(ex: Report) -> str:
    """The name of the input the derivative is with respect to."""
    return derivative_name(ex.names.get(ex.wrt) or ex.wrt.label or fmt(ex.wrt.data))


def gradient(ex: Report) -> str:
    """The derivative explained, e.g. ``dE/dw``."""
    return f"d{output_name(ex)}/d{wrt_name(ex)}"


def headline(ex: Report) -> str:
    """The first line: how many paths there are, or why they are not listed."""
    n = ex.path_count
    o, w, g = output_name(ex), wrt_name(ex), gradient(ex)
    route = f"from {w} to {o}"
    if n == 0:
        return f"{g} = 0: {o} does not depend on {w} (no path)"
    if ex.too_long:
        are = "path is" if n == 1 else f"{n} paths are"
        return (
            f"{g}: the {are} too long to list: {count_text(ex.edge_count)} edges "
            f"{route} (max_edges = {ex.max_edges})"
        )
    if ex.truncated:
        paths = f"{count_text(n)} path{'s' * (n != 1)}"
        return f"{g}: too many paths to list: {paths} {route} (max_paths = {ex.max_paths})"
    return f"{g} by the chain rule: {n} path{'s' * (n != 1)} {route}"


def ending(ex: Report) -> str:
    """The last line: the derivative as the path products' sum."""
    if ex.truncated:
        return f"{gradient(ex)} = {fmt(ex.total)}"
    which = "the path product" if ex.path_count == 1 else f"sum of the {ex.path_count} path products"
    return f"{gradient(ex)} = {which} = {fmt(ex.total)}"


def count_text(n: int) -> str:
    """A path count: exact with thousands separators, or in scientific form when astronomically large."""
    if n < 10**15:
        return f"{n:,}"
    if n >= MAX_COUNT:
        return "at least 10^100"
    return f"about {float(n):.3g}".replace("e+", "e")


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


Row = TypeVar("Row")


def elide(rows: list[Row]) -> list[Row | None]:
    """At most MAX_ROWS rows: the start and the end of the accumulation, None where rows are left out."""
    if len(rows) <= MAX_ROWS:
        return list(rows)
    return [*rows[: MAX_ROWS - ROWS_TAIL], None, *rows[-ROWS_TAIL:]]


def _bounded(parts: list[str], sep: str, left_out: Callable[[int], str]) -> str:
    """`parts` joined by `sep`, stopping before MAX_TEXT characters with `left_out` of how many were not."""
    size = 0
    for i, part in enumerate(parts):
        size += len(part) + len(sep)
        if size > MAX_TEXT:
            return sep.join([*parts[:i], left_out(len(parts) - i)])
    return sep.join(parts)


def _terms_text(row: NodeGrad) -> str:
    if not row.terms:
        return "(start)"
    shown = [f"{as_factor(fmt(up))}·{as_factor(fmt(local))}" for _, _, up, local in row.terms[:MAX_TERMS]]
    more = len(row.terms) - MAX_TERMS
    if more > 0:
        shown.append(f"… ({more} more use{'s' * (more != 1)})")
    return " + ".join(shown)


def _route(ex: Report, path: Path) -> str:
    return route(path, ex.names) or ex.names[ex.output]


def route(path: Path, names: Mapping[Value, str]) -> str:
    """The nodes along `path` (``x → z → E``); where a node is both operands of the next (x·x),
    which one this path goes through: ``x → E (x as operand a of E)``, so that the paths differ."""
    text = " → ".join(names[node] for node in path.nodes)
    which = [
        f"{names[e.parent]} as operand {'ab'[e.index]} of {names[e.child]}"
        for e in reversed(path.edges)
        if e.child.parents.count(e.parent) > 1
    ]
    return f"{text} ({'; '.join(which)})" if which else text


# --- plain text ------------------------------------------------------------------------------------


def text_report(ex: Report) -> str:
    """The explanation as plain text (``str(explanation)``)."""
    lines = [headline(ex)]
    for number, path in enumerate(ex.paths, 1):
        lines += ["", *_path_lines(number, path, ex.names)]
    if ex.truncated:
        o = output_name(ex)
        lines += [
            "",
            f"Instead, the backward accumulation: each node's d{o}/d(node), in backward order,",
            f"is the sum over its uses of d{o}/d(user) · (local derivative).",
            *_accumulation_lines(ex, o),
        ]
    if ex.path_count:
        lines += ["", ending(ex)]
    return _bounded(
        lines, "\n", lambda n: f"… {n:,} more lines left out (the text stops at {MAX_TEXT:,} characters)"
    )


def _path_lines(number: int, path: Path, names: dict) -> list[str]:
    if not path.edges:
        return [f"path {number}: the output itself; its derivative with respect to itself is 1"]
    lines = [f"path {number}: {route(path, names)}"]
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


def _accumulation_lines(ex: Report, o: str) -> list[str]:
    rows = ex.shown_accumulation()
    lefts = [f"d{o}/d{derivative_name(row.name)}" if row else "" for row in rows]
    width = max(map(len, lefts))
    lines = []
    for row, left in zip(rows, lefts, strict=True):
        if row is None:
            lines.append(f"  … {len(ex.grads) - MAX_ROWS:,} more nodes …")
        elif not row.terms:
            lines.append(f"  {left.ljust(width)} = {fmt(row.grad)}")
        else:
            lines.append(f"  {left.ljust(width)} = {_terms_text(row)} = {fmt(row.grad)}")
    return lines


# --- Markdown --------------------------------------------------------------------------------------


def markdown_report(ex: Report) -> str:
    """The explanation as Markdown: a table of edges per path, or of the backward accumulation."""
    lines = [f"**{_md(headline(ex))}**"]
    for number, path in enumerate(ex.paths, 1):
        lines += [
            "",
            f"Path {number}: {_md(_route(ex, path))}",
            "",
            "| local derivative | formula | value |",
            "|---|---|---|",
        ]
        for edge in path.edges:
            lines.append(f"| {_md(edge.derivative)} | {_md(edge.formula)} | {_md(fmt(edge.value))} |")
        symbolic = " · ".join(as_factor(edge.formula) for edge in path.edges) or "1"
        lines.append(f"| **path product** | {_md(symbolic)} | **{_md(fmt(path.product))}** |")
    if ex.truncated:
        o = output_name(ex)
        lines += ["", f"| node | d{_md(o)}/d(node) | summed from its uses |", "|---|---|---|"]
        for row in ex.shown_accumulation():
            if row is None:
                lines.append("| … | | |")
                continue
            lines.append(f"| {_md(row.name)} | {_md(fmt(row.grad))} | {_md(_terms_text(row))} |")
    if ex.path_count:
        lines += ["", f"**{_md(ending(ex))}**"]
    return _bounded(lines, "\n", lambda n: f"\n… {n:,} more lines left out (at most {MAX_TEXT:,} characters)")


# --- LaTeX -----------------------------------------------------------------------------------------


def latex_report(ex: Report) -> str:
    """The explanation as a LaTeX ``aligned`` block (needs amsmath); labels are escaped."""
    graph = ex.graph
    tex = graph.latex_names
    o = tex[ex.output]
    w = tex.get(ex.wrt) or latex_escape(ex.wrt.label or fmt(ex.wrt.data))
    grad = f"\\frac{{d {latex_operand(o)}}}{{d {latex_operand(w)}}}"
    rows = []  # the rows of the aligned block, joined by \\\\ below
    if ex.path_count == 0:
        rows.append(f"{grad} &= 0 && \\text{{(no path)}}")
    elif ex.truncated:
        rows.append(
            f"{grad} &= {latex_number(ex.total)} && "
            f"\\text{{({count_text(ex.path_count)} paths: too many paths to list)}}"
        )
        rows += _latex_accumulation(ex, o, tex)
    else:
        for number, path in enumerate(ex.paths, 1):
            partials = " \\cdot ".join(_tex_partial(tex[e.child], tex[e.parent]) for e in path.edges)
            rows.append(f"\\text{{path {number}:}}\\quad & {partials or '1'}")
            if path.edges:
                formulas = [graph.latex_formula(graph.edges_into(e.child)[e.index]) for e in path.edges]
                rows.append("&= " + " \\cdot ".join(latex_operand(f, factor=True) for f in formulas))
                numbers = " \\cdot ".join(_tex_factor(e.value) for e in path.edges)
                rows.append(f"&= {numbers} = {latex_number(path.product)}")
        rows.append(f"{grad} &= {latex_number(ex.total)}")
    body = _bounded(rows, " \\\\\n", lambda n: f"&\\;\\;\\vdots\\quad \\text{{({n:,} more rows left out)}}")
    return "\\begin{aligned}\n" + body + "\n\\end{aligned}"


def _latex_accumulation(ex: Report, o: str, tex: dict) -> list[str]:
    rows = []
    for row in ex.shown_accumulation():
        if row is None:
            rows.append("&\\;\\;\\vdots")
            continue
        shown = row.terms[:MAX_TERMS]
        terms = " + ".join(f"{_tex_factor(up)} \\cdot {_tex_factor(local)}" for _, _, up, local in shown)
        more = " + \\dots" if len(row.terms) > MAX_TERMS else ""
        rhs = f"{terms}{more} = {latex_number(row.grad)}" if row.terms else latex_number(row.grad)
        rows.append(f"{_tex_partial(o, tex[row.node])} &= {rhs}")
    return rows


def _tex_factor(x: float) -> str:
    """A number as a LaTeX factor of a product: negatives in parentheses."""
    text = latex_number(x)
    return f"({text})" if text.startswith("-") else text


def _tex_partial(top: str, bottom: str) -> str:
    return f"\\frac{{\\partial {latex_operand(top)}}}{{\\partial {latex_operand(bottom)}}}"


# --- HTML (Jupyter) --------------------------------------------------------------------------------


def html_report(ex: Report) -> str:
    """The explanation as HTML for Jupyter: a table of edges per path (or of the accumulation)."""
    parts = [notebook.paragraph(notebook.text(headline(ex)), bold=True)]
    for number, path in enumerate(ex.paths, 1):
        parts.append(notebook.paragraph(notebook.text(f"Path {number}: {_route(ex, path)}")))
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
    if ex.truncated:
        parts.append(_html_accumulation(ex))
    if ex.path_count:
        parts.append(notebook.paragraph(notebook.text(ending(ex)), bold=True))
    return notebook.block(*parts)


def _html_accumulation(ex: Report) -> str:
    rows = []
    for row in ex.shown_accumulation():
        if row is None:
            more = len(ex.grads) - MAX_ROWS
            rows.append([notebook.cell(f"… {more:,} more nodes …"), notebook.cell(""), notebook.cell("")])
            continue
        rows.append(
            [
                notebook.cell(notebook.text(row.name)),
                notebook.cell(notebook.text(fmt(row.grad)), kind="number"),
                notebook.cell(notebook.text(_terms_text(row))),
            ]
        )
    return notebook.table(["node", f"d{output_name(ex)}/d(node)", "summed from its uses"], rows)
