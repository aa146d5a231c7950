"""`explore`: a Jupyter widget where moving an input recomputes every value, grad and path product.

The kernel computes, the browser only shows. Each move of a slider sends the inputs' numbers to
Python, which calls `f` again through the engine and sends back every node's data and grad, each
edge's local derivative, `explain`'s path products for each `wrt` input, `compare`'s numeric and
hand columns, and the output. The picture is the HTML stepper's own layout and SVG
(`microgradx.picture`), built once per graph shape; a move only rewrites numbers.

The widget is an anywidget (the `notebook` extra). Importing microgradx does not import it:
`explore` does, when it is called, and says how to install it when it is missing.
"""

from __future__ import annotations

import functools
import math
import numbers
import sys
from collections.abc import Callable, Iterable, Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from microgradx.check import HandFormula, Point, call_with, compare, validate_point
from microgradx.engine import Value, grad
from microgradx.explain import explain_graph
from microgradx.explain_writers import route
from microgradx.formatting import derivative_name, factor, fmt, json_number
from microgradx.graph import Graph, snapshot
from microgradx.html import asset
from microgradx.picture import svg
from microgradx.saved_state import finite_number
from microgradx.steps import page_data

if TYPE_CHECKING:
    import anywidget

__all__ = ["NOTEBOOK_INSTALL", "explore"]

NOTEBOOK_INSTALL = "pip install 'microgradx[notebook]'"
"""What to run when `explore` cannot find its widget library."""

MAX_SHOWN_PATHS = 12
"""Up to this many chain-rule paths per input are listed; past it, only their count and sum."""

DETAILED_INPUTS = 12
"""A move recomputes the path products (`explain`) and the finite-difference and hand checks
(`compare`) of the first this many `wrt` inputs only; every other input gets its derivative from
the one backward pass and its path count. So a move costs about 2·DETAILED_INPUTS + 2 builds
of f's graph, however many inputs f has: linear in the graph's size (1,000 inputs took minutes
per move when every input was checked)."""

DEFAULT_LR = 0.01
"""The descent button's learning rate until the learner changes it."""

_STEPS_PER_SLIDER = 100  # a default slider range is cut into about this many steps

_LARGEST = sys.float_info.max


# --- the arguments ------------------------------------------------------------------------------


def _nice_step(width: float) -> float:
    """A step of 1, 2 or 5 times a power of ten, near `width` / _STEPS_PER_SLIDER."""
    raw = width / _STEPS_PER_SLIDER
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.999)


def _slider(name: str, x: float, given: object) -> dict[str, Any]:
    """One slider: [min, max] from `given` ((lo, hi) or (lo, hi, step)) or ±2·max(1, |x|) around x."""
    if given is None:
        span = 2.0 * max(1.0, abs(x))
        if not math.isfinite(abs(x) + span):  # near the largest float: the range stops at it
            lo, hi = max(x - span, -_LARGEST), min(x + span, _LARGEST)
            return {"name": name, "min": lo, "max": hi, "step": 2 * _nice_step(hi / 2 - lo / 2)}
        step = _nice_step(2 * span)
        lo, hi = math.floor((x - span) / step) * step, math.ceil((x + span) / step) * step
        return {"name": name, "min": round(lo, 12), "max": round(hi, 12), "step": step}
    where = f"explore(ranges[{name!r}])"
    if isinstance(given, str) or not isinstance(given, Iterable):
        raise TypeError(f"{where} must be (low, high) or (low, high, step), got {type(given).__name__}")
    parts = list(given)
    if len(parts) not in (2, 3):
        raise ValueError(f"{where} must be (low, high) or (low, high, step), got {len(parts)} numbers")
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, numbers.Real) or not math.isfinite(part):
            raise ValueError(f"{where} must hold finite numbers, got {part!r}")
    lo, hi = float(parts[0]), float(parts[1])
    if not lo < hi:
        raise ValueError(f"{where}: low must be below high, got ({lo!r}, {hi!r})")
    step = float(parts[2]) if len(parts) == 3 else _nice_step(hi - lo)
    if step <= 0:
        raise ValueError(f"{where}: the step must be > 0, got {step!r}")
    return {"name": name, "min": min(lo, x), "max": max(hi, x), "step": step}


