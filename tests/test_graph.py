"""The graph snapshot (`microgradx.graph`): its order, names, edges, local derivatives and paths,
each against an independent truth (brute-force path enumeration, central differences, the hand
derivation of the sigmoid neuron)."""

from __future__ import annotations

import math

import pytest
from conftest import seed_neuron
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.graph import snapshot
from microgradx.rules import RULES


def _all_paths(node, start):
    """Every path from `start` up to `node`, by plain recursion (small graphs only)."""
    if node is start:
        return [[start]]
    return [[*path, node] for parent in node.parents for path in _all_paths(parent, start)]


@st.composite
def small_graphs(draw):
    """A random graph of +, −, ·, tanh and sigmoid over three labelled leaves, some nodes reused."""
    leaves = [mg.Value(draw(st.floats(-2, 2)), name) for name in "abc"]
    nodes = list(leaves)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["+", "-", "*", "tanh", "sigmoid"]))
        a = draw(st.sampled_from(nodes))
        if op in ("tanh", "sigmoid"):
            nodes.append(getattr(a, op)())
        else:
            b = draw(st.sampled_from(nodes))
            nodes.append({"+": a + b, "-": a - b, "*": a * b}[op])
    return nodes[-1], leaves


def test_the_sigmoid_neuron_reads_as_on_the_board() -> None:
    E, w, x, y, z, yhat = seed_neuron(w=0.3, x=1.5, y=1.0)
    g = snapshot(E, highlight=w)
    assert g.backward[0] is E and g.forward[-1] is E
    assert all(g.index[p] < g.index[n] for n in g.forward for p in n.parents)  # operands first
    assert [g.names[n] for n in (w, x, z, yhat, E)] == ["w", "x", "z", "ŷ", "E"]
    (into_yhat,) = g.edges_into(yhat)
    assert into_yhat.parent is z and g.formula(into_yhat) == "σ(z)·(1−σ(z))"
    s = 1 / (1 + math.exp(-0.45))
    assert g.local(into_yhat) == pytest.approx(s * (1 - s), rel=1e-15)  # the hand derivation
    into_z = g.edges_into(z)
    assert [e.parent for e in into_z] == [w, x] and g.formula(into_z[0]) == "x"
    assert g.local(into_z[0]) == 1.5
    assert g.on_path == {w, z, yhat, E} | {n for n in g.forward if n.parents and g.index[n] > g.index[yhat]}
    assert x not in g.on_path and y not in g.on_path


@settings(max_examples=60, deadline=None)
@given(small_graphs())
def test_edges_paths_and_locals_agree_with_brute_force(graph) -> None:
    out, leaves = graph
    g = snapshot(out, highlight=leaves[0])
    assert len(g.edges) == sum(len(n.parents) for n in g.forward)
    assert [g.edges[e.number] for e in g.edges] == g.edges
    for node in g.forward:
        expected = [(p, k) for k, p in enumerate(node.parents)]
        assert [(e.parent, e.operand) for e in g.edges_into(node)] == expected
    for start in leaves:
        counts = g.path_counts(start)
        for node in g.forward:
            assert counts.get(node, 0) == len(_all_paths(node, start))
    on_some_path = {n for n in g.forward if _all_paths(n, leaves[0])} if leaves[0] in g else set()
    assert g.on_path == on_some_path  # (a highlight outside the graph is on no path)
    for edge in g.edges:  # ∂child/∂parent by central differences through the child's own forward
        child, k = edge.child, edge.operand
        h = 1e-6

        def at(shift: float, child=child, k=k) -> float:
            operands = [p.data + (shift if i == k else 0.0) for i, p in enumerate(child.parents)]
            return RULES[child.op].forward(*operands)

        numeric = (at(h) - at(-h)) / (2 * h)
        assert g.local(edge) == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_a_snapshot_names_a_bad_argument_for_its_caller() -> None:
    with pytest.raises(TypeError, match=r"^draw\(output\) must be a Value, got float"):
        snapshot(1.0, caller="draw")
    with pytest.raises(TypeError, match=r"highlight\) must be a Value or Values of the graph, got str"):
        snapshot(mg.Value(1.0), highlight="w")


@settings(max_examples=60, deadline=None)
@given(small_graphs())
def test_paths_to_the_output_agree_with_brute_force(graph) -> None:
    out, _ = graph
    g = snapshot(out)
    counts = g.paths_to_output()
    assert set(counts) == set(g.forward)  # every node of the graph has a path to the output
    for node in g.forward:
        assert counts[node] == len(_all_paths(out, node))


def test_path_counts_stop_at_their_cap() -> None:
    """70 stacked diamonds (x → x+x) have 2^70 paths from x to the top: the counts stop at the cap."""
    x = mg.Value(1.0, "x")
    top = x
    for _ in range(70):
        top = top + top
    g = snapshot(top)
    assert g.path_counts(x)[top] == 2**53  # the default cap, below 2^70
    assert g.path_counts(x, cap=10**100)[top] == 2**70
    assert g.path_counts(x, cap=1000)[top] == 1000
    assert g.paths_to_output()[x] == 2**53


def test_membership_is_the_graphs_nodes_and_needs_no_index() -> None:
    E, w, x, y, z, yhat = seed_neuron()
    reached, todo = set(), [E]  # the graph by plain search over operands
    while todo:
        node = todo.pop()
        if node not in reached:
            reached.add(node)
            todo.extend(node.parents)
    g = snapshot(E)
    assert g.members == reached and all(n in g for n in (E, w, x, y, z, yhat))
    assert mg.Value(0.3, "w") not in g and "w" not in g
    assert "index" not in vars(g)  # a summary of a huge graph asks `in` only: no index built for it


def test_highlights_are_kept_once_and_only_the_graphs_nodes_are_on_a_path() -> None:
    E, w, x, *_ = seed_neuron()
    g = snapshot(E, highlight=[w, w, x])
    assert g.highlight == (w, x)  # each once, in the order given (a page updates w once)
    outsider = mg.Value(0.3, "w")
    assert snapshot(E, highlight=outsider).on_path == frozenset()  # not in the graph: no path
    assert snapshot(E, highlight=[outsider, w]).on_path == snapshot(E, highlight=w).on_path
    from microgradx.steps import page_data

    data = page_data(E, highlight=[w, w], lr=0.1)
    assert data["focus"] == [0] and sum(s["phase"] == "update" for s in data["steps"]) == 1


def test_edges_into_a_node_of_another_graph_is_a_clear_error() -> None:
    g = snapshot(seed_neuron().E)
    stranger = mg.Value(1.0, "a") * 2.0
    with pytest.raises(ValueError, match=r"edges_into: .* is not in the graph of this snapshot"):
        g.edges_into(stranger)
    assert g.edges_into(mg.Value(1.0)) == []  # a leaf has no edges, wherever it is
