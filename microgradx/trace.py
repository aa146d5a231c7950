"""Trace once, replay fast: record the graph a function builds, then rerun it on floats.

A training loop builds the same graph shape at every step. `trace(f, *example_args)` runs `f`
once on Values, records the resulting graph as a flat *tape* (one entry per operation: its rule
and the slots of its operands), and returns a `Trace`: calling it with new numbers replays the tape
forward with each rule's ``forward`` and backward with each rule's ``local`` — the very functions
the engine uses, in the order it uses them, so the numbers are the same, bit for bit — without
creating a single Value. On the first replay the tape is written out as one straight-line Python
function and compiled (`microgradx.codegen`); `Trace.source` shows it.

Leaves the function did not receive as arguments (a model's parameters, constants) are read
afresh from their ``.data`` at every replay, so optimizer updates are seen, and their gradients
are added into their ``.grad`` exactly as ``backward()`` adds them. Where `f` looks at a number
while tracing (``<``, ``<=``, ``>``, ``>=``, ``float()``, ``bool()`` on a Value), the answer is
recorded as a *guard*; a replay whose guard would answer differently re-traces `f` on the new
inputs (or raises `GuardError` with ``on_guard="raise"``), so it never returns numbers from the
wrong branch. A `Trace` is safe to share between threads. See ``docs/replay.md``.

`trace_batch(f, *one_sample)` replays the same tape over a whole batch of samples with NumPy
arrays (the ``fast`` extra): one vectorised operation per line, of the rules on arrays
(`microgradx.arrays.local`), with each guard asked of every sample and a per-sample fallback when
one flips.
"""
from __future__ import annotations

import numbers
import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from microgradx import codegen, engine, node, realmath
from microgradx.engine import Value, topological_order

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

    Made by `trace`. The tape lists the graph's operations in forward order; replay computes one
    float per slot with each rule's ``forward``, then goes over the output's part of the tape in
    the order ``backward()`` visits it, multiplying by each rule's ``local`` derivatives and adding
    in the same order, so the floats agree bit for bit: all of it one compiled function (`source`).
    Safe to call from several threads at once. ``retraces`` counts how often a flipped guard (or a
    failing operation) made it record `f` again.
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
        self._program = self._make_program(*self._run(example_args))

    def _run(self, args: tuple) -> tuple:
        """Run `f` on Values made from `args`, recording its guards; returns what `_make_program` needs."""
        if not engine.is_grad_enabled():
            raise TraceError("trace() inside no_grad(): nothing would be recorded")
        arguments = [_argument(x, f"example_args[{i}]") for i, x in enumerate(args)]
        guards: list = []
        with _recording_guards(guards):
            result = self.f(*arguments)
        output, extras = _outputs(result)
        inputs = [v for a in arguments for v in (a if isinstance(a, list) else [a])]
        return inputs, output, extras, guards

    def _make_program(self, inputs: list[Value], output: Value, extras: list, guards: list) -> _Program:
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
            program = self._make_program(*recorded)
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


# --- the tape: the recorded graph as numbered slots, compiled by `codegen` --------------------------


def _record_tape(inputs: list[Value], output: Value, extras: list, guards: list) -> codegen.Tape:
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
    return codegen.Tape(
        ops, backward, leaves, len(inputs), slot[output],
        [[slot[v] for v in e] if isinstance(e, (list, tuple)) else slot[e] for e in extras],
        [(name, slot[node], slot[other] if type(other) is Value else -1,
          None if other is None or type(other) is Value else float(other), answer)
         for name, node, other, answer in guards],
        reached,
        {op: engine.RULES[op] for op in {v.op for v in nodes}},  # (read now: an op may be redefined later)
    )


class _Program:
    """One recorded graph and its compiled replay: ``run(inputs, seed)`` returns (output, gradients,
    extras), or None when a guard answers differently. Never changed once made (its code is written
    once, on the first replay), so a replay that holds one is unaffected by a re-trace in another
    thread; each replay's numbers are local variables of its own call."""

    def __init__(self, tape: codegen.Tape, shape: list[bool], sizes: list[int], lock: threading.Lock) -> None:
        self.tape = tape
        self._args = shape, sizes, lock
        self._compiling = threading.Lock()
        self._plain: tuple[str, Callable] | None = None
        self._batch: tuple[str, Callable] | None = None

    def compiled(self, batch: bool = False) -> tuple[str, Callable]:
        """(source, function) of the replay on floats, or with ``batch=True`` on arrays of samples.

        Written and compiled on first use, not when `f` is traced: compiling costs a few times
        what tracing does (docs/replay.md), and a trace that is never replayed need not pay it."""
        done = self._batch if batch else self._plain
        if done is None:
            with self._compiling:  # once, even when threads replay for the first time together
                done = self._batch if batch else self._plain
                if done is None:
                    shape, sizes, lock = self._args
                    done = codegen.write_replay(self.tape, shape, sizes, lock, batch)
                    if batch:
                        self._batch = done
                    else:
                        self._plain = done
        return done

    def run(self, inputs: list[float], seed: float) -> tuple | None:
        """Replay on the flattened `inputs`: (output, gradients, extras), or None (a guard flipped)."""
        return (self._plain or self.compiled())[1](inputs, seed)


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
