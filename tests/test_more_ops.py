"""The functions of SPEC §8 (tan … exp2, atan2, hypot), sign, degrees, radians and ``%``, end to end.

Truths that do not use the engine: SymPy at 30 digits (values, first and second derivatives),
PyTorch float64 where installed (values, gradients, second derivatives by ``create_graph``),
``math`` for the domain errors, and closed forms at the special points (near ±1, near 0, past
the largest float). Then every consumer of the rule table on each op: explain, the pictures, the
stepper's page, SymPy, trace and trace_batch, the command line.
"""

from __future__ import annotations

import json
import math
import pathlib
import re
import subprocess
import sys

import pytest
import sympy

import microgradx as mg
from microgradx import Value
from microgradx.html import page_data

X = sympy.Symbol("x", real=True)
Y = sympy.Symbol("y", real=True)

# op: (points in its domain, the op in SymPy)
ONE = {
    "tan": ([-1.2, 0.3, 1.0], sympy.tan(X)),
    "sinh": ([-3.0, 0.5, 2.0], sympy.sinh(X)),
    "cosh": ([-3.0, 0.5, 2.0], sympy.cosh(X)),
    "asin": ([-0.9, 0.2, 0.99], sympy.asin(X)),
    "acos": ([-0.9, 0.2, 0.99], sympy.acos(X)),
    "atan": ([-4.0, 0.5, 30.0], sympy.atan(X)),
    "asinh": ([-5.0, 0.3, 100.0], sympy.asinh(X)),
    "acosh": ([1.001, 2.5, 40.0], sympy.acosh(X)),
    "atanh": ([-0.95, 0.1, 0.7], sympy.atanh(X)),
    "log1p": ([-0.9, 1e-10, 3.0], sympy.log(1 + X)),
    "expm1": ([-3.0, 1e-10, 2.0], sympy.exp(X) - 1),
    "log2": ([0.3, 8.0, 1e6], sympy.log(X, 2)),
    "log10": ([0.05, 1000.0], sympy.log(X, 10)),
    "exp2": ([-4.0, 0.5, 10.0], 2**X),
    "sign": ([-2.0, 3.0], sympy.sign(X)),
    "degrees": ([-1.0, 2.0], X * 180 / sympy.pi),
    "radians": ([-90.0, 45.0], X * sympy.pi / 180),
}
TWO = {  # (y, x) points; atan2's quadrants, hypot's signs, % with both signs of each operand
    "atan2": ([(1.5, 2.0), (0.5, -3.0), (-2.0, -0.25), (-1.0, 4.0)], sympy.atan2(X, Y)),
    "hypot": ([(3.0, 4.0), (-1.5, 2.0), (0.5, -0.25), (1e200, 1e200)], sympy.sqrt(X**2 + Y**2)),
}
CASES_ONE = [(op, x0) for op, (points, _) in ONE.items() for x0 in points]


def sympy_at(expr, x0: float, y0: float | None = None) -> float:
    at = {X: sympy.Float(x0, 40)} | ({} if y0 is None else {Y: sympy.Float(y0, 40)})
    return float(expr.evalf(30, subs=at))


def close(got: float, want: float, rel: float) -> bool:
    return got == want or math.isclose(got, want, rel_tol=rel, abs_tol=1e-300)


@pytest.mark.parametrize("op, x0", CASES_ONE)
def test_value_first_and_second_derivative_match_sympy_at_30_digits(op, x0):
    expr = ONE[op][1]
    x = Value(x0, "x")
    out = getattr(x, op)()
    (first,) = mg.grad(out, [x], create_graph=True)
    (second,) = mg.grad(first, [x])
    assert close(out.data, sympy_at(expr, x0), 4e-16), (out.data, sympy_at(expr, x0))
    assert close(first.data, sympy_at(sympy.diff(expr, X), x0), 1e-14)
    want = sympy_at(sympy.diff(expr, X, 2), x0)
    assert close(second, want, 1e-12) or abs(second - want) < 1e-14, (second, want)


@pytest.mark.parametrize("op", ONE)
def test_value_gradient_and_second_derivative_match_pytorch(op):
    torch = pytest.importorskip("torch")
    torch_fn = {"degrees": torch.rad2deg, "radians": torch.deg2rad}.get(op) or getattr(torch, op)
    for x0 in ONE[op][0]:
        t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        t_out = torch_fn(t)
        (t_first,) = torch.autograd.grad(t_out, t, create_graph=True)
        t_second = torch.autograd.grad(t_first, t)[0].item() if t_first.requires_grad else 0.0
        x = Value(x0)
        out = mg.functions.__dict__[op](x)
        (first,) = mg.grad(out, [x], create_graph=True)
        (second,) = mg.grad(first, [x])
        assert close(out.data, t_out.item(), 4e-16), (op, x0)
        assert close(first.data, t_first.item(), 1e-13), (op, x0, first.data, t_first.item())
        assert close(second, t_second, 1e-11), (op, x0, second, t_second)


