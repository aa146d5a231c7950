"""Pictures of a graph: `draw` (a `graphviz.Digraph`), `to_dot` (its DOT text), `to_text` (a tree).

The picture is the one a teacher draws on the board: a box per Value with its name, data and
grad, a small circle per operation, arrows in the forward direction, and on request the local
derivative on every arrow (formula and number, from the engine's rule table) or the paths along
which one weight's gradient flows. Each call reads one `graph.snapshot` of the graph (its order,
names, edges, local derivatives and highlighted paths). `render` writes SVG/PNG/PDF/DOT files
atomically with whichever renderer is installed: Graphviz's ``dot``, else the ``graphviz-pure``
command that comes with ``pip install microgradx``.
"""

from __future__ import annotations

import html
import os
import pathlib
import sys
from collections import Counter

import graphviz

from microgradx._files import write_atomically
from microgradx.engine import RULES, Value
from microgradx.formatting import OP_GLYPH, derivative_name, fmt, one_line
from microgradx.graph import Edge, Graph, snapshot
from microgradx.renderer import RendererDigraph, RendererNotFound, find_renderer, run_renderer
from microgradx.steps import MAX_PAGE_NODES

__all__ = [
    "DEFAULT_MAX_NODES",
    "Drawing",
    "RendererNotFound",
    "draw",
    "find_renderer",
    "render",
    "to_dot",
    "to_text",
]

DEFAULT_MAX_NODES = 300
"""Graphs with more Values than this are drawn as a summary (a full layout would be unreadable)."""

LAYOUT_PER_NODE = 15
"""A graph is also summarised when its estimated layout size exceeds this many times `max_nodes`."""

# --- the look ------------------------------------------------------------------------------------

FONT = "Helvetica"
INK = "#212529"  # text and borders
GRAD = "#c92a2a"  # gradients, as in red chalk
LEAF_FILL = "#e7f0fb"  # inputs and parameters (labelled leaves)
OUTPUT_FILL = "#fff3bf"  # the output whose graph this is
OP_FILL = "#f1f3f5"  # operation circles
PATH = "#e8590c"  # highlight: nodes and arrows on a path from `highlight` to the output
PATH_FILL = "#ffe8cc"
DIM = "#c4c8cc"  # highlight: everything off those paths

IN_THE_BROWSER = "in the browser, Python cannot run programs"
NOT_INSTALLED = "neither Graphviz's dot nor graphviz-pure is installed: pip install graphviz-pure"

BROWSER_NOTE = (
    f"No Graphviz renderer here ({IN_THE_BROWSER}): this is the stepper's picture of the graph "
    "(step through it with its buttons); print(mg.to_text(value)) prints it as text."
)
"""What a drawing displayed with no renderer (the browser) says above the stepper it shows instead
(on a machine that has none installed, the parenthesis says `NOT_INSTALLED`)."""

BROWSER_SUMMARY_NOTE = (
    f"No Graphviz renderer here ({IN_THE_BROWSER}), and the graph is too large to step through: "
    "its first lines as text (print(mg.to_text(value, max_lines=None)) prints it all)."
)
"""What a summarised drawing displayed with no renderer says above its text."""

SUMMARY_LINES = 60
"""How many lines of `to_text` a summarised drawing shows where no renderer exists."""

NO_BACKWARD_NOTE = "every grad is 0: no backward() yet?"
"""What `draw` (as a caption) and `to_text` (as a last line) add when no grad in the graph is set."""

_RANKDIRS = ("LR", "TB", "RL", "BT")


# --- escaping ------------------------------------------------------------------------------------


def _visible(text: str) -> str:
    # Control characters (other than newline) would corrupt SVG/XML: show them as escapes instead.
    return "".join(
        ch if ch >= " " or ch == "\n" else ("    " if ch == "\t" else f"\\x{ord(ch):02x}") for ch in text
    )


