"""Neural networks from Values: `Module`, `Neuron`, `Layer`, `MLP`, and the losses that train them.

A model is a plain Python object whose parameters are leaf `Value`s; calling it builds the graph of
its output, so `loss.backward()` fills every parameter's ``.grad`` for an optimizer (`microgradx.optim`)
to use. Parameters are found by walking the model's attributes, as in PyTorch, which also gives each
one a stable name (``layers.0.neurons.3.w.1``) for `state_dict`, `save` and `load`.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from microgradx._files import write_atomically
from microgradx.engine import Value
from microgradx.history import History

__all__ = [
    "MLP",
    "History",
    "Layer",
    "Module",
    "Neuron",
    "bce_loss",
    "cross_entropy",
    "hinge_loss",
    "log_softmax",
    "mse_loss",
    "softmax",
]



def __dir__() -> list[str]:
    """What ``dir(mg.nn)`` and tab completion show: the models and losses, not this file's imports."""
    return sorted(__all__)


Number = int | float
Input = Sequence[Value | Number]

ACTIVATIONS: dict[str | None, Callable[[Value], Value] | None] = {
    "tanh": Value.tanh,
    "relu": Value.relu,
    "sigmoid": Value.sigmoid,
    None: None,
}
"""The activation names a `Neuron`, `Layer` or `MLP` accepts; ``None`` means linear (no activation)."""


class Module:
    """Base class of models: finds the parameters, resets their grads, saves and loads them.

    A parameter is a `Value` held in a public attribute, directly, in a list or tuple, or inside a
    sub-`Module`; attributes starting with ``_`` are private and never searched. The order is the
    order in which the attributes were assigned, so it is the same on every run.
    """

    def __call__(self, x: Input) -> Value | list[Value]:
        raise NotImplementedError(f"{type(self).__name__} must define __call__(self, x)")

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with its dotted name (``layers.0.neurons.3.w.1``), in a stable order.

        A Value reachable twice is listed once, under its first name.
        """
        found: list[tuple[str, Value]] = []
        seen: set[Value] = set()
        stack: list[tuple[str, object]] = [("", self)]
        while stack:  # depth-first, children in attribute order
            name, obj = stack.pop()
            if type(obj) is Value:
                if obj not in seen:
                    seen.add(obj)
                    found.append((name, obj))
                continue
            if isinstance(obj, Module):
                children = [(k, v) for k, v in vars(obj).items() if not k.startswith("_")]
            elif isinstance(obj, list | tuple):
                children = [(str(i), v) for i, v in enumerate(obj)]
            else:
                continue
            for key, child in reversed(children):
                stack.append((f"{name}.{key}" if name else key, child))
        return found

    def parameters(self) -> list[Value]:
        """The model's parameters (leaf Values), in the same stable order as `state_dict`."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0 (before each step's ``backward()``)."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """The parameters' values by name, as a JSON-ready ``dict`` of ``str`` to ``float``."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set the parameters from `state` (as made by `state_dict`), all or nothing.

        Everything is checked first: a missing or unknown name, a value that is not a real number
        (a ``bool`` is not one here) or that is not finite raises `ValueError` naming the entry,
        and then no parameter has changed.
        """
        named = dict(self.named_parameters())
        values = _checked_state(state, named, self)
        for name, p in named.items():
            p.data = values[name]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `state_dict` to `path` as JSON, atomically: a reader sees the old file or the new one.

        The text goes to a temporary file in the same folder, which then replaces `path`. A
        non-finite parameter (after a diverged run) raises `ValueError`, since `load` would refuse it.
        """
        state = self.state_dict()
        for name, x in state.items():
            if not math.isfinite(x):
                raise ValueError(f"cannot save {type(self).__name__}: parameter {name!r} is {x!r}")
        write_atomically(path, json.dumps(state, indent=1) + "\n")

    def load(self, path: str | os.PathLike[str]) -> None:
        """Read a file written by `save` into this model, with the checks of `load_state_dict`.

        A file that is not JSON raises `ValueError` naming the file; the model is then unchanged.
        """
        path = os.fspath(path)
        with open(path, "rb") as f:
            raw = f.read()
        try:
            state = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not a saved state (invalid JSON: not UTF-8 text, {e})") from None
        except RecursionError:  # [[[[…]]]] 100,000 deep
            raise ValueError(f"{path}: not a saved state (JSON nested too deeply)") from None
        except ValueError as e:  # invalid JSON, or an integer of more than 4,300 digits
            raise ValueError(f"{path}: not a saved state (invalid JSON: {str(e)[:200]})") from None
        try:
            self.load_state_dict(state)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None


