"""Defects an outside probe found (issue 16): each test fails on the code before its fix."""

from __future__ import annotations

import threading

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
