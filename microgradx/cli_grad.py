"""`microgradx grad`: evaluate EXPR, print its derivatives, and on request the chain-rule paths, the
finite-difference check, the comparison with hand-derived formulas (--hand), JSON, and the graph."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from microgradx.cli_steps import (
    UsageError,
    add_expr_options,
    check_writable,
    leaves_of,
    prepare,
    split_item,
    write_graph,
)
from microgradx.engine import Value
from microgradx.expr import ARGUMENTS, Expression, ExpressionError, parse
from microgradx.formatting import fmt

__all__ = ["DIGITS", "GRAPH_SUFFIXES", "add_command"]

DIGITS = 10
"""Significant digits of the values and derivatives that `grad` prints."""

GRAPH_SUFFIXES = (".svg", ".png", ".pdf", ".dot", ".html")

_GRAD_EXAMPLES = """\
examples:
  microgradx grad "w*x + b" --wrt w b --at w=0.5 x=2 b=1
  microgradx grad "z = w*x; yhat = sigmoid(z); E = 0.5*(yhat - y)**2" --wrt w \\
      --at w=0.3 x=1 y=1 --explain --hand w="(yhat - y)*yhat*(1 - yhat)*x"
  microgradx grad "log(x)*sin(y)" --wrt x y --at x=2 y=0.5 --check --json
  microgradx grad "(x*w - goal)**2" --wrt w --at x=8 w=0.5 goal=0.8 --draw graph.svg

EXPR: numbers, names, + - * / ** % (floor modulo), unary minus, parentheses, the functions
{functions}
  ';'-separated assignments 'name = expr' that name intermediate nodes. The last
  statement is the output (an assignment there names the output). Nothing else
  is accepted: the text is parsed by microgradx's own parser and never run as
  Python. A value that overflows a float (10**10**10, exp(1000)) is an error here.

--hand NAME=EXPR: your derivative d(output)/d(NAME), in the same language; it may
  use the --at names and the names assigned in EXPR. It is also compared with
  autograd at a few random points near --at, and a wrong one is diagnosed: the
  factor of the chain rule, the sign or the path it is missing, when it can tell.

--draw FILE: .svg, .png, .pdf, .dot or .html (an interactive page that steps
  through the forward and backward pass; needs no Graphviz). Where no Graphviz renderer can write the
  format, FILE.dot (same name, suffix .dot) is written instead, a note on stderr
  says how to install one, and the exit status is still 0.

--json prints one JSON object:
  {"expression": str, "value": number,
   "grads": {NAME: number, ...},                       one entry per --wrt, in order
   "explain": {NAME: {"output", "wrt", "total", "path_count", "truncated",
                      "paths": [{"edges": [{"child", "parent", "formula", "value"}],
                                 "product"}], ...}},    with --explain
   "check": {"ok", "at", "value", "eps", "rtol", "atol",
             "rows": [{"name", "autograd", "numeric", "hand", "abs_err",
                       "rel_err", "ok", "note", "diagnosis"}]},  with --check
   "hand": {same shape as "check", "hand" filled,      with --hand
            "at" every --at name: the diagnosis moves them all}}
  A row's "diagnosis" is null, or what a wrong --hand formula misses:
  {"relation", "factor", "text", "coincidence", "points": [{"at", "autograd", "hand"}]}.
  Non-finite numbers are the strings "inf", "-inf", "nan".

exit status: 0 on success (also when a check disagrees: read "ok"), 2 on any
user error (one line on stderr)."""


def _functions_text() -> str:
    """The expression language's functions for the help, by how many arguments each takes."""
    ones, twos = (" ".join(f for f, n in ARGUMENTS.items() if n == k) for k in (1, 2))
    said = f"{ones} (one argument each), {twos} (two arguments each), and"
    return textwrap.fill(said, 80, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)


