"""Why is Grokking's weight update proportional to the input?

Grokking Deep Learning trains one weight with ``weight -= (pred - goal) * input``. That number is
half of dE/dweight for the error E = (input·weight − goal)², so microgradx can show where the input
comes from (the chain rule), what it does (stopping at input 0, reversing for a negative input,
scaling with a large one) and why a large input needs a small learning rate alpha::

    python examples/grokking_weight.py                  # print everything
    python examples/grokking_weight.py --out pictures   # also save the pictures (needs matplotlib)
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
from collections.abc import Sequence

import microgradx as mg
from microgradx.formatting import fmt

WEIGHT, GOAL = 0.5, 0.8
"""The starting weight and the goal prediction of Grokking's chapter 4 example."""

CASES = ((0.0, "stopping"), (-1.0, "negative reversal"), (1.0, "plain"), (8.0, "scaling"))
"""Inputs that show the three effects of multiplying the pure error by the input."""

BIG_INPUT, LARGE_ALPHA, SMALL_ALPHA = 8.0, 0.1, 0.005
"""The descent runs: on input 8, alpha 0.1 diverges and alpha 0.005 converges."""


def error(input_: float, weight: mg.Value, goal: float) -> mg.Value:
    """Grokking's squared error E = (pred − goal)² for pred = input·weight, with labelled nodes."""
    x = mg.Value(input_, "input")
    pred = x * weight
    pred.label = "pred"
    E = (pred - mg.Value(goal, "goal")) ** 2
    E.label = "E"
    return E


def descend(input_: float, goal: float, weight: float, alpha: float, steps: int) -> list[tuple]:
    """Gradient descent ``weight -= alpha·dE/dweight``; rows (step, E, weight, dE/dweight) before each update.

    Stops early once the error is non-finite or a million times its start (diverged) or below 1e-9.
    """
    rows = []
    start = None
    for step in range(steps + 1):
        w = mg.Value(weight, "weight")
        E = error(input_, w, goal)
        [dE_dw] = mg.grad(E, [w])
        rows.append((step, E.data, weight, dE_dw))
        start = E.data if start is None else start
        if not math.isfinite(E.data) or E.data > 1e6 * max(1.0, start) or E.data < 1e-9:
            break
        weight -= alpha * dE_dw
    return rows


def print_explanation() -> None:
    """The chain rule for dE/dweight at input 8: the input is the last factor of the only path."""
    weight = mg.Value(WEIGHT, "weight")
    print(mg.explain(error(BIG_INPUT, weight, GOAL), weight))


def print_cases(alpha: float = 0.01) -> None:
    """For each input: the pure error, dE/dweight, Grokking's update, and whether E went down."""
    print(f"weight = {fmt(WEIGHT)}, goal = {fmt(GOAL)}, alpha = {fmt(alpha)}")
    header = ("input", "pred", "pred − goal", "dE/dweight", "new weight", "E before", "E after", "effect")
    print("  ".join(f"{h:>11}" for h in header[:-1]) + "  effect")
    for input_, effect in CASES:
        w = mg.Value(WEIGHT, "weight")
        E = error(input_, w, GOAL)
        [dE_dw] = mg.grad(E, [w])
        new_weight = WEIGHT - alpha * dE_dw
        with mg.no_grad():
            after = error(input_, mg.Value(new_weight), GOAL).data
        pred = input_ * WEIGHT
        cells = (input_, pred, pred - GOAL, dE_dw, new_weight, E.data, after)
        print("  ".join(f"{fmt(c):>11}" for c in cells) + f"  {effect}")


def print_descent(rows: list[tuple], alpha: float) -> None:
    """One descent run as a table, with the factor by which each step multiplied the error."""
    print(
        f"input = {fmt(BIG_INPUT)}, alpha = {fmt(alpha)}: each step multiplies pred − goal by "
        f"1 − 2·alpha·input² = {fmt(1 - 2 * alpha * BIG_INPUT**2)}"
    )
    print(f"{'step':>4}  {'E':>11}  {'weight':>11}  {'dE/dweight':>11}")
    for step, E, weight, dE_dw in rows:
        print(f"{step:>4}  {fmt(E):>11}  {fmt(weight):>11}  {fmt(dE_dw):>11}")
    last = rows[-1][1]
    verdict = "diverged" if not math.isfinite(last) or last > rows[0][1] else "converged"
    print(f"{verdict}: E went from {fmt(rows[0][1])} to {fmt(last)} in {rows[-1][0]} steps")


def save_pictures(out: pathlib.Path, runs: dict[float, list[tuple]]) -> list[pathlib.Path]:
    """Each run's weights on the error parabola (one panel per alpha) and E per step (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    best = GOAL / BIG_INPUT
    styles = {LARGE_ALPHA: ("#c92a2a", "o", "diverges"), SMALL_ALPHA: ("#1971c2", "s", "converges")}
    spans = {LARGE_ALPHA: 5.4, SMALL_ALPHA: 0.6}  # how far from the best weight each panel shows
    for ax, (alpha, rows) in zip(axes[:2], runs.items(), strict=True):
        color, marker, verdict = styles[alpha]
        span = spans[alpha]
        ws = [best - span + 2 * span * i / 400 for i in range(401)]
        ax.plot(ws, [(BIG_INPUT * w - GOAL) ** 2 for w in ws], color="0.45", lw=1.5)
        shown = [r for r in rows if abs(r[2] - best) <= span][:8]
        ax.plot([r[2] for r in shown], [r[1] for r in shown], color=color, marker=marker, ms=6, lw=1)
        for r in shown[:3]:
            ax.annotate(f"step {r[0]}", (r[2], r[1]), textcoords="offset points", xytext=(8, 4), color=color)
        ax.set_xlabel("weight")
        ax.set_ylabel("E = (input·weight − goal)²")
        ax.set_title(f"alpha = {fmt(alpha)}: {verdict} (input = 8)", color=color)
    for alpha, rows in runs.items():
        color, marker, verdict = styles[alpha]
        axes[2].semilogy(
            [r[0] for r in rows],
            [max(r[1], 1e-16) for r in rows],
            color=color,
            marker=marker,
            ms=4,
            label=f"alpha = {fmt(alpha)} ({verdict})",
        )
    axes[2].set_xlabel("step")
    axes[2].set_ylabel("E (log scale)")
    axes[2].set_title("error per step")
    axes[2].legend()
    fig.tight_layout()
    path = out / "grokking_descent.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="save the pictures in DIR (needs matplotlib)")
    args = parser.parse_args(argv)

    print("== dE/dweight by the chain rule (input 8)")
    print_explanation()
    print()
    print("== stopping, negative reversal, scaling: one update of each case")
    print_cases()
    runs = {alpha: descend(BIG_INPUT, GOAL, WEIGHT, alpha, steps=20) for alpha in (LARGE_ALPHA, SMALL_ALPHA)}
    for alpha, rows in runs.items():
        print()
        print(f"== gradient descent with alpha = {fmt(alpha)}")
        print_descent(rows, alpha)
    if args.out:
        print()
        try:
            paths = save_pictures(pathlib.Path(args.out), runs)
        except ImportError:
            print("pictures skipped: matplotlib is not installed (pip install 'microgradx[plot]')")
        else:
            for path in paths:
                print(f"saved {path.as_posix()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
