"""microgradx in the browser, without a browser: what Pyodide would see, pretended here.

The package must install where graphviz-pure cannot (its wheels are platform binaries, none for
Pyodide), so the dependency carries the marker ``sys_platform != "emscripten"``; a drawing shown
with no renderer at all displays as the stepper's picture; nothing a notebook does there starts a
program; the playground's Python reads what a learner types with microgradx's own parser only.
The browser itself: tests/test_lite_browser.py.
"""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib
import subprocess
import sys

import pytest
import tomllib
from conftest import seed_neuron

import microgradx as mg

draw_module = importlib.import_module("microgradx.draw")  # (microgradx.draw is also the function)
renderer_module = importlib.import_module("microgradx.renderer")

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def _module(path: pathlib.Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_graphviz_pure_is_required_everywhere_but_in_the_browser() -> None:
    markers = pytest.importorskip("packaging.requirements")
    requirements = [markers.Requirement(text) for text in PYPROJECT["project"]["dependencies"]]
    by_name = {r.name: r for r in requirements}
    pure = by_name["graphviz-pure"]
    for platform in ("linux", "darwin", "win32"):
        assert pure.marker is not None and pure.marker.evaluate({"sys_platform": platform}), platform
    assert not pure.marker.evaluate({"sys_platform": "emscripten"})
    # the graphviz package (pure Python, only builds DOT text) installs in the browser too
    assert by_name["graphviz"].marker is None


@pytest.fixture
def in_the_browser(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Pretend to be Pyodide: sys.platform is emscripten, no renderer exists, starting a program fails.

    Returns the commands anything tried to start (none should)."""
    started: list[list[str]] = []

    def no_programs(command, *args, **kwargs):
        started.append(list(command))
        raise OSError(38, "Function not implemented")  # what Pyodide's subprocess raises

    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.setattr(renderer_module.shutil, "which", lambda *a, **k: None)
    monkeypatch.setattr(renderer_module, "_graphviz_pure", lambda: None)
    monkeypatch.setattr(subprocess, "run", no_programs)
    monkeypatch.setattr(subprocess, "Popen", no_programs)
    return started


def test_a_drawing_displays_as_the_stepper_where_nothing_can_render_it(in_the_browser) -> None:
    E, *_ = seed_neuron(backward=True)
    bundle = mg.draw(E, show_local=True)._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    html = bundle["text/html"]
    assert draw_module.BROWSER_NOTE in html and "browser" in bundle["text/plain"]
    assert '<iframe class="microgradx-stepper"' in html
    assert html.endswith(mg.stepper(E)._repr_html_())  # the stepper of the same graph, as Jupyter shows it
    assert in_the_browser == []


def test_writing_a_picture_in_the_browser_says_what_to_do_instead(in_the_browser, tmp_path) -> None:
    E, *_ = seed_neuron(backward=True)
    for attempt in (lambda: mg.draw(E).pipe(), lambda: draw_module.render(E, tmp_path / "g.svg")):
        with pytest.raises(draw_module.RendererNotFound, match=r"in the browser.*notebook cell"):
            attempt()
    draw_module.render(E, tmp_path / "g.dot")  # DOT text needs no program
    assert (tmp_path / "g.dot").read_text("utf-8").startswith("digraph")
    assert in_the_browser == []


def test_a_notebooks_work_starts_no_program_in_the_browser(in_the_browser) -> None:
    """The tour's calls, each displayed as Jupyter would (its rich reprs), with subprocess unusable."""
    E, w, *_ = seed_neuron(backward=True)
    shown = [
        mg.draw(E, show_local=True)._repr_mimebundle_(),
        mg.explain(E, w)._repr_html_(),
        str(mg.explain(E, w)),
        mg.stepper(E, highlight=w, lr=0.5)._repr_html_(),
        mg.to_text(E),
        mg.to_dot(E),
    ]
    assert all(shown)
    assert in_the_browser == []


def test_with_a_renderer_a_drawing_is_graphviz_svg_as_before(monkeypatch) -> None:
    monkeypatch.setattr(draw_module, "find_renderer", lambda format="svg": "/usr/bin/dot")
    monkeypatch.setattr(draw_module.Drawing, "_repr_image_svg_xml", lambda self: "<svg/>", raising=False)
    E, *_ = seed_neuron(backward=True)
    assert mg.draw(E)._repr_mimebundle_() == {"image/svg+xml": "<svg/>"}


# --- the playground's Python (docs/hooks/lite/playground.py), run here in CPython ---------------

playground = _module(ROOT / "docs" / "hooks" / "lite" / "playground.py", "microgradx_playground")


def test_the_playground_computes_the_gradients_of_what_is_typed() -> None:
    text = "z = w*x; yhat = sigmoid(z); E = 0.5*(yhat - y)**2"
    assert json.loads(playground.inputs(text)) == {"inputs": ["w", "x", "y"]}
    answer = json.loads(playground.run(text, json.dumps({"w": "0.5", "x": "1", "y": "1"}), "w"))
    s = 1 / (1 + math.exp(-0.5))
    grads = dict(answer["grads"])
    assert answer["output"] == ["E", pytest.approx(0.5 * (s - 1) ** 2)]
    assert grads["w"] == pytest.approx((s - 1) * s * (1 - s) * 1.0)  # dE/dw by hand
    assert grads["x"] == pytest.approx((s - 1) * s * (1 - s) * 0.5)
    assert grads["y"] == pytest.approx(-(s - 1))
    assert "path 1: w → z → yhat" in answer["explain_text"].lower()
    assert answer["stepper"].startswith("<!DOCTYPE html>")
    assert "E" in answer["tree"]


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("__import__('os').system('true')", {}, "column"),
        ("x.__class__", {"x": "1"}, "attribute"),
        ("w*x", {"w": "1", "x": "__import__('os')"}, "not a number"),
        ("w*x", {"w": "1", "x": "inf"}, "finite"),
        ("log(x)", {"x": "-1"}, "log"),
        ("", {}, "empty"),
        ("2*3", {}, "no inputs"),
    ],
)
def test_the_playground_refuses_anything_else_with_a_clear_message(text, values, message) -> None:
    answer = json.loads(playground.run(text, json.dumps(values), "x"))
    assert set(answer) == {"error"} and message in answer["error"].lower(), answer


