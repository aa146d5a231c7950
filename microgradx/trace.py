"""Trace once, replay fast: record the graph a function builds, then rerun it on floats.

A training loop builds the same graph shape at every step. `trace(f, *example_args)` runs `f`
once on Values, records the resulting graph as a flat *tape* (one entry per operation: its rule
and the slots of its operands), and returns a `Trace`: calling it with new numbers replays the tape
forward with each rule's ``forward`` and backward with each rule's ``local`` — the very functions
the engine uses, so the numbers are the same, bit for bit — without creating a single Value.

Leaves the function did not receive as arguments (a model's parameters, constants) are read
afresh from their ``.data`` at every replay, so optimizer updates are seen, and their gradients
are added into their ``.grad`` exactly as ``backward()`` adds them. Where `f` looks at a number
while tracing (``<``, ``<=``, ``>``, ``>=``, ``float()``, ``bool()`` on a Value), the answer is
recorded as a *guard*; a replay whose guard would answer differently re-traces `f` on the new
inputs (or raises `GuardError` with ``on_guard="raise"``), so it never returns numbers from the
wrong branch. See ``docs/replay.md`` for the tape drawn out.

`trace_batch(f, *one_sample)` replays the same tape over a whole batch of samples with NumPy
arrays (the ``fast`` extra): one vectorised call per operation, of the rules on arrays
(`microgradx.arrays.LOCAL`), with each guard asked of every sample and a per-sample fallback when one flips.
"""

from __future__ import annotations

import collections
import dis
import functools
import inspect
import math
import numbers
import operator
import threading
import types
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from microgradx import arrays, engine, node, realmath
from microgradx.engine import RULES, Value, topological_order

__all__ = [
    "BatchReplayed",
    "BatchTrace",
    "GuardError",
    "Replayed",
    "Trace",
    "TraceError",
    "trace",
    "trace_batch",
]


class TraceError(ValueError):
    """`f` cannot be traced: it returned something other than Values, or switched recording off."""


class GuardError(RuntimeError):
    """A replay's input would send `f` down another branch than the traced one (``on_guard="raise"``).

    With the default ``on_guard="retrace"`` this never reaches the caller: `f` is traced again on
    the new inputs instead, so no replay returns numbers computed along the wrong branch.
    """


class Replayed(NamedTuple):
    """What one replay returns: the output's number, its gradients, and any extra outputs' numbers.

    ``grads`` has one entry per argument: a float for a number argument, a list of floats for a
    list argument. ``aux`` holds the numbers of the extra outputs `f` returned after the first,
    in the same shape (a float per Value, a list per list of Values).
    """

    value: float
    grads: tuple
    aux: tuple


# --- guards: the places where traced code looked at a number ---------------------------------


_FROZEN = {  # what a traced function must not do: numbers that would stay the example's
    "no_grad": "no_grad() inside a traced function: its results would be frozen at the example's numbers",
    "grad": "grad() or backward() inside a traced function: the derivatives they give are numbers, frozen "
            "at the example's; use grad(..., create_graph=True), whose Values are part of the graph",
}


def _refuse(question: str) -> None:
    raise TraceError(f"{_FROZEN[question]}; or compute it outside the traced function")


class _recording_guards:
    """Within this context, this thread's questions to Values' numbers are recorded into `guards`.

    It listens through the engine's hook (`node.observer`, a context variable): only code
    running in this thread (or asyncio task) is seen, and entering no_grad() is refused.
    """

    def __init__(self, guards: list) -> None:
        self.guards = guards
        self.open = False  # an asyncio task started while tracing keeps this observer: after, it is deaf

    def observe(self, question: str, node: Value, other: Any, answer: Any) -> None:
        if not self.open:
            return
        if question in _FROZEN:
            _refuse(question)
        self.guards.append((question, node, other, answer))

    def __enter__(self) -> None:
        listening = getattr(node.observer.get(), "__self__", None)  # a trace's `observe`, if any
        if getattr(listening, "open", False):
            raise TraceError("trace() was called inside a traced function; trace the outer function once")
        self._token = node.observer.set(self.observe)
        self.open = True

    def __exit__(self, *exc: object) -> None:
        self.open = False
        node.observer.reset(self._token)


def same_float(a: float, b: float) -> bool:
    """True when `a` and `b` are the same number to Python: -0.0 is not 0.0 (``copysign`` tells
    them apart), and nan is nan."""
    if a == b:
        return a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b)
    return a != a and b != b


def _holds(name: str, a: float, other: float | None, result: Any) -> bool:
    """Would the guard's question, asked of the replayed numbers, get the traced answer?"""
    if name == "__float__":  # the number itself escaped into Python: it must not change, sign of 0 included
        return same_float(a, result)
    if name == "__bool__":
        return (a != 0.0) == result
    return getattr(float, name)(a, other) == result


# --- tracing ------------------------------------------------------------------------------------


