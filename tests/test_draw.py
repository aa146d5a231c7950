"""Tests for draw(), to_dot(), to_text() and render(): structure, escaping, local derivatives,
highlighting, the node limit, and real SVG/PNG files from Graphviz's dot and from graphviz-pure."""

from __future__ import annotations

import html
import importlib
import math
import os
import re
import shutil
import stat
import struct
import sys
import xml.etree.ElementTree as ET
from html import unescape

import graphviz
import pytest
from conftest import seed_neuron
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx import Value
from microgradx.formatting import fmt

D = importlib.import_module("microgradx.draw")  # the module (microgradx.draw is the function)
R = importlib.import_module("microgradx.renderer")

PNG = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
DOT = shutil.which("dot")
PURE = R._graphviz_pure()

# Every renderer we can find: Graphviz's dot when installed (CI installs it), always graphviz-pure,
# which is a dependency of microgradx (so its absence is a failure, not a skip).
RENDERERS = [
    pytest.param("dot", marks=pytest.mark.skipif(DOT is None, reason="Graphviz's dot is not installed")),
    "graphviz-pure",
]


def renderer_path(name: str) -> str:
    if name == "graphviz-pure":
        assert PURE is not None, "graphviz-pure (a dependency of microgradx) was not found"
        return PURE
    return DOT


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# --- reading DOT and SVG -----------------------------------------------------------------------------

NODE_LINE = re.compile(r"^\t(\w+) \[(.*)\]$", re.M)
EDGE_LINE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$", re.M)


def parse_dot(source: str):
    """(nodes: id -> attribute text, edges: [(tail, head, attribute text)]) of our DOT output."""
    nodes = {m[1]: m[2] for m in NODE_LINE.finditer(source)}
    edges = [(m[1], m[2], m[3] or "") for m in EDGE_LINE.finditer(source)]
    return nodes, edges


def records(nodes):
    return {i: a for i, a in nodes.items() if "<TABLE" in a}


def circles(nodes):
    return {i: a for i, a in nodes.items() if "shape=circle" in a or "shape=ellipse" in a}


def node_id(nodes, name: str) -> str:
    """The id of the record whose bold name is `name` (names are escaped as in the label)."""
    found = [i for i, a in records(nodes).items() if f"<B>{name}</B>" in a]
    assert len(found) == 1, (name, found)
    return found[0]


def edge_label_text(attrs: str) -> str:
    """The text of an edge's HTML-like label: tags dropped, line breaks as newlines."""
    m = re.search(r"label=<(.*)>", attrs)
    if not m:
        return ""
    text = m[1].replace("<BR/>", "\n")
    return re.sub(r"<[^>]*>", "", text)


def svg_lines(svg: str) -> list[str]:
    """Every text line of a rendered SVG, as the reader sees it."""
    root = ET.fromstring(svg)
    return [(t.text or "").replace("\xa0", " ") for t in root.iter(f"{SVG_NS}text")]