def test_the_playground_never_evaluates_text() -> None:
    source = (ROOT / "docs" / "hooks" / "lite" / "playground.py").read_text("utf-8") + (
        ROOT / "docs" / "hooks" / "lite" / "playground.js"
    ).read_text("utf-8")
    for call in ("eval(", "exec(", "compile(", "new Function", "runPython(text", "runPythonAsync("):
        assert call not in source, call


# --- the build's pins: one truth ------------------------------------------------------------------

build = _module(ROOT / "docs" / "hooks" / "lite" / "build.py", "microgradx_lite_build")


def test_the_build_pins_what_pyproject_installs_and_the_kernel_expects() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    pins = {f"jupyterlite-core=={build.JUPYTERLITE}", f"jupyterlite-pyodide-kernel=={build.JUPYTERLITE}"}
    for extra in ("lite", "docs", "test"):
        assert pins <= set(extras[extra]), extra
    kernel = pytest.importorskip("jupyterlite_pyodide_kernel.constants")
    assert kernel.PYODIDE_VERSION == build.PYODIDE
    assert kernel.PYODIDE_PYTHON_VERSION == "3.14"


def test_the_site_holds_every_notebook_of_the_folder() -> None:
    names = {path.name for path in build.notebooks()}
    assert names == {path.name for path in (ROOT / "examples" / "notebooks").glob("*.ipynb")}
    assert "tour.ipynb" in names


def test_a_kept_site_is_reused_only_for_the_same_inputs(monkeypatch) -> None:
    first = build.fingerprint()
    assert build.fingerprint() == first
    monkeypatch.setitem(build.WHEELS, "ipython", "0.0.1")
    assert build.fingerprint() != first
    monkeypatch.undo()
    monkeypatch.setattr(build, "notebooks", lambda: [ROOT / "examples" / "notebooks" / "tour.ipynb"])
    assert build.fingerprint() != first  # a notebook more or less
