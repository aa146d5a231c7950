"""Defects an outside probe found (issue 16): each test fails on the code before its fix."""

from __future__ import annotations

import itertools
import math
import operator
import threading

import pytest

import microgradx as mg

# --- no_grad keeps no state on its instance -------------------------------------------------------


def _records() -> bool:
    return bool((mg.Value(1.0) * 2.0).parents)


def test_no_grad_as_decorator_of_a_recursive_function_restores_recording():
    @mg.no_grad()
    def countdown(n: int) -> float:
        assert not mg.is_grad_enabled()
        return 0.0 if n == 0 else countdown(n - 1) + 1.0

    assert countdown(5) == 5.0
    assert mg.is_grad_enabled() and _records()
    w = mg.Value(3.0)
    (w * w).backward()
    assert w.grad == 6.0


def test_one_no_grad_instance_entered_twice_nested_restores_each_level():
    off = mg.no_grad()
    with off:
        with off:
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()  # still inside the outer block
    assert mg.is_grad_enabled() and _records()


def test_one_no_grad_instance_shared_by_threads_leaves_each_thread_recording():
    off = mg.no_grad()
    inside = threading.Barrier(2, timeout=10)
    seen: dict[str, bool] = {}

    def work(name: str) -> None:
        with off:
            inside.wait()  # both threads are inside the same instance at once
            seen[name + " inside"] = mg.is_grad_enabled()
            inside.wait()
        seen[name + " after"] = mg.is_grad_enabled() and _records()

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert seen == {"a inside": False, "b inside": False, "a after": True, "b after": True}
    assert mg.is_grad_enabled()


def test_no_grad_restores_recording_after_an_exception():
    try:
        with mg.no_grad():
            raise KeyError("x")
    except KeyError:
        pass
    assert mg.is_grad_enabled()


def test_create_graph_inside_no_grad_gives_differentiable_grads_and_returns_to_no_grad():
    x = mg.Value(2.0)
    f = x**3
    with mg.no_grad():
        (g,) = mg.grad(f, [x], create_graph=True)
        assert not mg.is_grad_enabled()
    (h,) = mg.grad(g, [x])
    assert h == 12.0  # d²(x³)/dx² = 6x


# --- NaN and infinities propagate as in PyTorch -----------------------------------------------------

SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 2.0, 0.5, -2.5]
UNARY = {
    "neg": operator.neg,
    "abs": abs,
    **{name: operator.methodcaller(name) for name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu")},
    **{name: operator.methodcaller(name) for name in ("sin", "cos")},
}
BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


def _math_raises(name: str, v: float) -> bool:
    """Where Python's math module raises, so does microgradx (SPEC §1); PyTorch gives nan or inf."""
    try:
        getattr(math, name, lambda v: v)(v)
    except ValueError:
        return True
    return False


def _same(a: float, b: float) -> bool:
    if math.isfinite(a) and math.isfinite(b):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
    return a == b or (math.isnan(a) and math.isnan(b))


def test_relu_of_nan_is_nan_and_passes_the_gradient_as_pytorch():
    x = mg.Value(math.nan)
    y = x.relu()
    y.backward()
    assert math.isnan(y.data)
    assert x.grad == 1.0  # torch.relu's backward: the grad passes unless the input is <= 0
    assert mg.relu(-0.0).data == 0.0 and mg.relu(-1e-300).data == 0.0 and mg.relu(3.0).data == 3.0


def test_nan_propagates_through_every_operation():
    nan = mg.Value(math.nan)
    for name, f in UNARY.items():
        assert math.isnan(f(nan).data), name
    for name, f in BINARY.items():
        assert math.isnan(f(nan, mg.Value(2.0)).data), name
        assert math.isnan(f(mg.Value(2.0), nan).data), name


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_value_and_grad_at_special_points_match_pytorch(name):
    torch = pytest.importorskip("torch")
    f = UNARY[name]
    for v in SPECIAL:
        x = mg.Value(v)
        if _math_raises(name, v):
            with pytest.raises(ValueError, match=name):
                f(x)
            continue
        y = f(x)
        y.backward()
        t = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        ty = torch.abs(t) if name == "abs" else f(t)
        ty.backward()
        assert _same(y.data, ty.item()), (name, v, y.data, ty.item())
        assert _same(x.grad, t.grad.item()), (name, v, x.grad, t.grad.item())


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_value_and_grads_with_nan_or_inf_match_pytorch(name):
    torch = pytest.importorskip("torch")
    f = BINARY[name]
    for u, v in itertools.product(SPECIAL, SPECIAL):
        if all(math.isfinite(z) for z in (u, v)):
            continue  # finite points are the engine tests' business
        a, b = mg.Value(u), mg.Value(v)
        try:
            y = f(a, b)
        except (ValueError, ZeroDivisionError):
            # math-module domain errors (x / 0, a negative base to a non-integer power, 0 ** -inf)
            assert (name == "/" and v == 0.0) or (name == "**" and (u < 0.0 or u == 0.0)), (name, u, v)
            continue
        y.backward()
        ta = torch.tensor(u, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        ty = f(ta, tb)
        ty.backward()
        got, want = (y.data, a.grad, b.grad), (ty.item(), ta.grad.item(), tb.grad.item())
        assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (name, u, v, got, want)
