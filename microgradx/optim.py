"""Optimizers: `SGD`, `Adam` and `AdamW`, with PyTorch's update rules, so the numbers carry over.

Each optimizer holds a list of parameters (leaf `Value`s); after ``loss.backward()`` has filled
their ``.grad``, `step()` moves each ``.data`` downhill. Updates are plain float arithmetic on
``.data``: they record no graph. Per-parameter buffers live in ``state[p]`` under PyTorch's names
(``momentum_buffer``; ``step``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``), and
`Optimizer.state_dict` / `Optimizer.load_state_dict` save and restore them with the
hyper-parameters, so a run can stop and resume with the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from microgradx.engine import Value
from microgradx.saved_state import finite_number, short_repr

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]


def _hyper(name: str, x: object, *, below_one: bool = False, signed: bool = False) -> float:
    """A hyper-parameter as a float, checked to be a finite real number >= 0 (any sign when `signed`;
    < 1 when `below_one`): lr = inf or nan would turn every parameter into nan at the first step."""
    try:
        x = finite_number(x)
    except ValueError as e:
        raise ValueError(f"{name} must be a finite real number: it {e}") from None
    if below_one and not 0.0 <= x < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {x!r}")
    if not (signed or x >= 0.0):
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return x


def _flag(name: str, x: object) -> bool:
    """A switch such as ``nesterov``: `True` or `False` only (1 or "yes" is more likely a slip)."""
    if not isinstance(x, bool):
        raise ValueError(f"{name} must be True or False, got {type(x).__name__} {short_repr(x)}")
    return x


def _lerp(start: float, end: float, weight: float) -> float:
    """``start + weight·(end − start)``, rounded as ``torch.lerp`` rounds it (exact at both ends)."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def _maximum(a: float, b: float) -> float:
    """The larger of `a` and `b`, nan if either is nan (as ``torch.maximum``; Python's `max` is not)."""
    return a + b if math.isnan(a) or math.isnan(b) else max(a, b)


def _divide(a: float, b: float) -> float:
    """``a / b`` with IEEE results (±inf, nan) where Python would raise: eps = 0 with v = 0."""
    if b != 0.0:
        return a / b
    return math.copysign(math.inf, a) * math.copysign(1.0, b) if a != 0.0 else math.nan


