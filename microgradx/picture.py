"""The picture of the step-through page: a pure-Python layered layout and the SVG it is drawn as.

The graph is laid out here, in Python, in layers (longest path from the inputs; iterative, with a few
barycentre sweeps against crossings) rather than by Graphviz: every number on the page must be
rewritten live by the script, each operand's arrow addressed separately (``a*a`` has two), and the
page must look the same on every machine whether or not a Graphviz renderer is installed.
"""

from __future__ import annotations

import itertools
import math
import re
from html import escape
from typing import NamedTuple

from microgradx.engine import RULES, Value
from microgradx.formatting import OP_GLYPH, fmt
from microgradx.graph import Graph
from microgradx.steps import is_constant, page_graph_and_data

__all__ = ["static_svg", "svg"]

# Geometry of the drawing, in SVG user units (the page scales the whole picture to fit).
_CARD_H = 100  # a Value: name, data, grad
# Long edges routed around cards (`_routed_edges`): slots per node, plus a number free for any graph.
_ROUTE_SLOTS_PER_NODE, _ROUTE_SLOTS_FREE = 4, 1000
_CONST_H = 42  # a constant: just its number
_BADGE_R = 22  # an operation's circle (a pill when its glyph is long, like draw()'s "a − b")
_BADGE_GAP = 64  # from an operation's centre to its result's card
_BADGE_ROOM = 36  # half the widest pill
_COL_GAP = 40  # between one column's cards and the next column's circles
_ROW_GAP = 26
_PASS_H = 10  # the slot an edge takes in a column it passes through
_MARGIN = 24
_NAME_CHARS = 26  # longer names are cut with … in the picture (the full name is its tooltip)


def _layers(forward: list[Value]) -> list[int]:
    """Column of each node (by forward index): first the longest path from the leaves, then each
    node moved as far right as its consumers allow, so an operand sits next to where it is used
    (the 0.5 of ½(ŷ − y)² beside the last ×, a product beside the sum that takes it)."""
    index = {node: i for i, node in enumerate(forward)}
    layer = [0] * len(forward)
    for i, node in enumerate(forward):
        if node.parents:
            layer[i] = 1 + max(layer[index[p]] for p in node.parents)
    latest = [layer[-1]] * len(forward)
    for i in range(len(forward) - 1, -1, -1):  # consumers before operands
        layer[i] = latest[i] if i != len(forward) - 1 else layer[i]
        for p in forward[i].parents:
            latest[index[p]] = min(latest[index[p]], layer[i] - 1)
    return layer


class _Layout(NamedTuple):
    """Where everything goes: card corners by forward index, and each edge's route as points."""

    x: list[float]
    y: list[float]
    routes: list[list[tuple[float, float]]]  # per edge: (left, y), (right, y) of each column crossed
    width: float
    height: float


class _Slots(NamedTuple):
    """The rows to place: a slot per node (by forward index), then one per column an edge crosses."""

    layer: list[int]  # each slot's column
    height: list[float]
    chains: list[list[int]]  # per edge: its slots from the operand to the result
    port: dict[tuple[int, int], float]  # a hop into an operation: operand a above operand b


def _slots(forward: list[Value], edges: list[dict], height: list[float]) -> _Slots:
    """Columns from `_layers`; an edge spanning several columns (if `_routed_edges` routes it) gets
    a slot in each column it crosses, so it never runs under a card."""
    n = len(forward)
    layer = _layers(forward)
    slot_layer = list(layer)
    slot_height = list(height)
    chains: list[list[int]] = []
    port: dict[tuple[int, int], float] = {}
    routed = _routed_edges(edges, layer, n)
    for k, edge in enumerate(edges):
        p, c = edge["parent"], edge["child"]
        chain = [p]
        if k in routed:
            for col in range(layer[p] + 1, layer[c]):
                chain.append(len(slot_layer))
                slot_layer.append(col)
                slot_height.append(_PASS_H)
        port[chain[-1], c] = (edge["index"] - 0.5) * 1e-6  # only ever breaks a tie
        chain.append(c)
        chains.append(chain)
    return _Slots(slot_layer, slot_height, chains, port)


