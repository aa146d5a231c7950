"""The engine's math against independent truths: closed forms, finite differences, SymPy, PyTorch.

Saving graphs is in test_persistence.py; the backward walk's steps, threads and re-entrant passes
in test_steps.py; what a Value does besides the math (label, printing, comparisons, subclassing)
in test_node.py.
"""

from __future__ import annotations

import gc
import math
import sys
import threading
import weakref
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx import Value
from microgradx.engine import RULES

# --- one table drives the value and derivative tests of every unary op --------------------------

sig = lambda x: 1.0 / (1.0 + math.exp(-x))  # noqa: E731
LN2, LN10 = math.log(2), math.log(10)

UNARY = [
    # name, apply to a Value, f(x), f'(x) in closed form, points (kinks and negatives included)
    ("neg", lambda v: -v, lambda x: -x, lambda x: -1.0, [-2.0, 0.0, 3.5]),
    ("abs", abs, abs, lambda x: (x > 0) - (x < 0), [-2.0, 0.0, 3.5]),
    ("exp", Value.exp, math.exp, math.exp, [-3.0, 0.0, 1.5]),
    ("log", Value.log, math.log, lambda x: 1.0 / x, [0.1, 1.0, 7.0]),
    ("sqrt", Value.sqrt, math.sqrt, lambda x: 0.5 / math.sqrt(x), [0.01, 1.0, 9.0]),
    ("tanh", Value.tanh, math.tanh, lambda x: 1.0 - math.tanh(x) ** 2, [-2.0, 0.0, 0.7]),
    ("sigmoid", Value.sigmoid, sig, lambda x: sig(x) * (1.0 - sig(x)), [-4.0, 0.0, 2.5]),
    ("relu", Value.relu, lambda x: max(0.0, x), lambda x: 1.0 if x > 0 else 0.0, [-1.0, 0.0, 2.0]),
    ("sin", Value.sin, math.sin, math.cos, [-1.0, 0.0, 2.0]),
    ("cos", Value.cos, math.cos, lambda x: -math.sin(x), [-1.0, 0.0, 2.0]),
    ("tan", Value.tan, math.tan, lambda x: 1.0 / math.cos(x) ** 2, [-1.0, 0.0, 1.4]),
    ("sinh", Value.sinh, math.sinh, math.cosh, [-2.0, 0.0, 3.0]),
    ("cosh", Value.cosh, math.cosh, math.sinh, [-2.0, 0.0, 3.0]),
    ("asin", Value.asin, math.asin, lambda x: 1.0 / math.sqrt(1.0 - x * x), [-0.9, 0.0, 0.5]),
    ("acos", Value.acos, math.acos, lambda x: -1.0 / math.sqrt(1.0 - x * x), [-0.9, 0.0, 0.5]),
    ("atan", Value.atan, math.atan, lambda x: 1.0 / (1.0 + x * x), [-3.0, 0.0, 0.5]),
    ("asinh", Value.asinh, math.asinh, lambda x: 1.0 / math.sqrt(x * x + 1.0), [-3.0, 0.0, 0.5]),
    ("acosh", Value.acosh, math.acosh, lambda x: 1.0 / math.sqrt(x * x - 1.0), [1.5, 2.0, 10.0]),
    ("atanh", Value.atanh, math.atanh, lambda x: 1.0 / (1.0 - x * x), [-0.9, 0.0, 0.5]),
    ("log1p", Value.log1p, lambda x: math.log(1.0 + x), lambda x: 1.0 / (1.0 + x), [-0.5, 0.0, 3.0]),
    ("expm1", Value.expm1, lambda x: math.exp(x) - 1.0, math.exp, [-2.0, 0.0, 1.5]),
    ("log2", Value.log2, lambda x: math.log(x) / LN2, lambda x: 1 / (x * LN2), [0.1, 1.0, 8.0]),
    ("log10", Value.log10, lambda x: math.log(x) / LN10, lambda x: 1 / (x * LN10), [0.1, 1.0, 7.0]),
    ("exp2", Value.exp2, lambda x: 2.0**x, lambda x: 2.0**x * math.log(2), [-3.0, 0.0, 2.5]),
    ("sign", Value.sign, lambda x: (x > 0) - (x < 0), lambda x: 0.0, [-2.0, 0.0, 3.5]),
    ("degrees", Value.degrees, lambda x: x * 180 / math.pi, lambda x: 180 / math.pi, [-1.0, 0.0, 2.0]),
    ("radians", Value.radians, lambda x: x * math.pi / 180, lambda x: math.pi / 180, [-90.0, 0.0, 45.0]),
]


