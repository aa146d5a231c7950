"""microgradx: a tiny scalar autograd engine for learning, teaching and checking backpropagation.

Build expressions from `Value`s, call `.backward()`, and read each input's ``.grad``.
"""

from microgradx import nn, optim, persistence  # noqa: F401  (persistence: how Values pickle)
from microgradx.check import compare, gradcheck
from microgradx.draw import draw, to_dot, to_text
from microgradx.engine import Value, grad, is_grad_enabled, no_grad
from microgradx.explain import explain
from microgradx.explore import explore
from microgradx.functions import cos, exp, log, relu, sigmoid, sin, sqrt, tanh, zero_grad
from microgradx.html import to_html
from microgradx.notebook import Stepper, stepper
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
    "GuardError",
    "Replayed",
    "Stepper",
    "Trace",
    "TraceError",
    "Value",
    "__version__",
    "compare",
    "cos",
    "draw",
    "exp",
    "explain",
    "explore",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "log",
    "nn",
    "no_grad",
    "optim",
    "relu",
    "sigmoid",
    "sin",
    "sqrt",
    "stepper",
    "tanh",
    "to_dot",
    "to_html",
    "to_sympy",
    "to_text",
    "trace",
    "trace_batch",
    "zero_grad",
]