@pytest.mark.parametrize("op", TWO)
def test_two_operand_functions_match_sympy_and_pytorch_with_second_derivatives(op):
    points, expr = TWO[op]
    torch = pytest.importorskip("torch")
    for a0, b0 in points:
        a, b = Value(a0, "a"), Value(b0, "b")
        out = getattr(mg, op)(a, b)
        assert out.op == op and out.parents == (a, b)
        da, db = mg.grad(out, [a, b], create_graph=True)
        assert close(out.data, sympy_at(expr, a0, b0), 4e-16)
        assert close(da.data, sympy_at(sympy.diff(expr, X), a0, b0), 1e-14)
        assert close(db.data, sympy_at(sympy.diff(expr, Y), a0, b0), 1e-14)
        hessian = [mg.grad(d, [a, b]) for d in (da, db)]
        ta = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
        t_out = getattr(torch, op)(ta, tb)
        t_da, t_db = torch.autograd.grad(t_out, [ta, tb], create_graph=True)
        assert [da.data, db.data] == pytest.approx([t_da.item(), t_db.item()], rel=1e-13)
        for row, t_d in zip(hessian, (t_da, t_db), strict=True):
            want = [g.item() for g in torch.autograd.grad(t_d, [ta, tb], retain_graph=True)]
            assert row == pytest.approx(want, rel=1e-11, abs=1e-300), (op, a0, b0)
            for i, var in enumerate((X, Y)):
                d = sympy.diff(expr, X if t_d is t_da else Y, var)
                assert close(row[i], sympy_at(d, a0, b0), 1e-11)


MOD_GRID = [-7.5, -2.0, -0.5, 0.0, 0.5, 3.0, 7.25]


def test_floor_modulo_matches_python_and_torch_remainder_on_a_grid():
    torch = pytest.importorskip("torch")
    for a0 in MOD_GRID:
        for b0 in [b for b in MOD_GRID if b != 0.0]:
            a, b = Value(a0), Value(b0)
            out = a % b
            out.backward()
            ta = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
            tb = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
            t_out = torch.remainder(ta, tb)
            t_out.backward()
            assert out.data == a0 % b0 == t_out.item()
            assert (a.grad, b.grad) == (1.0, -math.floor(a0 / b0)), (a0, b0)
            assert (a.grad, b.grad) == (ta.grad.item(), tb.grad.item()), (a0, b0)
    assert (5 % Value(3.0)).data == 2.0 and (Value(-5.0) % 3).data == 1.0  # reflected, and the sign of b
    (first,) = mg.grad(Value(7.0) % Value(2.0), [Value(7.0)], create_graph=True)
    assert first.data == 0.0  # (not an operand of that graph: 0)


def test_modulo_by_zero_is_an_error_naming_the_op():
    with pytest.raises(ZeroDivisionError, match=r"'%': modulo by zero in 5.0 % 0.0"):
        Value(5.0) % 0.0


DOMAIN_ERRORS = [
    ("asin", 2.0, r"asin\(2.0\)"),
    ("asin", -1.5, r"asin\(-1.5\)"),
    ("acos", 1.0000001, r"acos\(1.0000001\)"),
    ("acosh", 0.5, r"acosh\(0.5\)"),
    ("atanh", 1.0, r"atanh\(1.0\)"),
    ("atanh", -1.0, r"atanh\(-1.0\)"),
    ("log1p", -1.0, r"log1p\(-1.0\)"),
    ("log1p", -2.0, r"log1p\(-2.0\)"),
    ("log2", 0.0, r"log2\(0.0\)"),
    ("log10", -3.0, r"log10\(-3.0\)"),
    ("tan", math.inf, r"tan\(inf\)"),
]


@pytest.mark.parametrize("op, x0, named", DOMAIN_ERRORS)
def test_outside_its_domain_each_function_raises_maths_value_error_naming_op_and_value(op, x0, named):
    with pytest.raises(ValueError):
        getattr(math, op)(x0)  # math says so too
    with pytest.raises(ValueError, match=f"^{op}: math domain error, {named} is undefined"):
        getattr(mg, op)(x0)
    with pytest.raises(ValueError, match=named):
        getattr(Value(x0), op)()


