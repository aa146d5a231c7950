"""The engine: `Value` and its ops, the table of derivative rules, and the backward pass.

Read it top to bottom in the order of the math. A `Value` is one node of a graph; each of its
ops makes a new node with the op's ``forward``. The op's `Rule`, in `RULES`, says everything else
about it once: the local derivatives ``∂out/∂operand`` (ordinary arithmetic, so the same function
serves floats in `backward` and Values in `grad(..., create_graph=True)`), a formula per operand,
and how it is written and drawn. `backward` visits the nodes in `topological_order` and applies
the chain rule with those local derivatives. Machinery lives next door: `realmath` (the forward
math: domain errors, overflow), `persistence` (pickle, deepcopy), `walks` (one walk at a time).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import numbers
import operator
from collections.abc import Callable, Generator, Iterable
from contextlib import ContextDecorator
from contextvars import ContextVar
from typing import Any, NamedTuple

from microgradx import persistence, realmath, walks
from microgradx.persistence import _Graph  # noqa: F401  (old pickles name microgradx.engine._Graph)

__all__ = ["RULES", "Rule", "Value", "cos", "exp", "grad", "is_grad_enabled", "log", "no_grad", "relu",
           "sigmoid", "sin", "sqrt", "tanh", "topological_order", "zero_grad"]

Number = int | float
"""What a Value mixes with: any real number (bool, Fraction and numpy scalars included)."""

# The hook `microgradx.trace` records through: while it holds a function, in this thread (or
# asyncio task), it is told each question asked of a Value's number (a comparison, float(),
# bool()) as ``(question, node, other, answer)``, and ``("no_grad", None, None, None)`` when a
# no_grad block starts (the function may raise to refuse it).
observer: ContextVar[Callable[[str, Any, Any, Any], None] | None] = ContextVar("microgradx_observer",
                                                                               default=None)

# --- Value and its ops -------------------------------------------------------------------------


class Value:
    """A scalar that remembers how it was computed, so `backward()` can apply the chain rule.

    `copy.deepcopy` and `pickle` take a Value with its whole graph, at any depth; Values saved
    together load as one graph.

    >>> w = Value(0.3, "w"); E = (w * 2.0 - 1.0) ** 2; E.backward(); round(w.grad, 6)
    -1.6
    """

    # `_a`, `_b`: the operands (None when absent), two slots rather than a tuple because the
    # backward pass reads them for every node. `_seq`: the creation number, which orders the
    # backward pass. `_pending`: the sum a walk is building on this node (see `walks`).
    __slots__ = ("__weakref__", "_a", "_b", "_label", "_pending", "_seq", "data", "grad", "op")

    data: float
    grad: float
    op: str

    def __init_subclass__(cls, **kwargs: object) -> None:
        # The engine tests `type(x) is Value` on every operation (an isinstance check would cost
        # more); a subclass would half work, so it is refused where it is written.
        raise TypeError(
            f"class {cls.__name__}: Value cannot be subclassed (the engine checks for Value itself); "
            "keep a Value in an attribute of your class instead"
        )

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = data if type(data) is float else _as_float(data, "Value(data)")
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

    @property
    def label(self) -> str:
        """A name for the node, shown by `repr`, `explain`, `draw` (writable)."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        if type(label) is not str:
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self._label = label

    # pickle, deepcopy, copy.copy: a graph is saved as a table, never by recursion (`persistence`)
    __getstate__ = persistence.get_state
    __setstate__ = persistence.set_state
    __copy__ = persistence.copy_node

    def __repr__(self) -> str:
        label = f", label={self._label!r}" if self._label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else repr(self)

    # Asking for the number: ordering compares numbers; == and hash stay identity (Values are
    # dict keys and set members). Each answer is shown to the `observer`, if there is one.
    def __lt__(self, other: Value | Number) -> bool:
        return _answer("__lt__", self, other, self.data < _other_data(other))

    def __le__(self, other: Value | Number) -> bool:
        return _answer("__le__", self, other, self.data <= _other_data(other))

    def __gt__(self, other: Value | Number) -> bool:
        return _answer("__gt__", self, other, self.data > _other_data(other))

    def __ge__(self, other: Value | Number) -> bool:
        return _answer("__ge__", self, other, self.data >= _other_data(other))

    def __float__(self) -> float:
        return _answer("__float__", self, None, self.data)

    def __bool__(self) -> bool:
        return _answer("__bool__", self, None, self.data != 0.0)

    # The ops: each result is one node, computed by the op's forward in `RULES`.
    # + · and relu are the benchmark's hot ops: with two Values they compute their rule's forward
    # inline (`_apply`'s lookup and call cost them 7-14% in the chains benchmark).
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

    def __neg__(self) -> Value:
        return _apply("neg", self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _apply("abs", self)

    def exp(self) -> Value:
        """e to the power of this value."""
        return _apply("exp", self)

    def log(self) -> Value:
        """Natural logarithm; `ValueError` for a value <= 0."""
        return _apply("log", self)

    def sqrt(self) -> Value:
        """Square root; `ValueError` for a negative value."""
        return _apply("sqrt", self)

    def tanh(self) -> Value:
        """Hyperbolic tangent (stable for any input)."""
        return _apply("tanh", self)

    def sigmoid(self) -> Value:
        """Logistic sigmoid 1/(1+e^−x), computed without overflow for any input."""
        return _apply("sigmoid", self)

    def relu(self) -> Value:
        """max(0, x); its derivative at 0 is taken as 0."""
        a = self.data
        return _record(0.0 if a <= 0.0 else a, "relu", self)  # RULES["relu"].forward, inline

    def sin(self) -> Value:
        """Sine (radians)."""
        return _apply("sin", self)

    def cos(self) -> Value:
        """Cosine (radians)."""
        return _apply("cos", self)

    def backward(self, gradient: Number = 1.0) -> None:
        """Add d self / d n into ``n.grad`` for every node n this value depends on, itself included.

        The seed ``gradient`` (default 1) is d self / d self. Grads accumulate across calls, as in
        PyTorch; call `zero_grad` between steps. Iterative: any depth works.
        """
        _backprop(self, _as_float(gradient, "backward(gradient)"), create_graph=False)


_new = object.__new__
_next_seq = itertools.count().__next__  # creation numbers: a node is always newer than its operands


def _apply(op: str, a: Value | Number, b: Value | Number | None = None) -> Value:
    """The result node of `op` on `a` (and `b`), computed by the op's forward: one node, whose
    operands are recorded unless grad mode is off. A number operand becomes an unlabelled leaf;
    anything else makes the operator return NotImplemented (so Python raises its TypeError)."""
    if type(a) is not Value:  # (a reflected operator's number)
        a = _operand(a)
        if a is NotImplemented:
            return NotImplemented
    if b is None:
        data = _FORWARD[op](a.data)
    else:
        if type(b) is not Value:
            b = _operand(b)
            if b is NotImplemented:
                return NotImplemented
        data = _FORWARD[op](a.data, b.data)
    return _record(data, op, a, b)


def _record(data: float, op: str, a: Value, b: Value | None = None) -> Value:
    """The new node: `data`, with `op` and its operands recorded unless grad mode is off."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._label = ""
    out._pending = None
    if _is_recording():
        out.op, out._a, out._b = op, a, b
    else:
        out.op, out._a, out._b = "", None, None
    out._seq = _next_seq()
    return out


def _operand(x: object) -> Value:
    """A number as an unlabelled leaf (NotImplemented for anything else)."""
    return Value(x) if type(x) in (float, int) or isinstance(x, numbers.Real) else NotImplemented


def _as_float(data: object, what: str) -> float:
    if type(data) is float:
        return data
    if isinstance(data, numbers.Real) and not isinstance(data, Value):
        return float(data)
    raise TypeError(f"{what} must be a real number (int, float, Fraction, ...), got {_type_name(data)}")


def _type_name(x: object) -> str:
    """``str``, but ``numpy.bool`` rather than a bare ``bool`` that Python's own bool would be taken for."""
    kind = type(x)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _other_data(other: object) -> float:
    if type(other) is Value:
        return other.data
    if isinstance(other, numbers.Real):
        return float(other)
    raise TypeError(f"cannot compare a Value with {_type_name(other)}")


def _answer(question: str, node: Value, other: object, answer: Any) -> Any:
    tell = observer.get()
    if tell is not None:
        tell(question, node, other, answer)
    return answer


def _function(op: str) -> Callable[[Value | Number], Value]:
    method = getattr(Value, op)

    def function(x: Value | Number) -> Value:
        return method(x if type(x) is Value else Value(x))

    function.__name__ = function.__qualname__ = op
    function.__doc__ = f"{method.__doc__} Accepts a Value or a number; returns a Value."
    return function


exp, log, sqrt, tanh = _function("exp"), _function("log"), _function("sqrt"), _function("tanh")
sigmoid, relu, sin, cos = _function("sigmoid"), _function("relu"), _function("sin"), _function("cos")


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``.grad = 0.0`` on each Value (do it before each training step's backward)."""
    for v in values:
        if type(v) is not Value:
            raise TypeError(f"zero_grad expects Values, got {_type_name(v)}")
        v.grad = 0.0


# --- the rule table ----------------------------------------------------------------------------


class Rule(NamedTuple):
    """Everything one operation is, declared once: every other module reads it from here.

    ``forward`` maps operand floats to the result; ``local(*operands, out)`` returns one local
    derivative ``∂out/∂operand`` per operand, for floats or for Values alike; ``formulas`` says
    the same in words, with ``{a}``, ``{b}`` standing for the operands and ``{out}`` for the result.
    How it is written: ``text`` and ``latex`` (templates over ``{a}``, ``{b}``), ``precedence``
    (how tightly it binds; 9 for a call), ``ordered`` (a − b: pictures say which operand is which),
    ``glyph`` (in its circle in a picture), ``name`` (in node names such as ``mul3``; for a unary
    op of precedence 9, also its function in the expression language) and ``sympy`` (the op on
    SymPy expressions, given the ``sympy`` module first).
    """

    op: str
    forward: Callable[..., float]
    local: Callable[..., tuple]
    formulas: tuple[str, ...]
    text: str = ""
    latex: str = ""
    glyph: str = ""
    name: str = ""
    precedence: int = 9
    ordered: bool = False
    sympy: Callable[..., Any] | None = None


def _call(op: str, forward: Callable, local: Callable, formula: str, **written: Any) -> Rule:
    """The rule of a function written ``op(a)``: what is not given is spelled from its name."""
    sympy = written.pop("sympy", lambda sp, a: getattr(sp, op)(a))
    return Rule(op, forward, local, (formula,), **{"text": f"{op}({{a}})", "latex": f"\\{op}({{a}})",
                                                   "glyph": op, "name": op, "sympy": sympy, **written})


def _d_log(x):
    return x.log() if type(x) is Value else realmath.log(x)


def _d_sin(x):
    return x.sin() if type(x) is Value else realmath.sin(x)


def _d_cos(x):
    return x.cos() if type(x) is Value else realmath.cos(x)


def _data(x):
    return x.data if type(x) is Value else x


def _dpow_base(a, b, out):
    # d(a^b)/da = b·a^(b-1); 0 when b == 0 (as PyTorch), ±inf at a zero base with b < 1.
    bd, ad = _data(b), _data(a)
    if bd == 0.0:
        return 0.0
    if ad == 0.0 and bd < 1.0:
        return math.inf if bd > 0.0 else -math.inf
    return b * (a ** (b - 1.0) if type(a) is Value else realmath.power(a, b - 1.0))


def _dpow_exponent(a, b, out):
    # d(a^b)/db = a^b·ln a; 0 at a zero base (as PyTorch); nan for a negative base or a nan.
    ad = _data(a)
    if ad > 0.0:
        return out * _d_log(a)
    return 0.0 if ad == 0.0 and _data(b) >= 0.0 else math.nan  # (0 ** nan: nan, as PyTorch)


def _dsqrt(a, out):
    # d√a/da = 1/(2√a); ±inf at a == ±0.0 (as PyTorch: √-0.0 is -0.0).
    return (0.5 / out,) if _data(out) != 0.0 else (math.copysign(math.inf, _data(out)),)


RULES: dict[str, Rule] = {rule.op: rule for rule in (
    # ∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1
    Rule("+", operator.add, lambda a, b, out: (1.0, 1.0), ("1", "1"),
         "{a} + {b}", "{a} + {b}", "+", "add", 1, sympy=lambda sp, a, b: a + b),
    # ∂(a−b)/∂a = 1, ∂(a−b)/∂b = -1
    Rule("-", operator.sub, lambda a, b, out: (1.0, -1.0), ("1", "-1"),
         "{a} − {b}", "{a} - {b}", "a − b", "sub", 1, True, lambda sp, a, b: a - b),
    # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
    Rule("*", operator.mul, lambda a, b, out: (b, a), ("{b}", "{a}"),
         "{a}·{b}", "{a} \\cdot {b}", "×", "mul", 2, sympy=lambda sp, a, b: a * b),
    # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b² = −out/b
    Rule("/", realmath.div, lambda a, b, out: (1.0 / b, -out / b), ("1/{b}", "−{a}/{b}²"),
         "{a}/{b}", "{a} / {b}", "a ÷ b", "div", 2, True, lambda sp, a, b: a / b),
    # ∂(a^b)/∂a = b·a^(b-1), ∂(a^b)/∂b = a^b·ln a
    Rule("**", realmath.power, lambda a, b, out: (_dpow_base(a, b, out), _dpow_exponent(a, b, out)),
         ("{b}·{a}^({b}−1)", "{a}^{b}·ln({a})"),
         "{a}^{b}", "{a}^{{b}}", "a^b", "pow", 4, True, lambda sp, a, b: a**b),
    # ∂(−a)/∂a = -1
    Rule("neg", operator.neg, lambda a, out: (-1.0,), ("-1",), "−{a}", "-{a}", "−", "neg", 3,
         sympy=lambda sp, a: -a),
    # ∂|a|/∂a = sign(a). Here and in relu, (a > 0) * 1.0 is [a > 0] as a number (float, Value or
    # array); the derivative at the kink is 0, at nan 0 for abs and 1 for relu, as in PyTorch.
    _call("abs", abs, lambda a, out: ((a > 0.0) * 1.0 - (a < 0.0) * 1.0,), "sign({a})",
          text="|{a}|", latex="\\left|{a}\\right|", glyph="|·|", sympy=lambda sp, a: sp.Abs(a)),
    _call("exp", realmath.exp, lambda a, out: (out,), "exp({a})"),  # ∂e^a/∂a = e^a
    _call("log", realmath.log, lambda a, out: (1.0 / a,), "1/{a}"),  # ∂ln a/∂a = 1/a
    _call("sqrt", realmath.sqrt, _dsqrt, "1/(2·√{a})",  # ∂√a/∂a = 1/(2√a)
          text="√({a})", latex="\\sqrt{{a}}", glyph="√"),
    _call("tanh", realmath.tanh, lambda a, out: (1.0 - out * out,), "1−tanh²({a})"),  # ∂tanh a = 1 − tanh²a
    # ∂σ(a)/∂a = σ(a)·(1 − σ(a))
    _call("sigmoid", realmath.sigmoid, lambda a, out: (out * (1.0 - out),), "σ({a})·(1−σ({a}))",
          text="σ({a})", latex="\\sigma({a})", glyph="σ", sympy=lambda sp, a: 1 / (1 + sp.exp(-a))),
    _call("relu", realmath.relu, lambda a, out: (1.0 - (a <= 0.0) * 1.0,), "[{a} > 0]",  # relu' = [a > 0]
          latex="\\operatorname{relu}({a})", sympy=lambda sp, a: sp.Piecewise((a, a > 0), (0, True))),
    _call("sin", realmath.sin, lambda a, out: (_d_cos(a),), "cos({a})"),  # ∂sin a/∂a = cos a
    _call("cos", realmath.cos, lambda a, out: (-_d_sin(a),), "−sin({a})"),  # ∂cos a/∂a = −sin a
)}
"""Every operation's rule, keyed by its op name (`Value.op`)."""

# The two functions the hot paths call, in plain dicts: one lookup per node.
_FORWARD = {op: rule.forward for op, rule in RULES.items()}
_LOCAL = {op: rule.local for op, rule in RULES.items()}


# --- the topological order -----------------------------------------------------------------------

_by_seq = operator.attrgetter("_seq")


def _reach(roots: tuple[Value, ...], start: float) -> list[Value]:
    """Every node the roots depend on, roots included, newest first, each marked with ``start``.

    Every node is newer than its operands, so newest-first puts each node after all of its
    consumers. Finding the nodes is one loop over a list that grows as operands are found (no
    recursion: any depth works); ordering them is one sort by creation number, in C. The mark
    is the walk's own start of the sums (`walks.walk` says why).
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
    """Nodes reachable from `root` (or from any of the roots), newest first: backward's order.

    Each node comes after all of its consumers; reversed, this is the order the nodes were
    computed in, operands before results.
    """
    roots = (root, *more_roots)
    for r in roots:
        if type(r) is not Value:
            raise TypeError(f"topological_order takes Values, got {_type_name(r)}")
    return walks.walk(lambda start: _reach(roots, start))


# --- backward: the chain rule --------------------------------------------------------------------


def _backprop(root: Value, seed: float | Value, *, create_graph: bool, inputs: Iterable[Value] | None = None):
    """Chain rule over the graph of `root`, each node once, after all its consumers.

    Without `inputs`, adds d root / d node into every node's ``.grad``; with them, returns
    {x: d root / d x} for each input the graph reaches instead (floats, or Values with
    `create_graph`). The sum for d root / d node builds up in ``node._pending`` while its
    consumers are visited; it is complete when the node's own turn comes.
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

    return walks.walk(chain_rule)


def _backward_floats(order: list[Value]) -> None:
    """`backward()`'s pass: floats only, every node's total added into its ``.grad``."""
    local_rules = _LOCAL
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
            (da,) = local_rules[node.op](a.data, node.data)
            a._pending += upstream * da
        else:
            da, db = local_rules[node.op](a.data, b.data, node.data)
            a._pending += upstream * da
            b._pending += upstream * db


def _gradients(order: list[Value], wanted: set[Value], create_graph: bool, start: float) -> dict:
    """`grad()`'s pass: the totals of the `wanted` nodes; with `create_graph`, as Values in a graph."""
    found = {}
    local_rules = _LOCAL
    for node in order:
        upstream = node._pending
        node._pending = None
        if node in wanted:
            found[node] = upstream
        if node._a is None:
            continue
        operands = node.parents
        if create_graph:  # the rule on Values: its result is a graph we can differentiate again
            derivatives = local_rules[node.op](*operands, node)
        else:
            derivatives = local_rules[node.op](*[p.data for p in operands], node.data)
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
        raise TypeError(f"grad(output) must be a Value, got {_type_name(output)}")
    inputs = [inputs] if type(inputs) is Value else list(inputs)
    for x in inputs:
        if type(x) is not Value:
            raise TypeError(f"grad(inputs) must be Values, got {_type_name(x)}")
    if create_graph:
        with _enable_grad():
            grads = _backprop(output, Value(1.0), create_graph=True, inputs=inputs)
        return [grads[x] if x in grads else Value(0.0) for x in inputs]
    grads = _backprop(output, 1.0, create_graph=False, inputs=inputs)
    return [float(_data(grads.get(x, 0.0))) for x in inputs]


# --- no_grad: ops that record no graph -----------------------------------------------------------

# A context variable rather than a threading.local: as thread-local (every new thread starts
# recording), also per asyncio task, and about four times cheaper to read on every operation.
_recording = ContextVar("microgradx_grad_enabled", default=True)
_is_recording = _recording.get

# What each `with` restored on exit, innermost last: on a stack per thread (and asyncio task)
# rather than on the context manager, so that one instance can be entered again while it is
# active (a recursive decorated function, two threads, nesting).
_outer_modes: ContextVar[tuple[bool, ...]] = ContextVar("microgradx_outer_grad_modes", default=())


def is_grad_enabled() -> bool:
    """True when operations record a graph in this thread (False inside `no_grad`)."""
    return _is_recording()


class _GradMode(ContextDecorator):
    """Sets grad mode to `_enabled` inside a ``with`` block or a decorated call, then restores it."""

    _enabled = False

    def __call__(self, func: Callable) -> Callable:
        if not inspect.isgeneratorfunction(func):
            return super().__call__(func)
        mode = type(self)

        @functools.wraps(func)
        def generator(*args: object, **kwargs: object) -> Generator:
            # As torch does: the mode holds while the generator runs, not between its yields.
            inner = func(*args, **kwargs)
            try:
                with mode():
                    response = inner.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with mode():
                            inner.close()
                        raise
                    except BaseException as error:
                        with mode():
                            response = inner.throw(error)
                    else:
                        with mode():
                            response = inner.send(request)
            except StopIteration as stop:
                return stop.value

        return generator

    def __enter__(self) -> _GradMode:
        if not self._enabled:
            _answer("no_grad", None, None, None)  # type: ignore[arg-type]
        _outer_modes.set((*_outer_modes.get(), _is_recording()))
        _recording.set(self._enabled)
        return self

    def __exit__(self, *exc: object) -> None:
        outer = _outer_modes.get()
        _recording.set(outer[-1])
        _outer_modes.set(outer[:-1])


class no_grad(_GradMode):
    """Context manager (or decorator) in which operations record no graph: results are leaves.

    The switch is thread-local and nestable, like ``torch.no_grad``: as a ``with`` block, as a
    decorator (recursive functions, generators and threads included) and as one instance used
    again. It lives in a context variable, so an asyncio task, or a thread started by
    ``asyncio.to_thread`` (which copies the context), starts with the mode of its creator. Use it
    for optimizer updates and evaluation, where nothing will be differentiated.
    """

    _enabled = False


class _enable_grad(_GradMode):
    _enabled = True