def _columns(slots: _Slots) -> list[list[int]]:
    """Each column's slots, top to bottom: ordered by barycentre sweeps against crossings (operand a
    above operand b where that is a tie)."""
    before: list[list[int]] = [[] for _ in slots.layer]
    after: list[list[int]] = [[] for _ in slots.layer]
    for chain in slots.chains:
        for a, b in itertools.pairwise(chain):
            after[a].append(b)
            before[b].append(a)
    columns: list[list[int]] = [[] for _ in range(max(slots.layer) + 1)]
    for slot, col in enumerate(slots.layer):
        columns[col].append(slot)
    position = [0.0] * len(slots.layer)
    for col in columns:
        for row, slot in enumerate(col):
            position[slot] = (row + 0.5) / len(col)

    def sweep(cols: list[list[int]], neighbours: list[list[int]], offset: dict) -> None:
        for col in cols:
            keyed = []
            for row, slot in enumerate(col):
                around = neighbours[slot]
                key = (sum(position[m] + offset.get((slot, m), 0.0) for m in around) / len(around)
                       if around else position[slot])
                keyed.append((key, row, slot))
            keyed.sort()
            col[:] = [slot for _, _, slot in keyed]
            for row, slot in enumerate(col):
                position[slot] = (row + 0.5) / len(col)

    for _ in range(4):
        sweep(columns[1:], before, {})
        sweep(columns[-2::-1], after, slots.port)
    return columns


def _layout(forward: list[Value], edges: list[dict], width: list[float], height: list[float]) -> _Layout:
    """A layered drawing (Sugiyama-style, all iterative): the slots (`_slots`) in columns ordered
    against crossings (`_columns`), each column centred vertically."""
    n = len(forward)
    slots = _slots(forward, edges, height)
    columns = _columns(slots)
    xs = [0.0] * len(slots.layer)
    left, right = [0.0] * len(columns), [0.0] * len(columns)
    x = float(_MARGIN)
    for c, col in enumerate(columns):
        left[c] = x
        if any(slot < n and forward[slot].parents for slot in col):
            x += _BADGE_GAP + _BADGE_ROOM
        col_width = max((width[slot] for slot in col if slot < n), default=0.0)
        for slot in col:
            centred = slot >= n or is_constant(forward[slot])
            xs[slot] = x + (col_width - width[slot]) / 2 if centred and slot < n else x
        right[c] = x + col_width
        x += col_width + _COL_GAP
    col_heights = [sum(slots.height[s] for s in col) + _ROW_GAP * (len(col) - 1) for col in columns]
    total_h = max(col_heights) + 2 * _MARGIN
    ys = [0.0] * len(slots.layer)
    for col, col_h in zip(columns, col_heights, strict=True):
        y = (total_h - col_h) / 2
        for slot in col:
            ys[slot] = y
            y += slots.height[slot] + _ROW_GAP
    routes = []
    for chain in slots.chains:
        route = []
        for slot in chain[1:-1]:
            mid = ys[slot] + _PASS_H / 2
            route += [(left[slots.layer[slot]], mid), (right[slots.layer[slot]], mid)]
        routes.append(route)
    return _Layout(xs[:n], ys[:n], routes, x - _COL_GAP + _MARGIN, total_h)


def _routed_edges(edges: list[dict], layer: list[int], n: int) -> set[int]:
    """The edges that get a slot in every column they cross, shortest first, within a budget of
    ``_ROUTE_SLOTS_PER_NODE · n + _ROUTE_SLOTS_FREE`` slots; the rest are drawn as one direct curve.

    Routing every edge would make the page quadratic in the graph: in ``x·x·…·x`` the edge from x
    to the k-th product crosses k columns. Long edges to a node used all over the graph are the
    only ones left direct, so ordinary graphs are drawn as before.
    """
    spans = sorted((layer[e["child"]] - layer[e["parent"]] - 1, k) for k, e in enumerate(edges))
    budget = _ROUTE_SLOTS_PER_NODE * n + _ROUTE_SLOTS_FREE
    routed = set()
    for span, k in spans:
        if span > budget:
            break
        budget -= span
        routed.add(k)
    return routed


def _badge_half(glyph: str) -> float:
    """Half the width of an operation's badge: a circle for a symbol, a pill for a word."""
    return _BADGE_R if len(glyph) <= 2 else min(_BADGE_ROOM, max(_BADGE_R, 10 + 5.0 * len(glyph)))


def _curve(start: tuple[float, float], end: tuple[float, float]) -> str:
    """A cubic Bézier from `start` to `end` leaving and arriving horizontally (the path's C command)."""
    (x1, y1), (x2, y2) = start, end
    dx = max((x2 - x1) / 2, 20.0)
    return f"C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


def _short(name: str) -> str:
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "…"


def _card_width(node: Value, name: str, shown: list[str]) -> float:
    """Wide enough for the name and for every number the card will show (at ~13.5 units a glyph)."""
    if is_constant(node):
        return max(54.0, 20 + 11.5 * len(name))
    longest = max((len(text) for text in shown), default=1)
    return max(164.0, 30 + 13.5 * len(_short(name)), 76 + 15.0 * longest)


