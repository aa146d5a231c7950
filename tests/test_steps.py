"""The one backward walk (engine.backward_steps, engine.local_derivatives) against independent
truths, and what its local sums buy: threads, re-entrant calls and interrupts need no lock and
leave nothing behind."""

from __future__ import annotations

import gc
import math
import sys
import threading

import pytest

import microgradx as mg
from microgradx import Value
from microgradx.engine import Step, backward_steps, local_derivatives, topological_order


def sums_of(root: Value, seed: float = 1.0) -> dict[Value, float]:
    """d root / d x for every x: the seed, plus the contributions of the steps into x."""
    totals = {root: seed}
    for step in backward_steps(root, seed):
        totals[step.operand] = totals.get(step.operand, 0.0) + step.contribution
    return totals


def test_the_steps_contributions_sum_to_the_hand_derivation():
    # f = x·y + sin(x)·x: df/dx = y + cos(x)·x + sin(x), df/dy = x (by hand)
    x, y = Value(0.7, "x"), Value(-1.3, "y")
    f = x * y + x.sin() * x
    totals = sums_of(f)
    assert totals[x] == pytest.approx(-1.3 + math.cos(0.7) * 0.7 + math.sin(0.7), rel=1e-15)
    assert totals[y] == pytest.approx(0.7, rel=1e-15)
    assert mg.grad(f, [x, y]) == [totals[x], totals[y]]  # grad() is the same walk, to the last bit
    f.backward()
    assert (x.grad, y.grad) == (totals[x], totals[y])


def test_each_step_is_the_chain_rule_at_its_node_in_backward_order():
    x = Value(1.5, "x")
    f = (x * x).exp() / (x + 2.0)
    steps = list(backward_steps(f, 2.0))
    assert all(isinstance(s, Step) for s in steps)
    order = topological_order(f)
    assert [s.node for s in steps] == [n for n in order for _ in n.parents]  # one step per operand use
    totals = sums_of(f, 2.0)
    for s in steps:
        k = [t for t in steps if t.node is s.node].index(s)  # x·x: two steps, operand 0 then 1
        assert s.operand is s.node.parents[k]
        assert s.local == local_derivatives(s.node)[k]
        assert s.upstream == totals[s.node]  # complete: all of node's consumers came first
        assert s.contribution == s.upstream * s.local
    assert local_derivatives(x) == ()


def test_the_steps_agree_with_finite_differences():
    def f(a: float, b: float) -> Value:
        va, vb = Value(a), Value(b)
        return (va * vb.tanh() - va.sigmoid() ** 2.0) / (vb * vb + 1.0), va, vb

    a0, b0, h = 0.4, -0.9, 1e-6
    out, va, vb = f(a0, b0)
    totals = sums_of(out)
    numeric_a = (f(a0 + h, b0)[0].data - f(a0 - h, b0)[0].data) / (2 * h)
    numeric_b = (f(a0, b0 + h)[0].data - f(a0, b0 - h)[0].data) / (2 * h)
    assert totals[va] == pytest.approx(numeric_a, rel=1e-7)
    assert totals[vb] == pytest.approx(numeric_b, rel=1e-7)


def test_a_rule_added_to_the_table_at_run_time_is_read_by_the_walk(monkeypatch):
    from microgradx.engine import RULES, apply
    from microgradx.rules import Rule

    cube = Rule("cube", lambda a: a**3, lambda a, out: (3.0 * a * a,), ("3·{a}²",), "cube({a})")
    monkeypatch.setitem(RULES, "cube", cube)
    x = Value(2.0)
    y = apply("cube", x)
    assert y.data == 8.0 and sums_of(y)[x] == 12.0 and mg.grad(y, [x]) == [12.0]
    assert mg.grad(mg.grad(y, [x], create_graph=True)[0], [x]) == [12.0]  # 6·x
    monkeypatch.setitem(RULES, "floor", Rule("floor", math.floor, lambda a, out: (0.0,), ("0",)))
    floor = apply("floor", Value(2.5))
    assert floor.data == 2.0 and type(floor.data) is float  # a forward's int is a float, as Value(2) is


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="backward_steps"):
        backward_steps(2.0)
    with pytest.raises(TypeError, match="seed"):
        backward_steps(Value(1.0), "1")
    with pytest.raises(ValueError, match="no rule for the op 'nope'"):
        mg.engine.apply("nope", Value(1.0))