def _two(op: str, plain):
    """A function of two operands: microgradx's on Values, `plain` (the closed form) on two floats."""
    return lambda a, b: plain(a, b) if type(a) is type(b) is float else getattr(mg, op)(a, b)


BINARY = [
    # name, f(a, b), (∂f/∂a, ∂f/∂b) in closed form, points
    ("+", lambda a, b: a + b, lambda a, b: (1.0, 1.0), [(1.5, -2.0), (-3.0, 0.0)]),
    ("-", lambda a, b: a - b, lambda a, b: (1.0, -1.0), [(1.5, -2.0), (-3.0, 0.0)]),
    ("*", lambda a, b: a * b, lambda a, b: (b, a), [(1.5, -2.0), (-3.0, 0.0)]),
    ("/", lambda a, b: a / b, lambda a, b: (1 / b, -a / b**2), [(1.5, -2.0), (-3.0, 4.0)]),
    (
        "**",
        lambda a, b: a**b,
        lambda a, b: (b * a ** (b - 1), a**b * math.log(a)),
        [(1.5, -2.0), (2.0, 0.5), (0.3, 3.0)],
    ),
    # a % b = a − b·floor(a/b): ∂/∂a = 1, ∂/∂b = −floor(a/b) (Python's floor modulo, both signs of b)
    ("%", lambda a, b: a % b, lambda a, b: (1.0, -math.floor(a / b)), [(5.5, 2.0), (-5.5, 2.0), (5.5, -2.0)]),
    (
        "atan2",
        _two("atan2", lambda y, x: math.atan(y / x) + (math.pi if x < 0 else 0.0)),  # (y >= 0 here)
        lambda y, x: (x / (x * x + y * y), -y / (x * x + y * y)),
        [(1.5, 2.0), (0.5, -3.0), (2.0, 0.25)],
    ),
    (
        "hypot",
        _two("hypot", lambda a, b: math.sqrt(a * a + b * b)),
        lambda a, b: (a / math.sqrt(a * a + b * b), b / math.sqrt(a * a + b * b)),
        [(3.0, 4.0), (-1.5, 2.0), (0.5, -0.25)],
    ),
]


@pytest.mark.parametrize("name, apply, f, df, points", UNARY, ids=[u[0] for u in UNARY])
def test_unary_op_value_and_derivative_match_closed_form(name, apply, f, df, points):
    for x0 in points:
        x = Value(x0, "x")
        out = apply(x)
        assert out.op == name and out.parents == (x,)
        assert out.data == pytest.approx(f(x0), rel=1e-12, abs=1e-15)
        out.backward()
        assert x.grad == pytest.approx(df(x0), rel=1e-12, abs=1e-15)
        assert out.grad == 1.0


@pytest.mark.parametrize("name, f, df, points", BINARY, ids=[b[0] for b in BINARY])
def test_binary_op_value_and_derivatives_match_closed_form(name, f, df, points):
    for a0, b0 in points:
        a, b = Value(a0, "a"), Value(b0, "b")
        out = f(a, b)
        assert out.op == name and out.parents == (a, b)
        assert out.data == pytest.approx(f(a0, b0), rel=1e-12)
        out.backward()
        da, db = df(a0, b0)
        assert (a.grad, b.grad) == (pytest.approx(da, rel=1e-12), pytest.approx(db, rel=1e-12))


