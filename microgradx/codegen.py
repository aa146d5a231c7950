"""The compiled replay: a trace's tape written out as one straight-line Python function.

Why this exists: `microgradx.trace` records the graph a function builds as a *tape* (numbered
slots, one operation each). Walking that tape op by op through the rule table costs several times
the arithmetic itself; written out as Python, with one line per operation over local variables,
a replay costs about what the same computation written by hand on floats costs. This module
writes that function from a `Tape` and compiles it; `trace` decides when and keeps it.

The source is made only of names made up here (``v3`` for slot 3's number, ``g5`` for a gradient,
``c0`` a constant, ``f0`` a rule's function, ``p0`` a leaf), Python's operators and the rule
table's arithmetic, replayed on placeholders (`_Symbol`). Numbers, functions and leaves are passed
in by reference (the tuple ``K``); nothing a user wrote, no label and no number, becomes text.
"""

from __future__ import annotations

import collections
import dis
import functools
import inspect
import math
import operator
import threading
import types
from collections.abc import Callable
from typing import Any, NamedTuple

from microgradx import arrays, realmath
from microgradx.engine import Value

__all__ = ["Tape", "same_float", "write_replay"]


class Tape(NamedTuple):
    """The recorded graph as slots: inputs, then the other leaves, then one slot per operation."""

    ops: list[tuple[int, str, tuple[int, ...]]]  # (slot, op, operand slots), in forward order
    backward: list[int]  # the positions in `ops` of the output's graph, in the order backward() visits
    leaves: list[Value]  # the leaves that are not inputs: their slots follow the inputs'
    n_inputs: int
    output: int  # the output's slot
    extras: list  # the extra outputs' slots (a list of slots for a list of Values)
    guards: list  # (method, slot, other's slot or -1, other as a number, traced answer)
    reached: set[int]  # the slots of the output's graph (those with a gradient)
    rules: dict  # each op's Rule, as the table had it when `f` was traced


def same_float(a: float, b: float) -> bool:
    """True when `a` and `b` are the same number to Python: -0.0 is not 0.0 (``copysign`` tells
    them apart), and nan is nan."""
    if a == b:
        return a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b)
    return a != a and b != b


# Each named number is one line over local variables, and so is each gradient (one sum of its
# contributions), so a replay is one call of one function with no loop in it.

_MAX_TERMS = 40  # contributions added in one line
_MAX_DEPTH = 100  # parentheses nested in one expression before a name is given (Python's parser: 200)

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

    def __init__(self, rules: dict, batch: bool) -> None:
        self.rules = rules
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
            rule = self.rules[op]
            template = next((t for fn, t in _OPERATORS.items() if fn is rule.forward), None)
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
            rule = self.rules[op]
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
                fn = arrays.local(op, rule) if self.batch else rule.local
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


def _write(tape: Tape, shape: list[bool], sizes: list[int], batch: bool) -> _Writer:
    """The source of the replay of `tape`: the forward pass, its guards, the backward pass."""
    w = _Writer(tape.rules, batch)
    if tape.n_inputs:
        w.emit(f"[{', '.join(f'v{s}' for s in range(tape.n_inputs))}] = X")
    params = [w._bind(leaf, "p") for leaf in tape.leaves]
    for i, p in enumerate(params):  # a parameter's number, read at each replay
        w.emit(f"v{tape.n_inputs + i} = {p}.data")
    _write_forward(w, tape)
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


def _named(w: _Writer, tape: Tape) -> tuple[set[int], dict[str, tuple]]:
    """The slots whose numbers need a name, since something reads them again (two operations, a
    backward step, a guard, the caller); and each op's forward as (template, parenthesised?)."""
    ops = tape.ops
    needed = {tape.output} | {s for e in tape.extras for s in (e if isinstance(e, list) else [e])}
    needed |= {s for _, a, b, _, _ in tape.guards for s in (a, b) if s >= 0}
    reads = {}  # per op: whether its backward step reads its operands a, b and its result
    for k in tape.backward:
        s, op, operands = ops[k]
        if op not in reads:
            uses = w.local(op, len(operands))[2]
            reads[op] = ("a" in uses, "b" in uses, "o" in uses)
        a_read, b_read, o_read = reads[op]
        if a_read:
            needed.add(operands[0])
        if b_read:
            needed.add(operands[1])
        if o_read:
            needed.add(s)
    forwards = {}
    for _, op, operands in ops:
        if op not in forwards:
            template = w.forward(op, len(operands))
            twice = template.count("{a}") > 1 or template.count("{b}") > 1
            forwards[op] = (template, template[0] == "(", twice, _nesting(template))
        if forwards[op][2]:  # an operand the forward reads twice (a * a) is computed once
            needed.update(operands)
    return needed, forwards


