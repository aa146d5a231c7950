"""The engine: `Value` and its ops, the topological order, the backward pass, `grad`, `no_grad`.

Read it top to bottom, with `rules.py` after the ops: each op makes one node with its rule's
``forward``; its `Rule` says the rest once, above all the local derivatives ∂node/∂operand
(`local_derivatives`). The backward pass (`backward_steps`) walks the graph in topological order
and multiplies them along the way: the chain rule. Its sums live in a dict local to each call,
so passes share nothing, in threads or one inside another. Machinery lives next door, each
module saying why it exists: `realmath`, `node`, `gradmode`, `persistence` (docs/how-it-works.md).
"""

from __future__ import annotations

import itertools
import numbers
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from microgradx.gradmode import GradMode, enable_grad, is_grad_enabled, is_recording
from microgradx.node import Node, tell
from microgradx.realmath import as_float, type_name
from microgradx.rules import RULES, Rule

__all__ = ["RULES", "Rule", "Step", "Value", "apply", "backward_steps", "grad", "is_grad_enabled",
           "local_derivatives", "no_grad", "topological_order"]

Number = int | float  # what a Value mixes with: any real number (bool, Fraction, NumPy's too)
next_creation_number = itertools.count().__next__  # a global counter: each new node gets the next number

# --- Value and its ops -------------------------------------------------------------------------


def _method(op: str) -> Callable[[Value], Value]:
    """The method ``x.op()`` of a function of one value: `apply` of its rule."""

    def method(self: Value) -> Value:
        return apply(op, self)

    method.__name__, method.__qualname__ = op, f"Value.{op}"
    method.__doc__ = RULES[op].doc or f"{op}(x), as RULES[{op!r}] declares it."
    return method


class Value(Node):
    """A scalar that remembers how it was computed, so `backward()` can apply the chain rule.

    Its label, printing, comparisons (``==`` is identity): `node.Node`; pickling: `persistence`.
    >>> w = Value(0.3, "w"); E = (w * 2.0 - 1.0) ** 2; E.backward(); round(w.grad, 6)
    -1.6
    """

    # `_parents`: the operands, () for a leaf. `_seq`: the creation number, which orders the
    # backward pass (a node is always newer than its operands).
    __slots__ = ("__weakref__", "_label", "_parents", "_seq", "data", "grad", "op")

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = data if type(data) is float else as_float(data, "Value(data)")
        self.grad = 0.0
        if type(label) is not str:
            raise TypeError(f"Value(label) must be a str, got {type(label).__name__}")
        self._label = label
        self.op = ""
        self._parents = ()
        self._seq = next_creation_number()

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands, in the math's order: ``2 - a`` has parents ``(Value(2.0), a)``; () for a leaf."""
        return self._parents

    # The ops, one line each: the node of the op's rule on its operands (`apply`). Reflected
    # operators keep the math's operand order: 2 - a has parents (Value(2.0), a).
    def __add__(self, other: Value | Number) -> Value: return apply("+", self, other)
    def __radd__(self, other: Number) -> Value: return apply("+", other, self)
    def __sub__(self, other: Value | Number) -> Value: return apply("-", self, other)
    def __rsub__(self, other: Number) -> Value: return apply("-", other, self)
    def __mul__(self, other: Value | Number) -> Value: return apply("*", self, other)
    def __rmul__(self, other: Number) -> Value: return apply("*", other, self)
    def __truediv__(self, other: Value | Number) -> Value: return apply("/", self, other)
    def __rtruediv__(self, other: Number) -> Value: return apply("/", other, self)
    def __pow__(self, other: Value | Number) -> Value: return apply("**", self, other)
    def __rpow__(self, other: Number) -> Value: return apply("**", other, self)
    def __mod__(self, other: Value | Number) -> Value: return apply("%", self, other)
    def __rmod__(self, other: Number) -> Value: return apply("%", other, self)
    def __neg__(self) -> Value: return apply("neg", self)
    def __abs__(self) -> Value: return apply("abs", self)
    def __pos__(self) -> Value: return self

    # The functions of one value, each its rule as a method (`_method`), listed for readers and
    # type checkers: an op declared only in `rules.py` gets its method too (below the class).
    exp, log, sqrt, tanh = _method("exp"), _method("log"), _method("sqrt"), _method("tanh")
    sigmoid, relu, sin, cos = _method("sigmoid"), _method("relu"), _method("sin"), _method("cos")

    def backward(self, gradient: Number = 1.0) -> None:
        """Add d self / d n into ``n.grad`` for every node n this value depends on, itself included;
        ``gradient`` (default 1) is d self / d self. Grads accumulate across calls, as in PyTorch
        (call `zero_grad` between steps); iterative, so any depth works."""
        gradients = _gradients(self, as_float(gradient, "backward(gradient)"), local_derivatives)
        for node, total in gradients.items():
            node.grad += total