def _wrt_names(wrt: object, point: dict[str, float]) -> list[str]:
    if wrt is None:
        return list(point)
    chosen = [wrt] if isinstance(wrt, str) else list(wrt) if isinstance(wrt, Iterable) else None
    if chosen is None or not all(isinstance(name, str) for name in chosen):
        raise TypeError(f"explore(wrt) must be an input name or a list of input names, got {wrt!r}")
    unknown = [name for name in chosen if name not in point]
    if unknown:
        raise ValueError(
            f"explore(wrt): {', '.join(map(repr, unknown))} is not an input; "
            f"the inputs are {', '.join(map(repr, point))}"
        )
    if not chosen:
        raise ValueError("explore(wrt) is empty: name at least one input to differentiate by")
    return list(dict.fromkeys(chosen))


def _hand_formulas(hand: object, wrt: list[str]) -> dict[str, HandFormula]:
    """`hand` as compare takes it (name -> formula); a lone formula is for the one `wrt` input."""
    if hand is None:
        return {}
    if isinstance(hand, Mapping):
        return dict(hand)
    if len(wrt) != 1:
        raise TypeError(
            f"explore(hand) must be a dict mapping an input name to its formula when there are "
            f"{len(wrt)} wrt inputs, got {type(hand).__name__}"
        )
    return {wrt[0]: hand}


def _point(at: object) -> tuple[dict[str, float], bool]:
    """`at` as compare reads it, with a number no float holds (10**400) a ValueError naming it."""
    try:
        return validate_point(at)
    except OverflowError:
        items = at.items() if isinstance(at, Mapping) else enumerate(at)  # type: ignore[arg-type]
        name = next(f"{n!r}" if isinstance(at, Mapping) else f"'x{n}'" for n, x in items if _too_large(x))
        raise ValueError(f"explore(at[{name}]) is too large for a float") from None


def _too_large(x: object) -> bool:
    try:
        float(x)  # type: ignore[arg-type]
    except OverflowError:
        return True
    except (TypeError, ValueError):
        pass
    return False


def _finite(where: str, x: object) -> float:
    """`x` as a finite float (`nn.finite_number`), or a ValueError naming `where`."""
    try:
        return finite_number(x)
    except ValueError:
        shown = "a number too large for a float" if _too_large(x) else repr(x)
        raise ValueError(f"{where} must be a finite number, got {shown}") from None


# --- the model: numbers in, numbers out ---------------------------------------------------------