class _Placed(NamedTuple):
    """The graph placed: forward order, the layout, and each card's size (by forward index)."""

    forward: list[Value]
    layout: _Layout
    width: list[float]
    height: list[float]

    def mid(self, i: int) -> float:
        """The height of card `i`'s middle, where its operation's circle and arrows meet it."""
        return self.layout.y[i] + self.height[i] / 2


def _svg_head(total_w: float, total_h: float) -> list[str]:
    """The opening ``<svg>`` and the arrowheads' markers, one per edge state."""
    return [
        f'<svg id="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total_w:.0f} {total_h:.0f}" '
        f'role="img" aria-label="computation graph" preserveAspectRatio="xMidYMid meet">',
        "<defs>",
        *(
            f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerUnits="userSpaceOnUse" markerWidth="13" markerHeight="13" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="tip-{kind}"/></marker>'
            for kind in ("idle", "seen", "fwd", "bwd", "path")
        ),
        "</defs>",
    ]


def _edge_svg(placed: _Placed, k: int, edge: dict, on_path: set[int], local: str | None) -> str:
    """Edge `k` as a path (id ``e{k}``) from its operand's card into its operation's circle, with
    the label ``×local`` (id ``l{k}``) when the gradient crosses it."""
    forward, layout, width = placed.forward, placed.layout, placed.width
    p, c = edge["parent"], edge["child"]
    start = (layout.x[p] + width[p], placed.mid(p))
    bx, by = layout.x[c] - _BADGE_GAP, placed.mid(c)
    cx = bx - _badge_half(OP_GLYPH[forward[c].op]) + _BADGE_R  # centre of the pill's round left end
    if len(forward[c].parents) == 2:  # operand a enters the circle from above, b from below
        angle = math.radians(38 if edge["index"] == 0 else -38)
        end = (cx - _BADGE_R * math.cos(angle), by - _BADGE_R * math.sin(angle))
    else:
        end = (cx - _BADGE_R, by)
    d = [f"M{start[0]:.1f},{start[1]:.1f}"]
    here = start
    route = layout.routes[k]
    for enter, leave in zip(route[::2], route[1::2], strict=True):
        d.append(_curve(here, enter))
        d.append(f"L{leave[0]:.1f},{leave[1]:.1f}")
        here = leave
    d.append(_curve(here, end))
    cls = "edge" + (" onpath" if p in on_path and c in on_path else "")
    out = f'<path id="e{k}" class="{cls}" d="{" ".join(d)}"/>'
    if local is not None:  # shown while the gradient crosses this edge: × the local derivative
        lx, ly = bx, (by + _BADGE_R + 22 if edge["index"] == 1 else by - _BADGE_R - 12)
        out += f'<text id="l{k}" class="elabel" x="{lx:.1f}" y="{ly:.1f}">×{escape(local)}</text>'
    return out


def _badge_svg(node: Value, x: float, by: float) -> str:
    """An operation's circle (or pill) left of its result's card at `x`, the link into the card, and
    for an ordered operation the roles a and b of its operands."""
    bx = x - _BADGE_GAP
    glyph = OP_GLYPH[node.op]
    size = " small" if len(glyph) > 2 else ""
    half = _badge_half(glyph)
    out = (
        f'<line class="link" x1="{bx + half:.1f}" y1="{by:.1f}" x2="{x:.1f}" y2="{by:.1f}" '
        f'marker-end="url(#arrow-idle)"/>'
        f'<g class="badge"><rect x="{bx - half:.1f}" y="{by - _BADGE_R:.1f}" width="{2 * half:.1f}" '
        f'height="{2 * _BADGE_R}" rx="{_BADGE_R}"/>'
        f'<text class="glyph{size}" x="{bx:.1f}" y="{by:.1f}">{escape(glyph)}</text></g>'
    )
    if RULES[node.op].ordered:  # say which operand is a and which is b
        for k, role in enumerate("ab"):
            dy = -1 if k == 0 else 1
            out += (
                f'<text class="role" x="{bx - half - 8:.1f}" y="{by + dy * (_BADGE_R + 4):.1f}">'
                f"{role}</text>"
            )
    return out