def _nesting(template: str) -> int:
    """How deep the parentheses of `template` nest (an operand's own come on top)."""
    deepest = level = 0
    for char in template:
        level += (char == "(") - (char == ")")
        deepest = max(deepest, level)
    return max(deepest, 1)


def _write_forward(w: _Writer, tape: Tape) -> None:
    """One line per named number, in forward order; any other operation's number is written into
    the one expression that uses it. Each guard right after the numbers it asks about."""
    needed, forwards = _named(w, tape)
    consumers = collections.Counter(p for _, _, operands in tape.ops for p in operands)
    n_leaves = tape.n_inputs + len(tape.leaves)
    expr = [f"v{s}" for s in range(n_leaves)] + [""] * len(tape.ops)
    depth = [0] * len(expr)
    guards_at = collections.defaultdict(list)
    for guard in tape.guards:
        guards_at[max(guard[1], guard[2], n_leaves - 1)].append(guard)
    _write_guards(w, guards_at.get(n_leaves - 1, ()))
    emit = w.lines.append
    for s, op, operands in tape.ops:
        template, parenthesised, _, nesting = forwards[op]
        if len(operands) == 2:
            a, b = operands
            text = template.format(a=expr[a], b=expr[b])
            d = nesting + max(depth[a], depth[b])
        else:
            text = template.format(a=expr[operands[0]])
            d = nesting + depth[operands[0]]
        if s in needed or consumers[s] != 1 or d > _MAX_DEPTH:
            emit(f"    v{s} = {text[1:-1] if parenthesised else text}")  # (its outer parentheses)
            text, d = f"v{s}", 0
        expr[s], depth[s] = text, d
        if s in guards_at:
            _write_guards(w, guards_at[s])


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _write_guards(w: _Writer, guards: list) -> None:
    """Each guard as an ``if``: when the number answers differently, return None (re-trace)."""
    for name, a, b, number, answer in guards:
        other = f"v{b}" if b >= 0 else w.constant(number) if number is not None else ""
        if w.batch:  # every sample's answer, by a function passed by reference
            check = w.function(functools.partial(_batch_holds, name))
            w.emit(f"if not {check}(v{a}, {other or 'None'}, {w.constant(answer)}): return None")
        elif name == "__float__":  # the very number: same_float, by reference
            w.emit(f"if not {w.function(same_float)}(v{a}, {w.constant(answer)}): return None")
        else:
            symbol = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=", "__bool__": "!="}[name]
            question = f"v{a} {symbol} {other or w.constant(0.0)}"
            w.emit(f"if {'not ' if answer else ''}({question}): return None")


_ONE, _MINUS_ONE, _VALUE, _TEXT, _NAME = "one", "minus one", "value", "text", "name"


def _plan(w: _Writer, op: str, arity: int) -> tuple[str | None, list[tuple[str, object]]]:
    """How `op`'s backward step is written: the rule's function to call (or None), and for each
    operand its local derivative as 1, -1, an operand or result (0, 1, 2 for a, b, out), a
    template over {a} {b} {o}, or a constant's name."""
    written, function, _ = w.local(op, arity)
    if written is None:
        return function, []
    derivatives = []
    for local in written:
        if type(local) is str:
            where = ("{a}", "{b}", "{o}")
            derivatives.append((_VALUE, where.index(local)) if local in where else (_TEXT, local))
        elif type(local) is float and local == 1.0:
            derivatives.append((_ONE, None))
        elif type(local) is float and local == -1.0:
            derivatives.append((_MINUS_ONE, None))
        else:
            derivatives.append((_NAME, w.constant(local)))
    return None, derivatives