def _checked_state(state: object, named: Mapping[str, Value], model: Module) -> dict[str, float]:
    """`state` as floats after every check of `load_state_dict`; `ValueError` naming the first
    offending entries, in a message of bounded length whatever the state holds."""
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


# --- the building blocks ---------------------------------------------------------------------------


def _activation(activation: str | None) -> Callable[[Value], Value] | None:
    if activation not in ACTIVATIONS:
        choices = ", ".join(repr(a) for a in ACTIVATIONS)
        raise ValueError(f"unknown activation {activation!r}; choose one of {choices}")
    return ACTIVATIONS[activation]


def _count(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be a whole number, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{what} must be at least 1, got {n}")
    return int(n)


def _rng(seed: int | random.Random | None) -> random.Random:
    # A local generator: seeding never touches (or depends on) the global `random` state.
    return seed if isinstance(seed, random.Random) else random.Random(seed)


def _inputs(x: Input, nin: int, who: str) -> list[Value]:
    """The input as Values, each number becoming one leaf shared by every neuron that reads it."""
    if isinstance(x, Value | numbers.Real | str) or not isinstance(x, Sequence):
        raise TypeError(f"{who} expects a list of {nin} numbers or Values, got {type(x).__name__}")
    if len(x) != nin:
        raise ValueError(f"{who} expects {nin} inputs, got {len(x)}")
    return [xi if type(xi) is Value else Value(xi) for xi in x]


def _relabel(module: Module, prefix: str) -> None:
    """Put `prefix` (a place such as ``L1.``) before the labels of `module`'s parameters and nodes."""
    for p in module.parameters():
        p.label = prefix + p.label
    for neuron in module.neurons if isinstance(module, Layer) else [module]:
        neuron._place = prefix + neuron._place


class Neuron(Module):
    """One neuron: ``activation(w·x + b)``, with parameters labelled ``w1 … wn`` and ``b``.

    Its output graph names the weighted sum ``z`` (its partial sums ``z[:1]`` …) and the activation's
    result ``out``; inside a `Layer` or an `MLP` each name carries the neuron's place (``L1.n3.w1``,
    ``L1.n3.z``, ``L1.n3.out``), so a drawing or an explanation says where each node sits.

    Weights and bias start uniform in ``±1/√nin``, as PyTorch's ``nn.Linear``. `seed` (a number, or
    a `random.Random` to draw from) makes that start reproducible.

    >>> n = Neuron(2, activation=None, seed=0); n.w[0].data, n.w[1].data = 2.0, -1.0; n.b.data = 0.5
    >>> n([1.0, 3.0]).data
    -0.5
    """

    _place = ""  # "L1.n3." once a Layer or MLP holds the neuron (a class default: old pickles lack it)

    def __init__(self, nin: int, activation: str | None = "tanh", seed: int | random.Random | None = None):
        self.nin = _count(nin, "Neuron(nin)")
        self.activation = activation
        self._act = _activation(activation)
        rng = _rng(seed)
        bound = 1.0 / math.sqrt(self.nin)
        self.w = [Value(rng.uniform(-bound, bound), f"w{i + 1}") for i in range(self.nin)]
        self.b = Value(rng.uniform(-bound, bound), "b")

    def __call__(self, x: Input) -> Value:
        x = _inputs(x, self.nin, repr(self))
        return self._forward(x)

    def _forward(self, x: list[Value]) -> Value:
        # Start the sum from the bias: n multiplications and n additions, no extra nodes. The partial
        # sums are labelled as softmax's are: z[:1] = b + w1·x1, …, and the whole sum z.
        z = self.b
        for k, (wi, xi) in enumerate(zip(self.w, x, strict=True), start=1):
            z = z + wi * xi
            z.label = f"{self._place}z[:{k}]"
        z.label = f"{self._place}z"
        if not self._act:
            return z
        out = self._act(z)
        out.label = f"{self._place}out"
        return out

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """`nout` neurons reading the same `nin` inputs; parameters labelled ``n1.w1``, ``n1.b``, ….

    Returns a Value when ``nout == 1``, otherwise a list of `nout` Values.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | None = "tanh",
        seed: int | random.Random | None = None,
    ):
        self.nin = _count(nin, "Layer(nin)")
        self.nout = _count(nout, "Layer(nout)")
        self.activation = activation
        _activation(activation)
        rng = _rng(seed)
        self.neurons = [Neuron(self.nin, activation, seed=rng) for _ in range(self.nout)]
        for j, neuron in enumerate(self.neurons):
            _relabel(neuron, f"n{j + 1}.")

    def __call__(self, x: Input) -> Value | list[Value]:
        out = self._forward(_inputs(x, self.nin, repr(self)))
        return out[0] if len(out) == 1 else out

    def _forward(self, x: list[Value]) -> list[Value]:
        return [neuron._forward(x) for neuron in self.neurons]

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: layers of the given `sizes`, each feeding the next.

    Hidden layers use `activation`, the last one `final_activation` (default linear). Parameters
    are labelled ``L1.n1.w1`` … (counting from 1, as in the math), while `state_dict` names count
    list positions from 0 (``layers.0.neurons.0.w.0``). `seed` makes the initialisation reproducible
    without touching the global `random` state.

    >>> len(MLP(2, [16, 16, 1]).parameters())
    337
    """

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str | None = "tanh",
        final_activation: str | None = None,
        seed: int | None = None,
    ):
        self.nin = _count(nin, "MLP(nin)")
        if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence):
            raise TypeError(f"MLP(sizes) must be a list of layer sizes, got {type(sizes).__name__}")
        if not sizes:
            raise ValueError("MLP(sizes) must list at least one layer size, got an empty list")
        self.sizes = [_count(n, f"MLP(sizes[{i}])") for i, n in enumerate(sizes)]
        self.activation = activation
        self.final_activation = final_activation
        _activation(activation)
        _activation(final_activation)
        rng = random.Random(seed)
        fan_in = [self.nin, *self.sizes]
        last = len(self.sizes) - 1
        self.layers = [
            Layer(fan_in[i], n, final_activation if i == last else activation, seed=rng)
            for i, n in enumerate(self.sizes)
        ]
        for i, layer in enumerate(self.layers):
            _relabel(layer, f"L{i + 1}.")

    def __call__(self, x: Input) -> Value | list[Value]:
        x = _inputs(x, self.nin, repr(self))
        for layer in self.layers:
            x = layer._forward(x)
        return x[0] if len(x) == 1 else x

    def to_torch(self) -> Any:
        """This MLP as a float64 ``torch.nn.Sequential`` (needs torch): same weights, same outputs and
        gradients (within 1e-12); neuron ``j``'s weights are row ``j`` of its layer's ``Linear.weight``.
        See `microgradx.torch_bridge.to_torch`."""
        from microgradx.torch_bridge import to_torch

        return to_torch(self)

    @classmethod
    def from_torch(cls, module: Any) -> MLP:
        """The MLP with the weights of `module`, a ``torch.nn.Sequential`` of ``Linear`` layers and
        ``Tanh``/``ReLU``/``Sigmoid``/``Identity``; any other layer is a `ValueError` naming it.
        See `microgradx.torch_bridge.from_torch`."""
        from microgradx.torch_bridge import from_torch

        return from_torch(cls, module)

    def __repr__(self) -> str:
        return (
            f"MLP({self.nin}, {self.sizes}, activation={self.activation!r}, "
            f"final_activation={self.final_activation!r})"
        )


