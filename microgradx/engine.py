"""The engine: `Value`, the table of derivative rules, and the iterative backward pass.

Every operation is one node. Its forward computation lives in the `Value` method of the same name,
and its derivative rule lives once, in `RULES`: a `Rule` gives the local derivatives
``∂out/∂input`` for each operand, written with ordinary arithmetic so that the same function serves
plain floats (`backward`, `grad`) and `Value`s (`grad(..., create_graph=True)`, hence higher
derivatives), plus a formula per operand that `explain` and `draw` print. The forward math itself
(domain errors, overflow, NumPy arrays for the batch replay) is in `realmath`; nothing else of the
package is imported here.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import numbers
import operator
import os
import threading
import weakref
from collections.abc import Callable, Generator, Iterable
from contextlib import ContextDecorator
from contextvars import ContextVar
from typing import NamedTuple, TypeVar

from microgradx.realmath import cos as _cos
from microgradx.realmath import div as _div
from microgradx.realmath import elementwise as _each
from microgradx.realmath import exp as _exp
from microgradx.realmath import is_array as _is_array
from microgradx.realmath import log as _log
from microgradx.realmath import numpy_module as _np
from microgradx.realmath import power as _pow
from microgradx.realmath import relu as _relu
from microgradx.realmath import sigmoid as _sigmoid
from microgradx.realmath import sin as _sin
from microgradx.realmath import sqrt as _sqrt
from microgradx.realmath import tanh as _tanh

__all__ = [
    "RULES",
    "Rule",
    "Value",
    "cos",
    "exp",
    "grad",
    "is_grad_enabled",
    "log",
    "no_grad",
    "relu",
    "sigmoid",
    "sin",
    "sqrt",
    "tanh",
    "topological_order",
    "zero_grad",
]

Number = int | float
"""What a Value mixes with: any real number (bool, Fraction and numpy scalars included)."""

_inf = math.inf
T = TypeVar("T")

# --- grad mode ---------------------------------------------------------------------------------


# A context variable rather than a threading.local: as thread-local (every new thread starts
# recording), also per asyncio task, and about four times cheaper to read on every operation.
_recording = ContextVar("microgradx_grad_enabled", default=True)
_is_recording = _recording.get


def is_grad_enabled() -> bool:
    """True when operations record a graph in this thread (False inside `no_grad`)."""
    return _is_recording()


# What each `with` restored on exit, innermost last, per thread (and asyncio task): on a stack here
# rather than on the context manager, so that one instance can be entered again while it is active
# (a recursive decorated function, two threads, nesting) and every exit restores its own entry's mode.
_outer_modes: ContextVar[tuple[bool, ...]] = ContextVar("microgradx_outer_grad_modes", default=())


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


# --- the rule table ----------------------------------------------------------------------------


class Rule(NamedTuple):
    """How one operation computes and differentiates.

    ``forward`` maps operand floats to the result; ``local(*operands, out)`` returns one local
    derivative ``∂out/∂operand`` per operand, for floats or for Values alike; ``formulas`` says
    the same in words, with ``{a}``, ``{b}`` standing for the operands and ``{out}`` for the result.
    """

    op: str
    forward: Callable[..., float]
    local: Callable[..., tuple]
    formulas: tuple[str, ...]


# Math helpers for the local rules: floats stay floats; Values record graph; arrays (the batch
# replay) compute elementwise. Each is written once and serves all three.
def _v_log(x):
    return x.log() if type(x) is Value else _log(x)


def _v_sin(x):
    return x.sin() if type(x) is Value else _sin(x)


def _v_cos(x):
    return x.cos() if type(x) is Value else _cos(x)


def _data(x):
    return x.data if type(x) is Value else x


def _dpow_base(a, b, out):
    # d(a^b)/da = b·a^(b−1); 0 when b == 0 (as PyTorch), ±inf at a zero base with b < 1.
    bd, ad = _data(b), _data(a)
    if (type(ad) is not float or type(bd) is not float) and (_is_array(ad) or _is_array(bd)):
        return _each(_dpow_base, ad, bd, out)  # this very rule, on each sample's floats
    if bd == 0.0:
        return 0.0
    if ad == 0.0 and bd < 1.0:
        return _inf if bd > 0.0 else -_inf
    return b * (a ** (b - 1.0) if type(a) is Value else _pow(a, b - 1.0))


def _dpow_exponent(a, b, out):
    # d(a^b)/db = a^b·ln a; 0 at a zero base (as PyTorch); nan for a negative base or a nan.
    ad = _data(a)
    if (type(ad) is not float or type(out) is not float) and (_is_array(ad) or _is_array(out)):
        return _each(_dpow_exponent, ad, _data(b), out)  # this very rule, on each sample's floats
    if ad > 0.0:
        return out * _v_log(a)
    return 0.0 if ad == 0.0 and _data(b) >= 0.0 else math.nan  # (0 ** nan: nan, as PyTorch)


def _dsqrt(a, out):
    # d√a/da = 1/(2√a); ±inf at a == ±0.0 (as PyTorch: √−0.0 is −0.0).
    o = _data(out)
    if type(o) is not float and _is_array(o):
        np = _np()
        with np.errstate(divide="ignore"):
            return (np.where(np.asarray(o) != 0.0, 0.5 / o, np.copysign(_inf, o)),)
    return (0.5 / out,) if o != 0.0 else (math.copysign(_inf, o),)


RULES: dict[str, Rule] = {
    rule.op: rule
    for rule in (
        Rule("+", operator.add, lambda a, b, out: (1.0, 1.0), ("1", "1")),
        Rule("-", operator.sub, lambda a, b, out: (1.0, -1.0), ("1", "−1")),
        Rule("*", operator.mul, lambda a, b, out: (b, a), ("{b}", "{a}")),
        # d(a/b)/db = −a/b² = −out/b
        Rule("/", _div, lambda a, b, out: (1.0 / b, -out / b), ("1/{b}", "−{a}/{b}²")),
        Rule(
            "**",
            _pow,
            lambda a, b, out: (_dpow_base(a, b, out), _dpow_exponent(a, b, out)),
            ("{b}·{a}^({b}−1)", "{a}^{b}·ln({a})"),
        ),
        Rule("neg", operator.neg, lambda a, out: (-1.0,), ("−1",)),
        # abs and relu: (a > 0) * 1.0 is [a > 0] as a number, for a float, a Value or an array;
        # the derivative at the kink is 0 (as PyTorch); at nan it is 0 for abs and 1 for relu, as
        # PyTorch's (relu passes the gradient wherever its input is not <= 0).
        Rule("abs", abs, lambda a, out: ((a > 0.0) * 1.0 - (a < 0.0) * 1.0,), ("sign({a})",)),
        Rule("exp", _exp, lambda a, out: (out,), ("exp({a})",)),
        Rule("log", _log, lambda a, out: (1.0 / a,), ("1/{a}",)),
        Rule("sqrt", _sqrt, _dsqrt, ("1/(2·√{a})",)),
        Rule("tanh", _tanh, lambda a, out: (1.0 - out * out,), ("1−tanh²({a})",)),
        Rule("sigmoid", _sigmoid, lambda a, out: (out * (1.0 - out),), ("σ({a})·(1−σ({a}))",)),
        Rule("relu", _relu, lambda a, out: (1.0 - (a <= 0.0) * 1.0,), ("[{a} > 0]",)),
        Rule("sin", _sin, lambda a, out: (_v_cos(a),), ("cos({a})",)),
        Rule("cos", _cos, lambda a, out: (-_v_sin(a),), ("−sin({a})",)),
    )
}
"""Every operation's rule, keyed by its op name (`Value.op`)."""