def render_svg(graph, renderer: str) -> str:
    import subprocess

    result = subprocess.run(
        [renderer_path(renderer), "-Tsvg"], input=graph.source.encode(), capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


# --- structure -------------------------------------------------------------------------------------

BINARY = [("+", lambda a, b: a + b), ("-", lambda a, b: a - b), ("*", lambda a, b: a * b),
          ("/", lambda a, b: a / b), ("**", lambda a, b: a**b)]  # fmt: skip
UNARY = ["neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos"]


def unary(op: str, a: Value) -> Value:
    return -a if op == "neg" else abs(a) if op == "abs" else getattr(a, op)()


@pytest.mark.parametrize(("op", "f"), BINARY, ids=[op for op, _ in BINARY])
def test_binary_op_is_three_records_one_circle_and_three_forward_arrows(op, f):
    a, b = Value(1.7, "a"), Value(0.6, "b")
    out = f(a, b)
    out.label = "out"
    nodes, edges = parse_dot(mg.to_dot(out))
    assert len(records(nodes)) == 3 and len(circles(nodes)) == 1
    (op_id,) = circles(nodes)
    assert f"label=<{D._html(D.OP_GLYPH[op])}>" in nodes[op_id]
    ida, idb, idout = node_id(nodes, "a"), node_id(nodes, "b"), node_id(nodes, "out")
    assert sorted((t, h) for t, h, _ in edges) == sorted([(ida, op_id), (idb, op_id), (op_id, idout)])


@pytest.mark.parametrize("op", UNARY)
def test_unary_op_is_two_records_one_circle_and_two_forward_arrows(op):
    a = Value(0.7, "a")
    out = unary(op, a)
    out.label = "out"
    nodes, edges = parse_dot(mg.to_dot(out))
    assert len(records(nodes)) == 2 and len(circles(nodes)) == 1
    (op_id,) = circles(nodes)
    assert sorted((t, h) for t, h, _ in edges) == sorted(
        [(node_id(nodes, "a"), op_id), (op_id, node_id(nodes, "out"))]
    )


def test_seed_neuron_has_ten_values_five_operations_fourteen_arrows():
    # Counted by hand: w x z ŷ y (ŷ−y) 2 (ŷ−y)² 0.5 E; ops × σ − ** ×; 9 operand arrows + 5 results.
    E = seed_neuron(backward=True).E
    nodes, edges = parse_dot(mg.to_dot(E))
    assert len(records(nodes)) == 10 and len(circles(nodes)) == 5 and len(edges) == 14
    assert "rankdir=LR" in mg.to_dot(E) and "rankdir=TB" in mg.to_dot(E, rankdir="TB")


def test_a_value_used_twice_in_one_operation_gets_two_arrows():
    x = Value(3.0, "x")
    nodes, edges = parse_dot(mg.to_dot(x * x))
    (op_id,) = circles(nodes)
    assert [(t, h) for t, h, _ in edges].count((node_id(nodes, "x"), op_id)) == 2


def test_records_show_data_and_grad_formatted_and_show_grad_hides_grad():
    E = seed_neuron(backward=True).E
    s = sigmoid(0.3)
    hand = (s - 1.0) * s * (1.0 - s) * 1.0  # dE/dw = (ŷ − y)·σ(1 − σ)·x
    source = mg.to_dot(E)
    assert f"data {fmt(s)}" in source and f"grad {fmt(hand)}" in source
    assert "grad " not in mg.to_dot(E, show_grad=False)


@st.composite
def random_graphs(draw):
    nodes = [Value(draw(st.floats(0.1, 2.0)), f"x{i}") for i in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(1, 10))):
        a, b = draw(st.sampled_from(nodes)), draw(st.sampled_from([*nodes, 0.5]))
        kind = draw(st.sampled_from(["+", "*", "tanh", "sigmoid"]))
        nodes.append(a + b if kind == "+" else a * b if kind == "*" else getattr(a, kind)())
    return nodes[-1]


@settings(max_examples=40, deadline=None)
@given(random_graphs())
def test_any_graph_has_one_record_per_value_one_circle_per_operation(out):
    order = mg.engine.topological_order(out)
    results = [v for v in order if v.parents]
    nodes, edges = parse_dot(mg.to_dot(out))
    assert len(records(nodes)) == len(order)
    assert len(circles(nodes)) == len(results)
    assert len(edges) == sum(len(v.parents) for v in results) + len(results)


# --- local derivatives on arrows ---------------------------------------------------------------------


