"""mg.explore's widget model: state in, state out, against independent truths.

Each test sets the widget's synced traits as the browser would (``values``, ``lr``, the step
message) and checks what it sends back against the engine's `grad`, `explain`, central finite
differences and the seeds' hand derivations. The browser itself is tested in
test_explore_browser.py.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.engine import topological_order
from microgradx.formatting import fmt

anywidget = pytest.importorskip("anywidget")

SEED_000 = {"input": 8.0, "weight": 0.5, "goal": 0.8}


def error(input, weight, goal):
    """Seed 000: Grokking's one-weight network, E = (input·weight − goal)²."""
    pred = input * weight
    pred.label = "pred"
    E = (pred - goal) ** 2
    E.label = "E"
    return E


def neuron(w, x, y):
    """Seed 001: E = ½(σ(w·x) − y)²."""
    z = w * x
    z.label = "z"
    yhat = z.sigmoid()
    yhat.label = "ŷ"
    E = 0.5 * (yhat - y) ** 2
    E.label = "E"
    return E


def engine(f, point):
    """The graph at `point`, built here: output, forward order, dE/d(each input)."""
    inputs = {name: mg.Value(x, name) for name, x in point.items()}
    out = f(**inputs)
    grads = dict(zip(inputs, mg.grad(out, list(inputs.values())), strict=True))
    return out, topological_order(out)[::-1], grads, inputs


def central(f, point, name, h=1e-6):
    def at(x):
        with mg.no_grad():
            return f(**{n: mg.Value(x if n == name else v, n) for n, v in point.items()}).data

    return (at(point[name] + h) - at(point[name] - h)) / (2 * h)


def move(widget, **changes):
    """What a slider does: send the whole point with some inputs changed."""
    widget.values = {**widget.values, **changes}
    return widget.state


# --- importing ---------------------------------------------------------------------------------


def test_importing_microgradx_does_not_import_the_widget_library():
    code = "import sys, microgradx; print('anywidget' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_without_the_notebook_extra_explore_says_what_to_install(monkeypatch):
    module = sys.modules["microgradx.explore"]  # (mg.explore is the function)

    monkeypatch.setitem(sys.modules, "anywidget", None)  # `import anywidget` now raises ImportError
    module._widget_class.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install 'microgradx\[notebook\]'"):
            mg.explore(error, SEED_000)
    finally:
        monkeypatch.undo()
        module._widget_class.cache_clear()


# --- state in, state out -------------------------------------------------------------------------


def test_the_first_state_is_the_engines_values_grads_and_path_products():
    w = mg.explore(error, SEED_000, wrt="weight")
    out, forward, grads, inputs = engine(error, SEED_000)
    state = w.state
    assert state["output"] == {"name": "E", "data": out.data, "text": fmt(out.data)}
    assert state["data"] == [fmt(node.data) for node in forward]
    differentiated = [i for i, node in enumerate(forward) if node.parents or node.label]  # not constants
    node_grads = mg.grad(out, forward)
    assert [state["grad"][i] for i in differentiated] == [fmt(node_grads[i]) for i in differentiated]
    [d] = state["derivatives"]
    explanation = mg.explain(out, inputs["weight"])
    assert d["value"] == grads["weight"] == explanation.total == 51.2
    assert [p["product"] for p in d["paths"]] == [fmt(p.product) for p in explanation.paths]
    [path] = explanation.paths
    assert d["paths"][0]["edges"] == [[e.derivative, e.formula, fmt(e.value)] for e in path.edges]
    assert d["paths"][0]["edges"][-1] == ["∂pred/∂weight", "input", "8"]  # the input is a factor
    assert d["numeric"] == fmt(central(error, SEED_000, "weight"))


@pytest.mark.parametrize("x", [8.0, 1.0, 0.0, -1.0])
def test_moving_the_input_gives_seed_000s_scaling_stopping_and_reversal(x):
    w = mg.explore(error, SEED_000, wrt="weight")
    state = move(w, input=x)
    hand = 2 * (x * 0.5 - 0.8) * x  # dE/dweight = 2·(pred − goal)·input, derived by hand
    [d] = state["derivatives"]
    assert d["value"] == pytest.approx(hand, abs=1e-12)
    assert d["text"] == fmt(hand)
    assert state["values"] == {**SEED_000, "input": x}
    out, _, grads, _ = engine(error, {**SEED_000, "input": x})
    assert state["output"]["data"] == out.data
    assert d["value"] == grads["weight"]


