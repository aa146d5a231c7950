"""The `microgradx` command: derivatives, chain-rule explanations, checks and descent from one line.

``microgradx grad EXPR ...`` evaluates an expression (see `microgradx.expr`, our own safe parser)
as a graph of Values and prints its derivatives; ``descend`` runs gradient descent on it;
``demo`` walks through the sigmoid neuron of the docs' questions. Every user error (a bad
expression, a missing value, a domain error, an unwritable file, a bad option) prints exactly one
line on stderr and exits with status 2; no file is ever left half-written.

The parser and `main` are here; each command is in its own module (`cli_grad`, `cli_descend`,
`cli_demo`, `cli_practice`), and the steps they share in `cli_steps`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

import microgradx as mg
from microgradx import cli_demo, cli_descend, cli_grad, cli_practice
from microgradx.cli_descend import CONVERGED_GRAD, CONVERGED_LOSS_CHANGE, DIVERGED_FACTOR
from microgradx.cli_steps import UsageError, one_line
from microgradx.expr import ExpressionError

__all__ = ["CONVERGED_GRAD", "CONVERGED_LOSS_CHANGE", "DIVERGED_FACTOR", "UsageError", "main"]


# --- argument parsing ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (via `UsageError`) instead of usage text + message."""

    def error(self, message: str) -> NoReturn:
        if "EXPR" in message:  # often an EXPR swallowed by `--at a=1 b=2 EXPR`
            message += "; put EXPR right after the command, before the options"
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _parser() -> _Parser:
    parser = _Parser(
        prog="microgradx",
        description="Scalar autograd for learning and checking backpropagation.",
        epilog="Run 'microgradx COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"microgradx {mg.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_grad.add_command(sub)
    cli_descend.add_command(sub)
    cli_demo.add_command(sub)
    cli_practice.add_commands(sub)
    return parser


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
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `microgradx descend ... | head`: the reader has what it wanted
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # writing a file: a missing folder, a full disk, no permission
        message = re.sub(r"^\[Errno \d+\] ", "", str(e))
        print(f"error: {one_line(message)}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
