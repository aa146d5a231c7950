"""Defects an outside probe found (issue 16): each test fails on the code before its fix."""

from __future__ import annotations

import itertools
import json
import math
import operator
import os
import pathlib
import stat
import subprocess
import sys
import threading

import pytest

import microgradx as mg

# --- no_grad keeps no state on its instance -------------------------------------------------------


def _records() -> bool:
    return bool((mg.Value(1.0) * 2.0).parents)


def test_no_grad_as_decorator_of_a_recursive_function_restores_recording():
    @mg.no_grad()
    def countdown(n: int) -> float:
        assert not mg.is_grad_enabled()
        return 0.0 if n == 0 else countdown(n - 1) + 1.0

    assert countdown(5) == 5.0
    assert mg.is_grad_enabled() and _records()
    w = mg.Value(3.0)
    (w * w).backward()
    assert w.grad == 6.0


def test_one_no_grad_instance_entered_twice_nested_restores_each_level():
    off = mg.no_grad()
    with off:
        with off:
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()  # still inside the outer block
    assert mg.is_grad_enabled() and _records()


def test_one_no_grad_instance_shared_by_threads_leaves_each_thread_recording():
    off = mg.no_grad()
    inside = threading.Barrier(2, timeout=10)
    seen: dict[str, bool] = {}

    def work(name: str) -> None:
        with off:
            inside.wait()  # both threads are inside the same instance at once
            seen[name + " inside"] = mg.is_grad_enabled()
            inside.wait()
        seen[name + " after"] = mg.is_grad_enabled() and _records()

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert seen == {"a inside": False, "b inside": False, "a after": True, "b after": True}
    assert mg.is_grad_enabled()


def test_no_grad_restores_recording_after_an_exception():
    try:
        with mg.no_grad():
            raise KeyError("x")
    except KeyError:
        pass
    assert mg.is_grad_enabled()


def test_create_graph_inside_no_grad_gives_differentiable_grads_and_returns_to_no_grad():
    x = mg.Value(2.0)
    f = x**3
    with mg.no_grad():
        (g,) = mg.grad(f, [x], create_graph=True)
        assert not mg.is_grad_enabled()
    (h,) = mg.grad(g, [x])
    assert h == 12.0  # d²(x³)/dx² = 6x


# --- NaN and infinities propagate as in PyTorch -----------------------------------------------------

SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 2.0, 0.5, -2.5]
UNARY = {
    "neg": operator.neg,
    "abs": abs,
    **{name: operator.methodcaller(name) for name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu")},
    **{name: operator.methodcaller(name) for name in ("sin", "cos")},
}
BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


def _math_raises(name: str, v: float) -> bool:
    """Where Python's math module raises, so does microgradx (SPEC §1); PyTorch gives nan or inf."""
    try:
        getattr(math, name, lambda v: v)(v)
    except ValueError:
        return True
    return False


def _same(a: float, b: float) -> bool:
    if math.isfinite(a) and math.isfinite(b):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
    return a == b or (math.isnan(a) and math.isnan(b))


def test_relu_of_nan_is_nan_and_passes_the_gradient_as_pytorch():
    x = mg.Value(math.nan)
    y = x.relu()
    y.backward()
    assert math.isnan(y.data)
    assert x.grad == 1.0  # torch.relu's backward: the grad passes unless the input is <= 0
    assert mg.relu(-0.0).data == 0.0 and mg.relu(-1e-300).data == 0.0 and mg.relu(3.0).data == 3.0


def test_nan_propagates_through_every_operation():
    nan = mg.Value(math.nan)
    for name, f in UNARY.items():
        assert math.isnan(f(nan).data), name
    for name, f in BINARY.items():
        assert math.isnan(f(nan, mg.Value(2.0)).data), name
        assert math.isnan(f(mg.Value(2.0), nan).data), name


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_value_and_grad_at_special_points_match_pytorch(name):
    torch = pytest.importorskip("torch")
    f = UNARY[name]
    for v in SPECIAL:
        x = mg.Value(v)
        if _math_raises(name, v):
            with pytest.raises(ValueError, match=name):
                f(x)
            continue
        y = f(x)
        y.backward()
        t = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        ty = torch.abs(t) if name == "abs" else f(t)
        ty.backward()
        assert _same(y.data, ty.item()), (name, v, y.data, ty.item())
        assert _same(x.grad, t.grad.item()), (name, v, x.grad, t.grad.item())


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_value_and_grads_with_nan_or_inf_match_pytorch(name):
    torch = pytest.importorskip("torch")
    f = BINARY[name]
    for u, v in itertools.product(SPECIAL, SPECIAL):
        if all(math.isfinite(z) for z in (u, v)):
            continue  # finite points are the engine tests' business
        a, b = mg.Value(u), mg.Value(v)
        try:
            y = f(a, b)
        except (ValueError, ZeroDivisionError):
            # math-module domain errors (x / 0, a negative base to a non-integer power, 0 ** -inf)
            assert (name == "/" and v == 0.0) or (name == "**" and (u < 0.0 or u == 0.0)), (name, u, v)
            continue
        y.backward()
        ta = torch.tensor(u, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        ty = f(ta, tb)
        ty.backward()
        got, want = (y.data, a.grad, b.grad), (ty.item(), ta.grad.item(), tb.grad.item())
        assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (name, u, v, got, want)


# --- the step-through page is linear in the graph, with a bound ------------------------------------


def _power_by_reuse(uses: int) -> mg.Value:
    x = mg.Value(1.0001, "x")
    y = x
    for _ in range(uses - 1):
        y = y * x  # x is an operand of every product: long edges from one leaf to everything
    return y


def test_page_size_grows_linearly_with_a_reused_input():
    small, large = len(mg.to_html(_power_by_reuse(200))), len(mg.to_html(_power_by_reuse(1600)))
    assert large < 8 * small * 1.15  # 8x the graph: 8x the page (it was 2.6 MB -> 92 MB)


def test_page_refuses_a_graph_past_its_documented_bound():
    from microgradx.html import MAX_PAGE_NODES

    x = mg.Value(1.0, "x")
    y = x
    for _ in range(MAX_PAGE_NODES):
        y = y * 1.0
    with pytest.raises(ValueError, match=r"MAX_PAGE_NODES = 5,000.*draw\(\)"):
        mg.to_html(y)
    mg.to_html(_power_by_reuse(MAX_PAGE_NODES // 2))  # within the bound: a page


# --- the command line: every output checked first, any name printable, short errors -----------------


def _cli(*args: str | bytes, cwd: pathlib.Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microgradx", *args],
        cwd=cwd, capture_output=True, timeout=120, env={**os.environ, **env},
    )


def test_a_file_name_stdout_cannot_encode_is_printed_escaped_not_a_traceback(tmp_path):
    name = b"g\xfe.svg"  # not UTF-8: under a strict UTF-8 stdout, print() raised
    run = _cli("grad", "x*x", "--wrt", "x", "--at", "x=1", "--draw", name, cwd=tmp_path,
               PYTHONIOENCODING="utf-8")
    assert run.returncode == 0, run.stderr
    assert b"Traceback" not in run.stderr
    assert b"graph written to g\\udcfe.svg" in run.stdout
    assert (tmp_path / os.fsdecode(name)).exists() or (tmp_path / os.fsdecode(b"g\xfe.dot")).exists()
    folder = tmp_path / os.fsdecode(b"d\xfe")
    folder.mkdir()
    run = _cli("demo", "--out", os.fsencode(folder), cwd=tmp_path, PYTHONIOENCODING="utf-8")
    assert run.returncode == 0 and b"Traceback" not in run.stderr, run.stderr
    assert {p.name for p in folder.iterdir()} >= {"microgradx-demo.html"}


def test_demo_checks_every_output_before_writing_any(tmp_path):
    (tmp_path / "microgradx-demo.html").mkdir()  # the page cannot be written
    run = _cli("demo", "--out", str(tmp_path), cwd=tmp_path)
    assert run.returncode == 2
    assert run.stdout == b""
    assert run.stderr.decode().count("\n") == 1 and "microgradx-demo.html" in run.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["microgradx-demo.html"]  # no svg written


@pytest.mark.parametrize("draw", ["", "  ", "g.svg/", "sub/g.svg/"])
def test_draw_to_an_empty_name_or_a_folder_name_is_an_error(tmp_path, draw):
    (tmp_path / "sub").mkdir()
    run = _cli("grad", "x*x", "--wrt", "x", "--at", "x=1", "--draw", draw, cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.decode().count("\n") == 1, run.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub"]


@pytest.mark.parametrize(
    "args",
    [
        ["grad", "a" * 5000 + "(x)", "--wrt", "x", "--at", "x=1"],
        ["grad", "x", "--wrt", "x", "--at", "x=" + "a" * 5000],
        ["grad", "x + " + "a" * 5000, "--wrt", "x", "--at", "x=1"],
        ["descend", "x*x", "--wrt", "x", "--at", "x=1", "--lr", "a" * 5000],
    ],
)
def test_an_error_line_does_not_echo_a_whole_long_input(tmp_path, args):
    run = _cli(*args, cwd=tmp_path)
    err = run.stderr.decode()
    assert run.returncode == 2 and err.count("\n") == 1
    assert len(err) < 400 and "5,00" in err  # cut, saying how long it was


def test_a_long_flat_sum_is_refused_as_a_limit_on_terms_with_how_to_split(tmp_path):
    run = _cli("grad", "+".join(["x"] * 3500), "--wrt", "x", "--at", "x=1", cwd=tmp_path)
    err = run.stderr.decode()
    assert run.returncode == 2 and "3,499 operators" in err and "terms in a row" in err and "s1 = " in err


def test_draw_html_of_a_graph_past_the_page_bound_is_one_error_line_and_no_file(tmp_path):
    expr = "; ".join(f"y{i} = {'x' if i == 0 else f'y{i - 1}'}" + "*1" * 1200 for i in range(4))
    # 4 x 2,400 Values in under 10,000 characters
    run = _cli("grad", expr + "; y3", "--wrt", "x", "--at", "x=1", "--draw", "big.html", cwd=tmp_path)
    assert run.returncode == 2 and "MAX_PAGE_NODES" in run.stderr.decode(), run.stderr
    assert list(tmp_path.iterdir()) == []


# --- hostile state files and dicts: ValueError naming the file and the key, bounded ------------------


def _model() -> mg.nn.MLP:
    return mg.nn.MLP(2, [2, 1], seed=0)


HOSTILE_FILES = {
    "400-digit integer": lambda key: f'{{"{key}": {"9" * 400}}}',
    "5,000-digit integer": lambda key: f'{{"{key}": {"9" * 5000}}}',
    "100,000-deep list": lambda key: f'{{"{key}": {"[" * 100_000}{"]" * 100_000}}}',
    "huge string": lambda key: f'{{"{key}": "{"s" * 1_000_000}"}}',
    "1e400": lambda key: f'{{"{key}": 1e400}}',
    "not JSON": lambda key: "{" * 3,
    "not UTF-8": lambda key: b"\xff\xfe{}",
}


@pytest.mark.parametrize("kind", list(HOSTILE_FILES))
def test_a_hostile_state_file_raises_value_error_naming_the_file_and_leaves_the_model(tmp_path, kind):
    model = _model()
    before = model.state_dict()
    key = next(iter(before))
    path = tmp_path / "model.json"
    content = HOSTILE_FILES[kind](key)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError) as caught:
        model.load(path)
    message = str(caught.value)
    assert str(path) in message and len(message) < 600, message[:300]
    if kind not in ("not JSON", "not UTF-8", "5,000-digit integer", "100,000-deep list"):
        assert repr(key) in message  # the offending entry is named
    assert model.state_dict() == before


def test_a_state_with_100k_unknown_keys_gives_a_short_message_naming_the_first():
    model = _model()
    before = model.state_dict()
    state = {**before, **{f"junk{i}": 1.0 for i in range(100_000)}}
    with pytest.raises(ValueError, match=r"unknown 'junk0', 'junk1'.*and 99,995 more") as caught:
        model.load_state_dict(state)
    assert len(str(caught.value)) < 600
    assert model.state_dict() == before


# --- saving keeps links and permissions; its temporary file is recognisable ---------------------------


def test_save_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    model = _model()
    target = tmp_path / "real.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert json.loads(target.read_text()) == model.state_dict()
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("made-by-save.json")
    model.save(dangling)
    assert dangling.is_symlink() and (tmp_path / "made-by-save.json").is_file()


def test_save_keeps_an_existing_files_permission_bits(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("{}")
    path.chmod(0o600)
    _model().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fresh = tmp_path / "new.json"
    _model().save(fresh)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


def test_cli_draw_to_a_dangling_symlink_writes_its_target(tmp_path):
    (tmp_path / "g.dot").symlink_to("drawn.dot")
    run = _cli("grad", "x*x", "--wrt", "x", "--at", "x=1", "--draw", "g.dot", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "g.dot").is_symlink() and "digraph" in (tmp_path / "drawn.dot").read_text()


def test_a_save_killed_half_way_leaves_a_temporary_file_no_one_takes_for_a_model(tmp_path, monkeypatch):
    from microgradx import _files

    def killed(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_files.os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        _model().save(tmp_path / "model.json")
    assert list(tmp_path.iterdir()) == []  # cleaned up when it can be
    name = _files._temporary_name(str(tmp_path / "model.json"))
    assert os.path.basename(name).startswith(".model.json.partial-") and name.endswith("~")
    assert not name.endswith(".json")


def test_newlines_in_labels_stay_inside_their_markdown_rows():
    w = mg.Value(2.0, "w\nx|y")
    x = mg.Value(3.0, "in\r\nput")
    E = (w * x).tanh()
    E.label = "E\n2"
    markdown = mg.explain(E, w).to_markdown()
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(rows) == 5  # header, rule, two edges, the path product: one line each
    assert all(line.endswith("|") and line.count(" | ") == 2 for line in rows[2:]), rows
    assert r"w\\nx\|y" in markdown and r"in\\r\\nput" in markdown  # rendered: w\nx|y, in\r\nput


def test_no_grad_on_a_generator_holds_while_it_runs_and_not_between_yields():
    @mg.no_grad()
    def modes():
        received = yield mg.is_grad_enabled()
        assert received == "sent"
        yield mg.is_grad_enabled()
        return "done"

    gen = modes()
    assert next(gen) is False  # inside the generator: recording off (torch.no_grad does the same)
    assert mg.is_grad_enabled()  # between yields: the caller's mode
    assert gen.send("sent") is False
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done" and mg.is_grad_enabled()


def test_demo_checks_the_folder_a_link_names_before_writing(tmp_path):
    (tmp_path / "microgradx-demo.svg").symlink_to("/nonexistent/folder/x.svg")
    run = _cli("demo", "--out", str(tmp_path), cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == b"" and run.stderr.decode().count("\n") == 1, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["microgradx-demo.svg"]  # the link, nothing else


def test_a_loop_of_links_is_an_error_not_replaced_by_a_file(tmp_path):
    (tmp_path / "l1.svg").symlink_to("l2.svg")
    (tmp_path / "l2.svg").symlink_to("l1.svg")
    run = _cli("grad", "x", "--wrt", "x", "--at", "x=1", "--draw", "l1.svg", cwd=tmp_path)
    assert run.returncode == 2 and "l1.svg" in run.stderr.decode(), run.stderr
    assert (tmp_path / "l1.svg").is_symlink() and (tmp_path / "l2.svg").is_symlink()
    (tmp_path / "l1.json").symlink_to("l2.json")
    (tmp_path / "l2.json").symlink_to("l1.json")
    with pytest.raises(OSError, match=r"l1\.json"):
        _model().save(tmp_path / "l1.json")
    assert (tmp_path / "l1.json").is_symlink()


def test_a_file_name_of_250_characters_can_be_saved(tmp_path):
    path = tmp_path / ("m" * 245 + ".json")  # open() takes it; the temporary name must fit too
    _model().save(path)
    assert json.loads(path.read_text()) == _model().state_dict()


@pytest.mark.parametrize(
    ("label", "escaped"), [("&quot;", r"\&quot;"), ("~~s~~", r"\~\~s\~\~"), ("$x$", r"\$x\$")]
)
def test_markdown_shows_entities_strikethrough_and_dollars_as_typed(label, escaped):
    w = mg.Value(2.0, label)
    markdown = mg.explain(w * 3.0, w).to_markdown()
    assert escaped in markdown  # rendered: the label as typed, not '"', struck-through s, or math
    assert label not in markdown.replace(escaped, "")


def test_an_integer_literal_of_5000_digits_is_too_large_at_its_column(tmp_path):
    run = _cli("grad", "x*" + "1" * 5000, "--wrt", "x", "--at", "x=1", cwd=tmp_path)
    err = run.stderr.decode()
    assert run.returncode == 2 and err.startswith("error: column 3: the number 111"), err
    assert "(5,000 digits) is too large for a float" in err and "sys.set_int_max_str_digits" not in err


def test_a_pickled_graph_with_an_op_of_your_own_names_the_op_when_it_is_not_made() -> None:
    """Loading before the op is made is a clear error naming the op (it was a bare KeyError at
    backward); made again, the same bytes load and backpropagate by its derivative."""
    import math
    import pickle

    from microgradx.rules import RULES

    def make() -> object:
        return mg.custom_op("softplus", lambda a: math.log1p(math.exp(a)), lambda a: 1 / (1 + math.exp(-a)))

    x = mg.Value(0.5, "x")
    saved = pickle.dumps(make()(x) * 2)
    del RULES["softplus"]
    with pytest.raises(pickle.UnpicklingError, match=r"the op 'softplus', which is not made in this session"):
        pickle.loads(saved)
    make()
    y = pickle.loads(saved)
    y.backward()
    (leaf,) = [n for n in y.parents[0].parents if n.label == "x"]
    assert leaf.grad == pytest.approx(2 / (1 + math.exp(-0.5)), rel=1e-15)
