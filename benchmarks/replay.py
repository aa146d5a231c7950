"""Time one MLP training step three ways: rebuild the graph, replay a trace of it, batch replay.

The step is examples/moons.py's: ``MLP(2, [16, 16, 1])`` with ReLU, hinge loss + L2 over 100
two-moons points, backward, SGD with momentum. All models start equal; after every timed step
the replayed model's loss and parameters are checked to be identical to the rebuilt one's, and
the batch-replayed model's (one point traced, replayed over all points with NumPy, when NumPy is
installed) to agree to 1e-12 relative (its sums run in another order), so the ratios compare
equal work. Python's GC stays on, as in real use (``gc.collect()`` runs untimed before each step).

    python benchmarks/replay.py             # 100 points, 7 steps each way
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

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "moons.py"
_spec = importlib.util.spec_from_file_location("moons", EXAMPLE)
moons = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(moons)


def setup(points: int) -> tuple[MLP, mg.optim.SGD, list, list]:
    X, y = moons.make_moons(points, noise=0.1, seed=3)
    model = MLP(2, [16, 16, 1], activation="relu", seed=3)
    return model, mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), X, y


def rebuild_step(model: MLP, optimizer: mg.optim.SGD, X: list, y: list) -> float:
    loss, _ = moons.loss_and_scores(model, X, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.data


def replay_step(step: mg.Trace, optimizer: mg.optim.SGD) -> float:
    optimizer.zero_grad()
    loss = step().value
    optimizer.step()
    return loss


def batch_replay_step(step, optimizer: mg.optim.SGD) -> float:
    optimizer.zero_grad()
    loss, _ = step()
    optimizer.step()
    return loss


def close(a: MLP, b: MLP, rel: float = 1e-12) -> bool:
    """The parameters agree to `rel`, relative to the largest parameter (sums ran in another order)."""
    pa, pb = [p.data for p in a.parameters()], [p.data for p in b.parameters()]
    scale = max(abs(x) for x in pb)
    return all(math.isclose(x, y, rel_tol=rel, abs_tol=rel * scale) for x, y in zip(pa, pb, strict=True))


def measure(points: int, steps: int) -> dict[str, float]:
    """Seconds per step (medians) rebuilt, replayed and, with NumPy, batch-replayed; numbers checked."""
    plain, plain_opt, X, y = setup(points)
    model, opt, _, _ = setup(points)
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

    rebuild, replay, batch_times = [], [], []
    for _ in range(steps):  # interleaved, so all see the same machine load
        gc.collect()
        start = time.perf_counter()
        plain_loss = rebuild_step(plain, plain_opt, X, y)
        rebuild.append(time.perf_counter() - start)
        gc.collect()
        start = time.perf_counter()
        replay_loss = replay_step(step, opt)
        replay.append(time.perf_counter() - start)
        if replay_loss != plain_loss or model.state_dict() != plain.state_dict():
            raise SystemExit("replay and rebuild disagree: not timing different computations")
        if batch is not None:
            gc.collect()
            start = time.perf_counter()
            batch_loss = batch_replay_step(batch, batch_opt)
            batch_times.append(time.perf_counter() - start)
            if not math.isclose(batch_loss, plain_loss, rel_tol=1e-12) or not close(batched, plain):
                raise SystemExit("batch replay and rebuild disagree: not timing different computations")

    t_rebuild, t_replay = statistics.median(rebuild), statistics.median(replay)
    result = {"ops": len(step), "rebuild": t_rebuild, "replay": t_replay, "ratio": t_rebuild / t_replay,
              "trace": trace_time}
    if batch is not None:
        t_batch = statistics.median(batch_times)
        result.update(batch=t_batch, batch_ratio=t_rebuild / t_batch)
    return result


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 points, 3 steps")
    args = parser.parse_args(argv)
    points, steps = (20, 3) if args.quick else (100, 7)
    result = measure(points, steps)
    t_rebuild, t_replay = result["rebuild"], result["replay"]
    print(f"MLP(2, [16, 16, 1]) training step, {points} points, {result['ops']} ops, median of {steps}")
    print(f"  rebuild every step  {t_rebuild * 1e3:8.1f} ms")
    print(f"  replay the trace    {t_replay * 1e3:8.1f} ms   (tracing once: {result['trace'] * 1e3:.0f} ms)")
    print(f"  replay is {result['ratio']:.1f}x faster, identical numbers")
    if "batch" not in result:
        print("  replay (batch)      skipped: needs NumPy (pip install 'microgradx[fast]')")
        return result
    print(f"  replay (batch)      {result['batch'] * 1e3:8.1f} ms   (NumPy over the {points} points)")
    print(f"  batch replay is {result['batch_ratio']:.1f}x faster, the same numbers to 1e-12")
    return result


if __name__ == "__main__":
    main()
    sys.exit(0)
