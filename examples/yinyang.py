"""Three classes on a yin-yang, as in EurekaLabs' micrograd: softmax cross-entropy and AdamW.

Points of the unit disk belong to yin (0), yang (1) or one of the two dots (2). The data is
generated here from a seeded random generator (no downloads), ``MLP(2, [8, 3])`` with a tanh
hidden layer gives three logits per point, `microgradx.nn.cross_entropy` turns them into a loss
and `microgradx.optim.AdamW` trains on the full training split, printing train and validation
loss as it goes::

    python examples/yinyang.py                     # 100 steps
    python examples/yinyang.py --steps 300 --seed 1
    python examples/yinyang.py --plot yinyang.png  # decision regions; pip install 'microgradx[plot]'
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Sequence

import microgradx as mg
from microgradx.nn import MLP, cross_entropy

CLASSES = ("yin", "yang", "dot")
DOT_RADIUS = 0.2
"""Radius of each of the two dots, in a disk of radius 1 (the lobes have radius 1/2)."""

Point = list[float]


def which_class(x: float, y: float) -> int:
    """The class of a point of the unit disk: 0 yin, 1 yang, 2 either dot.

    The S-curve between yin and yang is made of two half circles of radius 1/2 centred at
    (-1/2, 0) and (1/2, 0). Yin is the upper half of the disk without the right lobe, plus the
    left lobe below the axis; each lobe's centre carries a dot of the other colour.
    """
    to_left = math.hypot(x + 0.5, y)
    to_right = math.hypot(x - 0.5, y)
    if to_left < DOT_RADIUS or to_right < DOT_RADIUS:
        return 2
    upper_yin = y > 0 and to_right >= 0.5
    lower_yin = y <= 0 and to_left < 0.5
    return 0 if upper_yin or lower_yin else 1


def make_yinyang(n: int = 100, seed: int = 0) -> tuple[list[Point], list[int]]:
    """`n` points drawn uniformly from the unit disk, classes in turn (0, 1, 2, 0, …) so they balance.

    Each point is drawn again until it falls in the disk and in the class it is meant for; `seed`
    alone decides the data (a local `random.Random`, the global state is untouched).
    """
    rng = random.Random(seed)
    points, labels = [], []
    for i in range(n):
        goal = i % len(CLASSES)
        while True:
            x, y = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
            if x * x + y * y < 1.0 and which_class(x, y) == goal:
                break
        points.append([x, y])
        labels.append(goal)
    return points, labels


def split(points: list[Point], labels: list[int], train: float = 0.8) -> tuple[tuple, tuple]:
    """The first `train` fraction for training, the rest for validation."""
    k = int(train * len(points))
    return (points[:k], labels[:k]), (points[k:], labels[k:])


def loss_of(model: MLP, points: list[Point], labels: list[int]) -> mg.Value:
    """Mean softmax cross-entropy of the model's three logits over the points."""
    return cross_entropy([model(p) for p in points], labels)


def accuracy_of(model: MLP, points: list[Point], labels: list[int]) -> float:
    """Fraction of points whose largest logit is their class."""
    with mg.no_grad():
        right = 0
        for p, label in zip(points, labels, strict=True):
            logits = [z.data for z in model(p)]
            right += logits.index(max(logits)) == label
    return right / len(points)


def train(
    steps: int = 100, seed: int = 0, n: int = 100, log=print
) -> tuple[MLP, list[float], list[tuple[int, float]], tuple, tuple]:
    """Train ``MLP(2, [8, 3])`` with AdamW on the full training split for `steps` steps.

    Returns the model, the training loss of every step (before its update), the validation loss
    at the steps it was measured (the first, every tenth and the last), and both splits.
    """
    points, labels = make_yinyang(n, seed=seed)
    train_split, val_split = split(points, labels)
    model, optimizer = model_and_optimizer(seed)
    losses, val_losses = [], []
    for k in range(steps):
        loss = training_step(model, optimizer, *train_split)
        losses.append(loss)
        if k == 0 or (k + 1) % 10 == 0 or k == steps - 1:
            with mg.no_grad():
                val = loss_of(model, *val_split).data
            val_losses.append((k + 1, val))
            log(f"step {k + 1:3d}/{steps}  train loss {loss:.6f}  val loss {val:.6f}")
    return model, losses, val_losses, train_split, val_split


def model_and_optimizer(seed: int = 0) -> tuple[MLP, mg.optim.AdamW]:
    """``MLP(2, [8, 3])`` (tanh, then three linear logits) and its AdamW optimizer."""
    model = MLP(2, [8, 3], activation="tanh", seed=seed)
    # EurekaLabs' settings: a large learning rate for a small full-batch problem, little decay.
    optimizer = mg.optim.AdamW(model.parameters(), lr=0.1, betas=(0.9, 0.95), weight_decay=1e-4)
    return model, optimizer


def training_step(model: MLP, optimizer: mg.optim.AdamW, points: list[Point], labels: list[int]) -> float:
    """One full-batch step: the loss, its backward pass, the update. Returns the loss before the update."""
    loss = loss_of(model, points, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.data


COLORS = ("#2b2b2b", "#f0e6c8", "#d6604d")
"""Fill colours of yin, yang and the dots in the picture."""


def plot(
    model: MLP, train_split: tuple, val_split: tuple, losses: list[float], val_losses: list, path: str
) -> None:
    """Save the decision regions with the points (left) and the loss curves (right) at `path`."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'microgradx[plot]'") from None
    n = 120
    ticks = [-1.1 + 2.2 * i / (n - 1) for i in range(n)]
    with mg.no_grad():  # evaluation only: record no graph
        grid = []
        for gy in ticks:
            row = []
            for gx in ticks:
                logits = [z.data for z in model([gx, gy])]
                row.append(logits.index(max(logits)))
            grid.append(row)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8))
    left.contourf(ticks, ticks, grid, levels=[-0.5, 0.5, 1.5, 2.5], cmap=ListedColormap(COLORS), alpha=0.45)
    left.add_patch(plt.Circle((0, 0), 1.0, fill=False, color="grey", linewidth=0.8))
    for (points, labels), marker, name in ((train_split, "o", "train"), (val_split, "^", "val")):
        for c, color in enumerate(COLORS):
            pts = [p for p, label in zip(points, labels, strict=True) if label == c]
            left.scatter(
                [p[0] for p in pts], [p[1] for p in pts], c=color, marker=marker, s=26, edgecolors="k",
                linewidths=0.6, label=f"{CLASSES[c]} ({name})",
            )
    left.set_aspect("equal")
    left.set_title("decision regions of MLP(2, [8, 3])")
    left.legend(loc="upper center", fontsize=7, ncol=3, bbox_to_anchor=(0.5, -0.08))
    right.plot(range(1, len(losses) + 1), losses, label="train")
    right.plot([k for k, _ in val_losses], [v for _, v in val_losses], "o-", label="val")
    right.set_xlabel("step")
    right.set_ylabel("cross-entropy")
    right.set_title("loss")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the data and the weights (default 0)")
    parser.add_argument("--points", type=int, default=100, help="points, 80%% train, 20%% val (default 100)")
    parser.add_argument("--plot", metavar="OUT.png", help="save decision regions and losses (matplotlib)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if args.points < 5:
        parser.error("--points must be at least 5")
    model, losses, val_losses, train_split, val_split = train(args.steps, args.seed, args.points)
    print(
        f"accuracy after {args.steps} steps: train {accuracy_of(model, *train_split):.1%}, "
        f"val {accuracy_of(model, *val_split):.1%}"
    )
    if args.plot:
        plot(model, train_split, val_split, losses, val_losses, args.plot)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