def test_show_local_writes_formula_and_number_on_each_arrow_of_the_seed_neuron():
    E = seed_neuron(backward=True).E
    s = sigmoid(0.3)
    nodes, edges = parse_dot(mg.to_dot(E, show_local=True))
    labels = {(t, h): edge_label_text(a) for t, h, a in edges}
    into = {t: text for (t, h), text in labels.items() if h.endswith("_op")}
    assert into[node_id(nodes, "w")] == "∂z/∂w = x\n= 1"
    assert into[node_id(nodes, "x")] == "∂z/∂x = w\n= 0.3"
    assert into[node_id(nodes, "z")] == f"∂ŷ/∂z = σ(z)·(1−σ(z))\n= {fmt(s * (1 - s))}"
    assert into[node_id(nodes, "ŷ")] == "a  ∂(ŷ − y)/∂ŷ = 1"
    assert into[node_id(nodes, "y")] == "b  ∂(ŷ − y)/∂y = -1"
    assert into[node_id(nodes, "ŷ − y")] == f"a  ∂((ŷ − y)²)/∂(ŷ − y) = 2·(ŷ − y)\n= {fmt(2 * (s - 1))}"
    # Constants (0.5 and the exponent 2) get no derivative: nobody differentiates with respect to 2.
    constants = [i for i, a in records(nodes).items() if "<B>" not in a]
    assert len(constants) == 2 and all(into[c] in ("", "b") for c in constants)
    assert "∂" not in mg.to_dot(E)  # off by default


@pytest.mark.parametrize(("op", "f"), BINARY, ids=[op for op, _ in BINARY])
def test_local_number_on_each_binary_arrow_matches_finite_differences(op, f):
    a0, b0, h = 1.7, 0.6, 1e-6
    a, b = Value(a0, "a"), Value(b0, "b")
    nodes, edges = parse_dot(mg.to_dot(f(a, b), show_local=True))
    expected = {
        "a": (f(a0 + h, b0) - f(a0 - h, b0)) / (2 * h),
        "b": (f(a0, b0 + h) - f(a0, b0 - h)) / (2 * h),
    }
    for name, slope in expected.items():
        (text,) = [edge_label_text(x) for t, _, x in edges if t == node_id(nodes, name)]
        shown = float(text.rsplit("= ", 1)[1].replace("−", "-"))
        assert shown == pytest.approx(slope, rel=1e-3, abs=1e-9), text


@pytest.mark.parametrize("op", UNARY)
def test_local_number_on_each_unary_arrow_matches_finite_differences(op):
    a0, h = 0.7, 1e-6
    nodes, edges = parse_dot(mg.to_dot(unary(op, Value(a0, "a")), show_local=True))
    (text,) = [edge_label_text(x) for t, _, x in edges if t == node_id(nodes, "a")]
    slope = (unary(op, Value(a0 + h)).data - unary(op, Value(a0 - h)).data) / (2 * h)
    shown = float(text.rsplit("= ", 1)[1].replace("−", "-"))
    assert shown == pytest.approx(slope, rel=1e-3, abs=1e-9), text


# --- highlight ---------------------------------------------------------------------------------------


def border(attrs: str) -> str:
    return re.search(r'<TABLE[^>]* COLOR="([^"]+)"', attrs)[1]


def test_highlight_colours_the_paths_from_w_to_the_output_and_dims_the_rest():
    n = seed_neuron(backward=True)
    w, E = n.w, n.E
    nodes, edges = parse_dot(mg.to_dot(E, highlight=w))
    on = ["w", "z", "ŷ", "ŷ − y", "(ŷ − y)²", "E"]  # the chain w → z → ŷ → ŷ−y → (ŷ−y)² → E, by hand
    off = ["x", "y"]
    assert all(border(nodes[node_id(nodes, n)]) == D.PATH for n in on)
    assert all(border(nodes[node_id(nodes, n)]) == D.DIM for n in off)
    constants = [a for a in records(nodes).values() if "<B>" not in a]
    assert [border(a) for a in constants] == [D.DIM, D.DIM]
    coloured = {(t, h) for t, h, a in edges if D.PATH in a}
    assert len(coloured) == 10  # along the chain: 5 arrows into its operations, 5 out of them
    for t, h, a in edges:
        assert (D.PATH in a) != (D.DIM in a), (t, h, a)
    assert "the paths from w to E" in mg.to_dot(E, highlight=w)


def test_highlight_in_a_diamond_takes_both_branches_and_only_them():
    a, c = Value(2.0, "a"), Value(5.0, "c")
    left, right = a * 3.0, a + c
    left.label, right.label = "left", "right"
    f = left * right
    f.label = "f"
    nodes, _ = parse_dot(mg.to_dot(f, highlight=a))
    colours = [border(nodes[node_id(nodes, name)]) for name in ("a", "left", "right", "f", "c")]
    assert colours == [D.PATH] * 4 + [D.DIM]