@settings(max_examples=40, deadline=None)
@given(
    w=st.floats(-3, 3, allow_nan=False),
    x=st.floats(-3, 3, allow_nan=False),
    y=st.floats(0, 1, allow_nan=False),
)
def test_any_point_of_the_sigmoid_neuron_matches_grad_explain_and_finite_differences(w, x, y):
    widget = mg.explore(neuron, {"w": 0.5, "x": 1.0, "y": 1.0})
    state = move(widget, w=w, x=x, y=y)
    point = {"w": w, "x": x, "y": y}
    out, forward, grads, inputs = engine(neuron, point)
    assert [d["name"] for d in state["derivatives"]] == ["w", "x", "y"]
    for d in state["derivatives"]:
        name = d["name"]
        assert d["value"] == grads[name] == mg.explain(out, inputs[name]).total
        assert float(d["value"]) == pytest.approx(central(neuron, point, name), rel=1e-5, abs=1e-8)
    assert state["data"] == [fmt(node.data) for node in forward]


def test_each_edges_local_derivative_is_shown_and_follows_the_point():
    w = mg.explore(error, SEED_000, wrt="weight")
    state = move(w, input=-1.0)
    out, _, _, inputs = engine(error, {**SEED_000, "input": -1.0})
    [path] = mg.explain(out, inputs["weight"]).paths
    on_path = {fmt(e.value) for e in path.edges}
    assert {text.removeprefix("×") for text in state["local"]} >= on_path
    assert "×-1" in state["local"]  # ∂pred/∂weight = input = -1


def test_a_hand_formula_that_is_right_agrees_and_one_missing_the_input_is_diagnosed():
    right = mg.explore(error, SEED_000, wrt="weight", hand="2*(pred - goal)*input")
    [d] = right.state["derivatives"]
    assert d["hand"] == {"formula": "2*(pred - goal)*input", "text": "51.2", "agrees": True, "note": ""}

    def pure_error(input, weight, goal):
        return 2 * (input * weight - goal)  # the factor ∂pred/∂weight = input forgotten

    wrong = mg.explore(error, SEED_000, wrt="weight", hand={"weight": pure_error})
    [d] = wrong.state["derivatives"]
    assert d["hand"]["agrees"] is False
    assert d["hand"]["text"] == fmt(2 * (8 * 0.5 - 0.8))
    assert "input is missing" in d["hand"]["note"]
    [d] = move(wrong, input=1.0)["derivatives"]  # at input 1 the missing factor is invisible...
    assert d["hand"]["agrees"] is True
    assert "coincidence" in d["hand"]["note"]  # ...and the widget says so


# --- the descent button ------------------------------------------------------------------------


def test_the_step_button_applies_w_minus_lr_grad_and_reports_E_before_and_after():
    w = mg.explore(error, SEED_000, wrt="weight")
    w.lr = 0.005
    move(w, input=8.0)
    w._message(w, {"type": "step"}, [])  # what the button sends
    grad_w = 2 * (8 * 0.5 - 0.8) * 8
    new = 0.5 - 0.005 * grad_w
    assert w.values == {**SEED_000, "weight": new}
    before, _, _, _ = engine(error, SEED_000)
    after, _, after_grads, _ = engine(error, {**SEED_000, "weight": new})
    step = w.last_step
    assert (step["before"], step["after"]) == (before.data, after.data)
    assert step["text"] == f"E: {fmt(before.data)} → {fmt(after.data)}"
    assert step["updates"] == [f"weight ← 0.5 − 0.005 · 51.2 = {fmt(new)}"]
    assert w.state["derivatives"][0]["value"] == after_grads["weight"]
    # the error shrinks by (1 − 2·lr·input²)² per step (the seed's page derives it)
    assert after.data == pytest.approx(before.data * (1 - 2 * 0.005 * 64) ** 2)


def test_a_step_that_overshoots_grows_E_and_widens_the_weights_slider():
    w = mg.explore(error, SEED_000, wrt="weight", lr=0.1)
    record = w.step()
    assert record["after"] > record["before"]  # lr > 1/input²: out of control
    slider = next(s for s in w.sliders if s["name"] == "weight")
    assert slider["min"] <= w.values["weight"] == pytest.approx(-4.62)


