"""The stepper's step model: what the step-through page shows, as JSON-ready data.

The steps come from the engine itself: forward in forward order, backward in the engine's own
backward order with each contribution computed by ``RULES[op].local`` (the rule `backward()` uses),
so the page cannot disagree with `backward()`. With a learning rate, update steps move the weights
and the forward pass runs again on the new values. Names, formulas and numbers come from `formatting`;
the picture is drawn by `picture`, the page put together by `html`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

from microgradx.engine import RULES, Value, apply, backward_steps
from microgradx.formatting import derivative_name, expression, factor, fmt, number_written
from microgradx.gradmode import enable_grad
from microgradx.graph import Edge, Graph, snapshot

__all__ = [
    "MAX_ITERATIONS",
    "MAX_PAGE_NODES",
    "forward_values",
    "is_constant",
    "page_data",
    "page_graph_and_data",
]

MAX_PAGE_NODES = 5000
"""The most Values a step-through page shows (times `iterations`); `to_html` refuses a larger graph
(ValueError). Page size and time are linear in the graph up to this bound (about 1.4 KB of page per
Value and round)."""

MAX_ITERATIONS = 100
"""The most rounds of forward, backward and update one page goes through (`to_html(iterations=...)`)."""

def _raw(x: float) -> float | str:
    """A float for JSON: finite numbers as they are, nan/inf as strings (JSON has no such numbers)."""
    return x if math.isfinite(x) else repr(x)


def is_constant(node: Value) -> bool:
    """An unlabelled leaf (a number written into the expression): shown, but not differentiated."""
    return not node.parents and not node.label


def _check_highlight(graph: Graph, caller: str) -> None:
    for node in graph.highlight:
        if node not in graph:
            raise ValueError(f"{caller}(highlight): {node!r} is not in the graph of the output")


def _checked_rate(lr: float | None, iterations: int, caller: str) -> float | None:
    """`lr` as a float (or None), after checking it and `iterations` (clear errors for bad input)."""
    if lr is not None:
        if type(lr) is bool or not isinstance(lr, int | float) or not math.isfinite(lr):
            raise ValueError(f"{caller}(lr) must be a finite number (the learning rate) or None, got {lr!r}")
        lr = float(lr)
    if type(iterations) is not int or not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(
            f"{caller}(iterations) must be a whole number from 1 to {MAX_ITERATIONS}, got {iterations!r}"
        )
    if iterations > 1 and lr is None:
        raise ValueError(
            f"{caller}(iterations=...) repeats gradient descent, so it needs lr= (the learning rate)"
        )
    return lr


def _check_size(graph: Graph, iterations: int, caller: str) -> None:
    if len(graph) * iterations > MAX_PAGE_NODES:
        raise ValueError(
            f"{caller}: the graph has {len(graph):,} Values"
            + (f" × {iterations} iterations" if iterations > 1 else "")
            + f", more than a step-through page takes "
            f"(MAX_PAGE_NODES = {MAX_PAGE_NODES:,}: about {3 * MAX_PAGE_NODES:,} steps to click through); "
            "step through a smaller graph (one sample, one neuron), or draw() it, which summarises"
        )


def _targets(graph: Graph, lr: float | None, caller: str) -> list[Value]:
    """The Values gradient descent updates: the highlighted ones, else every labelled leaf."""
    chosen = list(graph.highlight)
    targets = chosen if chosen else [n for n in graph.forward if not n.parents and n.label]
    if lr is not None:
        for node in targets:
            if node.parents:
                raise ValueError(
                    f"{caller}(lr=...): {graph.names[node]} is computed by {node.op!r}, so gradient descent "
                    "cannot update it; highlight leaves (weights) only"
                )
    return targets


def _nodes_and_edges(graph: Graph) -> tuple[list[dict], list[dict]]:
    """The page's nodes and edges (one per operand, numbered as `Graph.edges`)."""
    nodes = []
    for node in graph.forward:
        kind = "op" if node.parents else ("const" if is_constant(node) else "input")
        nodes.append({"name": graph.names[node], "kind": kind, "op": node.op, "data": _raw(node.data)})
    index = graph.index
    edges = [
        {"parent": index[edge.parent], "child": index[edge.child], "index": edge.operand}
        for edge in graph.edges
    ]
    return nodes, edges


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
    return page_graph_and_data(output, highlight=highlight, lr=lr, iterations=iterations)[1]


def page_graph_and_data(
    output: Value | Graph,
    *,
    highlight: Value | Iterable[Value] | None = None,
    lr: float | None = None,
    iterations: int = 1,
    caller: str = "to_html",
) -> tuple[Graph, dict]:
    """`page_data`, and the graph snapshot it read (`graph.snapshot`): the page's picture is drawn
    from the same snapshot, so the graph is walked and named once. `output` may be a snapshot
    already made (its own highlight is then the page's)."""
    if type(output) is not Value and not (isinstance(output, Graph) and highlight is None):
        raise TypeError(f"{caller}(output) must be a Value, got {type(output).__name__}")
    lr = _checked_rate(lr, iterations, caller)
    graph = output if isinstance(output, Graph) else snapshot(output, highlight=highlight, caller=caller)
    _check_size(graph, iterations, caller)
    _check_highlight(graph, caller)
    targets = _targets(graph, lr, caller)
    nodes, edges = _nodes_and_edges(graph)
    rounds = iterations + 1 if lr is not None else 1  # with lr, a last forward pass shows the new E
    steps = _all_steps(graph, nodes, targets, lr, iterations, rounds)
    index = graph.index
    data = {
        "output": index[graph.output],
        "nodes": nodes,
        "edges": edges,
        "steps": steps,
        "highlight": sorted(index[n] for n in graph.on_path),
        "focus": sorted(index[n] for n in graph.highlight),
        "lr": lr,
        "rounds": rounds,
    }
    return graph, data