@pytest.mark.parametrize("name, f, df, points", BINARY, ids=[b[0] for b in BINARY])
def test_numbers_on_either_side_become_unlabelled_leaves(name, f, df, points):
    a0, b0 = points[0]
    a = Value(a0, "a")
    right, left = f(a, b0), f(a0, Value(b0, "b"))
    assert right.parents[0] is a and right.parents[1].label == "" and right.parents[1].op == ""
    assert right.parents[1].data == b0 and left.parents[0].data == a0
    assert right.data == left.data == pytest.approx(f(a0, b0))
    right.backward()
    assert a.grad == pytest.approx(df(a0, b0)[0], rel=1e-12)


def test_reflected_subtraction_keeps_the_math_order():
    a = Value(5.0, "a")
    out = 2 - a
    assert out.data == -3.0 and out.op == "-"
    assert out.parents[1] is a and out.parents[0].data == 2.0
    out.backward()
    assert a.grad == -1.0


def test_every_op_of_the_spec_has_one_rule():
    assert set(RULES) == {
        "+",
        "-",
        "*",
        "/",
        "**",
        "neg",
        "abs",
        "exp",
        "log",
        "sqrt",
        "tanh",
        "sigmoid",
        "relu",
        "sin",
        "cos",
        *"tan sinh cosh asin acos atan asinh acosh atanh log1p expm1 log2 log10 exp2".split(),  # SPEC §8
        "atan2",
        "hypot",
        "%",
        "sign",
        "degrees",
        "radians",
    }
    a, b = Value(1.0), Value(2.0)
    for out in (a - b, a / b, -a):  # no decomposition into other ops
        assert len(out.parents) in (1, 2) and all(not p.parents for p in out.parents)


@pytest.mark.parametrize("fn", ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos"])
def test_module_functions_accept_numbers_and_values(fn):
    from_number = getattr(mg, fn)(0.5)
    v = Value(0.5)
    from_value = getattr(mg, fn)(v)
    assert isinstance(from_number, Value) and from_number.op == fn
    assert from_value.parents == (v,) and from_value.data == from_number.data


def test_sigmoid_and_tanh_are_stable_at_extremes():
    for x0, s, t in [(1000.0, 1.0, 1.0), (-1000.0, 0.0, -1.0)]:
        x = Value(x0)
        out = x.sigmoid() + x.tanh()
        out.backward()
        assert x.sigmoid().data == s and x.tanh().data == t
        assert x.grad == 0.0
    assert Value(-40.0).sigmoid().data == pytest.approx(math.exp(-40.0), rel=1e-12)


def test_kinks_relu_and_abs_have_zero_derivative_at_zero():
    x = Value(0.0)
    (x.relu() + abs(x)).backward()
    assert x.grad == 0.0


def test_power_follows_real_number_rules():
    assert (Value(9.0) ** 0.5).data == 3.0
    assert (Value(-2.0) ** 3).data == -8.0
    a = Value(-2.0)
    (a**2).backward()
    assert a.grad == -4.0
    x = Value(0.0)
    (x**2).backward()
    assert x.grad == 0.0
    b = Value(3.0)
    out = 2**b
    out.backward()
    assert out.data == 8.0 and b.grad == pytest.approx(8.0 * math.log(2.0))


def test_overflow_gives_infinity_as_in_pytorch():
    assert Value(1000.0).exp().data == math.inf
    assert (Value(10.0) ** 400).data == math.inf
    assert (Value(-10.0) ** 401).data == -math.inf


# --- errors that teach ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1.0", 1j, None, [1.0], (1.0,), {}])
def test_value_rejects_non_real_data_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


def test_a_rejected_type_from_a_library_is_named_with_its_module():
    np = pytest.importorskip("numpy")
    with pytest.raises(TypeError, match=r"got numpy\.bool"):  # not "bool", which Python's own would be
        Value(np.bool_(True))
    with pytest.raises(TypeError, match=r"got numpy\.ndarray"):
        Value(np.array([1.0, 2.0]))


def test_value_rejects_a_value_as_data():
    with pytest.raises(TypeError, match="Value"):
        Value(Value(1.0))


def test_value_accepts_every_real_number():
    np = pytest.importorskip("numpy")
    for data, expected in [
        (2, 2.0),
        (True, 1.0),
        (Fraction(1, 4), 0.25),
        (np.float32(0.5), 0.5),
        (np.int64(3), 3.0),
        (2.5, 2.5),
    ]:
        v = Value(data)
        assert type(v.data) is float and v.data == expected


@pytest.mark.parametrize(
    "thunk, error, words",
    [
        (lambda: Value(0.0).log(), ValueError, ["log", "0.0"]),
        (lambda: Value(-1.0).log(), ValueError, ["log", "-1.0"]),
        (lambda: mg.log(0), ValueError, ["log"]),
        (lambda: Value(-1.0).sqrt(), ValueError, ["sqrt", "-1.0"]),
        (lambda: Value(-8.0) ** (1 / 3), ValueError, ["**", "-8.0"]),
        (lambda: Value(-8.0) ** Value(0.5), ValueError, ["**", "-8.0"]),
        (lambda: Value(1.0) / 0, ZeroDivisionError, ["/", "1.0"]),
        (lambda: 3 / Value(0.0), ZeroDivisionError, ["/", "3.0"]),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, ["**", "0.0"]),
        (lambda: Value(math.inf).sin(), ValueError, ["sin", "inf"]),
    ],
)
def test_domain_errors_follow_math_and_name_the_operation_and_value(thunk, error, words):
    with pytest.raises(error) as info:
        thunk()
    for word in words:
        assert word in str(info.value)


