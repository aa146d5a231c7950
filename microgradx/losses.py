"""Losses for training models of Values: `mse_loss`, `bce_loss`, `hinge_loss`, and for several
classes `softmax`, `log_softmax` and `cross_entropy`.

Each takes a batch (a list of Values or numbers; one sample may be given alone) and returns one
Value, the batch mean, whose graph is made of the engine's ops only: `loss.backward()` fills every
parameter's ``.grad``, and `explain`, `draw` and the stepper show each step. They are imported from
`microgradx.nn`, where a learner finds them beside the models (``mg.nn.mse_loss``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from microgradx.engine import Value

__all__ = ["LOG_FLOOR", "bce_loss", "cross_entropy", "hinge_loss", "log_softmax", "mse_loss", "softmax"]

Number = int | float


def _batch(xs: object, what: str) -> list:
    if isinstance(xs, Value | numbers.Real):
        return [xs]
    if isinstance(xs, str | bytes) or not isinstance(xs, Sequence):
        raise TypeError(f"{what} must be a list of numbers or Values, got {type(xs).__name__}")
    for i, x in enumerate(xs):
        if not isinstance(x, Value | numbers.Real):
            raise TypeError(f"{what}[{i}] must be a number or a Value, got {type(x).__name__}")
    return list(xs)


def _pair(a: object, b: object, names: tuple[str, str], loss: str) -> tuple[list, list]:
    a, b = _batch(a, f"{loss}({names[0]})"), _batch(b, f"{loss}({names[1]})")
    if not a:
        raise ValueError(f"{loss}: the batch is empty")
    if len(a) != len(b):
        raise ValueError(f"{loss}: {len(a)} {names[0]} but {len(b)} {names[1]}")
    return [x if type(x) is Value else Value(x) for x in a], b


def _mean(terms: list[Value]) -> Value:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total / len(terms)


def _data(x: Value | Number) -> float:
    return x.data if type(x) is Value else float(x)


def mse_loss(preds: Sequence[Value | Number] | Value, targets: Sequence[Value | Number] | Value) -> Value:
    """Mean squared error ``mean((pred − target)²)`` over the batch, as ``torch.nn.functional.mse_loss``.

    A single prediction and target may be given without a list.
    """
    preds, targets = _pair(preds, targets, ("preds", "targets"), "mse_loss")
    return _mean([(p - t) ** 2 for p, t in zip(preds, targets, strict=True)])


LOG_FLOOR = -100.0
"""`bce_loss` clamps each log at this value, as PyTorch's ``binary_cross_entropy`` does."""


def _clamped_log(x: Value) -> Value:
    # log(x) below the floor (x == 0 included) becomes a constant leaf: finite, no gradient.
    # The test goes through the Value's comparison and float(), so `trace` records it as a guard.
    if x <= 0.0 or math.log(float(x)) < LOG_FLOOR:
        return Value(LOG_FLOOR)
    return x.log()


def bce_loss(probs: Sequence[Value | Number] | Value, targets: Sequence[Value | Number] | Value) -> Value:
    """Binary cross-entropy ``mean(−(t·log p + (1−t)·log(1−p)))`` for probabilities in [0, 1].

    Numerically safe at 0 and 1 the way PyTorch is: each log is clamped at -100 (`LOG_FLOOR`), so
    p = 0 or 1 gives a finite loss (the same value as PyTorch). A clamped log is a constant and
    passes no gradient, like any clamp; PyTorch instead bounds the denominator of (p − t)/(p·(1 − p))
    below by 1e-12, so gradients agree wherever p·(1 − p) ≥ 1e-12. Probabilities or targets outside
    [0, 1] raise `ValueError`, as in PyTorch.
    """
    probs, targets = _pair(probs, targets, ("probs", "targets"), "bce_loss")
    terms = []
    for i, (p, t) in enumerate(zip(probs, targets, strict=True)):
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(f"bce_loss: probs[{i}] = {p.data!r} is not a probability in [0, 1]")
        if not 0.0 <= _data(t) <= 1.0:
            raise ValueError(f"bce_loss: targets[{i}] = {_data(t)!r} is not in [0, 1]")
        terms.append(-(t * _clamped_log(p) + (1 - t) * _clamped_log(1 - p)))
    return _mean(terms)


