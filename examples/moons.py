"""micrograd's two-moons demo, rebuilt on microgradx: a 2-16-16-1 network learns to separate two moons.

The data is generated here (no scikit-learn), the model is ``MLP(2, [16, 16, 1])`` with ReLU hidden
layers, the loss is the hinge loss plus a small L2 penalty, and SGD with momentum and a decaying
learning rate trains it on the full batch, printing loss and accuracy at every step::

    python examples/moons.py                       # 50 steps, seed 3: reaches 100% by step ~25
    python examples/moons.py --steps 80 --seed 1   # other seeds may need more steps
    python examples/moons.py --plot moons.png      # needs matplotlib: pip install 'microgradx[plot]'
    python examples/moons.py --html moons.html     # one page to scrub through the run (mg.nn.History)
    python examples/moons.py --replay              # same numbers, the graph traced once and replayed
    python examples/moons.py --replay batch        # one sample traced, replayed over the batch (NumPy)
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
from collections.abc import Callable, Sequence

import microgradx as mg
from microgradx.nn import MLP, hinge_loss

ALPHA = 1e-4
"""Weight of the L2 penalty ``ALPHA·Σ p²`` (micrograd's demo uses the same)."""


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 1) -> tuple[list[list[float]], list[int]]:
    """Two interleaving half circles with Gaussian noise, labelled -1 (upper) and +1 (lower).

    The same construction as scikit-learn's ``make_moons``, with labels ±1 for the hinge loss and a
    local random generator so that `seed` alone decides the data.
    """
    rng = random.Random(seed)
    n_out, n_in = n // 2, n - n // 2
    points, labels = [], []
    for i in range(n_out):
        t = math.pi * i / max(n_out - 1, 1)
        points.append([math.cos(t), math.sin(t)])
        labels.append(-1)
    for i in range(n_in):
        t = math.pi * i / max(n_in - 1, 1)
        points.append([1.0 - math.cos(t), 0.5 - math.sin(t)])
        labels.append(1)
    points = [[x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)] for x, y in points]
    order = list(range(n))
    rng.shuffle(order)
    return [points[i] for i in order], [labels[i] for i in order]


def l2_penalty(model: MLP) -> mg.Value:
    """The L2 penalty ``ALPHA·Σ p²`` over the model's parameters."""
    return ALPHA * sum((p * p for p in model.parameters()), mg.Value(0.0))


def loss_and_scores(model: MLP, X: list[list[float]], y: list[int]) -> tuple[mg.Value, list[mg.Value]]:
    """Hinge loss + L2 penalty over the whole batch, and the model's score for each point."""
    scores = [model(x) for x in X]
    data_loss = hinge_loss(scores, y)
    return data_loss + l2_penalty(model), scores


def accuracy_of(scores: list[float], y: list[int]) -> float:
    """The fraction of points on the right side of the boundary (score > 0 for label +1)."""
    return sum((s > 0) == (yi > 0) for s, yi in zip(scores, y, strict=True)) / len(y)


def loss_and_accuracy(model: MLP, X: list[list[float]], y: list[int]) -> tuple[mg.Value, float]:
    """Hinge loss + L2 penalty over the whole batch, and the fraction of points on the right side."""
    loss, scores = loss_and_scores(model, X, y)
    return loss, accuracy_of([s.data for s in scores], y)


LR = 0.3
"""Starting learning rate; it decays linearly to a tenth of this, as in micrograd's demo."""


def train(
    steps: int, seed: int, log=print, replay: bool | str = False, history: bool = False
) -> tuple[MLP, list[float], list[float], tuple]:
    """Train from scratch; returns the model, the loss and accuracy per step, and the data.

    Accuracy at step k is measured on the model before that step's update, like the loss. With
    `replay`, the step's graph is recorded once by `microgradx.trace` and replayed on floats at
    every step (the parameters' new numbers are read at each replay): the same numbers, faster.
    With ``replay="batch"``, one point's loss is traced and replayed over all points at once with
    NumPy (`microgradx.trace.trace_batch`): the same numbers up to the order of sums, faster still.
    With `history`, the plain loop records every step in a `microgradx.nn.History`, kept as
    ``model.history`` for `History.to_html`.
    """
    X, y = make_moons(100, noise=0.1, seed=seed)
    model = MLP(2, [16, 16, 1], activation="relu", seed=seed)
    optimizer = mg.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    if replay:
        return _train_replayed(model, optimizer, steps, log, X, y, batch=replay == "batch")
    recorder = mg.nn.History(model) if history else None
    losses, accuracies = [], []
    # Each step builds a graph of ~65,000 nodes. Graphs hold no reference cycles, so reference
    # counting frees each one; pausing the cycle collector saves its repeated scans of the graph.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for k in range(steps):
            loss, accuracy = loss_and_accuracy(model, X, y)
            optimizer.zero_grad()
            loss.backward()
            if recorder is not None:
                recorder.record(loss)  # after backward, before the step: the loss, values and grads
            optimizer.lr = LR * (1.0 - 0.9 * k / steps)
            optimizer.step()
            losses.append(loss.data)
            accuracies.append(accuracy)
            log(f"step {k:3d}  loss {loss.data:.6f}  accuracy {accuracy:6.1%}")
    finally:
        if collecting:
            gc.enable()
    if recorder is not None:
        model.history = recorder
    return model, losses, accuracies, (X, y)


