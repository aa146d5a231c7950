"""One graph walk at a time: the lock, the re-entrancy guard and the walk's own -0.0 mark.

Why this exists: `backward`, `grad` and `topological_order` mark the nodes they reach and build
each node's sum in its ``_pending`` slot (faster than a dictionary, see the benchmark notes in
docs/how-it-works.md). Those slots are shared, so walks must take turns, even when threads share
parameters; a walk started from inside a walk in the same thread (a signal handler, a __del__,
a weakref callback) must be refused rather than wait for itself; a process forked while another
thread walks must not inherit a lock nobody will release; and a walk stopped half-way (a
KeyboardInterrupt) must leave nothing that a later walk mistakes for its own marks. The engine's
math does not depend on any of it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# The lock is re-entrant so that a walk started from inside one, in the same thread, gets past
# it and is refused with an error instead of waiting for itself forever; `_inside_walk` says
# whether a walk is under way.
_walk_lock = threading.RLock()
_inside_walk = [False]


def _after_fork_in_child() -> None:  # a walk in another thread of the parent never ends here
    global _walk_lock
    _walk_lock = threading.RLock()
    _inside_walk[0] = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _MinusZero(float):
    """-0.0 as an object of its own, where `is` compares plain floats by value (PyPy does)."""

    __slots__ = ()


_FLOATS_HAVE_IDENTITY = float("-0.0") is not float("-0.0")  # True on CPython


def walk(body: Callable[[float], T]) -> T:
    """``body(start)``, as the only walk in progress: `start` is this walk's own -0.0 object.

    -0.0 is the exact additive identity, so it starts every node's sum; since `start` is a new
    object, it is also this walk's visited mark (``node._pending is start``), which no other
    walk's leftovers can be.
    """
    with _walk_lock:  # (the lock's own with: nothing can come between taking it and the try)
        if _inside_walk[0]:
            raise RuntimeError(
                "backward(), grad() or topological_order() was called while this thread was inside "
                "one of them (from a signal handler, a __del__ or a weakref callback?): call it afterwards"
            )
        try:
            _inside_walk[0] = True
            return body(float("-0.0") if _FLOATS_HAVE_IDENTITY else _MinusZero(-0.0))
        finally:
            _inside_walk[0] = False
