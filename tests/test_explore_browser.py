"""mg.explore end to end: a real JupyterLab (and Notebook 7) server, a notebook, Debian's Chromium.

The test starts its own Jupyter server on 127.0.0.1 (a free port, a token, its own config and
runtime folders), opens a notebook whose cell calls ``mg.explore`` for seed 000's network, runs
it, moves the input slider with the keyboard as a learner would, and checks that the grads shown
are the engine's for the new input; then presses the descent button and checks E before and
after. No console error may appear. The server is stopped after, and every wait is bounded.

Skipped where JupyterLab, anywidget, Playwright or /usr/bin/chromium is missing, unless
MICROGRADX_REQUIRE_BROWSER is set (CI sets it), as in test_html_browser.py. Screenshots go to
``$MICROGRADX_SCREENSHOTS`` when it is set.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from chromium import require
from test_explore import error  # the same E as CELL runs in the kernel

import microgradx as mg
from microgradx.engine import topological_order
from microgradx.formatting import fmt

require("jupyterlab", "notebook", "anywidget", "ipykernel")
from playwright.sync_api import expect  # noqa: E402

START_TIMEOUT = 90  # seconds for the server to answer
WAIT_MS = 60_000  # for the kernel to start and the widget to appear

CELL = """\
import microgradx as mg

def error(input, weight, goal):
    pred = input * weight
    pred.label = "pred"
    E = (pred - goal) ** 2
    E.label = "E"
    return E

mg.explore(error, {"input": 8.0, "weight": 0.5, "goal": 0.8}, wrt="weight", hand="2*(pred - goal)*input")
"""
START = {"input": 8.0, "weight": 0.5, "goal": 0.8}

TWO_LAYERS = """\
import microgradx as mg

def net(x1, x2, w11, w12, w21, w22, v1, v2, y):
    h1 = (w11 * x1 + w12 * x2).tanh(); h1.label = "h1"
    h2 = (w21 * x1 + w22 * x2).tanh(); h2.label = "h2"
    yhat = v1 * h1 + v2 * h2; yhat.label = "ŷ"
    E = (yhat - y) ** 2; E.label = "E"
    return E

mg.explore(net, {"x1": 1.0, "x2": -0.5, "w11": 0.3, "w12": -0.2, "w21": 0.5, "w22": 0.1,
                 "v1": -0.4, "v2": 0.7, "y": 1.0}, wrt="w11")
"""
LR = 0.01



def engine_at(point: dict[str, float]) -> tuple[mg.Value, dict[str, float], list[mg.Value]]:
    """The graph at `point` built by the engine here in the test: E, dE/d(each input), forward order."""
    inputs = {name: mg.Value(x, name) for name, x in point.items()}
    E = error(**inputs)
    grads = dict(zip(inputs, mg.grad(E, list(inputs.values())), strict=True))
    return E, grads, topological_order(E)[::-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Jupyter server (JupyterLab and Notebook 7) serving a folder with the test notebook."""
    home = tmp_path_factory.mktemp("jupyter")
    root = home / "work"
    root.mkdir()
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "explore", "metadata": {},
                   "outputs": [], "source": CELL}],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "explore.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    notebook["cells"][0] = {**notebook["cells"][0], "id": "two-layers", "source": TWO_LAYERS}
    (root / "two_layers.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    config = home / "config"
    (config / "labconfig").mkdir(parents=True)
    # No news or update checks: this machine has no network, and they are not under test.
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    port, token = free_port(), secrets.token_hex(16)
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.news_url=", "--ServerApp.log_level=WARN",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Jupyter server did not start:\n{(home / 'server.log').read_text()}")
            time.sleep(0.3)
        yield base, token
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen) -> None:
    """End the server this test started and the kernels it started (its own process group)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_for_idle_kernel(base: str, token: str, notebook: str = "explore.ipynb") -> None:
    """Until the notebook's kernel has started and is idle (asked through the server's REST API)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=5) as answer:
            sessions = json.load(answer)
        states = [s["kernel"]["execution_state"] for s in sessions if s["path"].endswith(notebook)]
        if states and all(state == "idle" for state in states):
            return
        time.sleep(0.3)
    pytest.fail("the notebook's kernel did not become idle")


