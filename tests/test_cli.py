"""The `microgradx` command through real subprocesses: outputs, the JSON shape, errors and safety.

Numbers are checked against hand derivations and central finite differences of plain-`math`
functions; every user error must exit 2 with exactly one stderr line, no traceback and no file.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import pathlib
import shlex
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microgradx.cli import CONVERGED_GRAD, CONVERGED_LOSS_CHANGE, DIVERGED_FACTOR

NEURON = "z = w*x; yhat = sigmoid(z); E = 0.5*(yhat - y)**2"
HAND = "w=(yhat - y)*yhat*(1 - yhat)*x"


def run(*args: str, cwd: pathlib.Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microgradx", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=120,
    )


def number(text: str) -> float:
    """Read a number as `fmt` writes it (with a Unicode minus)."""
    return float(text.replace("−", "-"))


def sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


def neuron_by_hand(w: float, x: float, y: float) -> tuple[float, float]:
    s = sigmoid(w * x)
    return 0.5 * (s - y) ** 2, (s - y) * s * (1 - s) * x


def assert_user_error(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def row_ok(report: str, name: str) -> bool:
    """True when a check report's row for `name` ends with its verdict 'ok'."""
    return any(line.split()[:1] == [name] and line.rstrip().endswith(" ok") for line in report.splitlines())


# --- grad ------------------------------------------------------------------------------------------


def test_grad_prints_the_value_and_each_derivative():
    result = run("grad", NEURON, "--wrt", "w", "--at", "w=0.3", "x=1.5", "--at", "y=1")
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()[:2]
    value, dw = neuron_by_hand(0.3, 1.5, 1.0)
    assert first.startswith("E = ") and "at w = 0.3, x = 1.5, y = 1" in first
    assert number(first.split()[2]) == pytest.approx(value, rel=1e-9)
    assert second.startswith("dE/dw = ")
    assert number(second.split()[2]) == pytest.approx(dw, rel=1e-9)


