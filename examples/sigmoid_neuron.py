"""From dE/dw to a weight update, for a sigmoid neuron learning the identity on x ∈ {0, 1}.

The network is ŷ = σ(w·x) with error E = ½(ŷ − y)² and target y = x. The hand derivation gives
dE/dw = (ŷ − y)·x·σ(w·x)·(1 − σ(w·x)); microgradx computes the same number by backpropagation,
checks both against finite differences, shows the chain rule edge by edge, and then uses the number
the way gradient descent does, w ← w − μ·dE/dw::

    python examples/sigmoid_neuron.py                  # print everything
    python examples/sigmoid_neuron.py --out pictures   # also save the pictures (needs matplotlib)
    python examples/sigmoid_neuron.py --html neuron.html   # a page to scrub through the training
"""

from __future__ import annotations

import argparse
import itertools
import math
import pathlib
import sys
from collections.abc import Sequence

import microgradx as mg
from microgradx.formatting import fmt

W0, MU, EPOCHS = 0.5, 4.0, 20
"""The starting weight, the learning rate μ and the number of passes over x = 0, 1."""

SAMPLES = ((0.0, 0.0), (1.0, 1.0))
"""The training set of the identity on {0, 1}: pairs (x, y = x)."""


def neuron_error(w: mg.Value, x: float, y: float) -> mg.Value:
    """E = ½(ŷ − y)² for ŷ = σ(z), z = w·x, with the nodes labelled as in the derivation."""
    x, y = mg.Value(x, "x"), mg.Value(y, "y")
    z = w * x
    z.label = "z"
    yhat = z.sigmoid()
    yhat.label = "ŷ"
    E = 0.5 * (yhat - y) ** 2
    E.label = "E"
    return E


def hand_dE_dw(w: float, x: float, y: float) -> float:
    """The hand derivation, (ŷ − y)·x·σ(1 − σ), in plain floats (no microgradx involved)."""
    s = 1.0 / (1.0 + math.exp(-w * x))
    return (s - y) * x * s * (1.0 - s)


def print_compare() -> None:
    """Autograd, central differences and the hand formula side by side, for both samples."""

    def f(w: mg.Value, x: mg.Value, y: mg.Value) -> mg.Value:
        return 0.5 * ((w * x).sigmoid() - y) ** 2

    for x, y in SAMPLES:
        print(mg.compare(f, {"w": hand_dE_dw}, {"w": W0, "x": x, "y": y}))
        print()


def train(
    epochs: int = EPOCHS, mu: float = MU, history: mg.nn.History | None = None, w: mg.Value | None = None
) -> list[tuple]:
    """SGD over the two samples, x = 0 then x = 1, each epoch; rows (epoch, w, dE/dw at 0, at 1, E total).

    With `history` (a `microgradx.nn.History` of `w`), every update is recorded: each sample's E,
    w and dE/dw, so its page shows each step's own error curve E(w) and tangent.
    """
    w = mg.Value(W0, "w") if w is None else w
    optimizer = mg.optim.SGD([w], lr=mu)
    rows = []
    for epoch in range(epochs + 1):
        with mg.no_grad():
            total = sum(neuron_error(w, x, y).data for x, y in SAMPLES)
        grads = [mg.grad(neuron_error(w, x, y), [w])[0] for x, y in SAMPLES]
        rows.append((epoch, w.data, *grads, total))
        if epoch == epochs:
            break
        for x, y in SAMPLES:  # one update per sample: w ← w − μ·dE/dw
            optimizer.zero_grad()
            error = neuron_error(w, x, y)
            error.backward()
            if history is not None:
                history.record(error)
            optimizer.step()
    return rows


