"""How backpropagation isolates each weight, for E = w1·x + w2·x².

Each partial derivative dE/dwi says how E changes when wi alone moves and every other weight stays
put: nudging one weight changes E by that partial times the nudge, nudging both adds the two
effects. Where one node feeds the output along several paths (here x, through w1·x and through
w2·x²) backpropagation adds the paths up. Gradient descent then moves every weight at once, each by
its own partial, which is the steepest way down::

    python examples/two_weights.py                  # print everything
    python examples/two_weights.py --out pictures   # also save the pictures (needs matplotlib)
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence

import microgradx as mg
from microgradx.formatting import fmt

W1, W2, X = 0.5, -0.2, 3.0
"""The point where the partial derivatives are taken."""

NUDGE = 0.01
"""How far one weight is moved to measure its effect on E by hand."""

DATA_X = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
"""Inputs of the small fitting problem; the targets are 1.5·x − 0.5·x² (so the best weights are 1.5, -0.5)."""

START, LR, STEPS = (-1.0, 1.0), 0.2, 30
"""Gradient descent on the fit: starting (w1, w2), learning rate and number of steps."""


def build(w1: float, w2: float, x: float) -> tuple[mg.Value, mg.Value, mg.Value, mg.Value]:
    """E = w1·x + w2·x² with labelled leaves; returns (E, w1, w2, x)."""
    w1, w2, x = mg.Value(w1, "w1"), mg.Value(w2, "w2"), mg.Value(x, "x")
    E = w1 * x + w2 * x**2
    E.label = "E"
    return E, w1, w2, x


def print_partials() -> None:
    """Each partial by autograd, next to its closed form and a measured nudge of that weight alone."""
    E, w1, w2, x = build(W1, W2, X)
    d_w1, d_w2, d_x = mg.grad(E, [w1, w2, x])
    print(f"at w1 = {fmt(W1)}, w2 = {fmt(W2)}, x = {fmt(X)}: E = {fmt(E.data)}")
    print(f"dE/dw1 = {fmt(d_w1)}   (closed form: x = {fmt(X)})")
    print(f"dE/dw2 = {fmt(d_w2)}   (closed form: x² = {fmt(X**2)})")
    print(f"dE/dx  = {fmt(d_x)}   (closed form: w1 + 2·w2·x = {fmt(W1 + 2 * W2 * X)})")
    print()
    print(f"nudge by {fmt(NUDGE)} and measure E again (the other weight held fixed):")
    print(f"{'nudged':>10}  {'E after':>8}  {'change of E':>11}  {'predicted by the partials':>25}")
    with mg.no_grad():
        for name, (a, b) in (("w1", (NUDGE, 0.0)), ("w2", (0.0, NUDGE)), ("w1 and w2", (NUDGE, NUDGE))):
            after = build(W1 + a, W2 + b, X)[0].data
            predicted = d_w1 * a + d_w2 * b
            print(f"{name:>10}  {fmt(after):>8}  {fmt(after - E.data):>11}  {fmt(predicted):>25}")


def loss(w1: mg.Value, w2: mg.Value) -> mg.Value:
    """Mean squared error of the model w1·x + w2·x² on the fitting data (targets 1.5·x − 0.5·x²)."""
    targets = [1.5 * x - 0.5 * x * x for x in DATA_X]
    return mg.nn.mse_loss([w1 * x + w2 * x**2 for x in DATA_X], targets)


def descend() -> list[tuple[int, float, float, float, float, float]]:
    """Gradient descent on `loss`: rows (step, L, w1, w2, dL/dw1, dL/dw2), before each step's update."""
    w1, w2 = mg.Value(START[0], "w1"), mg.Value(START[1], "w2")
    optimizer = mg.optim.SGD([w1, w2], lr=LR)
    rows = []
    for step in range(STEPS + 1):
        L = loss(w1, w2)
        optimizer.zero_grad()
        L.backward()
        rows.append((step, L.data, w1.data, w2.data, w1.grad, w2.grad))
        if step < STEPS:
            optimizer.step()  # w1 -= lr·dL/dw1 and w2 -= lr·dL/dw2, each by its own partial
    return rows


