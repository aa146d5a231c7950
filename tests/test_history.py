"""`nn.History`: what `record` stores is the model's own numbers, the updates are the optimizer's
steps, and the training page's data (loss, values, grads, decision boundary, a neuron's E(w)) agrees
with Python computing the same things independently. The page in a browser: test_history_browser.py.
"""

from __future__ import annotations

import json
import math
import re

import pytest

import microgradx as mg
import microgradx.history as history_module
from microgradx import Value
from microgradx.formatting import fmt
from microgradx.html import page_data
from microgradx.nn import MLP, History, Neuron, hinge_loss

DATA = re.compile(r'<script type="application/json" id="mgx-data">(.*?)</script>', re.S)

POINTS = [[-1.0, 0.2], [-0.5, -0.8], [0.3, 0.9], [0.9, -0.4], [0.1, 0.05], [1.2, 1.1]]
LABELS = [-1, -1, 1, 1, -1, 1]


def embedded(page: str) -> dict:
    return json.loads(DATA.search(page).group(1))


def run(steps: int = 6, momentum: float = 0.9, seed: int = 2):
    """A small MLP trained with SGD + momentum; what the model held before and after each step is
    copied here by hand, independently of History."""
    model = MLP(2, [4, 1], activation="tanh", seed=seed)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.2, momentum=momentum)
    history = History(model)
    seen = []  # (loss, values, grads, values after the step)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = hinge_loss([model(x) for x in POINTS], LABELS)
        loss.backward()
        history.record(loss)
        before = [p.data for p in model.parameters()]
        grads = [p.grad for p in model.parameters()]
        optimizer.step()
        seen.append((loss.data, before, grads, [p.data for p in model.parameters()]))
    return model, history, seen


def test_record_stores_the_models_loss_values_and_grads_and_the_optimizers_update():
    model, history, seen = run()
    assert len(history) == 6 and history.names == [name for name, _ in model.named_parameters()]
    assert history.losses == [s[0] for s in seen]
    assert history.values == [s[1] for s in seen]
    assert history.grads == [s[2] for s in seen]
    # the update is what the optimizer did (momentum included), read at the next record or at the end
    assert history.updates == [[b - a for a, b in zip(s[1], s[3], strict=True)] for s in seen]
    assert any(abs(u) > 0 for row in history.updates for u in row)


def test_history_of_parameters_uses_their_labels_and_refuses_what_is_not_a_leaf():
    w, b = Value(0.5, "w"), Value(0.0)
    history = History([w, b])
    assert history.names == ["w", "p1"] and history.model is None
    with pytest.raises(TypeError, match="Module or a list"):
        History(w)
    with pytest.raises(ValueError, match="computed by"):
        History([w * 2.0])
    with pytest.raises(ValueError, match="twice"):
        History([w, w])
    with pytest.raises(ValueError, match="no parameters"):
        History([])
    with pytest.raises(TypeError, match="record"):
        history.record("0.5")
    with pytest.raises(ValueError, match="nothing recorded"):
        history.to_html()


def test_page_shows_every_step_formatted_and_writes_the_file_atomically(tmp_path):
    model, history, seen = run()
    path = tmp_path / "run.html"
    page = history.to_html(path, title="</title><script>alert(1)</script>")
    assert path.read_text(encoding="utf-8") == page
    assert "<script>alert(1)" not in page and "&lt;/title&gt;" in page
    data = embedded(page)
    assert data["steps"] == list(range(6)) and data["total"] == 6
    assert data["loss"] == [fmt(s[0]) for s in seen]
    assert data["value"][3] == [fmt(x) for x in seen[3][1]]
    assert data["grad"][3] == [fmt(x) for x in seen[3][2]]
    assert data["update"][5] == [fmt(b - a) for a, b in zip(seen[5][1], seen[5][3], strict=True)]
    assert data["names"] == [p.label for p in model.parameters()]
    assert "connect-src" not in page and "default-src 'none'" in page
    with pytest.raises(OSError, match="missing"):
        history.to_html(tmp_path / "missing" / "run.html")
    assert not list((tmp_path).glob(".*partial*"))


def test_a_long_run_keeps_every_kth_step_within_the_page_bound(monkeypatch):
    w = Value(1.0, "w")
    history = History([w])
    for _ in range(1000):
        w.grad = 2 * w.data
        history.record(w.data**2)
        w.data -= 0.001 * w.grad
    monkeypatch.setattr(history_module, "MAX_PAGE_CELLS", 50)
    data = history.page_data()
    assert len(data["steps"]) == 50 and data["steps"][0] == 0 and data["steps"][-1] == 999
    assert data["loss"][10] == fmt(history.losses[data["steps"][10]])
    monkeypatch.setattr(history_module, "MAX_PAGE_PARAMETERS", 0)
    with pytest.raises(ValueError, match="MAX_PAGE_PARAMETERS"):
        history.page_data()


