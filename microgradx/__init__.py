"""microgradx: a tiny scalar autograd engine for learning, teaching and checking backpropagation.

Build expressions from `Value`s, call `.backward()`, and read each input's ``.grad``.

The top level lists what a learner calls: `Value`, the functions of the maths, `grad`, the checks,
the views (`draw`, `explain`, `stepper`, …), practice, `trace`, and the `nn` and `optim` modules.
The types those functions return or raise (`Trace`, `GuardError`, `Exercise`, `Stepper`, …) are
machinery, reached through their module (``from microgradx.trace import Trace``); their old
top-level spellings still work, with a `DeprecationWarning` saying where each one lives.
"""

from microgradx import nn, optim, persistence  # noqa: F401  (persistence: how Values pickle)
from microgradx.check import compare, gradcheck
from microgradx.custom import custom_op
from microgradx.draw import draw, to_dot, to_text
from microgradx.engine import Value, grad, is_grad_enabled, no_grad
from microgradx.explain import explain
from microgradx.explore import explore
from microgradx.functions import (
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cos,
    cosh,
    degrees,
    exp,
    exp2,
    expm1,
    hypot,
    log,
    log1p,
    log2,
    log10,
    radians,
    relu,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    tan,
    tanh,
    zero_grad,
)
from microgradx.html import to_html
from microgradx.notebook import stepper
from microgradx.practice import exercise, quiz
from microgradx.sym import to_sympy
from microgradx.trace import trace, trace_batch

__version__ = "0.1.0"

__all__ = [
    "Value",
    "__version__",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "compare",
    "cos",
    "cosh",
    "custom_op",
    "degrees",
    "draw",
    "exercise",
    "exp",
    "exp2",
    "explain",
    "explore",
    "expm1",
    "grad",
    "gradcheck",
    "hypot",
    "is_grad_enabled",
    "log",
    "log1p",
    "log2",
    "log10",
    "nn",
    "no_grad",
    "optim",
    "quiz",
    "radians",
    "relu",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "stepper",
    "tan",
    "tanh",
    "to_dot",
    "to_html",
    "to_sympy",
    "to_text",
    "trace",
    "trace_batch",
    "zero_grad",
]

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
"""The machinery types that were top-level names (0.1.0), and the module each one lives in now."""


def __getattr__(name: str) -> object:
    """``mg.Trace`` and the other old spellings of `MOVED`: the type, with a `DeprecationWarning`."""
    where = MOVED.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import warnings

    warnings.warn(
        f"microgradx.{name} is deprecated: {name} lives in {where} (from {where} import {name})",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(where), name)


def __dir__() -> list[str]:
    """What ``dir(mg)`` and tab completion show: `__all__`, not the package's modules or imports."""
    return sorted(__all__)
