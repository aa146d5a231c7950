"""Time one MLP training step: rebuilt, replayed from a trace, batch-replayed, and on plain floats.

The step is micrograd's demo (examples/moons.py): ``MLP(2, [16, 16, 1])`` with ReLU, hinge loss +
L2 over 100 two-moons points, backward, SGD with momentum. The *float floor* is the same step
written by hand on plain floats, forward and reverse pass (`float_step`): what a Python program
without any framework costs, the limit a replay can approach. The headline is replay / floor,
measured in the same run (the machine's load changes both alike).

All models start equal; after every timed step the replayed model's loss and parameters are checked
to be identical to the rebuilt one's, and the batch replay's and the float floor's to agree to 1e-12
relative (their sums run in another order), so the times compare equal work. The first step of
each is timed on its own: the replay's first call writes and compiles its code. Python's GC stays on,
as in real use (``gc.collect()`` runs untimed before each step).

    python benchmarks/replay.py             # 100 points, 7 steps each way (after a first one)
    python benchmarks/replay.py --quick     # 20 points, 3 steps: a smoke test
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import statistics
import sys
import time
from pathlib import Path

import microgradx as mg
from microgradx.nn import MLP
from microgradx.trace import Trace

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "moons.py"
_spec = importlib.util.spec_from_file_location("moons", EXAMPLE)
moons = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(moons)
LR, MOMENTUM = 0.05, 0.9


def setup(points: int) -> tuple[MLP, mg.optim.SGD, list, list]:
    X, y = moons.make_moons(points, noise=0.1, seed=3)
    model = MLP(2, [16, 16, 1], activation="relu", seed=3)
    return model, mg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM), X, y


def rebuild_step(model: MLP, optimizer: mg.optim.SGD, X: list, y: list) -> float:
    loss, _ = moons.loss_and_scores(model, X, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.data


def replay_step(step: Trace, optimizer: mg.optim.SGD) -> float:
    optimizer.zero_grad()
    loss = step().value
    optimizer.step()
    return loss


def batch_replay_step(step, optimizer: mg.optim.SGD) -> float:
    optimizer.zero_grad()
    loss, _ = step()
    optimizer.step()
    return loss


# --- the float floor: the same step by hand, on lists of floats -----------------------------------


def float_model(model: MLP) -> list[list[list[float]]]:
    """The model's weights as plain floats: per layer, one row [w1, ..., wn, b] per neuron."""
    return [[[w.data for w in n.w] + [n.b.data] for n in layer.neurons] for layer in model.layers]


def float_step(layers: list, velocity: list, X: list, y: list) -> float:
    """One SGD-with-momentum step of hinge + L2 on plain floats: forward, reverse pass, update.

    ``layers`` and ``velocity`` (same shape, empty before the first step) are updated in place.
    Like the graph, it computes every term of the reverse pass (no skipping the zeros of ReLU).
    """
    n = len(X)
    grads = [[[0.0] * len(row) for row in layer] for layer in layers]
    data_loss = 0.0
    last = len(layers) - 1
    for x, label in zip(X, y, strict=True):
        activations, pre = [x], []
        for k, layer in enumerate(layers):  # forward: b + w1·x1 + ... then ReLU (not on the last)
            inputs = activations[-1]
            z = [row[-1] + sum_products(row, inputs) for row in layer]
            pre.append(z)
            activations.append(z if k == last else [v if v > 0.0 else 0.0 for v in z])
        margin = 1.0 - label * activations[-1][0]
        data_loss += margin if margin > 0.0 else 0.0
        upstream = [-label / n if margin > 0.0 else 0.0]  # d loss / d score, through relu(margin)
        for k in range(last, -1, -1):  # reverse pass, layer by layer
            inputs, layer, grad = activations[k], layers[k], grads[k]
            if k != last:
                upstream = [u if z > 0.0 else 0.0 for u, z in zip(upstream, pre[k], strict=True)]
            below = [0.0] * len(inputs)
            for row, g, u in zip(layer, grad, upstream, strict=True):
                for i, xi in enumerate(inputs):
                    g[i] += u * xi
                    below[i] += u * row[i]
                g[-1] += u
            upstream = below
    penalty = 0.0
    for layer, grad in zip(layers, grads, strict=True):  # L2: ALPHA·Σp², gradient 2·ALPHA·p
        for row, g in zip(layer, grad, strict=True):
            for i, p in enumerate(row):
                penalty += p * p
                g[i] += 2.0 * moons.ALPHA * p
    first = not velocity
    for k, (layer, grad) in enumerate(zip(layers, grads, strict=True)):  # SGD with momentum
        if first:
            velocity.append([list(g) for g in grad])
        for row, g, v in zip(layer, grad, velocity[k], strict=True):
            for i in range(len(row)):
                v[i] = g[i] if first else v[i] * MOMENTUM + g[i]
                row[i] -= LR * v[i]
    return data_loss / n + moons.ALPHA * penalty