def _all_steps(
    g: Graph, nodes: list[dict], targets: list[Value], lr: float | None, iterations: int, rounds: int
) -> list[dict]:
    """Every step, round by round: forward, backward, and with `lr` the updates; the first round's
    grads are written into `nodes`."""
    forward, index, names, output = g.forward, g.index, g.names, g.output
    steps: list[dict] = []
    inputs = [n for n in forward if not n.parents]
    steps.append(_start_step(inputs, index, names, output))
    written = g.written
    values = previous = {node: node.data for node in forward}
    for r in range(1, rounds + 1):
        first = len(steps) if r > 1 else 0
        if r > 1:
            steps.append(_again_step(inputs, targets, index, names, output, values, r))
        for node in forward:
            if node.parents:
                edges_in = [edge.number for edge in g.edges_into(node)]
                steps.append(_forward_step(node, index, names, written, edges_in, values))
        if r > 1:
            old, new = previous[output], values[output]
            change = "lower" if new < old else ("higher" if new > old else "the same")
            steps[-1]["note"] += (
                f"  With the updated weights {names[output]} = {fmt(new)}, {change} than {fmt(old)}."
            )
        if r <= iterations or lr is None:
            copies = {node: node for node in forward} if r == 1 else _rebuilt(forward, values)
            grads = _backward_steps(g, copies, steps)
            if r == 1:
                for i, node in enumerate(forward):
                    nodes[i]["grad"] = None if is_constant(node) else _raw(grads[node])
        if lr is not None and r <= iterations:
            for node in targets:
                steps.append(_update_step(node, index, names, lr, values[node], grads[node]))
            previous = values
            values = forward_values(forward, {node: values[node] - lr * grads[node] for node in targets})
        for step in steps[first:]:
            step["round"] = r
    return steps


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


def _backward_steps(g: Graph, graph: dict[Value, Value], steps: list[dict]) -> dict[Value, float]:
    """Append the backward pass's steps: the engine's own (`engine.backward_steps`) on `graph`,
    the page's graph or its rebuilt copy, one step per operand that gets a grad; returns every grad."""
    output, index, names = g.output, g.index, g.names
    uses = dict.fromkeys(g.backward, 0)
    uses.update(g.uses)
    page_node = {copy: node for node, copy in graph.items()}
    grads: dict[Value, float] = {output: 1.0}  # the sums as the page shows them, step by step
    steps.append(_seed_step(output, index, names))
    for copy, its_steps in itertools.groupby(backward_steps(graph[output]), key=lambda step: step.node):
        node = page_node[copy]
        edges = g.edges_into(node)
        for k, (_, _, upstream, d, contribution) in enumerate(its_steps):  # one per operand, in order
            parent = node.parents[k]
            before = grads.get(parent)
            grads[parent] = contribution if before is None else before + contribution
            uses[parent] -= 1
            if is_constant(parent):
                continue  # nobody differentiates with respect to the number 2
            steps.append(_backward_step(g, edges[k], upstream, d, before, grads[parent], uses[parent] == 0))
    steps[-1]["note"] += f"  Backward pass done: each grad is d{derivative_name(names[output])}/d(that node)."
    return grads


def _start_step(inputs: list[Value], index: dict[Value, int], names: dict[Value, str], output: Value) -> dict:
    known = [n for n in inputs if not is_constant(n)]
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
    known = [n for n in inputs if not is_constant(n)]
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


def _forward_step(
    node: Value,
    index: dict[Value, int],
    names: dict[Value, str],
    written: dict,
    edges: list[int],
    values: dict[Value, float],
) -> dict:
    symbolic, _ = expression(node, written)
    numeric, _ = expression(node, {p: number_written(values[p]) for p in node.parents})
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
    g: Graph,
    edge: Edge,
    upstream: float,
    local: float,
    before: float | None,
    after: float,
    final: bool,
) -> dict:
    parent, node, index = edge.parent, edge.child, g.index
    target, source = g.names[parent], g.names[node]
    formula = g.formula(edge)
    contribution = upstream * local
    rows = [
        [[f"grad({target})", "t"], [" += ", ""], [f"grad({source})", "u"], [" · ", ""],
         [factor(formula), "l"]],
        [
            [" = ", ""],
            [fmt(upstream), "u"],
            [" · ", ""],
            [factor(fmt(local)), "l"],
            [" = ", ""],
            [fmt(contribution), "r"],
        ],
    ]
    if before is None:
        total = f"grad({target}) = {fmt(after)}"
    else:
        total = f"grad({target}) = {fmt(before)} + {factor(fmt(contribution))} = {fmt(after)}"
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
        "edges": [edge.number],
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
            [factor(fmt(grad)), "u"],
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
