"""What a Value does besides the math (`microgradx.node`): its label, printing, comparisons, and
the refusal to be subclassed. The math is in test_engine.py."""

from __future__ import annotations

import pytest

from microgradx import Value


def test_subclassing_value_is_refused_where_the_class_is_written():
    with pytest.raises(TypeError, match="class Named: Value cannot be subclassed"):

        class Named(Value):
            pass


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="int"):
        Value(1.0, label=3)
    v = Value(1.0)
    v.label = "w"
    assert v.label == "w"
    with pytest.raises(TypeError, match="NoneType"):
        v.label = None


def test_equality_and_hash_are_identity_and_ordering_compares_data():
    a, b = Value(1.0), Value(1.0)
    assert a != b and a == a and (Value(1.0) == 1.0) is False
    assert len({a, b, a}) == 2 and {a: 1}[a] == 1
    assert (a < 2) is True and (a <= b) is True and (a > 0.5) is True and (a >= Value(3.0)) is False
    assert (0.5 < a) is True  # reflected


def test_repr_is_short_and_float_gives_data():
    w = Value(0.5, "w")
    assert repr(w) == "Value(data=0.5, grad=0.0, label='w')"
    assert float(w) == 0.5 and f"{w:.2f}" == "0.50"