_LOCAL = {op: rule.local for op, rule in RULES.items()}


# --- Value ---------------------------------------------------------------------------------------


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


class Value:
    """A scalar that remembers how it was computed, so `backward()` can apply the chain rule.

    `copy.deepcopy` and `pickle` take a Value with its whole graph, at any depth; Values saved
    together load as one graph.

    >>> w = Value(0.3, "w"); E = (w * 2.0 - 1.0) ** 2; E.backward(); round(w.grad, 6)
    -1.6
    """

    # `_a`, `_b`: the operands (None when absent), kept as two slots rather than a tuple because
    # the backward pass reads them for every node. `_seq`: the creation number, which orders the
    # backward pass. `_pending`: the gradient a graph walk is summing into this node; it starts at
    # the walk's own −0.0 object, which is also the walk's visited mark.
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
        a = self._a
        if a is None:
            return ()
        b = self._b
        return (a,) if b is None else (a, b)

    # Pickle and deepcopy: a node that has operands is saved with its graph's `_Graph` table
    # instead of its operands, so saving never goes deeper than one node (pickle and deepcopy
    # would otherwise recurse once per level of the graph). Loaded and copied Values get creation
    # numbers of their own, operands first, so "operands are older" holds for them too.
    def __getstate__(self) -> dict:
        state = {"data": self.data, "grad": self.grad, "label": self._label, "op": self.op}
        if self._a is not None:
            state["graph"] = _Graph.of(self)
        return state

    def __setstate__(self, state: dict | tuple) -> None:
        if isinstance(state, tuple):  # pickled by 0.1.0 before creation numbers: (None, its slots)
            slots = state[1]
            parents = (*slots.get("parents", ()), None, None)
            state = {"data": slots["data"], "grad": slots["grad"], "label": slots.get("_label", ""),
                     "op": slots.get("op", ""), "a": parents[0], "b": parents[1]}
        self.data, self.grad, self._label, self.op = state["data"], state["grad"], state["label"], state["op"]
        self._pending = None
        if "graph" not in state:  # a leaf, or saved with its operands (before graph tables)
            self._a, self._b = state.get("a"), state.get("b")
            if getattr(self, "_seq", None) is None:  # (a table may have numbered it already)
                self._seq = _next_seq()
        # else its _Graph links and numbers it

    def __copy__(self) -> Value:
        """`copy.copy`: a new node with this one's data, grad, label and operands."""
        out = _new(Value)
        out.data, out.grad, out._label, out.op = self.data, self.grad, self._label, self.op
        out._a, out._b, out._pending = self._a, self._b, None
        out._seq = _next_seq()
        return out

    @property
    def label(self) -> str:
        """A name for the node, shown by `repr`, `explain`, `draw` (writable)."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        if type(label) is not str:
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self._label = label

    def __repr__(self) -> str:
        label = f", label={self._label!r}" if self._label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    def __bool__(self) -> bool:
        return self.data != 0.0

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else repr(self)

    # Ordering compares numbers; == and hash stay identity (Values are dict keys and set members).
    def __lt__(self, other: Value | Number) -> bool:
        return self.data < _other_data(other)

    def __le__(self, other: Value | Number) -> bool:
        return self.data <= _other_data(other)

    def __gt__(self, other: Value | Number) -> bool:
        return self.data > _other_data(other)

    def __ge__(self, other: Value | Number) -> bool:
        return self.data >= _other_data(other)

    # Binary operators. Each result is one node; a number operand becomes an unlabelled leaf.
    def __add__(self, other: Value | Number) -> Value:
        if type(other) is not Value:
            other = _operand(other)
            if other is NotImplemented:
                return NotImplemented
        return _node(self.data + other.data, "+", self, other)

    def __sub__(self, other: Value | Number) -> Value:
        if type(other) is not Value:
            other = _operand(other)
            if other is NotImplemented:
                return NotImplemented
        return _node(self.data - other.data, "-", self, other)

    def __mul__(self, other: Value | Number) -> Value:
        if type(other) is not Value:
            other = _operand(other)
            if other is NotImplemented:
                return NotImplemented
        return _node(self.data * other.data, "*", self, other)

    def __truediv__(self, other: Value | Number) -> Value:
        if type(other) is not Value:
            other = _operand(other)
            if other is NotImplemented:
                return NotImplemented
        return _node(_div(self.data, other.data), "/", self, other)

    def __pow__(self, other: Value | Number) -> Value:
        if type(other) is not Value:
            other = _operand(other)
            if other is NotImplemented:
                return NotImplemented
        return _node(_pow(self.data, other.data), "**", self, other)

    # Reflected operators keep the math's operand order: 2 - a has parents (Value(2.0), a).
    def __radd__(self, other: Number) -> Value:
        other = _operand(other)
        return NotImplemented if other is NotImplemented else other.__add__(self)

    def __rsub__(self, other: Number) -> Value:
        other = _operand(other)
        return NotImplemented if other is NotImplemented else other.__sub__(self)

    def __rmul__(self, other: Number) -> Value:
        other = _operand(other)
        return NotImplemented if other is NotImplemented else other.__mul__(self)

    def __rtruediv__(self, other: Number) -> Value:
        other = _operand(other)
        return NotImplemented if other is NotImplemented else other.__truediv__(self)

    def __rpow__(self, other: Number) -> Value:
        other = _operand(other)
        return NotImplemented if other is NotImplemented else other.__pow__(self)

    # Unary operations: forward from the rule table, one node each.
    def __neg__(self) -> Value:
        return _node(-self.data, "neg", self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _node(abs(self.data), "abs", self)

    def exp(self) -> Value:
        """e to the power of this value."""
        return _node(_exp(self.data), "exp", self)

    def log(self) -> Value:
        """Natural logarithm; `ValueError` for a value <= 0."""
        return _node(_log(self.data), "log", self)

    def sqrt(self) -> Value:
        """Square root; `ValueError` for a negative value."""
        return _node(_sqrt(self.data), "sqrt", self)

    def tanh(self) -> Value:
        """Hyperbolic tangent (stable for any input)."""
        return _node(math.tanh(self.data), "tanh", self)

    def sigmoid(self) -> Value:
        """Logistic sigmoid 1/(1+e^−x), computed without overflow for any input."""
        return _node(_sigmoid(self.data), "sigmoid", self)

    def relu(self) -> Value:
        """max(0, x); its derivative at 0 is taken as 0."""
        a = self.data
        return _node(0.0 if a <= 0.0 else a, "relu", self)  # (realmath.relu, on a float: nan stays nan)

    def sin(self) -> Value:
        """Sine (radians)."""
        return _node(_sin(self.data), "sin", self)

    def cos(self) -> Value:
        """Cosine (radians)."""
        return _node(_cos(self.data), "cos", self)

    def backward(self, gradient: Number = 1.0) -> None:
        """Add d self / d n into ``n.grad`` for every node n this value depends on, itself included.

        The seed ``gradient`` (default 1) is d self / d self. Grads accumulate across calls, as in
        PyTorch; call `zero_grad` between steps. Iterative: any depth works.
        """
        seed = _as_float(gradient, "backward(gradient)")
        _backprop(self, seed, create_graph=False)


_new = object.__new__
_FAST_NUMBERS = (float, int)
_next_seq = itertools.count().__next__  # creation numbers: a node is always newer than its operands


def _node(data: float, op: str, a: Value | None, b: Value | None = None) -> Value:
    """Make the result node of `op` on operands `a` (and `b`): a leaf when grad mode is off, or
    without operands (``_node(2.0, "", None)`` is a constant)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._label = ""
    out._pending = None
    if _is_recording():
        out.op = op
        out._a = a
        out._b = b
    else:
        out.op = ""
        out._a = out._b = None
    out._seq = _next_seq()
    return out