def _argument(x: object, where: str) -> Value | list[Value]:
    if isinstance(x, numbers.Real) and type(x) is not Value:
        return Value(x)
    if isinstance(x, Sequence) and not isinstance(x, str):
        return [_argument(xi, f"{where}[{i}]") for i, xi in enumerate(x) if _is_number(xi, f"{where}[{i}]")]
    raise TypeError(f"trace: {where} must be a real number or a list of numbers, got {type(x).__name__}")


def _is_number(x: object, where: str) -> bool:
    if isinstance(x, numbers.Real) and type(x) is not Value:
        return True
    raise TypeError(f"trace: {where} must be a real number, got {type(x).__name__}")


def _outputs(result: object) -> tuple[Value, list]:
    """Split what `f` returned into the output to differentiate and the extra outputs."""
    first, *rest = result if isinstance(result, (tuple, list)) else (result,)
    if type(first) is not Value:
        raise TraceError(
            f"the traced function must return a Value (or a tuple whose first item is one), "
            f"got {type(first).__name__}"
        )
    for i, extra in enumerate(rest, 1):
        items = extra if isinstance(extra, (list, tuple)) else [extra]
        for item in items:
            if type(item) is not Value:
                raise TraceError(f"output {i} of the traced function must be a Value or a list of Values, "
                                 f"got {type(item).__name__}")
    return first, rest


class Trace:
    """A recorded graph of `f`, replayed on floats by calling it: ``Trace(*args) -> Replayed``.

    Made by `trace`. The tape lists the graph's operations in forward order; replay fills one float
    per slot with each rule's ``forward``, then walks the output's part of the tape in the order
    ``backward()`` visits it, multiplying by each rule's ``local`` derivatives and adding in the
    same order, so the floats agree bit for bit. ``retraces`` counts how often a flipped guard (or
    a failing operation) made it record `f` again.
    """

    def __init__(self, f: Callable[..., object], example_args: tuple, on_guard: str = "retrace") -> None:
        if not callable(f):
            raise TypeError(f"trace(f): f must be callable, got {type(f).__name__}")
        if on_guard not in ("retrace", "raise"):
            raise ValueError(f"trace(on_guard) must be 'retrace' or 'raise', got {on_guard!r}")
        self.f = f
        self.on_guard = on_guard
        self.retraces = 0
        self._lock = threading.Lock()  # guards `retraces` and the parameters' .grad sums
        self._shape = [isinstance(x, Sequence) and not isinstance(x, str) for x in example_args]
        self._sizes = [len(x) if is_list else 1 for x, is_list in zip(example_args, self._shape, strict=True)]
        self._program = self._compile(*self._run(example_args))

    def _run(self, args: tuple) -> tuple:
        """Run `f` on Values made from `args`, recording its guards; returns what `_compile` needs."""
        if not engine.is_grad_enabled():
            raise TraceError("trace() inside no_grad(): nothing would be recorded")
        arguments = [_argument(x, f"example_args[{i}]") for i, x in enumerate(args)]
        guards: list = []
        with _recording_guards(guards):
            result = self.f(*arguments)
        output, extras = _outputs(result)
        inputs = [v for a in arguments for v in (a if isinstance(a, list) else [a])]
        return inputs, output, extras, guards

    def _compile(self, inputs: list[Value], output: Value, extras: list, guards: list) -> _Program:
        """The recorded graph as a compiled `_Program` (the caller puts it in place)."""
        return _Program(_record_tape(inputs, output, extras, guards), self._shape, self._sizes, self._lock)

    @property
    def tape(self) -> list[tuple[str, tuple[int, ...]]]:
        """The operations in forward order as ``(op, operand slots)``; slots below them are leaves."""
        return [(op, operands) for _, op, operands in self._program.tape.ops]

    @property
    def guards(self) -> list[tuple[str, int, int, float | None, object]]:
        """The recorded guards: ``(method, slot, other operand's slot or -1, or its number, answer)``."""
        return list(self._program.tape.guards)

    @property
    def source(self) -> str:
        """The replay as the Python function it was compiled from (see docs/replay.md)."""
        return self._program.compiled()[0]

    def __len__(self) -> int:
        return len(self._program.tape.ops)

    def __repr__(self) -> str:
        tape = self._program.tape
        return (f"Trace({getattr(self.f, '__name__', 'f')}: {len(tape.leaves) + tape.n_inputs} leaves, "
                f"{len(tape.ops)} ops, {len(tape.guards)} guards)")

    def __call__(self, *args: object) -> Replayed:
        return self._replay(args, 1.0)

    def _replay(self, args: tuple, seed: float) -> Replayed:
        """Replay on `args`; gradients are those of ``seed · f`` (the batch fallback's mean)."""
        inputs = self._flatten(args)
        program = self._program  # this replay's program, whatever other threads put in its place
        try:
            result = program.run(inputs, seed)
        except (ArithmeticError, ValueError):
            result = None  # an op failed: `f` itself decides below whether that is the user's error
        if result is None:
            # These inputs take another branch (or fail). Run `f` on them: it raises the very
            # error the plain path raises, or builds the graph of the branch it now takes.
            recorded = self._run(args)
            if self.on_guard == "raise":
                raise GuardError(
                    f"{getattr(self.f, '__name__', 'f')}: these inputs take another branch than the traced "
                    "one (a comparison, float() or bool() of a Value answers differently); "
                    "trace again, or use on_guard='retrace'"
                )
            program = self._compile(*recorded)
            with self._lock:
                self.retraces += 1
                self._program = program
            result = program.run(inputs, seed)
            if result is None:
                raise GuardError(f"{getattr(self.f, '__name__', 'f')} asked different questions of the same "
                                 "numbers twice: it depends on something besides its arguments and Values")
        return Replayed(*result)

    def _flatten(self, args: tuple) -> list[float]:
        if len(args) != len(self._shape):
            raise TypeError(f"this trace takes {len(self._shape)} arguments, got {len(args)}")
        flat = []
        for i, (x, is_list) in enumerate(zip(args, self._shape, strict=True)):
            if is_list:
                if not isinstance(x, Sequence) or isinstance(x, str) or len(x) != self._sizes[i]:
                    raise TypeError(f"argument {i} must be a list of {self._sizes[i]} numbers, as when "
                                    f"traced, got {type(x).__name__} {x!r}")
                flat.extend(realmath.as_float(xi, f"argument {i}[{j}]") for j, xi in enumerate(x))
            else:
                flat.append(realmath.as_float(x, f"argument {i}"))
        return flat