def test_unsupported_operands_raise_type_error():
    with pytest.raises(TypeError, match="str"):
        Value(1.0) + "2"
    with pytest.raises(TypeError, match="str"):
        "2" - Value(1.0)
    with pytest.raises(TypeError):
        _ = Value(1.0) < "x"


def test_backward_seed_must_be_a_number():
    with pytest.raises(TypeError, match="str"):
        Value(1.0).backward("1")


# --- backpropagation -----------------------------------------------------------------------------


def test_shared_subexpressions_and_diamonds_count_once_per_use():
    a = Value(3.0, "a")
    (a * a).backward()
    assert a.grad == 6.0
    x = Value(2.0, "x")
    b, c = x * 3.0, x.exp()  # diamond: x feeds two branches that meet again
    d = b * c
    d.backward()
    assert x.grad == pytest.approx(3.0 * math.exp(2.0) + 6.0 * math.exp(2.0))
    assert b.grad == pytest.approx(math.exp(2.0)) and c.grad == 6.0


def test_grads_accumulate_across_backward_calls_like_pytorch():
    w = Value(2.0, "w")
    out = w * w * 3.0
    out.backward()
    out.backward()
    assert w.grad == 24.0 and out.grad == 2.0
    mg.zero_grad([w, out])
    out.backward(0.5)
    assert w.grad == 6.0 and out.grad == 0.5


def test_a_chain_of_a_million_operations_backpropagates_under_the_default_recursion_limit():
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # CPython's default, whatever the test runner has set
    try:
        x = Value(1.0, "x")
        v = x
        for _ in range(1_000_000):
            v = v + 1.0
        v.backward()
        assert x.grad == 1.0 and v.data == 1_000_001.0
        assert mg.grad(v, [x]) == [1.0]
    finally:
        sys.setrecursionlimit(previous)


def test_sum_of_a_thousand_values():
    xs = [Value(float(i)) for i in range(1000)]
    total = sum(x * x for x in xs)
    total.backward()
    assert [x.grad for x in xs] == [2.0 * i for i in range(1000)]


def test_grad_leaves_every_grad_untouched_and_returns_zero_for_unrelated_inputs():
    w, x, unrelated = Value(0.3, "w"), Value(2.0, "x"), Value(5.0)
    out = (w * x).tanh()
    assert mg.grad(out, [w, x, unrelated]) == pytest.approx(
        [2.0 * (1 - math.tanh(0.6) ** 2), 0.3 * (1 - math.tanh(0.6) ** 2), 0.0]
    )
    assert all(v.grad == 0.0 for v in (w, x, unrelated, out))


