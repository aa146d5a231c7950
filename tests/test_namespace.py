"""The top-level namespace: what a learner calls is listed; machinery types are reached through their
module, and their old top-level spellings still work with a `DeprecationWarning` (docs/api.md)."""

from __future__ import annotations

import importlib
import warnings

import pytest

import microgradx as mg

# Written out here, not read from the package: where each machinery type lives (docs/api.md says so).
MOVED = {
    "BatchReplayed": "microgradx.trace",
    "BatchTrace": "microgradx.trace",
    "Exercise": "microgradx.practice",
    "GuardError": "microgradx.trace",
    "Replayed": "microgradx.trace",
    "Stepper": "microgradx.notebook",
    "Trace": "microgradx.trace",
    "TraceError": "microgradx.trace",
}
LEARNER = {"Value", "grad", "no_grad", "is_grad_enabled", "gradcheck", "compare", "explain", "draw", "to_dot"}
LEARNER |= {"to_text", "to_html", "to_sympy", "stepper", "explore", "exercise", "quiz", "custom_op", "trace"}
LEARNER |= {"trace_batch", "nn", "optim", "zero_grad", "exp", "log", "tanh", "sigmoid", "relu", "atan2"}


def test_the_top_level_lists_what_a_learner_calls_and_no_machinery_type():
    assert LEARNER <= set(mg.__all__)
    assert not set(MOVED) & set(mg.__all__)
    assert dir(mg) == sorted(mg.__all__)  # tab completion shows the listing, not the package's modules
    assert len(set(mg.__all__)) == len(mg.__all__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a listed name is never one of the deprecated spellings
        for name in mg.__all__:
            assert getattr(mg, name) is not None, name


@pytest.mark.parametrize("name", sorted(MOVED))
def test_an_old_top_level_spelling_warns_where_the_type_lives_and_gives_the_same_type(name):
    module = MOVED[name]
    home = getattr(importlib.import_module(module), name)
    assert isinstance(home, type) and home.__module__ == module and home.__name__ == name
    with pytest.warns(
        DeprecationWarning, match=rf"microgradx\.{name} is deprecated: .*from {module} import {name}"
    ):
        assert getattr(mg, name) is home
    with pytest.warns(DeprecationWarning, match=rf"microgradx\.{name} "):
        exec(f"from microgradx import {name} as got", namespace := {})
    assert namespace["got"] is home


def test_the_warning_points_at_the_line_that_used_the_old_spelling():
    with pytest.warns(DeprecationWarning) as caught:
        mg.Trace  # noqa: B018
    assert caught[0].filename == __file__


def test_an_unknown_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match=r"module 'microgradx' has no attribute 'Trcae'"):
        mg.Trcae  # noqa: B018
    assert not hasattr(mg, "nope")
