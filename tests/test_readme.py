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
