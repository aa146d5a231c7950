"""What several test files share: the seed question's sigmoid neuron, an example as a module, and
which docs pages need a module that is not installed.

Import them as ``from conftest import seed_neuron`` (pytest puts this folder on ``sys.path``). Each
test keeps its own independent truth (hand formulas, finite differences); only the graph is shared.

Hypothesis runs with the ``ci`` profile when the environment variable ``CI`` is set (``.ci/run``
sets it): derandomised, so a CI run draws the same examples every time and a failure reproduces,
and without an example database. Locally it stays random (the ``dev`` profile), so that each run
tries new examples; ``HYPOTHESIS_PROFILE=ci`` selects the CI behaviour by hand.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest
from hypothesis import settings

from microgradx import Value
from microgradx.rules import BUILT_IN, RULES

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def rules_as_built() -> object:
    """Ops of your own that a test makes (`custom_op`, a docs page's softplus) leave `RULES` after it."""
    yield
    for op in set(RULES) - BUILT_IN:
        del RULES[op]


class SeedNeuron(NamedTuple):
    """The neuron's named nodes: unpack it (``E, w, *_ = seed_neuron()``) or read ``.w``, ``.E``."""

    E: Value
    w: Value
    x: Value
    y: Value
    z: Value
    yhat: Value


def seed_neuron(w: float = 0.3, x: float = 1.0, y: float = 1.0, *, backward: bool = False) -> SeedNeuron:
    """The learner's neuron of seed 001: z = w·x, ŷ = σ(z), E = ½(ŷ − y)², labelled as on the board.

    Every node a picture or an explanation names is labelled (w, x, y, z, ŷ, E); ``0.5`` and the
    exponent ``2`` are the constants Python's ``0.5 * (...) ** 2`` makes. With `backward`,
    ``E.backward()`` has run, so every ``.grad`` is filled in.
    """
    w_, x_, y_ = Value(w, "w"), Value(x, "x"), Value(y, "y")
    z = w_ * x_
    z.label = "z"
    yhat = z.sigmoid()
    yhat.label = "ŷ"
    E = 0.5 * (yhat - y_) ** 2
    E.label = "E"
    if backward:
        E.backward()
    return SeedNeuron(E, w_, x_, y_, z, yhat)


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a fresh module, without running its ``__main__`` part.

    Tests call the example's own functions (``make_moons``, ``train``) this way; each call returns a
    new module object, so one test file's use cannot leak into another's.
    """
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None, f"examples/{name}.py not found"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NEEDS = re.compile(r"^<!-- needs (\w+) -->[ \t]*$", re.M)


def missing_requirement(page: Path) -> str | None:
    """Why the docs page `page` cannot run here, or None: a ``<!-- needs torch -->`` line of the page
    names a module that is not installed. The docs and notebook tests skip such a page with this reason."""
    for module in NEEDS.findall(page.read_text("utf-8")):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # blocked: sys.modules[module] is None
            found = False
        if not found:
            return f"{page.name} needs {module}, which is not installed"
    return None


# --- markers: the inner loop -----------------------------------------------------------------------
# `pytest -m "not slow and not browser and not notebook and not docs"` is the inner loop (under a
# minute here); plain `pytest`, the README's command, runs everything. Files are marked by what
# they drive (test_build_your_own.py runs docs/build-your-own.md's code first: 3 s); single slow
# tests by name (each measured at a few seconds or more on these machines).
_FILE_MARKERS = {
    "browser": ("_browser.py", "test_worksheet_print.py"),
    "notebook": ("test_notebooks.py",),
    "docs": ("test_docs.py", "test_readme.py", "test_build_your_own.py"),
    "torch": ("test_torch_bridge.py",),
}
_SLOW = (
    "test_a_chain_of_a_million_operations",
    "test_the_replay_benchmark_runs",
    "test_moons_main_prints_the_same_lines",
    "test_moons_replay_trains_the_same_numbers",
    "test_moons_plot_writes_a_png",
    "test_random_text_parses_or_raises_expression_error_only",
    "test_random_text_through_the_command",
    "test_deep_graphs_copy_and_pickle_without_recursion",
    "test_a_million_steps_under_the_default_recursion_limit",
    "test_grokking_explain_shows_the_input_as_the_last_factor",
    "test_yinyang_trains_100_steps",
    "test_a_long_neuron_run_keeps_a_bounded_number",
    "test_a_long_chain_is_explained_by_its_accumulation",
)
# Tests that read a module fixture taking seconds: test_examples.py runs each example with its
# matplotlib pictures (`outputs`, 3-5 s) and yinyang's 100 training steps (`yinyang_run`, about 4 s).
# The inner loop still runs every example, without pictures (test_examples_print_and_skip_...).
_SLOW_FIXTURES = {"test_examples.py": ("outputs", "yinyang_run")}
# Families of cases that each start the real command in a subprocess (about 0.2 s apiece, 62 cases
# in these two): the inner loop runs every `_SAMPLE`-th case of each, so every kind of failure still
# goes through the command; the other cases are slow, and the full suite runs all of them.
_SAMPLED = (
    "test_user_errors_are_one_line_exit_2_and_write_nothing",
    "test_security_list_exits_2_with_one_line_and_touches_no_file",
)
_SAMPLE = 4


def is_slow(item: pytest.Item) -> bool:
    """Whether `item` stays out of the inner loop: a slow test by name, by the fixture it reads, or a
    case of a sampled family other than every `_SAMPLE`-th one."""
    if item.name.startswith(_SLOW):
        return True
    if set(_SLOW_FIXTURES.get(item.path.name, ())) & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    if getattr(item, "originalname", None) in _SAMPLED and callspec is not None:
        return min(callspec.indices.values()) % _SAMPLE != 0
    return False


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        path = item.path.name
        for marker, files in _FILE_MARKERS.items():
            if path.endswith(files):
                item.add_marker(getattr(pytest.mark, marker))
        if is_slow(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def browser():
    """One Debian Chromium per test module, driven by Playwright (the browser tests share it; each
    calls `chromium.require()` first, so this runs only where Playwright and Chromium exist)."""
    from chromium import ARGS, CHROMIUM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()