def _html(text: str) -> str:
    """`text` made literal inside a Graphviz HTML-like label.

    Markup characters become entities, backslashes are doubled (Graphviz reads ``\\\\`` as one
    backslash even in HTML labels) and newlines become line breaks, so any user label renders as typed.
    """
    lines = _visible(text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    return "<BR/>".join(html.escape(line.replace("\\", "\\\\"), quote=False) for line in lines)


def _font(text: str, color: str | None = None, *, bold: bool = False) -> str:
    """Already-escaped `text` in a colour and/or bold (HTML-like label markup)."""
    if bold:
        text = f"<B>{text}</B>"
    return f'<FONT COLOR="{color}">{text}</FONT>' if color else text


# --- draw ------------------------------------------------------------------------------------------


class Drawing(RendererDigraph):
    """What `draw` returns: a `graphviz.Digraph` that renders with ``dot`` when installed, else with
    ``graphviz-pure`` (see `renderer.RendererDigraph`), so ``draw(E).render("graph", format="png")``,
    ``.pipe()`` and Jupyter's inline display work after a plain ``pip install microgradx``.

    In a notebook with no renderer at all (in the browser, under Pyodide, which runs no programs) the
    inline display is the stepper's own picture of the graph instead, drawn by microgradx alone,
    with the same paths highlighted.
    """

    graph: Graph | None = None
    """The snapshot `draw` drew from: the browser's display draws the same one with the stepper."""

    @property
    def value(self) -> Value | None:
        """The Value `draw` drew."""
        return None if self.graph is None else self.graph.output

    @property
    def highlight(self) -> Value | None:
        """The Value whose paths `draw` coloured, if it is in the graph (the stepper colours them too)."""
        chosen = () if self.graph is None else self.graph.highlight
        return chosen[0] if chosen and chosen[0] in self.graph else None

    summary: bool = False
    """Whether `draw` drew a summary (see `max_nodes`) or the graph is too large to step through
    (`steps.MAX_PAGE_NODES`): the browser's display then shows its first lines as `to_text` does."""

    show_grad: bool = True

    captions: tuple[str, ...] = ()
    """The notes under the drawing (whose paths are orange, no backward() yet), as plain text: the
    browser's display writes them above the stepper's picture."""

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):  # type: ignore[no-untyped-def]
        """Jupyter's display: graphviz's SVG, or the stepper's picture where nothing can render it."""
        if self.graph is None or find_renderer("svg") is not None:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        if self.summary:  # too large to step through: the summary's words, as to_text prints them
            text = to_text(self.graph, show_grad=self.show_grad, max_lines=SUMMARY_LINES)
            note = _small(_here(BROWSER_SUMMARY_NOTE), "color:#6c757d")
            return {"text/html": f"{note}<pre>{html.escape(text)}</pre>", "text/plain": text}
        from microgradx.html import page_of  # (html does not import draw: no circle)
        from microgradx.notebook import Stepper

        graph = self.graph
        if graph.highlight and self.highlight is None:  # outside the graph: the caption says so
            graph = snapshot(graph.output, caller="draw")
        page = Stepper(page_of(graph))
        note = _here(BROWSER_NOTE)
        shown = _small(note, "color:#6c757d") + "".join(_small(caption) for caption in self.captions)
        return {"text/html": shown + page._repr_html_(), "text/plain": "\n".join((note, *self.captions))}


def _small(text: str, style: str = "") -> str:
    """`text` as a small paragraph of the display (escaped: a label is shown as typed)."""
    return f'<p style="font-size:small;{style}">{html.escape(text, quote=False)}</p>'


def _here(note: str) -> str:
    """`note` as it is in the browser; elsewhere it says what to install instead."""
    return note if sys.platform == "emscripten" else note.replace(IN_THE_BROWSER, NOT_INSTALLED)


def _check_options(
    output: Value, rankdir: str, highlight: Value | None, max_nodes: int | None, **switches: object
) -> None:
    if type(output) is not Value:
        raise TypeError(f"draw(output) must be a Value, got {type(output).__name__}")
    _check_switches(**switches)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")
    if highlight is not None and type(highlight) is not Value:
        raise TypeError(f"highlight must be a Value of the graph (or None), got {type(highlight).__name__}")
    if max_nodes is not None and (type(max_nodes) is not int or max_nodes < 1):
        raise ValueError(f"max_nodes must be a whole number >= 1 (or None for no limit), got {max_nodes!r}")


def _check_switches(**switches: object) -> None:
    """``show_grad=True`` and the like: a bool, so that ``show_grad="no"`` is not silently on."""
    for name, value in switches.items():
        if type(value) is not bool:
            raise TypeError(f"{name} must be True or False, got {value!r}")


