"""Between microgradx and PyTorch: an `MLP` as a ``torch.nn.Sequential``, and such a Sequential as an MLP.

The two are the same computation laid out differently. Neuron ``j`` of layer ``L`` holds its weights
``w[0] … w[nin−1]`` and its bias ``b`` as Values; in PyTorch, layer ``L`` is one ``nn.Linear`` whose
``weight[j, i]`` is that neuron's ``w[i]`` (one row per neuron) and whose ``bias[j]`` is its ``b``,
followed by ``nn.Tanh()``, ``nn.ReLU()`` or ``nn.Sigmoid()`` (nothing for a linear layer). The
tensors are float64, the width of a Value, so outputs and gradients agree to rounding (1e-12).

torch is imported only when one of these functions is called: microgradx itself never needs it.
`MLP.to_torch` and `MLP.from_torch` are the public door; this module holds the work.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["INSTALL_TORCH", "TORCH_ACTIVATIONS", "from_torch", "require_torch", "to_torch"]

INSTALL_TORCH = (
    "the CPU wheel is enough: pip install torch --index-url https://download.pytorch.org/whl/cpu "
    "(plain `pip install torch` brings a multi-GB CUDA build), or on machines that keep a local "
    "wheel, pip install torch==2.13.0"
)
"""How to install PyTorch, in the README's words; the `ImportError` of `require_torch` says it."""

TORCH_ACTIVATIONS: dict[str | None, str | None] = {
    "tanh": "Tanh",
    "relu": "ReLU",
    "sigmoid": "Sigmoid",
    None: None,  # a linear layer: no module after the Linear (from_torch also reads nn.Identity so)
}
"""Each activation name of `microgradx.nn.ACTIVATIONS` and the ``torch.nn`` module that computes it."""