def add_command(sub: Any) -> None:
    """Add the `grad` command, its options and its help, to the subcommands `sub`."""
    raw = argparse.RawDescriptionHelpFormatter
    grad = sub.add_parser(
        "grad",
        help="evaluate EXPR and its derivatives",
        usage="microgradx grad EXPR --wrt NAME [NAME ...] --at NAME=NUMBER [NAME=NUMBER ...]\n"
        "                [--explain] [--max-paths N] [--check] [--hand NAME=EXPR [NAME=EXPR ...]]\n"
        "                [--draw FILE] [--json]",
        epilog=_GRAD_EXAMPLES.replace("{functions}", _functions_text()),
        formatter_class=raw,
    )
    add_expr_options(grad)
    grad.add_argument("--explain", action="store_true", help="print the chain-rule paths for each --wrt")
    grad.add_argument(
        "--max-paths", type=int, default=64, metavar="N", help="--explain lists at most N paths"
    )
    grad.add_argument("--check", action="store_true", help="compare autograd with finite differences")
    grad.add_argument(
        "--hand",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=EXPR",
        help="your hand-derived d(EXPR)/d(NAME) to compare with autograd and finite differences",
    )
    grad.add_argument(
        "--draw",
        metavar="FILE",
        help="write the graph to FILE (.svg .png .pdf .dot, or .html: a step-through page)",
    )
    grad.add_argument("--json", action="store_true", help="print one JSON object (shape below)")
    grad.set_defaults(run=_grad)


def _grad(args: argparse.Namespace) -> int:
    draw_path = _graph_path(args.draw) if args.draw is not None else None
    if args.max_paths < 0:
        raise UsageError(f"--max-paths {args.max_paths}: must be 0 or more")
    expression, point, wrt = prepare(args)
    hands = _hands(args.hand, expression, point, wrt)

    leaves = leaves_of(point)
    output = expression.evaluate(leaves)
    output.backward()  # fills .grad everywhere, so a drawing shows the gradients too
    grads = {name: leaves[name].grad for name in wrt}
    fixed = {name: x for name, x in point.items() if name not in wrt}
    at = {name: point[name] for name in wrt}

    def f(**inputs: Value) -> Value:
        return expression.evaluate({**fixed, **inputs}, overflow=True)

    explanations = {}
    if args.explain:
        from microgradx.explain import explain

        explanations = {name: explain(output, leaves[name], max_paths=args.max_paths) for name in wrt}
    check = hand = None
    if args.check:
        from microgradx.check import gradcheck

        check = _run_check(lambda: gradcheck(f, at), "--check")
    if hands:
        hand = _run_check(lambda: _compare_hands(expression, hands, point, wrt), "--hand")

    if args.json:
        from microgradx.formatting import json_number

        result: dict[str, Any] = {
            "expression": args.expr,
            "value": json_number(output.data),
            "grads": {name: json_number(g) for name, g in grads.items()},
        }
        if args.explain:
            result["explain"] = {name: e.to_dict() for name, e in explanations.items()}
        if check is not None:
            result["check"] = check.to_dict()
        if hand is not None:
            result["hand"] = hand.to_dict()
        text = json.dumps(result, ensure_ascii=False, allow_nan=False)
    else:
        text = _grad_text(output, point, grads, explanations, check, hand)

    note = ""
    if draw_path is not None:
        highlight = leaves[wrt[0]] if len(wrt) == 1 else None
        written, note = write_graph(output, draw_path, highlight, title=args.expr)
        if not args.json:
            text += f"\n\ngraph written to {written}"
    print(text)
    if note:
        print(note, file=sys.stderr)
    return 0


def _graph_path(text: str) -> pathlib.Path:
    if not text.strip():
        raise UsageError("--draw needs a file name, e.g. --draw graph.svg")
    if text.endswith(("/", os.sep)):  # pathlib would drop the slash and write a file "g.svg"
        raise UsageError(f"--draw {text}: names a folder; give a file name such as {text}graph.svg")
    path = pathlib.Path(text)
    if path.suffix.lower() not in GRAPH_SUFFIXES:
        raise UsageError(f"--draw {text}: use a file name ending in {', '.join(GRAPH_SUFFIXES)}")
    check_writable(path, "--draw")
    if path.suffix.lower() not in (".dot", ".html"):
        check_writable(path.with_suffix(".dot"), "--draw")
    return path


