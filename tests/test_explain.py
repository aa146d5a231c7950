"""explain: the chain rule path by path, checked against grad(), hand derivations and brute force."""

from __future__ import annotations

import contextlib
import io
import json
import math
import pathlib
import re

import mpmath
import pytest
from conftest import seed_neuron as shared_seed_neuron
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx import Value
from microgradx.engine import RULES
from microgradx.explain import MAX_TEXT, Edge, Explanation, Path, explain_graph
from microgradx.graph import snapshot


def seed_neuron(w: float = 0.5, x: float = 1.5, y: float = 1.0):
    """conftest's seed neuron at this file's point: w = 0.5, x = 1.5, y = 1 (a non-trivial x)."""
    return shared_seed_neuron(w, x, y)


def central_difference(f, x0: float) -> float:
    """df/dx at x0 by central differences in 80-digit arithmetic (mpmath): independent of the
    engine's rules, and accurate to far more digits than a float derivative has, at any depth.
    `f` takes and returns an mpmath number."""
    with mpmath.workdps(80):
        h = mpmath.mpf("1e-30")
        x = mpmath.mpf(x0)
        return float((f(x + h) - f(x - h)) / (2 * h))


def mp_sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


# --- seed 001: the sigmoid neuron shows (ŷ − y), σ(z)·(1 − σ(z)) and x on its one path ----------


def test_seed_neuron_has_one_path_with_the_three_factors_of_the_hand_derivation():
    E, w, _x, _y, _z, _yhat = seed_neuron()
    result = mg.explain(E, w)
    assert isinstance(result, Explanation) and not result.truncated
    (path,) = result.paths
    assert isinstance(path, Path) and all(isinstance(e, Edge) for e in path.edges)
    assert path.edges[0].child is E and path.edges[-1].parent is w  # chain-rule order
    assert [e.formula for e in path.edges] == ["0.5", "2·(ŷ − y)", "1", "σ(z)·(1−σ(z))", "x"]
    s = 1.0 / (1.0 + math.exp(-0.75))
    hand_factors = [0.5, 2.0 * (s - 1.0), 1.0, s * (1.0 - s), 1.5]
    assert [e.value for e in path.edges] == pytest.approx(hand_factors, rel=1e-12)
    assert path.product == pytest.approx((s - 1.0) * s * (1.0 - s) * 1.5, rel=1e-12)
    numeric = central_difference(lambda w: 0.5 * (mp_sigmoid(w * 1.5) - 1) ** 2, 0.5)
    assert result.total == path.product == pytest.approx(numeric, rel=1e-13)


def test_seed_neuron_text_reads_edge_by_edge():
    E, w, *_ = seed_neuron()
    text = str(mg.explain(E, w))
    assert "1 path from w to E" in text
    assert "path 1: w → z → ŷ → ŷ − y → (ŷ − y)² → E" in text
    lines = text.splitlines()
    edge_lines = [line.strip() for line in lines if line.strip().startswith("∂")]
    assert [line.split("=")[0].strip() for line in edge_lines] == [
        "∂E/∂((ŷ − y)²)",
        "∂((ŷ − y)²)/∂(ŷ − y)",
        "∂(ŷ − y)/∂ŷ",
        "∂ŷ/∂z",
        "∂z/∂w",
    ]
    assert edge_lines[-1].replace(" ", "") == "∂z/∂w=x=1.5"
    assert "σ(z)·(1−σ(z))" in edge_lines[3] and "(ŷ − y)" in edge_lines[1]
    assert "path product = 0.5 · 2·(ŷ − y) · 1 · σ(z)·(1−σ(z)) · x" in text
    assert lines[-1] == f"dE/dw = the path product = {mg.formatting.fmt(mg.grad(E, [w])[0])}"


@pytest.mark.parametrize("x0", [0.0, 1.0])
def test_seed_neuron_for_x_in_0_1(x0):
    E, w, *_ = seed_neuron(w=0.3, x=x0, y=x0)
    result = mg.explain(E, w)
    assert result.paths[0].edges[-1].value == x0  # ∂z/∂w = x: zero input, zero update
    assert sum(p.product for p in result.paths) == pytest.approx(result.total, abs=1e-15)


# --- seeds 000 and 002 ---------------------------------------------------------------------------


