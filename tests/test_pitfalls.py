"""The pitfalls of docs/pitfalls.md, asserted against hand derivations, and the "no backward() yet?" note.

Every claim of the page is recomputed here from E = ½(w·x − y)² and its hand derivative
dE/dw = (w·x − y)·x with plain floats, independently of the numbers the page prints.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.draw import NO_BACKWARD_NOTE
from microgradx.engine import topological_order

NOTE_LINE = "(every grad is 0: no backward() yet?)"
finite = st.floats(-3.0, 3.0, allow_nan=False)


def hand(w: float, x: float, y: float) -> float:
    """dE/dw of E = ½(w·x − y)², by hand."""
    return (w * x - y) * x


def squared_error(w, x, y):
    return 0.5 * (w * x - y) ** 2


# --- backward twice, forgetting zero_grad -------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(finite, finite, finite, st.integers(1, 5))
def test_each_backward_adds_the_gradient_again(w, x, y, times):
    wv = mg.Value(w, "w")
    E = squared_error(wv, x, y)
    for _ in range(times):
        E.backward()
    assert wv.grad == pytest.approx(times * hand(w, x, y), rel=1e-12, abs=1e-12)
    assert mg.grad(E, [wv])[0] == pytest.approx(hand(w, x, y), rel=1e-12, abs=1e-12)  # grad() adds nothing
    assert wv.grad == pytest.approx(times * hand(w, x, y), rel=1e-12, abs=1e-12)


def test_backward_twice_doubles_as_in_pytorch_with_retain_graph():
    torch = pytest.importorskip("torch")
    w = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    E = 0.5 * (w * 2.0 - 3.0) ** 2
    E.backward(retain_graph=True)
    E.backward()
    wv = mg.Value(0.5, "w")
    Ev = squared_error(wv, 2.0, 3.0)
    Ev.backward()
    Ev.backward()
    assert wv.grad == w.grad.item() == 2 * hand(0.5, 2.0, 3.0) == -8.0


@pytest.mark.parametrize("lr", [0.05, 0.2])
def test_without_zero_grad_each_step_uses_the_sum_of_all_gradients_so_far(lr):
    x, y = 2.0, 3.0
    w = mg.Value(0.5, "w")
    optimizer = mg.optim.SGD([w], lr=lr)
    expected_w, total = 0.5, 0.0
    for _ in range(8):
        E = squared_error(w, x, y)
        E.backward()
        total += hand(expected_w, x, y)
        assert w.grad == pytest.approx(total, rel=1e-12)
        optimizer.step()
        expected_w -= lr * total
        assert w.data == pytest.approx(expected_w, rel=1e-12)


def test_without_zero_grad_the_error_grows_again_after_passing_the_minimum():
    # The page's claim: at lr = 0.05 the stale sum keeps pushing w past the minimum (step 3 on).
    w, total, errors = 0.5, 0.0, []
    for _ in range(6):
        errors.append(0.5 * (w * 2.0 - 3.0) ** 2)
        total += hand(w, 2.0, 3.0)
        w -= 0.05 * total
    assert errors[3] < 1e-3 and errors[5] > errors[4] > errors[3]


# --- updating with an operation -------------------------------------------------------------------


def test_an_update_written_as_an_operation_grows_the_graph_and_feeds_the_first_weight():
    x, y, lr = 2.0, 3.0, 0.05
    w = first = mg.Value(0.5, "w")
    plain, sizes, total = 0.5, [], 0.0
    for _ in range(6):
        E = squared_error(w, x, y)
        E.backward()
        sizes.append(len(topological_order(E)))
        total += hand(plain, x, y)
        w = w - lr * w.grad
        plain -= lr * hand(plain, x, y)
    assert [b - a for a, b in itertools.pairwise(sizes)] == [2] * 5  # a "−" node and a constant per step
    assert first.grad == pytest.approx(total, rel=1e-12)  # the first leaf collected every step
    assert w.data == pytest.approx(plain, rel=1e-12) and w.op == "-"


def test_an_update_of_data_keeps_the_graph_and_the_leaf():
    w = mg.Value(0.5, "w")
    sizes = set()
    for _ in range(6):
        E = squared_error(w, 2.0, 3.0)
        w.grad = 0.0
        E.backward()
        sizes.add(len(topological_order(E)))
        w.data -= 0.05 * w.grad
    assert sizes == {9} and w.op == "" and w.label == "w"


def test_inside_no_grad_an_update_is_a_new_unlabelled_leaf():
    w = mg.Value(0.5, "w")
    with mg.no_grad():
        updated = w - 0.1
    assert updated is not w and updated.parents == () and updated.label == ""


# --- the learning rate ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 1.5), st.floats(0.2, 3.0), finite, finite)
def test_each_step_multiplies_the_error_by_one_minus_lr_x_squared(lr, x, w, y):
    wv = mg.Value(w, "w")
    optimizer = mg.optim.SGD([wv], lr=lr)
    factor = 1 - lr * x * x
    error0 = w * x - y
    for n in range(1, 5):
        optimizer.zero_grad()
        squared_error(wv, x, y).backward()
        optimizer.step()
        # Closed form: e_n = (1 − lr·x²)^n · e_0.
        assert wv.data * x - y == pytest.approx(factor**n * error0, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("lr", "diverges"), [(0.1, False), (0.4, False), (0.49, False), (0.51, True), (0.6, True)]
)
def test_descent_diverges_exactly_when_the_factor_exceeds_one_in_size(lr, diverges):
    x, y = 2.0, 3.0
    w = mg.Value(0.5, "w")
    optimizer = mg.optim.SGD([w], lr=lr)
    for _ in range(400):
        optimizer.zero_grad()
        squared_error(w, x, y).backward()
        optimizer.step()
    error = abs(w.data * x - y)
    assert (abs(1 - lr * x * x) > 1) is diverges
    assert (error > 2.0) is diverges and (error < 1e-3 or diverges)
    assert math.isclose(2 / x**2, 0.5)  # the critical learning rate the page names


# --- the "no backward() yet?" note --------------------------------------------------------------


def neuron():
    w, x, y = mg.Value(0.5, "w"), mg.Value(2.0, "x"), mg.Value(3.0, "y")
    E = squared_error(w, x, y)
    E.label = "E"
    return E, w


def test_to_text_ends_with_the_note_before_backward_only():
    E, _ = neuron()
    before = mg.to_text(E)
    assert before.splitlines()[-1] == NOTE_LINE == f"({NO_BACKWARD_NOTE})"
    assert before.count("no backward()") == 1
    E.backward()
    after = mg.to_text(E)
    assert "no backward()" not in after
    # The note is the only addition: the tree above it is the same text, grads aside.
    assert len(after.splitlines()) == len(before.splitlines()) - 1


def test_the_note_comes_back_when_every_grad_is_reset():
    E, _ = neuron()
    E.backward()
    mg.zero_grad(topological_order(E))
    assert mg.to_text(E).endswith(NOTE_LINE)


def test_no_note_without_operations_without_grads_shown_or_with_one_nonzero_grad():
    assert "no backward()" not in mg.to_text(mg.Value(1.0, "a"))
    assert "no backward()" not in mg.to_dot(mg.Value(1.0, "a"))
    E, w = neuron()
    assert "no backward()" not in mg.to_text(E, show_grad=False)
    assert "no backward()" not in mg.to_dot(E, show_grad=False)
    w.grad = 1e-300  # one grad set by hand is enough: the user did something
    assert "no backward()" not in mg.to_text(E) and "no backward()" not in mg.to_dot(E)


def test_draw_captions_the_note_and_keeps_the_highlight_caption():
    E, w = neuron()
    graph = mg.draw(E)
    assert NO_BACKWARD_NOTE in graph.source and "labelloc=b" in graph.source
    both = mg.to_dot(E, highlight=w)
    assert "orange: the paths from w to E" in both and NO_BACKWARD_NOTE in both
    E.backward()
    assert NO_BACKWARD_NOTE not in mg.to_dot(E)
    assert "orange: the paths from w to E" in mg.to_dot(E, highlight=w)
    assert NO_BACKWARD_NOTE not in mg.to_dot(E, highlight=w)


def test_a_summarised_drawing_also_carries_the_note():
    out = mg.Value(0.5, "x")
    for _ in range(200):
        out = out * 1.001 + 0.5
    source = mg.to_dot(out, max_nodes=50)
    assert "showing a summary" in source and NO_BACKWARD_NOTE in source
    out.backward()
    assert NO_BACKWARD_NOTE not in mg.to_dot(out, max_nodes=50)


def test_math_tanh_on_a_value_is_a_plain_float_outside_the_graph():
    w, x = mg.Value(0.5, "w"), mg.Value(2.0, "x")
    o = math.tanh(w * x)
    assert type(o) is float and o == math.tanh(1.0)  # the same number, but no node
    with pytest.raises(AttributeError, match="backward"):
        o.backward()
    node = (w * x).tanh()
    node.backward()
    assert w.grad == pytest.approx((1 - math.tanh(1.0) ** 2) * 2.0, rel=1e-15)  # hand: (1 − tanh²)·x
