"""Pickle, deepcopy and copy.copy of graphs (microgradx.persistence): any depth, one graph, every format."""

from __future__ import annotations

import base64
import copy
import math
import pickle
import subprocess
import sys

import pytest

import microgradx as mg
from microgradx import Value


def test_copied_and_unpickled_graphs_backpropagate_like_the_original():
    x = Value(0.7, "x")
    out = (x * x).tanh() + x
    out.backward()
    for clone in (copy.deepcopy(out), pickle.loads(pickle.dumps(out))):
        (cx,) = [v for v in mg.engine.topological_order(clone) if v.label == "x"]
        assert cx is not x and cx.grad == x.grad  # grads are copied with the data
        clone.backward()
        assert cx.grad == 2 * x.grad


# out = tanh(w·3) + w at w = 0.5, labelled "out" and "w", as pickled by earlier versions of microgradx.
EARLIER_PICKLES = {
    # commit 513d0d3, before creation numbers: the default state of its slots, with a `parents` tuple
    "slots": (
        "gASVNAEAAAAAAACMEW1pY3JvZ3JhZHguZW5naW5llIwFVmFsdWWUk5QpgZROfZQojAZfbGFiZWyUjANvdXSUjARkYXRhlEc/9nt8"
        "vDb6vIwEZ3JhZJRHAAAAAAAAAACMAm9wlIwBK5SMB3BhcmVudHOUaAIpgZROfZQoaAWMAJRoB0c/7Pb5eG31d2gIRwAAAAAAAAAA"
        "aAmMBHRhbmiUaAtoAimBlE59lChoBWgOaAdHP/gAAAAAAABoCEcAAAAAAAAAAGgJjAEqlGgLaAIpgZROfZQoaAWMAXeUaAdHP+AA"
        "AAAAAABoCEcAAAAAAAAAAGgJaA5oCyl1hpRiaAIpgZROfZQoaAVoDmgHR0AIAAAAAAAAaAhHAAAAAAAAAABoCWgOaAspdYaUYoaU"
        "dYaUYoWUdYaUYmgThpR1hpRiLg=="
    ),
    # commit 52e33ee, before graph tables: each node's state holds its operands
    "operands": (
        "gASVJwEAAAAAAACMEW1pY3JvZ3JhZHguZW5naW5llIwFVmFsdWWUk5QpgZR9lCiMBGRhdGGURz/2e3y8Nvq8jARncmFklEcAAAAA"
        "AAAAAIwFbGFiZWyUjANvdXSUjAJvcJSMASuUjAFhlGgCKYGUfZQoaAVHP+z2+Xht9XdoBkcAAAAAAAAAAGgHjACUaAmMBHRhbmiU"
        "aAtoAimBlH2UKGgFRz/4AAAAAAAAaAZHAAAAAAAAAABoB2gOaAmMASqUaAtoAimBlH2UKGgFRz/gAAAAAAAAaAZHAAAAAAAAAABo"
        "B4wBd5RoCWgOaAtOjAFilE51YmgWaAIpgZR9lChoBUdACAAAAAAAAGgGRwAAAAAAAAAAaAdoDmgJaA5oC05oFk51YnViaBZOdWJo"
        "FmgTdWIu"
    ),
}


@pytest.mark.parametrize("version", EARLIER_PICKLES)
def test_a_value_pickled_by_an_earlier_version_still_loads_and_backpropagates(version):
    out = pickle.loads(base64.b64decode(EARLIER_PICKLES[version]))
    (w,) = [v for v in mg.engine.topological_order(out) if v.label == "w"]
    assert out.label == "out" and out.data == math.tanh(1.5) + 0.5
    assert [p.op for p in out.parents] == ["tanh", ""]
    (out * w).backward()  # new nodes on top of the loaded ones
    assert w.grad == pytest.approx(out.data + 0.5 * (3 * (1 - math.tanh(1.5) ** 2) + 1), rel=1e-12)


def operands_are_older(root):
    return all(node._seq > p._seq for node in mg.engine.topological_order(root) for p in node.parents)


