"""mkdocs hook: every page says "Run in your browser", and ``mkdocs build`` builds the browser site.

After the pages, docs/hooks/lite/build.py writes the offline JupyterLite site (the notebooks, microgradx
preinstalled) and the playground into the site's ``lite/``. Its downloads are cached outside the
repository (~/.cache/microgradx-lite), so a rebuild takes seconds; when it cannot build (no npm, no
network for the first download, JupyterLite not installed) ``mkdocs build`` fails and says why.
``MICROGRADX_LITE=0 mkdocs serve`` skips it while writing pages (the links to lite/ then go nowhere).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import posixpath

from mkdocs.exceptions import PluginError

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "docs" / "hooks" / "lite" / "build.py"
NOTEBOOKS = ROOT / "examples" / "notebooks"


def _builder():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("microgradx_lite_build", BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_page_markdown(markdown: str, page, config, files) -> str:  # type: ignore[no-untyped-def]
    """Put the line "Run in your browser" at the top of the page: its own notebook where it has one."""
    lite = posixpath.relpath("lite", page.url or ".") + "/"
    stem = pathlib.PurePosixPath(page.file.src_uri).stem
    notebook = NOTEBOOKS / f"{stem}.ipynb"
    if notebook.is_file():
        target, what = f"{lite}notebooks/index.html?path={notebook.name}", "this page as a notebook"
    else:
        target, what = f"{lite}index.html", "the tour notebook"
    playground = f'<a href="{lite}playground.html">playground</a>'
    run = f'<a href="{target}"><strong>▶ Run in your browser</strong></a>'
    line = (
        f'<p class="run-in-browser" markdown="0">{run}: '
        f"{what}, nothing to install (or the {playground}: type an expression, see its gradients)</p>\n\n"
    )
    return line + markdown


def on_post_build(config) -> None:  # type: ignore[no-untyped-def]
    """Build the browser site into the docs site's lite/."""
    if os.environ.get("MICROGRADX_LITE") == "0":
        return
    builder = _builder()
    try:
        builder.build(pathlib.Path(config["site_dir"]) / "lite")
    except builder.BuildError as error:
        raise PluginError(f"the browser site (lite/) could not be built: {error}") from None
