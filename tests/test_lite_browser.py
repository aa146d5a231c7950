"""The browser site, in a browser with the network off: the tour runs in JupyterLite, the playground works.

Builds the docs site once for this module with ``mkdocs build`` (whose hook builds ``lite/``), serves
it on 127.0.0.1 and drives Debian's chromium with every request to any other host aborted (and
recorded: there must be none). Marked ``browser``: ``-m "not browser"`` deselects it. The first
build downloads Pyodide (npm) and its wheels (PyPI) into ~/.cache/microgradx-lite; later builds reuse them.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import threading
from typing import ClassVar

import pytest
from chromium import ARGS, CHROMIUM, require

require()
from playwright.sync_api import sync_playwright  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOAD = 240_000  # ms: a cold start of Pyodide (and JupyterLite) on a busy two-core machine


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    """The docs site as ``mkdocs build --strict`` writes it, its hook building lite/."""
    pytest.importorskip("mkdocs")
    out = tmp_path_factory.mktemp("lite-site") / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
    }

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served(site):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def context(served):
    """A browser context that reaches only our server; `context.outside` lists what else was asked for."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        ctx.outside = []

        def route(request_route) -> None:
            url = request_route.request.url
            if url.startswith((served, "data:", "blob:", "about:")):
                request_route.continue_()
            else:
                ctx.outside.append(url)
                request_route.abort()

        ctx.route("**/*", route)
        yield ctx
        browser.close()


def test_every_page_says_run_in_your_browser(site) -> None:
    pages = sorted(p for p in site.rglob("index.html") if "lite" not in p.relative_to(site).parts)
    assert len(pages) >= 8
    for page in pages:
        html = page.read_text("utf-8")
        link = re.search(
            r'<p class="run-in-browser"[^>]*><a href="([^"]+)"><strong>▶ Run in your browser', html
        )
        assert link, page
        target = (page.parent / link.group(1).split("?")[0]).resolve()
        assert target.is_file() and site / "lite" in target.parents, (page, link.group(1))


def test_the_site_holds_pyodide_and_exactly_the_wheels_its_lock_lists(site) -> None:
    pyodide = site / "lite" / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text("utf-8"))
    for name, entry in lock["packages"].items():
        wheel = pyodide / entry["file_name"]
        assert wheel.is_file(), name
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry["sha256"], name
    assert {p.name for p in pyodide.glob("*.whl")} == {e["file_name"] for e in lock["packages"].values()}
    assert "microgradx" in lock["packages"] and "graphviz-pure" not in json.dumps(lock)
    config = json.loads((site / "lite" / "jupyter-lite.json").read_text("utf-8"))["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["disablePyPIFallback"] is True and kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    notebooks = json.loads((site / "lite" / "api" / "contents" / "all.json").read_text("utf-8"))
    names = {item["name"] for item in notebooks["content"]}
    assert {p.name for p in (ROOT / "examples" / "notebooks").glob("*.ipynb")} <= names


def _output(page, index: int) -> str:
    cell = page.locator(".jp-CodeCell").nth(index)
    cell.scroll_into_view_if_needed()  # the notebook draws only the cells in view
    cell.locator(".jp-OutputArea-output").first.wait_for(timeout=LOAD)
    return cell.locator(".jp-OutputArea").inner_text()


def test_the_tour_runs_in_jupyterlite_offline(context, served) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served + "lite/index.html")  # opens the tour
    page.wait_for_url(re.compile(r"notebooks/index\.html\?path=tour\.ipynb"))
    page.locator(".jp-CodeCell .cm-content").first.wait_for(timeout=LOAD)
    page.locator(".jp-CodeCell .cm-content").first.click()
    page.get_by_role("menuitem", name="Run").first.click()
    page.get_by_text("Run All Cells", exact=True).click()
    # the same numbers as Python computes here (the tour's neuron: w = 0.5, x = 1, y = 1)
    assert "Value(data=0.07126847829827546, grad=0.0, label='E')" in _output(page, 0)
    assert "dE/dw = -0.088723, dE/dz = -0.088723, dE/dŷ = -0.377541" in _output(page, 1)
    drawn = _output(page, 2)  # mg.draw: no Graphviz in the browser, so the stepper's picture
    assert "No Graphviz renderer here" in drawn
    assert page.locator(".jp-CodeCell").nth(2).locator("iframe.microgradx-stepper").count() == 1
    assert "dE/dw by the chain rule: 1 path from w to E" in _output(page, 3)
    assert "NOT OK" in _output(page, 5)  # compare finds the forgotten factor in the hand formula for x
    assert context.outside == [], context.outside
    assert not [e for e in errors if "microgradx" in e or "Python" in e], errors
    page.close()


def test_the_playground_computes_a_gradient_offline(context, served) -> None:
    page = context.new_page()
    page.goto(served + "lite/playground.html")
    page.locator("body[data-ready]").wait_for(state="attached", timeout=LOAD)
    page.fill("#expr", "a = u*v; a + sin(u)")
    page.locator("#expr").press("Enter")
    page.fill("#values input[name=u]", "2")
    page.fill("#values input[name=v]", "3")
    page.click("#go")
    page.wait_for_function("document.querySelector('#grads').textContent.includes('du')")
    rows = [line.split("\t") for line in page.inner_text("#grads").splitlines()]
    grads = {name.rsplit("/d", 1)[1]: float(value) for name, value in rows}
    assert grads == {"u": pytest.approx(3 + math.cos(2)), "v": pytest.approx(2)}  # by hand: v + cos u, and u
    assert "path" in page.inner_text("#explain")
    page.fill("#expr", "__import__('os')")
    page.click("#go")
    page.wait_for_function("document.querySelector('#status').classList.contains('error')")
    assert "column" in page.inner_text("#status")
    assert context.outside == [], context.outside
    page.close()
