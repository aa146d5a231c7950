"""Build the notebooks as an offline JupyterLite site, and the playground, into the docs site's ``lite/``.

``mkdocs build`` runs this (docs/hooks/lite.py); ``python docs/hooks/lite/build.py OUT`` runs it alone. Every
piece is pinned and comes from a package registry, so the site makes no request to anything but
its own folder:

- JupyterLite itself: ``jupyterlite-core`` and ``jupyterlite-pyodide-kernel`` `JUPYTERLITE` (the
  ``lite`` extra), built with ``jupyter lite build``;
- Pyodide's core files from the npm package ``pyodide`` of the version the kernel expects
  (`PYODIDE`), fetched once with ``npm pack``;
- the wheels the kernel loads (`WHEELS`: micropip, IPython and what it needs) at the versions of
  Pyodide's lock, from PyPI with ``pip download --python-version 3.14 --only-binary :all:``, and
  Pyodide's lock rewritten to list exactly these (with their own hashes), the kernel's own wheels
  (`KERNEL_PACKAGES`) and microgradx, a wheel built from this checkout; all of them load with Python
  when the kernel starts (nothing is installed after), so ``import microgradx`` just works;
- ``disablePyPIFallback``: a ``%pip install`` of anything else says it is not here, offline.

Downloads are kept in `CACHE` (``~/.cache/microgradx-lite``, or ``$MICROGRADX_LITE_CACHE``), outside
the repository, with the last site built (reused while its `fingerprint` holds). Anything missing
(npm, the pinned packages, a download) stops the build with a message saying what to do: the site
is never silently half-made.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from importlib import metadata

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
NOTEBOOKS = ROOT / "examples" / "notebooks"
IMAGES = ROOT / "docs" / "images"
CACHE = pathlib.Path(os.environ.get("MICROGRADX_LITE_CACHE") or "~/.cache/microgradx-lite").expanduser()

JUPYTERLITE = "0.8.6"
"""jupyterlite-core and jupyterlite-pyodide-kernel: the version this build was made and tested with."""
PYODIDE = "314.0.6"
"""The npm package ``pyodide`` the kernel of `JUPYTERLITE` expects (its constants.PYODIDE_VERSION)."""
WHEELS = {
    # what the kernel loads at start (micropip, IPython, jedi and their needs): the lock's versions
    "micropip": "0.11.1",
    "ipython": "9.12.0",
    "asttokens": "3.0.1",
    "decorator": "5.2.1",
    "executing": "2.2.1",
    "matplotlib-inline": "0.2.1",
    "prompt-toolkit": "3.0.52",
    "pure-eval": "0.2.3",
    "pygments": "2.20.0",
    "six": "1.17.0",
    "stack-data": "0.6.3",
    "traitlets": "5.14.3",
    "wcwidth": "0.6.0",
    "jedi": "0.19.2",
    "parso": "0.8.6",
    # not in Pyodide's lock: the kernel's comm, and microgradx's own dependency
    "comm": "0.2.3",
    "graphviz": "0.21",
}
"""Every wheel the site holds besides microgradx's and the kernel's own: name -> pinned version."""
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
"""The files of the npm package the browser loads (the rest are types, maps and demos)."""
START_NOTEBOOK = "tour.ipynb"


class BuildError(RuntimeError):
    """The site cannot be built here; the message says what is missing and how to get it."""


def _say(message: str) -> None:
    print(f"lite: {message}", file=sys.stderr, flush=True)


def _run(command: list[str], what: str, **kwargs: object) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    except OSError as error:
        raise BuildError(f"{what}: could not run {command[0]!r} ({error})") from None
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        if os.environ.get("MICROGRADX_LITE_VERBOSE"):
            tail = result.stdout + result.stderr
        raise BuildError(f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{tail}")


def check_versions() -> None:
    """The pinned JupyterLite is installed here, or a `BuildError` saying how to install it."""
    for name in ("jupyterlite-core", "jupyterlite-pyodide-kernel"):
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            found = None
        if found != JUPYTERLITE:
            raise BuildError(
                f"the browser site needs {name}=={JUPYTERLITE} (found {found or 'none'}): "
                "pip install -e '.[lite]' (or '.[docs]', '.[test]')"
            )


def pyodide_tarball(cache: pathlib.Path) -> pathlib.Path:
    """The npm package ``pyodide@PYODIDE``, fetched into the cache with ``npm pack`` the first time."""
    target = cache / "npm" / f"pyodide-{PYODIDE}.tgz"
    if not target.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise BuildError("the browser site needs npm (to fetch the pyodide package): apt-get install npm")
        target.parent.mkdir(parents=True, exist_ok=True)
        _say(f"fetching pyodide@{PYODIDE} from npm")
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            _run([npm, "pack", f"pyodide@{PYODIDE}", "--pack-destination", tmp], "npm pack pyodide")
            packed = pathlib.Path(tmp) / target.name
            if not packed.is_file():
                raise BuildError(f"npm pack did not write {packed.name}")
            packed.replace(target)
    return target


def _wheel_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _cached_wheel(folder: pathlib.Path, name: str, version: str) -> pathlib.Path | None:
    for path in folder.glob("*.whl"):
        dist, ver = path.name.split("-")[:2]
        if _wheel_name(dist) == _wheel_name(name) and ver == version:
            return path
    return None


def wheels(cache: pathlib.Path) -> dict[str, pathlib.Path]:
    """The pinned `WHEELS`, downloaded from PyPI into the cache the first time: name -> file."""
    folder = cache / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    missing = [
        f"{name}=={version}" for name, version in WHEELS.items() if not _cached_wheel(folder, name, version)
    ]
    if missing:
        _say(f"downloading {len(missing)} wheels for Python 3.14 (Pyodide)")
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--python-version",
            "3.14",
            "--implementation",
            "py",
            "--dest",
            str(folder),
            *missing,
        ]
        _run(command, "pip download", env={**os.environ, "PIP_CONSTRAINT": ""})
    found = {name: _cached_wheel(folder, name, version) for name, version in WHEELS.items()}
    lost = [name for name, path in found.items() if path is None]
    if lost:
        raise BuildError(f"pip download did not bring {', '.join(lost)} into {folder}")
    return found  # type: ignore[return-value]


def _can_build_here() -> bool:
    """Whether this Python has the build backend pyproject.toml asks for (setuptools>=68, wheel)."""
    try:
        major = int(metadata.version("setuptools").split(".")[0])
        metadata.version("wheel")
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return major >= 68


def microgradx_wheel(dest: pathlib.Path) -> pathlib.Path:
    """A wheel of this checkout's microgradx, built into `dest` (with this Python's setuptools when it
    has the one pyproject.toml asks for: an isolated build environment costs ~10 s more)."""
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dest)]
    if _can_build_here():
        command.append("--no-build-isolation")
    source = dest / "source"  # a copy: an in-place build would leave build/ (and stale files) in the checkout
    shutil.copytree(ROOT / "microgradx", source / "microgradx", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    _run([*command, str(source)], "building microgradx's wheel", env={**os.environ, "PIP_CONSTRAINT": ""})
    built = sorted(dest.glob("microgradx-*.whl"))
    if len(built) != 1:
        raise BuildError(f"building microgradx's wheel left {len(built)} wheels in {dest}")
    return built[0]


def _sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _lock_entry(path: pathlib.Path, name: str, version: str, depends: list[str], imports: list[str]) -> dict:
    return {
        "name": name,
        "version": version,
        "file_name": path.name,
        "install_dir": "site",
        "sha256": _sha256(path),
        "package_type": "package",
        "imports": imports,
        "depends": depends,
        "unvendored_tests": False,
        "shared_library": False,
    }


KERNEL_PACKAGES = {
    "piplite": (["piplite"], ["micropip"]),
    "pyodide-kernel": (["pyodide_kernel"], ["ipython", "comm"]),
    "ipykernel": (["ipykernel"], ["pyodide-kernel"]),
}
"""The kernel's wheels (shipped inside jupyterlite-pyodide-kernel): name -> (imports, depends)."""


