"""microgradx in Jupyter: the HTML pieces of every rich display, and the stepper page inline.

A notebook shows the last value of a cell through IPython's display protocol: an object with a
``_repr_html_`` method is shown as that HTML. `Explanation` and `CheckReport` build theirs from
the helpers here (one escaping rule, one table style), so every report looks alike and no label a
learner types can become markup. Nothing here loads anything from the network, and nothing needs
IPython: the methods just return strings, which also makes them easy to test.

`stepper` wraps the page of `to_html` for a notebook: shown in a sandboxed ``<iframe>`` whose
``srcdoc`` is the whole page, so the page's Content-Security-Policy and script stay its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from html import escape

from microgradx._files import write_atomically
from microgradx.engine import Value
from microgradx.formatting import one_line
from microgradx.html import page_of

__all__ = ["Stepper", "stepper"]

OK_COLOUR = "#2b8a3e"  # green: the row agrees
BAD_COLOUR = "#c92a2a"  # red: the row disagrees (the same red as the drawings' grads)
WARN_COLOUR = "#b35900"  # amber: the row agrees here, but a hand formula agrees only here

_TABLE = "border-collapse:collapse;margin:0.3em 0 0.8em 0;font-variant-numeric:tabular-nums"
_CELL = "border:1px solid #ced4da;padding:0.2em 0.6em;vertical-align:top;text-align:left"
_HEAD = _CELL + ";background:#f1f3f5"
_NUMBER = _CELL + ";text-align:right;font-family:monospace;white-space:nowrap"


def text(value: object) -> str:
    """`value` as literal HTML text: markup characters and quotes become entities."""
    return escape(str(value), quote=True)


def paragraph(content: str, *, bold: bool = False, small: bool = False) -> str:
    """An already-escaped line of HTML as a paragraph (bold for a headline, small for details)."""
    style = "margin:0.3em 0" + (";font-weight:bold" if bold else "") + (";color:#495057" if small else "")
    return f'<p style="{style}">{content}</p>'


def cell(content: str, *, kind: str = "text", colour: str | None = None, header: bool = False) -> str:
    """One table cell of already-escaped HTML: ``kind`` is ``"text"``, ``"number"`` or ``"note"``.

    A note keeps its line breaks (a diagnosis may span lines); `colour` colours the cell's text.
    """
    if header:
        return f'<th style="{_HEAD}">{content}</th>'
    style = _NUMBER if kind == "number" else _CELL
    if kind == "note":
        style += ";white-space:pre-wrap"
    if colour:
        style += f";color:{colour}"
    return f'<td style="{style}">{content}</td>'


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table: `header` is plain text (escaped here), each row a list of finished `cell`s."""
    head = "".join(cell(text(name), header=True) for name in header)
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def block(*parts: str) -> str:
    """The parts of one rich display in a ``<div>`` (the one element a notebook output holds)."""
    return '<div class="microgradx" style="line-height:1.4">' + "".join(parts) + "</div>"


def md(value: object) -> str:
    """Text safe inside a Markdown table cell or bold span: markup characters backslash-escaped (an
    entity ``&quot;``, ``~~strike~~`` and ``$math$`` stay text too), and
    on one line (a line break would end the table row), control characters shown as in `to_text`."""
    result = one_line(str(value))
    for ch in "\\|*_`[]<>&~$":
        result = result.replace(ch, "\\" + ch)
    return result


# --- the stepper inline --------------------------------------------------------------------------------


STEPPER_CAPTION = (
    "microgradx step-through page. Not shown above? Run this cell: Jupyter hides pages in a notebook "
    "it does not trust yet (or run jupyter trust on the notebook). .save(path) writes it to a file."
)


class Stepper:
    """The step-through page of one graph, ready to show in a notebook, print, or save.

    In Jupyter (JupyterLab, Notebook 7, VS Code, an nbconvert HTML export) it displays inline as a
    sandboxed ``<iframe>`` holding the page, which may run its own script but nothing else: it cannot
    reach the notebook, and its Content-Security-Policy forbids every network request. ``str()`` is
    the page's HTML, exactly what `to_html` returns; ``save(path)`` writes it atomically.
    """

    def __init__(self, page: str, *, height: int = 640) -> None:
        self.page = page
        self.height = height

    def __str__(self) -> str:
        return self.page

    def __repr__(self) -> str:
        return f"<Stepper: a {len(self.page):,}-character page; str() is its HTML, .save(path) writes it>"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the page to `path` atomically (a reader sees the old file or the whole new one)."""
        write_atomically(path, self.page)

    def _repr_html_(self) -> str:
        # srcdoc is an attribute: escape(quote=True) keeps the page's quotes and ampersands intact.
        # sandbox="allow-scripts" without allow-same-origin: the page's script runs in an opaque origin.
        # The caption stays where a notebook that is not trusted yet strips the iframe (JupyterLab
        # sanitises committed HTML outputs until the cell runs or `jupyter trust` signs the notebook).
        return (
            f'<iframe class="microgradx-stepper" sandbox="allow-scripts" title="microgradx stepper" '
            f'style="width:100%;height:{self.height}px;border:1px solid #ced4da;border-radius:4px" '
            f'srcdoc="{escape(self.page, quote=True)}"></iframe>'
            f'<div style="font-size:small;color:#6c757d">{STEPPER_CAPTION}</div>'
        )


def stepper(
    output: Value,
    *,
    highlight: Value | Iterable[Value] | None = None,
    title: str | None = None,
    lr: float | None = None,
    iterations: int = 1,
) -> Stepper:
    """The page of `to_html(output, ...)` as a `Stepper`: shown inline in a notebook cell.

    The arguments mean what they mean for `to_html`: `highlight` the Values whose paths are marked
    (and, with `lr`, updated in the final steps ``w ← w − lr·grad``), `title` the page's heading,
    `iterations` how many rounds of forward, backward and update the page goes through.

    >>> import microgradx as mg
    >>> w = mg.Value(0.5, "w"); page = mg.stepper(w * 3.0)
    >>> str(page) == mg.to_html(w * 3.0)
    True
    """
    if title is not None and type(title) is not str:
        raise TypeError(f"stepper(title) must be a str or None, got {type(title).__name__}")
    if type(output) is not Value:  # (page_of also takes a snapshot; stepper takes what to_html takes)
        raise TypeError(f"stepper(output) must be a Value, got {type(output).__name__}")
    page = page_of(output, highlight=highlight, title=title, lr=lr, iterations=iterations, caller="stepper")
    return Stepper(page)
