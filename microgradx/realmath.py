"""Real-number math for the engine's forward pass: Python's `math` domain errors, IEEE overflow.

Each function takes the float path first (`type(x) is float`: the engine's hot path pays one
identity test). The same functions also accept NumPy arrays, for the batch replay of
`microgradx.trace.trace_batch`, with exactly the float path's numbers: + − · / √ and relu are
correctly rounded elementwise array operations; exp, log, sin, cos, tanh, sigmoid and ** apply
the float function itself to each element (NumPy's own versions may differ in the last bit).
An element out of the domain raises the float path's error for it. NumPy is never imported
here unless an array arrives. The derivative rules that use these live in `engine.RULES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

_INF = math.inf


def _fmt(x: float) -> str:
    return repr(float(x))


def is_array(x: object) -> bool:
    """True for a NumPy array, recognised without importing NumPy (NumPy's float64 is a float)."""
    return type(x).__name__ == "ndarray" and type(x).__module__ == "numpy"


_numpy = None


def numpy_module():  # NumPy, imported on the first array
    global _numpy
    if _numpy is None:
        import numpy

        _numpy = numpy
    return _numpy


def elementwise(fn: Callable[..., float], *args: object):
    """The float function `fn` applied to each element of the (broadcast) arrays `args`."""
    np = numpy_module()
    arrays = np.broadcast_arrays(*args)
    flat = map(fn, *(a.ravel().tolist() for a in arrays))
    return np.fromiter(flat, float, arrays[0].size).reshape(arrays[0].shape)


def raise_first_bad(bad, fn: Callable[..., float], *args: object) -> None:
    """Raise the float path's error for the first element where `bad` holds (if any does)."""
    np = numpy_module()
    if bad.any():
        arrays = np.broadcast_arrays(bad, *args)
        i = int(np.flatnonzero(arrays[0])[0])
        fn(*(float(a.flat[i]) for a in arrays[1:]))


def div(a: float, b: float) -> float:
    if (type(b) is not float and is_array(b)) or (type(a) is not float and is_array(a)):
        np = numpy_module()
        raise_first_bad(np.asarray(b) == 0.0, div, a, b)
        return np.true_divide(a, b)
    if b == 0.0:
        raise ZeroDivisionError(f"'/': division by zero in {_fmt(a)} / {_fmt(b)}")
    return a / b


def power(a: float, b: float) -> float:
    if (type(a) is not float and is_array(a)) or (type(b) is not float and is_array(b)):
        return elementwise(power, a, b)
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError(
            f"'**': {_fmt(a)} ** {_fmt(b)} divides by zero (a zero base needs an exponent >= 0)"
        )
    if a < 0.0 and not b.is_integer() and math.isfinite(b):
        raise ValueError(
            f"'**': {_fmt(a)} ** {_fmt(b)} is not a real number "
            "(a negative base needs a whole-number exponent)"
        )
    try:
        return a**b
    except OverflowError:  # IEEE semantics, as in PyTorch: the result is ±inf
        return -_INF if a < 0.0 and b % 2.0 == 1.0 else _INF


def exp(a: float) -> float:
    if type(a) is not float and is_array(a):
        return elementwise(exp, a)
    try:
        return math.exp(a)
    except OverflowError:  # IEEE semantics, as in PyTorch
        return _INF


def log(a: float) -> float:
    if type(a) is not float and is_array(a):
        return elementwise(log, a)
    if a <= 0.0:
        raise ValueError(f"log: math domain error, log({_fmt(a)}) is undefined (log needs a number > 0)")
    return math.log(a)


def sqrt(a: float) -> float:
    if type(a) is not float and is_array(a):
        raise_first_bad(numpy_module().asarray(a) < 0.0, sqrt, a)
        return numpy_module().sqrt(a)
    if a < 0.0:
        raise ValueError(f"sqrt: math domain error, sqrt({_fmt(a)}) is not real (sqrt needs a number >= 0)")
    return math.sqrt(a)


def tanh(a: float) -> float:
    if type(a) is not float and is_array(a):
        return elementwise(math.tanh, a)
    return math.tanh(a)


def sigmoid(a: float) -> float:
    if type(a) is not float and is_array(a):
        return elementwise(sigmoid, a)
    # Stable for any input: exp() is only ever taken of a non-positive number.
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _trig(name: str, fn: Callable[[float], float]) -> Callable[[float], float]:
    def forward(a: float) -> float:
        if type(a) is not float and is_array(a):
            return elementwise(forward, a)
        if math.isinf(a):
            raise ValueError(f"{name}: math domain error, {name}({_fmt(a)}) is undefined")
        return fn(a)

    forward.__name__ = f"_{name}"
    return forward


sin = _trig("sin", math.sin)
cos = _trig("cos", math.cos)


def relu(a: float) -> float:
    # max(0, a) that keeps nan (as PyTorch: a diverging network shows); -0.0 gives 0.0
    if type(a) is float:
        return 0.0 if a <= 0.0 else a
    if is_array(a):
        return numpy_module().where(numpy_module().asarray(a) <= 0.0, 0.0, a)
    return 0.0 if a <= 0.0 else a