for _op, _rule in RULES.items():  # a function of one value declared only in rules.py gets its method
    if _rule.is_function and _op != "abs" and not hasattr(Value, _op):  # (abs(x) calls __abs__)
        setattr(Value, _op, _method(_op))

def apply(op: str, *operands: Value | Number) -> Value:
    """The node of `op` on its operands by ``RULES[op].forward``, recording its op and operands unless
    grad mode is off. A number becomes a leaf; anything else (None too) is Python's TypeError."""
    if type(operands[0]) is not Value or type(operands[-1]) is not Value:  # ([0] is [-1] for one)
        if not all(type(x) is Value or isinstance(x, numbers.Real) for x in operands):
            return NotImplemented  # not ours to add: Python tries the other side, then raises
        operands = tuple(x if type(x) is Value else Value(x) for x in operands)  # 2 - x: Value(2)
    try:
        rule = RULES[op]  # read now: a rule added at run time works like the others
    except KeyError:
        raise ValueError(f"apply: no rule for the op {op!r} in RULES (its ops: {', '.join(RULES)})") from None
    a = operands[0].data  # of one value or of two, spelled out (40% faster than a star call)
    data = rule.forward(a) if len(operands) == 1 else rule.forward(a, operands[1].data)
    out = Value.__new__(Value)  # (not Value(): its checks are for what a user typed; 15% faster)
    out.data = data if type(data) is float else as_float(data, f"the forward of {op!r}")
    out.grad, out._label, out._seq = 0.0, "", next_creation_number()
    if is_recording():
        out.op, out._parents = op, operands
    else:  # no_grad: a leaf
        out.op, out._parents = "", ()
    return out


# --- the local derivatives and the topological order ---------------------------------------------


def local_derivatives(node: Value) -> tuple[float, ...]:
    """∂node/∂operand for each operand of `node`, at the graph's numbers, by ``RULES[node.op].local``;
    () for a leaf. The one place every view of the backward pass takes them from."""
    operands = node._parents  # the rule takes (a, b, out) or (a, out), spelled out (3x a star call)
    if len(operands) == 2:
        return RULES[node.op].local(operands[0].data, operands[1].data, node.data)
    return RULES[node.op].local(operands[0].data, node.data) if operands else ()


def _local_values(node: Value) -> tuple[Value, ...]:  # the same on Values: for create_graph
    return RULES[node.op].local(*node._parents, node) if node._parents else ()


def topological_order(root: Value, *more_roots: Value) -> list[Value]:
    """Every node `root` (or any of the roots) depends on, roots included, newest first.

    A node is newer than its operands, so newest first puts each node after all its consumers:
    walking this list is micrograd's ``reversed(topo)``. One loop over a list that grows as operands
    are found (no recursion: any depth works), then one sort by creation number, in C."""
    for r in (root, *more_roots):
        if type(r) is not Value:
            raise TypeError(f"topological_order takes Values, got {type_name(r)}")
    order = list(dict.fromkeys((root, *more_roots)))
    seen = set(order)
    for node in order:  # a list iterator also visits what is appended while it runs
        for operand in node._parents:
            if operand not in seen:
                seen.add(operand)
                order.append(operand)
    order.sort(key=operator.attrgetter("_seq"), reverse=True)
    return order


