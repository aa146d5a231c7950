"""The engine: `Value` and its ops, the topological order, the backward pass, `grad`, `no_grad`.

Read it top to bottom, with `rules.py` after the ops: each op makes one node with its rule's
``forward``; its `Rule` says the rest once, above all the local derivatives ∂out/∂operand that
`backward` multiplies along `topological_order`. Machinery lives next door, each module saying
why it exists: `realmath`, `node`, `gradmode`, `persistence`, `walks` (docs/how-it-works.md).
"""

from __future__ import annotations

import itertools
import numbers
import operator
from collections.abc import Callable, Iterable

from microgradx import walks
from microgradx.gradmode import GradMode, is_grad_enabled, is_recording
from microgradx.node import Node, tell
from microgradx.persistence import _Graph  # noqa: F401  (old pickles name microgradx.engine._Graph)
from microgradx.realmath import as_float, type_name
from microgradx.rules import RULES, Rule

__all__ = ["RULES", "Rule", "Value", "apply", "cos", "exp", "grad", "is_grad_enabled", "log", "no_grad",
           "relu", "sigmoid", "sin", "sqrt", "tanh", "topological_order", "zero_grad"]

Number = int | float
"""What a Value mixes with: any real number (bool, Fraction and numpy scalars included)."""

# --- Value and its ops -------------------------------------------------------------------------


def _method(op: str) -> Callable[[Value], Value]:
    """The method ``x.op()`` of a function of one value: the node of its rule's forward on x."""
    forward = RULES[op].forward

    def method(self) -> Value:
        return _record(forward(self.data), op, self)  # (`_apply`, less its checks: self is a Value)

    method.__name__, method.__qualname__ = op, f"Value.{op}"
    method.__doc__ = RULES[op].doc or f"{op}(x), as RULES[{op!r}] declares it."
    return method