class Exploration:
    """What the widget computes, without the widget: `state(point)` and `step(point, lr)`.

    `f` takes the inputs as Values (by keyword, or positionally when `at` is a list) and returns the
    output, as in `compare`. The picture (`svg`) is rebuilt only when the graph's shape changes.
    """

    def __init__(
        self,
        f: Callable[..., Value],
        at: Point,
        *,
        ranges: Mapping[str, Any] | None = None,
        wrt: str | Iterable[str] | None = None,
        hand: Mapping[str, HandFormula] | HandFormula | None = None,
    ) -> None:
        if not callable(f):
            raise TypeError(f"explore(f) must be a function returning a Value, got {type(f).__name__}")
        self.f = f
        self.point, self.positional = _point(at)
        if ranges is not None and not isinstance(ranges, Mapping):
            raise TypeError(
                f"explore(ranges) must be a dict name -> (low, high), got {type(ranges).__name__}"
            )
        ranges = dict(ranges or {})
        unknown = [name for name in ranges if name not in self.point]
        if unknown:
            raise ValueError(
                f"explore(ranges) names {', '.join(map(repr, unknown))}, which are not inputs; "
                f"the inputs are {', '.join(map(repr, self.point))}"
            )
        self.wrt = _wrt_names(wrt, self.point)
        self.hand = _hand_formulas(hand, self.wrt)
        self.sliders = [_slider(name, x, ranges.get(name)) for name, x in self.point.items()]
        for slider in self.sliders:
            slider["wrt"] = slider["name"] in self.wrt
        self.svg = ""
        self._shape: object = None
        self.first = self._state(self.point)  # a mistake in f or hand raises here, at once

    def build(self, point: dict[str, float]) -> tuple[Value, dict[str, Value]]:
        """The graph `f` builds at `point`: its output and the input Values."""
        inputs = {name: Value(x, name) for name, x in point.items()}
        out = call_with(self.f, inputs, self.positional)
        if type(out) is not Value:
            raise TypeError(f"f must return a Value, got {type(out).__name__}")
        return out, inputs

    def _picture(self, graph: Graph, inputs: dict[str, Value]) -> None:
        """The SVG of this graph shape, with the paths from the wrt inputs highlighted."""
        leaves = {node for node in graph.forward if not node.parents}
        highlight = [inputs[name] for name in self.wrt if inputs[name] in leaves]
        data = page_data(graph.output, highlight=highlight)
        self.svg = svg(data, graph.forward)
        self.edges = [(e["child"], e["index"]) for e in data["edges"]]
        self.output_index = data["output"]
        self.kinds = [node["kind"] for node in data["nodes"]]

    def state(self, point: dict[str, float]) -> dict[str, Any]:
        """Everything the view shows at `point`, JSON-ready; ``error`` says why f failed there.

        Any exception of f (a KeyError, a RuntimeError, not only a math error) becomes the error,
        so the view never shows the last point's numbers as this point's.
        """
        try:
            return self._state(point)
        except Exception as error:  # f is the learner's code: whatever it raises is its answer here
            return {"values": dict(point), "error": f"{type(error).__name__}: {error}"}

    def _state(self, point: dict[str, float]) -> dict[str, Any]:
        out, inputs = self.build(point)
        graph = snapshot(out, caller="explore")
        forward, names, index = graph.forward, graph.names, graph.index
        # The picture depends on the ops, the wiring, the labels and the constants' numbers only.
        shape = tuple(
            (node.op, tuple(index[p] for p in node.parents), names[node] if not node.parents else node.label)
            for node in forward
        )
        if shape != self._shape:
            self._picture(graph, inputs)
            self._shape = shape
        grads = grad(out, forward)
        local = [graph.local(graph.edges_into(forward[child])[i]) for child, i in self.edges]
        detailed = self.wrt[:DETAILED_INPUTS]
        rows = {row.name: row for row in self._compare(point, detailed).rows}
        of_input = dict(zip(forward, grads, strict=True))
        counts = graph.paths_to_output() if len(self.wrt) > len(detailed) else {}
        return {
            "values": dict(point),
            "error": "",
            "output": {"name": names[out], "data": json_number(out.data), "text": fmt(out.data)},
            "data": [fmt(node.data) for node in forward],
            "grad": [None if kind == "const" else fmt(g) for kind, g in zip(self.kinds, grads, strict=True)],
            "local": [f"×{fmt(d)}" for d in local],
            "derivatives": [
                self._derivative(graph, name, inputs[name], rows[name])
                if name in rows
                else _undetailed(
                    out, name, names, of_input.get(inputs[name], 0.0), counts.get(inputs[name], 0)
                )
                for name in self.wrt
            ],
        }

    def _compare(self, point: dict[str, float], detailed: list[str]) -> Any:
        """`compare` at `point` for the `detailed` inputs only, the others held at their numbers."""
        if len(point) <= DETAILED_INPUTS:  # every input varies in compare's diagnosis
            return compare(self.f, self.hand, point)
        fixed = {name: x for name, x in point.items() if name not in detailed}
        positional = self.positional

        def part(**given: Value) -> Value:  # f of the detailed inputs; the others are labelled leaves
            inputs = {name: given[name] if name in given else Value(fixed[name], name) for name in point}
            return call_with(self.f, inputs, positional)

        def whole(formula: Callable[..., Any]) -> Callable[..., Any]:  # a hand callable takes every input
            return lambda **given: call_with(
                formula, {name: given.get(name, fixed.get(name)) for name in point}, positional
            )

        hand = {
            n: whole(h) if callable(h) and not isinstance(h, str) and not _is_sympy(h) else h
            for n, h in self.hand.items()
            if n in detailed
        }
        return compare(part, hand, {name: point[name] for name in detailed})

    def _derivative(self, graph: Graph, name: str, leaf: Value, row: Any) -> dict[str, Any]:
        """d out/d leaf with its path products (from `explain`) and compare's numeric and hand columns.

        `name` is the input's name in `at` (f may have relabelled its Value).
        """
        explanation = explain_graph(graph, leaf, max_paths=MAX_SHOWN_PATHS)
        names = graph.names
        o, w = derivative_name(names[graph.output]), derivative_name(name)
        paths = []
        for path in explanation.paths:
            paths.append(
                {
                    "route": route(path, names),
                    "edges": [[e.derivative, e.formula, fmt(e.value)] for e in path.edges],
                    "product": fmt(path.product),
                    "factors": " · ".join(factor(fmt(e.value)) for e in path.edges),
                }
            )
        result: dict[str, Any] = {
            "name": name,
            "symbol": f"d{o}/d{w}",
            "value": json_number(explanation.total),
            "text": fmt(explanation.total),
            "path_count": min(explanation.path_count, 2**53),
            "paths": paths,
            "numeric": fmt(row.numeric),
            "hand": None,
        }
        if row.hand is not None:
            agrees = abs(row.hand - row.autograd) <= row_tolerance(row.autograd)
            note = row.diagnosis.text if row.diagnosis is not None else ("" if row.ok else row.note)
            formula = self.hand[name]
            written = formula if isinstance(formula, str) else ""
            result["hand"] = {"formula": written, "text": fmt(row.hand), "agrees": agrees, "note": note}
        return result

    def step(self, point: dict[str, float], lr: float) -> tuple[dict[str, float], dict[str, Any]]:
        """One gradient-descent step from `point`: ``w ← w − lr·dE/dw`` for each wrt input.

        Returns the new point and what to show about the step (the output before and after, and
        each update written out); the point is unchanged when the step cannot be taken.
        """
        lr = _finite("the learning rate", lr)
        before = self.state(point)
        if before["error"]:
            return point, {"error": f"no step: {before['error']}"}
        moved, updates = dict(point), []
        for derivative in before["derivatives"]:
            name, g = derivative["name"], float(derivative["value"])
            new = point[name] - lr * g
            if not math.isfinite(new):
                return point, {"error": f"no step: {name} would become {fmt(new)} (lower the learning rate)"}
            moved[name] = new
            updates.append(f"{name} ← {fmt(point[name])} − {fmt(lr)} · {factor(fmt(g))} = {fmt(new)}")
        after = self.state(moved)
        if after["error"]:
            return point, {"error": f"no step: after it, {after['error']}"}
        output = before["output"]["name"]
        return moved, {
            "error": "",
            "lr": lr,
            "before": before["output"]["data"],
            "after": after["output"]["data"],
            "text": f"{output}: {before['output']['text']} → {after['output']['text']}",
            "updates": updates,
        }


