"""The documentation never lies: every code block runs, every output shown is a real run's output.

Pages in `docs/` (and the README) follow two conventions:

* A ```` ```python ```` block followed directly by a ```` ```text title="Output" ```` block: the
  output block is what the Python block prints. The Python blocks also run under
  ``pytest --markdown-docs`` (pytest-markdown-docs), as its own test session.
* A block that continues the previous Python block's session (its names stay defined) is written
  ```` ```{.python continuation} ````, the brace form that both Material for MkDocs (PyMdown
  SuperFences) and pytest-markdown-docs (``--markdown-docs-syntax=superfences``) understand.
* A ```` ```console ```` block: each ``$ command`` line is followed by what the command prints
  (stdout and stderr). ``microgradx …`` runs the CLI and ``python examples/…`` an example, in a
  temporary directory.

In an output, a line ``...`` stands for any number of lines (shorten long runs that way). A block
right after an HTML comment ``<!-- slow -->`` is only re-run when ``MICROGRADX_SLOW_DOCS=1``.
After changing the code, refresh every output from real runs with::

    python tests/test_docs.py --update

and the site must build with ``mkdocs build --strict``, which a test here runs too.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from conftest import missing_requirement

from microgradx.rules import BUILT_IN, RULES

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
ELLIPSIS = "..."
SLOW = os.environ.get("MICROGRADX_SLOW_DOCS") == "1"
FENCE = re.compile(r"^(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)


@dataclass
class Block:
    """One fenced code block: its language, info string, text, and where its text sits in the page."""

    lang: str
    info: str
    options: tuple[str, ...]  # the info's other words: ("continuation",) or ('title="Output"',)
    body: str
    start: int  # offset of the body in the page text
    end: int
    line: int  # line number of the opening fence
    slow: bool


@dataclass
class Shown:
    """An output shown on a page, with how to produce it for real."""

    page: pathlib.Path
    line: int
    shown: str
    block: Block  # the block whose body (or part of it) is `shown`
    span: tuple[int, int]  # offsets of `shown` within the page text
    produce: tuple  # ("python", source, continuation) or ("console", command)
    slow: bool
    checked: bool = True  # False for a Python block that shows no output (it only runs)


def parse_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown page, in order (fences must start at the line start)."""
    blocks = []
    for match in FENCE.finditer(text):
        info = match["info"].strip()
        lang, *options = fence_words(info)
        before = text[: match.start()].rstrip()
        blocks.append(
            Block(
                lang=lang,
                info=info,
                options=tuple(options),
                body=match["body"],
                start=match.start("body"),
                end=match.end("body"),
                line=text.count("\n", 0, match.start()) + 1,
                slow=before.endswith("<!-- slow -->"),
            )
        )
    return blocks


def fence_words(info: str) -> list[str]:
    """The language and options of a fence's info string, plain (``python x``) or braced (``{.python x}``)."""
    if not info.startswith("{"):
        return info.split() or [""]
    words = info.strip("{}").split()
    lang = next((word for word in words if word.startswith(".")), ".")
    return [lang[1:], *(word for word in words if word != lang)]


def is_output(block: Block) -> bool:
    return block.lang == "text" and 'title="Output"' in block.info


def shown_outputs(page: pathlib.Path) -> list[Shown]:
    """Every output shown on `page`, paired with the code or command that produces it."""
    text = page.read_text("utf-8")
    blocks = parse_blocks(text)
    shown = []
    for i, block in enumerate(blocks):
        if block.lang == "python":
            after = blocks[i + 1] if i + 1 < len(blocks) else None
            between = text[block.end : after.start] if after else ""
            continuation = "continuation" in block.options
            if after and is_output(after) and re.fullmatch(r"\s*```+[ \t]*\n\s*```+[^\n]*\n", between):
                produce = ("python", block.body, continuation)
                span = (after.start, after.end)
                shown.append(Shown(page, after.line, after.body, after, span, produce, block.slow))
            else:  # still run it, so that continuations see its names
                produce = ("python", block.body, continuation)
                shown.append(Shown(page, block.line, "", block, (0, 0), produce, False, checked=False))
        elif block.lang == "console":
            lines = block.body.splitlines(keepends=True)
            offset = block.start
            command, out_start, out_lines = None, 0, []
            for line in [*lines, "$ "]:
                if line.startswith("$ "):
                    if command is not None:
                        end = out_start + sum(len(x) for x in out_lines)
                        shown.append(
                            Shown(
                                page,
                                block.line,
                                "".join(out_lines),
                                block,
                                (out_start, end),
                                ("console", command),
                                block.slow,
                            )
                        )
                    command, out_lines = line[2:].strip(), []
                    offset += len(line)
                    out_start = offset
                else:
                    out_lines.append(line)
                    offset += len(line)
    return shown