class Value(Node):
    """A scalar that remembers how it was computed, so `backward()` can apply the chain rule.

    Its label, printing, comparisons (of numbers; ``==`` is identity) and pickling (copy, deepcopy
    and pickle take the whole graph, without recursion): `node.Node`.

    >>> w = Value(0.3, "w"); E = (w * 2.0 - 1.0) ** 2; E.backward(); round(w.grad, 6)
    -1.6
    """

    # `_a`, `_b`: the operands (None when absent), two slots rather than a tuple because the
    # backward pass reads them for every node. `_seq`: the creation number, which orders the
    # backward pass. `_pending`: the sum a walk is building on this node (see `walks`).
    __slots__ = ("__weakref__", "_a", "_b", "_label", "_pending", "_seq", "data", "grad", "op")

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = data if type(data) is float else as_float(data, "Value(data)")
        self.grad = 0.0
        if type(label) is not str:
            raise TypeError(f"Value(label) must be a str, got {type(label).__name__}")
        self._label = label
        self.op = ""
        self._a = self._b = self._pending = None
        self._seq = _next_seq()

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands, in the math's order: ``2 - a`` has parents ``(Value(2.0), a)``; () for a leaf."""
        a, b = self._a, self._b
        return () if a is None else (a,) if b is None else (a, b)

    # The ops: each result is one node, computed by its rule's forward. + · and relu, the hot
    # ops, compute it inline for two Values (`_apply`'s lookup and call cost 7-14% on chains).
    def __add__(self, other: Value | Number) -> Value:
        if type(other) is not Value:
            return _apply("+", self, other)
        return _record(self.data + other.data, "+", self, other)  # RULES["+"].forward, inline

    def __sub__(self, other: Value | Number) -> Value:
        return _apply("-", self, other)

    def __mul__(self, other: Value | Number) -> Value:
        if type(other) is not Value:
            return _apply("*", self, other)
        return _record(self.data * other.data, "*", self, other)  # RULES["*"].forward, inline

    def __truediv__(self, other: Value | Number) -> Value:
        return _apply("/", self, other)

    def __pow__(self, other: Value | Number) -> Value:
        return _apply("**", self, other)

    def __mod__(self, other: Value | Number) -> Value:
        return _apply("%", self, other)

    # Reflected operators keep the math's operand order: 2 - a has parents (Value(2.0), a).
    def __radd__(self, other: Number) -> Value:
        return _apply("+", other, self)

    def __rsub__(self, other: Number) -> Value:
        return _apply("-", other, self)

    def __rmul__(self, other: Number) -> Value:
        return _apply("*", other, self)

    def __rtruediv__(self, other: Number) -> Value:
        return _apply("/", other, self)

    def __rpow__(self, other: Number) -> Value:
        return _apply("**", other, self)

    def __rmod__(self, other: Number) -> Value:
        return _apply("%", other, self)

    def __neg__(self) -> Value:
        return _apply("neg", self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _apply("abs", self)

    # The functions of one value, each its rule's forward as a method (`_method`), listed for readers
    # and type checkers: an op declared only in `rules.py` gets its method too (below the class).
    exp = _method("exp")
    log = _method("log")
    sqrt = _method("sqrt")
    tanh = _method("tanh")
    sigmoid = _method("sigmoid")
    sin = _method("sin")
    cos = _method("cos")

    def relu(self) -> Value:
        """max(0, x); its derivative at 0 is taken as 0."""
        a = self.data
        return _record(0.0 if a <= 0.0 else a, "relu", self)  # RULES["relu"].forward, inline

    def backward(self, gradient: Number = 1.0) -> None:
        """Add d self / d n into ``n.grad`` for every node n this value depends on, itself included.

        The starting ``gradient`` (default 1) is d self / d self. Grads accumulate across calls, as in
        PyTorch (call `zero_grad` between steps); iterative, so any depth works."""
        _backprop(self, as_float(gradient, "backward(gradient)"), create_graph=False)


_new = object.__new__
_next_seq = itertools.count().__next__  # creation numbers: a node is always newer than its operands
_UNARY = object()  # `_apply`'s b for a function of one value (None is a wrong operand, not none)


def _apply(op: str, a: Value | Number, b: object = _UNARY) -> Value:
    """The node of `op` on `a` (and `b`), by the op's forward. A number operand becomes a leaf;
    anything else (None too) returns NotImplemented, so Python raises its TypeError."""
    if type(a) is not Value and (a := _operand(a)) is NotImplemented:  # (a reflected op's number)
        return NotImplemented
    if b is _UNARY:  # (RULES read at each use: an op of your own may join it or be replaced)
        return _record(RULES[op].forward(a.data), op, a)
    if type(b) is not Value and (b := _operand(b)) is NotImplemented:
        return NotImplemented
    return _record(RULES[op].forward(a.data, b.data), op, a, b)


def apply(op: str, *operands: Value | Number) -> Value:
    """The node of ``RULES[op]`` on Values or numbers: how `functions` and ops of your own make theirs."""
    if (out := _apply(op, *operands)) is NotImplemented:
        raise TypeError(f"{op}: operands are Values or numbers, got {', '.join(map(type_name, operands))}")
    return out


def _record(data: float, op: str, a: Value, b: Value | None = None) -> Value:
    """The new node: `data`, with `op` and its operands recorded unless grad mode is off."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._label = ""
    out._pending = None
    if is_recording():  # (one statement each: faster than a tuple assignment)
        out.op = op
        out._a = a
        out._b = b
    else:  # no_grad: a leaf
        out.op, out._a, out._b = "", None, None
    out._seq = _next_seq()
    return out


def _operand(x: object) -> Value:
    """A number as an unlabelled leaf (NotImplemented for anything else)."""
    if type(x) is float or type(x) is int:
        return _record(float(x), "", None)  # Value(x), less __init__'s checks: x**2, 1 - x, sum()
    return Value(x) if isinstance(x, numbers.Real) else NotImplemented


for _op, _rule in RULES.items():  # a function of one value declared only in rules.py gets its method
    if _rule.is_function and _op != "abs" and not hasattr(Value, _op):  # (abs(x) calls __abs__)
        setattr(Value, _op, _method(_op))


# --- the topological order -----------------------------------------------------------------------

_by_seq = operator.attrgetter("_seq")


def _reach(roots: tuple[Value, ...], start: float) -> list[Value]:
    """Every node the roots depend on, roots included, newest first, each marked with ``start``.

    A node is newer than its operands, so newest-first puts it after all its consumers. One loop
    over a list that grows as operands are found (no recursion: any depth works), then one sort
    by creation number, in C. The mark is the walk's own start of the sums (`walks.walk`).
    """
    reached: list[Value] = []
    found = reached.append
    for root in roots:
        if root._pending is not start:
            root._pending = start
            found(root)
    for node in reached:  # a list iterator also visits what is appended while it runs
        a = node._a
        if a is not None:
            if a._pending is not start:
                a._pending = start
                found(a)
            b = node._b
            if b is not None and b._pending is not start:
                b._pending = start
                found(b)
    reached.sort(key=_by_seq, reverse=True)
    return reached


def topological_order(root: Value, *more_roots: Value) -> list[Value]:
    """Nodes reachable from `root` (or any of the roots), newest first: backward's order.

    Each node comes after all its consumers; reversed, operands come before results.
    """
    roots = (root, *more_roots)
    for r in roots:
        if type(r) is not Value:
            raise TypeError(f"topological_order takes Values, got {type_name(r)}")
    return walks.walk(lambda start: _reach(roots, start))


# --- backward: the chain rule --------------------------------------------------------------------


def _backprop(root: Value, seed: float | Value, *, create_graph: bool, inputs: Iterable[Value] | None = None):
    """Chain rule over the graph of `root`, each node once, after all its consumers.

    Adds d root / d node into every ``node.grad``; or, given `inputs`, returns {x: d root / d x}
    for those the graph reaches (Values with `create_graph`). The sum for d root / d node builds
    up in ``node._pending`` while its consumers are visited: complete when its own turn comes.
    """

    def chain_rule(start: float) -> dict:
        order = _reach((root,), start)
        try:
            root._pending = seed
            if inputs is None and not create_graph:
                _backward_floats(order)
                return {}
            return _gradients(order, set(inputs or ()), create_graph, start)
        except BaseException:  # drop the half-made sums: with create_graph, graphs that hold nodes
            for node in order:
                node._pending = None
            raise

    return walks.walk(chain_rule if create_graph else tell("grad", root, None, chain_rule))  # (trace refuses)


def _backward_floats(order: list[Value]) -> None:
    """`backward()`'s pass: floats only, every node's total added into its ``.grad``."""
    local_rules = RULES
    for node in order:
        upstream = node._pending  # d root / d node, complete: all its consumers came before it
        node._pending = None
        node.grad += upstream
        a = node._a
        if a is None:
            continue
        b = node._b
        # d root/d operand += d root/d node · ∂node/∂operand, from the rule table
        if b is None:
            (da,) = local_rules[node.op].local(a.data, node.data)
            a._pending += upstream * da
        else:
            da, db = local_rules[node.op].local(a.data, b.data, node.data)
            a._pending += upstream * da
            b._pending += upstream * db


def _gradients(order: list[Value], wanted: set[Value], create_graph: bool, start: float) -> dict:
    """`grad()`'s pass: the totals of the `wanted` nodes; with `create_graph`, as Values in a graph."""
    found = {}
    local_rules = RULES
    for node in order:
        upstream = node._pending
        node._pending = None
        if node in wanted:
            found[node] = upstream
        if node._a is None:
            continue
        operands = node.parents
        if create_graph:  # the rule on Values: its result is a graph we can differentiate again
            derivatives = local_rules[node.op].local(*operands, node)
        else:
            derivatives = local_rules[node.op].local(*[p.data for p in operands], node.data)
        for operand, derivative in zip(operands, derivatives, strict=True):
            term = upstream * derivative
            total = operand._pending
            operand._pending = term if total is start else total + term  # no Value(-0.0) + term
    return found


# --- grad: derivatives without touching .grad ----------------------------------------------------


def grad(output: Value, inputs: Iterable[Value] | Value, create_graph: bool = False) -> list:
    """Return ``[d output / d x for x in inputs]`` without touching any ``.grad``.

    Floats by default (0.0 for an input `output` does not depend on). With ``create_graph=True``
    the results are Values recorded in a graph of their own, so they can be differentiated
    again: ``grad(grad(f, [x], create_graph=True)[0], [x])`` is the second derivative.
    """
    if type(output) is not Value:
        raise TypeError(f"grad(output) must be a Value, got {type_name(output)}")
    inputs = [inputs] if type(inputs) is Value else list(inputs)
    for x in inputs:
        if type(x) is not Value:
            raise TypeError(f"grad(inputs) must be Values, got {type_name(x)}")
    if create_graph:
        with _enable_grad():
            grads = _backprop(output, Value(1.0), create_graph=True, inputs=inputs)
        return [grads[x] if x in grads else Value(0.0) for x in inputs]
    grads = _backprop(output, 1.0, create_graph=False, inputs=inputs)
    return [float(grads.get(x, 0.0)) for x in inputs]


# --- no_grad: ops that record no graph -----------------------------------------------------------


class no_grad(GradMode):
    """Context manager (or decorator) in which operations record no graph: results are leaves.

    For optimizer updates and evaluation, where nothing will be differentiated. It behaves as
    ``torch.no_grad`` does with threads, asyncio tasks, nesting, recursion and generators (`gradmode`).
    """

    _enabled = False


class _enable_grad(GradMode):
    _enabled = True

# The ops as functions live in `functions`; they are importable from here as in 0.1.0 (old pickles)
from microgradx.functions import cos, exp, log, relu, sigmoid, sin, sqrt, tanh, zero_grad  # noqa: E402
