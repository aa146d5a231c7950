"""The seed examples run as scripts and print numbers that agree with an independent derivation.

Each script in `examples/` is run once as a subprocess in a temporary directory (as a learner runs
it), and its printed numbers are checked against closed forms computed here with plain floats —
never against microgradx itself. Pictures are checked to be written (PNG) when matplotlib is
installed, and to be skipped with a message when it is not.
"""

from __future__ import annotations

import itertools
import math
import os
import pathlib
import re
import subprocess
import sys

import pytest
from conftest import load_example

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


def run(script: str, *args: str, cwd: pathlib.Path, code: str | None = None) -> str:
    """Run `examples/<script>` (or `code` before it, via runpy) and return its stdout; fail on error."""
    path = str(EXAMPLES / script)
    if code is None:
        argv = [sys.executable, path, *args]
    else:
        runner = f"{code}\nimport runpy, sys\nsys.argv = {[path, *args]!r}\n"
        runner += "runpy.run_path(sys.argv[0], run_name='__main__')"
        argv = [sys.executable, "-c", runner]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg"}
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def num(text: str) -> float:
    """A number as `microgradx.formatting.fmt` prints it (Unicode minus signs) as a float."""
    return float(text.replace("−", "-"))


def section(output: str, title: str) -> str:
    """The lines of `output` under the ``== title`` heading, up to the next heading."""
    start = output.index(f"== {title}")
    end = output.find("\n== ", start + 1)
    return output[start : end if end != -1 else len(output)]


def table(text: str, columns: int) -> list[list[float]]:
    """Rows of a printed table that consist of exactly `columns` numbers."""
    rows = []
    for line in text.splitlines():
        cells = line.split()
        if len(cells) == columns and all(re.fullmatch(r"[−-]?[\d.]+(e[−-]?\d+)?", c) for c in cells):
            rows.append([num(c) for c in cells])
    return rows


def close(printed: float, exact: float, digits: int = 4) -> bool:
    """True when `printed` is `exact` rounded to `digits` significant digits (fmt's default)."""
    return math.isclose(printed, exact, rel_tol=10.0 ** (1 - digits), abs_tol=1e-300)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, pathlib.Path]]:
    """Each example's stdout from one run with ``--out pictures`` in a fresh directory."""
    results = {}
    for script in ("grokking_weight.py", "sigmoid_neuron.py", "two_weights.py"):
        cwd = tmp_path_factory.mktemp(script.removesuffix(".py"))
        results[script] = (run(script, "--out", "pictures", cwd=cwd), cwd / "pictures")
    return results


# --- seed 000: Grokking's single weight --------------------------------------------------------------


def test_grokking_explain_shows_the_input_as_the_last_factor(outputs):
    text = section(outputs["grokking_weight.py"][0], "dE/dweight by the chain rule")
    x, w, goal = 8.0, 0.5, 0.8
    assert "∂pred/∂weight        = input           = 8" in text
    total = num(re.search(r"dE/dweight = the path product = (\S+)", text).group(1))
    assert close(total, 2 * (x * w - goal) * x)  # d/dw (x·w − goal)² = 2·(x·w − goal)·x


def test_grokking_cases_stop_reverse_and_scale(outputs):
    text = section(outputs["grokking_weight.py"][0], "stopping, negative reversal, scaling")
    w, goal, alpha = 0.5, 0.8, 0.01
    rows = {
        line.split()[-1]: line
        for line in text.splitlines()
        if line.rstrip().endswith(("stopping", "reversal", "plain", "scaling"))
    }
    assert set(rows) == {"stopping", "reversal", "plain", "scaling"}
    for line in rows.values():
        x, pred, error, grad, new_w, before, after = (num(c) for c in line.split()[:7])
        assert close(pred, x * w) and close(error, x * w - goal)
        assert close(grad, 2 * (x * w - goal) * x) if x else grad == 0.0
        assert close(new_w, w - alpha * 2 * (x * w - goal) * x)
        assert close(after, (x * (w - alpha * 2 * (x * w - goal) * x) - goal) ** 2)
        if x == 0:
            assert after == before  # stopping: an input of 0 leaves the weight and the error alone
        else:
            assert after < before  # every other case: the update lowers the error
    reversal = [num(c) for c in rows["reversal"].split()[:4]]
    assert reversal[2] < 0 < reversal[3]  # pred too low, yet the weight must go down: reversed


