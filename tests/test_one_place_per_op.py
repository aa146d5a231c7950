"""Adding an op is one declaration: a new rule in `rules.py`, and nothing else, reaches every consumer.

A copy of the package gets one extra entry in `RULES`, a throwaway ``square`` (a²), and a fresh
interpreter then uses it everywhere an op is used: as a method, in ``grad`` (higher derivatives
too), in the expression language and the command line, in text, LaTeX, SymPy, pictures, pages,
`explain` and `trace`. The derivative is checked against the closed form 2a and a central
difference, not against the engine. If some module kept a table of its own, this test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "microgradx"

# The whole declaration of the new op, as a learner would add it to the table.
SQUARE = '''    # ∂(a²)/∂a = 2·a
    _call(op="square", forward=lambda a: a * a, local=lambda a, out: (2.0 * a,), formula="2·{a}",
          sympy=lambda sp, a: a**2, doc="The square a²."),
)}'''

CHECKS = r'''
import math, sys
import microgradx as mg
from microgradx.expr import parse
from microgradx.formatting import node_names, latex_names

x = mg.Value(3.0, "x")
y = x.square()
assert (y.data, y.op, y.parents) == (9.0, "square", (x,)), y
assert mg.Value.square.__doc__ == "The square a²."
y.backward()
h = 1e-6
central = ((3.0 + h) ** 2 - (3.0 - h) ** 2) / (2 * h)
assert x.grad == 2 * 3.0 and abs(x.grad - central) < 1e-6, x.grad

(first,) = mg.grad(x.square().sin(), [x], create_graph=True)  # cos(x²)·2x
(second,) = mg.grad(first, [x])  # 2cos(x²) − 4x²sin(x²)
assert abs(first.data - math.cos(9.0) * 6.0) < 1e-12
assert abs(second - (2 * math.cos(9.0) - 36.0 * math.sin(9.0))) < 1e-9, second

z = parse("square(x) + 1").evaluate({"x": 3.0})
assert z.data == 10.0 and z.parents[0].op == "square"

w = mg.Value(3.0, "w")
e = w.square() * 2.0
assert node_names(e)[e.parents[0]] == "square(w)", node_names(e)
assert "operatorname{square}" in latex_names(e)[e.parents[0]]
assert "2·w" in str(mg.explain(e, w)), str(mg.explain(e, w))
assert "square" in mg.to_text(e) and "square" in mg.to_dot(e)
assert "square" in mg.to_html(e)

import numpy, sympy
assert sympy.simplify(mg.to_sympy(e) - 2 * sympy.Symbol("w") ** 2) == 0

step = mg.trace(lambda v: v.square(), 2.0)
assert step(5.0).value == 25.0 and step(5.0).grads == (10.0,), step(5.0)
batch = mg.trace_batch(lambda v: v.square(), 2.0)(numpy.array([1.0, -3.0]))  # the rule on arrays
assert batch.values.tolist() == [1.0, 9.0] and batch.grads[0].tolist() == [2.0, -6.0], batch
print("square: ok")
'''


@pytest.fixture(scope="module")
def package_with_square(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("one-place")
    shutil.copytree(PACKAGE, root / "microgradx", ignore=shutil.ignore_patterns("__pycache__"))
    rules = root / "microgradx" / "rules.py"
    text = rules.read_text("utf-8")
    assert text.count("\n)}") == 1, "the rule table no longer ends with ')}'"
    rules.write_text(text.replace("\n)}", "\n" + SQUARE, 1), "utf-8")
    return root


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_new_rule_alone_reaches_every_consumer(package_with_square: Path) -> None:
    pytest.importorskip("sympy")
    done = run(package_with_square, "-c", CHECKS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "square: ok"


def test_a_new_rule_alone_reaches_the_command_line(package_with_square: Path) -> None:
    done = run(package_with_square, "-m", "microgradx", "grad", "square(x)*y", "--wrt", "x",
               "--at", "x=3", "y=0.5", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["grads"] == {"x": 3.0}  # 2·x·y
    for hand, ok, factor in (("2*x*y", True, None), ("x*y", False, "2")):  # right, and the 2 forgotten
        done = run(package_with_square, "-m", "microgradx", "grad", "square(x)*y", "--wrt", "x",
                   "--at", "x=3", "y=0.5", "--hand", f"x={hand}", "--json")
        assert done.returncode == 0, done.stderr
        (row,) = json.loads(done.stdout)["hand"]["rows"]
        assert row["ok"] is ok and (row["diagnosis"] or {}).get("factor") == factor, row
    shown = run(package_with_square, "-m", "microgradx", "grad", "--help")
    assert "radians square (one argument each)" in " ".join(shown.stdout.split()), shown.stdout
