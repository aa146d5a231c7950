"""`microgradx descend`: gradient descent on EXPR, a row per step, a verdict (converged, diverged or
not converged), and on request a plot of the loss."""

from __future__ import annotations

import argparse
import math
import pathlib
from collections.abc import Callable
from typing import Any

import microgradx as mg
from microgradx._files import write_atomically
from microgradx.cli_steps import UsageError, add_expr_options, check_writable, leaves_of, prepare
from microgradx.expr import ExpressionError
from microgradx.formatting import fmt

__all__ = [
    "CONVERGED_GRAD",
    "CONVERGED_LOSS_CHANGE",
    "DIVERGED_FACTOR",
    "MAX_STEPS",
    "PLOT_SUFFIXES",
    "add_command",
]

CONVERGED_GRAD = 1e-8
"""`descend` has converged when every |gradient| is at most this..."""

CONVERGED_LOSS_CHANGE = 1e-9
"""... or when one step changes the loss by at most this × max(1, |start loss|)."""

DIVERGED_FACTOR = 1e6
"""`descend` has diverged when the loss is not finite or |loss| > this × max(1, |start loss|)."""

MAX_STEPS = 1_000_000
"""The most steps `descend` takes (a guard against a typo like --steps 1e12)."""


PLOT_SUFFIXES = (".png", ".svg", ".pdf")

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


def add_command(sub: Any) -> None:
    """Add the `descend` command, its options and its help, to the subcommands `sub`."""
    raw = argparse.RawDescriptionHelpFormatter
    descend = sub.add_parser(
        "descend",
        help="gradient descent on EXPR",
        usage="microgradx descend EXPR --wrt NAME [NAME ...] --at NAME=NUMBER [NAME=NUMBER ...]\n"
        "                --lr A [--steps N] [--momentum M] [--plot FILE]",
        epilog=_DESCEND_EXAMPLES,
        formatter_class=raw,
    )
    add_expr_options(descend)
    descend.add_argument("--lr", type=_finite("--lr"), required=True, metavar="A", help="learning rate")
    descend.add_argument("--steps", type=_count, default=100, metavar="N", help="at most N steps (100)")
    descend.add_argument(
        "--momentum", type=_finite("--momentum"), default=0.0, metavar="M", help="0 <= M < 1"
    )
    descend.add_argument("--plot", metavar="FILE", help="plot the loss per step to FILE (.png, .svg or .pdf)")
    descend.set_defaults(run=_descend)


def _finite(option: str) -> Callable[[str], float]:
    """The argparse type of a number option: a finite float, or argparse's error naming it."""
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


def _descend(args: argparse.Namespace) -> int:
    plot_path = None
    if args.plot:
        plot_path = pathlib.Path(args.plot)
        if plot_path.suffix.lower() not in PLOT_SUFFIXES:
            raise UsageError(f"--plot {args.plot}: use a file name ending in {', '.join(PLOT_SUFFIXES)}")
        check_writable(plot_path, "--plot")
        _require_matplotlib()
    expression, point, wrt = prepare(args)
    leaves = leaves_of(point)
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