def _is_sympy(formula: object) -> bool:
    sympy = sys.modules.get("sympy")  # a SymPy expression can only exist once SymPy is imported
    return sympy is not None and isinstance(formula, sympy.Basic)


def _undetailed(out: Value, name: str, names: dict[Value, str], g: float, count: int) -> dict[str, Any]:
    """d out/d `name` from the backward pass alone, for an input past DETAILED_INPUTS: no path
    products listed and no finite-difference check (see DETAILED_INPUTS)."""
    return {
        "name": name,
        "symbol": f"d{derivative_name(names[out])}/d{derivative_name(name)}",
        "value": json_number(g),
        "text": fmt(g),
        "path_count": count,
        "paths": [],
        "numeric": f"— (checked for the first {DETAILED_INPUTS} inputs only)",
        "hand": None,
    }


def row_tolerance(autograd: float, rtol: float = 1e-5, atol: float = 1e-8) -> float:
    """How far a hand value may be from autograd and still agree (compare's default tolerances)."""
    return atol + rtol * abs(autograd)


# --- the static display (no kernel, no widget) --------------------------------------------------


def static_html(state: dict[str, Any]) -> str:
    """The state as plain HTML for places where the widget cannot run (an nbconvert export)."""
    note = (
        "<p><em>microgradx.explore: the live sliders need a running Jupyter kernel (run this "
        "notebook to move them). Below are the numbers at the starting point.</em></p>"
    )
    point = ", ".join(f"{escape(name)} = {escape(fmt(x))}" for name, x in state["values"].items())
    if state["error"]:
        return f"<div>{note}<p>At {point}: {escape(state['error'])}</p></div>"
    out = state["output"]
    lines = [f"At {point}: {out['name']} = {out['text']}"]
    for d in state["derivatives"]:
        lines.append("")
        lines.append(f"{d['symbol']} = {d['text']} (numeric {d['numeric']})")
        for number, path in enumerate(d["paths"], 1):
            lines.append(f"  path {number}: {path['route']}")
            for partial, formula, value in path["edges"]:
                lines.append(f"    {partial} = {formula} = {value}")
            lines.append(f"    path product = {path['factors']} = {path['product']}")
        if d["hand"] is not None:
            verdict = "agrees" if d["hand"]["agrees"] else "does NOT agree"
            hand = d["hand"]
            written = f"{hand['formula']} = " if hand["formula"] else ""
            lines.append(f"  by hand: {written}{hand['text']} ({verdict}) {hand['note']}".rstrip())
    return f'<div class="mgx-explore-static">{note}<pre>{escape(chr(10).join(lines))}</pre></div>'


