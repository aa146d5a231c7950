"""Time microgradx against micrograd and PyTorch on the same graphs, in one process.

Workloads (issue 4): many short relu/mul/add chains, one wide sum of products, one MLP training
step on two moons, bytes per node of a graph, and a 10^6-op chain; and one training step of the
yin-yang example (softmax cross-entropy and AdamW, issue 21). The implementations are
interleaved run by run, each time is the median of several runs with Python's GC on (as in real
use), and gradients are cross-checked between implementations before anything is timed. A run
is timed until its garbage is freed: `gc.collect()` untimed before it, timed after it, so each
implementation pays for its own garbage and nobody else's.

    python benchmarks/run.py            # full sizes (about a minute with PyTorch installed)
    python benchmarks/run.py --quick    # small sizes, a few seconds: the CI smoke test
    python benchmarks/run.py --json results.json

micrograd (``pip install micrograd==0.1.0``, the ``bench`` extra) and PyTorch are optional: a
missing one leaves its columns empty with a note.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import microgradx
from microgradx import Value

try:
    import micrograd.engine
    import micrograd.nn
except ImportError:  # optional: the `bench` extra
    micrograd = None

try:
    import torch
except ImportError:  # optional
    torch = None

FULL = {"chains": 50, "chain_len": 400, "wide": 50_000, "points": 100, "memory_nodes": 100_000,
        "long_chain": 1_000_000, "repeats": 7, "long_repeats": 3, "page_uses": (200, 800, 3200)}
QUICK = {"chains": 10, "chain_len": 90, "wide": 2_000, "points": 12, "memory_nodes": 5_000,
         "long_chain": 20_000, "repeats": 3, "long_repeats": 1, "page_uses": (50, 200)}

# Each implementation is a small adapter: how to make a leaf and read its gradient. The graphs
# themselves use only what all three share: + and * with each other, and the .relu() method.


@dataclass
class Impl:
    name: str
    leaf: Callable[[float], object]
    grad: Callable[[object], float]
    note: str = ""


IMPLS = {"microgradx": Impl("microgradx", Value, lambda v: v.grad)}
if micrograd is not None:
    IMPLS["micrograd"] = Impl("micrograd", micrograd.engine.Value, lambda v: v.grad)
if torch is not None:  # 0-d float64 tensors, so gradients match to the last bits
    IMPLS["torch"] = Impl(
        "torch",
        lambda x: torch.tensor(x, dtype=torch.float64, requires_grad=True),
        lambda v: 0.0 if v.grad is None else v.grad.item(),
    )


# --- workloads: each takes an implementation and returns the leaves' gradients ----------------


def relu_mul_add_chain(x: object, w: object, b: object, length: int) -> object:
    """x, then length ops cycling through ·w, +b, relu: a deep chain with two shared leaves."""
    v = x
    for i in range(length):
        step = i % 3
        if step == 0:
            v = v * w
        elif step == 1:
            v = v + b
        else:
            v = v.relu()
    return v


def chains(impl: Impl, n_chains: int, length: int) -> list[float]:
    """Forward and backward of `n_chains` separate chains of `length` ops (small graphs)."""
    w, b = impl.leaf(0.999), impl.leaf(0.01)
    xs = [impl.leaf(0.5 + 0.01 * i) for i in range(n_chains)]
    for x in xs:
        relu_mul_add_chain(x, w, b, length).backward()
    return [impl.grad(v) for v in (w, b, *xs)]


def wide(impl: Impl, n: int) -> list[float]:
    """Forward and backward of sum(x_i · y_i) over n pairs: one wide, 2n-deep graph."""
    xs = [impl.leaf(math.sin(i)) for i in range(n)]
    ys = [impl.leaf(math.cos(i)) for i in range(n)]
    total = sum(x * y for x, y in zip(xs, ys, strict=True))
    total.backward()
    return [impl.grad(v) for v in xs[:50] + ys[-50:]]


def long_chain(impl: Impl, length: int) -> list[float]:
    """Forward and backward of one chain of `length` ops (10^6 in the full run)."""
    x, w, b = impl.leaf(0.5), impl.leaf(0.999999), impl.leaf(0.001)
    relu_mul_add_chain(x, w, b, length).backward()
    return [impl.grad(v) for v in (x, w, b)]


# --- the MLP training step: micrograd's own nn vs microgradx.nn + optim ------------------------


def moons(n: int, seed: int = 1) -> tuple[list[list[float]], list[float]]:
    """Two interleaved half circles with a little noise (as sklearn's make_moons), labels ±1."""
    rng = random.Random(seed)
    points, labels = [], []
    for i in range(n):
        t = math.pi * (i // 2) / max(1, n // 2 - 1)
        if i % 2 == 0:
            x, y, label = math.cos(t), math.sin(t), -1.0
        else:
            x, y, label = 1.0 - math.cos(t), 0.5 - math.sin(t), 1.0
        points.append([x + rng.gauss(0, 0.1), y + rng.gauss(0, 0.1)])
        labels.append(label)
    return points, labels


ALPHA, LR = 1e-4, 0.1  # the L2 weight and SGD step of micrograd's demo notebook


def micrograd_model(seed: int = 0) -> object:
    random.seed(seed)
    return micrograd.nn.MLP(2, [16, 16, 1])


def micrograd_step(model: object, points: list, labels: list) -> float:
    """One step as in micrograd's demo: max-margin loss + L2, backward, SGD by hand."""
    scores = [model(point) for point in points]
    losses = [(1 + -label * score).relu() for label, score in zip(labels, scores, strict=True)]
    loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in model.parameters())
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad
    return loss.data


def microgradx_model(reference: object) -> tuple[object, object]:
    """microgradx's MLP with the reference micrograd model's weights, and its SGD optimizer."""
    from microgradx import nn, optim

    model = nn.MLP(2, [16, 16, 1], activation="relu", final_activation=None, seed=0)
    if reference is not None:
        with microgradx.no_grad():
            for p, q in zip(model.parameters(), reference.parameters(), strict=True):
                p.data = float(q.data)
    return model, optim.SGD(model.parameters(), lr=LR)


def microgradx_step(model_and_opt: tuple, points: list, labels: list) -> float:
    """The same step with microgradx.nn.MLP, nn.hinge_loss and optim.SGD."""
    from microgradx import nn

    model, opt = model_and_opt
    scores = [model(point) for point in points]
    loss = nn.hinge_loss(scores, labels) + ALPHA * sum(p * p for p in model.parameters())
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.data


def nn_available() -> str:
    """'' when microgradx.nn and microgradx.optim exist, else why the MLP row is skipped."""
    try:
        from microgradx import nn, optim

        missing = [name for module, name in ((nn, "MLP"), (nn, "hinge_loss"), (optim, "SGD"))
                   if not hasattr(module, name)]
    except ImportError as error:
        return f"skipped: {error}"
    return f"skipped: missing {', '.join(missing)}" if missing else ""


# --- measurement --------------------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    unit: str = "ms"
    results: dict[str, float] = field(default_factory=dict)  # implementation -> ms or bytes
    notes: list[str] = field(default_factory=list)
    target: tuple[str, float] | None = None  # (compared with, the ceiling on microgradx / it)


def timed(run: Callable[[], object]) -> float:
    """Milliseconds to run, and to free what the run left: micrograd's graphs are reference
    cycles that only the cyclic GC frees, so a `gc.collect()` ends each timed run (cheap: the
    heap from before the runs is frozen out of the GC's sight by `main`)."""
    gc.collect()  # untimed: start every run with no one's garbage
    start = time.perf_counter()
    run()
    gc.collect()
    return (time.perf_counter() - start) * 1000.0


def interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median milliseconds of each run, the implementations taking turns."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(timed(run))
    return {name: statistics.median(ts) for name, ts in times.items()}


def cross_check(workload: str, results: dict[str, list[float]]) -> None:
    """Every implementation's gradients must equal microgradx's (relative 1e-9)."""
    reference = results["microgradx"]
    for name, grads in results.items():
        for i, (got, want) in enumerate(zip(grads, reference, strict=True)):
            if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
                raise SystemExit(f"{workload}: gradient {i} of {name} is {got!r}, microgradx has {want!r}")


class with_recursion_limit(Impl):
    """The same implementation, whose workloads run with a raised recursion limit (micrograd only)."""

    def __init__(self, impl: Impl, limit: int) -> None:
        super().__init__(**vars(impl))
        self.limit = limit


def run_workload(work: Callable[[Impl], list[float]], impl: Impl) -> list[float]:
    if not isinstance(impl, with_recursion_limit):
        return work(impl)
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, impl.limit))
    try:
        return work(impl)
    finally:
        sys.setrecursionlimit(previous)