def test_only_the_wrt_inputs_move_in_a_step():
    w = mg.explore(neuron, {"w": 0.5, "x": 1.5, "y": 1.0}, wrt=["w"])
    w.step()
    assert w.values["x"] == 1.5 and w.values["y"] == 1.0
    _, _, grads, _ = engine(neuron, {"w": 0.5, "x": 1.5, "y": 1.0})
    assert w.values["w"] == 0.5 - 0.01 * grads["w"]


# --- ranges, errors, shapes ----------------------------------------------------------------------


def test_default_ranges_hold_the_start_and_seed_000s_inputs_and_given_ranges_are_kept():
    w = mg.explore(error, SEED_000, ranges={"goal": (0, 1, 0.1)})
    sliders = {s["name"]: s for s in w.sliders}
    assert sliders["input"]["min"] <= -1 and sliders["input"]["max"] >= 8
    for x in (8, 1, 0, -1):  # reachable exactly by the slider's steps
        assert ((x - sliders["input"]["min"]) / sliders["input"]["step"]) % 1 == pytest.approx(0, abs=1e-9)
    assert (sliders["goal"]["min"], sliders["goal"]["max"], sliders["goal"]["step"]) == (0, 1, 0.1)
    assert [s["wrt"] for s in w.sliders] == [True, True, True]


def test_a_point_where_f_is_undefined_is_reported_and_the_next_good_point_recovers():
    w = mg.explore(lambda x: mg.log(x), {"x": 1.0})
    state = move(w, x=-1.0)
    assert "log" in state["error"] and state["values"] == {"x": -1.0}
    record = w.step()
    assert record["error"].startswith("no step") and w.values == {"x": -1.0}
    state = move(w, x=2.0)
    assert state["error"] == "" and state["derivatives"][0]["value"] == 0.5


def test_a_new_graph_shape_gets_a_new_picture():
    w = mg.explore(lambda x: x.relu() if x.data > 0 else x * x, {"x": 1.0})
    first = w.svg
    move(w, x=2.0)
    assert w.svg == first  # same shape: numbers only
    state = move(w, x=-1.0)
    assert w.svg != first and state["derivatives"][0]["value"] == -2.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"wrt": "nope"}, ValueError, "'nope' is not an input"),
        ({"wrt": []}, ValueError, "empty"),
        ({"ranges": {"input": (1, 1)}}, ValueError, "low must be below high"),
        ({"ranges": {"speed": (0, 1)}}, ValueError, "'speed'"),
        ({"ranges": {"input": "0..1"}}, TypeError, "low, high"),
        ({"hand": "2*x"}, TypeError, "dict mapping an input name"),
        ({"lr": float("nan")}, ValueError, "finite"),
        ({"wrt": "weight", "hand": "2*speed"}, ValueError, "speed"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, error, match):
    with pytest.raises(error, match=match):
        mg.explore(globals()["error"], SEED_000, **kwargs)


def test_f_must_return_a_value():
    with pytest.raises(TypeError, match="must return a Value"):
        mg.explore(lambda x: 3.0, {"x": 1.0})


def test_values_from_the_browser_are_checked():
    import traitlets

    w = mg.explore(error, SEED_000)
    with pytest.raises(traitlets.TraitError, match="a number for each"):
        w.values = {"input": 1.0}
    with pytest.raises(traitlets.TraitError, match="finite"):
        w.values = {**SEED_000, "input": float("inf")}
    assert w.values == SEED_000


@pytest.mark.parametrize("raised", [RuntimeError("boom"), KeyError("k"), AssertionError(), IndexError(3)])
def test_any_exception_of_f_is_shown_and_the_old_numbers_are_never_the_new_points(raised):
    def f(w, x):
        if w.data > 2:
            raise raised
        return w * x

    w = mg.explore(f, {"w": 0.5, "x": 2.0})
    state = move(w, w=3.0)
    assert state["values"] == {"w": 3.0, "x": 2.0} and type(raised).__name__ in state["error"]
    assert "output" not in state and "derivatives" not in state  # nothing of w = 0.5 is left
    assert w.step()["error"].startswith("no step")
    assert move(w, w=1.0)["derivatives"][0]["value"] == 2.0  # and a good point recovers


