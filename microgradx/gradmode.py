"""Grad mode: whether ops record a graph, per thread and asyncio task, and the switch `no_grad` uses.

Why this exists: `engine.no_grad` must behave as ``torch.no_grad`` does, which takes more than
a flag: the mode is per thread (every new thread starts recording) and per asyncio task, which
a context variable gives, at about a quarter of a threading.local's cost on every op; one
instance may be entered again while it is active (a recursive decorated function, two threads,
nesting), so the modes to restore are kept on a stack in that context, not on the instance;
and a decorated generator holds the mode while it runs, not between its yields. The engine's
math reads only `is_recording`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator
from contextlib import ContextDecorator
from contextvars import ContextVar

from microgradx.node import tell

_recording = ContextVar("microgradx_grad_enabled", default=True)
is_recording = _recording.get
"""True when ops record a graph here (the engine asks on every op)."""

# What each `with` restores on exit, innermost last.
_outer_modes: ContextVar[tuple[bool, ...]] = ContextVar("microgradx_outer_grad_modes", default=())


def is_grad_enabled() -> bool:
    """True when operations record a graph in this thread (False inside `no_grad`)."""
    return _recording.get()


class GradMode(ContextDecorator):
    """Sets grad mode to `_enabled` inside a ``with`` block or a decorated call, then restores it."""

    _enabled = False

    def __call__(self, func: Callable) -> Callable:
        if not inspect.isgeneratorfunction(func):
            return super().__call__(func)
        mode = type(self)

        @functools.wraps(func)
        def generator(*args: object, **kwargs: object) -> Generator:
            # As torch does: the mode holds while the generator runs, not between its yields.
            inner = func(*args, **kwargs)
            try:
                with mode():
                    response = inner.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with mode():
                            inner.close()
                        raise
                    except BaseException as error:
                        with mode():
                            response = inner.throw(error)
                    else:
                        with mode():
                            response = inner.send(request)
            except StopIteration as stop:
                return stop.value

        return generator

    def __enter__(self) -> GradMode:
        if not self._enabled:
            tell("no_grad", None, None, None)  # (a trace refuses a no_grad block it cannot replay)
        _outer_modes.set((*_outer_modes.get(), _recording.get()))
        _recording.set(self._enabled)
        return self

    def __exit__(self, *exc: object) -> None:
        outer = _outer_modes.get()
        _recording.set(outer[-1])
        _outer_modes.set(outer[:-1])


class enable_grad(GradMode):
    """Operations record a graph inside, even within `no_grad` (as ``torch.enable_grad``): for
    `grad`'s ``create_graph`` pass and for graphs a view rebuilds to walk them (the step-through page)."""

    _enabled = True
