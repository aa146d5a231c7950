"""The training page (`History.to_html`) in headless Chromium, driven by Playwright as the stepper's.

Scrubs to several steps and checks the loss, a parameter's value and grad, and the decision
boundary's class at a few cells against Python; no console error, no network request; hostile
labels stay text. Skipped without Playwright or /usr/bin/chromium unless MICROGRADX_REQUIRE_BROWSER.
"""

from __future__ import annotations

import math

import pytest
from playwright.sync_api import expect  # after test_html_browser, which skips where it is missing
from test_history import LABELS, POINTS, diverged, embedded, model_class, run
from test_html_browser import Watched  # (skips without a browser; the browser fixture is conftest's)

from microgradx import Value
from microgradx.formatting import fmt
from microgradx.nn import MLP, History


def scrub_to(watched: Watched, index: int) -> None:
    watched.page.evaluate(
        "i => { const r = document.getElementById('scrub'); r.value = String(i);"
        " r.dispatchEvent(new Event('input')); }",
        index,
    )


def cell_class(watched: Watched, i: int, j: int) -> str:
    """The class drawn at grid cell (i, j): the row-run rectangle that covers it."""
    return watched.page.evaluate(
        """([i, j]) => {
             for (const r of document.querySelectorAll('#cells rect')) {
               const x = +r.getAttribute('x'), w = +r.getAttribute('width');
               if (+r.getAttribute('y') === j && x <= i && i < x + w) return r.getAttribute('data-class');
             }
             return null;
           }""",
        [i, j],
    )


