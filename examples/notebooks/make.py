"""Make the notebooks in this folder from the documentation pages they come from, and run them.

Each notebook is one page of ``docs/`` (the tour, the three question pages, the pitfalls and
build-your-own), so there is one text to keep: the page. Its prose becomes Markdown cells
(admonitions as quotes, links and images pointing where they point from here), each
```` ```python ```` block a code cell, and the ``Output`` block shown after it on the page is left
out: the notebook shows the real output of running the cell. ``python examples/notebooks/make.py``
rewrites every notebook and runs it top to bottom in a fresh kernel, so that what is committed
carries its outputs; the tests (``tests/test_notebooks.py``) check that the committed notebooks
are what this makes of today's pages and that running them again gives the same outputs.

Needs the ``notebook`` extra (or ``test``): nbformat, nbclient and ipykernel.
"""

from __future__ import annotations

import os
import pathlib
import re
import sys
import tempfile
import textwrap

import nbformat

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOCS = ROOT / "docs"
PAGES = [
    DOCS / "tour.md",
    DOCS / "questions" / "proportional-to-input.md",
    DOCS / "questions" / "from-gradient-to-update.md",
    DOCS / "questions" / "isolating-each-weight.md",
    DOCS / "pitfalls.md",
    DOCS / "build-your-own.md",
    DOCS / "practice.md",
    DOCS / "to-pytorch.md",
]
"""The pages that are notebooks; each becomes ``<its name>.ipynb`` in this folder."""

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
TIMEOUT = 300  # seconds one cell may run

FENCE = re.compile(r"^(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*\n?", re.M | re.S)
ADMONITION = re.compile(r'^(?:!!!|\?\?\?\+?) *(?P<kind>\w+)(?: +"(?P<title>[^"]*)")? *\n', re.M)
LINK = re.compile(r"(?P<open>!?\[[^\]]*\]\()(?P<target>[^)\s]+)(?P<close>\))")


def notebook_path(page: pathlib.Path) -> pathlib.Path:
    """Where the notebook made from `page` lives."""
    return HERE / f"{page.stem}.ipynb"


def notebook_from_page(page: pathlib.Path) -> nbformat.NotebookNode:
    """The notebook of `page`, without outputs: Markdown cells for the prose, code cells for the code."""
    text = page.read_text("utf-8")
    cells: list[nbformat.NotebookNode] = []
    prose: list[str] = []

    def add_prose() -> None:
        markdown = _markdown(page, "".join(prose)).strip("\n")
        prose.clear()
        if markdown.strip():
            cells.append(nbformat.v4.new_markdown_cell(markdown, id=f"{page.stem}-{len(cells)}"))

    position, skip_output = 0, False
    for match in FENCE.finditer(text):
        between = text[position : match.start()]
        info = match["info"].strip()
        words = info.strip("{}").split()  # ```python …``` or the braced ```{.python continuation}```
        if info.startswith("{"):
            lang = next((w[1:] for w in words if w.startswith(".")), "")
        else:
            lang = words[0] if words else ""
        position = match.end()
        if skip_output and not between.strip() and lang == "text" and 'title="Output"' in info:
            skip_output = False
            continue  # the page shows the output of the cell before: the notebook has the real one
        skip_output = False
        prose.append(between)
        if lang == "python":
            add_prose()
            source = match["body"].rstrip("\n")
            cells.append(nbformat.v4.new_code_cell(source, id=f"{page.stem}-{len(cells)}"))
            skip_output = True
        else:
            prose.append(match.group(0))
    prose.append(text[position:])
    add_prose()
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return notebook


def _markdown(page: pathlib.Path, text: str) -> str:
    """MkDocs Markdown as a notebook shows it: admonitions as block quotes, links relative to here."""
    text = re.sub(r"^<!--.*?-->[ \t]*\n", "", text, flags=re.M)  # markers for the docs tests
    text = _quote_admonitions(text)
    return LINK.sub(lambda m: m["open"] + _target(page, m["target"]) + m["close"], text)


def _quote_admonitions(text: str) -> str:
    """``!!! question "Title"`` and its indented body as a block quote headed by the title in bold."""
    out, position = [], 0
    for match in ADMONITION.finditer(text):
        if match.start() < position:
            continue
        body = re.match(r"(?:(?:    .*|[ \t]*)\n)*", text[match.end() :])
        lines = textwrap.dedent(body.group(0) if body else "").rstrip("\n").splitlines()
        title = match["title"] or match["kind"].capitalize()
        quoted = [f"> **{title}**", ">", *(f"> {line}".rstrip() for line in lines)]
        out += [text[position : match.start()], "\n".join(quoted), "\n\n"]
        position = match.end() + (body.end() if body else 0)
    out.append(text[position:])
    return "".join(out)


def _target(page: pathlib.Path, target: str) -> str:
    """A link target of `page` as seen from this folder: a page that is a notebook links to it."""
    if re.match(r"[a-z][a-z0-9+.-]*:|#", target):
        return target  # a web address, mailto: or an anchor on the same page
    path, _, anchor = target.partition("#")
    resolved = (page.parent / path).resolve()
    if resolved in PAGES:
        relative = notebook_path(resolved).name
    else:
        relative = pathlib.Path(os.path.relpath(resolved, HERE)).as_posix()
    return relative + (f"#{anchor}" if anchor else "")


def execute(notebook: nbformat.NotebookNode, cwd: str | os.PathLike[str]) -> nbformat.NotebookNode:
    """Run every cell of `notebook` top to bottom in a fresh python3 kernel started in `cwd`."""
    from nbclient import NotebookClient  # imported here: making a notebook needs no kernel

    client = NotebookClient(
        notebook,
        timeout=TIMEOUT,
        kernel_name=KERNELSPEC["name"],
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
    )
    client.execute()
    notebook.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return notebook


def made(page: pathlib.Path) -> nbformat.NotebookNode:
    """The notebook of `page`, run in a scratch folder (so the files its cells write go nowhere)."""
    with tempfile.TemporaryDirectory() as scratch:
        return execute(notebook_from_page(page), scratch)


def main() -> int:
    from microgradx._files import write_atomically

    chosen = [pathlib.Path(p).resolve() for p in sys.argv[1:]] or PAGES
    for page in chosen:
        if page not in PAGES:
            print(f"{page} is not a page with a notebook; these are: {', '.join(map(str, PAGES))}")
            return 2
        notebook = made(page)
        write_atomically(notebook_path(page), nbformat.writes(notebook) + "\n")
        print(f"{notebook_path(page).relative_to(ROOT)}: {len(notebook.cells)} cells, run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
