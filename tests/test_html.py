"""`to_html`: the step data agrees with `backward()`, the lines read as the math, nothing escapes.

The browser side (buttons, keyboard, what is displayed) is in test_html_browser.py; here the page is
checked as text and as the JSON it embeds, against backward(), hand derivations and finite differences.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import seed_neuron
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.engine import RULES, Value, topological_order
from microgradx.formatting import fmt, node_names
from microgradx.html import page_data, to_html

DATA = re.compile(r'<script type="application/json" id="mgx-data">(.*?)</script>', re.S)


def embedded(page: str) -> dict:
    """The JSON the page carries; refuses NaN/Infinity tokens, which JSON.parse would reject."""

    def reject(token: str) -> None:
        raise AssertionError(f"non-JSON number {token} embedded")

    return json.loads(DATA.search(page).group(1), parse_constant=reject)


def diamond():
    a = Value(1.5, "a")
    b = a * 2.0
    c = a.tanh()
    out = b * c + a  # a reaches out three ways
    return out, [a]


def square():
    a = Value(-0.7, "a")
    return a * a, [a]


def every_op():
    a, b = Value(0.8, "a"), Value(1.7, "b")
    t = (a * b + a / b - b**a) ** 2.0
    u = (-a).exp() + abs(a - b).sqrt() + b.log() + a.tanh() + a.sigmoid() + (a - 0.3).relu()
    return t * u + a.sin() * b.cos(), [a, b]


def seed_graph():
    E, w, x, y, _, _ = seed_neuron()
    return E, [w, x, y]


GRAPHS = {
    "seed neuron": seed_graph,
    "diamond": diamond,
    "a*a": square,
    "every op": every_op,
}


def final_grads_match_backward(output: Value, data: dict | None = None) -> None:
    """Each node's final grad in the page's data (default: `page_data`) is what backward() computes."""
    data = page_data(output) if data is None else data
    forward = topological_order(output)[::-1]
    mg.zero_grad(forward)
    output.backward()
    for node, info in zip(forward, data["nodes"], strict=True):
        if not node.parents and not node.label:
            assert info["grad"] is None  # constants are shown, not differentiated
            continue
        assert info["grad"] == pytest.approx(node.grad, rel=1e-12, abs=1e-12), info["name"]


@pytest.mark.parametrize("name", GRAPHS)
def test_final_grads_in_the_page_equal_backward(name):
    output, _ = GRAPHS[name]()
    data = embedded(to_html(output))
    final_grads_match_backward(output, data)
    assert [info["data"] for info in data["nodes"]] == [node.data for node in topological_order(output)[::-1]]


@pytest.mark.parametrize("name", GRAPHS)
def test_leaf_grads_agree_with_central_finite_differences(name):
    output, leaves = GRAPHS[name]()
    data = page_data(output)
    forward = topological_order(output)[::-1]
    for leaf in leaves:
        shown = data["nodes"][forward.index(leaf)]["grad"]
        h = 1e-6
        original = leaf.data
        leaf.data = original + h
        up = _recompute(forward)
        leaf.data = original - h
        down = _recompute(forward)
        leaf.data = original
        _recompute(forward)
        assert shown == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-7)


def _recompute(forward: list[Value]) -> float:
    """Re-run the forward pass in place (the graph's ops on the current leaf data)."""
    for node in forward:
        if node.parents:
            node.data = RULES[node.op].forward(*(p.data for p in node.parents))
    return forward[-1].data


def test_each_backward_step_is_upstream_times_local_and_sums_to_the_grad():
    output, _ = every_op()
    data = page_data(output)
    forward = topological_order(output)[::-1]
    running: dict[int, float] = {}
    final_seen: set[int] = set()
    for step in data["steps"]:
        if step["phase"] != "backward" or "from" not in step:
            continue
        child, parent = forward[step["from"]], forward[step["node"]]
        (edge,) = step["edges"]
        assert data["edges"][edge]["child"] == step["from"] and data["edges"][edge]["parent"] == step["node"]
        k = data["edges"][edge]["index"]
        # the upstream grad is complete before it is passed on (each node after all its consumers)
        assert step["from"] in final_seen or child is output
        assert step["upstream"] == data["nodes"][step["from"]]["grad"]
        # the local derivative, checked by central differences of the op's forward function
        operands = [p.data for p in child.parents]
        h = 1e-6
        bumped = [list(operands), list(operands)]
        bumped[0][k] += h
        bumped[1][k] -= h
        forward_fn = RULES[child.op].forward
        numeric = (forward_fn(*bumped[0]) - forward_fn(*bumped[1])) / (2 * h)
        assert step["local"] == pytest.approx(numeric, rel=1e-5, abs=1e-7)
        assert step["value"] == step["upstream"] * step["local"]
        before = running.get(step["node"])
        assert step["after"] == (step["value"] if before is None else before + step["value"])
        running[step["node"]] = step["after"]
        if step["set"][0][3] == "final":
            final_seen.add(step["node"])
            assert step["after"] == data["nodes"][step["node"]]["grad"]
        assert parent is forward[step["node"]]
    labelled = {i for i, n in enumerate(forward) if n.parents or n.label} - {forward.index(output)}
    assert final_seen == labelled


def test_repeated_operand_gets_one_step_per_use():
    a = Value(3.0, "a")
    out = a * a
    data = page_data(out)
    into_a = [s for s in data["steps"] if s["phase"] == "backward" and s.get("node") == 0]
    assert len(into_a) == 2
    assert [s["set"][0][3] for s in into_a] == ["partial", "final"]
    assert data["nodes"][0]["grad"] == 6.0  # d(a²)/da = 2a by hand
    assert into_a[1]["note"].startswith("Chain rule") and "3 + 3 = 6" in into_a[1]["note"]


def test_forward_steps_compute_each_operation_once_after_its_operands():
    output, _ = every_op()
    data = page_data(output)
    forward = topological_order(output)[::-1]
    done = {i for i, n in enumerate(forward) if not n.parents}
    computed = [s["node"] for s in data["steps"] if s["phase"] == "forward"]
    assert sorted(computed) == [i for i, n in enumerate(forward) if n.parents]
    for i in computed:
        assert all(forward.index(p) in done for p in forward[i].parents)
        done.add(i)
        step = next(s for s in data["steps"] if s["phase"] == "forward" and s["node"] == i)
        assert step["set"] == [[i, "data", fmt(forward[i].data), "known"]]


def line(step: dict) -> str:
    return "".join(part[0] for row in step["rows"] for part in row)


def test_seed_neuron_lines_read_as_the_hand_derivation():
    E, *_ = seed_neuron()
    data = page_data(E)
    lines = [line(s) for s in data["steps"]]
    s = 1.0 / (1.0 + math.exp(-0.3))  # σ(w·x), by hand
    dE_dyhat = s - 1.0
    local = s * (1.0 - s)
    assert "z = w·x = 0.3·1 = 0.3" in lines
    assert f"ŷ = σ(z) = σ(0.3) = {fmt(s)}" in lines
    assert f"(ŷ − y)² = ({fmt(s - 1)})² = {fmt((s - 1) ** 2)}" in lines
    assert (
        f"grad(z) += grad(ŷ) · σ(z)·(1−σ(z)) = {fmt(dE_dyhat)} · {fmt(local)} = {fmt(dE_dyhat * local)}"
        in lines
    )
    assert f"grad(w) += grad(z) · x = {fmt(dE_dyhat * local)} · 1 = {fmt(dE_dyhat * local * 1.0)}" in lines
    assert "grad(y) += grad(ŷ − y) · (-1) = " + fmt(dE_dyhat) + " · (-1) = " + fmt(-dE_dyhat) in lines
    assert lines[0] == "Inputs: w = 0.3, x = 1, y = 1"
    # the constant 0.5 and the exponent 2 are shown but never differentiated
    forward = topological_order(E)[::-1]
    constants = {i for i, n in enumerate(forward) if not n.parents and not n.label}
    assert {node_names(E)[forward[i]] for i in constants} == {"0.5", "2"}
    assert not any(s["phase"] == "backward" and s["node"] in constants for s in data["steps"])


def test_update_step_moves_the_highlighted_weight_against_its_gradient():
    E, w, *_ = seed_neuron()
    data = page_data(E, highlight=w, lr=0.5)
    (update,) = [s for s in data["steps"] if s["phase"] == "update"]
    mg.zero_grad(topological_order(E))
    E.backward()
    assert update["phase"] == "update" and update["node"] == data["focus"][0]
    assert update["value"] == pytest.approx(0.3 - 0.5 * w.grad, rel=1e-15)
    assert line(update) == f"w ← w − lr · grad(w) = 0.3 − 0.5 · ({fmt(w.grad)}) = {fmt(0.3 - 0.5 * w.grad)}"
    assert sum(s["phase"] == "update" for s in data["steps"]) == 1
    # without highlight every labelled leaf is updated; without lr nothing is
    assert sum(s["phase"] == "update" for s in page_data(E, lr=0.1)["steps"]) == 3
    assert sum(s["phase"] == "update" for s in page_data(E)["steps"]) == 0


def test_later_rounds_step_through_the_engines_pass_at_the_updated_weights_even_out_of_domain():
    # round 2 moves z to 0.5 − 0.4·(ln z + √z + 1 + √z/2) < 0: log(z) is nan in the forward pass,
    # and the backward steps still show each local derivative at the new z, by hand
    z = mg.Value(0.5, "z")
    g = (z.log() + z.sqrt()) * z
    data = page_data(g, highlight=z, lr=0.4, iterations=2)
    z2 = 0.5 - 0.4 * (math.log(0.5) + math.sqrt(0.5) + 1.0 + math.sqrt(0.5) / 2)
    assert z2 < 0
    forward = topological_order(g)[::-1]
    log_node = next(i for i, n in enumerate(forward) if n.op == "log")
    round_2 = [s for s in data["steps"] if s["phase"] == "backward" and s.get("round") == 2 and s.get("from")]
    (into_z_from_log,) = [s for s in round_2 if s["from"] == log_node]
    assert into_z_from_log["local"] == pytest.approx(1.0 / z2, rel=1e-15)  # ∂ln z/∂z = 1/z, at the new z
    assert round_2[-1]["note"].endswith("/d(that node).")


def test_highlight_marks_the_paths_from_the_weight_to_the_output():
    E, w, _, y, z, yhat = seed_neuron()
    data = page_data(E, highlight=y)
    forward = topological_order(E)[::-1]
    on_path = {forward[i] for i in data["highlight"]}
    assert y in on_path and E in on_path and yhat.parents[0] not in on_path
    assert w not in on_path and z not in on_path and yhat not in on_path


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"highlight": Value(1.0, "q")}, ValueError, "not in the graph"),
        ({"highlight": "w"}, TypeError, "must be a Value"),
        ({"lr": float("nan")}, ValueError, "finite number"),
        ({"lr": "0.1"}, ValueError, "finite number"),
        ({"lr": True}, ValueError, "finite number"),
        ({"title": 3}, TypeError, "title"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(kwargs, error, message):
    E, *_ = seed_neuron()
    with pytest.raises(error, match=message):
        to_html(E, **kwargs)


def test_output_must_be_a_value_and_only_leaves_can_be_updated():
    E, *_, z, _ = seed_neuron()
    with pytest.raises(TypeError, match="must be a Value"):
        to_html(0.5)
    with pytest.raises(ValueError, match="z is computed by"):
        to_html(E, highlight=z, lr=0.1)


HOSTILE = '</script><script>window.pwned=1</script> "q" \'s\' & <b>x</b> {{SCRIPT}}'


def test_hostile_labels_stay_text_in_json_svg_and_title():
    a = Value(2.0, HOSTILE)
    b = Value(3.0, "b&<i>")
    out = a * b
    out.label = "<img src=x onerror=alert(1)>"
    page = to_html(out, title="</title><script>window.pwned=2</script>")
    assert page.count("<script") == 2  # our data block and our own script, nothing more
    assert "<script>window.pwned" not in page and "<img" not in page and "<b>" not in page
    assert "</title><script>" not in page
    data_text = DATA.search(page).group(1)
    assert not set("<>&") & set(data_text)
    assert [n["name"] for n in embedded(page)["nodes"]][:2] == [HOSTILE, "b&<i>"]
    svg = re.search(r"<svg .*?</svg>", page, re.S).group(0)
    titles = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}title")]
    assert HOSTILE in titles and "<img src=x onerror=alert(1)>" in titles
    assert "{{SCRIPT}}" in page  # the placeholder inside a label was not expanded