def hinge_loss(scores: Sequence[Value | Number] | Value, labels: Sequence[Value | Number] | Value) -> Value:
    """Hinge loss ``mean(relu(1 − y·s))`` for labels y = ±1: zero once each score is on its side by 1.

    This is the margin loss of a support vector machine, used by micrograd's two-moons demo.
    """
    scores, labels = _pair(scores, labels, ("scores", "labels"), "hinge_loss")
    for i, y in enumerate(labels):
        if _data(y) not in (1.0, -1.0):
            raise ValueError(f"hinge_loss: labels[{i}] = {_data(y)!r}, labels must be +1 or -1")
    return _mean([(1 - y * s).relu() for s, y in zip(scores, labels, strict=True)])


# --- multi-class: softmax, log_softmax, cross_entropy ------------------------------------------------
#
# All three are built from the engine's ops, so every node of their graphs is one of the SPEC's ops
# and `explain`, `draw` and the stepper show them step by step. The shift by the largest logit is a
# constant leaf labelled ``max``: softmax is unchanged by any shift, so no gradient needs to flow
# through it (PyTorch's formulas work out the same), and exp never sees a positive number.


def _logits(values: object, what: str, row: str = "") -> list[Value]:
    """`values` as a non-empty list of Values; a number becomes a leaf labelled ``z[j]``."""
    if isinstance(values, Value | numbers.Real):
        raise TypeError(
            f"{what} must be a list of logits (numbers or Values), got one {type(values).__name__}"
        )
    values = _batch(values, what)
    if not values:
        raise ValueError(f"{what} is empty: there must be at least one class")
    return [z if type(z) is Value else Value(z, f"z{row}[{j}]") for j, z in enumerate(values)]


def _shifted_exps(logits: list[Value], row: str = "") -> tuple[list[Value], list[Value], Value]:
    """``z[j] − max``, ``exp(z[j] − max)`` for each logit and their sum ``Σ exp``, labelled as such.

    `row` tags the labels of one sample of a batch (``"[2]"``), so that every leaf's label is unique.
    """
    # float() of the largest logit, not its .data: under `microgradx.trace` that is a guard, so a
    # replay on other logits traces again instead of reusing a stale max (and its exp's rounding).
    top = Value(float(max(logits)), f"max{row}")
    shifted, exps = [], []
    for j, z in enumerate(logits):
        name = z.label or f"z{row}[{j}]"
        d = z - top
        d.label = f"{name} − max{row}"
        e = d.exp()
        e.label = f"exp({d.label})"
        shifted.append(d)
        exps.append(e)
    total = exps[0]
    for k in range(1, len(exps)):
        total = total + exps[k]
        total.label = f"Σ exp{row}" if k == len(exps) - 1 else f"Σ exp{row}[:{k + 1}]"
    return shifted, exps, total


def _log_sum(total: Value, row: str = "") -> Value:
    out = total.log()
    out.label = f"log Σ exp{row}"  # log Σ_j exp(z[j] − max), which is ≥ 0 since one term is exp(0) = 1
    return out


def softmax(values: Sequence[Value | Number]) -> list[Value]:
    """The probabilities ``exp(z[j]) / Σ_k exp(z[k])`` of logits `values`, as ``torch.softmax``.

    Computed as ``exp(z[j] − max) / Σ exp(z − max)``, which is the same number without overflow:
    logits of ±1000 give 1 and 0. Each result is labelled ``softmax[j]``.

    >>> print(*[round(p.data, 4) for p in softmax([1.0, 2.0, 3.0])])
    0.09 0.2447 0.6652
    """
    _, exps, total = _shifted_exps(_logits(values, "softmax(values)"))
    probs = []
    for j, e in enumerate(exps):
        p = e / total
        p.label = f"softmax[{j}]"
        probs.append(p)
    return probs


