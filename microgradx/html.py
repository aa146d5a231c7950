"""`to_html`: one self-contained web page that steps through the forward and the backward pass.

The page shows the graph as inline SVG (drawn by `picture`), embeds every step as JSON (from `steps`)
and replays them with a little plain JavaScript: no network, no framework, it opens from ``file://``
and fits on a teacher's slide. This module fills in the page's assets and its Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterable
from html import escape
from importlib import resources

from microgradx._files import write_atomically
from microgradx.engine import Value
from microgradx.graph import Graph
from microgradx.picture import svg
from microgradx.steps import MAX_PAGE_NODES, page_data, page_graph_and_data

__all__ = ["MAX_PAGE_NODES", "page_data", "stepper_page", "to_html"]

def _json_for_script(data: dict) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` at all,
    so a label like ``</script><script>…`` stays data (JSON.parse reads ``\\u003c`` back as ``<``)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def asset(name: str) -> str:
    return resources.files("microgradx").joinpath("assets", name).read_text(encoding="utf-8")


def to_html(
    output: Value,
    path: str | os.PathLike[str] | None = None,
    *,
    highlight: Value | Iterable[Value] | None = None,
    title: str | None = None,
    lr: float | None = None,
    iterations: int = 1,
) -> str:
    """One self-contained HTML page stepping through the forward and backward pass of `output`.

    Buttons (back, next, play, reset) and the arrow keys step node by node: each forward step shows
    a value appear, each backward step the chain-rule line ``grad(z) += grad(ŷ) · σ(z)·(1−σ(z)) =
    -0.4256 · 0.2445 = -0.1041`` and the running grad. With `lr`, final steps show ``w ← w − lr·grad``
    for `highlight` (a Value or Values; default every labelled leaf), then the forward pass runs again
    on the new weights so the output's change shows; `iterations` rounds of forward, backward and
    update (default 1) before that last forward pass. Returns the HTML; with `path`
    also writes it (atomically). No network access: it works from ``file://`` and on a projector.
    """
    return page_of(output, highlight=highlight, title=title, lr=lr, iterations=iterations, path=path)


def page_of(
    output: Value | Graph,
    *,
    highlight: Value | Iterable[Value] | None = None,
    title: str | None = None,
    lr: float | None = None,
    iterations: int = 1,
    path: str | os.PathLike[str] | None = None,
    caller: str = "to_html",
) -> str:
    """`to_html`'s page, of a Value or of a snapshot already made (`graph.snapshot`, with its own
    highlight): `draw`'s display in the browser shows the snapshot it drew. `caller` names the
    function in the messages of bad arguments (``stepper(lr) must be ...``)."""
    if title is not None and type(title) is not str:
        raise TypeError(f"{caller}(title) must be a str or None, got {type(title).__name__}")
    graph, data = page_graph_and_data(
        output, highlight=highlight, lr=lr, iterations=iterations, caller=caller
    )
    heading = title if title is not None else f"Backpropagation step by step: {graph.names[graph.output]}"
    return stepper_page(graph, data, heading, path)


def stepper_page(
    graph: Graph, data: dict, heading: str, path: str | os.PathLike[str] | None = None, *, quiz: bool = False
) -> str:
    """The step-through page of `data` (from `steps.page_graph_and_data`, with its snapshot `graph`); with
    `quiz`, the quiz's own style and script (``assets/quiz.*``, reading ``data["quiz"]`` and each
    step's ``ask``) join the stepper's."""
    return page_from_assets(
        "stepper", heading, data, path, extra="quiz" if quiz else None, SVG=svg(data, graph.forward)
    )


def page_from_assets(
    kind: str,
    heading: str,
    data: dict,
    path: str | os.PathLike[str] | None,
    *,
    extra: str | None = None,
    **more: str,
) -> str:
    """The page ``assets/KIND.html`` filled in with its own CSS and script, `data` as JSON and the
    `more` parts; written atomically to `path` when given. Shared by the stepper and `History`.
    `extra` names assets whose CSS and script follow KIND's (the quiz's, after the stepper's)."""
    style, script = asset(f"{kind}.css"), asset(f"{kind}.js")
    if extra is not None:
        style, script = style + asset(f"{extra}.css"), script + asset(f"{extra}.js")
    parts = {
        "TITLE": escape(heading),
        "STYLE": style,
        "SCRIPT": script,
        "DATA": _json_for_script(data),
        # Content-Security-Policy: no network at all, and only our own style and script may run.
        "STYLE_HASH": _sha256(style),
        "SCRIPT_HASH": _sha256(script),
        **more,
    }
    # One pass over the template, so a label that reads "{{SCRIPT}}" stays a label.
    page = _PLACEHOLDER.sub(lambda m: parts[m.group(1)], asset(f"{kind}.html"))
    if path is not None:
        write_atomically(path, page)
    return page