def draw(
    output: Value,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    show_local: bool = False,
    highlight: Value | None = None,
    max_nodes: int | None = DEFAULT_MAX_NODES,
) -> graphviz.Digraph:
    """The graph of `output` as a `graphviz.Digraph`: show it in Jupyter, `.render()` it, or `.source`.

    One box per Value (name, data, grad), one circle per operation, arrows in the forward
    direction (`rankdir` "LR", "TB", "RL" or "BT"). ``show_local=True`` writes on each arrow into an
    operation the local derivative ∂out/∂operand as a formula and its number (``∂ŷ/∂z = σ(z)·(1−σ(z))
    = 0.2445``); for a−b, a÷b and a^b the arrows say which operand is ``a`` and which ``b``.
    ``highlight=w`` colours the paths from `w` to `output`. Graphs with more than `max_nodes`
    Values, or whose long arrows would make the layout slow (see `LAYOUT_PER_NODE`), are drawn as
    a labelled summary instead of a hairball; ``max_nodes=None`` draws everything.

    Colours: light blue boxes are inputs and parameters (labelled leaves), white boxes are
    intermediate results, unlabelled numbers are constants, the yellow box is `output`; gradients
    are red. With `highlight`, the paths from it to `output` are orange (filled boxes, thick arrows)
    and everything else is light grey. A graph whose grads are all 0 (drawn before ``backward()``)
    gets the caption "every grad is 0: no backward() yet?".
    """
    _check_options(output, rankdir, highlight, max_nodes, show_grad=show_grad, show_local=show_local)
    graph = snapshot(output, highlight=highlight, caller="draw")
    drawing = Drawing(name="microgradx", format="svg")
    drawing.graph = graph
    drawing.attr(rankdir=rankdir, fontname=FONT, fontsize="12", nodesep="0.25", ranksep="0.35")
    drawing.attr("node", fontname=FONT, fontsize="12", color=INK, fontcolor=INK)
    drawing.attr("edge", fontname=FONT, fontsize="10", color=INK, fontcolor=INK, arrowsize="0.7")
    reason = _summary_reason(graph, max_nodes)
    drawing.summary = bool(reason) or len(graph) > MAX_PAGE_NODES  # (the stepper refuses more)
    drawing.show_grad = show_grad
    if reason:
        _draw_summary(drawing, graph, show_grad, reason)
    else:
        _draw_graph(drawing, graph, show_grad, show_local, stacked=rankdir in ("LR", "RL"))
        _caption(drawing, graph, show_grad)
    return drawing


def _draw_graph(drawing: Drawing, graph: Graph, show_grad: bool, show_local: bool, stacked: bool) -> None:
    """Every Value as a box (`stacked`: see `_value_label`), every operation as a circle, every
    operand as an arrow into it; with a highlighted node of the graph, its paths to the output are
    coloured and the rest dimmed."""
    output, names, index = graph.output, graph.names, graph.index
    start = graph.highlight[0] if graph.highlight else None
    on_path = graph.on_path if start is not None and start in graph else None
    for node in graph.forward:
        node_id = f"v{index[node]}"
        state = None if on_path is None else node in on_path
        label = _value_label(node, names[node], output, show_grad, state, stacked, node is start)
        drawing.node(node_id, label, shape="plain")
        if not node.parents:
            continue
        op_id = f"{node_id}_op"
        op_state = None if on_path is None else (node in on_path and node is not start)
        drawing.node(op_id, **_op_style(node.op, op_state))
        drawing.edge(op_id, node_id, **_edge_style(op_state))
        for edge in graph.edges_into(node):
            parent = edge.parent
            label = []
            if RULES[node.op].ordered:  # arrows say which operand is a, which b
                label.append(_font("ab"[edge.operand], bold=True))
            if show_local and (parent.parents or parent.label):  # not for constants
                label.append(_local_label(graph, edge))
            edge_state = None if on_path is None else (parent in on_path and node in on_path)
            style = _edge_style(edge_state)
            if label:
                style["label"] = f"<{'  '.join(label)}>"
            drawing.edge(f"v{index[parent]}", op_id, **style)


def _caption(drawing: Drawing, graph: Graph, show_grad: bool) -> None:
    """The note under a full drawing: whose paths are orange (or that the highlighted Value is not
    in the graph), and that no grad is set yet."""
    names, captions = graph.names, []
    start = graph.highlight[0] if graph.highlight else None
    found = start is not None and start in graph
    if start is not None:
        who = names[start] if found else (start.label or repr(start))
        captions.append(
            f"orange: the paths from {who} to {names[graph.output]}"
            if found
            else f"{who} is not in the graph of {names[graph.output]}: no path to highlight"
        )
    if show_grad and _no_backward_yet(graph):
        captions.append(NO_BACKWARD_NOTE)
    drawing.captions = tuple(captions)
    if captions:
        color = PATH if found else INK
        label = "<BR/>".join(_html(caption) for caption in captions)
        drawing.attr(label=f"<{label}>", labelloc="b", fontcolor=color)