def print_training(rows: list[tuple]) -> None:
    """The training table: w climbs while dE/dw (the slope) shrinks, so the steps shrink too."""
    print(f"w ← w − μ·dE/dw with μ = {fmt(MU)}, one update per sample (x = 0, then x = 1)")
    print(f"{'epoch':>5}  {'w':>8}  {'dE/dw at x=0':>12}  {'dE/dw at x=1':>12}  {'E total':>8}")
    for epoch, w, g0, g1, total in rows:
        if epoch <= 5 or epoch % 5 == 0:
            print(f"{epoch:>5}  {fmt(w):>8}  {fmt(g0):>12}  {fmt(g1):>12}  {fmt(total):>8}")
    w = rows[-1][1]
    print(
        f"after {rows[-1][0]} epochs: ŷ(1) = σ(w) = {fmt(1 / (1 + math.exp(-w)))}, ŷ(0) = σ(0) = 0.5 "
        "(x = 0 gives dE/dw = 0: no weight can change σ(w·0))"
    )


def save_pictures(out: pathlib.Path, rows: list[tuple]) -> list[pathlib.Path]:
    """The error curve with w's trajectory on it, and the size of each update next to the slope."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    def total_error(w: float) -> float:
        return sum(0.5 * (1.0 / (1.0 + math.exp(-w * x)) - y) ** 2 for x, y in SAMPLES)

    out.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    ws = [-1.0 + 5.0 * i / 400 for i in range(401)]
    left.plot(ws, [total_error(w) for w in ws], color="0.4", lw=1.6, label="E(w) = E(x=0) + E(x=1)")
    left.axhline(0.125, color="0.6", lw=0.8, ls=":", label="E(x=0) = ½·0.5², whatever w is")
    left.plot(
        [r[1] for r in rows],
        [r[4] for r in rows],
        "o-",
        color="#1971c2",
        ms=5,
        lw=0.8,
        label=f"w after each epoch (μ = {fmt(MU)})",
    )
    for r in rows[:3]:
        left.annotate(
            f"epoch {r[0]}", (r[1], r[4]), textcoords="offset points", xytext=(4, 8), color="#1971c2"
        )
    left.set_xlabel("w")
    left.set_ylabel("E total")
    left.set_title("w rolls down the error curve")
    left.legend(loc="upper right")
    epochs = [r[0] for r in rows[:-1]]
    steps = [b[1] - a[1] for a, b in itertools.pairwise(rows)]
    right.bar(epochs, steps, color="#74c0fc", label="update of w in the epoch")
    right.plot(
        epochs,
        [-MU * r[3] for r in rows[:-1]],
        "o-",
        color="#c92a2a",
        ms=4,
        label="−μ·dE/dw at x = 1 (start of epoch)",
    )
    right.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    right.set_xlabel("epoch")
    right.set_ylabel("change of w")
    right.set_title("the step is μ times the slope: flatter curve, smaller step")
    right.legend()
    fig.tight_layout()
    path = out / "sigmoid_training.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]


def save_graph(out: pathlib.Path) -> pathlib.Path | None:
    """The graph of E at x = 1 with the local derivative on every arrow, or None without a renderer."""
    try:
        from microgradx.draw import RendererNotFound, render
    except ImportError:
        return None
    w = mg.Value(W0, "w")
    E = neuron_error(w, 1.0, 1.0)
    E.backward()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return render(E, out / "sigmoid_graph.png", show_local=True, rankdir="TB")
    except RendererNotFound:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="save the pictures in DIR (needs matplotlib)")
    parser.add_argument("--html", metavar="OUT.html", help="write a page to scrub through the training")
    args = parser.parse_args(argv)

    print(f"== dE/dw by hand, by autograd and by finite differences, at w = {fmt(W0)}")
    print_compare()
    print("== the chain rule, edge by edge (x = 1, y = 1)")
    w = mg.Value(W0, "w")
    print(mg.explain(neuron_error(w, 1.0, 1.0), w))
    print()
    print("== training")
    w = mg.Value(W0, "w")
    history = mg.nn.History([w]) if args.html else None
    rows = train(history=history, w=w)
    print_training(rows)
    if history is not None:
        title = "The sigmoid neuron: w ← w − μ·dE/dw, one sample (x = 0, then x = 1) per step"
        history.to_html(args.html, title=title)
        print(f"wrote {args.html}")
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