def test_grad_of_several_inputs_matches_finite_differences():
    def f(x: float, y: float) -> float:
        return math.log(x) * math.sin(y) + x / y

    result = run("grad", "log(x)*sin(y) + x/y", "--wrt", "x", "y", "--at", "x=2", "y=0.5", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    h = 1e-6
    assert data["grads"]["x"] == pytest.approx((f(2 + h, 0.5) - f(2 - h, 0.5)) / (2 * h), rel=1e-6)
    assert data["grads"]["y"] == pytest.approx((f(2, 0.5 + h) - f(2, 0.5 - h)) / (2 * h), rel=1e-6)
    assert data["value"] == pytest.approx(f(2, 0.5), rel=1e-12)


def test_grad_json_has_exactly_the_documented_keys():
    result = run("grad", "w*x + b", "--wrt", "w", "b", "--at", "w=0.5", "x=2", "b=1", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1  # one JSON object on one line
    data = json.loads(result.stdout)
    assert data == {"expression": "w*x + b", "value": 2.0, "grads": {"w": 2.0, "b": 1.0}}
    assert list(data["grads"]) == ["w", "b"]  # in --wrt order


def test_grad_json_with_explain_check_and_hand():
    result = run(
        "grad", NEURON, "--wrt", "w", "x", "--at", "w=0.3", "x=1", "y=1",
        "--explain", "--check", "--hand", HAND, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"expression", "value", "grads", "explain", "check", "hand"}
    value, dw = neuron_by_hand(0.3, 1.0, 1.0)
    assert data["value"] == pytest.approx(value, rel=1e-12)
    assert data["grads"]["w"] == pytest.approx(dw, rel=1e-12)
    # explain: one path per input, with the sigmoid's local derivative, summing to the gradient
    assert set(data["explain"]) == {"w", "x"}
    w_paths = data["explain"]["w"]
    assert w_paths["total"] == pytest.approx(dw, rel=1e-12)
    assert w_paths["path_count"] == 1 and not w_paths["truncated"]
    formulas = [edge["formula"] for edge in w_paths["paths"][0]["edges"]]
    assert "σ(z)·(1−σ(z))" in formulas
    # check: autograd vs finite differences for every --wrt; hand: the w row has the hand column
    assert data["check"]["ok"] is True
    assert [row["name"] for row in data["check"]["rows"]] == ["w", "x"]
    assert all(row["hand"] is None for row in data["check"]["rows"])
    hand_rows = {row["name"]: row for row in data["hand"]["rows"]}
    assert hand_rows["w"]["hand"] == pytest.approx(dw, rel=1e-12)
    assert hand_rows["x"]["hand"] is None
    assert data["hand"]["ok"] is True


def test_grad_explain_and_hand_as_text():
    result = run("grad", NEURON, "--wrt", "w", "--at", "w=0.3", "x=1", "y=1", "--explain", "--hand", HAND)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "dE/dw by the chain rule: 1 path from w to E" in out
    assert "∂yhat/∂z" in out and "σ(z)·(1−σ(z))" in out
    assert row_ok(out, "w") and "hand" in out


def test_a_check_where_the_function_is_undefined_nearby_is_reported_not_an_error():
    result = run("grad", "sqrt(w)", "--wrt", "w", "--at", "w=0", "--check")
    assert result.returncode == 0, result.stderr
    assert "NOT OK" in result.stdout and "undefined" in result.stdout


def test_a_wrong_hand_formula_is_reported_not_an_error():
    result = run("grad", NEURON, "--wrt", "w", "--at", "w=0.3", "x=1", "y=1", "--hand", "w=(yhat - y)*x")
    assert result.returncode == 0, result.stderr
    assert "NOT OK" in result.stdout and "hand differs from autograd" in result.stdout


def test_draw_writes_the_requested_file_or_a_dot_file_with_advice(tmp_path):
    svg = tmp_path / "graph.svg"
    result = run("grad", NEURON, "--wrt", "w", "--at", "w=0.3", "x=1", "y=1", "--draw", str(svg))
    assert result.returncode == 0, result.stderr
    written = svg if svg.exists() else svg.with_suffix(".dot")
    assert written.exists()
    assert f"graph written to {written}" in result.stdout
    if written == svg:
        assert b"<svg" in svg.read_bytes()[:2000]
    assert [p.name for p in tmp_path.iterdir()] == [written.name]  # no temporary files left


def test_draw_without_any_renderer_writes_dot_and_says_how_to_install(tmp_path):
    # PDF needs Graphviz's dot; with an empty PATH there is none (graphviz-pure cannot write PDF).
    env = {**os.environ, "PATH": str(tmp_path / "empty")}
    pdf = tmp_path / "graph.pdf"
    result = run("grad", "w*x", "--wrt", "w", "--at", "w=2", "x=3", "--draw", str(pdf), env=env)
    assert result.returncode == 0, result.stderr
    assert not pdf.exists()
    dot = tmp_path / "graph.dot"
    assert dot.read_text(encoding="utf-8").lstrip().startswith("digraph")
    assert "install" in result.stderr and str(dot) in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_draw_dot_needs_no_renderer(tmp_path):
    dot = tmp_path / "g.dot"
    result = run("grad", "w*x", "--wrt", "w", "--at", "w=2", "x=3", "--draw", str(dot), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["grads"] == {"w": 3.0}
    assert "digraph" in dot.read_text(encoding="utf-8")


# --- errors ----------------------------------------------------------------------------------------

ERRORS = [
    (["grad", "w*x", "--wrt", "w", "--at", "w=1"], ["no value for x", "--at"]),
    (["grad", "a*b*c", "--wrt", "a"], ["no value for a, b, c"]),
    (["grad", "w*x", "--wrt", "w", "--at", "w=1", "x"], ["--at 'x'", "NAME=NUMBER"]),
    (["grad", "--at", "w=1", "w", "--wrt", "w"], ["put EXPR right after the command"]),
    (["grad", "w", "--wrt", "w", "--at", "w=abc"], ["--at 'w=abc'"]),
    (["grad", "w", "--wrt", "w", "--at", "w=inf"], ["finite"]),
    (["grad", "w", "--wrt", "w", "--at", "w=1", "w=2"], ["given twice"]),
    (["grad", "w", "--wrt", "w", "--at", "1w=1"], ["not a valid name"]),
    (["grad", "log(w)", "--wrt", "w", "--at", "w=-1"], ["log", "-1.0"]),
    (["grad", "w / (x - 1)", "--wrt", "w", "--at", "w=1", "x=1"], ["division by zero"]),
    (["grad", "foo(w)", "--wrt", "w", "--at", "w=1"], ["unknown function 'foo'", "allowed: abs"]),
    (["grad", "w*w +", "--wrt", "w", "--at", "w=1"], ["column 6", "invalid syntax"]),
    (["grad", "z = 2*w; z", "--wrt", "w", "--at", "w=1", "z=2"], ["z", "keep one"]),
    (["grad", "z = 2*w; z", "--wrt", "z", "--at", "w=1"], ["--wrt z", "assigned"]),
    (["grad", "w", "--wrt", "q", "--at", "w=1"], ["--wrt q: the expression has no q", "its inputs are w"]),
    (["grad", "x**2", "--wrt", "X", "--at", "x=1", "X=2"], ["--wrt X: the expression has no X", "are x"]),
    (["grad", "2", "--wrt", "x", "--at", "x=1"], ["the expression has no x", "it has no inputs"]),
    (["grad", "2x", "--wrt", "x", "--at", "x=1"], ["column 1", "a product needs '*': write 2*x"]),
    (["grad", "w x", "--wrt", "x", "--at", "x=1", "w=2"], ["a product needs '*': write w*x"]),
    (["grad", "tanh x", "--wrt", "x", "--at", "x=1"], ["brackets: write tanh(x)"]),
    (["grad", "w", "--wrt", "w", "--at", "w=1", "--hand", "q=1"], ["--hand q", "not among the --wrt"]),
    (["grad", "w", "--wrt", "w", "--at", "w=1", "--hand", "w=v"], ["--hand w", "no value for v"]),
    (["grad", "w", "--wrt", "w", "--at", "w=1", "--hand", "w=x.y"], ["--hand w", "attribute access"]),
    (
        ["grad", "w*x", "--wrt", "w", "--at", "w=1", "x=2", "--hand", "w=9**9**9"],
        ["--hand w: the formula overflows"],
    ),
    (
        ["grad", "w*x", "--wrt", "w", "--at", "w=1", "x=2", "--hand", "w=exp(1000*x)"],
        ["--hand w: the formula overflows"],
    ),
    (["grad", "w", "--wrt", "w", "--at", "w=1", "--draw", "g.txt"], [".svg"]),
    (["grad", "w", "--wrt", "w", "--at", "w=1", "--draw", "nowhere/g.svg"], ["does not exist"]),
    (["grad", "w", "--at", "w=1"], ["--wrt", "required"]),
    (["grad", "w", "--wrt", "w", "--at", "w=1", "--bogus"], ["unrecognized arguments: --bogus"]),
    (["frobnicate"], ["invalid choice"]),
    ([], ["required"]),
    (["descend", "w**2", "--wrt", "w", "--at", "w=1"], ["--lr"]),
    (["descend", "w**2", "--wrt", "w", "--at", "w=1", "--lr", "-1"], ["lr", ">= 0"]),
    (["descend", "w**2", "--wrt", "w", "--at", "w=1", "--lr", "0.1", "--momentum", "1.5"], ["momentum"]),
    (["descend", "w**2", "--wrt", "w", "--at", "w=1", "--lr", "x"], ["--lr", "not a number"]),
    (["descend", "w**2", "--wrt", "w", "--at", "w=1", "--lr", "0.1", "--steps", "-3"], ["--steps"]),
    (["descend", "log(w)", "--wrt", "w", "--at", "w=0", "--lr", "0.1"], ["log"]),
    (["descend", "w", "--wrt", "w", "--at", "w=1", "--lr", "0.1", "--plot", "p.txt"], [".png"]),
    (["demo", "--out", "no/such/folder"], ["--out", "no such folder"]),
]


@pytest.mark.parametrize(("args", "words"), ERRORS, ids=[" ".join(a)[:50] for a, _ in ERRORS])
def test_user_errors_are_one_line_exit_2_and_write_nothing(args, words, tmp_path):
    result = run(*args, cwd=tmp_path)
    assert_user_error(result, *words)
    assert list(tmp_path.iterdir()) == []


# The security list: none of this may get past the parser, and nothing may be written.
ATTACKS = [
    ("x.__class__", "attribute access"),
    ("w.__class__.__bases__[0].__subclasses__()", "attribute access"),
    ("__import__('os').system('touch pwned')", "attribute access"),
    ("__import__('os')", "dunder"),
    ("x + __builtins__", "dunder"),
    ("open('pwned', 'w')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("'touch pwned'", "strings"),
    ("f'{x}'", "f-strings"),
    ("(lambda: 1)()", "lambda"),
    ("exp(x)(x)", "calling anything but a function name"),
    ("lambda: x", "lambda"),
    ("[x for x in (1, 2)]", "comprehensions"),
    ("exp(i for i in x)", "comprehensions"),
    ("import os", "import"),
    ("(x := 3)", "walrus"),
    ("x + 10**10**10", "overflows"),
    ("(" * 10_000 + "x" + ")" * 10_000, "limit"),
    ("(" * 1_000 + "x" + ")" * 1_000, "nested deeper"),
    ("x+" * 20_000 + "x", "limit"),
    (" " + "-" * 5_000 + "x", "nested too deeply"),
    ("9" * 5_000, "(5,000 digits) is too large for a float"),
    ("x\nimport os", "line breaks"),
]


@pytest.mark.parametrize(("expr", "words"), ATTACKS, ids=[a[:30] for a, _ in ATTACKS])
def test_security_list_exits_2_with_one_line_and_touches_no_file(expr, words, tmp_path):
    result = run("grad", expr, "--wrt", "x", "--at", "x=1", "--draw", "graph.svg", "--json", cwd=tmp_path)
    assert_user_error(result, words)
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40))
def test_random_text_through_the_command_exits_0_or_2_without_traceback(text, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    result = run("grad", f" {text}", "--wrt", "x", "--at", "x=0.5", "y=2", cwd=folder)
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    if result.returncode == 2:
        assert len(result.stderr.splitlines()) == 1
    assert list(folder.iterdir()) == []


# --- descend ---------------------------------------------------------------------------------------

GROKKING = ["descend", "(x*w - goal)**2", "--wrt", "w", "--at", "x=8", "w=0.5", "goal=0.8"]


def table(stdout: str) -> tuple[list[str], list[list[float]], str]:
    lines = stdout.strip().splitlines()
    header = lines[0].split()
    rows = [[number(cell) for cell in line.split()] for line in lines[1:] if line.split()[0].isdigit()]
    return header, rows, lines[-1]


def test_descend_converges_on_the_grokking_example_at_lr_0_001():
    result = run(*GROKKING, "--lr", "0.001")
    assert result.returncode == 0, result.stderr
    header, rows, verdict = table(result.stdout)
    assert header == ["step", "loss", "w", "dloss/dw"]
    assert verdict.startswith("converged at step ")
    # step 0 is the start; each row is before its step's update: w ← w − lr·2x(xw − goal)
    assert rows[0] == [0, pytest.approx(10.24), 0.5, pytest.approx(51.2)]
    for (step, loss, w, g), (next_step, _, next_w, _) in itertools.pairwise(rows):
        assert next_step == step + 1
        # the table prints 8 significant digits: allow for w's rounding near the minimum
        assert loss == pytest.approx((8 * w - 0.8) ** 2, rel=1e-6, abs=16 * abs(8 * w - 0.8) * 1e-8)
        assert g == pytest.approx(2 * 8 * (8 * w - 0.8), rel=1e-6, abs=1e-6)
        assert next_w == pytest.approx(w - 0.001 * g, rel=1e-6, abs=1e-8)
    last = rows[-1]
    assert last[2] == pytest.approx(0.1, abs=1e-3)  # the minimum: w = goal / x
    change = abs(rows[-1][1] - rows[-2][1])
    assert change <= CONVERGED_LOSS_CHANGE * 10.24 * 1.01 or abs(last[3]) <= CONVERGED_GRAD


def test_descend_diverges_on_the_grokking_example_at_lr_0_1():
    result = run(*GROKKING, "--lr", "0.1")
    assert result.returncode == 0, result.stderr
    _, rows, verdict = table(result.stdout)
    assert verdict.startswith("diverged")
    assert rows[-1][1] > DIVERGED_FACTOR * 10.24
    assert all(loss <= DIVERGED_FACTOR * 10.24 for loss in (r[1] for r in rows[:-1]))
    # |w − 0.1| grows by |1 − 0.1·2·64| = 11.8 per step
    assert abs(rows[1][2] - 0.1) == pytest.approx(11.8 * 0.4)


def test_descend_overflow_is_divergence_not_a_crash():
    result = run("descend", "w**4", "--wrt", "w", "--at", "w=1e50", "--lr", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("diverged: at step 1 the loss is inf")


def test_descend_leaving_the_domain_is_divergence():
    result = run("descend", "log(w)", "--wrt", "w", "--at", "w=1", "--lr", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("diverged: at step 1")


def test_descend_not_converged_within_the_steps_and_momentum():
    result = run(*GROKKING, "--lr", "0.0001", "--steps", "5", "--momentum", "0.5")
    assert result.returncode == 0, result.stderr
    _, rows, verdict = table(result.stdout)
    assert verdict.startswith("not converged after 5 steps")
    assert [r[0] for r in rows] == [0, 1, 2, 3, 4, 5]
    # heavy-ball momentum as in torch.optim.SGD: b = g, then b = 0.5·b + g; w ← w − lr·b
    buffer = None
    for (_, _, w, g), (_, _, next_w, _) in itertools.pairwise(rows):
        buffer = g if buffer is None else 0.5 * buffer + g
        assert next_w == pytest.approx(w - 0.0001 * buffer, rel=1e-6)


def test_descend_over_two_parameters_and_a_zero_start_loss():
    result = run(
        "descend", "(a - 1)**2 + (b + 2)**2 - 5", "--wrt", "a", "b", "--at", "a=0", "b=0", "--lr", "0.25"
    )
    assert result.returncode == 0, result.stderr
    header, rows, verdict = table(result.stdout)
    assert header == ["step", "loss", "a", "b", "dloss/da", "dloss/db"]
    assert rows[0][1] == 0.0  # start loss 0: divergence is measured against max(1, |start|)
    assert verdict.startswith("converged")
    assert rows[-1][2] == pytest.approx(1.0, abs=1e-4) and rows[-1][3] == pytest.approx(-2.0, abs=1e-4)


def test_the_docs_product_dot_is_multiplication_on_the_command_line():
    result = run("grad", "w·x + b", "--wrt", "w", "b", "--at", "w=0.5", "x=2", "b=1", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["grads"] == {"w": 2.0, "b": 1.0}  # d(wx + b)/dw = x, d/db = 1


def test_descend_plot_says_where_it_wrote_the_file(tmp_path):
    pytest.importorskip("matplotlib")
    result = run(*GROKKING, "--lr", "0.001", "--steps", "3", "--plot", "loss.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"loss plot written to {(tmp_path / 'loss.png').resolve()}"


def test_descend_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "loss.png"
    result = run(*GROKKING, "--lr", "0.001", "--plot", str(png))
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"loss plot written to {png}" in result.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]


def test_descend_plot_without_matplotlib_is_a_clear_error(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None; from microgradx.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    args = [*GROKKING, "--lr", "0.001", "--plot", "loss.png"]
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert_user_error(result, "matplotlib", "pip install")
    assert list(tmp_path.iterdir()) == []


# --- demo, help, version ---------------------------------------------------------------------------


def test_demo_shows_autograd_next_to_the_hand_derivation_and_writes_the_graph(tmp_path):
    result = run("demo", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = {line.split("=")[0].strip(): line for line in out.splitlines() if "=" in line}
    autograd = float(lines["autograd  dE/dw"].split("=")[-1])
    by_hand = float(lines["by hand   (ŷ−y)·σ(1−σ)·x"].split("=")[-1])
    _, expected = neuron_by_hand(0.3, 1.0, 1.0)
    assert autograd == pytest.approx(expected, rel=1e-12) and by_hand == pytest.approx(expected, rel=1e-12)
    assert row_ok(out, "w")  # the finite-difference check
    assert "step 5:" in out  # the SGD steps
    written = sorted(tmp_path.iterdir(), key=lambda p: p.suffix != ".html")
    assert [p.stem for p in written] == ["microgradx-demo", "microgradx-demo"]
    page, graph = written
    assert page.suffix == ".html" and graph.suffix in (".svg", ".dot")
    assert str(graph) in out and str(page) in out
    assert "σ(z)·(1−σ(z))" in page.read_text(encoding="utf-8")


def test_help_shows_examples_and_the_json_shape():
    result = run("grad", "--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout and '"grads": {NAME: number' in result.stdout
    for command in (["--help"], ["descend", "--help"], ["demo", "--help"]):
        assert run(*command).returncode == 0


def test_version():
    import microgradx

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"microgradx {microgradx.__version__}"


def test_main_returns_the_exit_status_in_process(capsys):
    from microgradx.cli import main

    assert main(["grad", "w*3", "--wrt", "w", "--at", "w=2"]) == 0
    assert "df/dw = 3" in capsys.readouterr().out
    assert main(["grad", "w.x", "--wrt", "w", "--at", "w=2"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# --- the CLI page's "Command line in short" section (once the README's) shows real runs ---------------


def readme_sessions() -> list[tuple[list[str], str]]:
    """Each ``$ microgradx ...`` command of docs/cli.md's "Command line in short" and its printed lines."""
    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = page.split("\n## Command line in short\n", 1)[1].split("\n## ", 1)[0]
    sessions: list[tuple[list[str], str]] = []
    for block in section.split("```console\n")[1:]:
        lines = block.split("\n```", 1)[0].splitlines()
        while lines:
            command = lines.pop(0)[2:]
            while command.endswith("\\"):
                command = command[:-1] + lines.pop(0)
            output = []
            while lines and not lines[0].startswith("$ "):
                output.append(lines.pop(0))
            sessions.append((shlex.split(command), "\n".join(output)))
    return sessions


SESSIONS = readme_sessions()


@pytest.mark.parametrize(("command", "printed"), SESSIONS, ids=[" ".join(c)[:60] for c, _ in SESSIONS])
def test_readme_command_line_sessions_are_real(command, printed):
    assert command[0] == "microgradx"
    result = run(*command[1:])
    assert result.returncode == (2 if printed.startswith("error: ") else 0), result.stderr
    assert (result.stdout + result.stderr).rstrip("\n") == printed


def test_readme_shows_grad_explain_hand_and_descend():
    commands = [" ".join(c) for c, _ in SESSIONS]
    assert any("--explain" in c and "--hand" in c for c in commands)
    assert sum(c.startswith("microgradx descend") for c in commands) >= 2


def test_draw_html_writes_the_step_through_page(tmp_path):
    page = tmp_path / "neuron.html"
    result = run("grad", NEURON, "--wrt", "w", "--at", "w=0.3", "x=1", "y=1", "--draw", str(page))
    assert result.returncode == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") or text.lower().startswith("<!doctype html>")
    assert "σ(z)·(1−σ(z))" in text and str(page) in result.stdout


def test_printed_numbers_parse_back_with_float():
    """Value, gradients and descend rows use ASCII minus signs, so scripts can read them back."""
    result = run("grad", "w*x - 3", "--wrt", "w", "x", "--at", "w=-0.5", "x=2")
    lines = dict(line.split(" = ", 1) for line in result.stdout.splitlines() if " = " in line)
    assert float(lines["df/dw"]) == 2.0 and float(lines["f"].split()[0]) == -4.0
    assert float(lines["df/dx"]) == -0.5
    rows = run("descend", "(w - 3)**2", "--wrt", "w", "--at", "w=-1e-9", "--lr", "0.1", "--steps", "2")
    first = rows.stdout.splitlines()[1].split()
    assert [float(cell) for cell in first] == [
        0.0,
        pytest.approx(9.000000006),
        -1e-9,
        pytest.approx(-6.000000002),
    ]


def test_an_expression_may_start_with_unary_minus():
    result = run("grad", "-w**2", "--wrt", "w", "--at", "w=3")
    assert result.returncode == 0, result.stderr
    assert "df/dw = -6" in result.stdout  # d(−w²)/dw = -2w
    bad = run("grad", "-w**2 +", "--wrt", "w", "--at", "w=3")
    assert bad.returncode == 2 and "column 8" in bad.stderr  # columns still count from the user's text
    twice = run("grad", "--w*3", "--wrt", "w", "--at", "w=3")  # −(−w)·3, not an option "--w*3"
    assert twice.returncode == 0 and "df/dw = 3" in twice.stdout, twice.stderr


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, which no one can write")
def test_an_unwritable_file_is_named_as_the_user_gave_it():
    result = run("grad", "w*x", "--wrt", "w", "--at", "w=1", "x=2", "--draw", "/proc/g.svg")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "/proc/g.svg" in result.stderr and ".partial-" not in result.stderr


@pytest.mark.parametrize("formula", ["1/(w-w)", "log(w-1)", "sqrt(-x)"])
def test_a_hand_formulas_error_names_it_once(formula):
    result = run("grad", "w*x", "--wrt", "w", "--at", "w=1", "x=2", "--hand", f"w={formula}")
    assert_user_error(result, "--hand w: column")
    assert "hand['w']" not in result.stderr and result.stderr.count("--hand") == 1