def shoot(page, name: str, tmp_path: pathlib.Path) -> None:
    folder = pathlib.Path(os.environ.get("MICROGRADX_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.locator(".mgx").screenshot(path=str(folder / f"{name}.png"))


UIS = {"lab": "lab/tree", "notebook7": "notebooks"}  # where each front end opens a notebook


@pytest.mark.parametrize("ui", list(UIS))
def test_moving_the_input_slider_shows_the_engines_grads_and_the_descent_step(server, browser, ui, tmp_path):
    base, token = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(f"{m.text} @ {m.location}"))
    page.on("pageerror", lambda e: errors.append(f"{e} {e.stack}"))
    try:
        page.goto(f"{base}/{UIS[ui]}/explore.ipynb?token={token}")
        editor = page.locator(".jp-Cell .jp-InputArea-editor").first
        editor.wait_for(timeout=WAIT_MS)
        wait_for_idle_kernel(base, token)
        # From here on, no error at all. (Notebook 7 itself logs two while it loads, before any
        # cell runs: a settings "schema" TypeError and "Command 'filebrowser:open-path' not
        # registered"; they are the front end's, with or without microgradx.)
        page.wait_for_timeout(500)
        errors.clear()
        editor.click()
        page.keyboard.press("Shift+Enter")
        output = page.locator(".mgx-output")
        expect(output).to_have_text("E = " + fmt(engine_at(START)[0].data), timeout=WAIT_MS)

        E, grads, forward = engine_at(START)
        index = {node.label: i for i, node in enumerate(forward) if node.label}
        weight_grad = page.locator(f"#n{index['weight']}-grad")
        total = page.locator('.mgx-derivative[data-name="weight"] .mgx-value')
        expect(weight_grad).to_have_text(fmt(grads["weight"]))
        expect(total).to_have_text(fmt(grads["weight"]))
        expect(page.locator(".mgx-hand")).to_contain_text("✓ agrees")
        shoot(page, f"{ui}-1-start", tmp_path)

        # Move the input slider from 8 down to 1 with the arrow keys, one step (0.5) at a time.
        slider = page.locator('.mgx-slider[data-name="input"] input[type="range"]')
        slider.focus()
        for _ in range(14):
            page.keyboard.press("ArrowLeft")
        moved = {**START, "input": 1.0}
        E, grads, forward = engine_at(moved)
        expect(output).to_have_text("E = " + fmt(E.data))
        expect(weight_grad).to_have_text(fmt(grads["weight"]))  # -0.6: reversed and shrunk
        expect(page.locator(f"#n{index['input']}-data")).to_have_text("1")
        expect(total).to_have_text(fmt(grads["weight"]))
        expect(page.locator('.mgx-slider[data-name="input"] .mgx-box')).to_have_value("1")
        shoot(page, f"{ui}-2-input-1", tmp_path)

        page.locator(".mgx-step").click()
        new_weight = moved["weight"] - LR * grads["weight"]
        after, after_grads, _ = engine_at({**moved, "weight": new_weight})
        expect(page.locator(".mgx-step-output")).to_have_text(f"E: {fmt(E.data)} → {fmt(after.data)}")
        expect(page.locator(".mgx-update")).to_have_text(
            f"weight ← 0.5 − 0.01 · ({fmt(grads['weight'])}) = {fmt(new_weight)}"
        )
        expect(weight_grad).to_have_text(fmt(after_grads["weight"]))
        expect(page.locator('.mgx-slider[data-name="weight"] .mgx-box')).to_have_value(repr(new_weight))
        shoot(page, f"{ui}-3-after-step", tmp_path)
        assert errors == [], errors
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        page.close()


MEASURE = """(stage) => {
  const svg = stage.querySelector("svg");
  const box = svg.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  const shown = Array.from(svg.querySelectorAll("text")).filter(
    (t) => getComputedStyle(t).display !== "none" && t.textContent.trim() !== "");
  return {
    smallest: Math.min(...shown.map((t) => parseFloat(getComputedStyle(t).fontSize) * scale)),
    width: box.width, height: box.height, ratio: svg.viewBox.baseVal.height / svg.viewBox.baseVal.width,
    room: stage.clientWidth, scrollWidth: stage.scrollWidth, scrollHeight: stage.scrollHeight,
    clientHeight: stage.clientHeight,
  };
}"""


def open_and_run(page, base: str, token: str, notebook: str) -> None:
    page.goto(f"{base}/lab/tree/{notebook}?reset&token={token}")  # reset: no tab of another test
    editor = page.locator(".jp-Cell .jp-InputArea-editor").first
    editor.wait_for(timeout=WAIT_MS)
    wait_for_idle_kernel(base, token, notebook)
    editor.click()
    page.keyboard.press("Shift+Enter")
    expect(page.locator(".mgx-output")).to_contain_text("E = ", timeout=WAIT_MS)


def test_a_two_layer_graph_fits_its_view_with_text_of_12_px_or_more(server, browser, tmp_path):
    """At 1400×900, and in a notebook column 900 px wide: every word of the graph ≥ 12 px, the
    picture's proportions kept, nothing cut off (what does not fit the width scrolls sideways),
    and a number box shows -0.3983324 whole."""
    base, token = server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        open_and_run(page, base, token, "two_layers.ipynb")
        widget = page.locator(".mgx")
        shoot(page, "explore-two-layers-1400", tmp_path)
        views = {"1400x900": page.locator(".mgx-stage").evaluate(MEASURE)}
        column = widget.bounding_box()["width"]
        page.set_viewport_size({"width": round(1400 - (column - 900)), "height": 900})
        page.wait_for_timeout(500)  # the ResizeObserver refits the graph
        assert abs(widget.bounding_box()["width"] - 900) <= 2
        shoot(page, "explore-two-layers-900", tmp_path)
        views["900-px column"] = page.locator(".mgx-stage").evaluate(MEASURE)
        for view, m in views.items():
            assert m["smallest"] >= 12 - 1e-9, (view, m)
            assert abs(m["height"] / m["width"] - m["ratio"]) < 0.01, (view, m)  # not squeezed
            assert m["scrollHeight"] <= m["clientHeight"] + 1, (view, m)  # nothing cut off below
            assert m["scrollWidth"] >= m["width"], (view, m)  # the whole width can be scrolled to
            if m["width"] > m["room"] + 1:  # wider than the view only at the smallest readable size
                assert m["smallest"] < 12.5, (view, m)
        box = page.locator('.mgx-slider[data-name="w11"] .mgx-box')
        box.fill("-0.3983324")
        assert box.evaluate("(b) => b.scrollWidth <= b.clientWidth"), "the number box cuts -0.3983324"
    finally:
        page.close()
