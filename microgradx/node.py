"""Everything a `Value` does besides the math: its label, how it prints and compares.

Why this exists: `engine.Value` is the file a learner reads for the chain rule, and none of
this is the chain rule. It is `Value`'s base class, `Node`, with no slots of its own (how a Value
pickles is `persistence`'s, which depends on the engine, never the reverse). It also
holds the hook `microgradx.trace` listens on: a trace records a function's ops once and replays
them, which is only right while every question the function asked of a number (a comparison,
``float()``, ``bool()``) gets the same answer, so the trace must hear each one to guard it.
The engine offers that as a context variable, `observer`, rather than letting the tracer patch
the class: while it holds a function, in this thread (or asyncio task), each answer is shown to it.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from microgradx.realmath import type_name

# Told ``(question, node, other, answer)`` for each question asked of a Value's number, and
# ``("no_grad", None, None, None)`` when a no_grad block starts (it may raise to refuse it).
observer: ContextVar[Callable[[str, Any, Any, Any], None] | None] = ContextVar("microgradx_observer",
                                                                               default=None)


def tell(question: str, node: Any, other: Any, answer: Any) -> Any:
    """`answer`, after showing it to the `observer` (if there is one)."""
    hear = observer.get()
    if hear is not None:
        hear(question, node, other, answer)
    return answer


class Node:
    """The base of `engine.Value`, the one class allowed to derive from it."""

    __slots__ = ()
    data: float
    grad: float
    op: str
    _label: str

    def __init_subclass__(cls, **kwargs: object) -> None:
        # The engine tests `type(x) is Value` on every op (cheaper than isinstance); a subclass
        # of Value would half work, so it is refused where it is written.
        if cls.__module__ != "microgradx.engine":
            raise TypeError(f"class {cls.__name__}: Value cannot be subclassed (the engine checks for "
                            "Value itself); keep a Value in an attribute of your class instead")

    @property
    def label(self) -> str:
        """A name for the node, shown by `repr`, `explain`, `draw` (writable)."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        if type(label) is not str:
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self._label = label

    def __repr__(self) -> str:
        label = f", label={self._label!r}" if self._label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else repr(self)

    # Asking for the number: ordering compares numbers; == and hash stay identity (Values are
    # dict keys and set members). Each answer is shown to the `observer`.
    def __lt__(self, other: Any) -> bool:
        return tell("__lt__", self, other, self.data < _compared(other))

    def __le__(self, other: Any) -> bool:
        return tell("__le__", self, other, self.data <= _compared(other))

    def __gt__(self, other: Any) -> bool:
        return tell("__gt__", self, other, self.data > _compared(other))

    def __ge__(self, other: Any) -> bool:
        return tell("__ge__", self, other, self.data >= _compared(other))

    def __float__(self) -> float:
        return tell("__float__", self, None, self.data)

    def __bool__(self) -> bool:
        return tell("__bool__", self, None, self.data != 0.0)


def _compared(other: object) -> float:
    """The number a Value is compared with: a Value's, or a real number's."""
    if isinstance(other, Node):
        return other.data
    if isinstance(other, numbers.Real):
        return float(other)
    raise TypeError(f"cannot compare a Value with {type_name(other)}")


def returned_number(where: str, result: object) -> float:
    """What a learner's function returned, as a float: a Value gives its number.

    Anything else but a real number (a bool included) is a TypeError naming `where`, the function
    (``custom_op 'softplus': forward``, ``hand['w']``), and what it returned.
    """
    if isinstance(result, Node):
        return result.data
    if isinstance(result, bool) or not isinstance(result, numbers.Real):
        raise TypeError(f"{where} must return a number, got {type_name(result)} {result!r}")
    return float(result)
