"""microgradx: a tiny scalar autograd engine for learning, teaching and checking backpropagation.

Build expressions from `Value`s, call `.backward()`, and read each input's ``.grad``.
"""

from microgradx import nn, optim
from microgradx.engine import (
    Value,
    cos,
    exp,
    grad,
    is_grad_enabled,
    log,
    no_grad,
    relu,
    sigmoid,
    sin,
    sqrt,
    tanh,
    zero_grad,
)

__version__ = "0.1.0"

__all__ = [
    "Value",
    "__version__",
    "cos",
    "exp",
    "grad",
    "is_grad_enabled",
    "log",
    "nn",
    "no_grad",
    "optim",
    "relu",
    "sigmoid",
    "sin",
    "sqrt",
    "tanh",
    "zero_grad",
]
