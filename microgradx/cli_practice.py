"""`microgradx worksheet` and `microgradx practice`: printable worksheets with their answer key,
and one exercise worked through in the terminal."""

from __future__ import annotations

import argparse
import pathlib
import textwrap
from collections.abc import Callable
from typing import Any

import microgradx as mg
from microgradx._files import write_atomically
from microgradx.cli_steps import UsageError, check_writable
from microgradx.formatting import fmt

__all__ = ["MAX_WORKSHEET", "add_commands"]

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


def add_commands(sub: Any) -> None:
    """Add the `worksheet` and `practice` commands, their options and help, to the subcommands `sub`."""
    _worksheet_parser(sub)
    _practice_parser(sub)


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
        check_writable(folder / name, "--out")
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
    from microgradx.practice import exercise
    from microgradx.slips import parse_number

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
