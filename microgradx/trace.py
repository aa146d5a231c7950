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

import functools
import math
import numbers
import operator
import threading
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
        self._compile(*self._run(example_args))

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

    def _compile(self, inputs: list[Value], output: Value, extras: list, guards: list) -> None:
        """Record the graph as a new `_Program` and put it in place in one assignment.

        Replays running in other threads keep the program they started with: a program is never
        changed once made, so a re-trace in one thread cannot mix two tapes in another's replay.
        """
        self._program = _Program(inputs, output, extras, guards)

    @property
    def tape(self) -> list[tuple[str, tuple[int, ...]]]:
        """The operations in forward order as ``(op, operand slots)``; slots below them are leaves."""
        return list(self._program.tape)

    @property
    def guards(self) -> list[tuple[str, int, int, float | None, object]]:
        """The recorded guards: ``(method, slot, other operand's slot or -1, or its number, answer)``."""
        return list(self._program.guards)

    def __len__(self) -> int:
        return len(self._program.tape)

    def __repr__(self) -> str:
        program = self._program
        return (f"Trace({getattr(self.f, '__name__', 'f')}: {len(program.leaves) + program.n_inputs} leaves, "
                f"{len(program.tape)} ops, {len(program.guards)} guards)")

    def __call__(self, *args: object) -> Replayed:
        return self._replay(args, 1.0)

    def _replay(self, args: tuple, seed: float) -> Replayed:
        """Replay on `args`; gradients are those of ``seed · f`` (the batch fallback's mean)."""
        inputs = self._flatten(args)
        program = self._program  # this replay's program, whatever other threads put in its place
        try:
            values = program.forward(inputs)
        except (ArithmeticError, ValueError):
            values = None  # an op failed: `f` itself decides below whether that is the user's error
        if values is None or not program.guards_hold(values):
            # These inputs take another branch (or fail). Run `f` on them: it raises the very
            # error the plain path raises, or builds the graph of the branch it now takes.
            recorded = self._run(args)
            if self.on_guard == "raise":
                raise GuardError(
                    f"{getattr(self.f, '__name__', 'f')}: these inputs take another branch than the traced "
                    "one (a comparison, float() or bool() of a Value answers differently); "
                    "trace again, or use on_guard='retrace'"
                )
            program = _Program(*recorded)
            with self._lock:
                self.retraces += 1
                self._program = program
            values = program.forward(inputs)
        return self._backward(program, values, seed)

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

    def _backward(self, program: _Program, values: list[float], seed: float = 1.0) -> Replayed:
        grads = program.chain_rule(values, seed, program.backward_steps)
        self._add_leaf_grads(program, grads, float)
        flat = iter(grads[: program.n_inputs])
        arg_grads = tuple(
            [next(flat) for _ in range(n)] if is_list else next(flat)
            for is_list, n in zip(self._shape, self._sizes, strict=True)
        )
        aux = tuple([values[s] for s in e] if isinstance(e, list) else values[e] for e in program.extras)
        return Replayed(values[program.output_slot], arg_grads, aux)

    def _add_leaf_grads(self, program: _Program, grads: list, total: Callable[[Any], float]) -> None:
        """Add each parameter's gradient into its ``.grad``, one replay at a time (threads share them)."""
        with self._lock:
            for s, leaf in program.leaf_grads:
                leaf.grad += total(grads[s])


