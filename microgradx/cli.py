"""The `microgradx` command line (a minimal demo for now; see issue #8 for the full command)."""

from __future__ import annotations

import argparse
import sys

import microgradx as mg
from microgradx.formatting import fmt


def _demo() -> int:
    """Walk through the seed neuron E = ½(σ(w·x) − y)²: autograd next to the hand derivation."""
    w, x, y = mg.Value(0.3, "w"), mg.Value(1.0, "x"), mg.Value(1.0, "y")
    z = w * x
    z.label = "z"
    yhat = z.sigmoid()
    yhat.label = "ŷ"
    E = 0.5 * (yhat - y) ** 2
    E.label = "E"
    E.backward()
    s = yhat.data
    hand = (s - y.data) * s * (1.0 - s) * x.data
    print("The sigmoid neuron  E = ½(σ(w·x) − y)²  at w = 0.3, x = 1, y = 1")
    print(f"  ŷ = σ(w·x) = {fmt(s, 6)}   E = {fmt(E.data, 6)}")
    print(f"  autograd  dE/dw = {w.grad!r}")
    print(f"  by hand   (ŷ−y)·σ(1−σ)·x = {hand!r}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `microgradx` console script."""
    parser = argparse.ArgumentParser(prog="microgradx", description="Scalar autograd for learning backprop.")
    parser.add_argument("--version", action="version", version=f"microgradx {mg.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="walk through the sigmoid neuron of the seed questions")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo()
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":
    sys.exit(main())
