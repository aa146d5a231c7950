"""Every Python block of the README runs: a section's blocks in order, as one session."""

from __future__ import annotations

import os
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def sections() -> list[tuple[str, list[str]]]:
    """(heading, python blocks) for each `## ` section of the README that has Python code."""
    found = []
    for part in re.split(r"^## ", README.read_text(encoding="utf-8"), flags=re.M)[1:]:
        heading = part.splitlines()[0]
        blocks = re.findall(r"^```python\n(.*?)^```", part, flags=re.M | re.S)
        if blocks:
            found.append((heading, blocks))
    return found


@pytest.mark.parametrize("heading, blocks", sections(), ids=[h for h, _ in sections()])
def test_readme_python_blocks_run(heading, blocks, tmp_path, capsys):
    if "trace_batch" in "".join(blocks):
        pytest.importorskip("numpy")
    here = os.getcwd()
    os.chdir(tmp_path)  # blocks may write files (model.json, pictures, pages)
    try:
        namespace: dict = {"__name__": "__readme__"}
        for code in blocks:
            exec(compile(code, f"README.md ({heading})", "exec"), namespace)
    finally:
        os.chdir(here)


def test_the_readme_has_the_two_quickstart_commands():
    text = README.read_text(encoding="utf-8")
    assert "pip install . && microgradx demo" in text
    assert "pip install '.[test]' && python -m pytest" in text


def test_the_readme_is_a_landing_page_of_at_most_10000_characters():
    text = README.read_text(encoding="utf-8")
    assert len(text) <= 10_000, len(text)
    assert "mg.explore" in text.split("## Docs")[0]  # visible before the list of pages
    assert "jupyter lab --allow-root" in text  # root users (containers) need it to start JupyterLab
    assert "seed" not in text.lower()


def test_the_quickstart_test_command_is_what_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet '.[test]'" in ci and "\npython -m pytest\n" in ci


def _slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading: ASCII, lower case, dashes."""
    import unicodedata

    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def test_every_link_of_the_readme_resolves_to_a_file_and_its_heading():
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert sum(link.startswith("docs/") and link.split("#")[0].endswith(".md") for link in links) >= 10
    for link in links:
        assert not re.match(r"[a-z]+:", link), f"{link}: the landing page links into the repository only"
        target, _, anchor = link.partition("#")
        path = README.parent / target
        assert path.is_file(), link
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.M)
            assert anchor in {_slug(h) for h in headings}, link


def test_the_taste_prints_what_the_readme_shows(capsys):
    text = README.read_text(encoding="utf-8")
    part = text.split("## A taste", 1)[1]
    code, shown = re.findall(r"```python\n(.*?)```\n\n```text\n(.*?)```", part, re.S)[0]
    exec(compile(code, "README.md (A taste)", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out == shown