# --- the tape: the recorded graph as numbered slots ----------------------------------------------


class _Tape(NamedTuple):
    """The recorded graph as slots: inputs, then the other leaves, then one slot per operation."""

    ops: list[tuple[int, str, tuple[int, ...]]]  # (slot, op, operand slots), in forward order
    backward: list[int]  # the positions in `ops` of the output's graph, in the order backward() visits
    leaves: list[Value]  # the leaves that are not inputs: their slots follow the inputs'
    n_inputs: int
    output: int  # the output's slot
    extras: list  # the extra outputs' slots (a list of slots for a list of Values)
    guards: list  # (method, slot, other's slot or -1, other as a number, traced answer)
    reached: set[int]  # the slots of the output's graph (those with a gradient)


def _record_tape(inputs: list[Value], output: Value, extras: list, guards: list) -> _Tape:
    """Number the graph's nodes: the one function here that walks the engine's graph.

    Everything replay computes (the output's graph, extras, guarded nodes) in the order it was
    computed; the backward steps are the output's part of it, newest first: backward()'s order.
    """
    roots = [output] + [v for e in extras for v in (e if isinstance(e, (list, tuple)) else [e])]
    roots += [v for _, node, other, _ in guards for v in (node, other) if type(v) is Value]
    forward = topological_order(*roots)
    forward.reverse()
    slot: dict[Value, int] = {v: i for i, v in enumerate(inputs)}  # an unused input gets one too
    leaves = [v for v in forward if not v.parents and v not in slot]
    for v in leaves:
        slot[v] = len(slot)
    nodes = [v for v in forward if v.parents]
    for v in nodes:
        slot[v] = len(slot)
    ops = [(slot[v], v.op, tuple(slot[p] for p in v.parents)) for v in nodes]
    reached = {slot[output]}
    backward = []
    for k in range(len(ops) - 1, -1, -1):  # newest first: a node before its operands
        s, _, operands = ops[k]
        if s in reached:
            backward.append(k)
            reached.update(operands)
    return _Tape(
        ops, backward, leaves, len(inputs), slot[output],
        [[slot[v] for v in e] if isinstance(e, (list, tuple)) else slot[e] for e in extras],
        [(name, slot[node], slot[other] if type(other) is Value else -1,
          None if other is None or type(other) is Value else float(other), answer)
         for name, node, other, answer in guards],
        reached,
    )


# --- the compiled replay: the tape written out as straight-line Python ----------------------------
#
# Each operation becomes one expression over local variables, and its backward step one or two
# statements, so a replay is one call of one function. The source text is made only of names this
# module makes up (v3 for slot 3's number, g5 for a gradient, c0 for a constant, f0 and l0 for a
# rule's functions, p0 for a parameter), Python's operators, and the rule table's arithmetic; numbers
# and functions are passed in by reference (the tuple K), never written into the text.

_MAX_DEPTH = 40  # operations nested in one expression before a name is given (Python's parser nests 200)

_OPERATORS = {operator.add: "({a} + {b})", operator.sub: "({a} - {b})", operator.mul: "({a} * {b})",
              operator.truediv: "({a} / {b})", operator.neg: "(-{a})"}
"""Rule forwards that are Python's operators, written as the operator itself (the same float operation)."""