@pytest.mark.parametrize("input0", [-2.0, 0.0, 3.0])
def test_grokking_update_is_error_times_input(input0):
    input, weight, goal = Value(input0, "input"), Value(0.5, "weight"), Value(0.8, "goal")
    pred = input * weight
    pred.label = "pred"
    E = (pred - goal) ** 2
    E.label = "E"
    (path,) = mg.explain(E, weight).paths
    assert [e.formula for e in path.edges] == ["2·(pred − goal)", "1", "input"]
    assert path.edges[-1].value == input0
    assert path.product == pytest.approx(2 * (input0 * 0.5 - 0.8) * input0, abs=1e-15)


def test_two_weights_each_has_its_own_path():
    w1, w2, x = Value(0.7, "w1"), Value(-2.0, "w2"), Value(1.5, "x")
    E = w1 * x + w2 * x**2
    E.label = "E"
    first, second = mg.explain(E, w1), mg.explain(E, w2)
    assert [e.formula for e in first.paths[0].edges] == ["1", "x"]
    assert [e.formula for e in second.paths[0].edges] == ["1", "x²"]
    assert (first.total, second.total) == (1.5, 2.25)
    by_x = mg.explain(E, x)
    assert by_x.path_count == 2  # x reaches E through w1·x and through x²
    numeric = central_difference(lambda x: 0.7 * x + -2.0 * x**2, 1.5)
    assert by_x.total == sum(p.product for p in by_x.paths) == pytest.approx(numeric, rel=1e-13)


# --- paths, counting, shared nodes ---------------------------------------------------------------


def test_operand_used_twice_gives_two_paths():
    x = Value(3.0, "x")
    result = mg.explain(x * x, x)
    assert result.path_count == 2 and [p.product for p in result.paths] == [3.0, 3.0]
    assert [p.edges[0].index for p in result.paths] == [0, 1]
    assert result.total == 6.0


def test_unrelated_input_has_no_paths_and_zero_total():
    E, _w, *_ = seed_neuron()
    q = Value(2.0, "q")
    result = mg.explain(E, q)
    assert result.paths == [] and result.total == 0.0 and result.path_count == 0
    assert not result.truncated
    assert "does not depend on q" in str(result)


def test_intermediate_wrt_stops_at_that_node():
    E, *_, z, _yhat = seed_neuron()
    result = mg.explain(E, z)
    (path,) = result.paths
    assert path.edges[-1].parent is z and len(path.edges) == 4
    numeric = central_difference(lambda z: 0.5 * (mp_sigmoid(z) - 1) ** 2, z.data)
    assert result.total == path.product == pytest.approx(numeric, rel=1e-13)


def test_output_against_itself_is_one_empty_path():
    E, *_ = seed_neuron()
    result = mg.explain(E, E)
    assert result.path_count == 1 and result.paths[0].edges == () and result.total == 1.0


def diamond_stack(v, n: int, sin=Value.sin):
    """n diamonds v → (v·0.99 + sin(v)·0.02): 2^n paths, each layer's slope in [0.97, 1.01], so the
    derivative of a deep stack neither vanishes nor overflows (a finite-difference check sees it)."""
    for _ in range(n):
        v = v * 0.99 + sin(v) * 0.02
    return v


def stacked_diamonds(n: int, x0: float = 0.9):
    x = Value(x0, "x")
    return diamond_stack(x, n), x


def diamonds_slope(n: int, x0: float = 0.9) -> float:
    return central_difference(lambda x: diamond_stack(x, n, sin=mpmath.sin), x0)


def test_max_paths_is_the_limit_for_listing():
    out, x = stacked_diamonds(3)
    assert len(mg.explain(out, x, max_paths=8).paths) == 8
    limited = mg.explain(out, x, max_paths=7)
    assert limited.truncated and limited.paths == [] and limited.path_count == 8


def test_exponentially_many_paths_are_counted_not_listed():
    out, x = stacked_diamonds(40)
    result = mg.explain(out, x)
    assert result.truncated and result.paths == []
    assert result.path_count == 2**40
    assert result.total == pytest.approx(diamonds_slope(40), rel=1e-12)
    text = str(result)
    assert "too many paths" in text and "1,099,511,627,776" in text
    # the backward accumulation: every node on the way, in backward order, ending at x
    rows = result.accumulation
    order = [n for n in mg.engine.topological_order(out) if n in {r.node for r in rows}]
    assert [r.node for r in rows] == order and rows[0].node is out and rows[-1].node is x
    grads = mg.grad(out, [r.node for r in rows])
    assert [r.grad for r in rows] == grads
    for row in rows[1:]:  # each node's gradient is the sum over its uses of upstream · local
        assert row.grad == pytest.approx(sum(up * local for _, _, up, local in row.terms), rel=1e-12)
    assert f"dx = {mg.formatting.fmt(result.total)}" in text.splitlines()[-1]


