"""The mutation check's table (tests/mutation_check.py) still fits the code: every mutant's text
occurs exactly once in its file, and every test it names exists. The check itself runs in CI
(`.ci/run`); this keeps a refactor from breaking it unnoticed until then."""

from __future__ import annotations

import re
from pathlib import Path

import mutation_check

ROOT = Path(__file__).resolve().parent.parent


def test_every_mutant_changes_text_that_occurs_exactly_once():
    assert mutation_check.check_patterns(mutation_check.MUTANTS) == []


def test_every_test_a_mutant_names_exists():
    missing = []
    for m in mutation_check.MUTANTS:
        assert m.tests, f"{m.description}: no tests to run"
        for test in m.tests:
            file, _, name = test.partition("::")
            path = ROOT / file
            if not path.is_file() or (
                name
                and not re.search(rf"^def {re.escape(name)}\(", path.read_text(encoding="utf-8"), flags=re.M)
            ):
                missing.append(f"{m.description}: {test}")
    assert missing == []


def test_descriptions_are_unique():
    descriptions = [m.description for m in mutation_check.MUTANTS]
    assert len(descriptions) == len(set(descriptions))
