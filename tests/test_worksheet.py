"""Worksheets and the terminal practice: no answer in a worksheet, every answer in its key.

`microgradx worksheet` is run in-process (its files are read back); `microgradx practice` with
its input from a pipe, ended by end of input as Ctrl-D would.
"""

from __future__ import annotations

import io
import pathlib
import re
import subprocess
import sys

import pytest

import microgradx as mg
from microgradx.cli import main
from microgradx.formatting import fmt
from microgradx.practice import uses
from microgradx.worksheet import answers_html, worksheet_html

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])")


def visible_numbers(page: str) -> list[str]:
    """The numbers a reader sees: the page's text, without its stylesheet and its tags' attributes."""
    body = page.split("<body", 1)[1]
    return NUMBER.findall(re.sub(r"<[^>]*>", " ", body))


def sheet(seed: int, count: int, level: int, tmp_path) -> tuple[str, str, list]:
    out = tmp_path / f"sheet{seed}-{level}"
    assert (
        main(
            [
                "worksheet",
                "--count",
                str(count),
                "--seed",
                str(seed),
                "--level",
                str(level),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    exercises = [mg.exercise(seed * 1000 + k, level=level) for k in range(1, count + 1)]
    return (
        (out / "worksheet.html").read_text(encoding="utf-8"),
        (out / "answers.html").read_text(encoding="utf-8"),
        exercises,
    )


@pytest.mark.parametrize("level", [1, 2, 3])
def test_a_worksheet_holds_no_answer(tmp_path, level):
    page, _, exercises = sheet(5, 6, level, tmp_path)
    assert "<script" not in page and "application/json" not in page
    allowed = {str(k) for k in range(0, 7)} | {"5", "6"}  # exercise numbers, questions, count, level
    gradients = set()
    for ex in exercises:
        allowed |= {fmt(node.data) for node in ex.order}
        gradients |= {fmt(g) for g in ex.answers().values()}
    shown = visible_numbers(page)
    assert set(shown) <= allowed, set(shown) - allowed
    assert gradients - allowed, "this test needs gradients that are not also forward values"
    for g in gradients - allowed:
        assert g not in shown
    assert page.count('class="blank"') == sum(len(ex.answers()) for ex in exercises)


def test_the_answer_key_has_every_gradient_and_its_chain_rule(tmp_path):
    _, key, exercises = sheet(2, 4, 3, tmp_path)
    shown = visible_numbers(key)
    sections = key.split('<section class="exercise">')[1:]
    assert len(sections) == len(exercises)
    for ex, section in zip(exercises, sections, strict=True):
        for node in ex.order:
            if node.label:
                assert fmt(ex.answers()[node.label]) in shown
        twice = [n for n, used in uses(ex.output).items() if len(used) > 1 and n.label]
        assert twice  # level 3: a node with several uses, whose chain rule is a sum
        for node in twice:
            row = re.search(rf'<td class="node-name">{re.escape(node.label)}</td>.*?</tr>', section).group(0)
            assert row.count(" + ") >= 2  # the terms, then their numbers, each a sum


def test_worksheet_pages_are_the_same_from_the_same_seed(tmp_path):
    first = sheet(9, 3, 2, tmp_path)[:2]
    again = worksheet_html([mg.exercise(9000 + k, level=2) for k in (1, 2, 3)], seed=9)
    assert first[0] == again and first[1] == answers_html(
        [mg.exercise(9000 + k, level=2) for k in (1, 2, 3)], seed=9
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--count", "0"], "--count must be 1 to"),
        (["--count", "x"], "not a whole number"),
        (["--count", "2", "--level", "4"], "invalid choice"),
    ],
)
def test_worksheet_errors_are_one_line_and_write_nothing(tmp_path, capsys, argv, says):
    out = tmp_path / "out"
    assert main(["worksheet", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and not out.exists()


def test_worksheet_into_a_file_is_an_error(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("keep")
    assert main(["worksheet", "--count", "1", "--out", str(target)]) == 2
    assert "not a folder" in capsys.readouterr().err and target.read_text() == "keep"


def practice(monkeypatch, capsys, typed: str, *args: str) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    assert main(["practice", *args]) == 0
    return capsys.readouterr().out


def test_practice_checks_each_gradient_in_backward_order_with_its_note(monkeypatch, capsys):
    ex = mg.exercise(3, level=2)  # L = (o − y)², e = o − y = 1.5: dL/de = 3, dL/do = 3
    assert list(ex.answers())[:3] == ["L", "e", "o"] and ex.answers()["e"] == 3.0
    out = practice(monkeypatch, capsys, "-3\n3\n1\n?\n", "--seed", "3", "--level", "2")
    assert "sign is flipped" in out  # -3 for dL/de
    assert out.count("right") >= 1
    assert "local derivative ∂e/∂o = 1 alone" in out  # 1 for dL/do
    assert "it is 3" in out
    assert out.rstrip().endswith("Stopped: 1 right, 1 shown.")


def test_practice_to_the_end(monkeypatch, capsys):
    ex = mg.exercise(8, level=1)
    typed = "".join(f"{fmt(v)}\n" for k, v in ex.answers().items() if k != ex.output.label)
    out = practice(monkeypatch, capsys, typed, "--seed", "8")
    count = len(ex.answers()) - 1
    assert f"Done: {count} right, 0 shown, of {count}." in out


def test_practice_ends_cleanly_at_end_of_input():
    done = subprocess.run(
        [sys.executable, "-m", "microgradx", "practice", "--seed", "1"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "Stopped: 0 right, 0 shown." in done.stdout and not done.stderr


def test_the_docs_transcript_is_a_real_session(monkeypatch, capsys):
    page = (pathlib.Path(__file__).parent.parent / "docs" / "practice.md").read_text(encoding="utf-8")
    block = re.search(
        r"```text\n\$ microgradx practice --seed 3 --level 2\n\.\.\.\n(.*?)```", page, re.S
    ).group(1)
    lines = block.splitlines()
    prompt = re.compile(r"^(d\w+/d\w+) =(?: (.*))?$")
    typed, expected = [], []
    for line in lines:
        match = prompt.match(line)
        if match and not line.startswith("dL/dL"):
            typed.append(match.group(2) or "")
            expected.append(f"{match.group(1)} = ")  # the terminal echoes what is typed; a pipe does not
        elif expected and expected[-1].endswith(" = "):
            expected[-1] += line if line.startswith("  ") else "\n" + line
        else:
            expected.append(line)
    out = practice(monkeypatch, capsys, "".join(f"{t}\n" for t in typed[:-1]), "--seed", "3", "--level", "2")
    assert out.endswith("\n".join(expected) + "\n")
