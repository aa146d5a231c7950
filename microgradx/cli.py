"""The `microgradx` command: derivatives, chain-rule explanations, checks and descent from one line.

``microgradx grad EXPR ...`` evaluates an expression (see `microgradx.expr`, our own safe parser)
as a graph of Values and prints its derivatives; ``descend`` runs gradient descent on it;
``demo`` walks through the sigmoid neuron of the docs' questions. Every user error (a bad
expression, a missing value, a domain error, an unwritable file, a bad option) prints exactly one
line on stderr and exits with status 2; no file is ever left half-written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pathlib
import re
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

import microgradx as mg
from microgradx._files import resolve, write_atomically
from microgradx.engine import Value, no_grad
from microgradx.expr import ARGUMENTS, Expression, ExpressionError, check_name, parse
from microgradx.formatting import fmt

__all__ = ["CONVERGED_GRAD", "CONVERGED_LOSS_CHANGE", "DIVERGED_FACTOR", "UsageError", "main"]

CONVERGED_GRAD = 1e-8
"""`descend` has converged when every |gradient| is at most this..."""

CONVERGED_LOSS_CHANGE = 1e-9
"""... or when one step changes the loss by at most this × max(1, |start loss|)."""

DIVERGED_FACTOR = 1e6
"""`descend` has diverged when the loss is not finite or |loss| > this × max(1, |start loss|)."""

MAX_STEPS = 1_000_000
"""The most steps `descend` takes (a guard against a typo like --steps 1e12)."""

DIGITS = 10
"""Significant digits of the values and derivatives that `grad` prints."""

GRAPH_SUFFIXES = (".svg", ".png", ".pdf", ".dot", ".html")
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


class UsageError(Exception):
    """A user error: the message is printed as one line on stderr and the exit status is 2."""


# --- argument parsing ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (via `UsageError`) instead of usage text + message."""

    def error(self, message: str) -> NoReturn:
        if "EXPR" in message:  # often an EXPR swallowed by `--at a=1 b=2 EXPR`
            message += "; put EXPR right after the command, before the options"
        raise UsageError(f"{message} (see '{self.prog} --help')")


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

_DESCEND_EXAMPLES = f"""\
examples:
  microgradx descend "(x*w - goal)**2" --wrt w --at x=8 w=0.5 goal=0.8 --lr 0.001
  microgradx descend "(x*w - goal)**2" --wrt w --at x=8 w=0.5 goal=0.8 --lr 0.1
  microgradx descend "(a - 1)**2 + 10*(b - a**2)**2" --wrt a b --at a=-1 b=1 \\
      --lr 0.01 --momentum 0.9 --steps 500 --plot loss.png

Each row shows the step, the loss, each parameter and each gradient, all before
that step's update (step 0 is the start). The last line starts with
  converged      every |gradient| <= {CONVERGED_GRAD:g}, or one step changed the loss by
                 at most {CONVERGED_LOSS_CHANGE:g} x max(1, |start loss|);
  diverged       the loss is inf or nan (an overflow), or |loss| > {DIVERGED_FACTOR:g} x
                 max(1, |start loss|), or a step left the function's domain;
  not converged  none of these within --steps steps.
The exit status is 0 in all three cases. --plot needs matplotlib
(pip install 'microgradx[plot]')."""

_DEMO_TEXT = """\
The sigmoid neuron E = ½(σ(w·x) − y)² of the questions pages, step by step: the
automatic derivative dE/dw next to the hand derivation (ŷ−y)·σ(1−σ)·x, the chain
rule path by path, the finite-difference check, a few SGD steps, and the graph
written to DIR/microgradx-demo.svg (or .dot where no Graphviz renderer exists), and
an interactive step-through page to DIR/microgradx-demo.html.
DIR is --out, else the current directory (a new temporary directory when the
current one is not writable)."""


def _functions_text() -> str:
    """The expression language's functions for the help, by how many arguments each takes."""
    ones, twos = (" ".join(f for f, n in ARGUMENTS.items() if n == k) for k in (1, 2))
    said = f"{ones} (one argument each), {twos} (two arguments each), and"
    return textwrap.fill(said, 80, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)


