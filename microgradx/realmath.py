"""Real-number math for the engine's forward pass: Python's `math` domain errors, IEEE overflow.

Each function takes the float path first (`type(x) is float`: the engine's hot path pays one
identity test). The same functions also accept NumPy arrays, for the batch replay of
`microgradx.trace.trace_batch`, with exactly the float path's numbers: + − · / √ and relu are
correctly rounded elementwise array operations; exp, log, sin, cos, tanh, sigmoid, ** and the
functions made by `_real` (tan ... hypot) apply the float function itself to each element (NumPy's
own versions may differ in the last bit).
An element out of the domain raises the float path's error for it. NumPy is never imported
here unless an array arrives. The derivative rules that use these live in `rules.RULES`; those
whose edges need branches (``**`` at a zero base, √ at zero, asin' at ±1, atan2 and hypot at the
origin, the floor of ``%``) keep those branches at the end.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

_INF = math.inf


def as_float(data: object, what: str) -> float:
    """`data` as a float if it is a real number (int, float, Fraction, NumPy's); else a TypeError
    naming `what`."""
    if type(data) is float:
        return data
    if isinstance(data, numbers.Real):  # (a Value is not one)
        return float(data)
    raise TypeError(f"{what} must be a real number (int, float, Fraction, ...), got {type_name(data)}")


def type_name(x: object) -> str:
    """``str``, but ``numpy.bool`` rather than a bare ``bool`` that Python's own bool would be taken for."""
    kind = type(x)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _exact(x: float) -> str:
    """The operand an error message names, every digit of it (``repr``): not `formatting.fmt`'s 4 digits,
    which would write the 0.30000000000000004 that failed as 0.3."""
    return repr(float(x))


def is_array(x: object) -> bool:
    """True for a NumPy array, recognised without importing NumPy (NumPy's float64 is a float)."""
    return type(x).__name__ == "ndarray" and type(x).__module__ == "numpy"


def is_number(x: object) -> bool:
    """True for a real number or a NumPy array of them, False for a Value (which is neither)."""
    return isinstance(x, numbers.Real) or is_array(x)


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
        raise ZeroDivisionError(f"'/': division by zero in {_exact(a)} / {_exact(b)}")
    return a / b


def power(a: float, b: float) -> float:
    if (type(a) is not float and is_array(a)) or (type(b) is not float and is_array(b)):
        return elementwise(power, a, b)
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError(
            f"'**': {_exact(a)} ** {_exact(b)} divides by zero (a zero base needs an exponent >= 0)"
        )
    if a < 0.0 and not b.is_integer() and math.isfinite(b):
        raise ValueError(
            f"'**': {_exact(a)} ** {_exact(b)} is not a real number "
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
        raise ValueError(f"log: math domain error, log({_exact(a)}) is undefined (log needs a number > 0)")
    return math.log(a)


def sqrt(a: float) -> float:
    if type(a) is not float and is_array(a):
        raise_first_bad(numpy_module().asarray(a) < 0.0, sqrt, a)
        return numpy_module().sqrt(a)
    if a < 0.0:
        raise ValueError(f"sqrt: math domain error, sqrt({_exact(a)}) is not real (sqrt needs a number >= 0)")
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
            raise ValueError(f"{name}: math domain error, {name}({_exact(a)}) is undefined")
        return fn(a)

    forward.__name__ = f"_{name}"
    return forward


sin = _trig("sin", math.sin)
cos = _trig("cos", math.cos)



def _real(name: str, fn: Callable[..., float], needs: str = "", odd: bool = False) -> Callable[..., float]:
    """`math`'s function `fn` as a forward: on arrays element by element; an overflow is ±inf (IEEE, as
    PyTorch: -inf for an `odd` function of a negative number); outside its domain math's ValueError,
    naming the op, the value and what it `needs`."""

    def forward(*args: float) -> float:
        if any(type(x) is not float and is_array(x) for x in args):
            return elementwise(forward, *args)
        try:
            return fn(*args)
        except ValueError:
            shown = ", ".join(_exact(x) for x in args)
            raise ValueError(f"{name}: math domain error, {name}({shown}) is undefined ({name} needs {needs})"
                             ) from None
        except OverflowError:
            return -_INF if odd and args[0] < 0.0 else _INF

    forward.__name__ = name
    return forward


tan = _real("tan", math.tan, "a finite number")
sinh = _real("sinh", math.sinh, odd=True)
cosh = _real("cosh", math.cosh)
asin = _real("asin", math.asin, "a number in [-1, 1]")
acos = _real("acos", math.acos, "a number in [-1, 1]")
atan = _real("atan", math.atan)
asinh = _real("asinh", math.asinh)
acosh = _real("acosh", math.acosh, "a number >= 1")
atanh = _real("atanh", math.atanh, "a number in (-1, 1), ends excluded")
log1p = _real("log1p", math.log1p, "a number > -1")  # ln(1 + a), exact for a near 0
expm1 = _real("expm1", math.expm1)  # e^a − 1, exact for a near 0
log2 = _real("log2", math.log2, "a number > 0")
log10 = _real("log10", math.log10, "a number > 0")
exp2 = _real("exp2", math.exp2)
degrees = _real("degrees", math.degrees)
radians = _real("radians", math.radians)
atan2 = _real("atan2", math.atan2)
hypot = _real("hypot", math.hypot)


def sign(a: float) -> float:
    """1, 0 or -1; 0 for nan (as PyTorch)."""
    return (a > 0.0) * 1.0 - (a < 0.0) * 1.0  # (on arrays too)


def mod(a: float, b: float) -> float:
    """Python's floor modulo ``a % b`` (the sign of b, as ``torch.remainder``); b == 0 is an error."""
    if (type(b) is not float and is_array(b)) or (type(a) is not float and is_array(a)):
        np = numpy_module()
        raise_first_bad(np.asarray(b) == 0.0, mod, a, b)
        return np.remainder(a, b)
    if b == 0.0:
        raise ZeroDivisionError(f"'%': modulo by zero in {_exact(a)} % {_exact(b)}")
    return a % b

def relu(a: float) -> float:
    # max(0, a) that keeps nan (as PyTorch: a diverging network shows); -0.0 gives 0.0
    if type(a) is float:
        return 0.0 if a <= 0.0 else a
    if is_array(a):
        return numpy_module().where(numpy_module().asarray(a) <= 0.0, 0.0, a)
    return 0.0 if a <= 0.0 else a


# --- the edges of two derivative rules (rules.RULES), for floats and (create_graph) Values ----


def _data(x):  # a number as it is, a Value's number
    if type(x) is float or isinstance(x, numbers.Real):
        return x
    if is_array(x):
        raise TypeError("the ** and sqrt rules take floats or Values; on arrays use microgradx.arrays.local")
    return x.data


def d_power_base(a, b, out):
    """∂(a^b)/∂a = b·a^(b−1); 0 when b == 0 (as PyTorch), ±inf at a zero base with b < 1."""
    bd, ad = _data(b), _data(a)
    if bd == 0.0:
        return 0.0
    if ad == 0.0 and bd < 1.0:
        return _INF if bd > 0.0 else -_INF
    return b * (power(a, b - 1.0) if a is ad else a ** (b - 1.0))  # (a is ad: a number, not a Value)


def d_power_exponent(a, b, out):
    """∂(a^b)/∂b = a^b·ln a; 0 at a zero base (as PyTorch); nan for a negative base or a nan."""
    ad = _data(a)
    if ad > 0.0:
        return out * (log(a) if a is ad else a.log())
    return 0.0 if ad == 0.0 and _data(b) >= 0.0 else math.nan  # (0 ** nan: nan, as PyTorch)


def reciprocal(x):
    """1/x, and ±inf at ±0 (as PyTorch), on floats or arrays; on a Value its own 1/x (an error at 0).
    For the derivatives that are infinite at the edge of their domain: asin'(±1), acosh'(1)."""
    if type(x) is float or isinstance(x, numbers.Real):
        return 1.0 / x if x != 0.0 else math.copysign(_INF, x)
    if is_array(x):
        with numpy_module().errstate(divide="ignore"):
            return 1.0 / numpy_module().asarray(x, float)
    return 1.0 / x


def d_atan2(a, b):
    """∂atan2(a, b)/∂a = b/(a² + b²), ∂/∂b = −a/(a² + b²); 0 and -0 at the origin (as PyTorch)."""
    square = a * a + b * b
    if is_array(square):
        np = numpy_module()
        inverse = np.where(square != 0.0, 1.0 / np.where(square != 0.0, square, 1.0), 0.0)
    else:
        inverse = 0.0 if _data(square) == 0.0 else 1.0 / square
    return b * inverse, -a * inverse


def d_hypot(a, b, out):
    """∂hypot(a, b)/∂a = a/hypot(a, b), ∂/∂b = b/hypot(a, b); nan at the origin (as PyTorch)."""
    if is_array(out):
        with numpy_module().errstate(divide="ignore", invalid="ignore"):
            return a / out, b / out
    if _data(out) == 0.0:
        return math.nan, math.nan
    return a / out, b / out


def d_mod_divisor(a, b):
    """∂(a % b)/∂b = −floor(a/b), as Python's ``a // b`` (and ``torch.remainder``) rounds it. A number
    even on Values: it is constant between its jumps, so its own derivative is 0 there."""
    if is_array(a) or is_array(b):
        return -numpy_module().floor_divide(a, b)
    return -(_data(a) // _data(b))


def d_sqrt(a, out):
    """∂√a/∂a = 1/(2√a); ±inf at a == ±0.0 (as PyTorch: √-0.0 is -0.0)."""
    return (0.5 / out,) if _data(out) != 0.0 else (math.copysign(_INF, _data(out)),)