def test_grad_rejects_non_values():
    with pytest.raises(TypeError, match="float"):
        mg.grad(1.0, [Value(1.0)])
    with pytest.raises(TypeError, match="int"):
        mg.grad(Value(1.0), [1])


HIGHER = [
    # f, [f', f'', f'''] in closed form, point
    (lambda x: x**3, [lambda x: 3 * x**2, lambda x: 6 * x, lambda x: 6.0], 1.7),
    (Value.sin, [math.cos, lambda x: -math.sin(x), lambda x: -math.cos(x)], 0.4),
    (Value.exp, [math.exp, math.exp, math.exp], -0.3),
    (Value.log, [lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3], 1.3),
    (
        Value.tanh,
        [
            lambda x: 1 - math.tanh(x) ** 2,
            lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
            lambda x: (6 * math.tanh(x) ** 2 - 2) * (1 - math.tanh(x) ** 2),
        ],
        0.5,
    ),
    (
        Value.sigmoid,
        [
            lambda x: sig(x) * (1 - sig(x)),
            lambda x: sig(x) * (1 - sig(x)) * (1 - 2 * sig(x)),
            lambda x: sig(x) * (1 - sig(x)) * (1 - 6 * sig(x) + 6 * sig(x) ** 2),
        ],
        0.8,
    ),
    (lambda x: 1 / x, [lambda x: -1 / x**2, lambda x: 2 / x**3, lambda x: -6 / x**4], 0.7),
    (Value.sqrt, [lambda x: 0.5 * x**-0.5, lambda x: -0.25 * x**-1.5, lambda x: 0.375 * x**-2.5], 2.0),
    (  # tan' = 1 + t², tan'' = 2t(1 + t²), tan''' = 2(1 + t²)(1 + 3t²)
        Value.tan,
        [
            lambda x: 1 + math.tan(x) ** 2,
            lambda x: 2 * math.tan(x) * (1 + math.tan(x) ** 2),
            lambda x: 2 * (1 + math.tan(x) ** 2) * (1 + 3 * math.tan(x) ** 2),
        ],
        0.6,
    ),
    (  # asin' = (1 − x²)^(−1/2), asin'' = x(1 − x²)^(−3/2), asin''' = (1 + 2x²)(1 − x²)^(−5/2)
        Value.asin,
        [lambda x: (1 - x * x) ** -0.5, lambda x: x * (1 - x * x) ** -1.5,
         lambda x: (1 + 2 * x * x) * (1 - x * x) ** -2.5],
        0.7,
    ),
    (  # atan' = 1/(1 + x²), atan'' = −2x/(1 + x²)², atan''' = (6x² − 2)/(1 + x²)³
        Value.atan,
        [lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2,
         lambda x: (6 * x * x - 2) / (1 + x * x) ** 3],
        0.8,
    ),
    (Value.log1p, [lambda x: 1 / (1 + x), lambda x: -1 / (1 + x) ** 2, lambda x: 2 / (1 + x) ** 3], -0.4),
    (Value.expm1, [math.exp, math.exp, math.exp], 0.3),
    (Value.sinh, [math.cosh, math.sinh, math.cosh], -0.9),
    (  # acosh' = (x² − 1)^(−1/2), acosh'' = −x(x² − 1)^(−3/2), acosh''' = (2x² + 1)(x² − 1)^(−5/2)
        Value.acosh,
        [lambda x: (x * x - 1) ** -0.5, lambda x: -x * (x * x - 1) ** -1.5,
         lambda x: (2 * x * x + 1) * (x * x - 1) ** -2.5],
        1.7,
    ),
    (  # atanh' = 1/(1 − x²), atanh'' = 2x/(1 − x²)², atanh''' = (2 + 6x²)/(1 − x²)³
        Value.atanh,
        [lambda x: 1 / (1 - x * x), lambda x: 2 * x / (1 - x * x) ** 2,
         lambda x: (2 + 6 * x * x) / (1 - x * x) ** 3],
        0.45,
    ),
    (Value.exp2, [lambda x, k=k: 2**x * math.log(2) ** k for k in (1, 2, 3)], 1.3),
    (  # hypot(x, 2): x/h, 4/h³, −12x/h⁵
        lambda x: mg.hypot(x, 2.0),
        [lambda x: x / math.hypot(x, 2), lambda x: 4 / math.hypot(x, 2) ** 3,
         lambda x: -12 * x / math.hypot(x, 2) ** 5],
        1.5,
    ),
    (
        lambda x: 2**x,
        [lambda x: 2**x * math.log(2), lambda x: 2**x * math.log(2) ** 2, lambda x: 2**x * math.log(2) ** 3],
        0.6,
    ),
]