# --- the backward pass: the chain rule -----------------------------------------------------------


class Step(NamedTuple):
    """One use of an operand in the backward pass: d root/d operand += upstream · local."""
    node: Value  # whose turn it is: all its consumers came before it
    operand: Value  # one of its operands (one step per operand, in order: x·x has two)
    upstream: float  # d root / d node, complete
    local: float  # ∂node/∂operand (`local_derivatives`)
    contribution: float  # upstream · local: one term of d root / d operand


def _chain_rule(root: Value, gradients: dict, derivatives_of: Callable[[Value], tuple]) -> Iterator[tuple]:
    """The backward pass from `root`, whose gradient `gradients` holds: each node in topological
    order adds ``upstream · local`` into each operand's entry, so that `gradients` ends holding
    d root / d node for every node. The dict belongs to the caller, so nothing else shares it."""
    if derivatives_of is local_derivatives:  # (a hook for `trace`, which refuses it: skip it at first)
        tell("grad", root, None, None)
    for node in topological_order(root):
        upstream = gradients[node]  # complete: every consumer of node came before it
        derivatives = derivatives_of(node)
        for k, operand in enumerate(node._parents):  # (a third faster than a zip)
            derivative = derivatives[k]
            contribution = upstream * derivative
            total = gradients.get(operand)
            gradients[operand] = contribution if total is None else total + contribution
            yield node, operand, upstream, derivative, contribution  # a `Step`


def backward_steps(root: Value, seed: float = 1.0) -> Iterator[Step]:
    """The backward pass from `root` as it runs, one `Step` per use of an operand, each node after
    all its consumers. d root / d x is `seed` (for x = root) plus the contributions to x."""
    if type(root) is not Value:
        raise TypeError(f"backward_steps(root) must be a Value, got {type_name(root)}")
    steps = _chain_rule(root, {root: as_float(seed, "backward_steps(seed)")}, local_derivatives)
    return map(Step._make, steps)


def _gradients(root: Value, seed: float | Value, derivatives_of: Callable[[Value], tuple]) -> dict:
    """{node: d root / d node} for every node `root` depends on: the backward pass, run through."""
    gradients = {root: seed}
    for _ in _chain_rule(root, gradients, derivatives_of):
        pass
    return gradients


# --- grad: derivatives without touching .grad ----------------------------------------------------


def grad(output: Value, inputs: Iterable[Value] | Value, create_graph: bool = False) -> list:
    """Return ``[d output / d x for x in inputs]`` without touching any ``.grad``.

    Floats by default (0.0 for an input `output` does not depend on). With ``create_graph=True``
    the results are Values recorded in a graph of their own, so they can be differentiated
    again: ``grad(grad(f, [x], create_graph=True)[0], [x])`` is the second derivative."""
    if type(output) is not Value:
        raise TypeError(f"grad(output) must be a Value, got {type_name(output)}")
    inputs = [inputs] if type(inputs) is Value else list(inputs)
    for x in inputs:
        if type(x) is not Value:
            raise TypeError(f"grad(inputs) must be Values, got {type_name(x)}")
    if create_graph:  # the same pass, on Values: the rules record what they compute
        with enable_grad():
            gradients = _gradients(output, Value(1.0), _local_values)
            return [gradients[x] if x in gradients else Value(0.0) for x in inputs]
    gradients = _gradients(output, 1.0, local_derivatives)
    return [float(gradients.get(x, 0.0)) for x in inputs]


# --- no_grad: ops that record no graph -----------------------------------------------------------


class no_grad(GradMode):
    """Context manager (or decorator) in which operations record no graph: results are leaves.

    For optimizer updates and evaluation, where nothing will be differentiated. It behaves as
    ``torch.no_grad`` does with threads, asyncio tasks, nesting, recursion and generators (`gradmode`).
    """

    _enabled = False