def _node_svg(placed: _Placed, i: int, data: dict, on_path: set[int]) -> str:
    """Node `i` (id ``n{i}``): its operation's badge, then its card: a constant's number, or a
    Value's name with empty data and grad fields (ids ``n{i}-data``, ``n{i}-grad``) for the script."""
    node, info = placed.forward[i], data["nodes"][i]
    name = info["name"]
    x, y, w, h = placed.layout.x[i], placed.layout.y[i], placed.width[i], placed.height[i]
    classes = (
        f"node {info['kind']}"
        + (" onpath" if i in on_path else "")
        + (" focus" if i in data["focus"] else "")
        + (" output" if i == data["output"] else "")
    )
    out = f'<g id="n{i}" class="{classes}"><title>{escape(name)}</title>'
    if node.parents:
        out += _badge_svg(node, x, placed.mid(i))
    if is_constant(node):
        return out + (
            f'<rect class="card" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h}" rx="{h / 2:.0f}"/>'
            f'<text class="const-text" x="{x + w / 2:.1f}" y="{y + h / 2:.1f}">{escape(name)}</text>'
            "</g>"
        )
    return out + (
        f'<rect class="card" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h}" rx="10"/>'
        f'<path class="head" d="M{x:.1f},{y + 38:.1f} v-28 a10,10 0 0 1 10,-10 h{w - 20:.1f} '
        f'a10,10 0 0 1 10,10 v28 z"/>'
        f'<text class="name" x="{x + w / 2:.1f}" y="{y + 20:.1f}">{escape(_short(name))}</text>'
        f'<text class="key" x="{x + 12:.1f}" y="{y + 61:.1f}">data</text>'
        f'<text id="n{i}-data" class="val data" x="{x + w - 12:.1f}" y="{y + 61:.1f}" '
        f'data-room="{w - 70:.0f}"></text>'
        f'<text class="key gk" x="{x + 12:.1f}" y="{y + 86:.1f}">grad</text>'
        f'<text id="n{i}-grad" class="val grad" x="{x + w - 12:.1f}" y="{y + 86:.1f}" '
        f'data-room="{w - 70:.0f}"></text>'
        "</g>"
    )


def svg(data: dict, forward: list[Value]) -> str:
    """The graph as inline SVG: a card per Value (ids ``n{i}``), a circle per operation, an arrow per
    operand (ids ``e{k}``), every number in an element the script rewrites."""
    nodes, edges = data["nodes"], data["edges"]
    shown: dict[int, list[str]] = {i: [] for i in range(len(forward))}
    for step in data["steps"]:
        for i, _, text, _ in step["set"]:
            shown[i].append(text)
    width = [_card_width(node, nodes[i]["name"], shown[i]) for i, node in enumerate(forward)]
    height = [_CONST_H if is_constant(node) else _CARD_H for node in forward]
    layout = _layout(forward, edges, width, height)
    local_of: dict[int, str] = {}  # the first round's; the script writes later rounds' own
    for step in data["steps"]:
        if step["phase"] == "backward" and "local" in step:
            local_of.setdefault(step["edges"][0], step["ltext"])
    placed = _Placed(forward, layout, width, height)
    on_path = set(data["highlight"])
    out = _svg_head(layout.width, layout.height)
    out.append('<g id="edges">')
    out += [_edge_svg(placed, k, edge, on_path, local_of.get(k)) for k, edge in enumerate(edges)]
    out.append("</g>")
    out.append('<g id="nodes">')
    out += [_node_svg(placed, i, data, on_path) for i in range(len(forward))]
    out.append("</g></svg>")
    return "".join(out)


_FIELD = re.compile(
    r'<text id="n(\d+)-(data|grad)" class="[^"]*" x="([\d.]+)" y="([\d.]+)" data-room="(\d+)"></text>'
)
_EDGE_LABEL = re.compile(r'<text id="l\d+" class="elabel"[^>]*>[^<]*</text>')


def static_svg(output: Value | Graph, *, grads: bool) -> str:
    """The step-through page's picture of `output` (or of its snapshot) with its numbers written in,
    for paper: every forward value, and every grad when `grads`, else an empty box for it (a
    worksheet's blank). The edges' local derivatives are left out (a worksheet asks for them)."""
    graph, data = page_graph_and_data(output)
    picture = _EDGE_LABEL.sub("", svg(data, graph.forward))

    def fill(match: re.Match[str]) -> str:
        i, field, x, y, room = match.groups()
        value = data["nodes"][int(i)][field]
        if field == "grad" and not grads:
            return (
                f'<rect class="blank" x="{float(x) - float(room):.1f}" y="{float(y) - 15:.1f}" '
                f'width="{room}" height="30" rx="4"/>'
            )
        shown = fmt(value) if isinstance(value, float) else escape(str(value))
        return f'<text id="n{i}-{field}" class="val {field}" x="{x}" y="{y}">{shown}</text>'

    return _FIELD.sub(fill, picture)