@pytest.mark.parametrize("f, derivatives, x0", HIGHER)
def test_second_and_third_derivatives_match_closed_forms(f, derivatives, x0):
    x = Value(x0, "x")
    current = f(x)
    for order, closed_form in enumerate(derivatives, start=1):
        (current,) = mg.grad(current, [x], create_graph=True)
        assert isinstance(current, Value)
        assert current.data == pytest.approx(closed_form(x0), rel=1e-10), f"order {order}"
    assert x.grad == 0.0
    assert mg.grad(mg.grad(f(x), [x], create_graph=True)[0], [x]) == [pytest.approx(derivatives[1](x0))]


def test_mixed_second_derivative_of_two_variables():
    x, y = Value(1.5, "x"), Value(-0.5, "y")
    f = x * x * y + (x * y).sin()
    dfdx, _ = mg.grad(f, [x, y], create_graph=True)
    (d2,) = mg.grad(dfdx, [y])
    # ∂²f/∂y∂x = 2x + cos(xy) − xy·sin(xy)
    assert d2 == pytest.approx(2 * 1.5 + math.cos(-0.75) + 0.75 * math.sin(-0.75), rel=1e-12)


def test_create_graph_gives_a_value_zero_for_an_unrelated_input():
    x, other = Value(1.0), Value(2.0)
    (g,) = mg.grad(x * 2.0, [other], create_graph=True)
    assert isinstance(g, Value) and g.data == 0.0


# --- no_grad, zero_grad ---------------------------------------------------------------------------


def test_no_grad_records_no_graph_and_nests():
    a = Value(2.0)
    with mg.no_grad():
        with mg.no_grad():
            inner = a * 3.0
        outer = a + 1.0
        assert not mg.is_grad_enabled()
    after = a * a
    assert (inner.op, inner.parents, outer.parents) == ("", (), ())
    assert after.parents == (a, a) and mg.is_grad_enabled()


@pytest.mark.parametrize(
    "name, apply, point", [(u[0], u[1], (u[4][-1],)) for u in UNARY] + [(b[0], b[1], b[3][0]) for b in BINARY]
)
def test_every_op_under_no_grad_gives_a_leaf_with_the_same_value(name, apply, point):
    operands = [Value(x) for x in point]  # (a point of the op's domain, from its table)
    recorded = apply(*operands)
    with mg.no_grad():
        leaf = apply(*operands)
    assert (leaf.op, leaf.parents, leaf.label, leaf.grad, leaf.data) == ("", (), "", 0.0, recorded.data)
    assert recorded.op == name and recorded.parents == tuple(operands)


def test_no_grad_is_thread_local():
    inside, seen = threading.Event(), {}
    release = threading.Event()

    def worker():
        with mg.no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = (Value(1.0) * 2.0).parents

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    a = Value(1.0)
    seen["main"] = (a * 2.0).parents
    release.set()
    thread.join(5)
    assert not thread.is_alive(), "the worker did not finish"
    assert seen["worker"] == () and len(seen["main"]) == 2


def test_no_grad_works_as_a_decorator():
    @mg.no_grad()
    def update(v):
        return v * 2.0

    assert update(Value(1.0)).parents == ()


def test_zero_grad_resets_every_value():
    vs = [Value(1.0), Value(2.0)]
    (vs[0] * vs[1]).backward()
    mg.zero_grad(vs)
    assert [v.grad for v in vs] == [0.0, 0.0]
    with pytest.raises(TypeError, match="float"):
        mg.zero_grad([1.0])