class _NotArithmetic(Exception):
    """A rule looked at its operands other than by arithmetic: it is called, not written in."""


def _operation(symbol: str, reflected: bool = False) -> Callable[[_Symbol, object], Any]:
    """The method of `_Symbol` for a binary operator: the text of ``self symbol other``."""
    return lambda self, other: self._binary(symbol, other, reflected)


class _Symbol:
    """An operand while a rule is written in: each arithmetic operation on it gives the text of
    that operation. Anything else (bool(), float(), a method) raises `_NotArithmetic`."""

    __slots__ = ("text", "uses", "writer")

    def __init__(self, text: str, uses: frozenset, writer: _Writer) -> None:
        self.text, self.uses, self.writer = text, uses, writer

    def _operand(self, x: object) -> tuple[str, frozenset] | None:
        if type(x) is _Symbol:
            return x.text, x.uses
        if type(x) in (float, int, bool):  # a constant of the rule: passed by reference
            return self.writer.constant(x), frozenset()
        return None

    def _binary(self, symbol: str, other: object, reflected: bool = False) -> Any:
        operand = self._operand(other)
        if operand is None:
            return NotImplemented
        left, right = (operand, (self.text, self.uses)) if reflected else ((self.text, self.uses), operand)
        return _Symbol(f"({left[0]} {symbol} {right[0]})", left[1] | right[1], self.writer)

    __add__, __radd__ = _operation("+"), _operation("+", reflected=True)
    __sub__, __rsub__ = _operation("-"), _operation("-", reflected=True)
    __mul__, __rmul__ = _operation("*"), _operation("*", reflected=True)
    __truediv__, __rtruediv__ = _operation("/"), _operation("/", reflected=True)
    __pow__, __rpow__ = _operation("**"), _operation("**", reflected=True)
    __lt__ = _operation("<")
    __le__ = _operation("<=")
    __gt__ = _operation(">")
    __ge__ = _operation(">=")
    __eq__ = _operation("==")
    __ne__ = _operation("!=")

    def __neg__(self) -> _Symbol:
        return _Symbol(f"(-{self.text})", self.uses, self.writer)

    def _refuse(self, *args: object) -> Any:
        raise _NotArithmetic

    __bool__ = __float__ = __int__ = __index__ = __complex__ = __abs__ = __hash__ = _refuse
    __round__ = __trunc__ = __floor__ = __ceil__ = __pos__ = __getattr__ = _refuse


_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)
_NOT_PLAIN = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR | inspect.CO_COROUTINE | (
    inspect.CO_ASYNC_GENERATOR)


def _arithmetic_only(fn: object, arity: int) -> bool:
    """True for a function of `arity` operands that does arithmetic on them and nothing else: no
    global or attribute names, no closure, no branch, no nested code. Only such a function is
    written in (its operations, replayed on `_Symbol`s, are all it can do); any other is called."""
    code = getattr(fn, "__code__", None)
    if type(code) is not types.CodeType or getattr(fn, "__defaults__", None):
        return False
    if code.co_argcount != arity or code.co_kwonlyargcount or code.co_flags & _NOT_PLAIN:
        return False
    if code.co_names or code.co_freevars or code.co_cellvars:
        return False
    if any(type(c) is types.CodeType for c in code.co_consts):
        return False
    return not any(i.opcode in _JUMPS for i in dis.get_instructions(code))


