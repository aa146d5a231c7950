"""microgradx.trace: a replayed tape gives the rebuild path's numbers exactly, and guards keep it honest.

The truth for every replay is the ordinary path: build the graph from fresh Values and call
``backward()`` (itself checked against finite differences and closed forms in test_engine).
Equality is exact (bit for bit), because replay calls the same forward and local functions in
the same order. The batch replay (NumPy) is held to the same exactness per sample — each sample's
output and input gradients — while the parameters' gradients, sums over the samples, may differ
by the order of those sums: they must agree to 1e-12 of the sum of the terms' magnitudes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import load_example
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx import Value, node
from microgradx.nn import MLP, hinge_loss
from microgradx.trace import GuardError, Replayed, TraceError, trace, trace_batch

try:
    import numpy as np
except ImportError:  # the batch replay's tests need the `fast` extra
    np = None
needs_numpy = pytest.mark.skipif(np is None, reason="the batch replay needs NumPy (pip install '.[fast]')")

# --- random expressions: a program of ops over three inputs, a parameter and constants -----------

BINARY = ["+", "-", "*", "/", "**", "%", "atan2", "hypot"]
UNARY = ["neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "tan", "sinh", "cosh",
         "asin", "acos", "atan", "asinh", "acosh", "atanh", "log1p", "expm1", "log2", "log10", "exp2", "sign",
         "degrees", "radians"]


def apply(op: str, a: object, b: object = None) -> Value:
    """One op on Values or numbers, the way user code writes it."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    if op == "**":
        return a**b
    if op == "%":
        return a % b
    if op == "neg":
        return -a
    if op == "abs":
        return abs(a)
    return getattr(mg, op)(a) if b is None else getattr(mg, op)(a, b)


instruction = st.one_of(  # (op, operand index, second operand: ("node", index) or ("const", number))
    st.tuples(st.sampled_from(BINARY), st.integers(0, 99), st.tuples(st.just("node"), st.integers(0, 99))),
    st.tuples(st.sampled_from(UNARY), st.integers(0, 99), st.none()),
    st.tuples(
        st.sampled_from(BINARY),
        st.integers(0, 99),
        st.tuples(st.just("const"), st.sampled_from([2, 0.5, -1.5])),
    ),
)
number = st.floats(-3.0, 3.0, allow_nan=False)


def program(instructions: list, w: Value) -> object:
    """The function under test: each instruction combines earlier nodes (inputs, w, results)."""

    def f(x0: Value, x1: Value, x2: Value) -> Value:
        nodes = [x0, x1, x2, w]
        for op, i, second in instructions:
            a = nodes[i % len(nodes)]
            if second is None:
                nodes.append(apply(op, a))
            else:
                kind, j = second
                nodes.append(apply(op, a, nodes[j % len(nodes)] if kind == "node" else j))
        return sum(nodes[4:], Value(0.0))

    return f


def rebuild(f, xs: list[float], w: Value) -> tuple[float, list[float], float] | tuple[type, str]:
    """The plain path: fresh Values, backward(); or the error it raises, as (type, message)."""
    try:
        inputs = [Value(x) for x in xs]
        w.grad = 0.0
        out = f(*inputs)
        out.backward()
    except (ArithmeticError, ValueError) as error:
        return type(error), str(error)
    return out.data, [x.grad for x in inputs], w.grad


def replay(traced, xs: list[float], w: Value) -> tuple[float, list[float], float] | tuple[type, str]:
    try:
        w.grad = 0.0
        result = traced(*xs)
    except (ArithmeticError, ValueError) as error:
        return type(error), str(error)
    return result.value, list(result.grads), w.grad