def _summary_reason(graph: Graph, max_nodes: int | None) -> str:
    """Why the graph is drawn as a summary (too many Values, or a slow layout), or "" when it is not."""
    if max_nodes is None:
        return ""
    if len(graph) > max_nodes:
        return f"more than max_nodes={max_nodes}"
    if _layout_size(graph.forward) > LAYOUT_PER_NODE * max_nodes:
        return "too many long arrows to lay out quickly"
    return ""


def _no_backward_yet(graph: Graph) -> bool:
    """True for a graph with operations in which every grad is 0, as it is before any ``backward()``.

    ``output.backward()`` adds its seed (1 by default) to the output's own grad, so the note does
    not show on a backpropagated graph, unless every grad was reset since (which deserves it too).
    """
    order = graph.forward
    return any(node.parents for node in order) and all(node.grad == 0.0 for node in order)


def to_dot(
    output: Value,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    show_local: bool = False,
    highlight: Value | None = None,
    max_nodes: int | None = DEFAULT_MAX_NODES,
) -> str:
    """The DOT source of `draw(output, ...)` as a string; needs no Graphviz program.

    Paste it into any Graphviz viewer, or write it with ``render(output, "graph.dot")``.
    """
    return draw(
        output,
        rankdir=rankdir,
        show_grad=show_grad,
        show_local=show_local,
        highlight=highlight,
        max_nodes=max_nodes,
    ).source


def _layout_size(order: list[Value]) -> int:
    """Roughly how many nodes Graphviz's ``dot`` would lay out, counting the hidden ones on long arrows.

    ``dot`` puts one invisible node on every rank a long arrow crosses, and its layout time grows
    with that total; an input shared by distant operations (a weight reused down a long chain) can
    cost more than the rest of the graph. Ranks are longest paths from the leaves, with each leaf
    placed just before its first consumer, as ``dot`` would.
    """
    rank: dict[Value, int] = {}
    first_use: dict[Value, int] = {}
    size = 0
    for node in order:
        if not node.parents:
            continue
        op_rank = 1 + max(rank.get(parent, 0) for parent in node.parents)
        rank[node] = op_rank + 1
        size += 2
        for parent in node.parents:
            if parent.parents:
                size += op_rank - rank[parent] - 1
            elif parent in first_use:
                size += op_rank - first_use[parent]
            else:
                first_use[parent] = op_rank
                size += 1
    return size


def _value_label(
    node: Value,
    name: str,
    output: Value,
    show_grad: bool,
    state: bool | None,
    stacked: bool = True,
    start: bool = False,
) -> str:
    """The HTML-like table of one Value (name, data, grad), coloured by its role and `state`.

    `stacked` puts the three cells one under another (compact for left-to-right drawings), else
    side by side. A constant shows only its number: nobody differentiates with respect to 2.
    """
    constant = not node.parents and not node.label
    ink, grad_ink, border = (DIM, DIM, DIM) if state is False else (INK, GRAD, PATH if state else INK)
    if start:
        fill = PATH_FILL
    elif state is False or constant:
        fill = "white"
    elif node is output:
        fill = OUTPUT_FILL
    else:
        fill = LEAF_FILL if not node.parents else "white"
    cells = [_font(_html(name), ink, bold=not constant)]
    if not constant:
        cells.append(_font(f"data {_html(fmt(node.data))}", ink))
        if show_grad:
            cells.append(_font(f"grad {_html(fmt(node.grad))}", grad_ink))
    # One outline around the Value, thin rules between its cells (below the name, or beside it).
    rule = ' BORDER="1" SIDES="T"' if stacked else ' BORDER="1" SIDES="L"'
    tds = [f"<TD>{cells[0]}</TD>", *(f"<TD{rule}>{cell}</TD>" for cell in cells[1:])]
    rows = "".join(f"<TR>{td}</TR>" for td in tds) if stacked else f"<TR>{''.join(tds)}</TR>"
    width = "2" if node is output or state else "1"
    style = ' STYLE="ROUNDED"' if constant else ""
    return (
        f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
        f'COLOR="{border}" BGCOLOR="{fill}"{style}>{rows}</TABLE>>'
    )