def print_descent(rows: list[tuple]) -> None:
    """The descent table (first steps, then every fifth)."""
    print(
        f"fit w1·x + w2·x² to 1.5·x − 0.5·x² at x ∈ {{{', '.join(fmt(x) for x in DATA_X)}}}, lr = {fmt(LR)}"
    )
    print(f"{'step':>4}  {'loss':>9}  {'w1':>8}  {'w2':>8}  {'dL/dw1':>8}  {'dL/dw2':>8}")
    for step, L, w1, w2, g1, g2 in rows:
        if step <= 3 or step % 5 == 0:
            print(f"{step:>4}  {fmt(L):>9}  {fmt(w1):>8}  {fmt(w2):>8}  {fmt(g1):>8}  {fmt(g2):>8}")


def save_pictures(out: pathlib.Path, rows: list[tuple]) -> list[pathlib.Path]:
    """The loss surface over (w1, w2) with the descent path; every step crosses the contours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    n = 120
    g1 = [-1.5 + 3.5 * i / (n - 1) for i in range(n)]
    g2 = [-1.0 + 2.5 * j / (n - 1) for j in range(n)]
    with mg.no_grad():
        surface = [[loss(mg.Value(a), mg.Value(b)).data for a in g1] for b in g2]
    fig, ax = plt.subplots(figsize=(6.8, 5.2))
    ax.contour(g1, g2, surface, levels=[0.02, 0.1, 0.3, 1, 2, 4, 8, 16], colors="0.55", linewidths=0.8)
    ax.plot(
        [r[2] for r in rows],
        [r[3] for r in rows],
        "o-",
        color="#1971c2",
        ms=3.5,
        lw=1,
        label=f"gradient descent, lr = {fmt(LR)}",
    )
    _, _, w1, w2, d1, d2 = rows[0]
    arrow = {"arrowstyle": "-|>", "lw": 1.8}
    ax.annotate("", (w1 - LR * d1, w2), (w1, w2), arrowprops={**arrow, "color": "#c92a2a"})
    ax.annotate("", (w1, w2 - LR * d2), (w1, w2), arrowprops={**arrow, "color": "#e8590c"})
    ax.text(w1 - LR * d1 + 0.04, w2 + 0.04, f"−lr·dL/dw1 = {fmt(-LR * d1, 3)}", color="#c92a2a")
    ax.text(w1 - 0.45, w2 - LR * d2 - 0.12, f"−lr·dL/dw2 = {fmt(-LR * d2, 3)}", color="#e8590c")
    ax.plot([1.5], [-0.5], "*", color="#2b8a3e", ms=14, label="best weights (1.5, -0.5)")
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")
    ax.set_title("step 0 = the two arrows added: each weight moves by its own partial")
    ax.legend(loc="upper right")
    fig.tight_layout()
    path = out / "two_weights_descent.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]


def save_graph(out: pathlib.Path) -> pathlib.Path | None:
    """The diamond: the graph of E with the two paths from x highlighted, or None without a renderer."""
    try:
        from microgradx.draw import RendererNotFound, render
    except ImportError:
        return None
    E, *_, x = build(W1, W2, X)
    E.backward()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return render(E, out / "two_weights_graph.png", show_local=True, highlight=x)
    except RendererNotFound:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="save the pictures in DIR (needs matplotlib)")
    args = parser.parse_args(argv)

    print("== each partial derivative isolates one weight")
    print_partials()
    E, w1, w2, x = build(W1, W2, X)
    for wrt in (w1, w2, x):
        print()
        print(mg.explain(E, wrt))
    print()
    print("== gradient descent moves each weight by its own partial")
    rows = descend()
    print_descent(rows)
    if args.out:
        out = pathlib.Path(args.out)
        print()
        graph = save_graph(out)
        print(f"saved {graph.as_posix()}" if graph else "graph picture skipped: no Graphviz renderer")
        try:
            paths = save_pictures(out, rows)
        except ImportError:
            print("pictures skipped: matplotlib is not installed (pip install 'microgradx[plot]')")
        else:
            for path in paths:
                print(f"saved {path.as_posix()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