# --- losses -----------------------------------------------------------------------------------------


def _batch(xs: object, what: str) -> list:
    if isinstance(xs, Value | numbers.Real):
        return [xs]
    if isinstance(xs, str | bytes) or not isinstance(xs, Sequence):
        raise TypeError(f"{what} must be a list of numbers or Values, got {type(xs).__name__}")
    for i, x in enumerate(xs):
        if not isinstance(x, Value | numbers.Real):
            raise TypeError(f"{what}[{i}] must be a number or a Value, got {type(x).__name__}")
    return list(xs)


def _pair(a: object, b: object, names: tuple[str, str], loss: str) -> tuple[list, list]:
    a, b = _batch(a, f"{loss}({names[0]})"), _batch(b, f"{loss}({names[1]})")
    if not a:
        raise ValueError(f"{loss}: the batch is empty")
    if len(a) != len(b):
        raise ValueError(f"{loss}: {len(a)} {names[0]} but {len(b)} {names[1]}")
    return [x if type(x) is Value else Value(x) for x in a], b


def _mean(terms: list[Value]) -> Value:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total / len(terms)


def _data(x: Value | Number) -> float:
    return x.data if type(x) is Value else float(x)


def mse_loss(preds: Sequence[Value | Number] | Value, targets: Sequence[Value | Number] | Value) -> Value:
    """Mean squared error ``mean((pred − target)²)`` over the batch, as ``torch.nn.functional.mse_loss``.

    A single prediction and target may be given without a list.
    """
    preds, targets = _pair(preds, targets, ("preds", "targets"), "mse_loss")
    return _mean([(p - t) ** 2 for p, t in zip(preds, targets, strict=True)])