def test_highlighting_an_intermediate_node_leaves_its_own_inputs_dim():
    n = seed_neuron(backward=True)
    z, E = n.z, n.E
    nodes, edges = parse_dot(mg.to_dot(E, highlight=z))
    assert border(nodes[node_id(nodes, "w")]) == D.DIM
    op_of_z = next(t for t, h, _ in edges if h == node_id(nodes, "z"))
    assert D.DIM in nodes[op_of_z]


def test_highlighting_a_value_outside_the_graph_says_so():
    E = seed_neuron(backward=True).E
    source = mg.to_dot(E, highlight=Value(1.0, "stranger"))
    assert "stranger is not in the graph of E" in source and D.DIM not in source


# --- escaping through real renderers ---------------------------------------------------------------

NASTY = 'a<b> & "c" | {d} \\n \\\\ e'


@pytest.mark.parametrize("renderer", RENDERERS)
def test_labels_with_markup_characters_render_literally(renderer):
    a = Value(2.0, NASTY)
    b = Value(3.0, "line one\nline </TD> two")
    out = a * b
    out.label = "<B>not bold</B>"
    svg = render_svg(mg.draw(out, show_local=True), renderer)
    lines = svg_lines(svg)
    assert NASTY in lines
    assert "line one" in lines and "line </TD> two" in lines
    assert "<B>not bold</B>" in lines
    # The local derivative ∂out/∂a is b's name: the escaping holds on arrows too.
    assert any(line.startswith("∂(<B>not bold</B>)/∂(a<b> &") for line in lines)


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"ab <>&\"|{}\\\n;#%'[]=", "ŷ", "σ"]), min_size=1, max_size=20))
def test_any_label_renders_as_typed(label):
    svg = render_svg(mg.draw(Value(1.0, label) * 2.0), "graphviz-pure")
    lines = svg_lines(svg)
    for part in label.split("\n"):
        if part.strip():  # Graphviz trims surrounding spaces of a line; the characters must be intact
            assert any(part.strip() == line.strip() for line in lines), (part, lines)


def test_control_characters_do_not_break_the_svg():
    svg = render_svg(mg.draw(Value(1.0, "bell\x07tab\tend") * 2.0), "graphviz-pure")
    assert any("bell\\x07tab" in line for line in svg_lines(svg))


# --- big graphs ----------------------------------------------------------------------------------------


def chain(n: int) -> Value:
    out = Value(1.0, "x")
    for _ in range(n):
        out = out * 1.001
    out.label = "out"
    return out


def test_past_max_nodes_a_summary_is_drawn_and_says_how_to_draw_all():
    out = chain(200)  # 401 Values: x, 200 constants, 200 products
    out.backward()
    source = mg.to_dot(out)
    nodes, _ = parse_dot(source)
    assert len(nodes) < 10
    assert "graph has 401 nodes (more than max_nodes=300); showing a summary" in source
    assert "pass max_nodes=None to draw all" in source
    assert "200 operations" in source and "200 constants" in source and "<B>x</B>" in source
    full, _ = parse_dot(mg.to_dot(out, max_nodes=None))
    assert len(records(full)) == 401
    small, _ = parse_dot(mg.to_dot(chain(20), max_nodes=40))
    assert "summary" in small and len(small) < 10


def test_long_arrows_are_summarised_before_they_make_the_layout_slow():
    # 40 weights reused down a 200-node chain: few Values, but thousands of hidden layout nodes.
    weights = [Value(0.1 * i, f"p{i}") for i in range(40)]
    out = weights[0]
    for k in range(67):
        out = (out * weights[k % 40]).tanh() + weights[(k * 7) % 40]
    values = len(mg.engine.topological_order(out))
    assert values < D.DEFAULT_MAX_NODES
    source = mg.to_dot(out)
    assert "too many long arrows" in source and "showing a summary" in source