class Optimizer:
    """What every optimizer shares: the checked parameter list, `state`, `zero_grad`, saving and resuming."""

    def __init__(self, params: Iterable[Value]):
        try:
            params = list(params)
        except TypeError:
            raise ValueError(
                f"{type(self).__name__}(params) must be an iterable of Values, got "
                f"{type(params).__name__} (pass model.parameters())"
            ) from None
        if not params:
            raise ValueError(f"{type(self).__name__}(params) is empty: there is nothing to optimize")
        for i, p in enumerate(params):
            if type(p) is not Value:
                raise ValueError(f"{type(self).__name__}(params)[{i}] is a {type(p).__name__}, not a Value")
        if len(set(params)) != len(params):
            raise ValueError(f"{type(self).__name__}(params) lists a parameter more than once")
        self.params: list[Value] = params
        self.state: dict[Value, dict[str, float]] = {p: {} for p in params}

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0 (grads accumulate across ``backward()`` calls)."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Move every parameter's ``.data`` by the rule of the subclass, using its ``.grad``.

        Call it after ``loss.backward()``; `SGD`, `Adam` and `AdamW` define it, this base class does not.
        """
        raise NotImplementedError

    # --- saving and resuming ----------------------------------------------------------------------

    HYPER: tuple[str, ...] = ()
    """The hyper-parameters (constructor arguments after `params`) that `state_dict` saves."""

    def _buffers(self) -> tuple[str, ...]:
        """The names in ``state[p]`` once a parameter has been stepped (with these hyper-parameters)."""
        return ()

    def state_dict(self) -> dict[str, Any]:
        """The optimizer as a JSON-ready ``dict``: its class, hyper-parameters and per-parameter state.

        ``{"optimizer": "AdamW", "hyper": {"lr": 0.001, "betas": [0.9, 0.999], ...}, "state":
        [{"step": 3.0, "exp_avg": ..., ...}, ...]}``, with one entry of `state` per parameter in the
        order of `params` (``{}`` before its first step). ``json.dumps`` takes it as it is; save
        it beside ``model.save(...)`` and give both back to resume a run with the same numbers.
        """
        hyper = {name: getattr(self, name) for name in self.HYPER}
        return {
            "optimizer": type(self).__name__,
            "hyper": {name: list(x) if isinstance(x, tuple) else x for name, x in hyper.items()},
            "state": [dict(self.state[p]) for p in self.params],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyper-parameters and buffers from `state` (made by `state_dict`), all or nothing.

        The parameters themselves are the model's (``model.load_state_dict``); this restores what
        the optimizer keeps about them. Everything is checked first, with the same checks as the
        constructor: another optimizer's state, a missing or unknown key, a bad hyper-parameter, a
        buffer that is not a finite number (a ``bool`` is not one here), or a different number of
        parameters raises `ValueError` naming the entry, and then nothing has changed.
        """
        fresh, buffers = self._checked(state)
        for name in self.HYPER:
            setattr(self, name, getattr(fresh, name))
        pairs = zip(self.params, buffers, strict=True)
        self.state = {p: {k: float(x) for k, x in entry.items()} for p, entry in pairs}

    def _checked(self, state: object) -> tuple[Optimizer, list[Mapping[str, Any]]]:
        """`load_state_dict`'s checks: an optimizer with the new hyper-parameters, and the buffers."""
        name = type(self).__name__
        what = f"state for {name}"
        if not isinstance(state, Mapping):
            raise ValueError(f"{what} must be a dict made by {name}.state_dict(), got {type(state).__name__}")
        problems = _keys(state, ("optimizer", "hyper", "state"), "")
        if problems:
            raise ValueError(f"{what} rejected, optimizer unchanged: " + "; ".join(problems))
        if state["optimizer"] != name:
            saved = short_repr(state["optimizer"])
            raise ValueError(f"{what} rejected: it was saved by {saved}, not {name!r}")
        hyper = state["hyper"]
        if not isinstance(hyper, Mapping):
            raise ValueError(f"{what} rejected: 'hyper' must be a dict, got {type(hyper).__name__}")
        problems = _keys(hyper, self.HYPER, "hyper.")
        if problems:
            raise ValueError(f"{what} rejected, optimizer unchanged: " + "; ".join(problems))
        try:  # the constructor's own checks, on the same parameters
            fresh = type(self)(self.params, **hyper)
        except ValueError as e:
            raise ValueError(f"{what} rejected, optimizer unchanged: {e}") from None
        buffers = state["state"]
        if isinstance(buffers, str | bytes | Mapping) or not isinstance(buffers, list | tuple):
            raise ValueError(f"{what} rejected: 'state' must be a list, got {type(buffers).__name__}")
        if len(buffers) != len(self.params):
            raise ValueError(
                f"{what} rejected: it has state for {len(buffers)} parameters, this optimizer has "
                f"{len(self.params)}"
            )
        wanted = fresh._buffers()
        problems = []
        for i, entry in enumerate(buffers):
            if not isinstance(entry, Mapping):
                problems.append(f"state[{i}] is not a dict (got {type(entry).__name__})")
                continue
            if entry:
                problems += _keys(entry, wanted, f"state[{i}].")
            for key, x in entry.items():
                if key not in wanted:
                    continue
                try:
                    number = finite_number(x)
                except ValueError as e:
                    problems.append(f"state[{i}].{key} {e}")
                    continue
                if key == "step" and not (number >= 1 and number.is_integer()):
                    problems.append(f"state[{i}].step must be a whole number >= 1 (got {short_repr(x)})")
                elif key in ("exp_avg_sq", "max_exp_avg_sq") and number < 0.0:  # √v of a negative v
                    said = f"is an average of squares, so >= 0 (got {short_repr(x)})"
                    problems.append(f"state[{i}].{key} {said}")
        if problems:
            shown = problems[:10] + ([f"and {len(problems) - 10} more"] if len(problems) > 10 else [])
            raise ValueError(f"{what} rejected, optimizer unchanged: " + "; ".join(shown))
        return fresh, list(buffers)


def _keys(given: Mapping[str, Any], wanted: Iterable[str], prefix: str) -> list[str]:
    """The missing and unknown keys of `given`, as messages (an empty list when they match)."""
    wanted = tuple(wanted)
    missing = [k for k in wanted if k not in given]
    unknown = [k for k in given if k not in wanted]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(short_repr(prefix + k, 40) for k in missing))
    if unknown:
        more = f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else ""
        problems.append("unknown " + ", ".join(short_repr(prefix + str(k), 40) for k in unknown[:10]) + more)
    return problems