LOG_FLOOR = -100.0
"""`bce_loss` clamps each log at this value, as PyTorch's ``binary_cross_entropy`` does."""


def _clamped_log(x: Value) -> Value:
    # log(x) below the floor (x == 0 included) becomes a constant leaf: finite, no gradient.
    # The test goes through the Value's comparison and float(), so `trace` records it as a guard.
    if x <= 0.0 or math.log(float(x)) < LOG_FLOOR:
        return Value(LOG_FLOOR)
    return x.log()


def bce_loss(probs: Sequence[Value | Number] | Value, targets: Sequence[Value | Number] | Value) -> Value:
    """Binary cross-entropy ``mean(−(t·log p + (1−t)·log(1−p)))`` for probabilities in [0, 1].

    Numerically safe at 0 and 1 the way PyTorch is: each log is clamped at -100 (`LOG_FLOOR`), so
    p = 0 or 1 gives a finite loss (the same value as PyTorch). A clamped log is a constant and
    passes no gradient, like any clamp; PyTorch instead bounds the denominator of (p − t)/(p·(1 − p))
    below by 1e-12, so gradients agree wherever p·(1 − p) ≥ 1e-12. Probabilities or targets outside
    [0, 1] raise `ValueError`, as in PyTorch.
    """
    probs, targets = _pair(probs, targets, ("probs", "targets"), "bce_loss")
    terms = []
    for i, (p, t) in enumerate(zip(probs, targets, strict=True)):
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(f"bce_loss: probs[{i}] = {p.data!r} is not a probability in [0, 1]")
        if not 0.0 <= _data(t) <= 1.0:
            raise ValueError(f"bce_loss: targets[{i}] = {_data(t)!r} is not in [0, 1]")
        terms.append(-(t * _clamped_log(p) + (1 - t) * _clamped_log(1 - p)))
    return _mean(terms)


def hinge_loss(scores: Sequence[Value | Number] | Value, labels: Sequence[Value | Number] | Value) -> Value:
    """Hinge loss ``mean(relu(1 − y·s))`` for labels y = ±1: zero once each score is on its side by 1.

    This is the margin loss of a support vector machine, used by micrograd's two-moons demo.
    """
    scores, labels = _pair(scores, labels, ("scores", "labels"), "hinge_loss")
    for i, y in enumerate(labels):
        if _data(y) not in (1.0, -1.0):
            raise ValueError(f"hinge_loss: labels[{i}] = {_data(y)!r}, labels must be +1 or -1")
    return _mean([(1 - y * s).relu() for s, y in zip(scores, labels, strict=True)])