def test_grokking_descent_diverges_with_large_alpha_and_converges_with_small(outputs):
    text = outputs["grokking_weight.py"][0]
    for alpha, verdict in ((0.1, "diverged"), (0.005, "converged")):
        part = section(text, f"gradient descent with alpha = {alpha:g}")
        factor = 1 - 2 * alpha * 8.0**2  # the error pred − goal is multiplied by this each step
        assert close(num(re.search(r"input² = (\S+)\n", part).group(1)), factor)
        rows = table(part, 4)
        assert [r[0] for r in rows] == list(range(len(rows)))
        for before, after in itertools.pairwise(rows):
            assert close(after[1], before[1] * factor**2, digits=3)
            assert close(after[2], before[2] - alpha * before[3], digits=3)
        verdicts = re.findall(r"^(\w+): E went from 10.24 to ", part, flags=re.M)
        assert verdicts == [verdict]
    assert (outputs["grokking_weight.py"][1] / "grokking_descent.png").read_bytes().startswith(PNG)


# --- seed 001: the sigmoid neuron --------------------------------------------------------------------


def test_sigmoid_autograd_matches_the_hand_derivation(outputs):
    text = section(outputs["sigmoid_neuron.py"][0], "dE/dw by hand")
    assert text.count("all 3 inputs ok") == 2
    for x, y in ((0.0, 0.0), (1.0, 1.0)):
        report = text[text.index(f"x = {x:g}, y = {y:g}") :]
        cells = next(line.split() for line in report.splitlines() if line.startswith("w "))
        s = sigmoid(0.5 * x)
        expected = (s - y) * x * s * (1 - s)  # the seed's (ŷ − y)·x·σ(1 − σ)
        autograd, numeric, hand = (num(c) for c in cells[1:4])
        assert math.isclose(autograd, expected, rel_tol=1e-7, abs_tol=1e-12)
        assert math.isclose(hand, expected, rel_tol=1e-7, abs_tol=1e-12)
        assert math.isclose(numeric, expected, rel_tol=1e-6, abs_tol=1e-9)


def test_sigmoid_training_follows_the_update_rule(outputs):
    text, pictures = outputs["sigmoid_neuron.py"]
    rows = table(section(text, "training"), 5)
    w, mu, trajectory = 0.5, 4.0, {}
    for epoch in range(21):
        trajectory[epoch] = w
        s = sigmoid(w)
        w -= mu * (s - 1.0) * s * (1 - s)  # x = 1: w ← w − μ·(ŷ − y)·x·σ(1 − σ); x = 0 changes nothing
    assert [r[0] for r in rows] == [0, 1, 2, 3, 4, 5, 10, 15, 20]
    for epoch, w_printed, g0, g1, total in rows:
        w = trajectory[int(epoch)]
        s = sigmoid(w)
        assert close(w_printed, w) and g0 == 0.0
        assert close(g1, (s - 1) * s * (1 - s))
        assert close(total, 0.125 + 0.5 * (s - 1) ** 2)
    assert (pictures / "sigmoid_training.png").read_bytes().startswith(PNG)
    graph = pictures / "sigmoid_graph.png"
    assert graph.read_bytes().startswith(PNG) or "graph picture skipped" in text


# --- seed 002: two weights ---------------------------------------------------------------------------