class _Writer:
    """Writes one tape as the source of ``replay(X, seed, K, lock)`` and collects what it refers to."""

    def __init__(self, batch: bool) -> None:
        self.batch = batch
        self.lines: list[str] = []
        self.objects: list[object] = []  # K: constants, functions and parameters, by reference
        self.names: list[str] = []
        self._constants: dict[tuple, str] = {}
        self._functions: dict[int, str] = {}
        self._forward: dict[str, tuple] = {}
        self._local: dict[str, tuple] = {}
        self._fresh: collections.Counter = collections.Counter()
        self._per_prefix: collections.Counter = collections.Counter()

    def _bind(self, obj: object, prefix: str) -> str:
        name = f"{prefix}{self._per_prefix[prefix]}"
        self._per_prefix[prefix] += 1
        self.names.append(name)
        self.objects.append(obj)
        return name

    def constant(self, x: object) -> str:
        """A number's name (-0.0 and 0.0 are two numbers; nan is one)."""
        key = (type(x), x.hex() if type(x) is float else x)
        if key not in self._constants:
            self._constants[key] = self._bind(x, "c")
        return self._constants[key]

    def function(self, fn: object) -> str:
        if id(fn) not in self._functions:
            self._functions[id(fn)] = self._bind(fn, "f")
        return self._functions[id(fn)]

    def symbols(self, arity: int) -> list[_Symbol]:
        """The operands and the result as placeholders {a}, {b} and {o}, for a rule to be written in."""
        return [_Symbol(f"{{{key}}}", frozenset(key), self) for key in (*("a", "b")[:arity], "o")]

    def forward(self, op: str, arity: int) -> str:
        """``op``'s forward as a template over {a} and {b}: written in, or a call by reference."""
        if op not in self._forward:
            rule = RULES[op]
            template = _OPERATORS.get(rule.forward) if type(rule.forward) is not types.FunctionType else None
            if template is None and _arithmetic_only(rule.forward, arity):
                try:
                    out = rule.forward(*self.symbols(arity)[:arity])
                    template = out.text if type(out) is _Symbol else None
                except Exception:  # anything but arithmetic: call it instead
                    template = None
            if template is None:
                template = f"{self.function(rule.forward)}({', '.join(('{a}', '{b}')[:arity])})"
            self._forward[op] = (template,)
        return self._forward[op][0]

    def local(self, op: str, arity: int) -> tuple:
        """``op``'s local derivatives: a tuple of (constant or template over {a} {b} {o}) and the
        placeholders they read; or None and a call by reference of the rule (all of them read)."""
        if op not in self._local:
            rule = RULES[op]
            written = None
            if _arithmetic_only(rule.local, arity + 1):
                try:
                    out = rule.local(*self.symbols(arity))
                    if type(out) is tuple and len(out) == arity and all(
                        type(d) is _Symbol or type(d) in (float, int, bool) for d in out
                    ):
                        written = out
                except Exception:  # anything but arithmetic: call it instead
                    written = None
            if written is None:
                fn = arrays.local(op) if self.batch else rule.local
                self._local[op] = (None, self.function(fn), frozenset("abo"[:arity] + "o"))
            else:
                uses = frozenset().union(*(d.uses for d in written if type(d) is _Symbol))
                self._local[op] = (tuple(d.text if type(d) is _Symbol else d for d in written), None, uses)
        return self._local[op]

    def new(self, prefix: str) -> str:
        """A fresh local variable: g0, g1, ... for gradients, d0, d1, ... for a called rule's results."""
        self._fresh[prefix] += 1
        return f"{prefix}{self._fresh[prefix] - 1}"

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)


def _write(tape: _Tape, shape: list[bool], sizes: list[int], batch: bool) -> _Writer:
    """The source of the replay of `tape`: the forward pass, its guards, the backward pass."""
    w = _Writer(batch)
    ops = tape.ops
    # Which numbers need a name: those read again (by two operations, a backward step, a guard,
    # the caller). Any other operation's number is written into the one expression that uses it.
    needed = {tape.output} | {s for e in tape.extras for s in (e if isinstance(e, list) else [e])}
    needed |= {s for _, a, b, _, _ in tape.guards for s in (a, b) if s >= 0}
    for k in tape.backward:
        s, op, operands = ops[k]
        uses = w.local(op, len(operands))[2]
        needed.update(p for p, key in zip(operands, "ab", strict=False) if key in uses)
        if "o" in uses:
            needed.add(s)
    for _, op, operands in ops:  # an operand the forward reads twice (a * a) is computed once
        template = w.forward(op, len(operands))
        needed.update(p for p, key in zip(operands, ("{a}", "{b}"), strict=False) if template.count(key) > 1)
    consumers = collections.Counter(p for _, _, operands in ops for p in operands)
    n_leaves = tape.n_inputs + len(tape.leaves)
    expr = [f"v{s}" for s in range(n_leaves)] + [""] * len(ops)
    depth = [0] * (n_leaves + len(ops))
    guards_at = collections.defaultdict(list)  # a guard is asked as soon as its numbers are known
    for guard in tape.guards:
        guards_at[max(guard[1], guard[2], n_leaves - 1)].append(guard)

    if tape.n_inputs:
        w.emit(f"[{', '.join(f'v{s}' for s in range(tape.n_inputs))}] = X")
    params = [w._bind(leaf, "p") for leaf in tape.leaves]
    for i, p in enumerate(params):  # a parameter's number, read at each replay
        w.emit(f"v{tape.n_inputs + i} = {p}.data")
    _write_guards(w, guards_at[n_leaves - 1], batch)
    for s, op, operands in ops:
        template = w.forward(op, len(operands))
        text = template.format(**{key: expr[p] for key, p in zip("ab", operands, strict=False)})
        depth[s] = 1 + max(depth[p] for p in operands)
        if s in needed or consumers[s] != 1 or depth[s] > _MAX_DEPTH:
            w.emit(f"v{s} = {text[1:-1] if template[0] == '(' else text}")  # (its outer parentheses)
            text, depth[s] = f"v{s}", 0
        expr[s] = text
        _write_guards(w, guards_at[s], batch)
    grads = _write_backward(w, tape)
    added = [(p, grads[s]) for s, p in enumerate(params, tape.n_inputs) if s in grads]
    if added:  # every parameter's gradient, added into its .grad one replay at a time (threads)
        w.emit("with lock:")
        total = w.function(_batch_total) if batch else ""
        for p, g in added:
            w.emit(f"    {p}.grad += {total}({g}, n)" if batch else f"    {p}.grad += {g}")
    zero = w.constant(0.0)
    flat = iter(f"{zero} + {grads[s]}" if s in grads else zero for s in range(tape.n_inputs))
    arg_grads = [f"[{', '.join(next(flat) for _ in range(n))}]" if is_list else next(flat)
                 for is_list, n in zip(shape, sizes, strict=True)]
    aux = [f"[{', '.join(f'v{s}' for s in e)}]" if isinstance(e, list) else f"v{e}" for e in tape.extras]
    w.emit(f"return v{tape.output}, {_tuple(arg_grads)}, {_tuple(aux)}")
    return w


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _write_guards(w: _Writer, guards: list, batch: bool) -> None:
    """Each guard as an ``if``: when the number answers differently, return None (re-trace)."""
    for name, a, b, number, answer in guards:
        other = f"v{b}" if b >= 0 else w.constant(number) if number is not None else ""
        if batch:  # every sample's answer, by a function passed by reference
            check = w.function(functools.partial(_batch_holds, name))
            w.emit(f"if not {check}(v{a}, {other or 'None'}, {w.constant(answer)}): return None")
        elif name == "__float__":  # the very number: same_float, by reference
            w.emit(f"if not {w.function(same_float)}(v{a}, {w.constant(answer)}): return None")
        else:
            symbol = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=", "__bool__": "!="}[name]
            question = f"v{a} {symbol} {other or w.constant(0.0)}"
            w.emit(f"if {'not ' if answer else ''}({question}): return None")