def require_torch(what: str = "this") -> ModuleType:
    """The `torch` module, or an `ImportError` saying that `what` needs it and how to install it."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"{what} needs PyTorch, which is not installed; {INSTALL_TORCH}") from None
    return torch


def to_torch(mlp: Any) -> Any:
    """`mlp` as a float64 ``torch.nn.Sequential`` of ``Linear`` layers and activations, same weights.

    Row ``j`` of layer ``L``'s ``weight`` is neuron ``j``'s weights, ``bias[j]`` its bias; a hidden
    layer is followed by the module of `mlp`'s activation and the last by that of its
    ``final_activation`` (none for a linear one). The weights are copied: training one model
    leaves the other as it was. Making the module draws no random numbers (torch's generator is
    left as it was), and it has no gradients until its own ``backward``.
    """
    torch = require_torch("MLP.to_torch()")
    modules = []
    for layer in mlp.layers:
        if layer.activation not in TORCH_ACTIVATIONS:
            raise ValueError(f"MLP.to_torch(): {layer!r} has an activation PyTorch has no module for here")
        linear = torch.nn.utils.skip_init(torch.nn.Linear, layer.nin, layer.nout, dtype=torch.float64)
        with torch.no_grad():
            rows = [[w.data for w in neuron.w] for neuron in layer.neurons]  # row j: neuron j's weights
            linear.weight.copy_(torch.tensor(rows, dtype=torch.float64))
            linear.bias.copy_(torch.tensor([neuron.b.data for neuron in layer.neurons], dtype=torch.float64))
        modules.append(linear)
        activation = TORCH_ACTIVATIONS[layer.activation]
        if activation is not None:
            modules.append(getattr(torch.nn, activation)())
    return torch.nn.Sequential(*modules)


def from_torch(mlp_class: Callable[..., Any], module: Any) -> Any:
    """The MLP (made by `mlp_class`, i.e. `MLP`) holding the weights of the ``torch.nn.Sequential`` `module`.

    `module` is a Sequential of ``Linear`` layers, each followed by at most one of ``Tanh``,
    ``ReLU``, ``Sigmoid`` or ``Identity`` (Identity and no module alike mean a linear layer). The
    hidden layers share one activation, as an MLP's do; the last layer's is the MLP's
    ``final_activation``. Anything else (another kind of layer, a Linear without a bias, sizes that do
    not chain, two activations in a row, weights that are not finite real numbers) raises
    `ValueError` naming the layer by its place in the Sequential. Weights of any floating dtype are
    read exactly (float32 and float16 numbers are float64 numbers too), so the MLP holds the very
    same weights; it computes in float64, so its outputs match a float32 module's only to float32
    precision. `module` is left unchanged.
    """
    torch = require_torch("MLP.from_torch()")
    if not isinstance(module, torch.nn.Sequential):
        raise ValueError(
            "MLP.from_torch() reads a torch.nn.Sequential of Linear layers and activations, got "
            f"{type(module).__name__}"
        )
    layers = _read_layers(torch, module)
    first = layers[0]
    for layer in layers[1:-1]:
        if layer.activation != first.activation:
            raise ValueError(
                f"{layer.where} is followed by {layer.shown}, but {first.where} by {first.shown}: "
                "an MLP's hidden layers share one activation"
            )
    hidden = first.activation if len(layers) > 1 else "tanh"  # one layer: no hidden layers; MLP's default
    mlp = mlp_class(
        first.linear.in_features,
        [layer.linear.out_features for layer in layers],
        activation=hidden,
        final_activation=layers[-1].activation,
        seed=0,  # any start will do: every weight is set below
    )
    for mine, layer in zip(mlp.layers, layers, strict=True):
        weight = _numbers(layer.linear.weight, f"{layer.where} weight")
        bias = _numbers(layer.linear.bias, f"{layer.where} bias")
        for j, neuron in enumerate(mine.neurons):
            for i, w in enumerate(neuron.w):
                w.data = weight[j][i]
            neuron.b.data = bias[j]
    return mlp


@dataclass
class _Read:
    """One Linear of the Sequential, where it is, and the activation that follows it."""

    where: str  # "layer 2 (Linear)", the Sequential's name for it
    linear: Any
    activation: str | None = None
    shown: str = "no activation"  # as the Sequential writes it: "Tanh()", or "no activation"


def _read_layers(torch: ModuleType, module: Any) -> list[_Read]:
    """Each Linear of the Sequential `module` with its activation; `ValueError` for anything else."""
    activations = {getattr(torch.nn, name): act for act, name in TORCH_ACTIVATIONS.items() if name}
    activations[torch.nn.Identity] = None
    children = list(module.named_children())
    if not children:
        raise ValueError("MLP.from_torch(): the Sequential is empty; an MLP needs at least one Linear layer")
    layers: list[_Read] = []
    after_activation = False
    for name, child in children:
        where = f"layer {name} ({type(child).__name__})"
        if type(child) is torch.nn.Linear:
            _check_linear(child, where, layers[-1] if layers else None)
            layers.append(_Read(where, child))
            after_activation = False
        elif type(child) in activations:  # the exact class: a subclass may compute something else
            if not layers:
                raise ValueError(f"{where} comes before any Linear layer; an MLP starts with a Linear")
            if after_activation:
                raise ValueError(f"{where} follows another activation; each Linear takes at most one")
            layers[-1].activation, layers[-1].shown = activations[type(child)], f"{type(child).__name__}()"
            after_activation = True
        else:
            known = ", ".join(["Linear", *(cls.__name__ for cls in activations)])
            raise ValueError(f"{where} is not a layer MLP.from_torch() can read; it reads {known}")
    return layers


def _check_linear(linear: Any, where: str, before: _Read | None) -> None:
    """`ValueError` if `linear` has no bias, weights of the wrong shape, or a width the layer before lacks."""
    if linear.bias is None:
        raise ValueError(
            f"{where} has no bias (bias=False), but every neuron of an MLP has one: "
            "make it with bias=True (with its bias set to 0 it computes the same)"
        )
    shape = (linear.out_features, linear.in_features)
    if tuple(linear.weight.shape) != shape or tuple(linear.bias.shape) != shape[:1]:
        raise ValueError(
            f"{where} has weight of shape {tuple(linear.weight.shape)} and bias of shape "
            f"{tuple(linear.bias.shape)}, not {shape} and {shape[:1]} as its in_features and out_features say"
        )
    if before is not None and linear.in_features != before.linear.out_features:
        raise ValueError(
            f"{where} reads {linear.in_features} inputs, but {before.where} gives "
            f"{before.linear.out_features} outputs"
        )


def _numbers(tensor: Any, where: str) -> list:
    """A weight or bias tensor as (nested lists of) Python floats, exactly; `ValueError` unless finite."""
    if not tensor.dtype.is_floating_point:
        raise ValueError(f"{where} has dtype {tensor.dtype}; MLP.from_torch() reads real floating point")
    numbers = tensor.detach().cpu().double().tolist()
    flat = numbers if tensor.dim() == 1 else [x for row in numbers for x in row]
    for k, x in enumerate(flat):
        if not math.isfinite(x):
            index = k if tensor.dim() == 1 else f"{k // tensor.shape[1]}, {k % tensor.shape[1]}"
            raise ValueError(f"{where}[{index}] is {x!r}; an MLP's weights must be finite numbers")
    return numbers