def test_a_hundred_thousand_node_graph_is_summarised_and_its_text_cut_short():
    out = Value(0.5, "x")
    weights = [Value(0.001 * i, f"w{i}") for i in range(50)]
    for i in range(33_333):
        out = out * weights[i % 50] + 1.0
    out.label = "L"
    source = mg.to_dot(out, highlight=weights[3])
    assert "graph has 100050 nodes" in source and "66666 operations" in source
    nodes, _ = parse_dot(source)
    shown = [i for i, a in records(nodes).items() if re.search(r"<B>w\d+</B>", a)]
    more = int(re.search(r"… and (\d+) more inputs", source)[1])
    assert len(shown) + more == 50 and len(shown) <= 13 and "<B>w3</B>" in source  # the highlighted one
    text = mg.to_text(out, show_grad=False)  # (no "no backward() yet?" line)
    assert len(text.splitlines()) == 201 and "the graph has 100050 nodes" in text


def test_bad_options_are_rejected_with_a_clear_error():
    x = Value(1.0, "x")
    with pytest.raises(TypeError, match="draw\\(output\\) must be a Value, got float"):
        mg.draw(1.0)
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB, RL, BT"):
        mg.draw(x, rankdir="XY")
    with pytest.raises(TypeError, match="highlight must be a Value"):
        mg.draw(x, highlight="x")
    with pytest.raises(ValueError, match="max_nodes must be a whole number"):
        mg.draw(x, max_nodes=0)
    with pytest.raises(TypeError, match="to_text\\(output\\) must be a Value"):
        mg.to_text("x")


# --- to_text ------------------------------------------------------------------------------------------


def test_to_text_prints_a_diamond_once_and_refers_back_to_shared_nodes():
    x = Value(2.0, "x")
    a, b = x * 2.0, x + 1.0
    a.label, b.label = "a", "b"
    f = a * b
    f.label = "f"
    f.backward()  # by hand: df/da = b = 3, df/db = a = 4, df/dx = 2·3 + 1·4 = 10
    assert mg.to_text(f) == "\n".join(
        [
            "f [×] = 12  grad 1",
            "├── a [×] = 4  grad 3",
            "│   ├── x = 2  grad 10  #1",
            "│   └── 2 (constant)",
            "└── b [+] = 3  grad 4",
            "    ├── x  (see #1)",
            "    └── 1 (constant)",
        ]
    )


def test_to_text_writes_a_shared_sub_expression_once():
    x = Value(0.5, "x")
    s = x * x
    f = s + s.sin()
    text = mg.to_text(f, show_grad=False)
    assert text.count("x = 0.5") == 1 and text.count("x·x [×]") == 1
    assert text.count("(see #2)") == 1 and text.count("(see #1)") == 1


def test_to_text_is_iterative_on_a_deep_chain():
    out = chain(1500)  # deeper than the default recursion limit
    lines = mg.to_text(out, max_lines=None).splitlines()
    assert len(lines) == 1 + 2 * 1500 + 1 and lines[1500].endswith("├── x = 1  grad 0")
    assert lines[-1] == "(every grad is 0: no backward() yet?)"


