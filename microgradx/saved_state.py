"""Reading a saved state back: the checks behind `Module.load_state_dict`, `Module.load` and the
optimizers' `load_state_dict`, so that a bad file or dict changes nothing and says what is wrong.

A state is untrusted input (a file may hold anything JSON can: a 50 MB string, an int of 5,000
digits, ``NaN``, nesting 100,000 deep), so every message here has a bounded length and names the
offending entry; `read_state` turns every way a file can fail to be JSON into one `ValueError`.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping

__all__ = ["checked_state", "finite_number", "read_state", "short_repr"]


def read_state(path: str | os.PathLike[str]) -> object:
    """The JSON value in the file at `path` (not yet checked), or `ValueError` naming the file when it is
    not JSON: not UTF-8 text, invalid syntax, nested too deeply, or an integer too long to read."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a saved state (invalid JSON: not UTF-8 text, {e})") from None
    except RecursionError:  # [[[[…]]]] 100,000 deep
        raise ValueError(f"{path}: not a saved state (JSON nested too deeply)") from None
    except ValueError as e:  # invalid JSON, or an integer of more than 4,300 digits
        raise ValueError(f"{path}: not a saved state (invalid JSON: {str(e)[:200]})") from None


def checked_state(state: object, named: Mapping[str, object], model: object) -> dict[str, float]:
    """`state` as floats for the parameter names of `named`, after every check of `load_state_dict`.

    A missing or unknown name, or an entry `finite_number` refuses, is a `ValueError` naming the
    first offending entries and `model`'s class, in a message of bounded length whatever `state` holds.
    """
    what = f"state for {type(model).__name__}"
    if not isinstance(state, Mapping):
        raise ValueError(f"{what} must be a dict of name -> number, got {type(state).__name__}")
    problems = []
    missing = [name for name in named if name not in state]
    unknown = [name for name in state if name not in named]
    if missing:
        problems.append("missing " + _listing(missing))
    if unknown:
        problems.append("unknown " + _listing(unknown))
    values = {}
    for name in named:
        if name in state:
            try:
                values[name] = finite_number(state[name])
            except ValueError as e:
                problems.append(f"{name!r} {e}")
    if problems:
        shown = problems[:10] + ([f"and {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise ValueError(f"{what} rejected, model unchanged: " + "; ".join(shown))
    return values


def finite_number(x: object) -> float:
    """`x` as a finite float, or `ValueError` saying why not in a message of bounded length.

    For numbers read back from a saved state: a ``bool`` is not a number here, and a string, an
    int of 500 digits, inf and nan are each named (shortened: a file can hold a 50 MB string).
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"is not a number (got {type(x).__name__} {short_repr(x)})")
    try:
        number = float(x)
    except OverflowError:  # an int of hundreds of digits
        raise ValueError(f"is too large for a float (got {short_repr(x)})") from None
    if not math.isfinite(number):
        raise ValueError(f"is not finite (got {short_repr(x)})")
    return number


def short_repr(x: object, limit: int = 60) -> str:
    """`repr(x)` cut to `limit` characters (a state file can hold a megabyte string or a 5,000-digit int)."""
    if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 200:
        return f"an integer of about {int(x.bit_length() * 0.30103):,} digits"  # repr() itself may refuse
    text = repr(x) if not isinstance(x, list | tuple | dict) else f"a {type(x).__name__} of {len(x):,} items"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listing(names: list[str], most: int = 5) -> str:
    """The first `most` names (each shortened), and how many more there are."""
    shown = ", ".join(short_repr(name, 40) for name in names[:most])
    return shown + (f" and {len(names) - most:,} more" if len(names) > most else "")