def test_counts_past_2_to_the_53_stay_exact_and_one_snapshot_explains_every_input():
    out, x = stacked_diamonds(60)
    result = mg.explain(out, x)
    assert result.path_count == 2**60  # two routes per diamond; not stopped at the snapshot's 2**53
    assert "about 1.15e18 paths" in str(result)
    E, w, x, y, _z, _yhat = seed_neuron()
    graph = snapshot(E)
    by_w, by_x, by_y = (explain_graph(graph, leaf) for leaf in (w, x, y))
    assert by_w.graph is by_x.graph is by_y.graph is graph
    s = 1.0 / (1.0 + math.exp(-0.75))
    assert by_x.total == pytest.approx((s - 1.0) * s * (1.0 - s) * 0.5, rel=1e-12)  # ∂z/∂x = w
    assert by_y.total == pytest.approx(-(s - 1.0), rel=1e-12)  # ∂E/∂y = −(ŷ − y)
    assert str(by_w) == str(mg.explain(E, w))


def test_astronomical_path_counts_stay_cheap_and_are_said_approximately():
    out, x = stacked_diamonds(400)
    result = mg.explain(out, x)
    assert result.truncated and "at least 10^100" in str(result)
    assert result.total == pytest.approx(diamonds_slope(400), rel=1e-11)


def run_recipe(recipe, x, a, sin, tanh):
    """The recipe's graph over x and a, for Values or for mpmath numbers: its last node."""
    nodes = [x, a]
    for op, i, j in recipe:
        u, v = nodes[i], nodes[j]
        nodes.append({"+": u + v, "-": u - v, "*": u * v, "sin": sin(u), "tanh": tanh(u)}[op])
    return nodes[-1]


@st.composite
def random_dags(draw):
    """A random graph over x and a with shared nodes, diamonds and repeated operands, and its
    slope in x by 80-digit central differences of the same recipe."""
    x0, a0 = draw(st.floats(-1.5, 1.5)), draw(st.floats(-1.5, 1.5))
    recipe = []
    for k in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(["+", "-", "*", "sin", "tanh"]))
        recipe.append((op, draw(st.integers(0, k + 1)), draw(st.integers(0, k + 1))))
    x = Value(x0, "x")
    out = run_recipe(recipe, x, Value(a0, "a"), Value.sin, Value.tanh)
    mp_a = mpmath.mpf(a0)
    slope = lambda x: run_recipe(recipe, x, mp_a, mpmath.sin, mpmath.tanh)  # noqa: E731
    return out, x, slope


def brute_force_path_count(node: Value, wrt: Value) -> int:
    if node is wrt:
        return 1
    return sum(brute_force_path_count(p, wrt) for p in node.parents)


@settings(max_examples=150, deadline=None)
@given(random_dags())
def test_path_products_sum_to_the_gradient_on_random_graphs(dag):
    out, x, f = dag
    assume(math.isfinite(out.data))
    result = mg.explain(out, x, max_paths=10_000)
    assert result.path_count == brute_force_path_count(out, x) == len(result.paths)
    scale = sum(abs(p.product) for p in result.paths)
    numeric = central_difference(f, x.data)
    assert sum(p.product for p in result.paths) == pytest.approx(numeric, abs=1e-12 * (1 + scale))
    assert result.total == pytest.approx(numeric, abs=1e-12 * (1 + scale))
    for path in result.paths:  # consecutive edges meet, and each edge is a real operand link
        assert path.edges == () or (path.edges[0].child is out and path.edges[-1].parent is x)
        for upper, lower in zip(path.edges, path.edges[1:], strict=False):
            assert lower.child is upper.parent
        for e in path.edges:
            assert e.child.parents[e.index] is e.parent


# --- each edge's value is the op's local derivative (checked by finite differences) -------------

