"""Optimizers: `SGD` and `Adam`, with PyTorch's update rules, so the numbers carry over.

Each optimizer holds a list of parameters (leaf `Value`s); after ``loss.backward()`` has filled
their ``.grad``, `step()` moves each ``.data`` downhill. Updates are plain float arithmetic on
``.data``: they record no graph. Per-parameter buffers live in ``state[p]`` under PyTorch's names
(``momentum_buffer``; ``step``, ``exp_avg``, ``exp_avg_sq``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from microgradx.engine import Value

__all__ = ["SGD", "Adam", "Optimizer"]


def _hyper(name: str, x: object, *, below_one: bool = False) -> float:
    """A hyper-parameter as a float, checked to be a real number >= 0 (and < 1 when `below_one`)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {type(x).__name__} {x!r}")
    x = float(x)
    if below_one and not 0.0 <= x < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {x!r}")
    if not x >= 0.0:  # also rejects nan
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return x


def _lerp(start: float, end: float, weight: float) -> float:
    """``start + weight·(end − start)``, rounded as ``torch.lerp`` rounds it (exact at both ends)."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def _divide(a: float, b: float) -> float:
    """``a / b`` with IEEE results (±inf, nan) where Python would raise: eps = 0 with v = 0."""
    if b != 0.0:
        return a / b
    return math.copysign(math.inf, a) * math.copysign(1.0, b) if a != 0.0 else math.nan


class Optimizer:
    """What every optimizer shares: the checked parameter list, `state` and `zero_grad`."""

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

        Call it after ``loss.backward()``; `SGD` and `Adam` define it, this base class does not.
        """
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, ``p ← p − lr·g``, with PyTorch's momentum, dampening and nesterov.

    Per step, for each parameter: ``g = p.grad + weight_decay·p``; with momentum, the buffer is
    ``b = g`` on the first step and ``b = momentum·b + (1 − dampening)·g`` afterwards, and ``g``
    becomes ``g + momentum·b`` (nesterov) or ``b``; then ``p ← p − lr·g``. `lr` may be changed
    between steps (learning-rate decay).
    """

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
        if isinstance(dampening, bool) or not isinstance(dampening, numbers.Real):
            raise ValueError(f"SGD dampening must be a real number, got {type(dampening).__name__}")
        self.dampening = float(dampening)
        self.weight_decay = _hyper("SGD weight_decay", weight_decay)
        if nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("SGD nesterov=True needs momentum > 0 and dampening == 0")
        self.nesterov = bool(nesterov)

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
    ``p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)``.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params)
        self.lr = _hyper("Adam lr", lr)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"Adam betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (
            _hyper("Adam beta1", beta1, below_one=True),
            _hyper("Adam beta2", beta2, below_one=True),
        )
        self.eps = _hyper("Adam eps", eps)
        self.weight_decay = _hyper("Adam weight_decay", weight_decay)

    def step(self) -> None:
        """Update every parameter's ``.data`` from its ``.grad`` (no graph is recorded)."""
        lr, eps, wd = self.lr, self.eps, self.weight_decay
        beta1, beta2 = self.betas
        for p in self.params:
            g = p.grad
            if wd != 0.0:
                g = g + wd * p.data
            state = self.state[p]
            if not state:
                state.update(step=0.0, exp_avg=0.0, exp_avg_sq=0.0)
            t = state["step"] = state["step"] + 1.0
            m = state["exp_avg"] = _lerp(state["exp_avg"], g, 1.0 - beta1)
            v = state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + (1.0 - beta2) * g * g
            step_size = lr / (1.0 - beta1**t)
            denom = math.sqrt(v) / (1.0 - beta2**t) ** 0.5 + eps
            p.data = p.data - step_size * _divide(m, denom)
