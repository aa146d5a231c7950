"""Rich display in Jupyter: what `Explanation`, `CheckReport` and `Stepper` show, and that it is safe.

The HTML is parsed (html.parser), not searched for substrings, so a test sees what a browser would
see: the text of each cell, the colour of a verdict, the page inside the stepper's iframe. Numbers
are checked against the hand derivation of the seed neuron, dE/dw = (ŷ − y)·σ(1 − σ)·x.
"""

from __future__ import annotations

import html
import math
import os
import re
from html.parser import HTMLParser

import pytest
from conftest import seed_neuron

import microgradx as mg
from microgradx import Value
from microgradx.formatting import fmt
from microgradx.notebook import BAD_COLOUR, OK_COLOUR

HOSTILE = "<script>alert(1)</script>&\"'"


class Parsed(HTMLParser):
    """Every element (tag, attributes) and the text of each table row, as a browser would read them."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self.cell_styles: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
            self.cell_styles.append([])
        elif tag in ("td", "th"):
            self._cell = []
            self.cell_styles[-1].append(dict(attrs).get("style") or "")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def tags(self) -> list[str]:
        return [tag for tag, _ in self.elements]


def unescaped_markup(markdown: str) -> list[str]:
    """The ``<`` and ``>`` of `markdown` that a Markdown renderer would read as HTML (not ``\\<``)."""
    return re.findall(r"(?<!\\)[<>]", markdown)


def sigma(t: float) -> float:
    return 1 / (1 + math.exp(-t))


# --- Explanation -----------------------------------------------------------------------------------


def test_explanation_html_shows_each_edge_and_the_path_product_of_the_hand_derivation():
    E, w, *_ = seed_neuron(w=0.3)
    page = Parsed(mg.explain(E, w)._repr_html_())
    s = sigma(0.3)
    by_hand = (s - 1.0) * s * (1 - s) * 1.0  # (ŷ − y)·σ(1 − σ)·x
    assert page.rows[0] == ["local derivative", "formula", "value"]
    edges = {row[0]: row[1:] for row in page.rows[1:]}
    assert edges["∂ŷ/∂z"] == ["σ(z)·(1−σ(z))", fmt(s * (1 - s))]
    assert edges["∂z/∂w"] == ["x", "1"]
    assert edges["path product"][1] == fmt(by_hand)
    text = "".join(page.text)
    assert "1 path from w to E" in text and f"dE/dw = the path product = {fmt(by_hand)}" in text
    assert not {"script", "style", "link", "img", "iframe"} & set(page.tags())  # no network, no code


def test_explanation_html_and_markdown_show_a_hostile_label_as_text():
    w = Value(0.5, HOSTILE)
    out = w * w
    out.label = "<b>out</b>"
    explanation = mg.explain(out, w)
    markup = explanation._repr_html_()
    page = Parsed(markup)
    assert set(page.tags()) <= {"div", "p", "table", "thead", "tbody", "tr", "th", "td", "b"}
    assert HOSTILE in "".join(page.text) and "<b>out</b>" in "".join(page.text)
    assert "<script" not in markup
    markdown = explanation._repr_markdown_()
    assert unescaped_markup(markdown) == [] and "\\<script\\>" in markdown
    assert markdown == explanation.to_markdown()


def test_explanation_html_of_too_many_paths_shows_the_backward_accumulation():
    x = Value(0.9, "x")
    out = x
    for _ in range(12):  # 2^12 paths
        out = out * 0.5 + out * 0.5
    explanation = mg.explain(out, x, max_paths=10)
    assert explanation.truncated
    page = Parsed(explanation._repr_html_())
    header = page.rows[0]
    assert header[0] == "node" and header[2] == "summed from its uses"
    grads = {row[0]: row[1] for row in page.rows[1:]}
    assert grads["x"] == fmt(1.0)  # d out/dx = (0.5 + 0.5)^12
    assert "4,096 paths" in "".join(page.text)


def test_explanation_html_with_no_path_says_so():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    page = Parsed(mg.explain(a * 3.0, b)._repr_html_())
    assert "does not depend on b (no path)" in "".join(page.text) and not page.rows


# --- CheckReport -----------------------------------------------------------------------------------


def neuron(w, x, y):
    return 0.5 * (mg.sigmoid(w * x) - y) ** 2


def test_compare_html_colours_each_verdict_and_keeps_the_note_readable():
    hand = {
        "w": lambda w, x, y: (sigma(w * x) - y) * x * sigma(w * x) * (1 - sigma(w * x)),
        "x": lambda w, x, y: (sigma(w * x) - y) * w,  # forgets σ(1 − σ)
    }
    report = mg.compare(neuron, hand, at={"w": 0.5, "x": 1.0, "y": 1.0})
    page = Parsed(report._repr_html_())
    assert page.rows[0] == ["input", "autograd", "numeric", "hand", "abs err", "rel err", "verdict"]
    rows = {row[0]: row for row in page.rows[1:]}
    styles = {page.rows[i][0]: page.cell_styles[i] for i in range(1, len(page.rows))}
    s = sigma(0.5)
    assert rows["w"][1] == fmt((s - 1) * s * (1 - s), 8) and rows["w"][-1] == "ok"
    assert rows["x"][3] == fmt((s - 1) * 0.5, 8)
    assert rows["x"][-1] == f"NOT OK: {report.rows[1].note}"
    assert "hand differs from autograd" in rows["x"][-1]
    assert rows["y"][3] == "—"  # no hand formula for y
    assert OK_COLOUR in styles["w"][-1] and BAD_COLOUR in styles["x"][-1]
    assert "pre-wrap" in styles["x"][-1]  # a note of several lines keeps them
    headline = "".join(page.text).split("f = ")[0]
    assert headline == "compare at w = 0.5, x = 1, y = 1: 1 of 3 inputs NOT OK"
    assert str(report).splitlines()[0] == headline  # print() keeps the text report


def test_gradcheck_html_and_markdown_escape_labels_and_match_the_text():
    report = mg.gradcheck(lambda **k: k[HOSTILE] * 2.0, {HOSTILE: 1.5})
    assert report.ok
    markup = report._repr_html_()
    assert "<script" not in markup
    page = Parsed(markup)
    assert page.rows[1][0] == HOSTILE and page.rows[1][1] == "2" and page.rows[1][-1] == "ok"
    assert page.rows[0][:3] == ["input", "autograd", "numeric"] and "hand" not in page.rows[0]
    markdown = report._repr_markdown_()
    assert unescaped_markup(markdown) == [] and "| autograd | numeric | abs err |" in markdown
    assert markdown.splitlines()[0] == "**" + mg.notebook.md(str(report).splitlines()[0]) + "**"


def test_ipython_picks_up_the_rich_reprs():
    formatters = pytest.importorskip("IPython.core.formatters")
    E, w, *_ = seed_neuron(backward=True)
    display = formatters.DisplayFormatter()
    bundle, _ = display.format(mg.explain(E, w))
    assert {"text/html", "text/markdown", "text/plain"} <= set(bundle)
    bundle, _ = display.format(mg.gradcheck(lambda w: w * w, {"w": 2.0}))
    assert {"text/html", "text/markdown", "text/plain"} <= set(bundle)
    bundle, _ = display.format(mg.stepper(E))
    assert {"text/html", "text/plain"} <= set(bundle)


# --- Stepper ---------------------------------------------------------------------------------------


def test_stepper_is_the_to_html_page_in_a_sandboxed_iframe(tmp_path):
    E, w, *_ = seed_neuron()
    stepper = mg.stepper(E, highlight=w, title=HOSTILE, lr=0.5)
    page = mg.to_html(E, highlight=w, title=HOSTILE, lr=0.5)
    assert str(stepper) == page
    parsed = Parsed(stepper._repr_html_())
    assert parsed.tags() == ["iframe", "div"]  # nothing else runs in the notebook: the page, a caption
    assert "Run this cell" in stepper._repr_html_()  # what an untrusted notebook still shows
    attributes = parsed.elements[0][1]
    assert attributes["sandbox"] == "allow-scripts"  # no allow-same-origin: the notebook is out of reach
    assert attributes["srcdoc"] == page  # what the browser reads out of the attribute
    assert html.escape(HOSTILE) in page and HOSTILE not in page


def test_stepper_save_writes_the_page_atomically(tmp_path):
    E, *_ = seed_neuron()
    stepper = mg.stepper(E)
    target = tmp_path / "neuron.html"
    stepper.save(target)
    assert target.read_text("utf-8") == str(stepper)
    with pytest.raises(OSError, match="missing"):
        stepper.save(tmp_path / "missing" / "neuron.html")
    assert sorted(os.listdir(tmp_path)) == ["neuron.html"]  # no half-written or temporary file


def test_stepper_checks_its_arguments_as_to_html_does():
    E, *_ = seed_neuron()
    other = Value(1.0, "other")
    with pytest.raises(ValueError, match="not in the graph"):
        mg.stepper(E, highlight=other)
    with pytest.raises(TypeError, match="title"):
        mg.stepper(E, title=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mg.stepper(E, None)  # type: ignore[misc]  # keyword-only, like to_html's options


def test_stepper_passes_iterations_to_the_page():
    w = mg.Value(0.3, "w")
    E = (w * 2.0 - 1.0) ** 2
    two_rounds = mg.stepper(E, highlight=w, lr=0.1, iterations=2)
    assert str(two_rounds) == mg.to_html(E, highlight=w, lr=0.1, iterations=2)
    assert str(two_rounds) != str(mg.stepper(E, highlight=w, lr=0.1))  # the second round is on the page
