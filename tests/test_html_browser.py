"""The stepper page in a real browser: headless Chromium (Debian's package) driven by Playwright.

Opens the page from a file:// URL, presses Next through the whole forward and backward pass and
checks every number on the screen against what Python computed, with no console error and no
network request; and checks that hostile labels are shown as text and run nothing. Skipped where
Playwright or /usr/bin/chromium is missing, unless MICROGRADX_REQUIRE_BROWSER is set (CI sets it).
"""

from __future__ import annotations

import json
import re

import pytest
from chromium import require
from conftest import seed_neuron as shared_seed_neuron

import microgradx as mg
from microgradx.engine import Value, topological_order
from microgradx.formatting import fmt

require()
from playwright.sync_api import expect  # noqa: E402

DATA = re.compile(r'<script type="application/json" id="mgx-data">(.*?)</script>', re.S)


class Watched:
    """A page that records console errors, page errors and every request it makes."""

    def __init__(self, browser, path):
        self.url = path.resolve().as_uri()
        self.page = browser.new_page(viewport={"width": 1280, "height": 720})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.url)

    def text(self, selector: str) -> str:
        return self.page.locator(selector).text_content()

    def cards(self, count: int) -> list[tuple[str | None, str | None]]:
        """(data, grad) as displayed on each card; None for a card without that field (a constant)."""
        return self.page.evaluate(
            """n => Array.from({length: n}, (_, i) => {
                 const d = document.getElementById('n' + i + '-data');
                 const g = document.getElementById('n' + i + '-grad');
                 return [d && d.textContent, g && g.textContent];
               })""",
            count,
        )


def seed_neuron(w: float = 0.3):
    E, w, *_ = shared_seed_neuron(w)
    return E, w


def diamond_with_square(a: float = -0.6):
    a = Value(a, "a")
    b = a * a  # a repeated operand
    c = (a + b).tanh() * b  # a diamond: b reaches c twice
    c.label = "c"
    return c, a


def line_of(step: dict) -> str:
    return "".join(part[0] for row in step["rows"] for part in row)


