"""Printable worksheets: exercises on paper with blanks for the gradients, and their answer key.

`worksheet_html` lays out exercises (from `practice.exercise`) as one page to print: each graph
with its forward values and an empty box where each gradient goes, and a table with a blank per
node. It holds no gradient, no local derivative and no script, so nothing in the file gives an
answer away. `answers_html` is the same page with every gradient filled in and the chain rule
behind it: each use's upstream gradient times its local derivative, summed over the uses. Both
print on A4 and Letter (the page size is the printer's; the margins fit either).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from html import escape
from importlib import resources

from microgradx.formatting import ATOM, derivative_name, expression, fmt
from microgradx.picture import static_svg
from microgradx.practice import Exercise
from microgradx.slips import Use, uses

__all__ = ["answers_html", "worksheet_html"]


def _css() -> str:
    return resources.files("microgradx").joinpath("assets", "worksheet.css").read_text(encoding="utf-8")


def _page(title: str, body: str, kind: str) -> str:
    """A self-contained page: one stylesheet, allowed by its hash, and nothing else (no script)."""
    style = _css()
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'\">\n"
        '<meta name="generator" content="microgradx">\n'
        f"<title>{escape(title)}</title>\n<style>{style}</style>\n</head>\n"
        f'<body class="{kind}">\n{body}</body>\n</html>\n'
    )


def _picture(ex: Exercise, number: int, *, grads: bool) -> str:
    """The exercise's graph; its ids made unique on the page (several graphs share one document)."""
    svg = static_svg(ex.graph, grads=grads)  # the exercise's own snapshot: named once
    svg = re.sub(r'id="', f'id="x{number}-', svg)
    return svg.replace("url(#", f"url(#x{number}-")


def _definition(ex: Exercise, node: object) -> str:
    parents = node.parents  # type: ignore[attr-defined]
    if not parents:
        return "given"
    text, _ = expression(node, {p: (ex.names[p], ATOM) for p in parents})  # type: ignore[arg-type]
    return text


def _head(title: str, seed: int | None, level: int, count: int, key: bool) -> str:
    what = "Answers" if key else "Worksheet"
    made = f"questions {seed}, level {level}" if seed is not None else f"level {level}"
    lines = [
        f'<header><h1>{escape(title)}: {what}</h1><p class="made">{count} exercises · {escape(made)}</p>'
    ]
    if not key:
        lines.append(
            '<p class="who">Name: <span class="line"></span> Date: <span class="short line"></span></p>'
        )
    lines.append(
        '<p class="how">Each box is a node of the graph: its name, its value (data) from the forward '
        "pass, and an empty box for its gradient, the derivative of the output with respect to that node. "
        "Work backwards from the output, whose gradient is 1: each node's gradient is the sum, over the "
        "nodes that use it, of their gradient times the local derivative.</p></header>"
        if not key
        else '<p class="how">Every gradient, with the chain rule behind it: for each use of a node, the '
        "upstream gradient (of the node that uses it) times the local derivative, summed over the uses.</p>"
        "</header>"
    )
    return "\n".join(lines) + "\n"


def worksheet_html(
    exercises: Sequence[Exercise], *, title: str = "Backpropagation practice", seed: int | None = None
) -> str:
    """The printable worksheet: each exercise's graph with forward values and blanks, no answers."""
    level = exercises[0].level if exercises else 1
    parts = [_head(title, seed, level, len(exercises), key=False)]
    for number, ex in enumerate(exercises, 1):
        out = ex.output.label
        rows = []
        for node in reversed(ex.order):
            if not node.label:
                continue
            rows.append(
                f'<tr><td class="node-name">{escape(node.label)}</td><td>{escape(_definition(ex, node))}</td>'
                f'<td class="num">{fmt(node.data)}</td><td class="blank-cell"></td></tr>'
            )
        parts.append(
            f'<section class="exercise"><h2>Exercise {number}</h2>'
            f"<p>{escape(ex.question)}</p>{_picture(ex, number, grads=False)}"
            + _tables(["node", "is", "value", f"d{derivative_name(out)}/d(node)"], rows, split=True)
            + "</section>\n"
        )
    return _page(f"{title}: worksheet", "".join(parts), "worksheet")


def _tables(header: list[str], rows: list[str], *, split: bool) -> str:
    """The rows as one table, or (`split`) as two side by side, so a long exercise fits its page."""
    head = "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead>"
    halves = (
        [rows[: (len(rows) + 1) // 2], rows[(len(rows) + 1) // 2 :]] if split and len(rows) > 6 else [rows]
    )
    tables = "".join(f"<table>{head}<tbody>{''.join(half)}</tbody></table>" for half in halves if half)
    return f'<div class="tables">{tables}</div>'


def _chain(name: str, used: list[Use], ex: Exercise) -> str:
    """How a gradient comes about: grad(x) = grad(p)·∂p/∂x + … = numbers = total."""
    if not used:
        return "1 (the output itself)"
    d = derivative_name(name)
    terms = [f"grad({ex.names[u.consumer]})·∂{derivative_name(ex.names[u.consumer])}/∂{d}" for u in used]
    formulas = [f"grad({ex.names[u.consumer]})·{_paren(u.formula)}" for u in used]
    numbers = [
        f"{fmt(u.upstream) if i == 0 else _paren(fmt(u.upstream))}·{_paren(fmt(u.local))}"
        for i, u in enumerate(used)
    ]
    total = sum(u.contribution for u in used)
    return " = ".join([" + ".join(terms), " + ".join(formulas), " + ".join(numbers), fmt(total)])


def _paren(text: str) -> str:
    """A factor of a product, parenthesised where it has a sign or a sum in it: ``(1−tanh²(p))``."""
    return f"({text})" if any(c in text for c in "+−-") else text


def answers_html(
    exercises: Sequence[Exercise], *, title: str = "Backpropagation practice", seed: int | None = None
) -> str:
    """The answer key: each graph with every gradient, and the chain-rule products behind each."""
    level = exercises[0].level if exercises else 1
    parts = [_head(title, seed, level, len(exercises), key=True)]
    for number, ex in enumerate(exercises, 1):
        out = ex.output.label
        answers = ex.answers()
        all_uses = uses(ex.graph)
        rows = []
        for node in ex.order:
            if not node.label:
                continue
            rows.append(
                f'<tr><td class="node-name">{escape(node.label)}</td><td class="num">{fmt(node.data)}</td>'
                f'<td class="num answer">{fmt(answers[node.label])}</td>'
                f'<td class="chain">{escape(_chain(node.label, all_uses[node], ex))}</td></tr>'
            )
        parts.append(
            f'<section class="exercise"><h2>Exercise {number}</h2>'
            f"<p>{escape(ex.question)}</p>{_picture(ex, number, grads=True)}"
            + _tables(
                ["node", "value", f"d{derivative_name(out)}/d(node)", "the chain rule, in backward order"],
                rows,
                split=False,
            )
            + "</section>\n"
        )
    return _page(f"{title}: answers", "".join(parts), "answers")
