"""Graph walks take turns (microgradx.walks): threads, re-entrant calls, signals, forks, interrupts."""

from __future__ import annotations

import gc
import math
import os
import signal
import sys
import threading
import weakref

import pytest

import microgradx as mg
from microgradx import Value


def walks_can_start_in_another_thread() -> bool:
    """Whether another thread gets the engine's walk lock at once (this one may hold it re-entrantly)."""
    got = []

    def take():
        if mg.walks._walk_lock.acquire(timeout=5):
            got.append(True)
            mg.walks._walk_lock.release()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the thread waiting for the walk lock did not finish"
    return got == [True]


def hooked_at_each_engine_line(run, act, skip_function=None):
    """Call `run()` again and again; on the k-th call, `act()` runs as the engine starts its k-th
    line (not counting `skip_function`'s). Yields each call's result, or the KeyboardInterrupt it
    raised, until a call ends before its k-th line: then every line has had its turn."""
    # The engine's math is in these files (the rules' lambdas, grad mode, the real-number edges);
    # `walks` is left out: see the test below.
    engine_files = {m.__file__ for m in (mg.engine, mg.rules, mg.gradmode, mg.realmath, mg.node)}
    k = 0
    while True:
        k += 1
        seen = 0

        def hook(frame, event, arg, k=k):
            nonlocal seen
            code = frame.f_code
            if code.co_filename in engine_files and event == "line" and code.co_name != skip_function:
                seen += 1
                if seen == k:
                    sys.settrace(None)  # what `act` runs is not counted
                    act()
            return hook

        sys.settrace(hook)
        try:
            outcome = run()
        except KeyboardInterrupt as interrupted:
            outcome = interrupted
        finally:
            sys.settrace(None)
        if seen < k:
            return
        yield outcome


def test_a_keyboard_interrupt_at_any_line_of_a_pass_leaves_nothing_behind():
    # Raise KeyboardInterrupt at the k-th line the engine runs during backward() (or grad(), or
    # topological_order()), for every k: afterwards the lock is free and the same graph, its
    # shared leaf in a new graph too, backpropagates exactly as if nothing had happened. (Not in
    # `walks.walk`'s lines, another file: a line event falls between a `with lock:` and its body, where a real
    # signal never lands, since CPython only checks for one at calls and loop jumps. A signal
    # stress run, 83,000 interrupts, is in the notes of issue 4.)
    x, w = Value(0.3, "x"), Value(-1.2, "w")
    out = (x * w).tanh() * x + w
    sech2 = 1 - math.tanh(-0.36) ** 2  # out = tanh(x·w)·x + w at x = 0.3, w = -1.2
    expected = {x: sech2 * -1.2 * 0.3 + math.tanh(-0.36), w: sech2 * 0.09 + 1}
    passes = [out.backward, lambda: mg.grad(out, [x, w]), lambda: mg.grad(out, [x], create_graph=True),
              lambda: mg.engine.topological_order(out)]

    def interrupt():
        raise KeyboardInterrupt

    for run in passes:
        tried = 0
        for outcome in hooked_at_each_engine_line(run, interrupt):
            tried += 1
            assert isinstance(outcome, KeyboardInterrupt)
            assert not mg.walks._inside_walk[0] and walks_can_start_in_another_thread()
            mg.zero_grad(mg.engine.topological_order(out))
            out.backward()
            assert x.grad == pytest.approx(expected[x], rel=1e-12)
            assert w.grad == pytest.approx(expected[w], rel=1e-12)
            assert mg.grad(x * 5.0, [x]) == [5.0]
        assert tried > 10


def test_backward_inside_backward_is_refused_and_the_graph_stays_usable(monkeypatch):
    x = Value(0.3, "x")
    out = x.tanh() * 2.0
    tanh_rule = mg.engine.RULES["tanh"]

    def reentrant(*args):  # as a __del__ or weakref callback running mid-pass might
        Value(1.0).backward()
        return tanh_rule.local(*args)

    monkeypatch.setitem(mg.engine.RULES, "tanh", tanh_rule._replace(local=reentrant))
    with pytest.raises(RuntimeError, match="inside one of them"):
        out.backward()
    monkeypatch.undo()
    x.grad = 0.0
    out.backward()
    assert x.grad == pytest.approx(2.0 * (1.0 - math.tanh(0.3) ** 2), rel=1e-12)