def same(a: object, b: object) -> bool:
    """Exact equality that counts nan as equal to nan."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


OUTCOMES: list[bool] = []  # per replay: True for numbers, False for a domain error (both checked)


@settings(max_examples=150, deadline=None)
@given(
    instructions=st.lists(instruction, min_size=1, max_size=12),
    example=st.lists(number, min_size=3, max_size=3),
    new=st.lists(st.lists(number, min_size=3, max_size=3), min_size=1, max_size=3),
    w_values=st.lists(number, min_size=1, max_size=3),
)
def test_replay_equals_rebuild_for_random_expressions_inputs_and_parameters(
    instructions, example, new, w_values
):
    w = Value(0.7, "w")
    f = program(instructions, w)
    try:
        traced = trace(f, *example)
    except (ArithmeticError, ValueError):
        return  # the example itself is outside the domain: nothing was recorded
    for xs, wv in zip(new, w_values * 3, strict=False):
        w.data = wv  # an "optimizer update" between replays
        expected = rebuild(f, xs, w)
        assert same(replay(traced, xs, w), expected)
        OUTCOMES.append(type(expected[0]) is float)


def test_replay_of_the_example_inputs_reproduces_the_traced_graph():
    x, y = Value(1.5), Value(-0.25)
    out = (x * y + x.sin()) / (y.exp() + 2.0) - (x**2).tanh()
    out.backward()
    traced = trace(lambda a, b: (a * b + a.sin()) / (b.exp() + 2.0) - (a**2).tanh(), 1.5, -0.25)
    result = traced(1.5, -0.25)
    assert result.value == out.data and result.grads == (x.grad, y.grad)


def test_gradients_match_central_finite_differences():
    traced = trace(lambda a, b: a.sigmoid() * b.log() + (a - b) ** 2, 0.3, 2.0)
    a, b, h = -0.4, 1.7, 1e-6
    result = traced(a, b)

    def value(a, b):
        return traced(a, b).value

    assert result.grads[0] == pytest.approx((value(a + h, b) - value(a - h, b)) / (2 * h), rel=1e-7)
    assert result.grads[1] == pytest.approx((value(a, b + h) - value(a, b - h)) / (2 * h), rel=1e-7)


# --- parameters, shapes, extra outputs --------------------------------------------------------


def test_parameters_are_read_at_each_replay_and_their_grads_accumulate_like_backward():
    w, b = Value(2.0, "w"), Value(-1.0, "b")
    traced = trace(lambda x: (w * x + b).relu() * x, 3.0)
    traced(1.0)
    traced(2.0)  # no zero_grad: .grad accumulates, as two backward() calls would
    # by hand: out = relu(w·x + b)·x, d/dw = x² and d/db = x where w·x + b > 0
    assert (w.grad, b.grad) == (1.0 + 4.0, 1.0 + 2.0)
    w.data = -5.0  # relu now cuts: the replay must see the new weight
    w.grad = b.grad = 0.0
    result = traced(2.0)
    assert result.value == 0.0 and (w.grad, b.grad) == (0.0, 0.0) and result.grads == (0.0,)


def test_list_arguments_and_extra_outputs_keep_their_shape():
    def f(xs, c):
        terms = [x * c for x in xs]
        return sum(terms, Value(0.0)), terms, c * c

    traced = trace(f, [1.0, 2.0, 3.0], 0.5)
    result = traced([4.0, 5.0, 6.0], 2.0)
    assert isinstance(result, Replayed)
    assert result.value == 30.0
    assert result.grads == ([2.0, 2.0, 2.0], 15.0)
    assert result.aux == ([8.0, 10.0, 12.0], 4.0)


def test_an_input_used_twice_and_a_shared_node_count_every_use():
    traced = trace(lambda x: (lambda s: s * s + s)(x * x), 1.0)
    # out = x⁴ + x², d/dx = 4x³ + 2x
    assert traced(3.0) == Replayed(90.0, (4 * 27.0 + 6.0,), ())


def test_unused_input_gets_zero_gradient():
    assert trace(lambda x, y: x * 2.0, 1.0, 5.0)(3.0, 4.0).grads == (2.0, 0.0)


def test_domain_errors_are_the_engines():
    traced = trace(lambda x: x.log(), 2.0)
    with pytest.raises(ValueError, match=r"log\(-1.0\)"):
        traced(-1.0)
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        trace(lambda x: 1.0 / x, 2.0)(0.0)


def test_the_tape_lists_ops_in_forward_order():
    traced = trace(lambda x, y: (x * y).exp() + y, 1.0, 2.0)
    assert [op for op, _ in traced.tape] == ["*", "exp", "+"]
    assert len(traced) == 3 and traced.guards == []


# --- guards ------------------------------------------------------------------------------------


def branchy(x: Value) -> Value:
    return x * x if x > 0 else -x  # a data-dependent branch: recorded as a guard


def test_a_flipped_comparison_retraces_and_gives_the_other_branchs_numbers():
    traced = trace(branchy, 2.0)
    assert [g[0] for g in traced.guards] == ["__gt__"]
    assert traced(3.0) == Replayed(9.0, (6.0,), ()) and traced.retraces == 0
    assert traced(-4.0) == Replayed(4.0, (-1.0,), ()) and traced.retraces == 1
    assert traced(-1.0) == Replayed(1.0, (-1.0,), ()) and traced.retraces == 1  # the new trace is kept


def test_a_flipped_guard_raises_with_on_guard_raise():
    traced = trace(branchy, 2.0, on_guard="raise")
    with pytest.raises(GuardError, match="another branch"):
        traced(-1.0)


def test_an_error_in_the_branch_not_taken_is_not_raised():
    traced = trace(lambda x: x.log() if x > 0 else x * 0.0, 2.0)
    assert traced(-1.0) == Replayed(-0.0, (0.0,), ())  # the rebuild path takes `x * 0.0` too


def test_float_and_bool_of_a_value_are_guards_too():
    # float(x) is a constant as far as the graph knows: d/dx (x · float(x)) = float(x)
    traced = trace(lambda x: x * float(x), 2.0)
    assert traced(2.0) == Replayed(4.0, (2.0,), ()) and traced.retraces == 0
    assert traced(3.0) == Replayed(9.0, (3.0,), ()) and traced.retraces == 1
    flag = trace(lambda x: x + 1.0 if x else x * 5.0, 1.0)
    assert flag(0.0) == Replayed(0.0, (5.0,), ()) and flag.retraces == 1


def test_a_comparison_between_two_values_is_guarded_on_both():
    traced = trace(lambda x, y: x - y if x > y else y - x, 2.0, 1.0)
    assert traced(1.0, 3.0) == Replayed(2.0, (-1.0, 1.0), ())


def test_comparisons_outside_a_trace_are_not_recorded_and_the_class_is_restored():
    names = ("__lt__", "__le__", "__gt__", "__ge__", "__float__", "__bool__")
    methods = {name: inspect.getattr_static(Value, name) for name in names}  # (Value's, or its base's)
    traced = trace(branchy, 2.0)
    assert Value(1.0) < 2.0 and len(traced.guards) == 1
    assert {name: inspect.getattr_static(Value, name) for name in methods} == methods
    with pytest.raises(ZeroDivisionError):
        trace(lambda x: x / 0.0 if x > 0 else x, 1.0)  # f fails while tracing
    assert {name: inspect.getattr_static(Value, name) for name in methods} == methods
    assert node.observer.get() is None  # nobody listens once the traces are over, failed or not


def test_an_asyncio_task_started_while_tracing_is_not_listened_to_after_the_trace():
    # A task copies its creator's context, the trace's observer included: once the trace is over,
    # the task's comparisons are not the trace's guards and its no_grad is the ordinary one.
    async def main():
        later = asyncio.Event()
        seen = []

        async def task():
            await later.wait()
            with mg.no_grad():
                seen.append(Value(1.0) < 2.0)
            seen.append(trace(branchy, 1.0)(2.0).value)  # a trace of its own is allowed

        def f(x):
            main.task = asyncio.get_running_loop().create_task(task())
            return x * x

        traced = trace(f, 3.0)
        later.set()
        await main.task
        return traced, seen

    traced, seen = asyncio.run(main())
    assert seen == [True, 4.0] and traced.guards == []


@settings(max_examples=60, deadline=None)
@given(threshold=number, example=number, inputs=st.lists(number, min_size=1, max_size=4))
def test_replay_equals_rebuild_for_a_branching_function(threshold, example, inputs):
    w = Value(1.3, "w")

    def f(x):
        y = x * w
        if y > threshold:  # the guard
            return (y - threshold).tanh() * x
        return y.sin() + float(w) * x  # float(w): a guard that holds (w never changes here)

    traced = trace(f, example)
    for x in inputs:
        w.grad = 0.0
        result = traced(x)
        w_replay = w.grad
        w.grad = 0.0
        xv = Value(x)
        out = f(xv)
        out.backward()
        assert (result.value, result.grads, w_replay) == (out.data, (xv.grad,), w.grad)


# --- errors ------------------------------------------------------------------------------------


def test_bad_uses_say_what_was_wrong():
    with pytest.raises(TraceError, match="must return a Value"):
        trace(lambda x: 3.0, 1.0)
    with pytest.raises(TypeError, match="real number or a list"):
        trace(lambda x: x, "1.0")
    with pytest.raises(TypeError, match="must be callable"):
        trace(3.0)
    with pytest.raises(ValueError, match="on_guard"):
        trace(lambda x: x, 1.0, on_guard="ignore")
    with pytest.raises(TraceError, match="no_grad"):
        trace(lambda x: x * 2.0, 1.0).__class__(lambda x: _frozen(x), (1.0,))
    traced = trace(lambda x: x * 2.0, 1.0)
    with pytest.raises(TypeError, match="1 arguments, got 2"):
        traced(1.0, 2.0)
    with pytest.raises(TypeError, match="real number"):
        traced("a")
    with pytest.raises(TypeError, match="list of 2 numbers"):
        trace(lambda xs: xs[0] * xs[1], [1.0, 2.0])([1.0])


def test_tracing_inside_no_grad_or_inside_a_traced_function_is_refused():
    with mg.no_grad(), pytest.raises(TraceError, match="inside no_grad"):
        trace(lambda x: x * 2.0, 1.0)
    with pytest.raises(TraceError, match="inside a traced function"):
        trace(lambda x: trace(lambda y: y, 1.0) and x, 1.0)
    assert trace(lambda x: x * 2.0, 1.0)(4.0).value == 8.0  # nothing is left switched on


def test_another_thread_is_not_affected_while_one_traces():
    started, release = threading.Event(), threading.Event()
    seen = []

    def slow(x: Value) -> Value:
        started.set()
        release.wait(5)
        return x * 2.0

    tracer = threading.Thread(target=lambda: seen.append(trace(slow, 1.0)))
    tracer.start()
    started.wait(5)
    with mg.no_grad():  # the tracing thread refuses no_grad, this one must not
        y = Value(2.0) * 3.0
    other = trace(branchy, 1.0)  # tracing in this thread meanwhile records its own guards only
    release.set()
    tracer.join(10)
    assert not tracer.is_alive(), "the tracing thread did not finish"
    assert y.op == "" and y.data == 6.0
    assert len(other.guards) == 1 and seen[0].guards == []


def _frozen(x: Value) -> Value:
    with mg.no_grad():
        y = x * 2.0
    return y + x


# --- the MLP training step, and examples/moons.py --replay ---------------------------------------


def test_mlp_sgd_steps_replayed_match_the_plain_path():
    points = [[0.5, -1.0], [1.5, 0.25], [-0.75, 0.8], [0.1, 0.1]]
    labels = [1, -1, 1, -1]

    def setup():
        model = MLP(2, [4, 4, 1], activation="relu", seed=7)
        return model, mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def loss_of(model):
        scores = [model(p) for p in points]
        return hinge_loss(scores, labels) + 1e-3 * sum((p * p for p in model.parameters()), Value(0.0))

    plain, opt_plain = setup()
    replayed, opt_replayed = setup()
    step = trace(lambda: loss_of(replayed))
    for _ in range(5):
        loss = loss_of(plain)
        opt_plain.zero_grad()
        loss.backward()
        opt_plain.step()
        opt_replayed.zero_grad()
        assert step().value == loss.data
        assert [p.grad for p in replayed.parameters()] == [p.grad for p in plain.parameters()]
        opt_replayed.step()
    assert replayed.state_dict() == plain.state_dict()


@pytest.fixture(scope="module")
def moons():
    return load_example("moons")


def test_moons_replay_trains_the_same_numbers_as_the_plain_path(moons):
    plain = moons.train(3, seed=3, log=lambda line: None)
    replayed = moons.train(3, seed=3, log=lambda line: None, replay=True)
    assert replayed[1] == plain[1]  # losses, exactly
    assert replayed[2] == plain[2]  # accuracies
    assert replayed[0].state_dict() == plain[0].state_dict()


def test_the_random_expressions_mostly_give_numbers_not_errors():
    if len(OUTCOMES) < 50:
        pytest.skip("runs after the property test")
    assert sum(OUTCOMES) > 0.5 * len(OUTCOMES)


def test_moons_main_prints_the_same_lines_with_and_without_replay(moons, capsys):
    moons.main(["--steps", "2", "--seed", "1"])
    plain = capsys.readouterr().out
    moons.main(["--steps", "2", "--seed", "1", "--replay"])
    assert capsys.readouterr().out == plain and "step   1" in plain


def test_the_replay_benchmark_runs_and_checks_its_numbers(capsys):
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "replay.py"
    spec = importlib.util.spec_from_file_location("replay_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--quick"])  # exits with an error if replay and rebuild ever disagree
    assert {"rebuild", "replay", "ratio", "trace", "floor", "floor_ratio", "first_replay"} <= set(result)
    out = capsys.readouterr().out
    assert "identical numbers" in out and "replay / float floor = " in out
    assert ("batch" in result) == (np is not None) and "replay (batch)" in out


def test_bce_loss_clamp_is_a_guard_so_replay_across_it_matches_rebuild():
    from microgradx.nn import bce_loss

    def loss(p):
        return bce_loss([p], [1.0])

    step = trace(loss, 0.5)
    for p in (0.5, 0.0, 1e-50, 0.25):  # 0 and 1e-50 fall below the clamp at log = -100
        leaf = Value(p)
        rebuilt = loss(leaf)
        rebuilt.backward()
        replayed = step(p)
        assert replayed.value == rebuilt.data and replayed.grads[0] == leaf.grad


# --- batch replay: one sample traced, the tape run over many samples with NumPy ---------------


def sum_close(batch: float, terms: list[float]) -> bool:
    """The batch's sum of per-sample gradients equals the plain path's up to the order of the sum."""
    plain = math.fsum(terms) if all(map(math.isfinite, terms)) else sum(terms)
    if not math.isfinite(plain):
        return same(batch, plain)
    return abs(batch - plain) <= 1e-12 * sum(abs(t) for t in terms)


def test_numpy_stays_optional_importing_microgradx_does_not_import_it():
    code = "import sys, microgradx; microgradx.Value(2.0).exp().backward(); print('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "False\n"


@needs_numpy
@settings(max_examples=40, deadline=None)
@given(
    op=st.sampled_from(sorted(mg.engine.RULES)),
    a=st.lists(st.floats(-50.0, 50.0) | st.sampled_from([0.0, -0.0, 2.0, -3.0]), min_size=1, max_size=6),
    b=st.sampled_from([2.0, 0.5, -1.0, 0.0, 3.0]),
)
def test_every_rule_on_an_array_gives_the_float_paths_numbers_and_errors(op, a, b):
    rule = mg.engine.RULES[op]
    binary = op in BINARY
    args = (a, [b] * len(a)) if binary else (a,)

    def on_floats(*xs):
        try:
            out = rule.forward(*xs)
            return out, [float(d) for d in rule.local(*xs, out)]
        except (ArithmeticError, ValueError) as error:
            return type(error), str(error)

    expected = [on_floats(*xs) for xs in zip(*args, strict=True)]
    errors = [e for e in expected if not isinstance(e[0], float)]
    arrays = [np.array(x) for x in args]
    try:
        out = rule.forward(*arrays)
        derivatives = mg.arrays.local(op)(*arrays, out)  # the rule as the batch replay applies it
    except (ArithmeticError, ValueError) as error:
        assert errors and (type(error), str(error)) == errors[0]  # the first bad element's error
        return
    assert not errors
    derivatives = [np.broadcast_to(d, out.shape) for d in derivatives]
    got = [(float(out[i]), [float(d[i]) for d in derivatives]) for i in range(len(a))]
    assert same(got, expected)


@needs_numpy
@settings(max_examples=100, deadline=None)
@given(
    instructions=st.lists(instruction, min_size=1, max_size=12),
    example=st.lists(number, min_size=3, max_size=3),
    batch=st.lists(st.lists(number, min_size=3, max_size=3), min_size=1, max_size=5),
    wv=number,
)
def test_batch_replay_equals_per_sample_rebuild_for_random_expressions(instructions, example, batch, wv):
    w = Value(0.7, "w")
    f = program(instructions, w)
    try:
        traced = trace_batch(f, *example)
    except (ArithmeticError, ValueError):
        return  # the example itself is outside the domain: nothing was recorded
    w.data = wv
    expected = [rebuild(f, xs, w) for xs in batch]  # each sample on its own graph
    w.grad = 0.0
    columns = [[xs[k] for xs in batch] for k in range(3)]
    errors = [e for e in expected if not isinstance(e[0], float)]
    if errors:
        with pytest.raises((ArithmeticError, ValueError)) as caught:
            traced(*columns)
        assert (caught.type, str(caught.value)) == errors[0]  # the first failing sample's error
        return
    result = traced(*columns)
    assert same(result.values.tolist(), [e[0] for e in expected])
    assert same([g.tolist() for g in result.grads], [[e[1][k] for e in expected] for k in range(3)])
    assert sum_close(w.grad, [e[2] for e in expected])


@needs_numpy
@settings(max_examples=40, deadline=None)
@given(threshold=number, example=number, inputs=st.lists(number, min_size=1, max_size=6))
def test_batch_replay_with_guards_equals_rebuild_and_falls_back_when_a_sample_flips(
    threshold, example, inputs
):
    w = Value(1.3, "w")

    def f(x):
        y = x * w
        if y > threshold:  # the guard: it may hold for some samples and not for others
            return (y - threshold).tanh() * x
        return y.sin() + float(w) * x

    traced = trace_batch(f, example)
    w.grad = 0.0
    result = traced(inputs)
    w_batch, w_terms, values, grads = w.grad, [], [], []
    for x in inputs:
        w.grad = 0.0
        xv = Value(x)
        out = f(xv)
        out.backward()
        values.append(out.data)
        grads.append(xv.grad)
        w_terms.append(w.grad)
    assert result.values.tolist() == values and result.grads[0].tolist() == grads
    assert sum_close(w_batch, w_terms)
    flipped = len({(x * 1.3 > threshold) for x in inputs} | {example * 1.3 > threshold}) > 1
    assert traced.fallbacks == (1 if flipped else 0)


@needs_numpy
def test_batch_guards_raise_with_on_guard_raise_and_no_sample_is_silently_wrong():
    traced = trace_batch(branchy, 2.0, on_guard="raise")
    assert traced([1.0, 3.0]).values.tolist() == [1.0, 9.0]
    with pytest.raises(GuardError, match="another branch"):
        traced([1.0, -3.0])


@needs_numpy
def test_a_batch_after_a_retrace_uses_the_new_branchs_rules():
    # branchy is x² for x > 0 and -x otherwise: d/dx is 2x, then -1 once the batch has retraced
    traced = trace_batch(branchy, 2.0)
    assert traced([1.0, 3.0]).grads[0].tolist() == [2.0, 6.0]
    assert traced([-1.0, -3.0]).grads[0].tolist() == [-1.0, -1.0] and traced.fallbacks == 1
    again = traced([-2.0, -5.0])  # the batch path, on the retraced tape
    assert again.values.tolist() == [2.0, 5.0] and again.grads[0].tolist() == [-1.0, -1.0]
    assert traced.fallbacks == 1


@needs_numpy
def test_batch_shapes_mean_and_closed_over_parameters():
    w = Value(2.0, "w")

    def f(xs, c):
        terms = [x * c * w for x in xs]
        return sum(terms, Value(0.0)), terms, w * w  # w·w does not depend on the sample

    traced = trace_batch(f, [1.0, 2.0], 0.5)
    result = traced([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [1.0, 0.5, 2.0], reduce="mean")
    # out_i = w·c_i·(x_i0 + x_i1); by hand: d out_i/d x_ij = w·c_i, d out_i/d c_i = w·(x_i0 + x_i1)
    assert result.values.tolist() == [6.0, 7.0, 44.0]
    # with reduce="mean", each sample's gradient is that of out_i / 3
    assert result.grads[0].shape == (3, 2)
    assert result.grads[0].ravel().tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 3, 1 / 3, 4 / 3, 4 / 3])
    assert result.grads[1].tolist() == pytest.approx([2.0, 14 / 3, 22 / 3])
    assert result.aux[0].tolist() == [[2.0, 4.0], [3.0, 4.0], [20.0, 24.0]]
    assert result.aux[1].tolist() == [4.0] * 3
    assert w.grad == pytest.approx((3.0 + 3.5 + 22.0) / 3)  # d mean(out)/dw = mean(c_i·(x_i0 + x_i1))


@needs_numpy
def test_batch_bad_uses_say_what_was_wrong():
    traced = trace_batch(lambda xs, c: xs[0] * c, [1.0, 2.0], 0.5)
    with pytest.raises(TypeError, match=r"shape \(B, 2\)"):
        traced([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(TypeError, match=r"shape \(B,\)"):
        traced([[1.0, 2.0]], [[1.0]])
    with pytest.raises(ValueError, match="argument 1 has 2 samples"):
        traced([[1.0, 2.0]], [1.0, 2.0])
    with pytest.raises(TypeError, match="2 arguments, got 1"):
        traced([[1.0, 2.0]])
    with pytest.raises(ValueError, match="reduce"):
        traced([[1.0, 2.0]], [1.0], reduce="max")
    with pytest.raises(ValueError, match="at least one sample"):
        traced(np.zeros((0, 2)), [])


@needs_numpy
def test_mlp_sgd_steps_batch_replayed_match_the_plain_path():
    points = [[0.5, -1.0], [1.5, 0.25], [-0.75, 0.8], [0.1, 0.1], [2.0, -0.5]]
    labels = [1, -1, 1, -1, 1]

    def setup():
        model = MLP(2, [4, 4, 1], activation="tanh", seed=7)
        return model, mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    plain, opt_plain = setup()
    batched, opt_batched = setup()
    hinge = trace_batch(lambda x, y: hinge_loss([batched(x)], [y]), points[0], labels[0])
    for _ in range(5):
        loss = hinge_loss([plain(p) for p in points], labels)
        opt_plain.zero_grad()
        loss.backward()
        opt_plain.step()
        opt_batched.zero_grad()
        terms = hinge(points, labels, reduce="mean").values.tolist()
        assert sum(terms) / len(terms) == pytest.approx(loss.data, rel=1e-12)
        for p, q in zip(batched.parameters(), plain.parameters(), strict=True):
            assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-15)
        opt_batched.step()


@needs_numpy
def test_moons_batch_replay_trains_the_same_numbers_as_the_plain_path(moons):
    plain = moons.train(3, seed=3, log=lambda line: None)
    batched = moons.train(3, seed=3, log=lambda line: None, replay="batch")
    assert batched[1][0] == plain[1][0]  # the first loss, before any update, exactly
    assert batched[1] == pytest.approx(plain[1], rel=1e-12)
    assert batched[2] == plain[2]  # accuracies
    params = plain[0].state_dict()
    scale = max(abs(v) for v in params.values())
    assert batched[0].state_dict() == pytest.approx(params, rel=1e-12, abs=1e-12 * scale)


@needs_numpy
def test_moons_main_replay_batch_prints_the_plain_paths_lines(moons, capsys):
    moons.main(["--steps", "3", "--seed", "1"])
    plain = capsys.readouterr().out
    moons.main(["--steps", "3", "--seed", "1", "--replay", "batch"])
    assert capsys.readouterr().out == plain and "step   2" in plain


@needs_numpy
def test_batch_domain_error_is_the_first_failing_samples_plain_error():
    traced = trace_batch(lambda x: x.log(), 2.0)
    with pytest.raises(ValueError, match=r"log\(-1.0\)"):  # the engine's message for sample 1
        traced([1.0, -1.0, -2.0])
    assert traced.fallbacks == 1
    assert traced([1.0, 4.0]).grads[0].tolist() == [1.0, 0.25] and traced.fallbacks == 1  # 1/x by hand


# --- sharing a trace between threads ---------------------------------------------------------------


def _hammer(work, threads: int = 8) -> None:
    """Run `work(k)` in `threads` threads at once, switching between them as often as Python allows."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(60)
    finally:
        sys.setswitchinterval(interval)


