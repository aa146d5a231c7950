"""microgradx: a tiny scalar autograd engine for learning, teaching and checking backpropagation.

Build expressions from `Value`s, call `.backward()`, and read each input's ``.grad``.
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
from microgradx.notebook import Stepper, stepper
from microgradx.practice import Exercise, exercise, quiz
from microgradx.sym import to_sympy
from microgradx.trace import (
    BatchReplayed,
    BatchTrace,
    GuardError,
    Replayed,
    Trace,
    TraceError,
    trace,
    trace_batch,
)

__version__ = "0.1.0"

__all__ = [
    "BatchReplayed",
    "BatchTrace",
    "Exercise",
    "GuardError",
    "Replayed",
    "Stepper",
    "Trace",
    "TraceError",
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