def _parser() -> _Parser:
    parser = _Parser(
        prog="microgradx",
        description="Scalar autograd for learning and checking backpropagation.",
        epilog="Run 'microgradx COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"microgradx {mg.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
    _common(grad)
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

    descend = sub.add_parser(
        "descend",
        help="gradient descent on EXPR",
        usage="microgradx descend EXPR --wrt NAME [NAME ...] --at NAME=NUMBER [NAME=NUMBER ...]\n"
        "                --lr A [--steps N] [--momentum M] [--plot FILE]",
        epilog=_DESCEND_EXAMPLES,
        formatter_class=raw,
    )
    _common(descend)
    descend.add_argument("--lr", type=_number("--lr"), required=True, metavar="A", help="learning rate")
    descend.add_argument("--steps", type=_count, default=100, metavar="N", help="at most N steps (100)")
    descend.add_argument(
        "--momentum", type=_number("--momentum"), default=0.0, metavar="M", help="0 <= M < 1"
    )
    descend.add_argument("--plot", metavar="FILE", help="plot the loss per step to FILE (.png, .svg or .pdf)")
    descend.set_defaults(run=_descend)

    demo = sub.add_parser(
        "demo", help="walk through the sigmoid neuron", description=_DEMO_TEXT, formatter_class=raw
    )
    demo.add_argument(
        "--out", metavar="DIR", help="where to write the graph (default: the current directory)"
    )
    demo.set_defaults(run=_demo)
    _worksheet_parser(sub)
    _practice_parser(sub)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expr", metavar="EXPR", help='the expression, e.g. "z = w*x; sigmoid(z)"')
    parser.add_argument(
        "--wrt",
        nargs="+",
        action="extend",
        required=True,
        metavar="NAME",
        help="differentiate with respect to NAME",
    )
    parser.add_argument(
        "--at", nargs="+", action="extend", default=[], metavar="NAME=NUMBER", help="the value of each input"
    )


def _number(option: str) -> Callable[[str], float]:
    def convert(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        return x

    convert.__name__ = option
    return convert


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= n <= MAX_STEPS:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..{MAX_STEPS}")
    return n


# --- shared steps ----------------------------------------------------------------------------------


def _split(item: str, option: str, what: str) -> tuple[str, str]:
    """``NAME=TEXT`` -> (normalised NAME, TEXT), or a `UsageError` saying what was expected."""
    name, sep, text = item.partition("=")
    if not sep or not name.strip() or not text.strip():
        hint = (
            " (put EXPR right after the command, before the options)" if option == "--at" and not sep else ""
        )
        raise UsageError(f"{option} {item!r}: expected {what}{hint}")
    try:
        return check_name(name.strip()), text.strip()
    except ExpressionError as e:
        raise UsageError(f"{option} {item!r}: {e}") from None


def _point(items: Sequence[str]) -> dict[str, float]:
    """The ``--at NAME=NUMBER`` words as a dict; a number may also be a constant expression (1/3)."""
    point: dict[str, float] = {}
    for item in items:
        name, text = _split(item, "--at", "NAME=NUMBER, e.g. w=0.5")
        if name in point:
            raise UsageError(f"--at {name} is given twice")
        try:
            x = float(text)
        except ValueError:
            try:
                constant = parse(text)
                if constant.inputs:
                    raise ExpressionError(f"a number is needed, not a name ({', '.join(constant.inputs)})")
                with no_grad():
                    x = constant.evaluate({}).data
            except ExpressionError as e:
                raise UsageError(f"--at {item!r}: {e}") from None
        if not math.isfinite(x):
            raise UsageError(f"--at {item!r}: the value must be a finite number")
        point[name] = x
    return point


def _prepare(args: argparse.Namespace) -> tuple[Expression, dict[str, float], list[str]]:
    """Parse EXPR, --at and --wrt, checking they fit together (each error one clear sentence)."""
    expression = parse(args.expr)
    point = _point(args.at)
    wrt: list[str] = []
    for item in args.wrt:
        try:
            name = check_name(item)
        except ExpressionError as e:
            raise UsageError(f"--wrt {item!r}: {e}") from None
        if name in expression.assigned:
            raise UsageError(
                f"--wrt {name}: {name} is assigned in the expression; --wrt takes inputs given with --at"
            )
        if name not in expression.inputs:  # its derivative would be a silent 0 (often a typo: X for x)
            inputs = ", ".join(expression.inputs)
            has = f"its inputs are {inputs}" if expression.inputs else "it has no inputs"
            raise UsageError(f"--wrt {name}: the expression has no {name}; {has}")
        if name not in wrt:
            wrt.append(name)
    missing = [name for name in expression.inputs if name not in point]
    missing += [name for name in wrt if name not in point and name not in missing]
    if missing:
        listed = ", ".join(missing)
        raise UsageError(
            f"no value for {listed}: give {'it' if len(missing) == 1 else 'each'} with --at NAME=NUMBER"
        )
    both = [name for name in expression.assigned if name in point]
    if both:
        raise UsageError(f"{', '.join(both)}: assigned in the expression and also given with --at; keep one")
    return expression, point, wrt


def _leaves(point: dict[str, float]) -> dict[str, Value]:
    return {name: Value(x, name) for name, x in point.items()}


def _check_writable(path: pathlib.Path, option: str) -> None:
    """Fail early (before any work) when `path`'s folder does not exist or cannot be written (the
    folder of the file a link names: where `write_atomically` will write)."""
    try:
        real = pathlib.Path(resolve(path))
    except OSError as e:
        raise UsageError(f"{option} {path}: {e.strerror}") from None
    folder = real.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {path}: the folder {str(folder)!r} is not writable")
    if real.is_dir():
        raise UsageError(f"{option} {path}: is a folder, not a file name")


def _write_graph(
    output: Value, path: pathlib.Path, highlight: Value | None, title: str | None = None
) -> tuple[pathlib.Path, str]:
    """Render the graph to `path`, or to its .dot sibling when no renderer exists; (path, note).

    A ``.html`` path gets the interactive step-through page (`to_html`), which needs no renderer.
    """
    if path.suffix.lower() == ".html":
        from microgradx.html import to_html

        try:
            to_html(output, path, highlight=highlight, title=title)
        except ValueError as e:  # a graph past the page's bound
            raise UsageError(f"--draw {path}: {e}") from None
        return path, ""
    from microgradx.draw import RendererNotFound, render

    options: dict[str, Any] = {"highlight": highlight} if highlight is not None else {}
    try:
        return render(output, path, **options), ""
    except RendererNotFound as e:
        fallback = path.with_suffix(".dot")
        written = render(output, fallback, **options)
        return written, f"note: wrote {written} instead of {path}: {_one_line(str(e))}"
    except RuntimeError as e:  # the renderer ran but failed
        raise UsageError(f"cannot write {path}: {e}") from None


_LONGEST_WORD = 120  # an error line shows at most this much of one word (a name, a path, a value)


def _one_line(text: str) -> str:
    """`text` on one line, with any very long word (a 5,000-character name echoed back) cut down."""
    return " ".join(
        word if len(word) <= _LONGEST_WORD else f"{word[:80]}…[{len(word):,} characters]…{word[-20:]}"
        for word in text.split()
    )


# --- grad ------------------------------------------------------------------------------------------


def _grad(args: argparse.Namespace) -> int:
    draw_path = _graph_path(args.draw) if args.draw is not None else None
    if args.max_paths < 0:
        raise UsageError(f"--max-paths {args.max_paths}: must be 0 or more")
    expression, point, wrt = _prepare(args)
    hands = _hands(args.hand, expression, point, wrt)

    leaves = _leaves(point)
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
        written, note = _write_graph(output, draw_path, highlight, title=args.expr)
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
    _check_writable(path, "--draw")
    if path.suffix.lower() not in (".dot", ".html"):
        _check_writable(path.with_suffix(".dot"), "--draw")
    return path


def _hands(
    items: Sequence[str], expression: Expression, point: dict[str, float], wrt: list[str]
) -> dict[str, Expression]:
    """Parse ``--hand NAME=EXPR``: NAME among --wrt, EXPR over the --at names and EXPR's assignments."""
    from microgradx.hand import check_names

    hands: dict[str, Expression] = {}
    known = dict.fromkeys([*point, *expression.assigned], 0.0)  # (a name's value does not matter here)
    for item in items:
        name, text = _split(item, "--hand", 'NAME=EXPR, e.g. w="(yhat - y)*x"')
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

    _, names = expression.bind(_leaves(point), overflow=True)
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


# --- descend ---------------------------------------------------------------------------------------


def _descend(args: argparse.Namespace) -> int:
    plot_path = None
    if args.plot:
        plot_path = pathlib.Path(args.plot)
        if plot_path.suffix.lower() not in PLOT_SUFFIXES:
            raise UsageError(f"--plot {args.plot}: use a file name ending in {', '.join(PLOT_SUFFIXES)}")
        _check_writable(plot_path, "--plot")
        _require_matplotlib()
    expression, point, wrt = _prepare(args)
    leaves = _leaves(point)
    params = [leaves[name] for name in wrt]
    try:
        optimizer = mg.optim.SGD(params, lr=args.lr, momentum=args.momentum)
    except ValueError as e:
        raise UsageError(str(e)) from None

    header = ["step", "loss", *wrt, *(f"dloss/d{name}" for name in wrt)]
    # Columns one space apart, each as wide as a number in 8 digits (14 characters; 15 for a
    # negative one with a 3-digit exponent), so two parameters fit 80 columns: 5 + 5 · (1 + 14).
    widths = [max(len(h), 5 if i == 0 else 14) for i, h in enumerate(header)]
    losses: list[float] = []
    verdict = ""
    for step in range(args.steps + 1):
        try:
            loss = expression.evaluate(leaves, overflow=True)
        except ExpressionError as e:
            if step == 0:
                raise
            verdict = f"diverged: at step {step} the parameters left the function's domain ({e})"
            break
        if step == 0:  # printed only now: an error at the starting point prints nothing on stdout
            print(" ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
        optimizer.zero_grad()
        loss.backward()
        gradients = [p.grad for p in params]
        losses.append(loss.data)
        row = [
            str(step),
            fmt(loss.data, 8),
            *(fmt(p.data, 8) for p in params),
            *(fmt(g, 8) for g in gradients),
        ]
        print(" ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
        verdict = _verdict(step, losses, gradients)
        if verdict:
            break
        if step < args.steps:
            optimizer.step()
    if not verdict:
        last_change = abs(losses[-1] - losses[-2]) if len(losses) > 1 else math.nan
        verdict = (
            f"not converged after {args.steps} steps: loss {fmt(losses[-1], 8)}, last change "
            f"{fmt(last_change, 3)}, largest |gradient| {fmt(max(abs(p.grad) for p in params), 3)}"
        )
    if plot_path is not None:
        written = _plot(losses, plot_path, args.expr)
        verdict += f"\nloss plot written to {written.resolve()}"
    print(verdict)
    return 0


def _verdict(step: int, losses: list[float], gradients: list[float]) -> str:
    """'converged: ...' or 'diverged: ...' when the run should stop at this step, else ''."""
    loss, start = losses[-1], losses[0]
    scale = max(1.0, abs(start))
    if not math.isfinite(loss):
        return f"diverged: at step {step} the loss is {fmt(loss)} (an overflow)"
    if abs(loss) > DIVERGED_FACTOR * scale:
        return (
            f"diverged: at step {step} |loss| = {fmt(abs(loss), 4)} is above "
            f"{fmt(DIVERGED_FACTOR)} × max(1, |start loss|) = {fmt(DIVERGED_FACTOR * scale, 4)}"
        )
    largest = max(abs(g) for g in gradients)
    if largest <= CONVERGED_GRAD:
        return f"converged at step {step}: every |gradient| is <= {fmt(CONVERGED_GRAD)} ({fmt(largest, 3)})"
    if step > 0:
        change = abs(loss - losses[-2])
        tolerance = CONVERGED_LOSS_CHANGE * scale
        if change <= tolerance:
            return (
                f"converged at step {step}: the loss changed by {fmt(change, 3)} <= "
                f"{fmt(CONVERGED_LOSS_CHANGE)} × max(1, |start loss|) = {fmt(tolerance, 4)}"
            )
    return ""


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'microgradx[plot]'") from None


def _plot(losses: list[float], path: pathlib.Path, title: str) -> pathlib.Path:
    """Plot loss against step into `path`, atomically (a temporary file renamed into place)."""
    import io

    from matplotlib.figure import Figure

    steps = [i for i, x in enumerate(losses) if math.isfinite(x)]
    values = [losses[i] for i in steps]
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    axes.plot(steps, values, marker="." if len(values) <= 50 else None)
    if values and min(values) > 0:
        axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(title if len(title) <= 60 else title[:57] + "...")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lower()[1:])
    try:
        write_atomically(path, buffer.getvalue())
    except OSError as e:
        raise UsageError(f"--plot {path}: {e}") from None
    return path


# --- demo ------------------------------------------------------------------------------------------

_NEURON = "z = w*x; ŷ = sigmoid(z); E = 0.5*(ŷ - y)**2"
_NEURON_HAND = "(ŷ - y)*ŷ*(1 - ŷ)*x"


def _demo(args: argparse.Namespace) -> int:
    folder = _demo_folder(args.out)
    graph, page = folder / "microgradx-demo.svg", folder / "microgradx-demo.html"
    for path in (graph, graph.with_suffix(".dot"), page):  # all of them before writing any
        _check_writable(path, "--out")
    point = {"w": 0.3, "x": 1.0, "y": 1.0}
    expression, hand = parse(_NEURON), parse(_NEURON_HAND)
    leaves = _leaves(point)
    E, names = expression.bind(leaves)
    E.backward()
    w = leaves["w"]
    s = names["ŷ"].data
    by_hand = hand.evaluate(names).data
    print("The sigmoid neuron  E = ½(σ(w·x) − y)²  at w = 0.3, x = 1, y = 1")
    print(f"  z = w·x = {fmt(names['z'].data, 6)}   ŷ = σ(z) = {fmt(s, 6)}   E = {fmt(E.data, 6)}")
    print()
    print("1. The derivative, automatically and by hand:")
    print(f"   autograd  {'dE/dw':<14} = {w.grad!r}")
    print(f"   by hand   {'(ŷ−y)·σ(1−σ)·x':<14} = {by_hand!r}")
    print()
    print("2. Where the hand formula comes from: the chain rule, path by path")
    from microgradx.explain import explain

    print(textwrap.indent(str(explain(E, w)), "   "))
    print()
    print("3. Checked against central finite differences:")
    from microgradx.check import compare

    fixed = {"x": 1.0, "y": 1.0}
    report = compare(lambda w: expression.evaluate({**fixed, "w": w}), {"w": _NEURON_HAND}, {"w": 0.3})
    print(textwrap.indent(str(report), "   "))
    print()
    # lr = 1: |dE/dw| is only ~0.1 here (σ(1−σ) ≤ ¼), so each step moves w by ~0.1, visibly but gently
    print("4. A few steps of gradient descent, w ← w − lr·dE/dw with lr = 1 (|dE/dw| ≈ 0.1: steps of ≈ 0.1):")
    optimizer = mg.optim.SGD([w], lr=1.0)
    for step in range(6):
        E = expression.evaluate(leaves)
        optimizer.zero_grad()
        E.backward()
        print(f"   step {step}:  w = {fmt(w.data, 6):<10} E = {fmt(E.data, 6):<10} dE/dw = {fmt(w.grad, 6)}")
        optimizer.step()
    print()
    fresh = _leaves(point)
    E = expression.evaluate(fresh)
    E.backward()
    written, note = _write_graph(E, graph, None)
    print(f"5. The graph (with every node's grad) is in {written}")
    if note:
        print(note, file=sys.stderr)
    mg.to_html(E, page, highlight=fresh["w"], lr=1.0, title="The sigmoid neuron  E = ½(σ(w·x) − y)²")
    print(f"   Step through its forward and backward pass in a browser: {page}")
    print()
    print('Try your own: microgradx grad "z = w*x; ŷ = sigmoid(z); E = 0.5*(ŷ - y)**2" --wrt w \\')
    print('                  --at w=0.3 x=1 y=1 --explain --hand w="(ŷ - y)*ŷ*(1 - ŷ)*x"')
    return 0


def _demo_folder(out: str | None) -> pathlib.Path:
    if out is not None:
        folder = pathlib.Path(out)
        if not folder.is_dir():
            raise UsageError(f"--out {out}: no such folder")
        if not os.access(folder, os.W_OK):
            raise UsageError(f"--out {out}: the folder is not writable")
        return folder
    here = pathlib.Path.cwd()
    if os.access(here, os.W_OK):
        return here
    return pathlib.Path(tempfile.mkdtemp(prefix="microgradx-demo-"))


# --- practice: worksheets and the terminal quiz ----------------------------------------------------

MAX_WORKSHEET = 200
"""The most exercises one worksheet holds (`worksheet --count`)."""

_WORKSHEET_TEXT = f"""\
Write DIR/worksheet.html (each exercise's graph with its forward values and an
empty box for every gradient; no answers anywhere in the file) and
DIR/answers.html (every gradient, and the chain rule behind it). Print them
from a browser (A4 or Letter, landscape). The same --seed and --level give the
same sheets on every machine: exercise k (from 1) is
mg.exercise(S*1000 + k, level=L) in Python. Without --seed one is chosen and
printed. --count is 1 to {MAX_WORKSHEET}; --level 1 is a neuron, 2 two layers or an
input used twice, 3 a larger graph with several paths. DIR is made if missing."""

_PRACTICE_TEXT = """\
One exercise in the terminal: its graph and forward values, then each gradient
in backward order. Type a number (Enter checks it; a wrong one gets a note on
what it most likely is), ? to see the answer, or end the input (Ctrl-D) to stop."""


def _worksheet_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "worksheet",
        help="write a printable worksheet and its answer key",
        usage="microgradx worksheet --count N [--seed S] [--level L] --out DIR",
        description=_WORKSHEET_TEXT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--count", type=_whole("--count"), required=True, metavar="N", help="how many exercises"
    )
    _seed_and_level(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write to")
    parser.set_defaults(run=_worksheet)


def _practice_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "practice",
        help="work out an exercise's gradients in the terminal",
        usage="microgradx practice [--seed S] [--level L]",
        description=_PRACTICE_TEXT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _seed_and_level(parser)
    parser.set_defaults(run=_practice)


def _seed_and_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=_whole("--seed"), metavar="S", help="the same S, the same exercises")
    parser.add_argument("--level", type=int, choices=(1, 2, 3), default=1, metavar="L", help="1, 2 or 3 (1)")


def _whole(option: str) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None

    convert.__name__ = option
    return convert


def _chosen_seed(seed: int | None) -> int:
    import random

    return random.SystemRandom().randrange(10_000) if seed is None else seed


def _worksheet(args: argparse.Namespace) -> int:
    from microgradx.practice import exercise
    from microgradx.worksheet import answers_html, worksheet_html

    if not 1 <= args.count <= MAX_WORKSHEET:
        raise UsageError(f"--count must be 1 to {MAX_WORKSHEET}, got {args.count}")
    seed = _chosen_seed(args.seed)
    exercises = [exercise(seed * 1000 + k, level=args.level) for k in range(1, args.count + 1)]
    pages = {
        "worksheet.html": worksheet_html(exercises, seed=seed),
        "answers.html": answers_html(exercises, seed=seed),
    }
    folder = pathlib.Path(args.out)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {args.out}: not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {args.out}: cannot make the folder ({e.strerror or e})") from None
    for name in pages:  # all of them before writing any
        _check_writable(folder / name, "--out")
    for name, page in pages.items():
        write_atomically(folder / name, page)
    print(f"{args.count} exercises (questions {seed}, level {args.level}):")
    sheet, key = str(folder / "worksheet.html"), str(folder / "answers.html")
    width = max(len(sheet), len(key))
    print(f"  {sheet:<{width}}  to print and hand out (no answers in it)")
    print(f"  {key:<{width}}  the key: every gradient and the chain rule behind it")
    if args.seed is None:
        print(f"  the same sheets again: --seed {seed} --level {args.level}")
    return 0


def _practice(args: argparse.Namespace) -> int:
    from microgradx.practice import exercise, parse_number

    seed = _chosen_seed(args.seed)
    ex = exercise(seed, level=args.level)
    print(f"Practice (questions {seed}, level {args.level})")
    print(textwrap.fill(ex.question, width=88))
    print()
    print(mg.to_text(ex.output, show_grad=False))
    out = ex.output.label
    answers = ex.answers()
    right = shown = 0
    for label, value in answers.items():
        if label == out:
            print(f"d{out}/d{out} = 1: the backward pass starts at the output.")
            continue
        while True:
            try:
                text = input(f"d{out}/d{label} = ")
            except EOFError:
                print()
                print(f"Stopped: {right} right, {shown} shown.")
                return 0
            if text.strip() in ("?", "show"):
                print(f"  it is {fmt(value, 6)}")
                shown += 1
                break
            try:
                given = parse_number(text)
            except ValueError as e:
                print(f"  {e}; or ? to see it")
                continue
            row = ex.check({label: given}).rows[0]
            if row.ok:
                print(f"  right{': ' + row.note if row.note else ''}")
                right += 1
                break
            print(f"  not yet: {row.note}. Try again, or ? to see it.")
    print(f"Done: {right} right, {shown} shown, of {len(answers) - 1}.")
    return 0


# --- entry point -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `microgradx` console script; returns the exit status (0 ok, 2 user error).

    `argv` defaults to ``sys.argv[1:]``. A user's mistake (bad expression, missing value, unwritable
    file) is one ``error: …`` line on stderr and status 2, never a traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    with _printable_streams():
        return _main(argv)


@contextlib.contextmanager
def _printable_streams() -> Iterator[None]:
    """stdout and stderr write what their encoding cannot (a file name with byte 0xfe under a
    strict UTF-8 stdout) as backslash escapes instead of raising half-way through the output."""
    changed = []
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
            changed.append(stream)
    try:
        yield
    finally:
        for stream in changed:
            stream.reconfigure(errors="strict")


def _main(argv: list[str]) -> int:
    # An EXPR that starts with unary minus ("-w**2", "--w*x") would read as an option: give
    # argparse a leading space to see past, and take it off again (the parser's columns stay the
    # user's). "--" and a name of letters, digits and "-" (before any "=") stays an option.
    first = argv[1] if len(argv) > 1 and argv[0] in ("grad", "descend") else ""
    negated = (first[:1] == "-" and first[1:2] not in ("", "-", "h")) or (
        first[:2] == "--" and re.fullmatch(r"[\w-]*", first[2:].partition("=")[0]) is None
    )
    if negated:
        argv[1] = " " + argv[1]
    try:
        args = _parser().parse_args(argv)
        if negated:
            args.expr = args.expr[1:]
        return args.run(args)
    except (UsageError, ExpressionError) as e:
        print(f"error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `microgradx descend ... | head`: the reader has what it wanted
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # writing a file: a missing folder, a full disk, no permission
        message = re.sub(r"^\[Errno \d+\] ", "", str(e))
        print(f"error: {_one_line(message)}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