def test_a_trace_shared_by_threads_that_retrace_gives_every_thread_its_own_branchs_numbers():
    # Each thread alternates between the two branches, so re-traces happen all the time while
    # other threads replay: every replay must still be the rebuild path's numbers.
    def hinge(s):
        return 1 - s if s < 1 else s * 0

    step = trace(hinge, 0.5)
    wrong = []

    def work(k):
        for i in range(400):
            x = 2.39 if (i + k) % 2 else 0.5
            try:
                result = step(x)
            except Exception as error:  # an IndexError from a half-built tape, say
                wrong.append(repr(error))
                continue
            expected = (1 - x, -1.0) if x < 1 else (0.0, 0.0)
            if (result.value, result.grads[0]) != expected:
                wrong.append((x, result))

    _hammer(work)
    assert wrong == [] and step.retraces > 0


def test_parameters_grads_add_up_exactly_when_threads_share_a_trace():
    w = Value(3.0, "w")
    step = trace(lambda x: w * x, 1.0)  # d/dw = x: each replay adds x into w.grad

    def work(k):
        for _ in range(500):
            step(1.0)

    _hammer(work)
    assert w.grad == 8 * 500.0  # no addition lost to another thread's


# --- numbers read out of the graph while tracing, and what a batch takes -------------------------


