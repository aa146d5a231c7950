"""`History`: a training loop written by the user, recorded step by step, and one page to scrub through it.

``history.record(loss)`` after ``loss.backward()`` (and before the optimizer's step) stores the loss
and every parameter's value and grad; the update the optimizer then made is read at the next
record (or, for the last step, from the parameters when the page is written). ``to_html`` turns
the run into one self-contained page (inline SVG, the numbers as embedded JSON, no network, a
Content-Security-Policy with hashes, as the stepper's): a step scrubber, the loss curve, each
parameter's value and grad over time, the decision boundary of a 2-D classifier at each step,
and for a single neuron the error curve E(w) with its tangent of slope dE/dw.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from array import array
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from microgradx.engine import Value, no_grad
from microgradx.formatting import fmt
from microgradx.graph import Graph, snapshot
from microgradx.html import page_from_assets
from microgradx.steps import forward_values


class Model(Protocol):
    """What History needs of a model (`nn.Module` is one): named parameters, and a call on inputs."""

    def named_parameters(self) -> list[tuple[str, Value]]: ...

    def __call__(self, x: Any) -> Any: ...


__all__ = ["MAX_CURVE_FRAMES", "MAX_PAGE_CELLS", "MAX_PAGE_PARAMETERS", "MAX_PAGE_STEPS", "History", "Model"]

MAX_PAGE_CELLS = 100_000
"""The most (step, parameter) pairs a training page holds: a longer run shows every k-th step
(the first and the last always), so the page stays under about 3 MB (about 30 bytes a pair)."""

MAX_PAGE_STEPS = 10_000
"""The most steps a training page holds, however few the parameters: 100,000 steps of a neuron
show every 10th (about 1 MB). A scrubber has no more positions than a screen has pixels anyway."""

MAX_PAGE_PARAMETERS = 2_000
"""The most parameters a training page draws (one small chart each); a larger model is refused."""

_GRID = 64  # the decision boundary: _GRID × _GRID cells per frame (NumPy) …
_GRID_PLAIN = 24  # … or fewer without NumPy, where every cell is one no_grad forward pass
_FRAMES = 100  # at most this many boundary frames (evenly spaced over the steps shown)
_FRAMES_PLAIN = 25
_CURVE_POINTS = 61  # E(w) is drawn through this many w
_CURVE_NODES = 200_000  # total graph nodes kept for the E(w) curves; past it, every other one is let go
MAX_CURVE_FRAMES = 100
"""The most steps whose own E(w) a page draws (evenly spaced over the run; a step between two
shows the curve of the one before): 2,500 or 100,000 steps keep the page small and quick."""
_MAX_POINTS = 2_000  # data points drawn on the boundary
_CLASS_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _real(x: object, what: str) -> float:
    if type(x) is Value:
        return x.data
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{what} must be a Value or a number, got {type(x).__name__}")
    return float(x)


class History:
    """The record of a training run: per step the loss and each parameter's value, grad and update.

    Give it the model (a `Module`: parameters named as in `state_dict`, and the model itself
    is kept so that ``to_html(data=...)`` can draw its decision boundary) or the parameters (leaf
    Values, named by their labels). Memory is linear in steps × parameters (16 bytes a pair).

    >>> w = Value(0.5, "w")
    >>> history = History([w])
    >>> for _ in range(2):
    ...     w.grad = 0.0
    ...     loss = (w - 2.0) ** 2
    ...     loss.backward()
    ...     history.record(loss)
    ...     w.data -= 0.25 * w.grad
    >>> history.losses, history.values, history.grads, history.updates
    ([2.25, 0.5625], [[0.5], [1.25]], [[-3.0], [-1.5]], [[0.75], [0.375]])
    """

    def __init__(self, model_or_parameters: Model | Iterable[Value]) -> None:
        if callable(getattr(model_or_parameters, "named_parameters", None)):  # a Module
            self.model: Model | None = model_or_parameters  # type: ignore[assignment]
            named = model_or_parameters.named_parameters()
        elif isinstance(model_or_parameters, Value | str | bytes) or not isinstance(
            model_or_parameters, Iterable
        ):
            raise TypeError(
                "History(model_or_parameters) takes a Module or a list of parameters (leaf Values), "
                f"got {type(model_or_parameters).__name__}"
            )
        else:
            self.model = None
            params = list(model_or_parameters)
            for i, p in enumerate(params):
                if type(p) is not Value:
                    raise TypeError(f"History: parameter {i} must be a Value, got {type(p).__name__}")
                if p.parents:
                    raise ValueError(
                        f"History: parameter {i} ({p!r}) is computed by {p.op!r}; record leaves (weights)"
                    )
            if len(set(params)) != len(params):
                raise ValueError("History: the same parameter is listed twice")
            named = [(p.label or f"p{i}", p) for i, p in enumerate(params)]
        if not named:
            raise ValueError("History: there are no parameters to record")
        self.names: list[str] = [name for name, _ in named]
        self.parameters: list[Value] = [p for _, p in named]
        self._losses = array("d")
        self._values = array("d")  # steps × parameters, one step after another
        self._grads = array("d")
        self._graphs: list[Graph | None] = []  # each step's loss graph (snapshot), for a neuron's E(w)
        self._kept_nodes = 0
        self._keep_every = 1  # the graph of every this-many-th step is kept (doubled when memory is full)

    def __len__(self) -> int:
        return len(self._losses)

    def __repr__(self) -> str:
        return f"History({len(self)} steps, {len(self.parameters)} parameters)"

    def record(self, loss: Value | float) -> None:
        """Store this step's loss and every parameter's value and grad: call it after
        ``loss.backward()`` and before the optimizer's ``step()``."""
        self._losses.append(_real(loss, "History.record(loss)"))
        params = self.parameters
        self._values.extend([p.data for p in params])
        self._grads.extend([p.grad for p in params])
        graph = None
        step = len(self._graphs)
        if type(loss) is Value and len(params) <= 2 and step % self._keep_every == 0:
            # a neuron's graph is small: keep it, walked once, to draw this step's E(w) later
            graph = snapshot(loss, caller="History.record")
            size = len(graph)  # counting its nodes: the snapshot's walk, no other
            self._kept_nodes += size
            while (
                self._kept_nodes > _CURVE_NODES and self._keep_every < 2**40
            ):  # keep them spread over the run
                self._keep_every *= 2
                self._kept_nodes = 0
                for k, kept in enumerate(self._graphs):
                    if kept is not None and k % self._keep_every:
                        self._graphs[k] = None
                    elif kept is not None:
                        self._kept_nodes += len(kept)
                if step % self._keep_every:
                    graph = None
                else:
                    self._kept_nodes += size
        self._graphs.append(graph)

    def _rows(self, flat: array) -> list[list[float]]:
        n = len(self.parameters)
        return [list(flat[i : i + n]) for i in range(0, len(flat), n)]

    @property
    def losses(self) -> list[float]:
        """The loss at each recorded step."""
        return list(self._losses)

    @property
    def values(self) -> list[list[float]]:
        """Each parameter's value at each step (before that step's update), a row per step."""
        return self._rows(self._values)

    @property
    def grads(self) -> list[list[float]]:
        """Each parameter's grad at each step, a row per step."""
        return self._rows(self._grads)

    @property
    def updates(self) -> list[list[float]]:
        """The change each parameter made after each step: the next step's value minus this one's,
        and for the last step the parameters' present value minus the recorded one."""
        values = self.values
        after = [*values[1:], [p.data for p in self.parameters]] if values else []
        pairs = zip(values, after, strict=True)
        return [[b - a for a, b in zip(row, nxt, strict=True)] for row, nxt in pairs]

    # --- the page ------------------------------------------------------------------------------------

    def page_data(self, *, data: tuple[Sequence, Sequence] | None = None) -> dict:
        """Everything the page shows, as a JSON-ready dict (every number formatted by `fmt`)."""
        if not len(self):
            raise ValueError("History.to_html: nothing recorded yet (call history.record(loss) in the loop)")
        n = len(self.parameters)
        if n > MAX_PAGE_PARAMETERS:
            raise ValueError(
                f"History.to_html: {n:,} parameters, more than a page draws (MAX_PAGE_PARAMETERS = "
                f"{MAX_PAGE_PARAMETERS:,}); record a smaller model or a few of its parameters"
            )
        shown = _shown_steps(len(self), min(MAX_PAGE_STEPS, max(1, MAX_PAGE_CELLS // n)))
        values, grads, updates = self.values, self.grads, self.updates
        page: dict = {
            "steps": shown,
            "total": len(self),
            "names": [p.label or name for name, p in zip(self.names, self.parameters, strict=True)],
            "full": self.names,
            "loss": [fmt(self._losses[k]) for k in shown],
            "value": [[fmt(x) for x in values[k]] for k in shown],
            "grad": [[fmt(x) for x in grads[k]] for k in shown],
            "update": [[fmt(x) for x in updates[k]] for k in shown],
            "boundary": None,
            "curve": None,
        }
        if data is not None:
            page["boundary"] = self._boundary(data, shown, values)
        elif n <= 2 and any(self._graphs[k] is not None for k in shown):
            page["curve"] = self._curves(shown, values)  # None when w never had a finite value
        return page

    def to_html(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        data: tuple[Sequence, Sequence] | None = None,
        title: str | None = None,
    ) -> str:
        """One self-contained HTML page of the run; returns it, and with `path` also writes it atomically.

        A scrubber and a play button move through the steps; the loss curve marks the current step;
        a small chart per parameter shows its value and grad over time (sortable by |grad|). With
        ``data=(xs, ys)`` (2-D inputs and their class labels; the History must have been made from the
        model) the decision boundary at each step is drawn, computed from the recorded parameters
        at a bounded resolution. For one parameter (or two: a weight and a bias) the page draws
        each step's own E(w), re-evaluated by the engine from the graph `record` saw, with the tangent
        of slope dE/dw (for at most MAX_CURVE_FRAMES steps). Runs longer than MAX_PAGE_STEPS, or than
        `MAX_PAGE_CELLS` / parameters, show every k-th step. A diverged run (inf, nan) is drawn too:
        its non-finite numbers are marked as such.
        """
        if title is not None and type(title) is not str:
            raise TypeError(f"History.to_html(title) must be a str or None, got {type(title).__name__}")
        page = self.page_data(data=data)
        heading = title if title is not None else f"Training, {len(self)} steps"
        return page_from_assets("history", heading, page, path)

    # --- the decision boundary ---------------------------------------------------------------------

    def _boundary(self, data: tuple[Sequence, Sequence], shown: list[int], values: list[list[float]]) -> dict:
        """Per frame, the class of each cell of a grid over the data, from the recorded parameters."""
        if self.model is None:
            raise ValueError(
                "History.to_html(data=...) draws the model's decision boundary, so it needs the model: "
                "make the History from it, History(model)"
            )
        xs, ys = _checked_data(data)
        classes = sorted(set(ys))
        if len(classes) > len(_CLASS_CHARS):
            raise ValueError(
                f"History.to_html(data=...): {len(classes)} classes, at most {len(_CLASS_CHARS)}"
            )
        lo_x, hi_x = _padded(p[0] for p in xs)
        lo_y, hi_y = _padded(p[1] for p in xs)
        fast = _batch_forward(self.model)
        grid_n, most = (_GRID, _FRAMES) if fast else (_GRID_PLAIN, _FRAMES_PLAIN)
        cells = [
            [lo_x + (hi_x - lo_x) * (i + 0.5) / grid_n, hi_y - (hi_y - lo_y) * (j + 0.5) / grid_n]
            for j in range(grid_n)
            for i in range(grid_n)
        ]
        frame_steps = _shown_steps(len(shown), most)
        decide = _decider(classes)
        frames: list[str | None] = [None] * len(shown)
        saved = [(p.data, p.grad) for p in self.parameters]
        try:
            for s in frame_steps:
                for p, x in zip(self.parameters, values[shown[s]], strict=True):
                    p.data = x
                outputs = fast(cells) if fast else _plain_forward(self.model, cells)
                frames[s] = "".join(_CLASS_CHARS[decide(out)] for out in outputs)
        finally:
            for p, (d, g) in zip(self.parameters, saved, strict=True):
                p.data, p.grad = d, g
        stride = max(1, len(xs) // _MAX_POINTS)
        return {
            "x": [lo_x, hi_x],
            "y": [lo_y, hi_y],
            "n": grid_n,
            "classes": [fmt(c) for c in classes],
            "frames": frames,
            "points": [[p[0], p[1], classes.index(c)] for p, c in list(zip(xs, ys, strict=True))[::stride]],
            "rule": _rule_text(classes),
        }

    # --- a single neuron's error curve -------------------------------------------------------------

    def _curves(self, shown: list[int], values: list[list[float]]) -> dict | None:
        """E(w) of the graphs of up to MAX_CURVE_FRAMES steps (the other parameter held at its
        recorded value), over the finite values w took; None when w was never finite."""
        w_all = [values[k][0] for k in shown if math.isfinite(values[k][0])]
        if not w_all:
            return None
        lo, hi = min(w_all), max(w_all)
        pad = max(hi / 2 - lo / 2, 1.0)  # halves first: a diverging w reaches ±1e308
        a, b = max(lo - pad, -sys.float_info.max), min(hi + pad, sys.float_info.max)
        ws = [a * (1 - t) + b * t for t in (i / (_CURVE_POINTS - 1) for i in range(_CURVE_POINTS))]
        weight = self.parameters[0]
        kept = [s for s, k in enumerate(shown) if self._graphs[k] is not None]
        drawn = {kept[i] for i in _shown_steps(len(kept), MAX_CURVE_FRAMES)} if kept else set()
        frames: list[list[float | None] | None] = []
        for s, k in enumerate(shown):
            graph = self._graphs[k]
            if graph is None or s not in drawn:
                frames.append(None)
                continue
            fixed = dict(zip(self.parameters, values[k], strict=True))
            curve = []
            for w in ws:
                fixed[weight] = w
                e = forward_values(graph.forward, fixed)[graph.output]
                curve.append(e if math.isfinite(e) else None)
            frames.append(curve)
        return {"param": 0, "name": self.names[0], "w": ws, "frames": frames}


def _shown_steps(total: int, most: int) -> list[int]:
    """Every step if they fit in `most`, else `most` evenly spaced ones, the first and the last included."""
    if total <= most:
        return list(range(total))
    if most == 1:
        return [total - 1]
    return sorted({round(i * (total - 1) / (most - 1)) for i in range(most)})


def _checked_data(data: object) -> tuple[list[list[float]], list[float]]:
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError("History.to_html(data=...) must be a pair (xs, ys): 2-D points and their labels")
    xs, ys = data
    if not isinstance(xs, Sequence) or not isinstance(ys, Sequence) or len(xs) != len(ys) or not xs:
        raise ValueError(
            "History.to_html(data=(xs, ys)): xs and ys must be non-empty lists of the same length"
        )
    points = []
    for i, p in enumerate(xs):
        if not isinstance(p, Sequence) or isinstance(p, str) or len(p) != 2:
            raise ValueError(f"History.to_html(data=(xs, ys)): xs[{i}] must be a 2-D point [x1, x2]")
        points.append([_real(p[0], f"xs[{i}][0]"), _real(p[1], f"xs[{i}][1]")])
    labels = [_real(y, f"ys[{i}]") for i, y in enumerate(ys)]
    if not all(math.isfinite(v) for p in points for v in p):
        raise ValueError("History.to_html(data=(xs, ys)): every coordinate must be finite")
    return points, labels


def _padded(coordinates: Iterable[float]) -> tuple[float, float]:
    values = list(coordinates)
    lo, hi = min(values), max(values)
    pad = 0.1 * (hi - lo) or 1.0
    return lo - pad, hi + pad


def _decider(classes: list[float]):
    """The class a model's output stands for: one score against the midpoint of two labels (0 for
    ±1, 0.5 for 0/1), or the index of the largest of several outputs (labels 0 … K-1)."""
    if len(classes) <= 2:
        lo, hi = classes[0], classes[-1]
        middle = (lo + hi) / 2

        def one(out: float | list[float]) -> int:
            if isinstance(out, list):
                raise ValueError(
                    "History.to_html(data=...): two classes need a model with one output (a score)"
                )
            return len(classes) - 1 if out > middle else 0

        return one

    def argmax(out: float | list[float]) -> int:
        if not isinstance(out, list) or len(out) < len(classes):
            raise ValueError(
                f"History.to_html(data=...): {len(classes)} classes need a model with one output per class"
            )
        best = max(range(len(out)), key=out.__getitem__)
        return classes.index(float(best)) if float(best) in classes else 0

    if classes != [float(i) for i in range(len(classes))]:
        raise ValueError(
            "History.to_html(data=...): with more than two classes, the labels must be 0, 1, …, K-1"
        )
    return argmax


def _rule_text(classes: list[float]) -> str:
    if len(classes) <= 2:
        return f"class {fmt(classes[-1])} where the output > {fmt((classes[0] + classes[-1]) / 2)}"
    return "the class of the largest output"


def _output(out: object) -> float | list[float]:
    if type(out) is Value:
        return out.data
    if isinstance(out, list | tuple) and all(type(o) is Value for o in out):
        return out[0].data if len(out) == 1 else [o.data for o in out]
    raise TypeError(
        f"History.to_html(data=...): the model must return a Value or Values, got {type(out).__name__}"
    )


def _plain_forward(model: Model, cells: list[list[float]]) -> list[float | list[float]]:
    """The model on every cell, one no_grad forward pass each."""
    with no_grad():
        return [_output(model(cell)) for cell in cells]


def _batch_forward(model: Model):
    """With NumPy, the model traced once on one point and replayed over every cell at once
    (`microgradx.trace.trace_batch`); None without NumPy. The replay's backward adds into the
    parameters' grads, which the caller restores."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        return None
    from microgradx.trace import trace_batch

    def scores(x: list[Value]) -> Value | tuple:
        out = model(x)
        if type(out) is Value:
            return out
        outs = list(out)
        return (outs[0], outs) if len(outs) > 1 else outs[0]

    traced = None

    def run(cells: list[list[float]]) -> list[float | list[float]]:
        nonlocal traced
        if traced is None:
            traced = trace_batch(scores, cells[0])
        result = traced(cells)
        if result.aux:
            columns = [column.tolist() for column in result.aux[0]]
            return [list(row) for row in zip(*columns, strict=True)]
        return result.values.tolist()

    return run
