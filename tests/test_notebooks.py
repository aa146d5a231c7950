"""The notebooks in examples/notebooks: made from today's pages, running green, showing what is committed.

Each notebook is run top to bottom in a real python3 kernel (nbclient + ipykernel), and every output
that carries text or numbers (streams, text/plain, text/html, text/markdown) must equal the
committed one: a notebook whose committed outputs went stale fails here, and ``python
examples/notebooks/make.py`` refreshes them. Pictures (SVG, PNG) are not compared: they depend on
which Graphviz renderer is installed. The tour is also exported to HTML with nbconvert and opened in
headless Chromium, where its inline stepper is stepped through to the end and its numbers checked.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re

import pytest
from chromium import ARGS, CHROMIUM, require
from conftest import missing_requirement

from microgradx.engine import topological_order
from microgradx.formatting import fmt

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "examples" / "notebooks" / "make.py")
make = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make)

PAGES = make.PAGES
IDS = [page.stem for page in PAGES]
TEXT = ("text/plain", "text/html", "text/markdown", "text/latex")
ADDRESS = re.compile(r"0x[0-9a-f]+")


def committed(page):
    return nbformat.read(make.notebook_path(page), as_version=4)


def shown(notebook) -> list[list[tuple]]:
    """Per code cell, its outputs as (type, stream name or mime type, text), pictures left out."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if output.output_type == "stream":  # a stream may come in chunks: join them
                if outputs and outputs[-1][:2] == ("stream", output.name):
                    outputs[-1] = ("stream", output.name, outputs[-1][2] + output.text)
                else:
                    outputs.append(("stream", output.name, output.text))
            elif output.output_type in ("execute_result", "display_data"):
                for mime in TEXT:
                    if mime in output.data:
                        outputs.append((output.output_type, mime, ADDRESS.sub("0x…", output.data[mime])))
            else:
                outputs.append((output.output_type, output.get("ename"), output.get("evalue")))
        cells.append(outputs)
    return cells


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Each page's notebook, made from the page and run now (once for all the tests here)."""
    results = {}
    for page in PAGES:
        if missing_requirement(page):  # <!-- needs torch --> where torch is not installed
            continue
        results[page] = make.execute(make.notebook_from_page(page), tmp_path_factory.mktemp(page.stem))
    return results


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_the_committed_notebook_is_made_from_todays_page(page):
    notebook, fresh = committed(page), make.notebook_from_page(page)
    assert [(c.cell_type, c.source) for c in notebook.cells] == [
        (c.cell_type, c.source) for c in fresh.cells
    ], f"{make.notebook_path(page).name} is stale: run python examples/notebooks/make.py"
    assert notebook.metadata["kernelspec"]["name"] == "python3"  # JupyterLab asks for no kernel
    assert notebook.metadata["kernelspec"]["language"] == "python"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_the_notebook_runs_green_and_shows_what_is_committed(page, ran):
    if why := missing_requirement(page):
        pytest.skip(why)
    outputs = shown(ran[page])
    for cell in outputs:
        for kind, name, text in cell:
            assert kind != "error", f"{page.name}: {name}: {text}"
            assert name != "stderr", f"{page.name} wrote to stderr: {text}"  # e.g. a renderer's warning
    assert outputs == shown(committed(page)), (
        f"{make.notebook_path(page).name} shows stale outputs: run python examples/notebooks/make.py"
    )
    assert all(c.execution_count for c in committed(page).cells if c.cell_type == "code")


def test_the_tour_shows_each_report_richly():
    cells = [c for c in committed(PAGES[0]).cells if c.cell_type == "code"]
    kinds = {c.source.splitlines()[-1]: [set(o.get("data", {})) for o in c.outputs] for c in cells}
    assert "image/svg+xml" in kinds["mg.draw(E, show_local=True)"][0]
    assert {"text/html", "text/markdown"} <= kinds["mg.explain(E, w)"][0]
    assert {"text/html", "text/markdown"} <= kinds["report"][0]
    assert "text/html" in kinds["mg.stepper(E, highlight=w, lr=0.5)"][0]


def test_markdown_cells_read_as_in_a_notebook():
    cells = committed(PAGES[1]).cells  # proportional-to-input: an admonition, links to other pages
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert "!!!" not in text and "> **The question**" in text
    assert "```text" not in "\n".join(c.source for c in cells[:3] if c.cell_type == "markdown")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:|#", target):
            continue
        assert (make.HERE / target.split("#")[0]).exists(), target  # every relative link resolves


