"""gradcheck and compare at the edge of their tolerance: a row is ok when
``abs_err <= atol + rtol·|numeric|`` (SPEC §3) — just inside passes, just outside fails.

The functions are chosen so that every column is known exactly: ``w·k`` for k a power of two has
central differences equal to k exactly (each step is exact), so a hand column of ``k + gap`` puts
``abs_err`` at ``gap``; ``w³`` has central differences ``3w² + h²`` exactly in real numbers, so
autograd and numeric differ by ``h²`` with no hand column at all.
"""

from __future__ import annotations

import pytest

import microgradx as mg

DEFAULT_RTOL, DEFAULT_ATOL = 1e-5, 1e-8  # SPEC §3's defaults
INSIDE, OUTSIDE = 0.99, 1.01  # fractions of the tolerance: a tenfold looser check passes both


@pytest.mark.parametrize("k", [0.0, 2.0, 1024.0], ids=["atol only", "both", "rtol dominates"])
@pytest.mark.parametrize("where, ok", [(INSIDE, True), (OUTSIDE, False)], ids=["inside", "outside"])
def test_compare_at_the_default_tolerance(k, where, ok):
    tol = DEFAULT_ATOL + DEFAULT_RTOL * k
    hand = k + where * tol
    report = mg.compare(lambda w: w * k, {"w": lambda w: hand}, {"w": 0.75})
    (row,) = report.rows
    assert row.numeric == row.autograd == k  # the exact columns the gap is measured from
    assert row.abs_err == pytest.approx(where * tol, rel=1e-6)
    assert row.ok is ok and bool(report) is ok
    assert ("NOT OK" in str(report)) is not ok


@pytest.mark.parametrize("side", [-1.0, 1.0], ids=["below", "above"])
def test_compare_is_symmetric_about_the_true_value(side):
    tol = DEFAULT_ATOL + DEFAULT_RTOL * 2.0
    for where, ok in ((INSIDE, True), (OUTSIDE, False)):
        hand = 2.0 + side * where * tol
        report = mg.compare(lambda w: w * 2.0, {"w": lambda w, hand=hand: hand}, {"w": 0.75})
        assert report.rows[0].ok is ok


@pytest.mark.parametrize("rtol, atol", [(1e-5, 1e-8), (1e-3, 0.0), (0.0, 1e-6), (2e-4, 3e-7)])
@pytest.mark.parametrize("where, ok", [(INSIDE, True), (OUTSIDE, False)], ids=["inside", "outside"])
def test_gradcheck_at_a_given_tolerance(rtol, atol, where, ok):
    # d(w³)/dw = 3 at w = 1; the central difference with h = eps is 3 + eps² (plus rounding ~1e-13)
    gap = where * (atol + rtol * 3.0)
    eps = (gap / (1.0 - where * rtol)) ** 0.5  # so that h² = where·(atol + rtol·(3 + h²))
    report = mg.gradcheck(lambda w: w**3, {"w": 1.0}, eps=eps, rtol=rtol, atol=atol)
    (row,) = report.rows
    assert row.autograd == 3.0 and row.numeric == pytest.approx(3.0 + eps**2, abs=1e-11)
    tol = atol + rtol * abs(row.numeric)
    assert row.abs_err / tol == pytest.approx(where, rel=1e-6)
    assert row.ok is ok and bool(report) is ok


@pytest.mark.parametrize("where, ok", [(INSIDE, True), (OUTSIDE, False)], ids=["inside", "outside"])
def test_gradcheck_at_the_default_tolerance(where, ok):
    # abs_err = h² with h = eps (w = 1): put it at the default tolerance's edge
    tol = DEFAULT_ATOL + DEFAULT_RTOL * 3.0
    eps = (where * tol / (1.0 - where * DEFAULT_RTOL)) ** 0.5
    report = mg.gradcheck(lambda w: w**3, {"w": 1.0}, eps=eps)
    assert report.rows[0].ok is ok