OPS = [
    ("+", lambda a, b: a + b, (1.3, -0.4)),
    ("-", lambda a, b: a - b, (1.3, -0.4)),
    ("*", lambda a, b: a * b, (1.3, -0.4)),
    ("/", lambda a, b: a / b, (1.3, -0.4)),
    ("**", lambda a, b: a**b, (1.3, -0.4)),
    ("neg", lambda a, b: -a, (1.3, 0.0)),
    ("abs", lambda a, b: abs(a), (-1.3, 0.0)),
    ("exp", lambda a, b: a.exp(), (0.4, 0.0)),
    ("log", lambda a, b: a.log(), (1.3, 0.0)),
    ("sqrt", lambda a, b: a.sqrt(), (1.3, 0.0)),
    ("tanh", lambda a, b: a.tanh(), (0.4, 0.0)),
    ("sigmoid", lambda a, b: a.sigmoid(), (0.4, 0.0)),
    ("relu", lambda a, b: a.relu(), (0.4, 0.0)),
    ("sin", lambda a, b: a.sin(), (0.4, 0.0)),
    ("cos", lambda a, b: a.cos(), (0.4, 0.0)),
]


@pytest.mark.parametrize("op, f, point", OPS, ids=[o[0] for o in OPS])
def test_edge_value_is_the_local_derivative(op, f, point):
    a, b = Value(point[0], "a"), Value(point[1], "b")
    out = f(a, b)
    assert out.op == op
    for index, operand in enumerate(out.parents):
        if not operand.label:
            continue
        (path,) = mg.explain(out, operand).paths
        (edge,) = path.edges
        forward = RULES[op].forward
        args = [p.data for p in out.parents]
        h = 1e-6
        up, down = list(args), list(args)
        up[index] += h
        down[index] -= h
        numeric = (forward(*up) - forward(*down)) / (2 * h)
        assert edge.value == pytest.approx(numeric, rel=1e-6, abs=1e-8)
        assert edge.formula  # from RULES[op].formulas, named in the graph's labels


# --- other outputs -------------------------------------------------------------------------------


def test_markdown_has_a_table_per_path_and_escapes_pipes():
    w, x = Value(0.5, "w"), Value(-2.0, "x")
    out = abs(w * x)
    out.label = "|wx|"
    md = mg.explain(out, w).to_markdown()
    assert "| local derivative | formula | value |" in md
    assert "\\|wx\\|" in md and "| **path product** |" in md
    truncated = mg.explain(*stacked_diamonds(10), max_paths=4).to_markdown()
    assert "too many paths" in truncated and "| node |" in truncated


def test_latex_uses_math_names_and_escapes_specials():
    E, w, *_ = seed_neuron()
    tex = mg.explain(E, w).to_latex()
    assert tex.startswith("\\begin{aligned}") and tex.endswith("\\end{aligned}")
    assert "\\sigma(z) \\cdot (1 - \\sigma(z))" in tex and "\\hat{y}" in tex
    assert "\\frac{d E}{d w}" in tex
    a = Value(2.0, "a_b&c%")
    tex = mg.explain(a * a, a).to_latex()
    assert "a\\_b\\&c\\%" in tex and "a_b" not in tex.replace("a\\_b", "")
    assert tex.count("{") == tex.count("}")
    for latex in (tex, mg.explain(*stacked_diamonds(3), max_paths=2).to_latex()):
        rows = latex.splitlines()[1:-1]  # between \begin{aligned} and \end{aligned}
        assert all(row.endswith(" \\\\") for row in rows[:-1]) and not rows[-1].endswith("\\\\")


def test_to_dict_is_json_ready():
    E, w, *_ = seed_neuron()
    data = json.loads(json.dumps(mg.explain(E, w).to_dict(), allow_nan=False))
    assert data["output"] == "E" and data["wrt"] == "w" and data["path_count"] == 1
    assert [e["formula"] for e in data["paths"][0]["edges"]][-1] == "x"
    big = mg.explain(*stacked_diamonds(60)).to_dict()
    assert big["truncated"] and big["paths"] == [] and isinstance(big["path_count"], str)
    json.dumps(big, allow_nan=False)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: mg.explain(1.0, Value(1.0)), TypeError),
        (lambda: mg.explain(Value(1.0), 1.0), TypeError),
        (lambda: mg.explain(Value(1.0), Value(1.0), max_paths=-1), ValueError),
        (lambda: mg.explain(Value(1.0), Value(1.0), max_paths=2.5), ValueError),
    ],
)
def test_bad_arguments_raise(call, error):
    with pytest.raises(error, match=r"explain|max_paths"):
        call()


# --- the API page's "Checking and explaining derivatives" (once the README's) shows a real run -------


