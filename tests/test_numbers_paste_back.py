"""Every number microgradx prints can be copied back into Python (issue 25): ASCII minus for numbers,
the typographic minus only inside formulas (``1−tanh²(z)``, ``ŷ − y``)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import microgradx as mg

# A number as microgradx writes one, with either minus sign in front (the typographic one must not be).
NUMBER = re.compile(r"(?<![\w.·^])([−-]?(?:\d+\.?\d*|\.\d+)(?:e[−+-]?\d+)?|[−-]?inf)(?![\w.(])")


def _numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


def _assert_pastes_back(text: str) -> None:
    assert not re.search(r"−(?=\d|\.\d|inf\b)", text), [line for line in text.splitlines() if "−" in line]
    found = _numbers(text)
    assert found  # the output does show numbers
    for number in found:
        float(number)  # pastes back


@pytest.mark.parametrize(
    "args",
    [
        ["grad", "z = w*x; ŷ = sigmoid(z); E = 0.5*(ŷ - y)**2", "--wrt", "w", "--at", "w=-0.3", "x=-1.5",
         "y=1", "--explain", "--check", "--hand", "w=(ŷ - y)*ŷ*(1 - ŷ)"],
        ["descend", "(w1*x + w2*x**2 - y)**2", "--wrt", "w1", "w2", "--at", "w1=-0.1", "w2=-0.3", "x=1.5",
         "y=-2", "--lr", "0.01", "--steps", "3"],
        ["demo"],
    ],
    ids=["grad", "descend", "demo"],
)
def test_every_number_the_cli_prints_parses_with_float(args, tmp_path):
    run = subprocess.run([sys.executable, "-m", "microgradx", *args], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, encoding="utf-8")
    assert run.returncode == 0, run.stderr
    _assert_pastes_back(run.stdout)


def test_every_number_in_reports_parses_with_float():
    def neuron(w, x, y):
        z = w * x
        z.label = "z"
        yhat = z.tanh()
        yhat.label = "ŷ"
        return 0.5 * (yhat - y) ** 2

    at = {"w": -0.3, "x": -1.5, "y": 1.0}
    report = mg.compare(neuron, {"w": "(ŷ - y)*(1 - ŷ**2)"}, at)
    _assert_pastes_back(str(report))
    w, x, y = (mg.Value(at[k], k) for k in ("w", "x", "y"))
    E = neuron(w, x, y)
    _assert_pastes_back(str(mg.explain(E, w)))
    _assert_pastes_back(mg.explain(E, w).to_markdown())
    assert "1−tanh²" in str(mg.explain(E, w))  # a formula keeps the minus of the math
    E.backward()
    _assert_pastes_back(mg.to_text(E))
