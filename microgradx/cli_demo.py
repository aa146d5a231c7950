"""`microgradx demo`: the sigmoid neuron of the docs' questions, step by step (the derivative by
autograd and by hand, the chain rule, the check, a few descent steps, the graph and its page)."""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import textwrap
from typing import Any

import microgradx as mg
from microgradx.cli_steps import UsageError, check_writable, leaves_of, write_graph
from microgradx.expr import parse
from microgradx.formatting import fmt

__all__ = ["add_command"]

_DEMO_TEXT = """\
The sigmoid neuron E = ½(σ(w·x) − y)² of the questions pages, step by step: the
automatic derivative dE/dw next to the hand derivation (ŷ−y)·σ(1−σ)·x, the chain
rule path by path, the finite-difference check, a few SGD steps, and the graph
written to DIR/microgradx-demo.svg (or .dot where no Graphviz renderer exists), and
an interactive step-through page to DIR/microgradx-demo.html.
DIR is --out, else the current directory (a new temporary directory when the
current one is not writable)."""

_NEURON = "z = w*x; ŷ = sigmoid(z); E = 0.5*(ŷ - y)**2"
_NEURON_HAND = "(ŷ - y)*ŷ*(1 - ŷ)*x"


def add_command(sub: Any) -> None:
    """Add the `demo` command and its help to the subcommands `sub`."""
    raw = argparse.RawDescriptionHelpFormatter
    demo = sub.add_parser(
        "demo", help="walk through the sigmoid neuron", description=_DEMO_TEXT, formatter_class=raw
    )
    demo.add_argument(
        "--out", metavar="DIR", help="where to write the graph (default: the current directory)"
    )
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    folder = _demo_folder(args.out)
    graph, page = folder / "microgradx-demo.svg", folder / "microgradx-demo.html"
    for path in (graph, graph.with_suffix(".dot"), page):  # all of them before writing any
        check_writable(path, "--out")
    point = {"w": 0.3, "x": 1.0, "y": 1.0}
    expression, hand = parse(_NEURON), parse(_NEURON_HAND)
    leaves = leaves_of(point)
    E, names = expression.bind(leaves)
    E.backward()
    w = leaves["w"]
    s = names["ŷ"].data
    by_hand = hand.evaluate(names).data
    print("The sigmoid neuron  E = ½(σ(w·x) − y)²  at w = 0.3, x = 1, y = 1")
    print(f"  z = w·x = {fmt(names['z'].data, 6)}   ŷ = σ(z) = {fmt(s, 6)}   E = {fmt(E.data, 6)}")
    print()
    print("1. The derivative, automatically and by hand:")
    print(f"   autograd  {'dE/dw':<14} = {w.grad!r}")
    print(f"   by hand   {'(ŷ−y)·σ(1−σ)·x':<14} = {by_hand!r}")
    print()
    print("2. Where the hand formula comes from: the chain rule, path by path")
    from microgradx.explain import explain

    print(textwrap.indent(str(explain(E, w)), "   "))
    print()
    print("3. Checked against central finite differences:")
    from microgradx.check import compare

    fixed = {"x": 1.0, "y": 1.0}
    report = compare(lambda w: expression.evaluate({**fixed, "w": w}), {"w": _NEURON_HAND}, {"w": 0.3})
    print(textwrap.indent(str(report), "   "))
    print()
    # lr = 1: |dE/dw| is only ~0.1 here (σ(1−σ) ≤ ¼), so each step moves w by ~0.1, visibly but gently
    print("4. A few steps of gradient descent, w ← w − lr·dE/dw with lr = 1 (|dE/dw| ≈ 0.1: steps of ≈ 0.1):")
    optimizer = mg.optim.SGD([w], lr=1.0)
    for step in range(6):
        E = expression.evaluate(leaves)
        optimizer.zero_grad()
        E.backward()
        print(f"   step {step}:  w = {fmt(w.data, 6):<10} E = {fmt(E.data, 6):<10} dE/dw = {fmt(w.grad, 6)}")
        optimizer.step()
    print()
    fresh = leaves_of(point)
    E = expression.evaluate(fresh)
    E.backward()
    written, note = write_graph(E, graph, None)
    print(f"5. The graph (with every node's grad) is in {written}")
    if note:
        print(note, file=sys.stderr)
    mg.to_html(E, page, highlight=fresh["w"], lr=1.0, title="The sigmoid neuron  E = ½(σ(w·x) − y)²")
    print(f"   Step through its forward and backward pass in a browser: {page}")
    print()
    print('Try your own: microgradx grad "z = w*x; ŷ = sigmoid(z); E = 0.5*(ŷ - y)**2" --wrt w \\')
    print('                  --at w=0.3 x=1 y=1 --explain --hand w="(ŷ - y)*ŷ*(1 - ŷ)*x"')
    return 0


def _demo_folder(out: str | None) -> pathlib.Path:
    if out is not None:
        folder = pathlib.Path(out)
        if not folder.is_dir():
            raise UsageError(f"--out {out}: no such folder")
        if not os.access(folder, os.W_OK):
            raise UsageError(f"--out {out}: the folder is not writable")
        return folder
    here = pathlib.Path.cwd()
    if os.access(here, os.W_OK):
        return here
    return pathlib.Path(tempfile.mkdtemp(prefix="microgradx-demo-"))
