"""The derivative rules on NumPy arrays, for the batch replay (`microgradx.trace.trace_batch`).

Why this exists: a batch replay calls each op's ``local`` once with an array of every sample's
numbers. Most rules in `rules.RULES` are plain arithmetic and work on arrays as they are; the
two that branch on their numbers (``**`` at a zero base, ``sqrt`` at zero) cannot, so here they
apply the engine's own float rule to each element (or, for sqrt, its exact array equivalent),
giving the float path's numbers. The forward functions accept arrays already (`realmath`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping

from microgradx import engine
from microgradx.realmath import d_power_base, d_power_exponent, elementwise, is_array, numpy_module
from microgradx.rules import Rule


def _any_array(*xs: object) -> bool:
    return any(type(x) is not float and is_array(x) for x in xs)


def _pow_local(a, b, out):
    if _any_array(a, b, out):  # the engine's rules, on each sample's floats
        return elementwise(d_power_base, a, b, out), elementwise(d_power_exponent, a, b, out)
    return engine.RULES["**"].local(a, b, out)


def _sqrt_local(a, out):
    if _any_array(out):
        np = numpy_module()
        with np.errstate(divide="ignore"):  # d√a/da = 1/(2√a); ±inf at ±0.0
            return (np.where(np.asarray(out) != 0.0, 0.5 / out, np.copysign(math.inf, out)),)
    return engine.RULES["sqrt"].local(a, out)


_EDGES: dict[str, Callable[..., tuple]] = {"**": _pow_local, "sqrt": _sqrt_local}


_BUILT_IN = {op: engine.RULES[op].local for op in _EDGES}


def local(op: str, rule: Rule | None = None) -> Callable[..., tuple]:
    """The local derivatives of `op` (by `rule`, or the table's rule now) for floats or arrays of
    samples, as `rules.RULES` gives them for floats. Read from the table at each call, so an op
    registered later (a custom op) is found."""
    rule = rule or engine.RULES[op]
    return _EDGES[op] if op in _EDGES and rule.local is _BUILT_IN[op] else rule.local


class _Local(Mapping):
    """`local` as a read-only mapping, ``LOCAL[op]``, over the rule table as it is now."""

    def __getitem__(self, op: str) -> Callable[..., tuple]:
        return local(op)

    def __iter__(self) -> Iterator[str]:
        return iter(engine.RULES)

    def __len__(self) -> int:
        return len(engine.RULES)


LOCAL: Mapping[str, Callable[..., tuple]] = _Local()
"""Each op's local derivatives for floats or arrays of samples (`local`), looked up by op name."""