# --- the widget ------------------------------------------------------------------------------------


def _styles() -> str:
    """The stepper's stylesheet for the picture (its page-wide rules scoped to the widget), and ours."""
    stepper = asset("stepper.css").replace(":root", ":host")
    return stepper + "\n" + asset("explore.css")


def _libraries() -> tuple[Any, Any]:
    """anywidget and traitlets, or an ImportError saying how to install them."""
    try:
        import anywidget
        import traitlets
    except ImportError as error:
        raise ImportError(
            f"microgradx.explore needs the notebook extra (anywidget, ipywidgets, JupyterLab): "
            f"{NOTEBOOK_INSTALL} ({error})"
        ) from None
    return anywidget, traitlets


def _checked_values(given: object, names: list[str]) -> dict[str, float]:
    """`given` as a number for each input name, or a ValueError saying what is wrong (the widget's
    ``values`` validation: the inputs keep their numbers)."""
    if not isinstance(given, Mapping) or set(given) != set(names):
        raise ValueError(f"values must give a number for each of {', '.join(names)}")
    try:
        return {name: _finite(f"values[{name!r}]", given[name]) for name in names}
    except ValueError as e:  # nan, inf: the inputs keep their numbers
        raise ValueError(f"{e}; the inputs keep their numbers") from None


def _widened(sliders: list[dict[str, Any]], values: Mapping[str, float]) -> list[dict[str, Any]]:
    """The sliders, each range widened to hold its input's number (a descent step may leave it)."""
    return [
        {
            **slider,
            "min": min(slider["min"], values[slider["name"]]),
            "max": max(slider["max"], values[slider["name"]]),
        }
        for slider in sliders
    ]


class _Shown:
    """The widget's plain methods (no synced state of their own): the descent button and its
    message, and the text and HTML shown where the widget cannot run. Mixed into `Explorer`."""

    model: Exploration
    values: dict[str, float]
    lr: float
    state: dict[str, Any]
    last_step: dict[str, Any]

    def step(self) -> dict[str, Any]:
        """Take one gradient-descent step on the wrt inputs (what the button does); returns its record."""
        moved, record = self.model.step(dict(self.values), self.lr)
        if not record["error"]:
            self.values = moved
        self.last_step = record
        return record

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, Mapping) and content.get("type") == "step":
            self.step()

    def __repr__(self) -> str:
        point = ", ".join(f"{name}={fmt(x)}" for name, x in self.values.items())
        if self.state.get("error"):
            return f"<microgradx.explore at {point}: {self.state['error']}>"
        out = self.state["output"]
        return f"<microgradx.explore {out['name']} = {out['text']} at {point}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # the widget's own, next in the class order
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = {**data, "text/html": static_html(self.state)}
        data["text/plain"] = f"{self!r} (the live widget needs a running Jupyter kernel)"
        return data, metadata