class SGD(Optimizer):
    """Stochastic gradient descent, ``p ← p − lr·g``, with PyTorch's momentum, dampening and nesterov.

    Per step, for each parameter: ``g = p.grad + weight_decay·p``; with momentum, the buffer is
    ``b = g`` on the first step and ``b = momentum·b + (1 − dampening)·g`` afterwards, and ``g``
    becomes ``g + momentum·b`` (nesterov) or ``b``; then ``p ← p − lr·g``. `lr` may be changed
    between steps (learning-rate decay).
    """

    HYPER = ("lr", "momentum", "dampening", "nesterov", "weight_decay")

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        super().__init__(params)
        self.lr = _hyper("SGD lr", lr)
        self.momentum = _hyper("SGD momentum", momentum, below_one=True)
        self.dampening = _hyper("SGD dampening", dampening, signed=True)  # any finite number, as PyTorch
        self.weight_decay = _hyper("SGD weight_decay", weight_decay)
        self.nesterov = _flag("SGD nesterov", nesterov)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("SGD nesterov=True needs momentum > 0 and dampening == 0")

    def _buffers(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum != 0.0 else ()

    def step(self) -> None:
        """Update every parameter's ``.data`` from its ``.grad`` (no graph is recorded)."""
        lr, momentum, dampening, wd = self.lr, self.momentum, self.dampening, self.weight_decay
        for p in self.params:
            g = p.grad
            if wd != 0.0:
                g = g + wd * p.data
            if momentum != 0.0:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    buf = g
                else:
                    buf = state["momentum_buffer"] * momentum + (1.0 - dampening) * g
                state["momentum_buffer"] = buf
                g = g + momentum * buf if self.nesterov else buf
            p.data = p.data - lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), exactly as ``torch.optim.Adam``: moment averages with bias correction.

    Per step t, for each parameter: ``g = p.grad + weight_decay·p`` (L2, not AdamW);
    ``m ← m + (1 − β1)·(g − m)``; ``v ← β2·v + (1 − β2)·g²``; then
    ``p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)``. With `amsgrad`, ``v`` in that
    denominator is the largest ``v`` so far (``max_exp_avg_sq``), so a step never grows because
    the gradients became smaller.
    """

    HYPER = ("lr", "betas", "eps", "weight_decay", "amsgrad")

    decoupled_weight_decay = False
    """`AdamW` sets this: weight decay shrinks the parameter instead of joining the gradient."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        super().__init__(params)
        name = type(self).__name__
        self.lr = _hyper(f"{name} lr", lr)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{name} betas must be a pair (beta1, beta2), got {short_repr(betas)}") from None
        self.betas = (
            _hyper(f"{name} beta1", beta1, below_one=True),
            _hyper(f"{name} beta2", beta2, below_one=True),
        )
        self.eps = _hyper(f"{name} eps", eps)
        self.weight_decay = _hyper(f"{name} weight_decay", weight_decay)
        self.amsgrad = _flag(f"{name} amsgrad", amsgrad)

    def _buffers(self) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())

    def step(self) -> None:
        """Update every parameter's ``.data`` from its ``.grad`` (no graph is recorded)."""
        lr, eps, wd, amsgrad = self.lr, self.eps, self.weight_decay, self.amsgrad
        beta1, beta2 = self.betas
        for p in self.params:
            g = p.grad
            if wd != 0.0:
                if self.decoupled_weight_decay:
                    p.data = p.data * (1.0 - lr * wd)  # AdamW: p ← p·(1 − lr·λ), apart from the gradient
                else:
                    g = g + wd * p.data
            state = self.state[p]
            if not state:
                state.update(dict.fromkeys(self._buffers(), 0.0))
            t = state["step"] = state["step"] + 1.0
            m = state["exp_avg"] = _lerp(state["exp_avg"], g, 1.0 - beta1)
            v = state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + (1.0 - beta2) * g * g
            if amsgrad:
                v = state["max_exp_avg_sq"] = _maximum(state.get("max_exp_avg_sq", 0.0), v)
            step_size = lr / (1.0 - beta1**t)
            denom = math.sqrt(v) / (1.0 - beta2**t) ** 0.5 + eps
            p.data = p.data - step_size * _divide(m, denom)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter), exactly as ``torch.optim.AdamW``: Adam with decoupled weight decay.

    Each step first shrinks every parameter, ``p ← p·(1 − lr·weight_decay)``, then takes `Adam`'s
    step with the plain gradient: the decay does not pass through the moment averages, so it is
    the same for every parameter whatever its gradients' size (in `Adam` an L2 term would be
    divided by √v). The defaults are PyTorch's, ``weight_decay=1e-2`` included.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