def graph_row(workload: str, work: Callable[[Impl], list[float]], impls: dict[str, Impl],
              repeats: int, notes: list[str] | None = None) -> Row:
    cross_check(workload, {name: run_workload(work, impl) for name, impl in impls.items()})
    row = Row(workload, notes=list(notes or []))
    runs = {name: (lambda impl=impl: run_workload(work, impl)) for name, impl in impls.items()}
    row.results = interleaved(runs, repeats)
    return row


def mlp_row(points: int, repeats: int) -> Row:
    row = Row(f"MLP(2,[16,16,1]) step, {points} moons", target=("micrograd", 0.35))
    why_not = nn_available()
    if why_not:
        row.notes.append(f"microgradx {why_not}")
        return row
    xs, ys = moons(points)
    steps: dict[str, Callable[[], object]] = {}
    if micrograd is not None:
        reference = micrograd_model()
        ours = microgradx_model(reference)
        # Cross-check one step on copies: same loss, same updated weights.
        loss_x, loss_m = microgradx_step(ours, xs, ys), micrograd_step(reference, xs, ys)
        cross_check(row.workload, {
            "microgradx": [loss_x] + [p.data for p in ours[0].parameters()],
            "micrograd": [loss_m] + [p.data for p in reference.parameters()],
        })
        steps["micrograd"] = lambda: micrograd_step(reference, xs, ys)
    else:
        ours = microgradx_model(None)
        row.notes.append("micrograd not installed")
    steps = {"microgradx": lambda: microgradx_step(ours, xs, ys), **steps}
    row.results = interleaved(steps, repeats)
    row.notes.append("torch: n/a (no scalar MLP in torch)")
    return row