def sum_products(row: list[float], inputs: list[float]) -> float:
    total = 0.0
    for w, x in zip(row, inputs, strict=False):  # (row has the bias last: zip stops before it)
        total += w * x
    return total


def close(a: list[float], b: list[float], rel: float = 1e-12) -> bool:
    """The numbers agree to `rel`, relative to the largest of them (sums ran in another order)."""
    scale = max(abs(x) for x in b)
    return all(math.isclose(x, y, rel_tol=rel, abs_tol=rel * scale) for x, y in zip(a, b, strict=True))


def flat(layers: list) -> list[float]:
    return [p for layer in layers for row in layer for p in row]


def measure(points: int, steps: int) -> dict[str, float]:
    """Seconds per step (medians) rebuilt, replayed, on floats and, with NumPy, batch-replayed."""
    plain, plain_opt, X, y = setup(points)
    model, opt, _, _ = setup(points)
    floats, velocity = float_model(plain), []
    start = time.perf_counter()
    step = mg.trace(lambda: moons.loss_and_scores(model, X, y))
    trace_time = time.perf_counter() - start

    batched, batch_opt, _, _ = setup(points)
    try:
        import numpy  # noqa: F401  (the batch replay needs it)
    except ImportError:
        batch = None
    else:
        batch = moons.batch_step(batched, X, y)

    times: dict[str, list[float]] = {"rebuild": [], "replay": [], "floor": [], "batch": []}

    def timed(name: str, run):
        gc.collect()
        start = time.perf_counter()
        result = run()
        times[name].append(time.perf_counter() - start)
        return result

    first: dict[str, float] = {}
    for k in range(steps + 1):  # interleaved, so all see the same machine load
        plain_loss = timed("rebuild", lambda: rebuild_step(plain, plain_opt, X, y))
        replay_loss = timed("replay", lambda: replay_step(step, opt))
        if replay_loss != plain_loss or model.state_dict() != plain.state_dict():
            raise SystemExit("replay and rebuild disagree: not timing different computations")
        floor_loss = timed("floor", lambda: float_step(floats, velocity, X, y))
        if not math.isclose(floor_loss, plain_loss, rel_tol=1e-12) or not close(
            flat(floats), [p.data for p in plain.parameters()]
        ):
            raise SystemExit("the float floor and rebuild disagree: not timing different computations")
        if batch is not None:
            batch_loss = timed("batch", lambda: batch_replay_step(batch, batch_opt))
            if not math.isclose(batch_loss, plain_loss, rel_tol=1e-12) or not close(
                [p.data for p in batched.parameters()], [p.data for p in plain.parameters()]
            ):
                raise SystemExit("batch replay and rebuild disagree: not timing different computations")

        if k == 0:  # the first step of each (the replay's compiles its code) is reported on its own
            first = {name: t.pop() for name, t in times.items() if t}
    result = {name: statistics.median(t) for name, t in times.items() if t}
    result.update(ops=len(step), trace=trace_time, first_replay=first["replay"],
                  ratio=result["rebuild"] / result["replay"],
                  floor_ratio=result["replay"] / result["floor"])
    if batch is not None:
        result["batch_ratio"] = result["rebuild"] / result["batch"]
    return result


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 points, 3 steps")
    args = parser.parse_args(argv)
    points, steps = (20, 3) if args.quick else (100, 7)
    result = measure(points, steps)
    ms = {name: result[name] * 1e3 for name in ("rebuild", "replay", "floor", "trace", "first_replay")}
    print(f"MLP(2, [16, 16, 1]) training step, {points} points, {result['ops']} ops, median of {steps}")
    print(f"  rebuild every step  {ms['rebuild']:8.1f} ms")
    print(f"  replay the trace    {ms['replay']:8.1f} ms   (tracing once: {ms['trace']:.0f} ms, "
          f"first replay: {ms['first_replay']:.0f} ms)")
    print(f"  plain floats        {ms['floor']:8.1f} ms   (the same step by hand: the float floor)")
    print(f"  replay is {result['ratio']:.1f}x faster than rebuilding, identical numbers")
    print(f"  replay / float floor = {result['floor_ratio']:.2f}")
    if "batch" not in result:
        print("  replay (batch)      skipped: needs NumPy (pip install 'microgradx[fast]')")
        return result
    print(f"  replay (batch)      {result['batch'] * 1e3:8.1f} ms   (NumPy over the {points} points)")
    print(f"  batch replay is {result['batch_ratio']:.1f}x faster than rebuilding, the same numbers to 1e-12")
    return result


if __name__ == "__main__":
    main()
    sys.exit(0)