SPECIAL = [
    # op, x, f(x), f'(x): near 0 (log1p, expm1 exact), near ±1 (asin, acos, acosh), overflow (IEEE, as torch)
    pytest.param("log1p", 1e-300, 1e-300, 1.0, id="log1p(1e-300) = 1e-300 exactly"),
    pytest.param("expm1", 1e-300, 1e-300, 1.0, id="expm1(1e-300) = 1e-300 exactly"),
    pytest.param("expm1", -800.0, -1.0, 0.0, id="expm1(-800) = -1, slope 0"),
    pytest.param("asin", 1.0, math.pi / 2, math.inf, id="asin'(1) = inf (as torch)"),
    pytest.param("asin", -1.0, -math.pi / 2, math.inf, id="asin'(-1) = inf"),
    pytest.param("acos", 1.0, 0.0, -math.inf, id="acos'(1) = -inf"),
    pytest.param("acosh", 1.0, 0.0, math.inf, id="acosh'(1) = inf"),
    pytest.param("sinh", 1000.0, math.inf, math.inf, id="sinh(1000) = inf"),
    pytest.param("sinh", -1000.0, -math.inf, math.inf, id="sinh(-1000) = -inf, slope inf"),
    pytest.param("cosh", -1000.0, math.inf, -math.inf, id="cosh(-1000) = inf, slope -inf"),
    pytest.param("expm1", 1000.0, math.inf, math.inf, id="expm1(1000) = inf"),
    pytest.param("exp2", 2000.0, math.inf, math.inf, id="exp2(2000) = inf"),
    pytest.param("atan", 1e300, math.pi / 2, 0.0, id="atan'(1e300) = 0 (1 + x² overflows to inf)"),
    pytest.param("asinh", -1e300, math.asinh(-1e300), 0.0, id="asinh'(-1e300) = 0"),
    pytest.param("sign", 0.0, 0.0, 0.0, id="sign(0) = 0"),
    pytest.param("sign", math.nan, 0.0, 0.0, id="sign(nan) = 0 (as torch)"),
]


@pytest.mark.parametrize("op, x0, value, slope", SPECIAL)
def test_special_points_match_the_closed_form(op, x0, value, slope):
    x = Value(x0)
    out = getattr(x, op)()
    out.backward()
    assert out.data == value and x.grad == slope, (out.data, x.grad)


@pytest.mark.parametrize("op, x0", [("asin", 1 - 2.0**-40), ("acos", -1 + 2.0**-45), ("acosh", 1 + 2.0**-40),
                                    ("atanh", 1 - 2.0**-45), ("log1p", -1 + 2.0**-40)])
def test_derivatives_stay_accurate_at_the_edge_of_the_domain(op, x0):
    # 1 − x² in floats loses every digit here; the rules write (1 − x)(1 + x), which does not
    x = Value(x0)
    getattr(x, op)().backward()
    want = sympy_at(sympy.diff(ONE[op][1], X), x0)
    assert math.isclose(x.grad, want, rel_tol=1e-14), (x.grad, want)


def test_two_operand_functions_at_the_origin_follow_pytorch():
    y, x = Value(0.0), Value(0.0)
    mg.atan2(y, x).backward()
    assert (y.grad, x.grad) == (0.0, 0.0)  # torch: 0 and -0
    a, b = Value(0.0), Value(0.0)
    out = mg.hypot(a, b)
    out.backward()
    assert out.data == 0.0 and math.isnan(a.grad) and math.isnan(b.grad)  # torch: nan, nan
    assert mg.hypot(1.5e308, 1.5e308).data == math.inf  # past the largest float, as torch


def test_the_functions_take_numbers_and_say_how_many_operands_they_need():
    assert mg.tan(0.5).data == math.tan(0.5) and mg.log10(1000).data == 3.0
    assert mg.atan2(1, -1).data == math.atan2(1, -1) and mg.hypot(3, 4).data == 5.0
    with pytest.raises(TypeError, match=r"atan2\(\) takes 2 arguments, got 1"):
        mg.atan2(1.0)
    with pytest.raises(TypeError, match="NoneType"):
        mg.asin(None)
    for op in ONE:
        assert getattr(Value, op).__doc__ and op in mg.__all__ and getattr(mg, op).__name__ == op


# --- every consumer of the rule table, on each new op ---------------------------------------------------


def graph(op: str):
    """``op(w)·3`` (or ``op(w, v)·3``) at a point of the op's domain, and its leaves."""
    if op in TWO:
        w0, v0 = TWO[op][0][0]
        w, v = Value(w0, "w"), Value(v0, "v")
        return getattr(mg, op)(w, v) * 3.0, [w, v]
    if op == "%":
        w, v = Value(7.5, "w"), Value(2.0, "v")
        return (w % v) * 3.0, [w, v]
    w = Value(ONE[op][0][-1], "w")
    return getattr(w, op)() * 3.0, [w]


ALL = [*ONE, *TWO, "%"]