def bytes_per_node(impl: Impl, nodes: int) -> tuple[float, int]:
    """tracemalloc bytes per node of a graph of about `nodes` nodes, after forward and backward."""
    length = 400
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    w, b = impl.leaf(0.999), impl.leaf(0.01)
    roots = []
    for i in range(max(1, nodes // length)):
        x = impl.leaf(0.5 + 1e-5 * i)
        roots.append(relu_mul_add_chain(x, w, b, length))
        roots[-1].backward()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    count = len(roots) * (length + 1) + 2  # each chain's ops and its leaf, plus w and b
    return used / count, count


def memory_row(nodes: int, impls: dict[str, Impl]) -> Row:
    row = Row("", unit="bytes/node", target=("bytes", 220.0))
    for name, impl in impls.items():
        if name == "torch":
            row.notes.append("torch: n/a (tracemalloc does not see its C++ allocations)")
            continue
        row.results[name], count = bytes_per_node(impl, nodes)
    row.workload = f"memory, {count:,}-node graph"
    return row


# --- report ---------------------------------------------------------------------------------------


def ratio(row: Row, other: str) -> float | None:
    if "microgradx" in row.results and other in row.results:
        return row.results["microgradx"] / row.results[other]
    return None


def verdict(row: Row) -> str:
    """The issue's target for this row and whether this run meets it."""
    if row.target is None:
        return ""
    other, ceiling = row.target
    if other == "bytes":
        got, goal = row.results.get("microgradx"), f"<= {ceiling:.0f} B"
    else:
        got, goal = ratio(row, other), f"<= {ceiling}x {other}"
    return goal if got is None else f"{goal}: {'met' if got <= ceiling else 'NOT met'}"


def table(rows: list[Row]) -> str:
    def cell(x: float | None, fmt: str) -> str:
        return "—" if x is None else format(x, fmt)

    head = ("workload", "unit", "microgradx", "micrograd", "torch", "x/micrograd", "x/torch", "target")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for row in rows:
        fmt = ",.0f" if row.unit == "bytes/node" else ",.1f"
        lines.append(" | ".join([
            row.workload, row.unit,
            *(cell(row.results.get(name), fmt) for name in ("microgradx", "micrograd", "torch")),
            cell(ratio(row, "micrograd"), ".3f"), cell(ratio(row, "torch"), ".3f"), verdict(row),
        ]))
    notes = [f"- {row.workload}: {note}" for row in rows for note in row.notes]
    return "\n".join(lines + (["", *notes] if notes else []))


MISSING = [f"{name} not installed" for name in ("micrograd", "torch") if name not in IMPLS]


def chains_row(size: dict) -> Row:
    n, length = size["chains"], size["chain_len"]
    row = graph_row(f"{n} chains of {length} relu/mul/add ops", lambda impl: chains(impl, n, length),
                    IMPLS, size["repeats"], MISSING)
    row.target = ("micrograd", 0.6)  # the teaching engine's floor (issue 31)
    return row


def wide_row(size: dict) -> Row:
    impls, notes = dict(IMPLS), list(MISSING)
    if "micrograd" in IMPLS:  # its recursive topological sort needs one stack frame per node
        impls["micrograd"] = with_recursion_limit(IMPLS["micrograd"], 4 * size["wide"] + 1000)
        notes.append("micrograd ran with sys.setrecursionlimit raised (it recurses once per node)")
    row = graph_row(f"sum of {size['wide']:,} products", lambda impl: wide(impl, size["wide"]),
                    impls, size["repeats"], notes)
    row.target = ("micrograd", 0.35)
    return row


def long_chain_row(size: dict) -> Row:
    impls = {name: impl for name, impl in IMPLS.items() if name != "micrograd"}
    notes = ["micrograd: n/a (RecursionError at the default limit)"]
    notes += ["torch not installed"] if "torch" not in IMPLS else []
    length = size["long_chain"]
    row = graph_row(f"one chain of {length:,} ops", lambda impl: long_chain(impl, length),
                    impls, size["long_repeats"], notes)
    row.target = ("torch", 0.5)
    return row


def replay_rows(size: dict) -> list[Row]:
    """The MLP step replayed from a trace (issue 10) against microgradx's own rebuild-every-step path.

    `replay.py` beside this script does the work and checks that every replay gives the rebuilt
    path's numbers (identical for `trace`, to 1e-12 for the NumPy `trace_batch`).
    """
    import replay  # benchmarks/replay.py

    points, steps = size["points"], size["repeats"]
    result = replay.measure(points, steps)
    rebuild = result["rebuild"] * 1000.0
    rows = [Row(f"MLP step, {points} moons, replayed trace", notes=[
        f"{result['ratio']:.1f}x faster than rebuilding the graph ({rebuild:.1f} ms), identical numbers"])]
    rows[0].results = {"microgradx": result["replay"] * 1000.0, "rebuild": rebuild}
    if "batch" in result:
        row = Row(f"MLP step, {points} moons, batch replay (NumPy)", target=("rebuild", 0.1), notes=[
            f"{result['batch_ratio']:.1f}x faster than rebuilding the graph, the same numbers to 1e-12"])
        row.results = {"microgradx": result["batch"] * 1000.0, "rebuild": rebuild}
        rows.append(row)
    else:
        rows[0].notes.append("batch replay skipped: needs NumPy (pip install 'microgradx[fast]')")
    return rows


def page_rows(size: dict) -> list[Row]:
    """`to_html`'s time and page size for x·x·…·x, where one input feeds every node (the graph that
    made the page quadratic: 1,600 uses wrote 92 MB). Linear means the same KB per Value in every row."""
    rows = []
    for uses in size["page_uses"]:
        x = Value(1.0001, "x")
        output = x
        for _ in range(uses - 1):
            output = output * x
        page = microgradx.to_html(output)
        ms = statistics.median(timed(lambda output=output: microgradx.to_html(output)) for _ in range(3))
        kb, values = len(page.encode("utf-8")) / 1000, uses
        row = Row(f"step-through page, x·x·…·x, {uses:,} uses", notes=[
            f"{kb:,.0f} KB page: {kb / values:.2f} KB and {ms * 1000 / values:.0f} µs per Value"])
        row.results = {"microgradx": ms}
        rows.append(row)
    return rows


def yinyang_row(size: dict) -> Row:
    """One training step of examples/yinyang.py (issue 21): MLP(2, [8, 3]), cross-entropy, AdamW.

    Time only: micrograd 0.1.0 has no exp or log (so no softmax), and torch has no scalar MLP.
    The step is the example's own `training_step` on its own data.
    """
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "yinyang.py"
    spec = importlib.util.spec_from_file_location("yinyang_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    (points, labels), _ = example.split(*example.make_yinyang(size["points"]))
    model, optimizer = example.model_and_optimizer()
    row = Row(f"MLP(2,[8,3]) AdamW step, {len(points)} yin-yang points", notes=[
        "micrograd: n/a (0.1.0 has no exp or log, so no softmax)", "torch: n/a (no scalar MLP in torch)"])
    row.results = interleaved(
        {"microgradx": lambda: example.training_step(model, optimizer, points, labels)}, size["repeats"])
    return row


def history_row(size: dict) -> Row:
    """`nn.History.record` in the MLP(2,[16,16,1]) moons loop (issue 19): the loop with and without
    recording, interleaved; the target is recording costs under 10% of the loop's time."""
    from microgradx import nn

    xs, ys = moons(size["points"])
    plain, recorded = microgradx_model(None), microgradx_model(None)
    history = nn.History(recorded[0])

    def recorded_step() -> None:
        model, opt = recorded
        scores = [model(point) for point in xs]
        loss = nn.hinge_loss(scores, ys) + ALPHA * sum(p * p for p in model.parameters())
        opt.zero_grad()
        loss.backward()
        history.record(loss)
        opt.step()

    row = Row(f"MLP step + History.record, {size['points']} moons")
    times = interleaved({"microgradx": recorded_step, "plain": lambda: microgradx_step(plain, xs, ys)},
                        size["repeats"])
    row.results = {"microgradx": times["microgradx"], "plain": times["plain"]}
    overhead = times["microgradx"] / times["plain"] - 1.0
    row.notes.append(f"recording {len(history.parameters)} parameters costs {overhead:+.1%} of the step "
                     f"(target < 10%: {'met' if overhead < 0.10 else 'NOT met'})")
    return row


WORKLOADS: dict[str, Callable[[dict], Row | list[Row]]] = {
    "chains": chains_row,
    "wide": wide_row,
    "mlp": lambda size: mlp_row(size["points"], size["repeats"]),
    "memory": lambda size: memory_row(size["memory_nodes"], IMPLS),
    "long": long_chain_row,
    "replay": replay_rows,
    "page": page_rows,
    "yinyang": yinyang_row,
    "history": history_row,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test in seconds")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--only", metavar="NAMES", help=f"comma-separated subset of {','.join(WORKLOADS)}")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    selected = set(args.only.split(",")) if args.only else set(WORKLOADS)
    if selected - set(WORKLOADS):
        parser.error(f"--only: unknown workload(s) {', '.join(sorted(selected - set(WORKLOADS)))}; "
                     f"choose from {', '.join(WORKLOADS)}")
    gc.collect()
    gc.freeze()  # the interpreter's own objects stay out of every timed collection

    rows: list[Row] = []
    for name in WORKLOADS:
        if name in selected:
            made = WORKLOADS[name](size)
            rows.extend(made if isinstance(made, list) else [made])
    print(f"Python {platform.python_version()}, {platform.machine()}; median of {size['repeats']} runs "
          f"({size['long_repeats']} for the long chain), GC on\n")
    print(table(rows))
    if args.json:
        payload = {
            "python": platform.python_version(), "quick": args.quick, "sizes": size,
            "rows": [{"workload": r.workload, "unit": r.unit, "results": r.results,
                      "ratio_micrograd": ratio(r, "micrograd"), "ratio_torch": ratio(r, "torch"),
                      "target": verdict(r), "notes": r.notes} for r in rows],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)


if __name__ == "__main__":
    main()