def _write_backward(w: _Writer, tape: _Tape) -> dict[int, str]:
    """The chain rule, node by node in backward()'s order: each contribution ``upstream · local``
    added in the same order as backward() adds it, so the floats are the same. A slot's first
    contribution is assigned (-0.0 + x is x, exactly) and a contribution ``upstream · 1`` is the
    upstream itself: then the slot shares the upstream's name until something is added to it."""
    grads: dict[int, str] = {tape.output: "seed"}
    sharing = collections.Counter({"seed": 1})  # how many slots a gradient's name stands for
    for k in tape.backward:
        s, op, operands = tape.ops[k]
        upstream = grads[s]
        written, function, _ = w.local(op, len(operands))
        values = {"a": f"v{operands[0]}", "b": f"v{operands[-1]}", "o": f"v{s}"}
        if written is None:  # the rule called by reference
            names = [w.new("d") for _ in operands]
            args = ", ".join(values[key] for key in "ab"[: len(operands)] + "o")
            w.emit(f"[{', '.join(names)}] = {function}({args})")
            written = names
        for p, local in zip(operands, written, strict=True):
            if type(local) is str:  # a template, or a name from the call
                term = f"{upstream} * {local.format(**values)}"
            elif local == 1.0 and type(local) is float:
                term = upstream  # (x · 1.0 is x, exactly)
            elif local == -1.0 and type(local) is float:
                term = f"-{upstream}"  # (x · -1.0 is -x, and g + -x is g - x, exactly)
            else:
                term = f"{upstream} * {w.constant(local)}"
            total = grads.get(p)
            if total is None and term == upstream:
                grads[p] = upstream
                sharing[upstream] += 1
                continue
            sign, term = ("-", upstream) if term == f"-{upstream}" else ("+", term)
            if total is None:
                name = w.new("g")
                w.emit(f"{name} = {term if sign == '+' else '-' + term}")
            elif sharing[total] == 1 and not w.batch:  # (on floats, g += x is g = g + x)
                name = total
                w.emit(f"{name} {sign}= {term}")
            else:  # (a name other slots share, or an array, which += would change in place)
                name = w.new("g")
                w.emit(f"{name} = {total} {sign} {term}")
            sharing[total] -= 1
            grads[p] = name
            sharing[name] += 1
        sharing[upstream] -= 1  # this node's gradient is used up
    return grads


def _batch_holds(name: str, x: Any, other: Any, answer: Any) -> bool:
    """True when the guard answers for every sample of the batch as it did when `f` was traced."""
    np = realmath.numpy_module()
    if name == "__float__":  # the number escaped: it must not change, sign of 0 included
        same = (x == answer) & (np.signbit(x) == (math.copysign(1.0, answer) < 0.0)) | (
            np.isnan(x) & math.isnan(answer))
    elif name == "__bool__":
        same = (x != 0.0) == answer
    else:
        same = _COMPARE[name](x, other) == answer
    return bool(np.all(same))


def _batch_total(g: Any, n: int) -> float:
    """A parameter's gradient over the batch: the sum over the samples (`g` may be one number for all)."""
    return float(g.sum()) if realmath.is_array(g) else g * n


_COMPARE = {"__lt__": operator.lt, "__le__": operator.le, "__gt__": operator.gt, "__ge__": operator.ge}