def test_a_walk_from_a_signal_handler_at_any_point_of_a_walk_finishes_or_is_refused():
    # A signal handler runs in the thread it interrupts. Started at each line of a walk in turn,
    # a walk of its own either runs whole (before the outer walk has begun) or is refused with
    # RuntimeError (inside it); it never waits for the outer walk, which cannot go on meanwhile.
    x = Value(0.5, "x")
    out = (x * 3.0).tanh() + x
    expected = mg.engine.topological_order(out)
    outcomes = []

    def handler():
        try:
            outcomes.append(mg.engine.topological_order(out) == expected)
        except RuntimeError:
            outcomes.append("refused")

    def scenario():
        for order in hooked_at_each_engine_line(lambda: mg.engine.topological_order(out), handler):
            assert order == expected

    thread = threading.Thread(target=scenario, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "a walk started inside a walk waited for it forever"
    assert True in outcomes and "refused" in outcomes and False not in outcomes


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_process_forked_while_another_thread_walks_can_backpropagate():
    holding, release = threading.Event(), threading.Event()

    def walk_in_progress():  # what a thread inside backward() looks like to a fork
        with mg.walks._walk_lock:
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=walk_in_progress)
    thread.start()
    holding.wait(10)
    try:
        pid = os.fork()
        if pid == 0:  # the child: it must not inherit a lock that nobody will ever release
            signal.alarm(10)
            x = Value(2.0)
            (x * x).backward()
            os._exit(0 if x.grad == 4.0 else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        thread.join(10)
    assert not thread.is_alive(), "the thread holding the walk lock did not finish"
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_the_fallback_for_interpreters_whose_floats_have_no_identity_gives_the_same_numbers(monkeypatch):
    # PyPy compares floats by value under `is`; the engine then marks walks with a float subclass.
    x, w = Value(0.3, "x"), Value(-1.2, "w")
    out = (x * w).tanh() * x + w
    want_backward = [mg.grad(out, [x, w]), mg.grad(mg.grad(out, [x], create_graph=True)[0], [x, w])]
    monkeypatch.setattr(mg.walks, "_FLOATS_HAVE_IDENTITY", False)
    mg.engine.topological_order(out)  # leaves this walk's marks behind, as a stopped walk would
    got = [mg.grad(out, [x, w]), mg.grad(mg.grad(out, [x], create_graph=True)[0], [x, w])]
    out.backward()
    assert got == want_backward and [x.grad, w.grad] == want_backward[0]


def test_an_interrupted_create_graph_pass_holds_no_graph_alive(monkeypatch):
    gc.collect()
    gc.disable()
    try:
        x = Value(0.7, "x")
        out = (x * x).tanh() * x

        def interrupted(*args):
            raise KeyboardInterrupt

        tanh_rule = mg.engine.RULES["tanh"]._replace(local=interrupted)
        monkeypatch.setitem(mg.engine.RULES, "tanh", tanh_rule)  # after sums that are Values
        with pytest.raises(KeyboardInterrupt):
            mg.grad(out, [x], create_graph=True)
        refs = [weakref.ref(v) for v in (out, x)]
        del out, x
        assert [r() for r in refs] == [None, None]  # no cycle through a half-made sum
    finally:
        gc.enable()


def test_backward_in_several_threads_through_a_shared_parameter_counts_every_pass():
    w = Value(0.999, "w")
    passes, length = 20, 3000

    def work():
        for _ in range(passes):
            v = Value(1.0)
            for _ in range(length):
                v = v * w
            v.backward()

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, mid-pass included
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(previous)
    assert not any(t.is_alive() for t in threads), "a backward thread did not finish in 60 s"
    one_pass = length * 0.999 ** (length - 1)  # d(w^n)/dw
    assert w.grad == pytest.approx(4 * passes * one_pass, rel=1e-9)