class _Graph:
    """Part of a graph as a table, for pickle and deepcopy: its nodes oldest first, and for each
    node the table links, the positions of its operands in that list (None for a leaf, or for
    a node that another table links; -1 for no second operand).

    Every node a table links refers to that table in its state, so pickle and deepcopy save the
    table once and never recurse through operands. A table stops at nodes that a table already
    being saved links, so Values saved together cost their graph once. Loading a table links the
    new nodes it lists and numbers them oldest first. (The class's name is part of the pickle
    format.)
    """

    __slots__ = ("__weakref__", "nodes", "operands")

    def __init__(self, root: Value, saving: weakref.WeakValueDictionary) -> None:
        # Not `_reach`: that marks nodes and takes the walk lock, and a graph must be savable from
        # inside a backward pass (a signal handler, a __del__).
        nodes, found = [root], {root}
        for node in nodes:  # every node once, down to nodes `saving` links (the list grows as it runs)
            if node._a is not None and node not in saving:
                for operand in (node._a, node._b):
                    if operand is not None and operand not in found:
                        found.add(operand)
                        nodes.append(operand)
        nodes.sort(key=_by_seq)
        position = {node: i for i, node in enumerate(nodes)}
        self.nodes = nodes
        self.operands = [
            None if n._a is None or n in saving else (position[n._a], -1 if n._b is None else position[n._b])
            for n in nodes
        ]
        saving.update((n, self) for n, links in zip(nodes, self.operands, strict=True) if links is not None)

    @staticmethod
    def of(node: Value) -> _Graph:
        """The table that links `node`: the one being saved, else a new one."""
        graph = _saving.tables.get(node)
        return _Graph(node, _saving.tables) if graph is None else graph

    def __getstate__(self) -> tuple:
        return self.nodes, self.operands

    def __setstate__(self, state: tuple) -> None:
        self.nodes, self.operands = nodes, operands = state
        for node, links in zip(nodes, operands, strict=True):
            if links is not None and not hasattr(node, "_a"):  # not one a deepcopy memo gave back
                node._a = nodes[links[0]]
                node._b = None if links[1] < 0 else nodes[links[1]]
            if getattr(node, "_seq", None) is None:  # not numbered yet (by its own state or a table)
                node._seq = _next_seq()