def test_threads_backpropagating_through_shared_parameters_count_every_pass():
    # 8 threads, each 200 graphs over the same w and b, switching threads as often as CPython can:
    # every pass's sums are its own, so w.grad and b.grad are exactly the sums over all passes.
    w, b = Value(2.0, "w"), Value(-1.0, "b")
    threads, graphs = 8, 200
    start = threading.Barrier(threads)
    errors = []

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(graphs):
                x = Value(float(t + i))
                loss = (w * x + b) * w  # d/dw = 2·w·x + b, d/db = w
                loss.backward()
                if i % 7 == 0:
                    assert mg.grad(loss, [w, b]) == [2.0 * 2.0 * (t + i) - 1.0, 2.0]
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert not errors, errors
    xs = [t + i for t in range(threads) for i in range(graphs)]
    assert w.grad == sum(4.0 * x - 1.0 for x in xs)  # small integers: exact in any order
    assert b.grad == 2.0 * len(xs)


def test_a_backward_pass_inside_another_walks_iteration_works():
    x = Value(3.0, "x")
    f = x * x
    g = (x + 1.0).exp()
    inner = []
    for step in backward_steps(f):
        inner.append(mg.grad(g, [x])[0])  # another walk, from inside this one
        g.backward()
        assert step.contribution == 3.0  # this walk's sums are untouched
    assert inner == [math.exp(4.0)] * 2 and x.grad == 2.0 * math.exp(4.0)
    assert sums_of(f)[x] == 6.0


def test_a_backward_pass_from_a_del_during_a_backward_pass_works():
    seen = []

    class Watcher:
        def __del__(self) -> None:
            y = Value(2.0, "y")
            (y * y * y).backward()
            seen.append(y.grad)

    x = Value(0.5, "x")
    out = (x * x).tanh() * x
    watcher = [Watcher()]
    steps = backward_steps(out)
    next(steps)
    watcher.clear()  # __del__ runs here, in the middle of the walk
    gc.collect()
    totals = {step.operand: step.contribution for step in steps}
    assert seen == [12.0]
    out.backward()
    assert x.grad == pytest.approx(math.tanh(0.25) + 0.5 * (1 - math.tanh(0.25) ** 2) * 2 * 0.5, rel=1e-15)
    assert totals  # the interrupted walk finished its own sums


def test_a_keyboard_interrupt_at_any_step_leaves_nothing_behind():
    # A pass stopped half-way (KeyboardInterrupt, an exception in a rule) leaves no state anywhere:
    # the same graph, and a new graph over the same leaf, backpropagate exactly as if it had not run.
    x = Value(0.3, "x")
    out = ((x * x).sin() + x).exp() * x
    want = mg.grad(out, [x])[0]
    total_steps = len(list(backward_steps(out)))
    for k in range(total_steps):
        steps = backward_steps(out)
        with pytest.raises(KeyboardInterrupt):
            for i, _ in enumerate(steps):
                if i == k:
                    raise KeyboardInterrupt
        assert mg.grad(out, [x])[0] == want
        assert mg.grad(x * 2.0, [x]) == [2.0]


def test_the_create_graph_pass_on_values_is_the_same_walk():
    x = Value(0.8, "x")
    f = x.sin() * x  # f' = cos(x)·x + sin(x), f'' = −sin(x)·x + 2·cos(x)
    (d1,) = mg.grad(f, [x], create_graph=True)
    (d2,) = mg.grad(d1, [x])
    assert d1.data == pytest.approx(math.cos(0.8) * 0.8 + math.sin(0.8), rel=1e-15)
    assert d2 == pytest.approx(-math.sin(0.8) * 0.8 + 2 * math.cos(0.8), rel=1e-14)
    with mg.no_grad():  # the derivative's graph is recorded even inside no_grad
        (d1,) = mg.grad(f, [x], create_graph=True)
    assert d1.parents


def test_a_million_steps_under_the_default_recursion_limit():
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        x = Value(1.0, "x")
        v = x
        for _ in range(1_000_000):
            v = v * 1.0
        count = total = 0
        for step in backward_steps(v):
            count += 1
            total += step.contribution if step.operand is x else 0.0
        assert count == 2_000_000 and total == 1.0  # each ·1.0 has two operands: v and the constant
    finally:
        sys.setrecursionlimit(previous)


def test_topological_order_of_a_list_says_it_takes_values():
    # a list is not hashable: the type check must come before the order is deduplicated
    a = Value(1.0, "a")
    with pytest.raises(TypeError, match="topological_order takes Values, got list"):
        topological_order([a])