def test_page_is_self_contained_and_its_policy_admits_only_its_own_script():
    E, w, *_ = seed_neuron()
    page = to_html(E, highlight=w, lr=0.5)
    urls = re.findall(r"(?:https?:)?//[\w.-]+", page)
    assert set(urls) == {"http://www.w3.org"}  # the SVG namespace name, never fetched
    assert not re.search(r"\b(?:src|href)\s*=", page.replace('href="#', ""))
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in policy
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    for text, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy


def test_writes_the_file_atomically_and_returns_the_same_html(tmp_path):
    E, *_ = seed_neuron()
    target = tmp_path / "page.html"
    target.write_text("old")
    page = to_html(E, target)
    assert target.read_text(encoding="utf-8") == page
    assert os.listdir(tmp_path) == ["page.html"]  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would make it
    with pytest.raises(OSError):
        to_html(E, tmp_path / "missing" / "page.html")
    assert not (tmp_path / "missing").exists()


def test_operand_a_is_drawn_above_operand_b_when_nothing_else_decides():
    # y is made before ŷ (so it comes first in forward order), yet ŷ − y draws ŷ, its operand a,
    # above y, matching the a/b ports of the badge: no crossing arrows.
    y = Value(1.0, "y")
    yhat = Value(0.3, "w").sigmoid()
    yhat.label = "ŷ"
    page = to_html(yhat - y)
    forward = topological_order(yhat - y)[::-1]
    data = embedded(page)
    index = {info["name"]: i for i, info in enumerate(data["nodes"])}
    card_y = r'id="n{}-data"[^>]* y="([\d.]+)"'
    top = {name: float(re.search(card_y.format(i), page).group(1)) for name, i in index.items()}
    assert forward.index(y) < forward.index(yhat) and top["ŷ"] < top["y"]


