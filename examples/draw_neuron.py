"""Draw the sigmoid neuron E = ½(σ(w·x) − y)² the way a teacher draws it on the board.

Each box is a Value (name, data, grad), each circle an operation; every arrow into an operation
carries its local derivative (formula and number), and the orange path is the one along which
dE/dw flows: multiply the numbers along it and you get w's grad. Prints the same graph as a text
tree, then writes ``neuron_graph.png`` into ``--out`` (default: here), or a ``.dot`` file
where no Graphviz renderer is installed. The picture is drawn top to bottom (``rankdir="TB"``):
about 680 px wide, it reads at its own size in a README column (left to right it was 1964 px wide
and its edge labels shrank to nothing).

    python examples/draw_neuron.py --out docs/images
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence

import microgradx as mg
from microgradx.draw import RendererNotFound, render


def sigmoid_neuron(w0: float = 0.3, x0: float = 1.0, y0: float = 1.0) -> tuple[mg.Value, mg.Value]:
    """E = ½(ŷ − y)² with ŷ = σ(w·x), after E.backward(); returns (E, w)."""
    w, x, y = mg.Value(w0, "w"), mg.Value(x0, "x"), mg.Value(y0, "y")
    z = w * x
    z.label = "z"
    yhat = z.sigmoid()
    yhat.label = "ŷ"
    E = 0.5 * (yhat - y) ** 2
    E.label = "E"
    E.backward()
    return E, w


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", default=".", help="folder for the pictures (default: here)")
    args = parser.parse_args(argv)
    E, w = sigmoid_neuron()
    print(mg.to_text(E))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        path = render(E, out / "neuron_graph.png", show_local=True, highlight=w, rankdir="TB")
        print(f"wrote {path}")
    except RendererNotFound as error:
        path = render(E, out / "neuron_graph.dot", show_local=True, highlight=w, rankdir="TB")
        print(f"wrote {path} instead: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