def test_two_weights_partials_are_the_closed_forms(outputs):
    text = outputs["two_weights.py"][0]
    w1, w2, x = 0.5, -0.2, 3.0
    partials = dict(re.findall(r"^(dE/d\w+)\s+= (\S+)   \(closed form", text, flags=re.M))
    assert num(partials["dE/dw1"]) == x and num(partials["dE/dw2"]) == x**2
    assert close(num(partials["dE/dx"]), w1 + 2 * w2 * x)
    assert "dE/dx = sum of the 2 path products = -0.7" in text
    assert "dE/dw1 = the path product = 3" in text and "dE/dw2 = the path product = 9" in text
    nudges = [line.split()[-3:] for line in text.splitlines() if line.lstrip().startswith(("w1 ", "w2 "))]
    for (after, change, predicted), (a, b) in zip(nudges, ((0.01, 0), (0, 0.01), (0.01, 0.01)), strict=True):
        assert close(num(change), x * a + x * x * b) and close(num(predicted), x * a + x * x * b)
        assert close(num(after), (w1 + a) * x + (w2 + b) * x * x)


def test_two_weights_descent_moves_each_weight_by_its_partial(outputs):
    text, pictures = outputs["two_weights.py"]
    rows = {int(r[0]): r[1:] for r in table(section(text, "gradient descent"), 6)}
    xs = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
    w1, w2, lr = -1.0, 1.0, 0.2
    for step in range(31):
        residuals = [w1 * x + w2 * x * x - (1.5 * x - 0.5 * x * x) for x in xs]
        g1 = sum(2 * r * x for r, x in zip(residuals, xs, strict=True)) / len(xs)
        g2 = sum(2 * r * x * x for r, x in zip(residuals, xs, strict=True)) / len(xs)
        if step in rows:
            loss = sum(r * r for r in residuals) / len(xs)
            assert all(close(p, e) for p, e in zip(rows[step], (loss, w1, w2, g1, g2), strict=True)), step
        w1, w2 = w1 - lr * g1, w2 - lr * g2
    assert set(rows) == {0, 1, 2, 3, 5, 10, 15, 20, 25, 30}
    assert (pictures / "two_weights_descent.png").read_bytes().startswith(PNG)


# --- without matplotlib ------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["grokking_weight.py", "sigmoid_neuron.py", "two_weights.py"])
def test_examples_print_and_skip_pictures_without_matplotlib(script, tmp_path):
    block = "import sys; sys.modules['matplotlib'] = None  # as if matplotlib were not installed"
    text = run(script, "--out", "pictures", cwd=tmp_path, code=block)
    assert "pictures skipped: matplotlib is not installed" in text
    assert sum(line.startswith("== ") for line in text.splitlines()) >= 2  # everything is still printed
    made = {p.name for p in (tmp_path / "pictures").glob("*.png")}
    assert not made - {"sigmoid_graph.png", "two_weights_graph.png"}  # graphs need Graphviz, not matplotlib


# --- EurekaLabs' yin-yang: three classes, cross-entropy, AdamW ---------------------------------------


@pytest.fixture(scope="module")
def yinyang():
    return load_example("yinyang")


def test_yinyang_classes_are_balanced_and_inside_the_unit_disk(yinyang):
    points, labels = yinyang.make_yinyang(99, seed=5)
    assert (points, labels) == yinyang.make_yinyang(99, seed=5)
    assert points != yinyang.make_yinyang(99, seed=6)[0]
    assert [labels.count(c) for c in range(3)] == [33, 33, 33]
    assert all(x * x + y * y < 1.0 for x, y in points)