@pytest.mark.parametrize("build", [seed_neuron, diamond_with_square])
def test_next_through_every_step_shows_what_python_computed(browser, tmp_path, build):
    output, weight = build()
    path = tmp_path / "page.html"
    html = mg.to_html(output, path, highlight=weight, lr=0.5)
    data = json.loads(DATA.search(html).group(1))
    steps = data["steps"]
    forward = topological_order(output)[::-1]
    mg.zero_grad(forward)
    output.backward()  # the truth the page must show at the end of the backward pass
    # and after the update, the same expression built again at w − lr·grad: its forward values
    again, _ = build(weight.data - 0.5 * weight.grad)
    forward_again = topological_order(again)[::-1]
    assert len(forward_again) == len(forward)

    backward = [s for s, step in enumerate(steps) if step["phase"] == "backward"]
    middle, end_of_backward = backward[len(backward) // 2], backward[-1]
    watched = Watched(browser, path)
    # What each card should show, advanced by hand alongside the page: data appears when its node
    # is computed (inputs at once), grads as each contribution arrives, then the weight's update,
    # then round 2: grads cleared and every node computed again from the updated weight.
    shown = {i: [None if n.parents else fmt(n.data), None] for i, n in enumerate(forward)}
    for s, step in enumerate(steps):
        if s:
            watched.page.click("#next")
        truth = forward if step["round"] == 1 else forward_again
        if step.get("reset"):
            shown = {i: [None if n.parents else fmt(n.data), None] for i, n in enumerate(forward_again)}
        if step["phase"] == "forward":
            shown[step["node"]][0] = fmt(truth[step["node"]].data)
        elif step["phase"] == "backward":
            shown[step["node"]][1] = fmt(step["after"])
        elif step["phase"] == "update":
            shown[step["node"]][0] = fmt(weight.data - 0.5 * weight.grad)
        displayed = watched.cards(len(forward))
        for i, node in enumerate(forward):
            if not node.parents and not node.label:
                assert displayed[i] == [None, None]  # a constant: its number, no data/grad fields
                continue
            data_text, grad_text = shown[i]
            assert displayed[i][0] == (data_text if data_text is not None else ("?" if node.parents else ""))
            assert displayed[i][1] == (grad_text or "")
        assert watched.text("#line") == line_of(step)
        assert watched.text("#counter") == f"step {s + 1} of {len(steps)}"
        assert watched.text("#round") == f"round {step['round']} of 2"
        assert watched.page.locator(f"#n{step['node']}.current").count() == (step["node"] is not None)
        for e in step["edges"]:
            active = "active-fwd" if step["phase"] == "forward" else "active-bwd"
            assert active in watched.page.get_attribute(f"#e{e}", "class")
        if s == middle:
            watched.page.screenshot(path=tmp_path / "mid-backward.png")
        if s == end_of_backward:  # every grad on screen is backward()'s, formatted once by fmt
            for i, node in enumerate(forward):
                if node.parents or node.label:
                    assert displayed[i][1] == fmt(node.grad), node
    # the end: the second forward pass shows the output at the updated weight, as Python computes it
    assert watched.text(f"#n{data['output']}-data") == fmt(again.data)
    assert watched.page.is_disabled("#next")
    watched.page.screenshot(path=tmp_path / "end.png")
    assert (tmp_path / "end.png").stat().st_size > 10_000
    assert watched.errors == []
    assert watched.requests == [watched.url]  # the page itself, nothing else
    watched.page.close()


def test_keyboard_and_buttons_move_between_steps(browser, tmp_path):
    output, weight = seed_neuron()
    path = tmp_path / "page.html"
    data = json.loads(DATA.search(mg.to_html(output, path, highlight=weight, lr=0.1)).group(1))
    last = len(data["steps"])
    watched = Watched(browser, path)
    counter = lambda: watched.text("#counter")  # noqa: E731
    assert counter() == f"step 1 of {last}" and watched.page.is_disabled("#back")
    watched.page.keyboard.press("ArrowRight")
    watched.page.keyboard.press("ArrowRight")
    assert counter() == f"step 3 of {last}"
    watched.page.keyboard.press("ArrowLeft")
    assert counter() == f"step 2 of {last}"
    watched.page.keyboard.press("End")
    assert counter() == f"step {last} of {last}"
    assert watched.page.locator("body[data-phase=forward]").count() == 1  # forward again, new weights
    watched.page.click("#back")
    assert counter() == f"step {last - 1} of {last}"
    update = max(s for s, step in enumerate(data["steps"]) if step["phase"] == "update")
    watched.page.click(f"#progress span:nth-child({update + 1})")
    assert watched.page.locator("body[data-phase=update]").count() == 1
    watched.page.click("#reset")
    assert counter() == f"step 1 of {last}"
    assert watched.text(f"#n{data['output']}-data") == "?"
    watched.page.click("#play")
    expect(watched.page.locator("#counter")).to_have_text(f"step 3 of {last}", timeout=10_000)
    watched.page.click("#play")  # pause
    assert watched.text("#play").endswith("Play")
    assert watched.errors == [] and watched.requests == [watched.url]
    watched.page.close()


def test_hostile_labels_are_shown_as_text_and_run_nothing(browser, tmp_path):
    a = Value(2.0, '"><script>window.pwned=1</script>')
    b = Value(3.0, "<img src=x onerror=\"window.pwned=2\"> & 'q'")
    out = (a * b).tanh()
    out.label = "</script><script>window.pwned=3</script>"
    path = tmp_path / "page.html"
    data = json.loads(DATA.search(mg.to_html(out, path, title="<script>window.pwned=4</script>")).group(1))
    watched = Watched(browser, path)
    for _ in range(len(data["steps"]) - 1):
        watched.page.keyboard.press("ArrowRight")
    assert watched.page.evaluate("typeof window.pwned") == "undefined"
    assert watched.page.evaluate("document.querySelectorAll('img, script').length") == 2  # our own two
    assert watched.text("h1") == "<script>window.pwned=4</script>"
    names = watched.page.evaluate("Array.from(document.querySelectorAll('#nodes title'), t => t.textContent)")
    assert set(names) >= {a.label, b.label, out.label}
    assert a.label in watched.text("#line") and b.label in watched.text("#line")
    assert watched.errors == [] and watched.requests == [watched.url]
    watched.page.close()