class _Saving(threading.local):
    """The tables being saved in this thread, by the nodes they link. An entry lasts as long as
    its table, which pickle's or deepcopy's memo keeps alive while they save."""

    def __init__(self) -> None:
        self.tables: weakref.WeakValueDictionary[Value, _Graph] = weakref.WeakValueDictionary()


_saving = _Saving()


def _operand(other: object) -> Value:
    if type(other) is Value:
        return other
    if type(other) in _FAST_NUMBERS or isinstance(other, numbers.Real):
        return _node(float(other), "", None)  # no operands: an unlabelled leaf
    return NotImplemented


def _other_data(other: object) -> float:
    if type(other) is Value:
        return other.data
    if isinstance(other, numbers.Real):
        return float(other)
    raise TypeError(f"cannot compare a Value with {_type_name(other)}")


# --- module-level functions --------------------------------------------------------------------


def _function(op: str) -> Callable[[Value | Number], Value]:
    method = getattr(Value, op)

    def function(x: Value | Number) -> Value:
        if type(x) is not Value:
            x = Value(x)
        return method(x)

    function.__name__ = function.__qualname__ = op
    function.__doc__ = f"{method.__doc__} Accepts a Value or a number; returns a Value."
    return function


exp = _function("exp")
log = _function("log")
sqrt = _function("sqrt")
tanh = _function("tanh")
sigmoid = _function("sigmoid")
relu = _function("relu")
sin = _function("sin")
cos = _function("cos")


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``.grad = 0.0`` on each Value (do it before each training step's backward)."""
    for v in values:
        if type(v) is not Value:
            raise TypeError(f"zero_grad expects Values, got {_type_name(v)}")
        v.grad = 0.0


# --- backpropagation ----------------------------------------------------------------------------


_by_seq = operator.attrgetter("_seq")

# Graph walks take turns (threads may share parameters): each marks the nodes it reaches and sums
# on them. The lock is re-entrant so that a walk started from inside one, in the same thread (by a
# signal handler, a __del__ or a weakref callback), gets past it and is refused with an error
# instead of waiting for itself forever; `_inside_walk` says whether a walk is under way.
_walk_lock = threading.RLock()
_inside_walk = [False]


def _after_fork_in_child() -> None:  # a walk in another thread of the parent never ends here
    global _walk_lock
    _walk_lock = threading.RLock()
    _inside_walk[0] = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _MinusZero(float):
    """−0.0 as an object of its own, where `is` compares plain floats by value (PyPy does)."""

    __slots__ = ()


_FLOATS_HAVE_IDENTITY = float("-0.0") is not float("-0.0")  # True on CPython


def _walk(roots: tuple[Value, ...], body: Callable[[list[Value], float], T]) -> T:
    """``body(nodes, start)``: `nodes` are those the roots reach, newest first, each with its sum
    ``_pending`` at `start`, this walk's own −0.0; the only walk in progress while it runs."""
    with _walk_lock:  # (the lock's own with: nothing can come between taking it and the try)
        if _inside_walk[0]:
            raise RuntimeError(
                "backward(), grad() or topological_order() was called while this thread was inside "
                "one of them (from a signal handler, a __del__ or a weakref callback?): call it afterwards"
            )
        try:
            _inside_walk[0] = True
            # a new object, so that no other walk's mark is this one
            start = float("-0.0") if _FLOATS_HAVE_IDENTITY else _MinusZero(-0.0)
            return body(_reach(roots, start), start)
        finally:
            _inside_walk[0] = False


def _reach(roots: tuple[Value, ...], start: float) -> list[Value]:
    """Every node the roots depend on, roots included, newest first, each with ``_pending = start``.

    Every node is newer than its operands, so newest-first puts each node after all of its
    consumers. Finding the nodes is one loop over a list that grows as operands are found (no
    recursion: any depth works); ordering them is one sort by creation number, in C. The visited
    mark is the sum's start itself: −0.0 is the exact additive identity, and since `start` is
    this walk's own object, a walk that stopped half-way (a KeyboardInterrupt) leaves sums that no
    later walk takes for its own marks.
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
    return _walk(roots, lambda order, start: order)


def _backprop(
    root: Value, seed: float | Value, *, create_graph: bool, inputs: Iterable[Value] | None = None
) -> dict:
    """Chain rule over the graph of `root`, each node once, after all its consumers.

    Without `inputs`, adds d root / d node into every node's ``.grad``; with them, returns
    {x: d root / d x} for each input the graph reaches instead (floats, or Values with
    `create_graph`). The sum for d root / d node builds up in ``node._pending`` while its
    consumers are visited; it is complete when the node's own turn comes.
    """

    def chain_rule(order: list[Value], start: float) -> dict:
        root._pending = seed
        try:
            if inputs is None and not create_graph:
                _backward_floats(order)
                return {}
            return _gradients(order, set(inputs or ()), create_graph, start)
        except BaseException:  # drop the half-made sums: with create_graph, graphs that hold nodes
            for node in order:
                node._pending = None
            raise

    return _walk((root,), chain_rule)


def _backward_floats(order: list[Value]) -> None:
    """`backward()`'s pass: floats only, every node's total added into its ``.grad``."""
    local_rules = _LOCAL
    for node in order:
        upstream = node._pending
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
            operand._pending = term if total is start else total + term  # no Value(−0.0) + term
    return found


class _enable_grad(_GradMode):
    _enabled = True


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