def log_softmax(values: Sequence[Value | Number]) -> list[Value]:
    """The log-probabilities ``z[j] − log Σ_k exp(z[k])`` of logits `values`, as ``torch.log_softmax``.

    Computed as ``(z[j] − max) − log Σ exp(z − max)`` (log-sum-exp with the max subtracted), so it
    stays finite where ``log(softmax)`` would reach ``log(0)`` (logits ±1000 apart, and far more).
    Each result is labelled ``log softmax[j]``.

    >>> print(*[round(p.data, 4) for p in log_softmax([1000.0, 0.0])])
    0.0 -1000.0
    """
    shifted, _, total = _shifted_exps(_logits(values, "log_softmax(values)"))
    log_sum = _log_sum(total)
    out = []
    for j, d in enumerate(shifted):
        lp = d - log_sum
        lp.label = f"log softmax[{j}]"
        out.append(lp)
    return out


def _class_index(target: object, classes: int, what: str) -> int:
    """A class index: an int, or a bool as the number it is (True is class 1), as everywhere in a graph."""
    if not isinstance(target, numbers.Integral):
        raise TypeError(f"{what} must be a class index (an int), got {type(target).__name__} {target!r}")
    if not 0 <= target < classes:
        raise ValueError(f"{what} = {target} is out of range for {classes} classes (0 to {classes - 1})")
    return int(target)


def _one_cross_entropy(logits: object, target: object, what: str, row: str = "") -> Value:
    """``−log softmax(logits)[target]`` = ``log Σ exp − (z[target] − max)`` for one sample."""
    logits = _logits(logits, f"{what}(logits{row})", row)
    t = _class_index(target, len(logits), f"{what}: target{row}")
    shifted, _, total = _shifted_exps(logits, row)
    loss = _log_sum(total, row) - shifted[t]
    loss.label = f"cross-entropy{row}"
    return loss


def _is_row(x: object) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, str | bytes)


def cross_entropy(
    logits: Sequence[Value | Number] | Sequence[Sequence[Value | Number]],
    target: int | Sequence[int],
) -> Value:
    """Softmax cross-entropy ``−log softmax(logits)[target]``, as ``torch.nn.functional.cross_entropy``.

    `logits` are one sample's class scores (a list of Values or numbers) and `target` its class
    index (an int, 0-based); or, for a batch, a list of such lists and a list of targets, and the
    loss is their mean. Numerically stable: it is ``log Σ exp(z − max) − (z[target] − max)``, finite
    for logits of ±1000, and its gradient is ``softmax(z) − onehot(target)`` (divided by the batch
    size). The graph's nodes are labelled (``max``, ``z[j] − max``, ``Σ exp``, ``log Σ exp``,
    ``cross-entropy``) so that `explain` and `draw` read like the derivation. A bool is the
    number it stands for, as in a Value: True is the logit 1 or the class 1.

    >>> round(cross_entropy([2.0, 1.0, 0.1], 0).data, 6)
    0.41703
    """
    if not _is_row(logits):
        raise TypeError(f"cross_entropy(logits) must be a list of logits, got {type(logits).__name__}")
    if not logits or not _is_row(logits[0]):
        if _is_row(target):
            raise TypeError(
                f"cross_entropy: one sample's logits take one class index as target, got "
                f"{type(target).__name__} (for a batch, pass a list of lists of logits)"
            )
        return _one_cross_entropy(logits, target, "cross_entropy")
    batch = logits
    for i, row in enumerate(batch):  # the logits first: [[]] is an empty sample, whatever the target
        if not _is_row(row):
            raise TypeError(f"cross_entropy(logits)[{i}] must be a list of logits, got {type(row).__name__}")
        if not row:
            raise ValueError(f"cross_entropy(logits)[{i}] is empty: there must be at least one class")
        if len(row) != len(batch[0]):
            raise ValueError(
                f"cross_entropy: logits[{i}] has {len(row)} classes but logits[0] has {len(batch[0])}"
            )
    samples = f"{len(batch)} sample{'s' * (len(batch) != 1)}"
    if not _is_row(target):
        raise TypeError(
            f"cross_entropy: a batch of {samples} needs a list of {len(batch)} "
            f"target{'s' * (len(batch) != 1)}, got {type(target).__name__}"
        )
    if len(batch) != len(target):
        raise ValueError(f"cross_entropy: {samples} of logits but {len(target)} targets")
    terms = [
        _one_cross_entropy(row, t, "cross_entropy", f"[{i}]")
        for i, (row, t) in enumerate(zip(batch, target, strict=True))
    ]
    loss = _mean(terms)
    loss.label = "cross-entropy"
    return loss