def test_scrubbing_shows_the_recorded_loss_values_grads_and_boundary(browser, tmp_path):
    _, history, seen = run(steps=8)
    path = tmp_path / "run.html"
    data = embedded(history.to_html(path, data=(POINTS, LABELS)))
    b = data["boundary"]
    n = b["n"]
    twin = MLP(2, [4, 1], activation="tanh", seed=99)
    watched = Watched(browser, path)
    for step in (0, 3, 7, 5):
        scrub_to(watched, step)
        assert watched.text("#step-now") == f"step {step} / 7"
        assert watched.text("#loss-now") == fmt(seen[step][0])
        for i in (0, 5, len(seen[0][1]) - 1):
            card = f".param[data-index='{i}']"
            assert watched.text(f"{card} .v") == fmt(seen[step][1][i])
            assert watched.text(f"{card} .g") == fmt(seen[step][2][i])
            assert watched.text(f"{card} .u") == fmt(seen[step][3][i] - seen[step][1][i])
        assert watched.page.get_attribute("#cells", "data-step") == str(step)
        twin.load_state_dict(dict(zip(history.names, history.values[step], strict=True)))
        for i, j in ((0, 0), (n // 2, n // 3), (n - 1, n - 1), (n // 4, 3 * n // 4)):
            x = b["x"][0] + (b["x"][1] - b["x"][0]) * (i + 0.5) / n
            y = b["y"][1] - (b["y"][1] - b["y"][0]) * (j + 0.5) / n
            assert cell_class(watched, i, j) == fmt(model_class(twin, [x, y])), (step, i, j)
        if step == 3:
            watched.page.screenshot(path=tmp_path / "step3.png", full_page=True)
    # sorting by |grad| puts the largest first
    watched.page.select_option("#sort", "grad")
    first = int(watched.page.get_attribute("#params .param:first-child", "data-index"))
    assert abs(seen[5][2][first]) == max(abs(g) for g in seen[5][2])
    watched.page.keyboard.press("End")
    assert watched.text("#step-now") == "step 7 / 7"
    # a fine grid, softened by a blur under a cell wide: the boundary is not drawn as steps
    assert n >= 64 and watched.page.get_attribute("#cells", "filter") == "url(#soft)"
    assert watched.page.is_disabled("#next")
    assert (tmp_path / "step3.png").stat().st_size > 10_000
    assert watched.errors == [] and watched.requests == [watched.url]
    watched.page.close()


def test_play_advances_and_a_neurons_curve_is_drawn(browser, tmp_path):
    w = Value(0.5, "w")
    history = History([w])
    for x in (1.0, 0.0, 1.0):
        w.grad = 0.0
        E = 0.5 * ((w * x).sigmoid() - x) ** 2
        E.backward()
        history.record(E)
        w.data -= 4.0 * w.grad
    path = tmp_path / "neuron.html"
    history.to_html(path)
    watched = Watched(browser, path)
    assert watched.page.is_visible("#curve-panel") and not watched.page.is_visible("#boundary-panel")
    assert len(watched.page.get_attribute("#curve polyline", "points").split()) == 61
    watched.page.click("#play")
    expect(watched.page.locator("#step-now")).to_have_text("step 2 / 2", timeout=10_000)
    assert fmt(history.grads[2][0]) in watched.text("#curve-text")
    assert watched.errors == [] and watched.requests == [watched.url]
    watched.page.close()


def test_hostile_labels_and_title_are_shown_as_text_and_run_nothing(browser, tmp_path):
    a = Value(1.0, "</script><script>window.pwned=1</script>")
    b = Value(2.0, '<img src=x onerror="window.pwned=2">')
    history = History([a, b])
    for _ in range(3):
        a.grad, b.grad = 2 * a.data, 1.0
        history.record(a.data**2 + b.data)
        a.data -= 0.1
    path = tmp_path / "hostile.html"
    history.to_html(path, title="<script>window.pwned=3</script>")
    watched = Watched(browser, path)
    scrub_to(watched, 2)
    assert watched.page.evaluate("typeof window.pwned") == "undefined"
    assert watched.page.evaluate("document.querySelectorAll('img, script').length") == 2  # our own two
    assert watched.text("h1") == "<script>window.pwned=3</script>"
    names = watched.page.evaluate("Array.from(document.querySelectorAll('.param .name'), e => e.textContent)")
    assert names == [a.label, b.label]
    assert watched.errors == [] and watched.requests == [watched.url]
    watched.page.close()


def neuron_run(steps: int, lr: float = 0.01) -> History:
    """A (w, b) tanh neuron trained `steps` steps by plain gradient descent."""
    w, b = Value(0.5, "w"), Value(0.1, "b")
    history = History([w, b])
    for _ in range(steps):
        w.grad = b.grad = 0.0
        E = 0.5 * ((w * 1.5 + b).tanh() - 1.0) ** 2
        E.backward()
        history.record(E)
        w.data -= lr * w.grad
        b.data -= lr * b.grad
    return history


def last_tick_fits(watched: Watched) -> bool:
    """The loss chart's last x-axis number lies inside the chart's box (it was cut off at the edge)."""
    return watched.page.evaluate(
        """() => {
             const svg = document.getElementById('loss'), box = svg.viewBox.baseVal;
             const ticks = [...svg.querySelectorAll('text.tick')].filter(t => t.getAttribute('y') > 150);
             return ticks.every(t => { const b = t.getBBox(); return b.x >= 0 && b.x + b.width <= box.width })
           }"""
    )


@pytest.mark.parametrize("two", [False, True])
def test_a_diverged_run_is_drawn_with_its_inf_and_nan_marked(browser, tmp_path, two):
    history = diverged(400, two)
    path = tmp_path / "diverged.html"
    history.to_html(path)
    watched = Watched(browser, path)
    marks = watched.page.evaluate(
        "Array.from(document.querySelectorAll('#loss .nonfinite'), e => e.getAttribute('data-kind'))"
    )
    assert marks == ["inf", "nan"]
    labels = watched.page.evaluate(
        "Array.from(document.querySelectorAll('#loss .nonfinite-label'), e => e.textContent)"
    )
    first_inf = next(k for k, x in enumerate(history.losses) if math.isinf(x))
    assert labels[0] == f"inf from step {first_inf}"
    watched.page.keyboard.press("End")
    assert watched.text("#loss-now") == "nan" and "not finite, so not drawn" in watched.text("#curve-text")
    assert watched.page.is_hidden("#curve .dot")
    scrub_to(watched, 3)  # a finite step still has its curve, dot and tangent
    assert watched.page.is_visible("#curve .dot") and watched.text("#loss-now") == fmt(history.losses[3])
    assert "not finite" not in watched.text("#curve-text")
    assert last_tick_fits(watched)
    if two:
        watched.page.screenshot(path=tmp_path / "diverged.png", full_page=True)
        assert (tmp_path / "diverged.png").stat().st_size > 10_000
    assert watched.errors == [] and watched.requests == [watched.url]
    watched.page.close()


@pytest.mark.parametrize("steps", [2_500, 100_000])
def test_a_long_run_page_works_in_chromium(browser, tmp_path, steps):
    history = neuron_run(steps)
    path = tmp_path / "long.html"
    page = history.to_html(path)
    assert len(page) < 2_000_000
    watched = Watched(browser, path)  # Math.min.apply over every point overflowed the stack here
    shown = embedded(page)["steps"]
    watched.page.keyboard.press("End")
    assert watched.text("#step-now") == f"step {steps - 1} / {steps - 1}"
    assert watched.text("#loss-now") == fmt(history.losses[-1])
    assert len(watched.page.get_attribute("#curve polyline", "points").split()) == 61
    scrub_to(watched, len(shown) // 2)
    assert watched.text("#step-now") == f"step {shown[len(shown) // 2]} / {steps - 1}"
    assert last_tick_fits(watched)
    assert watched.errors == [] and watched.requests == [watched.url]
    watched.page.close()