def test_topological_order_lists_each_reachable_node_once_after_all_its_consumers():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    c = a * b
    d = (c + a).tanh() * c
    unrelated = b * 3.0
    order = mg.engine.topological_order(d)
    position = {node: i for i, node in enumerate(order)}
    assert len(order) == len(position) == 6 and order[0] is d and unrelated not in position
    assert all(position[node] < position[p] for node in order for p in node.parents)
    both = mg.engine.topological_order(d, unrelated)  # several roots: the union, still in order
    assert set(both) == set(order) | {unrelated, unrelated.parents[1]}
    assert all(both.index(node) < both.index(p) for node in both for p in node.parents)


def test_topological_order_names_a_wrong_type():
    with pytest.raises(TypeError, match="topological_order takes Values, got float"):
        mg.engine.topological_order(1.0)


# --- memory ---------------------------------------------------------------------------------------


def test_a_dropped_graph_is_freed_by_reference_counting_alone():
    gc.collect()
    gc.disable()
    try:
        x = Value(0.5, "x")
        hidden = (x * 2.0).tanh()
        out = hidden.sigmoid() + hidden
        out.backward()
        mg.grad(out, [x], create_graph=True)
        refs = [weakref.ref(v) for v in (out, hidden, *hidden.parents)]
        del out, hidden
        assert all(r() is None for r in refs[:-1])  # the leaf x is still referenced by us
        del x
        assert refs[-1]() is None
    finally:
        gc.enable()


# --- random graphs against finite differences and SymPy ------------------------------------------

SAFE_UNARY = ["tanh", "sigmoid", "sin", "cos", "exp_small", "softlog", "square", "neg"]
SAFE_BINARY = ["+", "-", "*", "div_safe"]


@st.composite
def expressions(draw, n_inputs=3, max_ops=12):
    """A random expression as a list of (kind, op, operand indices), over n_inputs inputs."""
    steps = []
    size = n_inputs
    for _ in range(draw(st.integers(1, max_ops))):
        if draw(st.booleans()):
            steps.append(("u", draw(st.sampled_from(SAFE_UNARY)), (draw(st.integers(0, size - 1)),)))
        else:
            i, j = draw(st.integers(0, size - 1)), draw(st.integers(0, size - 1))
            steps.append(("b", draw(st.sampled_from(SAFE_BINARY)), (i, j)))
        size += 1
    return steps


def build(steps, inputs, lib):
    """Evaluate steps with `lib` giving the functions (microgradx Values, floats, or SymPy)."""
    nodes = list(inputs)
    for kind, op, idx in steps:
        if kind == "u":
            a = nodes[idx[0]]
            nodes.append(
                {
                    "tanh": lib["tanh"],
                    "sigmoid": lib["sigmoid"],
                    "sin": lib["sin"],
                    "cos": lib["cos"],
                    "exp_small": lambda v: lib["exp"](lib["tanh"](v)),
                    "softlog": lambda v: lib["log"](1.0 + v * v),
                    "square": lambda v: v**2,
                    "neg": lambda v: -v,
                }[op](a)
            )
        else:
            a, b = nodes[idx[0]], nodes[idx[1]]
            nodes.append({"+": a + b, "-": a - b, "*": a * b, "div_safe": a / (1.5 + lib["sin"](b))}[op])
    return nodes[-1]


VALUE_LIB = {f: getattr(mg, f) for f in ("tanh", "sigmoid", "sin", "cos", "exp", "log")}
FLOAT_LIB = {
    "tanh": math.tanh,
    "sigmoid": sig,
    "sin": math.sin,
    "cos": math.cos,
    "exp": math.exp,
    "log": math.log,
}

points = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=3, max_size=3)