def _hands(
    items: Sequence[str], expression: Expression, point: dict[str, float], wrt: list[str]
) -> dict[str, Expression]:
    """Parse ``--hand NAME=EXPR``: NAME among --wrt, EXPR over the --at names and EXPR's assignments."""
    from microgradx.hand import check_names

    hands: dict[str, Expression] = {}
    known = dict.fromkeys([*point, *expression.assigned], 0.0)  # (a name's value does not matter here)
    for item in items:
        name, text = split_item(item, "--hand", 'NAME=EXPR, e.g. w="(yhat - y)*x"')
        if name not in wrt:
            raise UsageError(f"--hand {name}: {name} is not among the --wrt names ({', '.join(wrt)})")
        if name in hands:
            raise UsageError(f"--hand {name} is given twice")
        try:
            hand = parse(text)
        except ExpressionError as e:
            raise UsageError(f"--hand {name}: {e}") from None
        try:
            check_names(f"--hand {name}", hand.inputs, hand.assigned, known, _HAND_MAY)
        except ValueError as e:
            raise UsageError(str(e)) from None
        hands[name] = hand
    return hands


_HAND_MAY = "a hand formula may use the --at names and the names assigned in EXPR"


def _compare_hands(
    expression: Expression, hands: dict[str, Expression], point: dict[str, float], wrt: list[str]
) -> Any:
    """`compare` of the --hand formulas, as `compare` takes them from Python, with the --wrt rows.

    f takes every --at name, so the random points of the diagnosis move them all (a formula
    missing the factor x is caught at x = 1 too). A name that EXPR assigns to an existing node
    (``a = x``) labels no node of its own: the hand formula gets ``a = x;`` in front. The report
    shows the --wrt rows, at the whole --at point (the one the diagnosis moves).
    """
    import dataclasses

    from microgradx.check import compare

    _, names = expression.bind(leaves_of(point), overflow=True)
    aliases = {n: names[n].label for n in expression.assigned if names[n].label not in ("", n)}
    texts = {}
    for name, hand in hands.items():
        prefix = "".join(f"{n} = {aliases[n]}; " for n in hand.inputs if n in aliases)
        texts[name] = prefix + hand.text
        try:  # a formula that overflows (9**9**9) is said to overflow, not shown as a hand value of inf
            hand.evaluate({n: names[n].data if n in names else point[n] for n in hand.inputs})
        except ExpressionError as e:
            if "overflows" in str(e):
                raise UsageError(f"--hand {name}: the formula overflows at the --at point: {e}") from None

    def f(**inputs: Value) -> Value:
        return expression.evaluate(inputs, overflow=True)

    report = compare(f, texts, point)
    rows = {row.name: row for row in report.rows}
    return dataclasses.replace(report, rows=[rows[name] for name in wrt])


def _run_check(run: Callable[[], Any], option: str) -> Any:
    try:
        return run()
    except (ValueError, ArithmeticError) as e:
        said = re.sub(r"^hand\['(.*?)'\]", r"--hand \1", str(e))  # compare names the formula: once
        raise UsageError(said if said != str(e) else f"{option}: {e}") from None


def _grad_text(
    output: Value,
    point: dict[str, float],
    grads: dict[str, float],
    explanations: dict[str, Any],
    check: Any,
    hand: Any,
) -> str:
    name = output.label or "f"
    where = ", ".join(f"{n} = {fmt(x, DIGITS)}" for n, x in point.items())
    lines = [f"{name} = {fmt(output.data, DIGITS)}" + (f"   at {where}" if where else "")]
    width = max(len(f"d{name}/d{n}") for n in grads)
    lines += [f"{f'd{name}/d{n}'.ljust(width)} = {fmt(g, DIGITS)}" for n, g in grads.items()]
    for explanation in explanations.values():
        lines += ["", str(explanation)]
    for report in (check, hand):
        if report is not None:
            lines += ["", str(report)]
    return "\n".join(lines)