@pytest.mark.parametrize("op", ALL)
def test_explain_draw_the_stepper_and_sympy_know_the_op(op):
    out, leaves = graph(op)
    rule = mg.engine.RULES[op]
    node = out.parents[0]
    out.backward()
    explanation = mg.explain(out, leaves[0])
    edge = explanation.paths[0].edges[-1]
    assert edge.formula == rule.formulas[0].format(a=leaves[0].label, b=leaves[-1].label, out="out")
    assert explanation.total == pytest.approx(leaves[0].grad, rel=1e-12)
    assert rule.glyph in mg.to_text(out) and rule.glyph in mg.to_dot(out)
    data = page_data(out)  # the stepper's page: its final grads are backward's
    shown = {info["name"]: info["grad"] for info in data["nodes"]}
    assert all(shown[leaf.label] == pytest.approx(leaf.grad, rel=1e-12) for leaf in leaves)
    assert rule.glyph in str(mg.stepper(out))
    symbols = [sympy.Symbol(leaf.label) for leaf in leaves]
    got = mg.to_sympy(out)
    want = 3 * (TWO.get(op) or ONE.get(op) or (None, X - Y * sympy.floor(X / Y)))[1].subs(
        dict(zip((X, Y), symbols, strict=False)), simultaneous=True
    )
    at = {s: sympy.Float(leaf.data, 30) for s, leaf in zip(symbols, leaves, strict=True)}
    assert float(got.subs(at)) == pytest.approx(float(want.subs(at)), rel=1e-14)
    assert mg.formatting.node_names(out)[node].startswith((op, "w mod"))


@pytest.mark.parametrize("op", ALL)
def test_trace_and_trace_batch_replay_the_op_as_backward_computes_it(op):
    np = pytest.importorskip("numpy")
    _, leaves = graph(op)
    n = len(leaves)
    build = lambda *xs: graph_at(op, xs)  # noqa: E731
    step = mg.trace(build, *[leaf.data for leaf in leaves])
    batch = mg.trace_batch(build, *[leaf.data for leaf in leaves])
    samples = [[leaf.data * s for leaf in leaves] for s in (1.0, 0.9, 0.97)]
    replayed = batch(*[np.array([p[i] for p in samples]) for i in range(n)])
    for k, point in enumerate(samples):
        xs = [Value(v) for v in point]
        plain = graph_at(op, xs)
        plain.backward()
        one = step(*point)
        assert one.value == plain.data and list(one.grads) == [x.grad for x in xs]
        assert replayed.values[k] == plain.data and [g[k] for g in replayed.grads] == [x.grad for x in xs]


def graph_at(op: str, xs) -> Value:
    if op == "%":
        return (xs[0] % xs[1]) * 3.0
    return (getattr(mg, op)(*xs) if op in TWO else getattr(xs[0], op)()) * 3.0


def test_the_command_line_computes_two_argument_functions_and_modulo():
    done = subprocess.run(
        [sys.executable, "-m", "microgradx", "grad", "atan2(y, x) + hypot(x, y) + x % 2 + asinh(y)",
         "--wrt", "x", "y", "--at", "x=3", "y=4", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    grads = json.loads(done.stdout)["grads"]
    # ∂/∂x = −y/25 + x/5 + 1, ∂/∂y = x/25 + y/5 + 1/√17
    assert grads["x"] == pytest.approx(-4 / 25 + 3 / 5 + 1, rel=1e-14)
    assert grads["y"] == pytest.approx(3 / 25 + 4 / 5 + 1 / math.sqrt(17), rel=1e-14)


def test_the_docs_op_table_lists_every_built_in_op_with_its_formulas():
    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text("utf-8")
    rows = {}
    for line in page.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]  # (\| is a | inside a cell)
        if line.startswith("| `") and len(cells) == 6:
            rows[cells[0].strip("`")] = cells
    assert set(rows) == set(mg.rules.BUILT_IN)
    for op, rule in mg.engine.RULES.items():
        formulas = [f.format(a="a", b="b", out="out") for f in rule.formulas]
        assert rows[op][3:3 + len(formulas)] == formulas, op
        assert rows[op][1].replace("\\|", "|") == rule.text.format(a="a", b="b"), op


@pytest.mark.parametrize("op", ALL)
def test_latex_writes_each_formula_as_math(op):
    out, _ = graph(op)
    node = out.parents[0]
    names = mg.formatting.latex_names(out)
    for i in range(len(node.parents)):
        tex = mg.formatting.latex_formula(node, i, names)
        depth = 0
        for ch in tex:  # braces balance, and no template is left unfilled
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, tex
        assert depth == 0 and "{a}" not in tex and "\\sqrt(" not in tex and "π" not in tex, tex
    if op == "asin":
        assert mg.formatting.latex_formula(node, 0, names) == "1/\\sqrt{1 - w^{2}}"