def test_readme_section_output_is_what_the_code_prints():
    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "api.md"
    text = page.read_text(encoding="utf-8")
    start = text.index("## Checking and explaining derivatives")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    blocks = re.findall(r"```(python|text)[^\n]*\n(.*?)```", section, flags=re.S)
    assert [kind for kind, _ in blocks] == ["python", "text"] * 3
    namespace: dict = {}
    for (_, code), (_, shown) in zip(blocks[::2], blocks[1::2], strict=True):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "docs/api.md", "exec"), namespace)
        assert printed.getvalue() == shown


def long_chain(n: int) -> tuple[Value, Value]:
    """x, then n ops: alternately + 0.001 and tanh(·1.0000001), so each derivative is known in closed form."""
    x = Value(0.5, "x")
    y = x
    for i in range(n):
        y = (y * 1.0000001).tanh() if i % 2 else y + 0.001
    return y, x


def test_a_long_chain_is_explained_by_its_accumulation_in_a_bounded_text():
    # 20,000 ops: one path of 30,000 edges; listed whole it was 4 MB of text (217 MB at 10^6 ops)
    y, x = long_chain(20_000)
    result = mg.explain(y, x)
    assert result.path_count == 1 and result.edge_count == 30_000
    assert result.truncated and result.too_long and result.paths == []
    assert math.isclose(result.total, mg.grad(y, [x])[0], rel_tol=1e-12)
    for text in (str(result), result.to_markdown(), result.to_latex(), result._repr_html_()):
        assert len(text) <= MAX_TEXT + 200
    text = str(result)
    assert "the path is too long to list: 30,000 edges from x to" in text and "(max_edges = 1000)" in text
    assert f"… {30_001 - 120:,} more nodes …" in text  # what was left out is said
    whole = mg.explain(y, x, max_edges=None)  # a caller may still ask for every edge
    assert len(whole.paths[0].edges) == 30_000 and not whole.truncated


def test_every_text_stops_at_max_text_and_says_how_much_it_left_out():
    # 60 paths of 600 edges in all, each edge line long: the listing passes MAX_TEXT
    x = Value(0.5, "x")
    terms = []
    for k in range(60):
        t = x
        for _ in range(10):
            t = t * 1.0
        t.label = "a_rather_long_label_for_the_end_of_branch_number_" + str(k) + "_" * 200
        terms.append(t)
    out = sum(terms[1:], terms[0])
    result = mg.explain(out, x, max_paths=64, max_edges=None)
    assert not result.truncated and len(result.paths) == 60
    for text in (str(result), result.to_markdown(), result.to_latex()):
        assert len(text) <= MAX_TEXT + 200
        assert re.search(r"[\d,]+ more (lines|rows) left out", text)


def test_an_explanation_printed_after_the_graph_changed_shows_the_graph_as_explained() -> None:
    # The accumulation is written when first printed; an optimizer step in between (b changes)
    # must not mix the new local derivatives with the old grads: the sum printed must hold.
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    L = (a * b + a).tanh()
    ex = mg.explain(L, a, max_paths=0)
    t = math.tanh(-4.0)
    upstream = 1 - t * t  # dL/d(a·b + a), by hand
    b.data = 0.5
    (row,) = [r for r in ex.accumulation if r.node is a]
    assert sorted(local for *_, local in row.terms) == [-3.0, 1.0]  # ∂(a·b)/∂a = b as it was, ∂(…+a)/∂a = 1
    assert row.grad == pytest.approx(upstream * (-3.0 + 1.0), rel=1e-12) == ex.total
    assert sum(up * local for _, _, up, local in row.terms) == pytest.approx(ex.total, rel=1e-12)


def test_the_two_paths_through_x_times_x_say_which_operand_each_goes_through() -> None:
    # d(x·x)/dx = x + x: two paths with the same nodes; each says its operand, as the quiz's notes do
    x = Value(3.0, "x")
    E = x * x
    E.label = "E"
    ex = mg.explain(E, x)
    assert [p.product for p in ex.paths] == [3.0, 3.0] and ex.total == 6.0  # 2x at x = 3, by hand
    text = str(ex)
    assert "path 1: x → E (x as operand a of E)" in text and "path 2: x → E (x as operand b of E)" in text
    assert "Path 2: x → E (x as operand b of E)" in ex.to_markdown()
    y = Value(2.0, "y")
    assert "(" not in str(mg.explain(x * y, x)).splitlines()[2]  # one use: nothing to tell apart


def test_one_path_over_max_paths_is_said_in_the_singular() -> None:
    x = Value(1.0, "x")
    headline = str(mg.explain(x * 2.0, x, max_paths=0)).splitlines()[0]
    assert "too many paths to list: 1 path from x" in headline  # not "1 paths"
