"""The Graphviz renderer programs: finding one (``dot``, else ``graphviz-pure``) and running it.

`draw` builds the picture as DOT text; turning that text into SVG, PNG or PDF takes a program.
Graphviz's ``dot`` is preferred when it is on PATH; otherwise ``graphviz-pure``, which comes with
``pip install microgradx``, writes SVG and PNG. `run_renderer` is the one place a program is
started, for `RendererDigraph` (what `draw` returns is one: its ``pipe``, ``render`` and inline
display) and `draw.render` alike; where nothing can run (no program installed, or the browser,
where Python starts no programs) `RendererNotFound` says what to do.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence

import graphviz

from microgradx._files import write_atomically

__all__ = [
    "WIDTH_NOTICE",
    "RendererDigraph",
    "RendererFailed",
    "RendererNotFound",
    "find_renderer",
    "run_renderer",
]

_PURE_FORMATS = {"svg", "png", "jpeg", "jpg", "jpe", "dot", "gv", "xdot", "canon", "json", "json0", "plain"}
_INSTALL = (
    "install one with `pip install graphviz-pure` (SVG and PNG) or Graphviz itself "
    "(`apt-get install graphviz`, `brew install graphviz`, or graphviz.org/download)"
)
_NEEDS_DOT = (
    "{format} needs Graphviz's dot (graphviz-pure writes SVG and PNG only): install it "
    "with `apt-get install graphviz` or `brew install graphviz`, or write .svg/.png instead"
)

# graphviz-pure sizes text with Graphviz's built-in font metrics (its "textspan_lut"), which hold
# widths for ASCII only, under every font name (Helvetica, Arial, Arimo, Times, DejaVu Sans...: no
# name avoids it). The first non-ASCII byte it measures (the "−" of a negative number, "·", "σ", "²",
# any label beyond ASCII) makes it print this notice once per run, and it counts each byte of that
# character as a space: about right for what microgradx writes (a "−" counts as three spaces, a
# little wide; a "σ" as two, about its width). No DOT we could write avoids the notice, and it
# says nothing a learner can act on, so a drawing drops this one line from the renderer's stderr;
# every other message passes.
WIDTH_NOTICE = re.compile(
    r"^(?:Warning: )+no value for width of non-ASCII character \d+\. "
    r"Falling back to width of space character\r?\n?",
    re.M,
)


class RendererNotFound(graphviz.ExecutableNotFound):
    """No program on this machine can render the requested format; the message says what to install.

    A `RuntimeError` (and a `graphviz.ExecutableNotFound`, so code written for the graphviz package
    catches it too). DOT files need no renderer: ``render(value, "graph.dot")`` always works.
    """

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)


class RendererFailed(graphviz.CalledProcessError, RuntimeError):
    """The renderer ran but wrote no picture (it exited with an error, or wrote nothing).

    A `RuntimeError`, and a `graphviz.CalledProcessError` (with the command, its exit status and
    what it wrote) as the graphviz package raises; the message ends with the renderer's own words.
    """

    def __init__(
        self, message: str, returncode: int, command: list[str], stdout: bytes, stderr: bytes
    ) -> None:
        graphviz.CalledProcessError.__init__(self, returncode, command, output=stdout, stderr=stderr)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _graphviz_pure() -> str | None:
    """The ``graphviz-pure`` program installed with this Python (its scripts folder), else on PATH."""
    exe = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    for folder in (pathlib.Path(sys.executable).parent, pathlib.Path(sysconfig.get_path("scripts"))):
        candidate = folder / exe
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("graphviz-pure")


def find_renderer(format: str = "svg") -> str | None:
    """The program that will render `format`: Graphviz's ``dot`` if on PATH, else ``graphviz-pure``.

    Returns its path, or None when nothing here can render `format` (graphviz-pure writes SVG and
    PNG but not PDF).
    """
    dot = shutil.which("dot")
    if dot:
        return dot
    if format.lower() in _PURE_FORMATS:
        return _graphviz_pure()
    return None


def _is_pure(program: str) -> bool:
    return pathlib.Path(program).name.startswith("graphviz-pure")


def _require_renderer(format: str, program: str | None = None) -> str:
    """The renderer for `format` (or check the given one), raising `RendererNotFound` with advice."""
    format = format.lower()
    if program is not None:
        found = shutil.which(program)
        if found is None:
            raise RendererNotFound(f"renderer {program!r} was not found; {_INSTALL}")
    else:
        found = find_renderer(format)
    if found is None:
        if sys.platform == "emscripten":  # Pyodide: no program can run at all
            raise RendererNotFound(
                f"no renderer can write {format.upper()} in the browser (Python cannot run programs there): "
                "show the drawing in a notebook cell (it displays the stepper's picture) or write a .dot file"
            )
        if _graphviz_pure() is not None:
            raise RendererNotFound(_NEEDS_DOT.format(format=format.upper()))
        raise RendererNotFound(f"no Graphviz renderer found to write {format.upper()}: {_INSTALL}")
    if _is_pure(found) and format not in _PURE_FORMATS:
        raise RendererNotFound(_NEEDS_DOT.format(format=format.upper()))
    return found


def run_renderer(
    source: bytes,
    format: str,
    arguments: Sequence[str],
    *,
    program: str | None = None,
    quiet: bool = False,
    cwd: pathlib.Path | None = None,
) -> bytes:
    """Pipe the DOT `source` into the renderer for `format` and return the picture it writes.

    The program is `program` if given, else the one `find_renderer` picks; `arguments` follow it
    (``-Tsvg`` and the like). Its messages go to stderr unless `quiet`, but for graphviz-pure's
    notice about non-ASCII widths (`WIDTH_NOTICE`). Raises `RendererNotFound` when no program can
    render `format` or it cannot be started, `RendererFailed` when it fails or writes nothing.
    """
    exe = _require_renderer(format, program)
    command = [exe, *arguments]
    try:
        result = subprocess.run(command, input=source, capture_output=True,
                                cwd=cwd if cwd and cwd.parts else None, check=False)
    except OSError as error:
        raise RendererNotFound(f"could not run {exe!r}; {_INSTALL}") from error
    message = result.stderr.decode("utf-8", "replace")
    if result.returncode != 0 or not result.stdout:
        detail = message.strip() or f"exit status {result.returncode}"
        raise RendererFailed(
            f"{pathlib.Path(exe).name} could not render {format.upper()}: {detail}",
            result.returncode, command, result.stdout, result.stderr,
        )
    if _is_pure(exe):
        message = WIDTH_NOTICE.sub("", message)
    if not quiet and message:
        sys.stderr.write(message)
        sys.stderr.flush()
    return result.stdout


class RendererDigraph(graphviz.Digraph):
    """A `graphviz.Digraph` whose ``pipe`` and ``render`` run `run_renderer`: ``dot`` when installed,
    else ``graphviz-pure``; where neither exists, `RendererNotFound` says how to get one.

    Jupyter's inline display goes through ``pipe`` too, so it works after ``pip install microgradx``.
    """

    def pipe(  # type: ignore[override]
        self,
        format: str | None = None,
        renderer: str | None = None,
        formatter: str | None = None,
        neato_no_op: bool | int | None = None,
        quiet: bool = False,
        *,
        engine: str | None = None,
        encoding: str | None = None,
    ) -> bytes | str:
        """`graphviz.Digraph.pipe`: the picture's bytes (or text, given `encoding`), from our renderer."""
        data = self._run(format or self.format, renderer, formatter, neato_no_op, quiet, engine)
        return data if encoding is None else data.decode(encoding)

    def render(  # type: ignore[override]
        self,
        filename: str | os.PathLike[str] | None = None,
        directory: str | os.PathLike[str] | None = None,
        view: bool = False,
        cleanup: bool = False,
        format: str | None = None,
        renderer: str | None = None,
        formatter: str | None = None,
        neato_no_op: bool | int | None = None,
        quiet: bool = False,
        quiet_view: bool = False,
        *,
        outfile: str | os.PathLike[str] | None = None,
        engine: str | None = None,
        raise_if_result_exists: bool = False,
        overwrite_source: bool = False,
    ) -> str:
        """`graphviz.Digraph.render`: save the DOT source, then write the picture beside it (or to
        `outfile`) with our renderer, atomically; returns the picture's path."""
        if outfile is not None:
            outfile = pathlib.Path(outfile)
            format = format or outfile.suffix[1:].lower() or None
            if directory is None:
                outfile = pathlib.Path(self.directory, outfile)
            if filename is None:
                filename = outfile.with_suffix(".gv")
        format = format or self.format
        source = pathlib.Path(self.save(filename, directory=directory))
        suffix = ".".join(part for part in (formatter, renderer, format) if part)
        target = outfile or source.with_name(f"{source.name}.{suffix}")
        if raise_if_result_exists and target.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(target)!r}")
        data = self._run(format, renderer, formatter, neato_no_op, quiet, engine, source.parent)
        write_atomically(target, data)  # (the source was read from memory: overwriting it is harmless)
        if cleanup:
            source.unlink()
        if view or quiet_view:
            graphviz.view(target, quiet=quiet_view)
        return os.fspath(target)

    def _run(
        self,
        format: str,
        renderer: str | None,
        formatter: str | None,
        neato_no_op: bool | int | None,
        quiet: bool,
        engine: str | None,
        cwd: pathlib.Path | None = None,
    ) -> bytes:
        """The picture in `format`, with graphviz's own command-line options (``-K``, ``-T``, ``-n``)."""
        output = ":".join(part for part in (format, renderer, formatter) if part)
        arguments = [f"-K{engine or self.engine}", f"-T{output}"]
        if neato_no_op:
            arguments.append(f"-n{int(neato_no_op)}")
        return run_renderer(self.source.encode(self.encoding), format, arguments, quiet=quiet, cwd=cwd)