class _Program:
    """One recorded graph and its compiled replay: ``run(inputs, seed)`` returns (output, gradients,
    extras), or None when a guard answers differently. Never changed once made (its code is written
    once, on the first replay), so a replay that holds one is unaffected by a re-trace in another
    thread; each replay's numbers are local variables of its own call."""

    def __init__(self, tape: _Tape, shape: list[bool], sizes: list[int], lock: threading.Lock) -> None:
        self.tape = tape
        self._args = shape, sizes, lock
        self._compiling = threading.Lock()
        self._plain: tuple[str, Callable] | None = None
        self._batch: tuple[str, Callable] | None = None

    def compiled(self, batch: bool = False) -> tuple[str, Callable]:
        """(source, function) of the replay on floats, or with ``batch=True`` on arrays of samples.

        Written and compiled on first use, not when `f` is traced: compiling costs about what
        tracing does (docs/replay.md), and a trace that is never replayed need not pay it."""
        done = self._batch if batch else self._plain
        if done is None:
            with self._compiling:  # once, even when threads replay for the first time together
                done = self._batch if batch else self._plain
                if done is None:
                    shape, sizes, lock = self._args
                    done = _compile(_write(self.tape, shape, sizes, batch), lock, batch)
                    if batch:
                        self._batch = done
                    else:
                        self._plain = done
        return done

    def run(self, inputs: list[float], seed: float) -> tuple | None:
        return (self._plain or self.compiled())[1](inputs, seed)


def _compile(w: _Writer, lock: threading.Lock, batch: bool) -> tuple[str, Callable]:
    """The written replay as a function: compiled once, never evaluated as a string.

    The source is made of names `_write` made up and the rule table's arithmetic, nothing a user
    wrote; what it refers to (numbers, rule functions, parameters) is the tuple K, bound as a default
    argument, and it runs with no builtins at all."""
    head = "def replay(X, seed, n, K, lock):" if batch else "def replay(X, seed, K, lock):"
    unpack = [f"    [{', '.join(w.names)}] = K"] if w.names else []
    source = "\n".join([head, *unpack, *w.lines]) + "\n"
    module = compile(source, "<microgradx replay>", "exec", dont_inherit=True)
    (code,) = [c for c in module.co_consts if type(c) is types.CodeType]
    return source, types.FunctionType(code, {"__builtins__": {}}, "replay", (tuple(w.objects), lock))


def trace(f: Callable[..., object], *example_args: object, on_guard: str = "retrace") -> Trace:
    """Record the graph `f` builds on `example_args` once; calling the result replays it on floats.

    Each example argument is a number or a list of numbers; `f` receives them as Values (lists as
    lists of Values) and returns a Value — or a tuple whose first item is the Value to
    differentiate and whose other items are Values or lists of Values to report. Replays return
    `Replayed` (output, gradients for each argument, extra outputs) and add the gradients of every
    other leaf (a model's parameters) into its ``.grad``, as ``backward()`` would.

    >>> w = Value(3.0, "w")
    >>> step = trace(lambda x: (w * x - 1.0) ** 2, 2.0)
    >>> step(0.5)
    Replayed(value=0.25, grads=(3.0,), aux=())
    >>> w.grad
    0.5
    """
    return Trace(f, example_args, on_guard)


# --- batch replay: one NumPy pass per tape operation over many samples ------------------------


class BatchReplayed(NamedTuple):
    """What one batch replay returns, one row per sample (NumPy arrays).

    ``values`` has shape (B,): each sample's output. ``grads`` has one array per argument: shape
    (B,) for a number argument, (B, n) for a list of n numbers, holding each sample's gradient of
    its own output (times ``1/B`` with ``reduce="mean"``). ``aux`` holds the extra outputs' numbers
    in the same shapes.
    """

    values: Any
    grads: tuple
    aux: tuple


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        raise ImportError("trace_batch needs NumPy: pip install 'microgradx[fast]'") from None
    return numpy


