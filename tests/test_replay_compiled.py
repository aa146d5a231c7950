"""The compiled replay (`Trace.source`): the same numbers as rebuilding the graph, bit for bit, and
code made only of names it made up.

The truth is the plain path: build the graph from fresh Values and call ``backward()``. Equality is
exact and stricter than ``==``: -0.0 is not 0.0, and nan equals nan. Functions here branch on their
numbers (comparisons, ``float()``, ``bool()``), so the property tests cross guards, and their inputs
include ±0.0, ±inf and nan.
"""

from __future__ import annotations

import io
import math
import re
import threading
import tokenize

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_trace import rebuild, replay  # the plain path and the replay, each as (numbers) or (error)

import microgradx as mg
from microgradx import Value, engine
from microgradx.rules import RULES, Rule
from microgradx.trace import trace, trace_batch

try:
    import numpy as np
except ImportError:  # the batch replay's part of a test needs the `fast` extra
    np = None

BINARY = ["+", "-", "*", "/", "**"]
UNARY = ["neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos"]


def apply(op: str, a: object, b: object = None) -> Value:
    """One op on Values or numbers, the way user code writes it."""
    if b is not None or op in BINARY:
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
                "**": lambda: a**b}[op]()
    if op == "neg":
        return -a
    if op == "abs":
        return abs(a)
    return getattr(mg, op)(a)


def same(a: object, b: object) -> bool:
    """Equal to the bit, as Python tells floats apart: -0.0 is not 0.0, nan is nan."""
    if isinstance(a, float) and isinstance(b, float):
        if a != a or b != b:
            return a != a and b != b
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


# (kind, op or ops, operand index, second operand or threshold)
step = st.one_of(
    st.tuples(st.just("op"), st.sampled_from(BINARY), st.integers(0, 99), st.integers(0, 99)),
    st.tuples(st.just("op"), st.sampled_from(UNARY), st.integers(0, 99), st.none()),
    st.tuples(st.just("const"), st.sampled_from(BINARY), st.integers(0, 99),
              st.sampled_from([2, 0.5, -1.5, 0.0, -0.0, 3])),
    st.tuples(st.just("if"), st.tuples(st.sampled_from(UNARY), st.sampled_from(UNARY)), st.integers(0, 99),
              st.sampled_from([0.0, -0.0, 1.0, -2.0])),
    st.tuples(st.just("sign"), st.none(), st.integers(0, 99), st.none()),
    st.tuples(st.just("bool"), st.sampled_from(UNARY), st.integers(0, 99), st.none()),
)
special = st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 1e308, -1e-310, 1.0, -1.0])
number = st.floats(-4.0, 4.0) | special


def program(steps: list, w: Value):
    """The function under test: each step combines earlier nodes, some of them by a branch."""

    def f(x0: Value, x1: Value) -> Value:
        nodes = [x0, x1, w]
        for kind, op, i, extra in steps:
            a = nodes[i % len(nodes)]
            if kind == "op":
                nodes.append(apply(op, a, None if extra is None else nodes[extra % len(nodes)]))
            elif kind == "const":
                nodes.append(apply(op, a, extra))
            elif kind == "if":  # a comparison: a guard
                nodes.append(apply(op[0], a) if a < extra else apply(op[1], a))
            elif kind == "sign":  # float(): the number itself, -0.0 and 0.0 sending copysign two ways
                nodes.append(a * math.copysign(1.0, float(a)))
            else:  # bool()
                nodes.append(apply(op, a) if a else a * 2.0)
        return sum(nodes[3:], Value(0.0))

    return f




@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(step, min_size=1, max_size=10),
    example=st.lists(number, min_size=2, max_size=2),
    new=st.lists(st.tuples(st.lists(number, min_size=2, max_size=2), number), min_size=1, max_size=4),
)
def test_compiled_replay_equals_rebuild_bit_for_bit_across_branches_and_special_numbers(steps, example, new):
    w = Value(0.7, "w")
    f = program(steps, w)
    try:
        traced = trace(f, *example)
    except (ArithmeticError, ValueError):
        return  # the example itself is outside the domain: nothing was recorded
    for xs, wv in new:
        w.data = wv  # an optimizer's update between replays
        assert same(replay(traced, xs, w), rebuild(f, xs, w)), traced.source


# --- the source: only names the writer made up --------------------------------------------------

MADE_UP = re.compile(r"[vgdcfp]\d+")
KEYWORDS = set("def replay X seed n K lock return None if not with data grad".split())


def assert_only_made_up_names(source: str) -> None:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        assert token.type not in (tokenize.STRING, tokenize.NUMBER, tokenize.COMMENT), token
        if token.type == tokenize.NAME:
            assert MADE_UP.fullmatch(token.string) or token.string in KEYWORDS, token


def test_the_source_holds_no_label_name_or_number_the_user_wrote():
    w = Value(2.5, "__import__('os').system('echo hi')")
    hostile = Value(-1e300, "'); exec('1')#")

    def f(x):
        y = (w * x + hostile) * 3.25 + 1e-7
        y.label = "\nimport os\n"
        return (y - 0.5).relu() if float(x) > -7.0 else -y

    traced = trace(f, 1.5)
    assert_only_made_up_names(traced.source)
    for number in ("3.25", "1e-07", "2.5", "0.5", "-7"):
        assert number not in traced.source
    assert traced(2.0).value == ((2.5 * 2.0 + -1e300) * 3.25 + 1e-7 - 0.5 > 0) * 0.0  # relu cuts