def test_yinyang_regions_have_the_symbols_areas_and_symmetry(yinyang):
    # On a fine grid of the unit disk: each dot covers (0.2)² of the disk's area, yin and yang
    # share the rest equally, and a half turn swaps yin and yang (the dots stay dots).
    n, counts, inside = 400, [0, 0, 0], 0
    for i in range(n):
        for j in range(n):
            x, y = -1 + (2 * i + 1) / n, -1 + (2 * j + 1) / n
            if x * x + y * y >= 1:
                continue
            inside += 1
            c = yinyang.which_class(x, y)
            counts[c] += 1
            assert yinyang.which_class(-x, -y) == {0: 1, 1: 0, 2: 2}[c]
    dots = 2 * 0.2**2
    assert counts[2] / inside == pytest.approx(dots, abs=2e-3)
    assert counts[0] / inside == pytest.approx((1 - dots) / 2, abs=2e-3)
    assert counts[1] / inside == pytest.approx((1 - dots) / 2, abs=2e-3)


def float_cross_entropy(logits: list[float], target: int) -> float:
    """−log softmax(logits)[target], written with plain floats."""
    return math.log(sum(math.exp(z) for z in logits)) - logits[target]


@pytest.fixture(scope="module")
def yinyang_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pathlib.Path]:
    cwd = tmp_path_factory.mktemp("yinyang")
    return run("yinyang.py", "--plot", "yinyang.png", cwd=cwd), cwd


def test_yinyang_trains_100_steps_to_a_falling_loss(yinyang_run):
    text, cwd = yinyang_run
    rows = re.findall(r"^step +(\d+)/100  train loss (\S+)  val loss (\S+)$", text, flags=re.M)
    steps = [int(k) for k, _, _ in rows]
    train, val = [float(t) for _, t, _ in rows], [float(v) for _, _, v in rows]
    assert steps == [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert train[0] == pytest.approx(math.log(3), abs=0.05)  # small random logits: about uniform over 3
    assert train[-1] < train[0] / 4 and val[-1] < val[0] / 2
    assert all(b < a for a, b in itertools.pairwise(train[1:]))
    accuracy = re.search(r"accuracy after 100 steps: train (\S+)%, val (\S+)%", text)
    assert float(accuracy.group(1)) > 85 and float(accuracy.group(2)) > 75
    if (cwd / "yinyang.png").exists():
        assert (cwd / "yinyang.png").read_bytes().startswith(PNG)
    else:
        pytest.importorskip("matplotlib")  # only its absence excuses a missing picture


def test_yinyang_first_loss_is_the_float_cross_entropy_of_the_initial_model(yinyang_run, yinyang):
    # The printed step-1 loss, recomputed with floats from the initial weights and the data.
    model = yinyang.MLP(2, [8, 3], activation="tanh", seed=0)
    (points, labels), _ = yinyang.split(*yinyang.make_yinyang(100, seed=0))
    hidden, out = model.layers
    total = 0.0
    for (x, y), label in zip(points, labels, strict=True):
        h = [math.tanh(n.b.data + n.w[0].data * x + n.w[1].data * y) for n in hidden.neurons]
        logits = [n.b.data + sum(w.data * hi for w, hi in zip(n.w, h, strict=True)) for n in out.neurons]
        total += float_cross_entropy(logits, label)
    first = float(re.search(r"step   1/100  train loss (\S+)", yinyang_run[0]).group(1))
    assert first == pytest.approx(total / len(points), abs=1e-6)


def test_yinyang_plot_without_matplotlib_says_how_to_install_it(tmp_path):
    block = "import sys; sys.modules['matplotlib'] = None  # as if matplotlib were not installed"
    argv = [str(EXAMPLES / "yinyang.py"), "--steps", "1", "--plot", "x.png"]
    runner = f"{block}\nimport runpy, sys\nsys.argv = {argv!r}\n"
    runner += "runpy.run_path(sys.argv[0], run_name='__main__')"
    result = subprocess.run(
        [sys.executable, "-c", runner], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 1 and not (tmp_path / "x.png").exists()
    assert result.stderr.strip().splitlines()[-1] == "--plot needs matplotlib: pip install 'microgradx[plot]'"
    assert "step   1/1  train loss" in result.stdout
