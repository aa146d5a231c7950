"""The suite's own hygiene: every doctest in the package runs, and hypothesis is derandomised in CI."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil

import pytest
from hypothesis import settings

import microgradx

# A module's doctests that need an optional extra (the module itself imports without it).
NEEDS = {"microgradx.sym": "sympy"}
MODULES = sorted(
    info.name
    for info in pkgutil.iter_modules(microgradx.__path__, "microgradx.")
    if info.name != "microgradx.__main__"  # running it would run the command line
)


def doctests_of(name: str) -> list[doctest.DocTest]:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:  # a module of an optional extra, whose extra is missing
        if error.name and not error.name.startswith("microgradx"):
            pytest.skip(f"{name} needs {error.name} (an optional extra)")
        raise
    return [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, name) if t.examples]


@pytest.mark.parametrize("name", MODULES)
def test_the_modules_doctests_pass(name):
    if NEEDS.get(name):
        pytest.importorskip(NEEDS[name])
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctests_of(name):
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} doctest(s) of {name} failed (see the output above)"


def test_there_are_doctests_to_run():
    # so that a change to the finder (or to the modules) cannot make the test above check nothing
    found = [t.name for name in MODULES if not NEEDS.get(name) for t in doctests_of(name)]
    assert len(found) >= 8, found


def test_hypothesis_is_derandomised_exactly_when_ci_is_set():
    chosen = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    assert settings.default.derandomize is (chosen == "ci")


def test_reading_the_engine_points_at_the_lines_it_names():
    # docs/how-it-works.md tells a learner which lines of engine.py to read, in order; the numbers
    # must follow the code, and the file must stay the size the page promises.
    import inspect
    import pathlib
    import re

    from microgradx import engine

    root = pathlib.Path(__file__).resolve().parents[1]
    page = (root / "docs" / "how-it-works.md").read_text("utf-8")
    rows = re.findall(r"^\| \d+ \| `(\w+)` \| (\d+)–(\d+) \|", page, re.M)
    assert len(rows) >= 8, rows
    for name, first, last in rows:
        lines, start = inspect.getsourcelines(getattr(engine, name))
        assert (int(first), int(last)) == (start, start + len(lines) - 1), name
    assert "`microgradx/engine.py` (250 lines at most)" in page
    assert len(inspect.getsource(engine).splitlines()) <= 250