def test_the_source_runs_without_builtins_and_is_compiled_not_evaluated_as_a_string():
    traced = trace(lambda x: x * 2.0, 1.0)
    replay_function = traced._program.compiled()[1]
    assert replay_function.__globals__ == {"__builtins__": {}}
    assert replay_function.__code__.co_filename == "<microgradx replay>"


# --- what is written in and what is called ----------------------------------------------------------


def make(op: str, a: Value) -> Value:
    """A node of `op` on `a`, made through the engine's public apply."""
    return engine.apply(op, a)


@pytest.fixture
def extra_rules(monkeypatch):
    """Two rules added to the table after microgradx was imported: the trace reads them when it traces."""
    # cube: plain arithmetic, so its derivative is written into the code
    monkeypatch.setitem(RULES, "cube", Rule("cube", lambda a: a * a * a, lambda a, out: (3.0 * a * a,),
                                            ("3·{a}²",)))
    # floor-ish: a derivative that looks at its operand's type is called, not written in
    monkeypatch.setitem(RULES, "odd", Rule("odd", lambda a: a * 2.0,
                                           lambda a, out: (2.0 if type(a) is float else -9.0,), ("2",)))


def test_a_rule_of_arithmetic_is_written_in_and_any_other_is_called(extra_rules):
    traced = trace(lambda x: make("odd", make("cube", x)), 1.5)
    assert traced(-2.0) == (-16.0, (24.0,), ())  # 2x³ and, by hand, its derivative 6x²
    source = traced.source
    assert "v1 = (v0 * v0) * v0\n" in source  # cube's forward, a·a·a, written in
    assert "g0 * ((c0 * v0) * v0)\n" in source  # its derivative 3·a·a, written in
    assert "v2 = v1 * c1\n" in source  # odd's forward, a·2, written in
    assert "[d0] = f0(v1, v2)\n" in source  # odd's derivative looks at a type: called


def test_a_rule_redefined_after_tracing_leaves_the_trace_as_traced_and_a_new_trace_reads_it(
    extra_rules, monkeypatch
):
    traced = trace(lambda x: make("cube", x), 2.0)  # not replayed yet: its code is not written yet
    monkeypatch.setitem(RULES, "cube", RULES["cube"]._replace(local=lambda a, out: (0.0,)))
    assert traced(2.0).grads == (12.0,)  # the rule of the graph it recorded: 3x²
    assert trace(lambda x: make("cube", x), 2.0)(2.0).grads == (0.0,)
    if np is not None:  # the batch replay, written later still, also keeps the traced rule
        monkeypatch.setitem(RULES, "cube", RULES["cube"]._replace(local=lambda a, out: (3.0 * a * a,)))
        batch = trace_batch(lambda x: make("cube", x), 2.0)
        monkeypatch.setitem(RULES, "cube", RULES["cube"]._replace(local=lambda a, out: (0.0,)))
        assert batch(np.array([1.0, 2.0])).grads[0].tolist() == [3.0, 12.0]


# --- big graphs, many threads ------------------------------------------------------------------------


def test_a_long_chain_compiles_within_pythons_nesting_limits():
    # 3,000 additions in one expression would nest too deep for Python's parser: names break it up
    traced = trace(lambda xs: sum(xs[1:], xs[0]) * xs[0], [1.0] * 3000)
    result = traced([0.5] * 3000)
    assert result.value == 0.5 * 1500.0 and result.grads[0][0] == 1500.0 + 0.5 and result.grads[0][1] == 0.5


def test_threads_replaying_a_fresh_trace_together_compile_it_once_and_agree():
    w = Value(1.5, "w")
    traced = trace(lambda x: (w * x).tanh() * x, 0.3)
    results, barrier = [], threading.Barrier(8)

    def work():
        barrier.wait()
        results.append(traced(0.7))

    pool = [threading.Thread(target=work) for _ in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(30)
    x = Value(0.7)
    w.grad = 0.0
    out = (w * x).tanh() * x
    out.backward()
    assert len(results) == 8 and all(r == (out.data, (x.grad,), ()) for r in results)


def test_an_op_written_with_many_parentheses_still_compiles_in_a_long_chain(monkeypatch):
    # each step nests its parentheses 4 deep: 100 of them in one expression would pass Python's 200
    monkeypatch.setitem(RULES, "step", Rule("step", lambda a: (((a * 0.5) + 0.25) * 0.5) + 0.125,
                                            lambda a, out: (0.25,), ("1/4",)))

    def f(x):
        for _ in range(100):
            x = make("step", x)
        return x

    traced = trace(f, 0.5)
    x = 0.3
    for _ in range(100):  # by hand: the same float operations
        x = (((x * 0.5) + 0.25) * 0.5) + 0.125
    assert traced(0.3) == (x, (0.25**100,), ())