@pytest.mark.parametrize("hand", [None, {"w": "x"}, {"w": lambda w, x: x}])
def test_f_relabelling_an_input_keeps_the_inputs_name(hand):
    def f(w, x):
        w.label = "weight"
        return w * x

    state = mg.explore(f, {"w": 0.5, "x": 2.0}, hand=hand).state
    d = state["derivatives"][0]
    assert d["name"] == "w" and d["value"] == 2.0
    assert hand is None or (d["hand"]["text"] == "2" and d["hand"]["agrees"])


@pytest.mark.parametrize("x", [1e308, -1e308, 1.7976931348623157e308, 5e-324])
def test_a_start_near_the_largest_float_gets_a_finite_slider_holding_it(x):
    slider = mg.explore(lambda w: w * 1.0, {"w": x}).sliders[0]
    assert all(map(math.isfinite, (slider["min"], slider["max"], slider["step"])))
    assert slider["min"] <= x <= slider["max"] and slider["min"] < slider["max"] and slider["step"] > 0


def test_numbers_no_float_holds_or_nan_are_clear_errors():
    import traitlets

    with pytest.raises(ValueError, match=r"explore\(at\['w'\]\) is too large for a float"):
        mg.explore(lambda w: w * 1.0, {"w": 10**400})
    w = mg.explore(error, SEED_000)
    for bad in (math.nan, 10**400):
        with pytest.raises(traitlets.TraitError, match=r"values\['input'\] must be a finite number"):
            w.values = {**SEED_000, "input": bad}
    assert w.values == SEED_000


def test_many_inputs_each_get_their_derivative_and_the_first_ones_their_checks():
    from microgradx.explore import DETAILED_INPUTS

    n = 3 * DETAILED_INPUTS
    at = {f"x{i}": 0.1 * i for i in range(n)}
    builds = []

    def f(**xs):  # E = Σ x_i², so dE/dx_i = 2·x_i; x0 is used twice (2 paths)
        builds.append(1)
        return sum((x * x for x in xs.values()), mg.Value(0.0))

    w = mg.explore(f, at, hand={"x0": "2*x0", "x1": lambda **xs: 2 * xs["x1"]})
    builds.clear()
    state = move(w, x0=1.5)
    derivatives = state["derivatives"]
    assert [d["name"] for d in derivatives] == list(at)
    for d, x in zip(derivatives, {**at, "x0": 1.5}.values(), strict=True):
        assert d["value"] == pytest.approx(2 * x) and d["path_count"] == 2
    detailed, rest = derivatives[:DETAILED_INPUTS], derivatives[DETAILED_INPUTS:]
    assert all(len(d["paths"]) == 2 and d["numeric"][0].isdigit() for d in detailed)
    assert float(detailed[5]["numeric"]) == pytest.approx(1.0, rel=1e-6)  # 2·0.5 by finite differences
    assert all(d["paths"] == [] and d["numeric"].startswith("—") for d in rest)
    assert detailed[0]["hand"]["agrees"] and detailed[1]["hand"]["agrees"]
    # the work per move is bounded by DETAILED_INPUTS, not by n: builds of f, not a timing
    assert len(builds) <= 2 * DETAILED_INPUTS + 1 + 4 * 40 * 4


# --- where widgets cannot run --------------------------------------------------------------------


def test_the_bundle_has_a_static_html_display_that_says_the_live_part_needs_a_kernel():
    w = mg.explore(error, SEED_000, wrt="weight", hand="2*(pred - goal)*input")
    data, _ = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "needs a running Jupyter kernel" in data["text/plain"]
    html = data["text/html"]
    assert "live sliders need a running Jupyter kernel" in html
    assert "dE/dweight = 51.2" in html and "∂pred/∂weight = input = 8" in html
    assert "<script" not in html


def test_an_nbconvert_export_without_widget_state_shows_the_static_display():
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    w = mg.explore(error, SEED_000, wrt="weight")
    data, _ = w._repr_mimebundle_()
    cell = nbformat.v4.new_code_cell("mg.explore(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    html, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    assert "live sliders need a running Jupyter kernel" in html
    assert "dE/dweight = 51.2" in html