@functools.cache
def _widget_class() -> type:
    anywidget, traitlets = _libraries()

    class Explorer(_Shown, anywidget.AnyWidget):
        """The live view of one `Exploration`: sliders in, numbers out, all computed in the kernel.

        Synced state: ``values`` (input name -> number; set it, or move a slider, to recompute),
        ``lr`` (the descent button's learning rate), ``state`` (what is shown: see
        `Exploration.state`), ``last_step`` (the last descent step), and the static ``svg``.
        """

        _esm = asset("explore.js")
        styles = traitlets.Unicode("").tag(sync=True)
        svg = traitlets.Unicode("").tag(sync=True)
        sliders = traitlets.List().tag(sync=True)
        values = traitlets.Dict().tag(sync=True)
        lr = traitlets.Float(DEFAULT_LR).tag(sync=True)
        state = traitlets.Dict().tag(sync=True)
        last_step = traitlets.Dict().tag(sync=True)

        def __init__(self, model: Exploration, lr: float) -> None:
            self.model = model
            super().__init__(
                styles=_styles(),
                svg=model.svg,
                sliders=model.sliders,
                values=dict(model.point),
                lr=lr,
                state=model.first,
            )
            self.on_msg(self._message)

        @traitlets.validate("values")
        def _valid_values(self, proposal: Any) -> dict[str, float]:
            names = [s["name"] for s in self.sliders] if self.sliders else list(self.model.point)
            try:
                return _checked_values(proposal["value"], names)
            except ValueError as e:
                raise traitlets.TraitError(str(e)) from None

        @traitlets.validate("lr")
        def _valid_lr(self, proposal: Any) -> float:
            return _finite("lr", proposal["value"])

        @traitlets.observe("values")
        def _recompute(self, change: Any) -> None:
            widened = _widened(self.sliders, change["new"])
            if widened != self.sliders:
                self.sliders = widened
            state = self.model.state(change["new"])
            if self.model.svg != self.svg:
                self.svg = self.model.svg
            self.state = state

    return Explorer


def explore(
    f: Callable[..., Value],
    at: Point,
    *,
    ranges: Mapping[str, Any] | None = None,
    wrt: str | Iterable[str] | None = None,
    hand: Mapping[str, HandFormula] | HandFormula | None = None,
    lr: float = DEFAULT_LR,
) -> anywidget.AnyWidget:
    """A Jupyter widget to move the inputs of `f` and watch every value, grad and path product follow.

    `f` and `at` are as in `compare`: `f` takes the inputs as Values and returns the output, `at`
    gives the starting numbers. Each input gets a slider (range ``ranges[name] = (low, high)`` or
    ``(low, high, step)``, else ±2·max(1, |x|) around its start). Below the graph: d(output)/d(each
    `wrt` input, default all) with `explain`'s path products, the finite-difference check, and with
    `hand` (as in `compare`; a lone formula when there is one `wrt`) the hand value and whether it
    agrees. A button takes a gradient-descent step ``w ← w − lr·dE/dw`` on the `wrt` inputs.
    With more than DETAILED_INPUTS (12) inputs, the path products and the checks are those of the
    first 12 `wrt` inputs, the others show their derivative and path count: a move's time grows
    linearly with f's graph. Whatever `f` raises at a point is shown as that point's error.

    Needs the notebook extra (``pip install 'microgradx[notebook]'``); raises ImportError without it.
    """
    widget = _widget_class()
    model = Exploration(f, at, ranges=ranges, wrt=wrt, hand=hand)
    return widget(model, _finite("explore(lr)", lr))