def _op_style(op: str, state: bool | None) -> dict[str, str]:
    glyph = OP_GLYPH[op]
    style = {
        "label": f"<{_html(glyph)}>",
        "shape": "circle" if len(glyph) <= 2 else "ellipse",
        "style": "filled",
        "fillcolor": OP_FILL,
        "width": "0.3",
        "height": "0.3",
        "margin": "0.02",
        "fontsize": "11",
    }
    if state is False:
        style.update(color=DIM, fontcolor=DIM, fillcolor="white")
    elif state:
        style.update(color=PATH, fillcolor=PATH_FILL, penwidth="2")
    return style


def _edge_style(state: bool | None) -> dict[str, str]:
    if state is False:
        return {"color": DIM, "fontcolor": DIM}
    if state:
        return {"color": PATH, "penwidth": "2.2"}
    return {}


def _local_label(graph: Graph, edge: Edge) -> str:
    """``∂out/∂operand = formula`` over ``= number``, escaped for an HTML-like edge label."""
    formula = graph.formula(edge)
    d = f"∂{derivative_name(graph.names[edge.child])}/∂{derivative_name(graph.names[edge.parent])}"
    try:
        local = graph.local(edge)  # by the engine's own rule (never a copy of it)
    except (ArithmeticError, ValueError):  # data changed since the graph was built, e.g. a ÷ 0
        local = float("nan")
    number = fmt(local)
    text = f"{d} = {formula}" if formula == number else f"{d} = {formula}\n= {number}"
    return _html(text)


def _draw_summary(drawing: Drawing, graph: Graph, show_grad: bool, reason: str) -> None:
    """Too many Values to lay out: draw the output, the inputs that matter most and counts per op."""
    output, order = graph.output, graph.forward
    highlight = graph.highlight[0] if graph.highlight else None
    shown_leaves = 12
    leaves = [node for node in order if not node.parents and node.label]
    constants = sum(1 for node in order if not node.parents and not node.label)
    ops = Counter(node.op for node in order if node.parents)
    # The inputs that matter: largest |grad| first (the ones a learner would look at), then by order.
    ranked = sorted(range(len(leaves)), key=lambda i: (-abs(leaves[i].grad), i))[:shown_leaves]
    chosen = [leaves[i] for i in sorted(ranked)]
    if highlight is not None and highlight in leaves and highlight not in chosen:
        chosen.append(highlight)
    count_rows = "".join(
        f'<TR><TD ALIGN="LEFT">{_html(OP_GLYPH[op])}</TD><TD ALIGN="RIGHT">{n}</TD></TR>'
        for op, n in sorted(ops.items(), key=lambda item: (-item[1], item[0]))
    )
    body = (
        '<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" STYLE="DASHED">'
        f'<TR><TD COLSPAN="2"><B>{len(order) - len(leaves) - constants} operations</B></TD></TR>'
        f"{count_rows}"
        f'<TR><TD COLSPAN="2">{constants} constants</TD></TR></TABLE>>'
    )
    drawing.node("summary", body, shape="plain")
    for i, leaf in enumerate(chosen):
        state = None if highlight is None else (leaf is highlight)
        label = _value_label(leaf, leaf.label, output, show_grad, state, False, leaf is highlight)
        drawing.node(f"leaf{i}", label, shape="plain")
        drawing.edge(f"leaf{i}", "summary", **_edge_style(state))
    if len(leaves) > len(chosen):
        drawing.node("more", f"<… and {len(leaves) - len(chosen)} more inputs>", shape="plaintext")
        drawing.edge("more", "summary", style="dashed")
    name = output.label or "output"
    reached = None if highlight is None else highlight in graph
    drawing.node("output", _value_label(output, name, output, show_grad, reached), shape="plain")
    drawing.edge("summary", "output", **_edge_style(reached))
    note = f"graph has {len(order)} nodes ({reason}); showing a summary; pass max_nodes=None to draw all"
    if show_grad and _no_backward_yet(graph):
        note += "\n" + NO_BACKWARD_NOTE
    drawing.attr(label=f"<{_html(note)}>", labelloc="b")


# --- to_text -----------------------------------------------------------------------------------------


