"""Neural networks from Values: `Module`, `Neuron`, `Layer`, `MLP`, and the losses that train them.

A model is a plain Python object whose parameters are leaf `Value`s; calling it builds the graph of
its output, so `loss.backward()` fills every parameter's ``.grad`` for an optimizer (`microgradx.optim`)
to use. Parameters are found by walking the model's attributes, as in PyTorch, which also gives each
one a stable name (``layers.0.neurons.3.w.1``) for `state_dict`, `save` and `load`.

The models live here; the losses in `microgradx.losses`, the checks of a saved state in
`microgradx.saved_state`, and `History` in `microgradx.history`. A learner reaches them all as
``mg.nn.NAME`` (``mg.nn.mse_loss``, ``mg.nn.History``), so they are imported here too.
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
from microgradx.losses import (  # noqa: F401  (LOG_FLOOR: as before the losses had their own module)
    LOG_FLOOR,
    bce_loss,
    cross_entropy,
    hinge_loss,
    log_softmax,
    mse_loss,
    softmax,
)
from microgradx.saved_state import checked_state, finite_number, read_state, short_repr  # noqa: F401  (0.1.0 names: mg.nn.finite_number)

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
        values = checked_state(state, named, self)
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
        state = read_state(path)
        try:
            self.load_state_dict(state)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None


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