def test_the_notebook_extra_and_the_readme_start_jupyterlab_on_the_tour_which_lists_every_notebook():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["optional-dependencies"]
    assert any(dep.startswith("jupyterlab") for dep in extras["notebook"])
    assert any(dep.startswith("matplotlib") for dep in extras["notebook"])
    for tool in ("nbclient", "nbconvert", "ipykernel", "nbformat"):
        assert any(dep.startswith(tool) for dep in extras["test"]), tool
    readme = (ROOT / "README.md").read_text("utf-8")
    assert (
        "pip install -e '.[notebook]' && jupyter trust examples/notebooks/*.ipynb && "
        "jupyter lab examples/notebooks/tour.ipynb"
    ) in readme
    assert "jupyter lab --allow-root" in readme  # as root, JupyterLab refuses to start without it
    tour = (ROOT / "docs" / "tour.md").read_text("utf-8")  # the tour lists every notebook
    for page in PAGES:
        assert f"examples/notebooks/{page.stem}.ipynb" in tour


# --- the tour exported to HTML, in a real browser ----------------------------------------------------


def tour_graph():
    """The tour's E and w, built by running the tour's first code cells here (the truth for the page)."""
    namespace: dict = {}
    cells = [c.source for c in committed(PAGES[0]).cells if c.cell_type == "code"]
    for source in cells[:2]:  # build, backward
        exec(compile(source, "tour.ipynb", "exec"), namespace)
    return namespace["E"], namespace["w"]


def test_the_tour_exported_to_html_steps_through_its_stepper_in_chromium(tmp_path):
    require()
    from nbconvert import HTMLExporter
    from playwright.sync_api import sync_playwright

    # A static export as a learner shares it; its CDN scripts (RequireJS, MathJax) are left out so
    # that the one page here makes no request at all.
    exporter = HTMLExporter(mathjax_url="", require_js_url="", jquery_url="", embed_images=True)
    body, _ = exporter.from_notebook_node(committed(PAGES[0]))
    path = tmp_path / "tour.html"
    path.write_text(body, "utf-8")
    E, w = tour_graph()
    forward = topological_order(E)[::-1]
    lr = 0.5

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors, requests = [], []
        page.on("console", lambda m: m.type in ("error", "warning") and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())

        # The rich reports: the explain table and the compare verdicts, as the browser shows them.
        reports = page.locator("div.microgradx")
        assert reports.count() == 2
        explain_text = reports.nth(0).inner_text()
        assert f"dE/dw = the path product = {fmt(w.grad)}" in explain_text
        assert "σ(z)·(1−σ(z))" in explain_text
        verdicts = reports.nth(1).locator("td:last-child")
        assert [verdicts.nth(i).inner_text().split(":")[0] for i in range(3)] == ["ok", "NOT OK", "ok"]
        assert verdicts.nth(1).evaluate("e => getComputedStyle(e).color") == "rgb(201, 42, 42)"
        reports.nth(0).screenshot(path=tmp_path / "explain.png")
        reports.nth(1).screenshot(path=tmp_path / "compare.png")

        frame_element = page.locator("iframe.microgradx-stepper")
        assert frame_element.get_attribute("sandbox") == "allow-scripts"
        frame = page.frame_locator("iframe.microgradx-stepper")
        data = json.loads(frame.locator("#mgx-data").text_content())
        steps = len(data["steps"])
        assert frame.locator("#counter").text_content() == f"step 1 of {steps}"
        # to the update of w (after it, the page runs forward again with the new w: issue 19)
        update = max(i for i, step in enumerate(data["steps"]) if step["phase"] == "update")
        for _ in range(update):
            frame.locator("#next").click()
        assert frame.locator("#counter").text_content() == f"step {update + 1} of {steps}"
        cards = frame.locator("body").evaluate(
            """(body, n) => Array.from({length: n}, (_, i) => {
                 const d = document.getElementById('n' + i + '-data');
                 const g = document.getElementById('n' + i + '-grad');
                 return [d && d.textContent, g && g.textContent];
               })""",
            len(forward),
        )
        for node, (data_text, grad_text) in zip(forward, cards, strict=True):
            if not node.parents and not node.label:
                continue  # a constant shows its number only
            assert grad_text == fmt(node.grad), node  # backward()'s grads, on the inline page
            expected = fmt(node.data - lr * node.grad) if node is w else fmt(node.data)
            assert data_text == expected, node  # and w after the update step w ← w − lr·grad
        frame_element.screenshot(path=tmp_path / "stepper.png")
        for _ in range(steps - 1 - update):
            frame.locator("#next").click()
        assert frame.locator("#next").is_disabled()
        browser.close()
    assert errors == []
    assert [url for url in requests if not url.startswith("data:")] == [path.as_uri()]
    assert (tmp_path / "stepper.png").stat().st_size > 10_000