def _train_replayed(
    model: MLP,
    optimizer: mg.optim.SGD,
    steps: int,
    log,
    X: list[list[float]],
    y: list[int],
    batch: bool = False,
) -> tuple[MLP, list[float], list[float], tuple]:
    """`train`'s loop with the graph traced once: each step replays it instead of rebuilding it."""
    if batch:
        step = batch_step(model, X, y)
    else:
        traced = mg.trace(lambda: loss_and_scores(model, X, y))

        def step() -> tuple[float, list[float]]:
            loss, _, (scores,) = traced()
            return loss, scores

    losses, accuracies = [], []
    for k in range(steps):
        optimizer.zero_grad()
        loss, scores = step()  # forward and backward; adds into each parameter's .grad
        accuracy = accuracy_of(scores, y)
        optimizer.lr = LR * (1.0 - 0.9 * k / steps)
        optimizer.step()
        losses.append(loss)
        accuracies.append(accuracy)
        log(f"step {k:3d}  loss {loss:.6f}  accuracy {accuracy:6.1%}")
    return model, losses, accuracies, (X, y)


def batch_step(model: MLP, X: list[list[float]], y: list[int]) -> Callable[[], tuple[float, list[float]]]:
    """The training step's forward and backward as one batch replay; returns ``step() -> (loss, scores)``.

    One point's hinge term is traced once and replayed over all points with NumPy (the gradient of
    their mean goes into the parameters' ``.grad``), and the L2 penalty is a plain trace. The loss
    is added up in the plain path's order, so it is the same float; the gradients agree up to the
    order of their sums.
    """
    from microgradx.trace import trace_batch  # needs NumPy: pip install 'microgradx[fast]'

    def point_loss(x: list[mg.Value], label: mg.Value) -> tuple[mg.Value, mg.Value]:
        score = model(x)
        return hinge_loss([score], [label]), score

    hinge = trace_batch(point_loss, X[0], y[0])
    penalty = mg.trace(lambda: l2_penalty(model))

    def step() -> tuple[float, list[float]]:
        terms = hinge(X, y, reduce="mean")
        data_loss = sum(terms.values.tolist()) / len(y)  # hinge_loss's order: left to right, then / n
        return data_loss + penalty().value, terms.aux[0].tolist()

    return step


def plot(model: MLP, X: list[list[float]], y: list[int], losses: list[float], path: str) -> None:
    """Save the decision boundary (left) and the loss curve (right) as an image at `path`."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'microgradx[plot]'") from None
    n = 60
    xs = [-1.6 + 4.2 * i / (n - 1) for i in range(n)]
    ys = [-1.2 + 2.9 * j / (n - 1) for j in range(n)]
    with mg.no_grad():  # evaluation only: record no graph
        grid = [[model([gx, gy]).data for gx in xs] for gy in ys]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.contourf(xs, ys, grid, levels=[-1e9, 0.0, 1e9], colors=["#9ecae1", "#fdae6b"], alpha=0.6)
    left.contour(xs, ys, grid, levels=[0.0], colors="k", linewidths=1)
    for label, color in ((-1, "#08519c"), (1, "#a63603")):
        pts = [p for p, yi in zip(X, y, strict=True) if yi == label]
        left.scatter([p[0] for p in pts], [p[1] for p in pts], c=color, s=18, label=f"label {label:+d}")
    left.set_title("decision boundary of MLP(2, [16, 16, 1])")
    left.legend(loc="lower left")
    right.plot(range(len(losses)), losses)
    right.set_yscale("log")
    right.set_xlabel("step")
    right.set_ylabel("hinge loss + L2")
    right.set_title("training loss")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="training steps (default 50)")
    parser.add_argument("--seed", type=int, default=3, help="seed for the data and the weights (default 3)")
    parser.add_argument("--plot", metavar="OUT.png", help="save boundary and loss curve (matplotlib)")
    parser.add_argument(
        "--html", metavar="OUT.html", help="write a page to scrub through the run (not with --replay)"
    )
    parser.add_argument(
        "--replay",
        nargs="?",
        const="plain",
        choices=["plain", "batch"],
        help="trace the graph once, replay it each step (batch: one point traced, NumPy over all points)",
    )
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if args.html and args.replay:
        parser.error("--html records the plain loop; leave out --replay")
    model, losses, accuracies, (X, y) = train(
        args.steps, args.seed, replay=args.replay, history=bool(args.html)
    )
    print(f"final training accuracy {accuracies[-1]:.1%} after {args.steps} steps")
    if args.plot:
        plot(model, X, y, losses, args.plot)
        print(f"wrote {args.plot}")
    if args.html:
        title = f"Two moons: MLP(2, [16, 16, 1]), {args.steps} steps"
        model.history.to_html(args.html, data=(X, y), title=title)
        print(f"wrote {args.html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