class _Program:
    """One recorded graph as a tape: forward steps, backward steps and guards. Never changed once
    made, so a replay that holds one is unaffected by a re-trace in another thread."""

    def __init__(self, inputs: list[Value], output: Value, extras: list, guards: list) -> None:
        # Everything replay must compute (the output's graph, extras, guarded nodes) in the order
        # it was computed; backward steps are the output's part of it, reversed: the engine's order.
        roots = [output] + [v for e in extras for v in (e if isinstance(e, (list, tuple)) else [e])]
        roots += [v for _, node, other, _ in guards for v in (node, other) if type(v) is Value]
        forward = topological_order(*roots)
        forward.reverse()
        in_output = set(topological_order(output))

        # Slots: inputs first, in argument order (an input f never used still gets one), then the
        # other leaves, then the operations in forward order.
        slot: dict[Value, int] = {v: i for i, v in enumerate(inputs)}
        leaves = [v for v in forward if not v.parents and v not in slot]
        for v in leaves:
            slot[v] = len(slot)
        ops = [v for v in forward if v.parents]
        for v in ops:
            slot[v] = len(slot)

        def operands(v: Value) -> tuple[int, int]:  # a unary op's second slot is -1
            return slot[v.parents[0]], slot[v.parents[1]] if len(v.parents) == 2 else -1

        # One step per operation: (forward function, operand slots) in forward order and, for the
        # output's graph, (local rule, out slot, operand slots) in the order backward() visits.
        self.forward_steps = [(RULES[v.op].forward, *operands(v)) for v in ops]
        backward = [v for v in reversed(ops) if v in in_output]
        self.backward_steps = [(RULES[v.op].local, slot[v], *operands(v)) for v in backward]
        # the same with the rules on arrays, for `trace_batch`, made on a batch's first use
        names = [v.op for v in backward]
        self.batch_steps = functools.cache(
            lambda: [(arrays.local(op), *s[1:]) for op, s in zip(names, self.backward_steps, strict=True)]
        )
        self.tape = [(v.op, tuple(slot[p] for p in v.parents)) for v in ops]
        self.n_inputs = len(inputs)
        self.leaves = leaves
        self.leaf_grads = [(slot[v], v) for v in leaves if v in in_output]
        self.output_slot = slot[output]
        self.extras = [[slot[v] for v in e] if isinstance(e, (list, tuple)) else slot[e] for e in extras]
        self.guards = [  # (method, slot, other's slot or -1, other as a number, traced answer)
            (name, slot[node], slot[other] if type(other) is Value else -1,
             None if other is None or type(other) is Value else float(other), result)
            for name, node, other, result in guards
        ]
        self.size = len(slot)

    def guards_hold(self, values: list[float]) -> bool:
        """True when every guard answers for these numbers as it did when `f` was traced."""
        return all(
            _holds(name, values[a], values[b] if b >= 0 else number, result)
            for name, a, b, number, result in self.guards
        )

    def forward(self, inputs: list) -> list:
        """Every slot's number: inputs, leaves' current ``.data``, then each operation's ``forward``."""
        values = inputs + [leaf.data for leaf in self.leaves]
        append = values.append
        for fn, a, b in self.forward_steps:
            append(fn(values[a]) if b < 0 else fn(values[a], values[b]))
        return values

    def chain_rule(self, values: list, seed: object, steps: list) -> list:
        """Every slot's d(seed · output)/d slot, by the rules' ``local`` (floats, or arrays in a batch)."""
        # -0.0 is the exact additive identity, so the first contribution lands unchanged, as in backward().
        grads = [-0.0] * self.size
        grads[self.output_slot] = seed
        for local, o, a, b in steps:
            upstream = grads[o]
            if b < 0:
                (da,) = local(values[a], values[o])
                grads[a] += upstream * da
            else:
                da, db = local(values[a], values[b], values[o])
                grads[a] += upstream * da
                grads[b] += upstream * db
        return grads


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


_COMPARE = {"__lt__": operator.lt, "__le__": operator.le, "__gt__": operator.gt, "__ge__": operator.ge}


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
        program = plain._program  # this batch's program, whatever other threads put in its place
        with np.errstate(all="ignore"):  # floats overflow to inf and make nan silently: so do arrays
            try:
                values = program.forward(columns)
            except (ArithmeticError, ValueError):
                values = None  # some sample fails: the per-sample path raises the plain path's error
            if values is None or not self._guards_hold(program, values):
                with plain._lock:
                    self.fallbacks += 1
                return self._per_sample(args, n, seed)
            grads = program.chain_rule(values, np.full(n, seed), program.batch_steps())
        # each parameter's gradient: the sum over the samples
        plain._add_leaf_grads(program, grads, lambda g: float(g.sum()) if type(g) is np.ndarray else g * n)

        def rows(slots: object) -> Any:  # one sample per row
            if isinstance(slots, list):
                return np.stack([rows(s) for s in slots], axis=1) if slots else np.zeros((n, 0))
            return np.broadcast_to(np.asarray(slots, dtype=float), (n,)).copy()

        flat = iter(range(program.n_inputs))
        arg_grads = tuple(
            rows([grads[next(flat)] for _ in range(size)]) if is_list else rows(grads[next(flat)])
            for is_list, size in zip(plain._shape, plain._sizes, strict=True)
        )
        aux = tuple(rows([values[s] for s in e] if isinstance(e, list) else values[e])
                    for e in program.extras)
        return BatchReplayed(rows(values[program.output_slot]), arg_grads, aux)

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

    def _guards_hold(self, program: _Program, values: list) -> bool:
        """True when every guard answers for every sample as it did when `f` was traced."""
        np = self._np
        for name, a, b, number, result in program.guards:
            x, other = values[a], values[b] if b >= 0 else number
            if name == "__float__":  # the number escaped: it must not change, sign of 0 included
                same = ((x == result) & (np.signbit(x) == (math.copysign(1.0, result) < 0.0))
                        | (np.isnan(x) & math.isnan(result)))
            elif name == "__bool__":
                same = (x != 0.0) == result
            else:
                same = _COMPARE[name](x, other) == result
            if not np.all(same):
                return False
        return True

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
        aux = tuple(np.array([r.aux[k] for r in results]) for k in range(len(plain._program.extras)))
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