# --- multi-class: softmax, log_softmax, cross_entropy ------------------------------------------------
#
# All three are built from the engine's ops, so every node of their graphs is one of the SPEC's ops
# and `explain`, `draw` and the stepper show them step by step. The shift by the largest logit is a
# constant leaf labelled ``max``: softmax is unchanged by any shift, so no gradient needs to flow
# through it (PyTorch's formulas work out the same), and exp never sees a positive number.


def _logits(values: object, what: str, row: str = "") -> list[Value]:
    """`values` as a non-empty list of Values; a number becomes a leaf labelled ``z[j]``."""
    if isinstance(values, Value | numbers.Real):
        raise TypeError(
            f"{what} must be a list of logits (numbers or Values), got one {type(values).__name__}"
        )
    values = _batch(values, what)
    if not values:
        raise ValueError(f"{what} is empty: there must be at least one class")
    return [z if type(z) is Value else Value(z, f"z{row}[{j}]") for j, z in enumerate(values)]


def _shifted_exps(logits: list[Value], row: str = "") -> tuple[list[Value], list[Value], Value]:
    """``z[j] − max``, ``exp(z[j] − max)`` for each logit and their sum ``Σ exp``, labelled as such.

    `row` tags the labels of one sample of a batch (``"[2]"``), so that every leaf's label is unique.
    """
    # float() of the largest logit, not its .data: under `microgradx.trace` that is a guard, so a
    # replay on other logits traces again instead of reusing a stale max (and its exp's rounding).
    top = Value(float(max(logits)), f"max{row}")
    shifted, exps = [], []
    for j, z in enumerate(logits):
        name = z.label or f"z{row}[{j}]"
        d = z - top
        d.label = f"{name} − max{row}"
        e = d.exp()
        e.label = f"exp({d.label})"
        shifted.append(d)
        exps.append(e)
    total = exps[0]
    for k in range(1, len(exps)):
        total = total + exps[k]
        total.label = f"Σ exp{row}" if k == len(exps) - 1 else f"Σ exp{row}[:{k + 1}]"
    return shifted, exps, total


def _log_sum(total: Value, row: str = "") -> Value:
    out = total.log()
    out.label = f"log Σ exp{row}"  # log Σ_j exp(z[j] − max), which is ≥ 0 since one term is exp(0) = 1
    return out


def softmax(values: Sequence[Value | Number]) -> list[Value]:
    """The probabilities ``exp(z[j]) / Σ_k exp(z[k])`` of logits `values`, as ``torch.softmax``.

    Computed as ``exp(z[j] − max) / Σ exp(z − max)``, which is the same number without overflow:
    logits of ±1000 give 1 and 0. Each result is labelled ``softmax[j]``.

    >>> print(*[round(p.data, 4) for p in softmax([1.0, 2.0, 3.0])])
    0.09 0.2447 0.6652
    """
    _, exps, total = _shifted_exps(_logits(values, "softmax(values)"))
    probs = []
    for j, e in enumerate(exps):
        p = e / total
        p.label = f"softmax[{j}]"
        probs.append(p)
    return probs


def log_softmax(values: Sequence[Value | Number]) -> list[Value]:
    """The log-probabilities ``z[j] − log Σ_k exp(z[k])`` of logits `values`, as ``torch.log_softmax``.

    Computed as ``(z[j] − max) − log Σ exp(z − max)`` (log-sum-exp with the max subtracted), so it
    stays finite where ``log(softmax)`` would reach ``log(0)`` (logits ±1000 apart, and far more).
    Each result is labelled ``log softmax[j]``.

    >>> print(*[round(p.data, 4) for p in log_softmax([1000.0, 0.0])])
    0.0 -1000.0
    """
    shifted, _, total = _shifted_exps(_logits(values, "log_softmax(values)"))
    log_sum = _log_sum(total)
    out = []
    for j, d in enumerate(shifted):
        lp = d - log_sum
        lp.label = f"log softmax[{j}]"
        out.append(lp)
    return out