class BatchTrace:
    """A per-sample function traced once, replayed over a batch of samples with NumPy arrays.

    Made by `trace_batch`. It holds a plain `Trace` of one sample and replays the same tape with
    a NumPy array of the batch in each input slot: every operation is one vectorised call of the
    same ``RULES[op].forward`` functions and local rules (`microgradx.arrays`), so a batch costs about
    one sample's Python overhead. ``fallbacks`` counts batches replayed sample by sample because a
    guard flipped for some sample or an operation failed for one.
    """

    def __init__(self, f: Callable[..., object], example_args: tuple, on_guard: str = "retrace") -> None:
        self._np = _numpy()
        self.plain = Trace(f, example_args, on_guard)
        """The per-sample `Trace`: the tape replayed, and the fallback when a guard flips."""
        self.fallbacks = 0

    def __len__(self) -> int:
        return len(self.plain)

    def __repr__(self) -> str:
        return f"Batch{self.plain!r}"

    def __call__(self, *args: object, reduce: str = "sum") -> BatchReplayed:
        """Replay every sample: ``args[i]`` holds argument i for all B samples, one row per sample.

        Every other leaf's ``.grad`` (a model's parameters) gets the gradient of the sum of the B
        outputs (``reduce="sum"``) or of their mean (``reduce="mean"``), as ``backward()`` of that
        sum or mean would add it.
        """
        if reduce not in ("sum", "mean"):
            raise ValueError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
        np, plain = self._np, self.plain
        columns, n = self._columns(args)
        seed = 1.0 if reduce == "sum" else 1.0 / n
        replay = plain._program.compiled(batch=True)[1]  # (whatever other threads put in its place)
        with np.errstate(all="ignore"):  # floats overflow to inf and make nan silently: so do arrays
            try:
                result = replay(columns, np.full(n, seed), n)
            except (ArithmeticError, ValueError):
                result = None  # some sample fails: the per-sample path raises the plain path's error
        if result is None:  # a guard flipped for some sample, or an op failed for one
            with plain._lock:
                self.fallbacks += 1
            return self._per_sample(args, n, seed)
        value, grads, aux = result

        def rows(slots: object) -> Any:  # one sample per row
            if isinstance(slots, list):
                return np.stack([rows(s) for s in slots], axis=1) if slots else np.zeros((n, 0))
            return np.broadcast_to(np.asarray(slots, dtype=float), (n,)).copy()

        return BatchReplayed(rows(value), tuple(map(rows, grads)), tuple(map(rows, aux)))

    def _columns(self, args: tuple) -> tuple[list, int]:
        """One float array of length B per input slot, from per-argument arrays of B rows."""
        np, plain = self._np, self.plain
        if len(args) != len(plain._shape):
            raise TypeError(f"this batch trace takes {len(plain._shape)} arguments, got {len(args)}")
        columns, n = [], None
        for i, (x, is_list, size) in enumerate(zip(args, plain._shape, plain._sizes, strict=True)):
            want = f"{size} numbers per sample" if is_list else "one number per sample"
            array = _real_array(np, x, f"argument {i}", want)
            if array.ndim != (2 if is_list else 1) or (is_list and array.shape[1] != size):
                raise TypeError(f"argument {i} must have shape (B, {size}) ({want}), got shape {array.shape}"
                                if is_list else
                                f"argument {i} must have shape (B,) ({want}), got shape {array.shape}")
            if n is None:
                n = len(array)
            elif len(array) != n:
                raise ValueError(f"argument {i} has {len(array)} samples, argument 0 has {n}")
            columns.extend(array.T.copy() if is_list else [array])
        if not n:
            raise ValueError("trace_batch: a batch needs at least one sample")
        return columns, n

    def _per_sample(self, args: tuple, n: int, seed: float) -> BatchReplayed:
        """Replay sample by sample with the plain trace (it re-traces, or raises, as it must)."""
        np, plain = self._np, self.plain
        arrays = [np.asarray(x, dtype=float) for x in args]
        results = [
            plain._replay(tuple(row.tolist() if row.ndim else float(row) for row in (a[i] for a in arrays)),
                          seed)
            for i in range(n)
        ]
        values = np.array([r.value for r in results])
        grads = tuple(np.array([r.grads[k] for r in results]) for k in range(len(args)))
        aux = tuple(np.array([r.aux[k] for r in results]) for k in range(len(plain._program.tape.extras)))
        return BatchReplayed(values, grads, aux)


def _real_array(np: Any, x: object, where: str, want: str) -> Any:
    """`x` as an array of floats if it holds real numbers only, as `trace` takes them; else a
    TypeError naming the first thing that is not one (None, a string, a complex number...)."""
    try:
        array = np.asarray(x)
    except (TypeError, ValueError):  # rows of different lengths
        raise TypeError(f"{where} must hold {want}, got {type(x).__name__}") from None
    if array.dtype.kind not in "biuf":  # anything but bools, integers and floats: look at each
        for index, item in np.ndenumerate(array):
            if not isinstance(item, numbers.Real) or isinstance(item, Value):
                at = "".join(f"[{k}]" for k in index)
                raise TypeError(f"{where}{at} must be a real number ({want}), got {realmath.type_name(item)}")
    return array.astype(float)


def trace_batch(f: Callable[..., object], *example_args: object, on_guard: str = "retrace") -> BatchTrace:
    """Trace the per-sample function `f` once; the result replays it over a batch with NumPy.

    `f` and `example_args` (one sample) are as for `trace`. Call the result with, per argument, the
    numbers of all B samples (shape (B,), or (B, n) for a list argument): it returns a
    `BatchReplayed` and adds into every other leaf's ``.grad`` the gradient of the batch's summed
    (or, with ``reduce="mean"``, averaged) output. The numbers equal B plain replays up to the
    order of floating-point sums. Needs NumPy (``pip install 'microgradx[fast]'``).
    """
    return BatchTrace(f, example_args, on_guard)