# --- rendering files ----------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG)
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("renderer", RENDERERS)
def test_seed_neuron_renders_to_real_svg_and_png(renderer, tmp_path):
    n = seed_neuron(backward=True)
    w, E = n.w, n.E
    s = sigmoid(0.3)
    svg = D.render(E, tmp_path / "neuron.svg", renderer=renderer_path(renderer), show_local=True, highlight=w)
    png = D.render(E, tmp_path / "neuron.png", renderer=renderer_path(renderer), show_local=True)
    lines = svg_lines(svg.read_text(encoding="utf-8"))
    for text in ("w", "ŷ", "E", f"grad {fmt((s - 1) * s * (1 - s))}", f"data {fmt(0.5 * (s - 1) ** 2)}"):
        assert text in lines
    assert "∂ŷ/∂z = σ(z)·(1−σ(z))" in lines
    width, height = png_size(png.read_bytes())
    assert width > 600 and height > 80
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neuron.png", "neuron.svg"]  # no leftovers
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(png.stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(DOT is None, reason="Graphviz's dot is not installed")
def test_pdf_with_graphviz_dot(tmp_path):
    E = seed_neuron(backward=True).E
    assert D.render(E, tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")


def test_dot_files_need_no_renderer_and_other_suffixes_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    E = seed_neuron(backward=True).E
    written = D.render(E, tmp_path / "g.dot", show_local=True)
    assert written.read_text(encoding="utf-8") == mg.to_dot(E, show_local=True)
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf, \.dot"):
        D.render(E, tmp_path / "g.jpg")
    with pytest.raises(TypeError, match="only apply when graph is a Value"):
        D.render(mg.draw(E), tmp_path / "g.dot", show_local=True)
    with pytest.raises(OSError):
        D.render(E, tmp_path / "missing" / "g.dot")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]


def without_any_renderer(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(R.sysconfig, "get_path", lambda name: str(tmp_path / "nothing"))


def test_without_any_renderer_the_error_says_how_to_install_one(tmp_path, monkeypatch):
    without_any_renderer(monkeypatch, tmp_path)
    assert D.find_renderer() is None
    E = seed_neuron(backward=True).E
    with pytest.raises(D.RendererNotFound, match=r"pip install graphviz-pure.*apt-get install graphviz"):
        D.render(E, tmp_path / "g.png")
    with pytest.raises(graphviz.ExecutableNotFound, match="pip install graphviz-pure"):
        mg.draw(E).pipe(format="svg")
    assert isinstance(D.RendererNotFound("x"), RuntimeError)
    assert list(tmp_path.iterdir()) == []


def test_pdf_without_dot_asks_for_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(PURE))  # graphviz-pure only
    assert D.find_renderer("svg") == PURE and D.find_renderer("pdf") is None
    E = seed_neuron(backward=True).E
    with pytest.raises(D.RendererNotFound, match=r"PDF needs Graphviz's dot.*apt-get install graphviz"):
        D.render(E, tmp_path / "g.pdf")
    with pytest.raises(D.RendererNotFound, match="PDF needs Graphviz's dot"):
        mg.draw(E).render(tmp_path / "g", format="pdf")


def _marked_in_fallback(drawing) -> tuple[set[str], int]:
    """The names of the Values, and the number of arrows, the no-renderer display marks as on a path."""
    page = unescape(re.search(r'srcdoc="([^"]*)"', drawing._repr_mimebundle_()["text/html"])[1])
    picture = re.search(r'<svg id="graph".*?</svg>', page, re.S)[0]
    cards = re.findall(r'<g id="n\d+" class="([^"]*)"><title>([^<]*)</title>', picture)
    arrows = re.findall(r'<path id="e\d+" class="([^"]*)"', picture)
    return {unescape(name) for cls, name in cards if "onpath" in cls.split()}, sum(
        "onpath" in cls.split() for cls in arrows
    )


def test_the_no_renderer_display_highlights_the_same_paths(tmp_path, monkeypatch):
    without_any_renderer(monkeypatch, tmp_path)
    E, w, _, y, *_ = seed_neuron(backward=True)
    names = mg.formatting.node_names(E)

    def depends_on(node, start):  # plain recursion over operands: the truth for a small graph
        return node is start or any(depends_on(p, start) for p in node.parents)

    everything = list(names)  # every node of the graph
    for start in (w, y):
        on_path = {n for n in everything if depends_on(n, start)}
        arrows = sum(p in on_path and n in on_path for n in everything for p in n.parents)
        drawn = mg.draw(E, highlight=start, show_local=True)
        assert _marked_in_fallback(drawn) == ({names[n] for n in on_path}, arrows)
    assert _marked_in_fallback(mg.draw(E, highlight=w))[0] >= {"w", "z", "ŷ", "E"}
    assert "x" not in _marked_in_fallback(mg.draw(E, highlight=w))[0]
    assert _marked_in_fallback(mg.draw(E)) == (set(), 0)  # nothing highlighted: nothing marked
    outsider = Value(0.3, "w")  # not in the graph: draw's caption says so; the display marks nothing
    assert "no path to highlight" in mg.to_dot(E, highlight=outsider)
    assert _marked_in_fallback(mg.draw(E, highlight=outsider)) == (set(), 0)


def test_digraph_render_and_pipe_work_out_of_the_box_with_graphviz_pure(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # no dot: graphviz-pure beside Python
    E = seed_neuron(backward=True).E
    graph = mg.draw(E)
    assert isinstance(graph, graphviz.Digraph)
    assert "<svg" in graph.pipe(format="svg", encoding="utf-8")
    assert "<svg" in graph._repr_mimebundle_()["image/svg+xml"]  # what Jupyter shows
    out = graph.render(outfile=tmp_path / "g.png")
    assert pathlib_read(out).startswith(PNG)
    assert graphviz.backend.dot_command.DOT_BINARY == graphviz.backend.dot_command.pathlib.Path("dot")


def test_graphviz_pure_leaves_no_width_notice_on_stderr_and_passes_other_messages(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # no dot: graphviz-pure, as after pip install
    w = Value(-0.5, "ŵ")  # non-ASCII in a label, and "−", "·", "σ", "²" in numbers and formulas
    E = (mg.sigmoid(w * 1.5) - 1.0) ** 2
    E.backward()
    graph = mg.draw(E, show_local=True)
    # The renderer itself does print the notice for this graph (so the test below means something).
    raw = R.subprocess.run([PURE, "-Tsvg"], input=graph.source.encode(), capture_output=True, check=True)
    assert R.WIDTH_NOTICE.search(raw.stderr.decode())
    assert "<svg" in graph._repr_mimebundle_()["image/svg+xml"]  # what Jupyter shows inline
    assert "<svg" in graph.pipe(format="svg", encoding="utf-8")
    assert pathlib_read(graph.render(outfile=tmp_path / "g.png")).startswith(PNG)
    D.render(E, tmp_path / "h.svg")
    assert capsys.readouterr().err == ""
    # Any other message of the renderer still reaches stderr.
    graph.node("odd", shape="no-such-shape")
    graph.pipe(format="svg")
    err = capsys.readouterr().err
    assert "unknown shape no-such-shape" in err and "non-ASCII" not in err


def pathlib_read(path) -> bytes:
    with open(path, "rb") as file:
        return file.read()


@pytest.mark.skipif(DOT is None, reason="Graphviz's dot is not installed")
def test_dot_is_preferred_when_installed():
    assert D.find_renderer("png") == DOT and D.find_renderer("pdf") == DOT


# --- the API page's "Drawing graphs" section (once the README's) shows a real run --------------------


def test_readme_drawing_section_runs_and_prints_what_it_shows(tmp_path, monkeypatch, capsys):
    import pathlib

    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    section = page.split("## Drawing graphs", 1)[1].split("\n## ", 1)[0]
    code, shown = re.findall(r"```python\n(.*?)```\n\n```text title=\"Output\"\n(.*?)```", section, re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/api.md", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out == shown
    assert (tmp_path / "neuron.png").read_bytes().startswith(PNG)
    # The product along the orange path is w's grad, by the hand derivation (ŷ − y)·σ(1 − σ)·x.
    s = sigmoid(0.3)
    factors = [1.0, s * (1 - s), 1.0, 2 * (s - 1), 0.5]
    assert "1 · 0.2445 · 1 · (-0.8511) · 0.5, is w's grad, -0.104" in " ".join(section.split())
    assert [fmt(f) for f in factors] == ["1", "0.2445", "1", "-0.8511", "0.5"]
    assert fmt(math.prod(factors)) == fmt((s - 1) * s * (1 - s)) == "-0.104"
    assert "](images/neuron_graph.png)" in section
    picture = (pathlib.Path(__file__).resolve().parents[1] / "docs/images/neuron_graph.png").read_bytes()
    width, height = struct.unpack(">II", picture[16:24])  # the PNG's IHDR
    assert width <= 830 and height <= 1200  # read at its own size in a page column, labels legible


def test_to_text_keeps_a_label_with_a_newline_on_one_line():
    a = mg.Value(1.0, "two\nlines")
    b = mg.Value(2.0, "tab\there")
    text = mg.to_text(a * b, show_grad=False)
    assert len(text.splitlines()) == 3
    assert "two\\nlines" in text and "tab\\there" in text


def test_a_graph_too_large_to_step_through_displays_as_text_where_no_renderer_exists(tmp_path, monkeypatch):
    # 6,000 Values: more than the stepper takes (MAX_PAGE_NODES), so draw summarises it; with no
    # renderer the display is the graph's first lines as to_text prints them, not an error.
    without_any_renderer(monkeypatch, tmp_path)
    w = Value(0.5, "w")
    total = w
    for _ in range(3000):
        total = total + w * 1.0
    total.backward()
    bundle = mg.draw(total)._repr_mimebundle_()
    expected = mg.to_text(total, max_lines=60)
    assert bundle["text/plain"] == expected and expected.count("\n") == 60  # 60 lines, then the note
    assert html.escape(expected) in bundle["text/html"] and "too large to step through" in bundle["text/html"]
    assert "<svg" not in bundle["text/html"]
    whole = mg.draw(total, max_nodes=None)  # drawn whole, but still too large to step through
    assert "<svg" not in whole._repr_mimebundle_()["text/html"]
    small = seed_neuron(backward=True).E  # a small graph still shows the stepper's picture
    assert "<svg" in html.unescape(mg.draw(small)._repr_mimebundle_()["text/html"])


def test_the_no_renderer_display_shows_the_snapshot_draw_drew(tmp_path, monkeypatch):
    # draw() reads one snapshot; its DOT source and its display in the browser show that one, even
    # if a label changes before the cell's output is displayed.
    without_any_renderer(monkeypatch, tmp_path)
    E, w, *_ = seed_neuron(backward=True)
    drawn = mg.draw(E, highlight=w)
    w.label = "omega"
    shown = html.unescape(drawn._repr_mimebundle_()["text/html"])
    assert "omega" not in shown and "omega" not in drawn.source
    assert _marked_in_fallback(drawn)[0] >= {"w", "z", "ŷ", "E"}
    assert "omega" in html.unescape(mg.draw(E)._repr_mimebundle_()["text/html"])  # a new drawing: new names


def test_the_no_renderer_display_keeps_draws_captions_and_says_what_to_install(tmp_path, monkeypatch):
    without_any_renderer(monkeypatch, tmp_path)  # a desktop with neither dot nor graphviz-pure
    E, w, *_ = seed_neuron()  # before backward(): every grad is 0
    outsider = Value(3.0, "w")
    bundle = mg.draw(E, highlight=outsider)._repr_mimebundle_()
    for caption in ("w is not in the graph of E: no path to highlight", D.NO_BACKWARD_NOTE):
        assert caption in mg.to_dot(E, highlight=outsider)  # the same notes as the DOT source's
        assert caption in bundle["text/plain"] and html.escape(caption, quote=False) in bundle["text/html"]
    note = bundle["text/plain"]
    assert "pip install graphviz-pure" in note and "in the browser" not in note
    E.backward()
    shown = mg.draw(E, highlight=w)._repr_mimebundle_()["text/plain"]
    assert "orange: the paths from w to E" in shown and D.NO_BACKWARD_NOTE not in shown


@pytest.mark.parametrize("value", ["no", 0, 1, None])
def test_a_switch_that_is_not_a_bool_is_refused_not_read_as_on(value):
    # show_grad="no" is a true value: taken silently it would draw the grads the user turned off
    y = Value(1.0, "x") * 2.0
    for call, switch in ((mg.draw, "show_grad"), (mg.to_dot, "show_local"), (mg.to_text, "show_grad")):
        said = rf"^{switch} must be True or False, got {re.escape(repr(value))}$"
        with pytest.raises(TypeError, match=said):
            call(y, **{switch: value})