def _kernel_wheel(name: str) -> pathlib.Path:
    """One of the kernel's own wheels, from the JupyterLite extension installed with this Python."""
    folder = pathlib.Path(
        sys.prefix,
        "share",
        "jupyter",
        "labextensions",
        "@jupyterlite",
        "pyodide-kernel-extension",
        "static",
        "pypi",
    )
    found = sorted(folder.glob(f"{_wheel_name(name)}-*-py3-none-any.whl"))
    if len(found) != 1:
        raise BuildError(f"expected one {name} wheel in {folder}, found {len(found)}")
    return found[0]


def write_pyodide(
    folder: pathlib.Path, tarball: pathlib.Path, wheel_files: dict[str, pathlib.Path], ours: pathlib.Path
) -> None:
    """Pyodide's core files and the wheels in `folder`, with a lock listing exactly what is there."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for name in PYODIDE_FILES:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise BuildError(f"{tarball.name} has no {name}")
            (folder / name).write_bytes(member.read())
    lock = json.loads((folder / "pyodide-lock.json").read_text("utf-8"))
    old = lock["packages"]
    packages = {}
    for name, path in wheel_files.items():
        shutil.copy2(path, folder / path.name)
        if name in old:  # keep what Pyodide says it imports and needs; the file and hash are ours
            entry = {**old[name], "file_name": path.name, "sha256": _sha256(path), "version": WHEELS[name]}
        else:
            entry = _lock_entry(path, name, WHEELS[name], [], [_wheel_name(name)])
        packages[name] = entry
    for name, (imports, depends) in KERNEL_PACKAGES.items():  # the kernel's own, loaded with Python
        path = _kernel_wheel(name)
        shutil.copy2(path, folder / path.name)
        packages[name] = _lock_entry(folder / path.name, name, path.name.split("-")[1], depends, imports)
    shutil.copy2(ours, folder / ours.name)
    version = ours.name.split("-")[1]
    packages["microgradx"] = _lock_entry(
        folder / ours.name, "microgradx", version, ["graphviz"], ["microgradx"]
    )
    lost = {dep for entry in packages.values() for dep in entry["depends"]} - set(packages)
    lost = {dep for dep in lost if dep.replace("_", "-") not in packages}
    if lost:
        raise BuildError(f"the rewritten Pyodide lock misses {', '.join(sorted(lost))}: add them to WHEELS")
    lock["packages"] = packages
    (folder / "pyodide-lock.json").write_text(json.dumps(lock, indent=1), "utf-8")


def notebooks() -> list[pathlib.Path]:
    """Every notebook of examples/notebooks (the site holds whatever is there)."""
    found = sorted(NOTEBOOKS.glob("*.ipynb"))
    if not any(path.name == START_NOTEBOOK for path in found):
        raise BuildError(f"{NOTEBOOKS} has no {START_NOTEBOOK}")
    return found


_DOCS_IMAGE = re.compile(r"\((?:\.\./)+docs/images/([\w.-]+)\)")


def write_contents(folder: pathlib.Path) -> list[pathlib.Path]:
    """The notebooks, without their outputs (a learner runs them), and the images they show."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir()
    for path in notebooks():
        notebook = json.loads(path.read_text("utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
            else:
                text = "".join(cell["source"])
                for image in _DOCS_IMAGE.findall(text):
                    shutil.copy2(IMAGES / image, folder / "images" / image)
                cell["source"] = _DOCS_IMAGE.sub(r"(images/\1)", text)
        notebook["metadata"]["kernelspec"] = {
            "name": "python",
            "display_name": "Python (Pyodide)",
            "language": "python",
        }
        (folder / path.name).write_text(json.dumps(notebook, indent=1, ensure_ascii=False), "utf-8")
    return sorted(folder.iterdir())


CONFIG = {
    "jupyter-lite-schema-version": 0,
    "jupyter-config-data": {
        "appName": "microgradx in your browser",
        "litePluginSettings": {
            "@jupyterlite/pyodide-kernel-extension:kernel": {
                "disablePyPIFallback": True,
                # everything the kernel needs, loaded (in parallel) with Python itself: the kernel
                # then installs nothing at start; and microgradx, so `import microgradx` just works
                "loadPyodideOptions": {"packages": [*WHEELS, *KERNEL_PACKAGES, "microgradx"]},
            }
        },
    },
}

INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>microgradx in your browser</title>
<meta http-equiv="refresh" content="0; url=notebooks/index.html?path={start}">
<!-- every JupyterLite page reads the site's settings from this element of the site's index.html -->
<script id="jupyter-config-data" type="application/json" data-jupyter-lite-root=".">{{}}</script>
</head><body>
<p>Opening <a href="notebooks/index.html?path={start}">the tour notebook</a>...</p>
<p>The other notebooks: {others}. Or the <a href="playground.html">playground</a>: type an expression, see its
graph and its gradients.</p>
</body></html>
"""


def fingerprint() -> str:
    """A hash of everything the built site depends on: this folder, the notebooks and the images they
    show, microgradx's source and pyproject.toml, the pins, and the Jupyter extensions installed here
    (JupyterLite bundles those it finds)."""
    digest = hashlib.sha256()
    files = [
        *sorted(HERE.glob("*.*")),
        *notebooks(),
        *sorted(IMAGES.glob("*")),
        ROOT / "pyproject.toml",
        *sorted(p for p in (ROOT / "microgradx").rglob("*") if p.is_file() and "__pycache__" not in p.parts),
    ]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    extensions = pathlib.Path(sys.prefix, "share", "jupyter", "labextensions")
    for package in sorted(extensions.rglob("package.json")) if extensions.is_dir() else []:
        digest.update(package.read_bytes())
    digest.update(json.dumps([PYODIDE, JUPYTERLITE, WHEELS, CONFIG, sys.prefix]).encode())
    return digest.hexdigest()[:16]


def build(out: pathlib.Path, cache: pathlib.Path = CACHE) -> None:
    """Write the JupyterLite site and the playground into `out` (replaced whole).

    The last site built is kept in the cache under its `fingerprint`: a build with the same inputs
    (a second ``mkdocs build``, the tests' build after the docs test's) copies it instead."""
    started = time.perf_counter()
    check_versions()
    kept = cache / f"site-{fingerprint()}"
    if not (kept / "index.html").is_file():
        for old in cache.glob("site-*"):
            if re.fullmatch(r"site-[0-9a-f]{16}", old.name):  # (another build's partial stays)
                shutil.rmtree(old, ignore_errors=True)
        cache.mkdir(parents=True, exist_ok=True)
        partial = pathlib.Path(tempfile.mkdtemp(prefix=f"{kept.name}.partial-", dir=cache)) / "site"
        try:
            _build(partial, cache)
            partial.replace(kept)
        except OSError:  # a build running beside this one made it first: its copy is as good
            if not (kept / "index.html").is_file():
                raise
        finally:
            shutil.rmtree(partial.parent, ignore_errors=True)
    else:
        _say(f"reusing the site built from the same inputs ({kept.name})")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(kept, out)
    _say(f"built {out} in {time.perf_counter() - started:.1f} s")


def _build(out: pathlib.Path, cache: pathlib.Path) -> None:
    tarball = pyodide_tarball(cache)
    wheel_files = wheels(cache)
    with tempfile.TemporaryDirectory(prefix="microgradx-lite-") as tmp:
        work = pathlib.Path(tmp)
        ours = microgradx_wheel(work / "dist")
        lite_dir = work / "lite"
        write_pyodide(lite_dir / "static" / "pyodide", tarball, wheel_files, ours)
        (lite_dir / "jupyter-lite.json").write_text(json.dumps(CONFIG, indent=1), "utf-8")
        contents = write_contents(work / "contents")
        staged = work / "site"
        command = [
            sys.executable,
            "-m",
            "jupyterlite_core",
            "build",
            "--lite-dir",
            str(lite_dir),
            "--output-dir",
            str(staged),
            "--apps",
            "notebooks",
            "--apps",
            "lab",
            "--no-sourcemaps",
            "--no-unused-shared-packages",
        ]
        for path in contents:
            command += ["--contents", str(path)]
        env = {k: v for k, v in os.environ.items() if k != "JUPYTERLITE_PYODIDE_URL"}  # ours: static/pyodide
        _run(command, "jupyter lite build", cwd=work, env=env)
        if not (staged / "static" / "pyodide" / "pyodide.mjs").is_file():
            raise BuildError("jupyter lite build did not copy Pyodide into the site")
        others = ", ".join(
            f'<a href="notebooks/index.html?path={p.name}">{p.stem.replace("-", " ")}</a>'
            for p in notebooks()
            if p.name != START_NOTEBOOK
        )
        (staged / "index.html").write_text(INDEX.format(start=START_NOTEBOOK, others=others), "utf-8")
        for name in ("playground.html", "playground.js", "playground.py"):
            shutil.copy2(HERE / name, staged / name)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path, help="the folder to write (the docs site's lite/)")
    args = parser.parse_args(argv)
    try:
        build(args.out)
    except BuildError as error:
        print(f"lite: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