def _class_index(target: object, classes: int, what: str) -> int:
    """A class index: an int, or a bool as the number it is (True is class 1), as everywhere in a graph."""
    if not isinstance(target, numbers.Integral):
        raise TypeError(f"{what} must be a class index (an int), got {type(target).__name__} {target!r}")
    if not 0 <= target < classes:
        raise ValueError(f"{what} = {target} is out of range for {classes} classes (0 to {classes - 1})")
    return int(target)


def _one_cross_entropy(logits: object, target: object, what: str, row: str = "") -> Value:
    """``−log softmax(logits)[target]`` = ``log Σ exp − (z[target] − max)`` for one sample."""
    logits = _logits(logits, f"{what}(logits{row})", row)
    t = _class_index(target, len(logits), f"{what}: target{row}")
    shifted, _, total = _shifted_exps(logits, row)
    loss = _log_sum(total, row) - shifted[t]
    loss.label = f"cross-entropy{row}"
    return loss


def _is_row(x: object) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, str | bytes)


def cross_entropy(
    logits: Sequence[Value | Number] | Sequence[Sequence[Value | Number]],
    target: int | Sequence[int],
) -> Value:
    """Softmax cross-entropy ``−log softmax(logits)[target]``, as ``torch.nn.functional.cross_entropy``.

    `logits` are one sample's class scores (a list of Values or numbers) and `target` its class
    index (an int, 0-based); or, for a batch, a list of such lists and a list of targets, and the
    loss is their mean. Numerically stable: it is ``log Σ exp(z − max) − (z[target] − max)``, finite
    for logits of ±1000, and its gradient is ``softmax(z) − onehot(target)`` (divided by the batch
    size). The graph's nodes are labelled (``max``, ``z[j] − max``, ``Σ exp``, ``log Σ exp``,
    ``cross-entropy``) so that `explain` and `draw` read like the derivation. A bool is the
    number it stands for, as in a Value: True is the logit 1 or the class 1.

    >>> round(cross_entropy([2.0, 1.0, 0.1], 0).data, 6)
    0.41703
    """
    if not _is_row(logits):
        raise TypeError(f"cross_entropy(logits) must be a list of logits, got {type(logits).__name__}")
    if not logits or not _is_row(logits[0]):
        if _is_row(target):
            raise TypeError(
                f"cross_entropy: one sample's logits take one class index as target, got "
                f"{type(target).__name__} (for a batch, pass a list of lists of logits)"
            )
        return _one_cross_entropy(logits, target, "cross_entropy")
    batch = logits
    for i, row in enumerate(batch):  # the logits first: [[]] is an empty sample, whatever the target
        if not _is_row(row):
            raise TypeError(f"cross_entropy(logits)[{i}] must be a list of logits, got {type(row).__name__}")
        if not row:
            raise ValueError(f"cross_entropy(logits)[{i}] is empty: there must be at least one class")
        if len(row) != len(batch[0]):
            raise ValueError(
                f"cross_entropy: logits[{i}] has {len(row)} classes but logits[0] has {len(batch[0])}"
            )
    samples = f"{len(batch)} sample{'s' * (len(batch) != 1)}"
    if not _is_row(target):
        raise TypeError(
            f"cross_entropy: a batch of {samples} needs a list of {len(batch)} "
            f"target{'s' * (len(batch) != 1)}, got {type(target).__name__}"
        )
    if len(batch) != len(target):
        raise ValueError(f"cross_entropy: {samples} of logits but {len(target)} targets")
    terms = [
        _one_cross_entropy(row, t, "cross_entropy", f"[{i}]")
        for i, (row, t) in enumerate(zip(batch, target, strict=True))
    ]
    loss = _mean(terms)
    loss.label = "cross-entropy"
    return loss