def to_text(output: Value | Graph, *, show_grad: bool = True, max_lines: int | None = 200) -> str:
    """The graph of `output` as an indented tree for a terminal, output at the top, leaves below.

    Each line shows a node's name, its operation in brackets, data and grad (a constant just its
    number). A node used more than once is written out the first time (marked ``#k``) and referred
    to afterwards as ``(see #k)``, so shared sub-expressions and diamonds appear once. Past
    `max_lines` lines the tree stops with a note (None: no limit). When every grad in the graph is
    0, as before ``backward()``, a last line says so: ``(every grad is 0: no backward() yet?)``.

    >>> from microgradx import Value
    >>> x = Value(2.0, "x"); print(to_text(x * x, show_grad=False))
    x·x [×] = 4
    ├── x = 2  #1
    └── x  (see #1)
    """
    graph = output if isinstance(output, Graph) else snapshot(output, caller="to_text")
    output = graph.output
    _check_switches(show_grad=show_grad)
    if max_lines is not None and (type(max_lines) is not int or max_lines < 1):
        raise ValueError(f"max_lines must be a whole number >= 1 (or None for no limit), got {max_lines!r}")
    # One node, one line: control characters in labels are shown escaped (a newline as \n).
    names = {node: one_line(name) for node, name in graph.names.items()}
    uses = graph.uses
    numbers: dict[Value, int] = {}
    lines: list[str] = []
    # Depth-first with an explicit stack of (node, prefix for its line, prefix for its children).
    stack: list[tuple[Value, str, str]] = [(output, "", "")]
    while stack:
        if max_lines is not None and len(lines) >= max_lines:
            lines.append(
                f"… (stopped after {max_lines} lines; the graph has {len(graph)} nodes; "
                "pass max_lines=None to print all)"
            )
            break
        node, lead, indent = stack.pop()
        if node in numbers:
            lines.append(f"{lead}{names[node]}  (see #{numbers[node]})")
            continue
        text = names[node]
        if node.parents:
            text += f" [{OP_GLYPH[node.op]}]"
        if not node.parents and not node.label:
            text += " (constant)"
        else:
            text += f" = {fmt(node.data)}" + (f"  grad {fmt(node.grad)}" if show_grad else "")
        if uses[node] > 1:
            numbers[node] = len(numbers) + 1
            text += f"  #{numbers[node]}"
        lines.append(lead + text)
        children = node.parents
        for i in range(len(children) - 1, -1, -1):  # pushed in reverse so they print in order
            last = i == len(children) - 1
            stack.append(
                (children[i], indent + ("└── " if last else "├── "), indent + ("    " if last else "│   "))
            )
    if show_grad and _no_backward_yet(graph):
        lines.append(f"({NO_BACKWARD_NOTE})")
    return "\n".join(lines)


_SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


def render(
    graph: Value | graphviz.Digraph | graphviz.Source,
    path: str | os.PathLike[str],
    *,
    renderer: str | None = None,
    **draw_options: object,
) -> pathlib.Path:
    """Write the picture of `graph` (a Value, drawn with `draw_options`, or a Digraph) to `path`.

    The format comes from the suffix: ``.svg``, ``.png``, ``.pdf``, or ``.dot``/``.gv`` (DOT text,
    which needs no renderer). The file is written atomically (a temporary file renamed into
    place), so it is never half-written. `renderer` names the program to use (default:
    `find_renderer`). Raises `RendererNotFound` (a `RuntimeError`) when nothing can render the
    format, `ValueError` for an unknown suffix, `OSError` when `path` cannot be written.
    """
    path = pathlib.Path(path)
    format = _SUFFIX_FORMATS.get(path.suffix.lower())
    if format is None:
        raise ValueError(
            f"cannot tell the format of {str(path)!r}: use a .svg, .png, .pdf, .dot or .gv file name"
        )
    if type(graph) is Value:
        source = to_dot(graph, **draw_options)  # type: ignore[arg-type]
    elif isinstance(graph, (graphviz.Digraph, graphviz.Source)):
        if draw_options:
            raise TypeError(f"drawing options {sorted(draw_options)} only apply when graph is a Value")
        source = graph.source
    else:
        raise TypeError(f"render(graph) must be a Value or a graphviz.Digraph, got {type(graph).__name__}")
    if format == "dot":
        data = source.encode("utf-8")
    else:
        data = run_renderer(source.encode("utf-8"), format, [f"-T{format}"], program=renderer, quiet=True)
    write_atomically(path, data)
    return path