def test_grad_or_backward_inside_a_traced_function_is_refused_not_frozen():
    # grad() returns numbers of the example's graph: replayed, they would stay the example's (at
    # x = 5, x·(3x²) is 375, a frozen 3·2² would give 60). backward() fills .grad the same way.
    with pytest.raises(TraceError, match=r"grad\(\) or backward\(\) inside a traced function"):
        trace(lambda x: x * mg.grad(x**3, [x])[0], 2.0)

    def reads_grad(x):
        (x**3).backward()
        return x * x.grad

    with pytest.raises(TraceError, match=r"grad\(\) or backward\(\) inside a traced function"):
        trace(reads_grad, 2.0)
    # with create_graph the derivative is part of the graph, so the replay computes it anew
    traced = trace(lambda x: x * mg.grad(x**3, [x], create_graph=True)[0], 2.0)
    assert traced(5.0) == Replayed(375.0, (225.0,), ())  # x·3x² = 3x³, d/dx = 9x²
    # and outside a trace both work as ever
    x = Value(2.0)
    assert mg.grad(x**3, [x]) == [12.0]


@pytest.mark.parametrize("zero, other", [(0.0, -0.0), (-0.0, 0.0)])
def test_float_guard_tells_minus_zero_from_zero(zero, other):
    # copysign(1, float(x)) is +1 at 0.0 and -1 at -0.0: the two zeros take different branches
    def f(x):
        return x * math.copysign(1.0, float(x))

    xv = Value(other)
    out = f(xv)
    out.backward()
    traced = trace(f, zero)
    assert same(list(traced(other)), [out.data, (xv.grad,), ()]) and traced.retraces == 1