def model_class(model: MLP, point: list[float]) -> int:
    """The class the model gives a point, evaluated here with a fresh forward pass."""
    with mg.no_grad():
        return 1 if model(point).data > 0.0 else -1


@pytest.mark.parametrize("fast", [True, False], ids=["numpy", "plain"])
def test_boundary_cells_are_the_models_class_at_each_recorded_step(monkeypatch, fast):
    if fast:
        pytest.importorskip("numpy")
    else:
        monkeypatch.setattr(history_module, "_batch_forward", lambda model: None)
    model, history, _ = run()
    after = [(p.data, p.grad) for p in model.parameters()]
    data = history.page_data(data=(POINTS, LABELS))
    assert [(p.data, p.grad) for p in model.parameters()] == after  # restored
    b = data["boundary"]
    n = b["n"]
    assert b["classes"] == ["-1", "1"] and n == (history_module._GRID if fast else history_module._GRID_PLAIN)
    twin = MLP(2, [4, 1], activation="tanh", seed=99)
    for step in (0, 3, 5):
        frame = b["frames"][step]
        twin.load_state_dict(dict(zip(history.names, history.values[step], strict=True)))
        for i, j in ((0, 0), (n // 2, n // 3), (n - 1, n - 1), (n // 4, 3 * n // 4), (7, 2)):
            x = b["x"][0] + (b["x"][1] - b["x"][0]) * (i + 0.5) / n
            y = b["y"][1] - (b["y"][1] - b["y"][0]) * (j + 0.5) / n
            assert b["classes"][int(frame[j * n + i])] == fmt(model_class(twin, [x, y]))
    assert [p[:2] for p in b["points"]] == POINTS and [p[2] for p in b["points"]] == [0, 0, 1, 1, 0, 1]


def test_boundary_needs_the_model_and_two_d_points():
    w = Value(0.5, "w")
    history = History([w])
    history.record(1.0)
    with pytest.raises(ValueError, match="needs the model"):
        history.page_data(data=(POINTS, LABELS))
    _, history, _ = run(steps=1)
    with pytest.raises(ValueError, match="2-D point"):
        history.page_data(data=([[1.0, 2.0, 3.0]], [1]))
    with pytest.raises(ValueError, match="same length"):
        history.page_data(data=(POINTS, LABELS[:2]))
    with pytest.raises(TypeError, match="pair"):
        history.page_data(data=POINTS)


def test_a_neurons_error_curve_is_its_steps_own_loss_and_the_tangent_slope_is_the_grad():
    w = Value(0.5, "w")
    optimizer = mg.optim.SGD([w], lr=4.0)
    history = History([w])
    samples = [(0.0, 0.0), (1.0, 1.0)] * 3
    for x, y in samples:
        optimizer.zero_grad()
        E = 0.5 * ((w * x).sigmoid() - y) ** 2
        E.backward()
        history.record(E)
        optimizer.step()
    curve = history.page_data()["curve"]
    assert curve["name"] == "w" and len(curve["frames"]) == len(samples)
    for step, (x, y) in enumerate(samples):
        for w_at, e in zip(curve["w"][::10], curve["frames"][step][::10], strict=True):
            truth = 0.5 * (1 / (1 + math.exp(-w_at * x)) - y) ** 2  # the seed's E, in floats
            assert e == pytest.approx(truth, rel=1e-12, abs=1e-15)
        # the curve's slope at the recorded w is the recorded grad (central differences on E(w))
        h, w_k = 1e-5, history.values[step][0]
        slope = (
            0.5 * (1 / (1 + math.exp(-(w_k + h) * x)) - y) ** 2
            - 0.5 * (1 / (1 + math.exp(-(w_k - h) * x)) - y) ** 2
        ) / (2 * h)
        assert history.grads[step][0] == pytest.approx(slope, rel=1e-6, abs=1e-12)
    assert History(Neuron(3)).parameters and history.page_data(data=None)["boundary"] is None


def test_recording_a_large_model_keeps_no_graphs():
    _, history, _ = run(steps=2)
    assert history._graphs == [None, None] and history.page_data()["curve"] is None


# --- the stepper's loop: after Update, forward again with the new weights --------------------------


def seed_E(w: float, x: float = 1.0, y: float = 1.0):
    wv = Value(w, "w")
    E = 0.5 * ((wv * Value(x, "x")).sigmoid() - Value(y, "y")) ** 2
    E.label = "E"
    return E, wv


def test_the_second_forward_pass_shows_E_at_the_updated_weights():
    E, w = seed_E(0.3)
    lr = 2.0
    data = page_data(E, highlight=w, lr=lr, iterations=2)
    output = data["output"]
    truth_w, truth = 0.3, []
    for _ in range(3):  # independently: rebuild the expression at w, backward, w ← w − lr·grad
        E_k, w_k = seed_E(truth_w)
        E_k.backward()
        truth.append((truth_w, E_k.data, w_k.grad))
        truth_w -= lr * w_k.grad
    for r in (2, 3):
        shown = [
            s for s in data["steps"] if s["round"] == r and s["phase"] == "forward" and s["node"] == output
        ]
        assert len(shown) == 1
        assert shown[0]["set"] == [[output, "data", fmt(truth[r - 1][1]), "known"]]
        assert "lower than" in shown[0]["note"]
    updates = [s for s in data["steps"] if s["phase"] == "update"]
    assert [u["value"] for u in updates] == pytest.approx([truth[1][0], truth[2][0]], rel=1e-14)
    # round 2's backward uses round 2's numbers: w's grad there is the engine's at the updated w
    focus = data["focus"][0]
    grads_w = [s["after"] for s in data["steps"] if s["phase"] == "backward" and s["node"] == focus]
    assert grads_w == pytest.approx([truth[0][2], truth[1][2]], rel=1e-14)
    assert data["rounds"] == 3 and data["steps"][-1]["round"] == 3


def test_iterations_are_checked():
    E, _ = seed_E(0.3)
    with pytest.raises(ValueError, match="needs lr"):
        page_data(E, iterations=2)
    for bad in (0, 1.5, True, 10_000):
        with pytest.raises(ValueError, match="iterations"):
            page_data(E, lr=0.1, iterations=bad)
    assert page_data(E)["rounds"] == 1  # without lr: forward and backward only, as before


def diverged(steps: int, two: bool) -> History:
    """The learning-rate pitfall: E = (w·3 + b − 1)², lr = 1 overshoots more each step, to inf, then nan."""
    w, b = Value(0.5, "w"), Value(0.1, "b")
    history = History([w, b] if two else [w])
    for _ in range(steps):
        w.grad = b.grad = 0.0
        E = (w * 3.0 + b - 1.0) ** 2 if two else (w * 3.0 - 1.0) ** 2
        E.backward()
        history.record(E)
        w.data -= 1.0 * w.grad
        b.data -= 1.0 * b.grad
    return history


@pytest.mark.parametrize("two", [False, True])
def test_a_diverged_run_gives_a_page_with_its_non_finite_numbers_as_words(two, tmp_path):
    history = diverged(400, two)
    assert math.isnan(history.losses[-1]) and math.isinf(history.losses[200])
    page = embedded(history.to_html(tmp_path / "diverged.html"))  # strict JSON: no bare NaN/Infinity
    assert page["loss"][-1] == "nan" and page["loss"][200] == "inf"
    assert page["value"][-1][0] == "nan"
    curve = page["curve"]
    assert curve is not None and all(map(math.isfinite, curve["w"]))
    finite_w = [w for w, *_ in history.values if math.isfinite(w)]
    assert curve["w"][0] < min(finite_w) and curve["w"][-1] > max(finite_w)


def test_a_long_neuron_run_keeps_a_bounded_number_of_curves_and_steps():
    w, b = Value(0.5, "w"), Value(0.1, "b")
    history = History([w, b])
    n = 30_000
    for _ in range(n):
        w.grad = b.grad = 0.0
        E = 0.5 * ((w * 1.5 + b).tanh() - 1.0) ** 2
        E.backward()
        history.record(E)
        w.data -= 0.01 * w.grad
        b.data -= 0.01 * b.grad
    kept = [k for k, g in enumerate(history._graphs) if g is not None]
    assert kept[0] == 0 and kept[-1] > 0.9 * n  # the kept graphs are spread over the whole run
    page = history.page_data()
    assert len(page["steps"]) == history_module.MAX_PAGE_STEPS and page["steps"][-1] == n - 1
    frames = [f for f in page["curve"]["frames"] if f is not None]
    assert 0.9 * history_module.MAX_CURVE_FRAMES <= len(frames) <= history_module.MAX_CURVE_FRAMES
    assert page["curve"]["frames"][-1] is not None or page["curve"]["frames"][0] is not None
    size = len(json.dumps(page))
    assert size < 1_500_000, size
