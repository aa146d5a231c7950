"""The initial weights and biases are Uniform(-1/√fan_in, 1/√fan_in), as PyTorch's nn.Linear: checked
from both sides, so a bound that is too small fails as surely as one that is too large.

Each check is a statistical test whose false-alarm probability is below 1e-6 for any seed (the
bounds are the Dvoretzky–Kiefer–Wolfowitz inequality and the exact law of the sample maximum),
run at fixed seeds so that the suite is deterministic.
"""

from __future__ import annotations

import math
import random

import pytest

from microgradx.nn import MLP, Layer, Neuron

ALPHA = 1e-6  # the largest probability that a correct initialisation fails one check


def ks_distance(samples: list[float], bound: float) -> float:
    """The Kolmogorov–Smirnov distance between the samples and Uniform(−bound, bound)."""
    xs = sorted(samples)
    n = len(xs)
    cdf = [min(1.0, max(0.0, (x + bound) / (2 * bound))) for x in xs]
    return max(max((i + 1) / n - F, F - i / n) for i, F in enumerate(cdf))


def assert_uniform_within(samples: list[float], fan_in: int) -> None:
    bound = 1.0 / math.sqrt(fan_in)
    n = len(samples)
    assert all(-bound <= x <= bound for x in samples), "a weight lies outside ±1/√fan_in"
    # DKW: P(distance > ε) <= 2·exp(-2nε²)
    critical = math.sqrt(math.log(2 / ALPHA) / (2 * n))
    assert ks_distance(samples, bound) <= critical, f"not Uniform(±1/√{fan_in})"
    # the extremes come close to the bound: P(max |x| < (1 − δ)·bound) = (1 − δ)^n
    delta = 1 - ALPHA ** (1 / n)
    assert max(map(abs, samples)) >= (1 - delta) * bound, f"the weights never reach ±1/√{fan_in}"
    # and both signs reach it (each side alone: P(max x < (1 − 2δ')·bound) = (1 − δ')^n)
    side = 2 * (1 - (ALPHA / 2) ** (1 / n))
    assert max(samples) >= (1 - side) * bound and min(samples) <= -(1 - side) * bound


@pytest.mark.parametrize("fan_in", [3, 16, 50])
def test_a_layers_weights_and_biases_are_uniform_in_one_over_sqrt_fan_in(fan_in):
    layer = Layer(fan_in, 2000 // fan_in, seed=fan_in)
    assert_uniform_within([p.data for p in layer.parameters()], fan_in)


def test_each_mlp_layer_uses_its_own_fan_in():
    model = MLP(5, [40, 30, 1], seed=7)
    for index, fan_in in enumerate([5, 40, 30]):
        samples = [x for name, x in model.state_dict().items() if name.startswith(f"layers.{index}.")]
        if len(samples) > 200:
            assert_uniform_within(samples, fan_in)
        else:  # the last layer: 31 values, only the bound and a spread
            bound = 1 / math.sqrt(fan_in)
            assert all(abs(x) <= bound for x in samples) and max(map(abs, samples)) > bound / 2


def test_neurons_of_many_seeds_together_are_uniform():
    fan_in = 8
    samples = [p.data for seed in range(300) for p in Neuron(fan_in, seed=seed).parameters()]
    assert_uniform_within(samples, fan_in)


def test_the_check_itself_rejects_the_wrong_bounds():
    # the test's own power: samples of 1/fan_in or 2/√fan_in fail, samples of 1/√fan_in pass
    rng = random.Random(0)
    fan_in, n = 16, 1000
    right = [rng.uniform(-0.25, 0.25) for _ in range(n)]
    assert_uniform_within(right, fan_in)
    for wrong_bound in (1 / fan_in, 0.2, 2 / math.sqrt(fan_in)):
        wrong = [rng.uniform(-wrong_bound, wrong_bound) for _ in range(n)]
        with pytest.raises(AssertionError):
            assert_uniform_within(wrong, fan_in)
    with pytest.raises(AssertionError):  # one-sided: all positive
        assert_uniform_within([abs(x) for x in right], fan_in)