@needs_numpy
def test_batch_float_guard_tells_minus_zero_from_zero():
    traced = trace_batch(lambda x: x * math.copysign(1.0, float(x)), 0.0)
    result = traced([0.0, -0.0])  # -0.0 takes the other sign: the batch falls back per sample
    assert result.grads[0].tolist() == [1.0, -1.0] and traced.fallbacks == 1


@needs_numpy
@pytest.mark.parametrize("bad, name", [
    ([1.0, None], "NoneType"), (["3"], "str"), ([1.0, 2 + 1j], "complex"), (np and np.array([1j]), "complex"),
])
def test_batch_refuses_what_trace_refuses(bad, name):
    traced = trace_batch(lambda x: x * 2.0, 1.0)
    with pytest.raises(TypeError, match=rf"argument 0\[\d\] must be a real number .*{name}"):
        traced(bad)
    with pytest.raises(TypeError, match="real number"):
        trace(lambda x: x * 2.0, 1.0)(bad[-1] if not isinstance(bad[-1], float) else None)
    listed = trace_batch(lambda xs: xs[0] * xs[1], [1.0, 2.0])
    with pytest.raises(TypeError, match=r"argument 0\[1\]\[0\] must be a real number"):
        listed([[1.0, 2.0], [None, 1.0]])