def test_non_finite_numbers_are_embedded_as_strings():
    a = Value(1000.0, "a")
    out = a.exp() * 0.0 + a  # exp overflows to inf; inf·0 is nan
    data = embedded(to_html(out))
    assert "inf" in [n["data"] for n in data["nodes"]]
    assert any(n["grad"] == "nan" for n in data["nodes"])


def test_the_docs_page_is_the_seed_neuron_as_backward_computes_it():
    page = (Path(__file__).parent.parent / "docs" / "sigmoid_neuron.html").read_text(encoding="utf-8")
    data = embedded(page)
    E, w, *_ = seed_neuron()
    E.backward()
    forward = topological_order(E)[::-1]
    assert [n["data"] for n in data["nodes"]] == [n.data for n in forward]
    for node, info in zip(forward, data["nodes"], strict=True):
        if node.parents or node.label:
            assert info["grad"] == pytest.approx(node.grad, rel=1e-12)
    (update,) = [s for s in data["steps"] if s["phase"] == "update"]
    assert update["value"] == pytest.approx(0.3 - 0.5 * w.grad)  # w ← w − lr·grad
    # and it is the page today's to_html writes (the API page's own call), not a stale copy
    fresh, w_fresh, *_ = seed_neuron()
    assert page == to_html(fresh, highlight=w_fresh, lr=0.5, title="The sigmoid neuron  E = ½(σ(w·x) − y)²")