@settings(max_examples=150, deadline=None)
@given(steps=expressions(), at=points)
def test_random_graphs_match_central_finite_differences(steps, at):
    xs = [Value(v, f"x{i}") for i, v in enumerate(at)]
    out = build(steps, xs, VALUE_LIB)
    assume(math.isfinite(out.data) and abs(out.data) < 1e6)
    out.backward()
    for i in range(3):
        h = 1e-6 * max(1.0, abs(at[i]))
        up = [v + h if k == i else v for k, v in enumerate(at)]
        down = [v - h if k == i else v for k, v in enumerate(at)]
        numeric = (build(steps, up, FLOAT_LIB) - build(steps, down, FLOAT_LIB)) / (2 * h)
        assert xs[i].grad == pytest.approx(numeric, rel=1e-4, abs=1e-5)


@settings(max_examples=60, deadline=None)
@given(steps=expressions(max_ops=8), at=points)
def test_random_graphs_match_sympy_symbolic_derivatives(steps, at):
    sympy = pytest.importorskip("sympy")
    symbols = sympy.symbols("x0 x1 x2")
    sym_lib = {
        "tanh": sympy.tanh,
        "sigmoid": lambda v: 1 / (1 + sympy.exp(-v)),
        "sin": sympy.sin,
        "cos": sympy.cos,
        "exp": sympy.exp,
        "log": sympy.log,
    }
    expr = build(steps, symbols, sym_lib)
    xs = [Value(v, f"x{i}") for i, v in enumerate(at)]
    out = build(steps, xs, VALUE_LIB)
    assume(math.isfinite(out.data) and abs(out.data) < 1e6)
    grads = mg.grad(out, xs)
    subs = dict(zip(symbols, at, strict=True))
    for sym, g in zip(symbols, grads, strict=True):
        exact = float(sympy.diff(expr, sym).evalf(subs=subs))
        assert g == pytest.approx(exact, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(steps=expressions(n_inputs=1, max_ops=6), x0=st.floats(-1.5, 1.5))
def test_random_second_derivatives_match_finite_differences_of_the_first(steps, x0):
    x = Value(x0, "x")
    out = build(steps, [x], VALUE_LIB)
    assume(math.isfinite(out.data) and abs(out.data) < 1e4)
    (first,) = mg.grad(out, [x], create_graph=True)
    (second,) = mg.grad(first, [x])
    h = 1e-5

    def d1(v):
        leaf = Value(v)
        return mg.grad(build(steps, [leaf], VALUE_LIB), [leaf])[0]

    numeric = (d1(x0 + h) - d1(x0 - h)) / (2 * h)
    assert second == pytest.approx(numeric, rel=1e-4, abs=1e-4)


# --- PyTorch, where installed ------------------------------------------------------------------------


@pytest.mark.parametrize("name, apply, f, df, points", UNARY, ids=[u[0] for u in UNARY])
def test_unary_ops_match_pytorch(name, apply, f, df, points):
    torch = pytest.importorskip("torch")
    torch_fn = {"degrees": torch.rad2deg, "radians": torch.deg2rad}.get(name) or getattr(torch, name)
    for x0 in points:
        t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        t_out = torch_fn(t)
        t_out.backward()
        x = Value(x0)
        out = apply(x)
        out.backward()
        assert out.data == pytest.approx(t_out.item(), rel=1e-15, abs=1e-300)
        assert x.grad == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-15)


def test_none_as_an_operand_is_pythons_type_error_naming_nonetype():
    # a function that returns None by mistake is a beginner's classic: Python's own message names it
    x = Value(1.0)
    for thunk in (lambda: x + None, lambda: x / None, lambda: None - x, lambda: x**None, lambda: None * x):
        with pytest.raises(TypeError, match=r"unsupported operand.*NoneType"):
            thunk()
    assert x.__mul__(None) is NotImplemented and x.__sub__(None) is NotImplemented


def test_the_functions_are_importable_from_the_engine_as_in_0_1_0():
    import pickle

    from microgradx import engine, functions

    for name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "zero_grad"):
        assert getattr(engine, name) is getattr(functions, name) and name in engine.__all__
    assert pickle.loads(b"cmicrogradx.engine\ntanh\n.") is mg.tanh  # an old pickle names engine.tanh