def test_deep_graphs_copy_and_pickle_without_recursion():
    # deepcopy and pickle used to recurse once per level: a 300-deep graph was too deep for them
    x, w = Value(0.5, "x"), Value(0.999, "w")
    out = sum([x * w] * 1000)  # sum() of 1,000 Values: 1,000 deep
    for i in range(20_000):
        out = out * w if i % 3 == 0 else (out + 0.01 if i % 3 == 1 else out.relu())
    out.backward()
    for clone in (copy.deepcopy(out), pickle.loads(pickle.dumps(out))):
        nodes = mg.engine.topological_order(clone)
        (cx,) = [v for v in nodes if v.label == "x"]
        assert len(nodes) == len(mg.engine.topological_order(out)) and cx is not x
        assert cx.grad == x.grad and operands_are_older(clone)
        clone.backward()
        assert cx.grad == 2 * x.grad


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_values_pickled_together_stay_one_graph(protocol):
    x, y = Value(0.3, "x"), Value(-1.2, "y")
    shared = (x * y).tanh()
    left, right = shared * x, shared + y  # two graphs over one subgraph, neither inside the other
    saved = [right, x, shared, left, y]
    for loaded in (pickle.loads(pickle.dumps(saved, protocol)), copy.deepcopy(saved)):
        right2, x2, shared2, left2, y2 = loaded
        assert left2.parents[0] is shared2 and right2.parents == (shared2, y2)
        assert shared2.parents[0].parents == (x2, y2)
        assert operands_are_older(left2) and operands_are_older(right2)
        assert mg.grad(left2 * right2, [x2, y2]) == mg.grad(left * right, [x, y])
    assert len(mg.persistence._saving.tables) == 0  # the tables lived only while they were saved


def test_values_saved_together_cost_their_shared_graph_once():
    x = Value(0.5, "x")
    hidden = x
    for _ in range(2_000):
        hidden = (hidden * 0.999).tanh()
    outputs = [hidden * float(k) for k in range(100)]
    alone, together = len(pickle.dumps(hidden)), len(pickle.dumps(outputs))
    assert together < 2 * alone  # was about 100 × alone: each output saved the graph again
    loaded = pickle.loads(pickle.dumps(outputs))
    assert {out.parents[0] for out in loaded} == {loaded[0].parents[0]}


def test_a_deepcopy_keeps_the_values_its_memo_shares_as_they_are():
    x, w = Value(0.3, "x"), Value(0.8, "w")
    mid = (x * w).tanh()
    out = mid * w + x
    before = mg.grad(out, [x, w])
    clone = copy.deepcopy(out, {id(mid): mid, id(w): w})  # share mid and w with the original
    assert clone.parents[0].parents == (mid, w) and mid.parents[0].parents == (x, w)
    assert operands_are_older(clone) and mg.grad(clone, [w]) == mg.grad(out, [w])
    assert mg.grad(out, [x, w]) == before  # the original graph is untouched


def test_a_graph_can_be_pickled_while_a_backward_pass_runs():
    # as from a signal handler or a __del__ during backward(): saving a graph needs no graph walk
    x = Value(0.7, "x")
    out = (x * x).tanh() * x
    saved = []

    def hook(frame, event, arg):
        if frame.f_code.co_name == "_chain_rule" and not saved:
            saved.append(pickle.dumps(out))
        return None

    sys.settrace(hook)
    try:
        out.backward()
    finally:
        sys.settrace(None)
    loaded = pickle.loads(saved[0])
    assert mg.grad(loaded, [loaded.parents[1]]) == mg.grad(out, [x])


def test_copy_copy_makes_a_new_node_over_the_same_operands():
    x = Value(2.0, "x")
    out = x * 3.0
    out.label, out.grad = "out", 0.25
    clone = copy.copy(out)
    assert clone is not out and clone.parents == out.parents and clone._seq > out._seq
    assert (clone.data, clone.grad, clone.label, clone.op) == (6.0, 0.25, "out", "*")
    clone.backward()
    assert x.grad == 3.0


def test_a_graph_pickled_in_another_process_mixes_with_new_values():
    # The other process has made many Values; what it pickled must still count as older than
    # anything built on it here, or backward would visit an operand before its consumer.
    code = (
        "import pickle, sys, microgradx as mg\n"
        "keep = [mg.Value(i) for i in range(50_000)]\n"
        "w = mg.Value(0.5, 'w')\n"
        "sys.stdout.buffer.write(pickle.dumps((w, w * 2.0)))\n"
    )
    pickled = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    w, two_w = pickle.loads(pickled)
    out = (two_w * w).tanh() * w  # new nodes over the unpickled ones
    out.backward()
    t = math.tanh(2 * 0.25)
    assert w.grad == pytest.approx(t + 0.5 * (1 - t * t) * 4 * 0.5, rel=1e-12)