def test_making_the_page_leaves_every_grad_and_value_untouched():
    E, w, *_ = seed_neuron()
    forward = topological_order(E)[::-1]
    w.grad = 7.0  # e.g. left over from an earlier backward()
    before = [(n.data, n.grad) for n in forward]
    data = page_data(E, highlight=w, lr=0.5)
    assert [(n.data, n.grad) for n in forward] == before
    assert data["nodes"][forward.index(w)]["grad"] != 7.0  # the page shows dE/dw, not the stale grad
    assert mg.to_html is to_html


def test_output_that_is_a_leaf_has_just_the_start_and_the_seed():
    a = Value(2.0, "a")
    data = page_data(a)
    assert [s["phase"] for s in data["steps"]] == ["start", "backward"]
    assert data["nodes"][0]["grad"] == 1.0


def test_a_long_chain_needs_no_recursion():
    x = Value(0.5, "x")
    out = x
    for _ in range(1200):  # deeper than the default recursion limit
        out = out * 1.0001 + 0.0
    page = to_html(out)
    data = embedded(page)
    mg.zero_grad(topological_order(out))
    out.backward()
    assert data["nodes"][0]["grad"] == pytest.approx(x.grad, rel=1e-12)


OPS = ["+", "-", "*", "tanh", "sigmoid", "sin"]


