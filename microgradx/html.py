"""`to_html`: one self-contained web page that steps through the forward and the backward pass.

The page shows the graph as inline SVG, embeds every step as JSON and replays them with a little
plain JavaScript: no network, no framework, it opens from ``file://`` and fits on a teacher's slide.
The steps come from the engine itself: forward in forward order, backward in the engine's own
backward order with each contribution computed by ``RULES[op].local`` (the rule `backward()` uses),
so the page cannot disagree with `backward()`. Names, formulas and numbers come from `formatting`.

The graph is laid out here, in Python, in layers (longest path from the inputs; iterative, with a few
barycentre sweeps against crossings) rather than by Graphviz: every number on the page must be
rewritten live by the script, each operand's arrow addressed separately (``a*a`` has two), and the
page must look the same on every machine whether or not a Graphviz renderer is installed.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Iterable
from html import escape
from importlib import resources
from typing import NamedTuple

from microgradx._files import write_atomically
from microgradx.engine import RULES, Value, apply, backward_steps, topological_order
from microgradx.formatting import OP_GLYPH, derivative_name, expression, fmt, local_formula, node_names
from microgradx.gradmode import enable_grad

__all__ = ["MAX_ITERATIONS", "MAX_PAGE_NODES", "page_data", "static_svg", "stepper_page", "to_html"]


MAX_PAGE_NODES = 5000
"""The most Values a step-through page shows (times `iterations`); `to_html` refuses a larger graph
(ValueError). Page size and time are linear in the graph up to this bound (about 1.4 KB of page per
Value and round)."""

MAX_ITERATIONS = 100
"""The most rounds of forward, backward and update one page goes through (`to_html(iterations=...)`)."""

_ATOM = 99  # precedence of a name or a non-negative number: never parenthesised
_NEGATIVE = 3  # a negative number binds like unary minus: (-0.4)², but 0.5·-0.4

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


# --- the steps ---------------------------------------------------------------------------------------


def _raw(x: float) -> float | str:
    """A float for JSON: finite numbers as they are, nan/inf as strings (JSON has no such numbers)."""
    return x if math.isfinite(x) else repr(x)


def _paren(text: str) -> str:
    """A formatted number as the right operand of a product: negative ones get parentheses."""
    return f"({text})" if text.startswith("-") else text


def _is_constant(node: Value) -> bool:
    """An unlabelled leaf (a number written into the expression): shown, but not differentiated."""
    return not node.parents and not node.label


def _highlights(highlight: Value | Iterable[Value] | None, members: set[Value]) -> list[Value]:
    if highlight is None:
        return []
    chosen = [highlight] if type(highlight) is Value else list(highlight)
    for node in chosen:
        if type(node) is not Value:
            raise TypeError(
                f"to_html(highlight) must be a Value or Values of the graph, got {type(node).__name__}"
            )
        if node not in members:
            raise ValueError(f"to_html(highlight): {node!r} is not in the graph of the output")
    return chosen


def page_data(
    output: Value,
    *,
    highlight: Value | Iterable[Value] | None = None,
    lr: float | None = None,
    iterations: int = 1,
) -> dict:
    """Everything the page shows, as a JSON-ready dict: the nodes, their edges and the steps.

    Forward steps compute each operation in forward order; backward steps follow the engine's own
    backward order and add ``upstream · local`` into one operand's grad per step, with ``local`` from
    ``RULES[op].local``. With `lr`, update steps move the weights by ``−lr·grad``, and the forward
    pass runs again on the new weights (each operation recomputed by its rule's ``forward``), round
    after round for `iterations` updates. The raw floats sit beside the formatted text so tests can
    check them.
    """
    if type(output) is not Value:
        raise TypeError(f"to_html(output) must be a Value, got {type(output).__name__}")
    if lr is not None:
        if type(lr) is bool or not isinstance(lr, int | float) or not math.isfinite(lr):
            raise ValueError(f"to_html(lr) must be a finite number (the learning rate) or None, got {lr!r}")
        lr = float(lr)
    if type(iterations) is not int or not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(
            f"to_html(iterations) must be a whole number from 1 to {MAX_ITERATIONS}, got {iterations!r}"
        )
    if iterations > 1 and lr is None:
        raise ValueError(
            "to_html(iterations=...) repeats gradient descent, so it needs lr= (the learning rate)"
        )
    backward_order = topological_order(output)
    if len(backward_order) * iterations > MAX_PAGE_NODES:
        raise ValueError(
            f"to_html: the graph has {len(backward_order):,} Values"
            + (f" × {iterations} iterations" if iterations > 1 else "")
            + f", more than a step-through page takes "
            f"(MAX_PAGE_NODES = {MAX_PAGE_NODES:,}: about {3 * MAX_PAGE_NODES:,} steps to click through); "
            "step through a smaller graph (one sample, one neuron), or draw() it, which summarises"
        )
    forward = backward_order[::-1]
    index = {node: i for i, node in enumerate(forward)}
    names = node_names(output)
    chosen = _highlights(highlight, set(index))
    targets = chosen if chosen else [n for n in forward if not n.parents and n.label]
    if lr is not None:
        for node in targets:
            if node.parents:
                raise ValueError(
                    f"to_html(lr=...): {names[node]} is computed by {node.op!r}, so gradient descent "
                    "cannot update it; highlight leaves (weights) only"
                )

    nodes = []
    for node in forward:
        kind = "op" if node.parents else ("const" if _is_constant(node) else "input")
        nodes.append({"name": names[node], "kind": kind, "op": node.op, "data": _raw(node.data)})
    edges = []
    edge_of: dict[tuple[Value, int], int] = {}
    for node in forward:
        for k, parent in enumerate(node.parents):
            edge_of[node, k] = len(edges)
            edges.append({"parent": index[parent], "child": index[node], "index": k})

    steps: list[dict] = []
    inputs = [n for n in forward if not n.parents]
    steps.append(_start_step(inputs, index, names, output))
    written = _precedences(forward, names)
    values = previous = {node: node.data for node in forward}
    rounds = iterations + 1 if lr is not None else 1  # with lr, a last forward pass shows the new E
    for r in range(1, rounds + 1):
        first = len(steps) if r > 1 else 0
        if r > 1:
            steps.append(_again_step(inputs, targets, index, names, output, values, r))
        for node in forward:
            if node.parents:
                edges_in = [edge_of[node, k] for k in range(len(node.parents))]
                steps.append(_forward_step(node, index, names, written, edges_in, values))
        if r > 1:
            old, new = previous[output], values[output]
            change = "lower" if new < old else ("higher" if new > old else "the same")
            steps[-1]["note"] += (
                f"  With the updated weights {names[output]} = {fmt(new)}, {change} than {fmt(old)}."
            )
        if r <= iterations or lr is None:
            graph = {node: node for node in forward} if r == 1 else _rebuilt(forward, values)
            grads = _backward_steps(output, graph, backward_order, index, names, edge_of, steps)
            if r == 1:
                for i, node in enumerate(forward):
                    nodes[i]["grad"] = None if _is_constant(node) else _raw(grads[node])
        if lr is not None and r <= iterations:
            for node in targets:
                steps.append(_update_step(node, index, names, lr, values[node], grads[node]))
            previous = values
            values = forward_values(forward, {node: values[node] - lr * grads[node] for node in targets})
        for step in steps[first:]:
            step["round"] = r

    on_path = _on_paths(forward, chosen)
    return {
        "output": index[output],
        "nodes": nodes,
        "edges": edges,
        "steps": steps,
        "highlight": sorted(index[n] for n in on_path),
        "focus": sorted(index[n] for n in chosen),
        "lr": lr,
        "rounds": rounds,
    }


def forward_values(forward: list[Value], leaves: dict[Value, float]) -> dict[Value, float]:
    """Every node's number with some leaves set to other values: each operation recomputed, in
    forward order, by its rule's ``forward`` (the engine's own math; a domain error gives nan)."""
    values: dict[Value, float] = {}
    for node in forward:
        if node.parents:
            try:
                values[node] = RULES[node.op].forward(*(values[p] for p in node.parents))
            except (ArithmeticError, ValueError):
                values[node] = math.nan
        else:
            values[node] = leaves.get(node, node.data)
    return values


def _rebuilt(forward: list[Value], values: dict[Value, float]) -> dict[Value, Value]:
    """The graph again at `values` (the updated weights' round): each leaf a new Value holding its
    number, each op applied again by the engine, so the round's backward pass is the engine's own."""
    graph: dict[Value, Value] = {}
    with enable_grad():
        for node in forward:
            if not node.parents:
                graph[node] = Value(values[node])
                continue
            operands = [graph[p] for p in node.parents]
            try:
                graph[node] = apply(node.op, *operands)
            except (ArithmeticError, ValueError):
                graph[node] = _out_of_domain(node.op, operands)
    return graph


def _out_of_domain(op: str, operands: list[Value]) -> Value:
    """The node of `op` on operands outside its domain (a diverging descent), holding nan as the
    page's forward pass shows it: made at 1.0, inside every op's domain, on the page's own copies,
    which then get their numbers back (the backward pass reads its local derivatives there)."""
    numbers = [operand.data for operand in operands]
    for operand in operands:
        operand.data = 1.0
    out = apply(op, *operands)
    for operand, number in zip(operands, numbers, strict=True):
        operand.data = number
    out.data = math.nan
    return out


def _backward_steps(
    output: Value,
    graph: dict[Value, Value],
    backward_order: list[Value],
    index: dict[Value, int],
    names: dict[Value, str],
    edge_of: dict[tuple[Value, int], int],
    steps: list[dict],
) -> dict[Value, float]:
    """Append the backward pass's steps: the engine's own (`engine.backward_steps`) on `graph`,
    the page's graph or its rebuilt copy, one step per operand that gets a grad; returns every grad."""
    uses = dict.fromkeys(backward_order, 0)
    for node in backward_order:
        for parent in node.parents:
            uses[parent] += 1
    page_node = {copy: node for node, copy in graph.items()}
    grads: dict[Value, float] = {output: 1.0}  # the sums as the page shows them, step by step
    steps.append(_seed_step(output, index, names))
    for copy, its_steps in itertools.groupby(backward_steps(graph[output]), key=lambda step: step.node):
        node = page_node[copy]
        for k, (_, _, upstream, d, contribution) in enumerate(its_steps):  # one per operand, in order
            parent = node.parents[k]
            before = grads.get(parent)
            grads[parent] = contribution if before is None else before + contribution
            uses[parent] -= 1
            if _is_constant(parent):
                continue  # nobody differentiates with respect to the number 2
            steps.append(
                _backward_step(
                    node,
                    k,
                    names,
                    index,
                    edge_of[node, k],
                    upstream,
                    d,
                    before,
                    grads[parent],
                    uses[parent] == 0,
                )
            )
    steps[-1]["note"] += f"  Backward pass done: each grad is d{derivative_name(names[output])}/d(that node)."
    return grads


def _start_step(inputs: list[Value], index: dict[Value, int], names: dict[Value, str], output: Value) -> dict:
    known = [n for n in inputs if not _is_constant(n)]
    shown = ", ".join(f"{names[n]} = {fmt(n.data)}" for n in known) or "only constants"
    return {
        "phase": "start",
        "node": None,
        "edges": [],
        "rows": [[["Inputs: ", ""], [shown, "u"]]],
        "note": f"The forward pass computes every node from its operands, up to {names[output]}. "
        "Press → or Next.",
        "set": [[index[n], "data", fmt(n.data), "known"] for n in known],
    }


def _again_step(
    inputs: list[Value],
    targets: list[Value],
    index: dict[Value, int],
    names: dict[Value, str],
    output: Value,
    values: dict[Value, float],
    r: int,
) -> dict:
    """The start of another round: the weights hold their new values, every grad is zeroed."""
    known = [n for n in inputs if not _is_constant(n)]
    shown = ", ".join(f"{names[n]} = {fmt(values[n])}" for n in targets)
    return {
        "phase": "start",
        "node": None,
        "edges": [],
        "reset": True,
        "rows": [[["Updated: ", ""], [shown, "u"]]],
        "note": f"Round {r}: zero every grad and run the forward pass again with the new weights, "
        f"up to {names[output]}.",
        "set": [[index[n], "data", fmt(values[n]), "known"] for n in known],
    }


def _number(x: float) -> tuple[str, int]:
    """A number with the precedence `formatting.expression` needs to parenthesise it."""
    text = fmt(x)
    return text, (_NEGATIVE if text.startswith("-") else _ATOM)


def _precedences(forward: list[Value], names: dict[Value, str]) -> dict[Value, tuple[str, int]]:
    """Each node's name with its precedence: a name that is an expression (``ŷ − y``) binds like
    its operator, so ``(ŷ − y)²`` keeps its parentheses; labels and short names are atoms."""
    written: dict[Value, tuple[str, int]] = {}
    for node in forward:
        name = names[node]
        if node.label:
            written[node] = (name, _ATOM)
        elif not node.parents:
            written[node] = (name, _number(node.data)[1])
        else:
            text, prec = expression(node, written)
            written[node] = (name, prec if text == name else _ATOM)
    return written


def _forward_step(
    node: Value,
    index: dict[Value, int],
    names: dict[Value, str],
    written: dict,
    edges: list[int],
    values: dict[Value, float],
) -> dict:
    symbolic, _ = expression(node, written)
    numeric, _ = expression(node, {p: _number(values[p]) for p in node.parents})
    value = fmt(values[node])
    first = [[names[node], "t"]]
    if symbolic != names[node]:
        first += [[" = ", ""], [symbolic, ""]]
    rows = [first, [[" = ", ""], [numeric, "u"], [" = ", ""], [value, "r"]]]
    operands = " and ".join(dict.fromkeys(names[p] for p in node.parents))
    return {
        "phase": "forward",
        "node": index[node],
        "edges": edges,
        "rows": rows,
        "note": f"Forward: {names[node]} is computed from {operands}.",
        "set": [[index[node], "data", value, "known"]],
    }


def _seed_step(output: Value, index: dict[Value, int], names: dict[Value, str]) -> dict:
    name = names[output]
    return {
        "phase": "backward",
        "node": index[output],
        "edges": [],
        "rows": [[[f"grad({name})", "t"], [" = ", ""], ["1", "r"]]],
        "note": f"Backward starts at the output: d{(d := derivative_name(name))}/d{d} = 1. "
        "Gradients now flow against the arrows, one operand at a time.",
        "set": [[index[output], "grad", "1", "final"]],
        "value": 1.0,
        "after": 1.0,
    }


def _backward_step(
    node: Value,
    k: int,
    names: dict[Value, str],
    index: dict[Value, int],
    edge: int,
    upstream: float,
    local: float,
    before: float | None,
    after: float,
    final: bool,
) -> dict:
    parent = node.parents[k]
    target, source = names[parent], names[node]
    formula = local_formula(node, k, names)
    contribution = upstream * local
    rows = [
        [[f"grad({target})", "t"], [" += ", ""], [f"grad({source})", "u"], [" · ", ""],
         [_paren(formula), "l"]],
        [
            [" = ", ""],
            [fmt(upstream), "u"],
            [" · ", ""],
            [_paren(fmt(local)), "l"],
            [" = ", ""],
            [fmt(contribution), "r"],
        ],
    ]
    if before is None:
        total = f"grad({target}) = {fmt(after)}"
    else:
        total = f"grad({target}) = {fmt(before)} + {_paren(fmt(contribution))} = {fmt(after)}"
    d_source, d_target = derivative_name(source), derivative_name(target)
    why = f"Chain rule along {target} → {source}: ∂{d_source}/∂{d_target} = {formula}."
    if not final:
        status = f"{total} so far: {target} is used again, more to add."
    elif before is None:
        status = f"{total}, complete."
    else:
        status = f"{total}, complete (the sum over its uses)."
    return {
        "phase": "backward",
        "node": index[parent],
        "from": index[node],
        "edges": [edge],
        "rows": rows,
        "note": f"{why}  {status}",
        "set": [[index[parent], "grad", fmt(after), "final" if final else "partial"]],
        "upstream": _raw(upstream),
        "local": _raw(local),
        "ltext": fmt(local),
        "value": _raw(contribution),
        "after": _raw(after),
    }


def _update_step(
    node: Value, index: dict[Value, int], names: dict[Value, str], lr: float, old: float, grad: float
) -> dict:
    name = names[node]
    new = old - lr * grad
    rows = [
        [[f"{name}", "t"], [" ← ", ""], [name, ""], [" − lr · ", ""], [f"grad({name})", "u"]],
        [
            [" = ", ""],
            [fmt(old), ""],
            [" − ", ""],
            [fmt(lr), ""],
            [" · ", ""],
            [_paren(fmt(grad)), "u"],
            [" = ", ""],
            [fmt(new), "r"],
        ],
    ]
    direction = "down" if grad > 0 else ("up" if grad < 0 else "nowhere")
    return {
        "phase": "update",
        "node": index[node],
        "edges": [],
        "rows": rows,
        "note": f"Gradient descent: {name} moves against its gradient ({direction}), by lr · grad.",
        "set": [[index[node], "data", fmt(new), "updated"]],
        "value": _raw(new),
    }


def _on_paths(forward: list[Value], starts: list[Value]) -> set[Value]:
    """The nodes on a path from any of `starts` to the output (one pass in forward order)."""
    on_path: set[Value] = set(starts)
    if not starts:
        return on_path
    for node in forward:
        if any(parent in on_path for parent in node.parents):
            on_path.add(node)
    return on_path


# --- the layout and the picture ---------------------------------------------------------------------


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


def _layout(forward: list[Value], edges: list[dict], width: list[float], height: list[float]) -> _Layout:
    """A layered drawing (Sugiyama-style, all iterative): columns from `_layers`; an edge spanning
    several columns gets a slot in each column it crosses, so it never runs under a card; rows
    ordered by barycentre sweeps against crossings (operand a above operand b where that is a
    tie); each column centred vertically."""
    n = len(forward)
    layer = _layers(forward)
    slot_layer = list(layer)
    slot_height = list(height)
    chains: list[list[int]] = []
    port: dict[tuple[int, int], float] = {}  # a hop into an operation: operand a above operand b
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
    before: list[list[int]] = [[] for _ in slot_layer]
    after: list[list[int]] = [[] for _ in slot_layer]
    for chain in chains:
        for a, b in itertools.pairwise(chain):
            after[a].append(b)
            before[b].append(a)
    columns: list[list[int]] = [[] for _ in range(max(slot_layer) + 1)]
    for slot, col in enumerate(slot_layer):
        columns[col].append(slot)
    position = [0.0] * len(slot_layer)
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
        sweep(columns[-2::-1], after, port)

    xs = [0.0] * len(slot_layer)
    left, right = [0.0] * len(columns), [0.0] * len(columns)
    x = float(_MARGIN)
    for c, col in enumerate(columns):
        left[c] = x
        if any(slot < n and forward[slot].parents for slot in col):
            x += _BADGE_GAP + _BADGE_ROOM
        col_width = max((width[slot] for slot in col if slot < n), default=0.0)
        for slot in col:
            centred = slot >= n or _is_constant(forward[slot])
            xs[slot] = x + (col_width - width[slot]) / 2 if centred and slot < n else x
        right[c] = x + col_width
        x += col_width + _COL_GAP
    col_heights = [sum(slot_height[s] for s in col) + _ROW_GAP * (len(col) - 1) for col in columns]
    total_h = max(col_heights) + 2 * _MARGIN
    ys = [0.0] * len(slot_layer)
    for col, col_h in zip(columns, col_heights, strict=True):
        y = (total_h - col_h) / 2
        for slot in col:
            ys[slot] = y
            y += slot_height[slot] + _ROW_GAP
    routes = []
    for chain in chains:
        route = []
        for slot in chain[1:-1]:
            mid = ys[slot] + _PASS_H / 2
            route += [(left[slot_layer[slot]], mid), (right[slot_layer[slot]], mid)]
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
    if _is_constant(node):
        return max(54.0, 20 + 11.5 * len(name))
    longest = max((len(text) for text in shown), default=1)
    return max(164.0, 30 + 13.5 * len(_short(name)), 76 + 15.0 * longest)


def svg(data: dict, forward: list[Value]) -> str:
    """The graph as inline SVG: a card per Value (ids ``n{i}``), a circle per operation, an arrow per
    operand (ids ``e{k}``), every number in an element the script rewrites."""
    nodes, edges = data["nodes"], data["edges"]
    shown: dict[int, list[str]] = {i: [] for i in range(len(forward))}
    for step in data["steps"]:
        for i, _, text, _ in step["set"]:
            shown[i].append(text)
    width = [_card_width(node, nodes[i]["name"], shown[i]) for i, node in enumerate(forward)]
    height = [_CONST_H if _is_constant(node) else _CARD_H for node in forward]
    layout = _layout(forward, edges, width, height)
    local_of: dict[int, str] = {}  # the first round's; the script writes later rounds' own
    for step in data["steps"]:
        if step["phase"] == "backward" and "local" in step:
            local_of.setdefault(step["edges"][0], step["ltext"])
    total_w, total_h = layout.width, layout.height

    def mid(i: int) -> float:
        return layout.y[i] + height[i] / 2

    on_path = set(data["highlight"])
    out: list[str] = [
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
        '<g id="edges">',
    ]
    for k, edge in enumerate(edges):
        p, c = edge["parent"], edge["child"]
        start = (layout.x[p] + width[p], mid(p))
        bx, by = layout.x[c] - _BADGE_GAP, mid(c)
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
        out.append(f'<path id="e{k}" class="{cls}" d="{" ".join(d)}"/>')
        if k in local_of:  # shown while the gradient crosses this edge: × the local derivative
            lx, ly = bx, (by + _BADGE_R + 22 if edge["index"] == 1 else by - _BADGE_R - 12)
            out.append(
                f'<text id="l{k}" class="elabel" x="{lx:.1f}" y="{ly:.1f}">×{escape(local_of[k])}</text>'
            )
    out.append("</g>")
    out.append('<g id="nodes">')
    for i, node in enumerate(forward):
        info = nodes[i]
        name = info["name"]
        x, y, w, h = layout.x[i], layout.y[i], width[i], height[i]
        classes = (
            f"node {info['kind']}"
            + (" onpath" if i in on_path else "")
            + (" focus" if i in data["focus"] else "")
            + (" output" if i == data["output"] else "")
        )
        out.append(f'<g id="n{i}" class="{classes}"><title>{escape(name)}</title>')
        if node.parents:
            bx, by = x - _BADGE_GAP, mid(i)
            glyph = OP_GLYPH[node.op]
            size = " small" if len(glyph) > 2 else ""
            half = _badge_half(glyph)
            out.append(
                f'<line class="link" x1="{bx + half:.1f}" y1="{by:.1f}" x2="{x:.1f}" y2="{by:.1f}" '
                f'marker-end="url(#arrow-idle)"/>'
                f'<g class="badge"><rect x="{bx - half:.1f}" y="{by - _BADGE_R:.1f}" width="{2 * half:.1f}" '
                f'height="{2 * _BADGE_R}" rx="{_BADGE_R}"/>'
                f'<text class="glyph{size}" x="{bx:.1f}" y="{by:.1f}">{escape(glyph)}</text></g>'
            )
            if RULES[node.op].ordered:  # say which operand is a and which is b
                for k, role in enumerate("ab"):
                    dy = -1 if k == 0 else 1
                    out.append(
                        f'<text class="role" x="{bx - half - 8:.1f}" y="{by + dy * (_BADGE_R + 4):.1f}">'
                        f"{role}</text>"
                    )
        if _is_constant(node):
            out.append(
                f'<rect class="card" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h}" rx="{h / 2:.0f}"/>'
                f'<text class="const-text" x="{x + w / 2:.1f}" y="{y + h / 2:.1f}">{escape(name)}</text>'
                "</g>"
            )
            continue
        out.append(
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
    out.append("</g></svg>")
    return "".join(out)


# --- the page ------------------------------------------------------------------------------------------


def _json_for_script(data: dict) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` at all,
    so a label like ``</script><script>…`` stays data (JSON.parse reads ``\\u003c`` back as ``<``)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def asset(name: str) -> str:
    return resources.files("microgradx").joinpath("assets", name).read_text(encoding="utf-8")


def to_html(
    output: Value,
    path: str | os.PathLike[str] | None = None,
    *,
    highlight: Value | Iterable[Value] | None = None,
    title: str | None = None,
    lr: float | None = None,
    iterations: int = 1,
) -> str:
    """One self-contained HTML page stepping through the forward and backward pass of `output`.

    Buttons (back, next, play, reset) and the arrow keys step node by node: each forward step shows
    a value appear, each backward step the chain-rule line ``grad(z) += grad(ŷ) · σ(z)·(1−σ(z)) =
    -0.4256 · 0.2445 = -0.1041`` and the running grad. With `lr`, final steps show ``w ← w − lr·grad``
    for `highlight` (a Value or Values; default every labelled leaf), then the forward pass runs again
    on the new weights so the output's change shows; `iterations` rounds of forward, backward and
    update (default 1) before that last forward pass. Returns the HTML; with `path`
    also writes it (atomically). No network access: it works from ``file://`` and on a projector.
    """
    if title is not None and type(title) is not str:
        raise TypeError(f"to_html(title) must be a str or None, got {type(title).__name__}")
    data = page_data(output, highlight=highlight, lr=lr, iterations=iterations)
    forward = topological_order(output)[::-1]
    name = data["nodes"][data["output"]]["name"]
    heading = title if title is not None else f"Backpropagation step by step: {name}"
    return page_from_assets("stepper", heading, data, path, SVG=svg(data, forward))


_FIELD = re.compile(
    r'<text id="n(\d+)-(data|grad)" class="[^"]*" x="([\d.]+)" y="([\d.]+)" data-room="(\d+)"></text>'
)
_EDGE_LABEL = re.compile(r'<text id="l\d+" class="elabel"[^>]*>[^<]*</text>')


def static_svg(output: Value, *, grads: bool) -> str:
    """The step-through page's picture of `output` with its numbers written in, for paper: every
    forward value, and every grad when `grads`, else an empty box for it (a worksheet's blank).
    The edges' local derivatives are left out (a worksheet asks for them)."""
    data = page_data(output)
    picture = _EDGE_LABEL.sub("", svg(data, topological_order(output)[::-1]))

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


def stepper_page(
    output: Value, data: dict, heading: str, path: str | os.PathLike[str] | None = None, *, quiz: bool = False
) -> str:
    """The step-through page of `data` (from `page_data`); with `quiz`, the quiz's own style and
    script (``assets/quiz.*``, reading ``data["quiz"]`` and each step's ``ask``) join the stepper's."""
    forward = topological_order(output)[::-1]
    return page_from_assets(
        "stepper", heading, data, path, extra="quiz" if quiz else None, SVG=svg(data, forward)
    )


def page_from_assets(
    kind: str,
    heading: str,
    data: dict,
    path: str | os.PathLike[str] | None,
    *,
    extra: str | None = None,
    **more: str,
) -> str:
    """The page ``assets/KIND.html`` filled in with its own CSS and script, `data` as JSON and the
    `more` parts; written atomically to `path` when given. Shared by the stepper and `History`.
    `extra` names assets whose CSS and script follow KIND's (the quiz's, after the stepper's)."""
    style, script = asset(f"{kind}.css"), asset(f"{kind}.js")
    if extra is not None:
        style, script = style + asset(f"{extra}.css"), script + asset(f"{extra}.js")
    parts = {
        "TITLE": escape(heading),
        "STYLE": style,
        "SCRIPT": script,
        "DATA": _json_for_script(data),
        # Content-Security-Policy: no network at all, and only our own style and script may run.
        "STYLE_HASH": _sha256(style),
        "SCRIPT_HASH": _sha256(script),
        **more,
    }
    # One pass over the template, so a label that reads "{{SCRIPT}}" stays a label.
    page = _PLACEHOLDER.sub(lambda m: parts[m.group(1)], asset(f"{kind}.html"))
    if path is not None:
        write_atomically(path, page)
    return page