# --- running the code ------------------------------------------------------------------------------


def run_python(source: str, namespace: dict) -> str:
    """Run `source` in `namespace` and return what it printed."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(source, "<docs>", "exec"), namespace)
    return buffer.getvalue()


def run_console(command: str, cwd: pathlib.Path) -> str:
    """Run a ``$ command`` of a console block as a learner would, and return stdout and stderr."""
    argv = shlex.split(command)
    if argv[0] == "microgradx":
        argv = [sys.executable, "-m", "microgradx", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *(str(ROOT / a) if a.startswith("examples/") else a for a in argv[1:])]
    else:
        raise ValueError(f"console blocks may run microgradx or python, not {argv[0]!r}")
    env = {
        **os.environ,
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "100",
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        check=False,
    )
    return result.stdout


def actual_outputs(page: pathlib.Path, workdir: pathlib.Path) -> Iterator[tuple[Shown, str | None]]:
    """Each shown output of `page` with what a real run prints now (None for a skipped slow block)."""
    namespace: dict = {}
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        for item in shown_outputs(page):
            if item.slow and not SLOW:
                yield item, None
                continue
            if item.produce[0] == "python":
                _, source, continuation = item.produce
                if not continuation:
                    namespace = {"__name__": "__docs__"}
                yield item, run_python(source, namespace)
            else:
                yield item, run_console(item.produce[1], workdir)
    finally:
        os.chdir(previous)
        for op in set(RULES) - BUILT_IN:  # a page's ops of its own (custom_op) end with it, as its names do
            del RULES[op]


# --- comparing ---------------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(shown: str, actual: str) -> bool:
    """True when `actual` is `shown`, where a ``...`` line of `shown` stands for any lines."""
    want, got = _lines(shown), _lines(actual)
    if ELLIPSIS not in want:
        return want == got
    chunks, chunk = [], []
    for line in want:
        if line == ELLIPSIS:
            chunks.append(chunk)
            chunk = []
        else:
            chunk.append(line)
    chunks.append(chunk)
    head, *middle, tail = chunks
    if got[: len(head)] != head or (tail and got[len(got) - len(tail) :] != tail):
        return False
    position, stop = len(head), len(got) - len(tail)
    for part in middle:
        for start in range(position, stop - len(part) + 1):
            if got[start : start + len(part)] == part:
                position = start + len(part)
                break
        else:
            return False
    return position <= stop


def refreshed(shown: str, actual: str) -> str:
    """`actual` shortened the way `shown` is (head ``...`` tail), for ``--update``."""
    want, got = _lines(shown), _lines(actual)
    if ELLIPSIS not in want:
        return "\n".join(got) + "\n"
    cut = want.index(ELLIPSIS)
    tail = len(want) - cut - 1
    if ELLIPSIS in want[cut + 1 :] or cut + tail >= len(got):
        return "\n".join(got) + "\n"
    return "\n".join([*got[:cut], ELLIPSIS, *got[len(got) - tail :]]) + "\n"


# --- the tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_outputs_shown_are_what_the_code_prints(page: pathlib.Path, tmp_path: pathlib.Path) -> None:
    if why := missing_requirement(page):  # a page marked <!-- needs torch --> runs where torch is
        pytest.skip(why)
    wrong = []
    for item, actual in actual_outputs(page, tmp_path):
        if actual is not None and item.checked and not matches(item.shown, actual):
            wrong.append(f"{page.name}:{item.line}: shown\n{item.shown}\nbut a real run prints\n{actual}")
    assert not wrong, "\n\n".join(wrong) + "\n(refresh with: python tests/test_docs.py --update)"


def test_code_blocks_pass_pytest_markdown_docs(tmp_path: pathlib.Path) -> None:
    pytest.importorskip("pytest_markdown_docs")
    pages = [str(p) for p in PAGES if not missing_requirement(p)]  # the README's blocks: its own test
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--markdown-docs",
            "--markdown-docs-syntax=superfences",
            "-p",
            "no:cacheprovider",
            *pages,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout)


def test_docs_build_offline_without_warnings(tmp_path: pathlib.Path) -> None:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install '.[test]')")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",  # no --quiet: it hides the warnings that strict mode turns into errors
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)  # each one would abort a strict build outside this test
    for page in (
        "questions/proportional-to-input",
        "questions/from-gradient-to-update",
        "questions/isolating-each-weight",
        "pitfalls",
        "build-your-own",
    ):
        assert (tmp_path / "site" / page / "index.html").is_file()
    # The API page documents every method of Value, those made from the rule table included,
    # with its docstring; and building it runs nothing (importing microgradx.__main__ is quiet).
    api = (tmp_path / "site" / "api" / "index.html").read_text("utf-8")
    for op in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "backward"):
        assert f'id="microgradx.engine.Value.{op}"' in api, op
    assert "e to the power of this value" in api
    assert "invalid choice" not in result.stderr, result.stderr[-2000:]


def test_every_page_is_in_the_nav_and_the_readme_links_the_seed_pages() -> None:
    config = (ROOT / "mkdocs.yml").read_text("utf-8")
    for page in PAGES:
        assert f": {page.relative_to(DOCS).as_posix()}" in config, f"{page} is not in mkdocs.yml's nav"
    readme = (ROOT / "README.md").read_text("utf-8")
    for page in ("proportional-to-input", "from-gradient-to-update", "isolating-each-weight"):
        assert f"docs/questions/{page}.md" in readme
    for page in ("pitfalls", "build-your-own"):
        assert f"docs/{page}.md" in readme


def test_the_output_checker_accepts_only_real_output() -> None:
    assert matches("a\nb\n", "a\nb  \n\n")
    assert not matches("a\nb\n", "a\nc\n")
    assert matches("a\n...\nz\n", "a\nb\nc\nz\n") and matches("a\n...\nz\n", "a\nz\n")
    assert not matches("a\n...\nz\n", "a\nb\n") and not matches("a\n...\nc\n...\nz\n", "a\nb\nz\n")
    assert refreshed("a\n...\nz\n", "A\nb\nc\nZ\n") == "A\n...\nZ\n"


# --- refreshing the pages -----------------------------------------------------------------------------


def update(pages: list[pathlib.Path]) -> int:
    """Rewrite every shown output on `pages` from a real run; returns how many changed."""
    changed = 0
    for page in pages:
        with tempfile.TemporaryDirectory() as workdir:
            edits = []
            for item, actual in actual_outputs(page, pathlib.Path(workdir)):
                if actual is None or not item.checked or matches(item.shown, actual):
                    continue
                edits.append((item.span, refreshed(item.shown, actual)))
        text = page.read_text("utf-8")
        for (start, end), new in sorted(edits, reverse=True):
            text = text[:start] + new + text[end:]
        if edits:
            page.write_text(text, "utf-8")
            print(f"{page.relative_to(ROOT)}: {len(edits)} output(s) refreshed")
        changed += len(edits)
    return changed


if __name__ == "__main__":
    if sys.argv[1:2] != ["--update"]:
        sys.exit("usage: python tests/test_docs.py --update [PAGE.md ...]")
    chosen = [pathlib.Path(p).resolve() for p in sys.argv[2:]] or PAGES
    print(f"{update(chosen)} output(s) refreshed")


def test_no_page_says_seed_to_a_learner() -> None:
    """The learners' questions are "the questions", the neuron is "the sigmoid neuron": "seed" was
    project jargon. Only code may say it, as the name of a random seed (``seed=3``, ``--seed``)."""
    said = []
    for page in [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]:
        prose = re.sub(r"(?ms)^```.*?^```", "", page.read_text("utf-8"))  # code blocks
        prose = re.sub(r"`[^`\n]*`", "", prose)  # code spans
        said += [f"{page.name}: {m.group(0)}" for m in re.finditer(r"(?i).{0,30}\bseed.{0,30}", prose)]
    for page in sorted(DOCS.rglob("*.html")):
        titles = re.findall(r"<title>(.*?)</title>", page.read_text("utf-8"))
        said += [f"{page.name}: {title}" for title in titles if "seed" in title.lower()]
    assert not said, said