def _write_backward(w: _Writer, tape: Tape) -> dict[int, str]:
    """The chain rule, node by node in backward()'s order: each contribution ``upstream · local``
    is added in the order backward() adds it, so the floats are the same. A slot's contributions
    are collected and written as one sum when its gradient is complete (at its own step, or at the
    end for a leaf): ``t1 + t2 + t3`` is ``(t1 + t2) + t3``, and ``-0.0 + t1`` is ``t1``, exactly.
    A slot whose one contribution is ``upstream · 1`` shares the upstream's name, with no line."""
    grads: dict[int, str] = {tape.output: "seed"}
    terms: dict[int, list[str]] = collections.defaultdict(list)  # " + t" or " - t", in backward()'s order
    plans: dict[str, tuple] = {}
    emit = w.lines.append

    def settle(p: int) -> str:  # the name of slot p's gradient, its sum written out once complete
        if p not in grads:
            parts = terms.pop(p)
            if len(parts) == 1 and parts[0][:3] == " + " and parts[0][3:].isidentifier():
                grads[p] = parts[0][3:]  # one contribution, the upstream itself: the same name
            else:
                name = w.new("g")
                first = parts[0][3:] if parts[0][1] == "+" else f"-{parts[0][3:]}"
                for start in range(0, len(parts), _MAX_TERMS):  # (chunks: Python's parser nests 200 deep)
                    head = first if start == 0 else name
                    emit(f"    {name} = {head}{''.join(parts[max(start, 1):start + _MAX_TERMS])}")
                grads[p] = name
        return grads[p]

    for k in tape.backward:
        s, op, operands = tape.ops[k]
        upstream = settle(s)
        if op not in plans:
            plans[op] = _plan(w, op, len(operands))
        function, derivatives = plans[op]
        if function is not None:  # the rule called by reference: its results get names
            names = [w.new("d") for _ in operands]
            emit(f"    [{', '.join(names)}] = {function}({', '.join(f'v{p}' for p in operands)}, v{s})")
            derivatives = [(_NAME, name) for name in names]
        for p, (kind, local) in zip(operands, derivatives, strict=True):
            if kind is _ONE:
                terms[p].append(f" + {upstream}")  # (x · 1.0 is x, exactly)
            elif kind is _MINUS_ONE:
                terms[p].append(f" - {upstream}")  # (x · -1.0 is -x, and g + -x is g - x, exactly)
            elif kind is _VALUE:  # the local derivative is an operand or the result itself (a·b)
                terms[p].append(f" + {upstream} * v{(operands[0], operands[-1], s)[local]}")
            elif kind is _TEXT:
                text = local.format(a=f"v{operands[0]}", b=f"v{operands[-1]}", o=f"v{s}")
                terms[p].append(f" + {upstream} * {text}")
            else:
                terms[p].append(f" + {upstream} * {local}")
    for p in list(terms):  # the leaves' and inputs' gradients
        settle(p)
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


def write_replay(tape: Tape, shape: list[bool], sizes: list[int], lock: threading.Lock,
                 batch: bool = False) -> tuple[str, Callable]:
    """The replay of `tape` as (source, function): ``function(X, seed)`` on floats, or with `batch`
    ``function(X, seeds, n)`` on arrays of n samples, returns (output, gradients, extras) shaped
    as the arguments (`shape`: which are lists, `sizes`: their lengths), or None when a guard
    answers differently. It adds the leaves' gradients into their ``.grad`` under `lock`.

    The source is compiled once, never evaluated as a string: the function is made from the
    compiled code with `types.FunctionType`.

    The source is made of names `_write` made up and the rule table's arithmetic, nothing a user
    wrote; what it refers to (numbers, rule functions, parameters) is the tuple K, bound as a default
    argument, and it runs with no builtins at all."""
    w = _write(tape, shape, sizes, batch)
    head = "def replay(X, seed, n, K, lock):" if batch else "def replay(X, seed, K, lock):"
    unpack = [f"    [{', '.join(w.names)}] = K"] if w.names else []
    source = "\n".join([head, *unpack, *w.lines]) + "\n"
    module = compile(source, "<microgradx replay>", "exec", dont_inherit=True)
    (code,) = [c for c in module.co_consts if type(c) is types.CodeType]
    return source, types.FunctionType(code, {"__builtins__": {}}, "replay", (tuple(w.objects), lock))