@st.composite
def random_graphs(draw):
    """Small random graphs whose operations pick operands among earlier nodes: diamonds and repeats."""
    count = draw(st.integers(1, 3))
    nodes = [Value(draw(st.floats(-2, 2)), f"x{i}") for i in range(count)]
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(OPS))
        a = draw(st.sampled_from(nodes))
        if op in ("+", "-", "*"):
            b = draw(st.sampled_from([*nodes, 0.5]))
            nodes.append({"+": a + b, "-": a - b, "*": a * b}[op])
        else:
            nodes.append(getattr(a, op)())
    return nodes[-1]


@settings(max_examples=40, deadline=None)
@given(random_graphs())
def test_random_graphs_final_grads_equal_backward(output):
    final_grads_match_backward(output)


def test_the_docs_page_is_what_the_api_pages_example_writes_today(tmp_path, monkeypatch):
    """docs/sigmoid_neuron.html is to_html's output, committed so that the notebooks can link to it:
    byte for byte what the API page's example writes (run that example in docs/ to remake it)."""
    api = (Path(__file__).parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", api, re.S)
    (example,) = [block for block in blocks if '"sigmoid_neuron.html"' in block]
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "docs/api.md", "exec"), {})  # the docs' own example, as a reader runs it
    committed = (Path(__file__).parent.parent / "docs" / "sigmoid_neuron.html").read_bytes()
    assert (tmp_path / "sigmoid_neuron.html").read_bytes() == committed, (
        "docs/sigmoid_neuron.html is out of date: run the to_html example of docs/api.md in docs/"
    )


def test_the_page_and_its_picture_read_one_walk_of_the_graph(monkeypatch):
    # to_html walked the graph three times (steps, the picture, names); now one snapshot is made
    # and read by the steps and the picture, and formatting names its nodes with one more walk.
    # The engine's own walk inside backward() is not counted: it is the backward pass itself.
    import sys

    from microgradx import engine

    walks = []

    def counted(*roots):
        walks.append(roots)
        return engine.topological_order(*roots)

    for name, module in list(sys.modules.items()):
        if name.startswith("microgradx.") and name != "microgradx.engine":
            if getattr(module, "topological_order", None) is engine.topological_order:
                monkeypatch.setattr(module, "topological_order", counted)
    E, w = seed_neuron()[:2]
    to_html(E, highlight=w)
    assert len(walks) == 1, walks
    walks.clear()
    str(mg.quiz(E, highlight=w))
    assert len(walks) == 1, walks


def test_a_bad_argument_is_named_for_the_function_called():
    # stepper and quiz build to_html's page; their errors name them, not to_html
    E = seed_neuron().E
    outsider = Value(1.0, "o")
    for name, call in (("to_html", mg.to_html), ("stepper", mg.stepper), ("quiz", mg.quiz)):
        with pytest.raises(TypeError, match=rf"^{name}\(output\) must be a Value, got int$"):
            call(1)
        with pytest.raises(ValueError, match=rf"^{name}\(highlight\): .* is not in the graph of the output$"):
            call(E, highlight=outsider)
    with pytest.raises(ValueError, match=r"^stepper\(lr\) must be a finite number"):
        mg.stepper(E, lr="x")
