"""The engine built on docs/build-your-own.md works: its gradients are microgradx's and the truth's.

The page's Python blocks are run in order in one namespace (as a learner would, and as
tests/test_docs.py does to compare their outputs); then the learner's `Value` is put through
checks of its own: random expressions against microgradx and central finite differences,
accumulation across `backward()` calls, a deep chain, and no reference cycles.
"""

from __future__ import annotations

import contextlib
import gc
import io
import math
import pathlib
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "build-your-own.md"


def python_blocks() -> list:
    """The page's Python blocks, parsed as tests/test_docs.py parses them."""
    from test_docs import parse_blocks

    return [block for block in parse_blocks(PAGE.read_text("utf-8")) if block.lang == "python"]


@pytest.fixture(scope="module")
def page() -> dict:
    """The namespace after running every Python block of the page, in order."""
    namespace: dict = {"__name__": "__docs__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for block in python_blocks():
            exec(compile(block.body, str(PAGE), "exec"), namespace)
    return namespace


def test_the_page_is_one_session_of_continuations():
    blocks = python_blocks()
    assert "continuation" not in blocks[0].options
    assert all("continuation" in b.options for b in blocks[1:])  # one engine, grown step by step


# --- random expressions: the learner's engine against microgradx and finite differences ----------

UNARY = ("exp", "tanh", "neg", "square", "inverse")
BINARY = ("+", "-", "*", "/")


def build(Value, program, a, b):
    """Run `program` (a list of ops over a stack that starts with a, b) with the given Value class."""
    stack = [a, b]
    for op, i, j in program:
        x, y = stack[i % len(stack)], stack[j % len(stack)]
        if op == "exp":
            out = (x * 0.3).exp()
        elif op == "tanh":
            out = x.tanh()
        elif op == "neg":
            out = -x
        elif op == "square":
            out = x**2
        elif op == "inverse":
            out = 1 / (1 + x**2)
        elif op == "+":
            out = x + y
        elif op == "-":
            out = x - 2.5 * y
        elif op == "*":
            out = x * y
        else:
            out = x / (2 + y**2)
        stack.append(out)
    return stack[-1] + stack[0] * stack[1]  # both inputs always reach the output


programs = st.lists(
    st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 20), st.integers(0, 20)),
    min_size=1,
    max_size=12,
)
points = st.floats(-1.5, 1.5, allow_nan=False)


@settings(max_examples=120, deadline=None)
@given(programs, points, points)
def test_random_expressions_get_microgradx_gradients(page, program, a, b):
    Value = page["Value"]
    la, lb = Value(a), Value(b)
    out = build(Value, program, la, lb)
    ma, mb = mg.Value(a), mg.Value(b)
    reference = build(mg.Value, program, ma, mb)
    if not math.isfinite(reference.data) or abs(reference.data) > 1e6:
        return
    out.backward()
    assert out.data == pytest.approx(reference.data, rel=1e-12, abs=1e-12)
    for mine, theirs in zip((la, lb), mg.grad(reference, [ma, mb]), strict=True):
        assert mine.grad == pytest.approx(theirs, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(programs, points, points)
def test_random_expressions_get_the_finite_difference_gradients(page, program, a, b):
    Value = page["Value"]
    la, lb = Value(a), Value(b)
    out = build(Value, program, la, lb)
    if not math.isfinite(out.data) or abs(out.data) > 1e3:
        return
    out.backward()
    h = 1e-6
    for name, grad in (("a", la.grad), ("b", lb.grad)):
        up = {"a": a, "b": b}
        down = dict(up)
        up[name] += h
        down[name] -= h
        numeric = (
            build(Value, program, Value(up["a"]), Value(up["b"])).data
            - build(Value, program, Value(down["a"]), Value(down["b"])).data
        ) / (2 * h)
        assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-5)


def test_the_check_helper_fails_for_a_broken_engine(page):
    # The page's `check` must be able to say NOT OK: break the learner's product rule and look.
    Value = page["Value"]
    honest = Value.__mul__

    def wrong(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, ((self, other.data), (other, other.data)))  # ∂/∂b = b?!

    Value.__mul__ = wrong
    try:
        report = page["check"](page["f"], {"a": 2.0, "b": -3.0})
    finally:
        Value.__mul__ = honest
    assert not report and [row.ok for row in report.rows] == [True, False]
    assert page["check"](page["f"], {"a": 2.0, "b": -3.0})


# --- accumulation, depth, cycles ----------------------------------------------------------------


def test_backward_twice_doubles_like_microgradx(page):
    Value = page["Value"]
    a, b = Value(2.0), Value(-3.0)
    c = a * b + a
    c.backward()
    c.backward()
    assert (a.grad, b.grad) == (2 * (-3.0 + 1), 2 * 2.0)


def test_a_deep_chain_needs_no_recursion(page):
    Value = page["Value"]
    x = Value(1.0)
    y = x
    for _ in range(50_000):
        y = y + x * 1e-5
    y.backward()
    assert x.grad == pytest.approx(1 + 50_000 * 1e-5, rel=1e-10)
    with pytest.raises(RecursionError):
        page["recursive_order"](y)


def test_the_graph_has_no_reference_cycles(page):
    Value = page["Value"]
    gc.disable()
    try:
        a = Value(2.0)
        out = (a * a + 1).tanh()
        out.backward()
        node = weakref.ref(out)
        del out
        assert node() is None  # freed by reference counting alone, without the cycle collector
    finally:
        gc.enable()


def test_training_with_the_learners_engine_matches_sgd(page):
    yours, theirs = page["yours"], page["theirs"]
    assert [w.data for w in yours] == pytest.approx([w.data for w in theirs], rel=1e-12)
    assert page["loss"](*theirs).data < 0.01  # the run on the page did learn
