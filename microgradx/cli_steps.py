"""The steps the `microgradx` commands share: reading EXPR, --wrt and --at, checking a file can be
written before any work, and writing a graph (or its .dot where no renderer exists).

Every user error is a `UsageError`, one sentence naming what was wrong.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
from collections.abc import Sequence
from typing import Any

from microgradx._files import resolve
from microgradx.engine import Value, no_grad
from microgradx.expr import Expression, ExpressionError, check_name, parse

__all__ = [
    "UsageError",
    "add_expr_options",
    "check_writable",
    "leaves_of",
    "one_line",
    "prepare",
    "read_point",
    "split_item",
    "write_graph",
]


class UsageError(Exception):
    """A user error: the message is printed as one line on stderr and the exit status is 2."""


def add_expr_options(parser: argparse.ArgumentParser) -> None:
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


def split_item(item: str, option: str, what: str) -> tuple[str, str]:
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


def read_point(items: Sequence[str]) -> dict[str, float]:
    """The ``--at NAME=NUMBER`` words as a dict; a number may also be a constant expression (1/3)."""
    point: dict[str, float] = {}
    for item in items:
        name, text = split_item(item, "--at", "NAME=NUMBER, e.g. w=0.5")
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


def prepare(args: argparse.Namespace) -> tuple[Expression, dict[str, float], list[str]]:
    """Parse EXPR, --at and --wrt, checking they fit together (each error one clear sentence)."""
    expression = parse(args.expr)
    point = read_point(args.at)
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


def leaves_of(point: dict[str, float]) -> dict[str, Value]:
    """A leaf Value for each --at name, labelled with it."""
    return {name: Value(x, name) for name, x in point.items()}


def check_writable(path: pathlib.Path, option: str) -> None:
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


def write_graph(
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
        return written, f"note: wrote {written} instead of {path}: {one_line(str(e))}"
    except RuntimeError as e:  # the renderer ran but failed
        raise UsageError(f"cannot write {path}: {e}") from None


_LONGEST_WORD = 120  # an error line shows at most this much of one word (a name, a path, a value)


def one_line(text: str) -> str:
    """`text` on one line, with any very long word (a 5,000-character name echoed back) cut down."""
    return " ".join(
        word if len(word) <= _LONGEST_WORD else f"{word[:80]}…[{len(word):,} characters]…{word[-20:]}"
        for word in text.split()
    )
