// microgradx training page: scrubs through a recorded run. Plain JavaScript, no network, no framework.
// Every number shown was formatted in Python (microgradx.formatting.fmt); the script only places it
// and reads it back (num) to draw the curves.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mgx-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var DELAY = 400;
  var steps = data.steps, names = data.names, count = steps.length;
  var current = 0, timer = null;

  function byId(id) { return document.getElementById(id); }
  function num(text) {
    if (text === "nan") { return NaN; }
    return Number(text.split("−").join("-").replace(/^(-?)inf$/, "$1Infinity"));
  }
  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function html(name, cls, parent, text) {
    var node = document.createElement(name);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function finite(values) { return values.filter(function (v) { return isFinite(v); }); }
  function extent(values) {  // [least, largest, index of least, index of largest] of the finite values
    var lo = Infinity, hi = -Infinity, at = [-1, -1];  // a loop: Math.min.apply overflows the stack
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (!isFinite(v)) { continue; }
      if (v < lo) { lo = v; at[0] = i; }
      if (v > hi) { hi = v; at[1] = i; }
    }
    return [lo, hi, at[0], at[1]];
  }
  function range(values) {
    var e = extent(values), lo = e[0], hi = e[1];
    if (e[2] < 0) { return [0, 1]; }
    if (lo === hi) { lo -= 1; hi += 1; }
    if (!isFinite(hi - lo)) { lo /= 2; hi /= 2; }  // ±1e308: keep the scale's width a number
    return [lo, hi];
  }
  // Runs of steps whose number is inf, -inf or nan, drawn as a band at the chart's top (inf, nan)
  // or bottom (-inf) edge and named once per run: the numbers are not finite, and the page says so.
  function nonFinite(xs, ys, texts, fx, top, bottom, svg, labelled) {
    var i = 0, runs = 0;
    while (i < ys.length) {
      if (isFinite(ys[i])) { i++; continue; }
      var start = i, kind = ys[i] < 0 ? "-inf" : (ys[i] > 0 ? "inf" : "nan");
      while (i + 1 < ys.length && !isFinite(ys[i + 1]) && (ys[i + 1] < 0 ? "-inf" : (ys[i + 1] > 0 ? "inf" : "nan")) === kind) { i++; }
      var y = kind === "-inf" ? bottom : top, x1 = fx(xs[start]), x2 = Math.max(fx(xs[i]), x1 + 2);
      el("line", { x1: x1, x2: x2, y1: y, y2: y, "class": "nonfinite", "data-kind": kind }, svg);
      if (labelled) {
        var shift = 12 * (runs++ % 3);  // the next run's words go a line lower: none covers another
        var t = el("text", { x: x1, y: kind === "-inf" ? y - 3 - shift : y + 11 + shift, "class": "nonfinite-label" }, svg);
        t.textContent = texts[start] + (i > start ? " from step " + xs[start] : " at step " + xs[start]);
      }
      i++;
    }
  }
  function scale(lo, hi, a, b) { return function (v) { return a + (v - lo) / (hi - lo) * (b - a); }; }
  function points(xs, ys, fx, fy) {
    var out = [];
    for (var i = 0; i < xs.length; i++) {
      if (isFinite(ys[i])) { out.push(fx(xs[i]).toFixed(2) + "," + fy(ys[i]).toFixed(2)); }
    }
    return out.join(" ");
  }

  byId("summary").textContent = data.total + " steps recorded · " + names.length + (names.length === 1 ? " parameter" : " parameters") +
    (count < data.total ? " · every " + Math.round((data.total - 1) / Math.max(1, count - 1)) +
      "th step shown (a page holds at most " + count + ")" : "");
  var scrub = byId("scrub");
  scrub.max = String(count - 1);

  // --- the loss curve ----------------------------------------------------------------------------
  var losses = data.loss.map(num);
  var lossSvg = byId("loss");
  var L = { left: 62, right: 392, top: 10, bottom: 145 };
  var lossRange = range(losses);
  var positive = finite(losses).every(function (v) { return v > 0; });
  var logScale = positive && lossRange[1] / lossRange[0] > 100;
  var ly = logScale
    ? (function () {
      var f = scale(Math.log(lossRange[0]), Math.log(lossRange[1]), L.bottom, L.top);
      return function (v) { return f(Math.log(v)); };
    }())
    : scale(lossRange[0], lossRange[1], L.bottom, L.top);
  var lx = scale(steps[0], Math.max(steps[count - 1], steps[0] + 1), L.left, L.right);
  el("line", { x1: L.left, y1: L.bottom, x2: L.right, y2: L.bottom, "class": "axis" }, lossSvg);
  el("line", { x1: L.left, y1: L.top, x2: L.left, y2: L.bottom, "class": "axis" }, lossSvg);
  var lossExtent = extent(losses), lo = lossExtent[2], hi = lossExtent[3];
  [[hi, lossRange[1]], [lo, lossRange[0]]].forEach(function (pair) {
    if (pair[0] < 0) { return; }
    var t = el("text", { x: L.left - 4, y: ly(pair[1]) + 4, "class": "tick", "text-anchor": "end" }, lossSvg);
    t.textContent = data.loss[pair[0]];
  });
  [0, count - 1].forEach(function (s) {  // the last step's number ends at the axis' end: none is cut off
    var anchor = s === count - 1 && s > 0 ? "end" : "middle";
    var t = el("text", { x: lx(steps[s]), y: L.bottom + 16, "class": "tick", "text-anchor": anchor }, lossSvg);
    t.textContent = String(steps[s]);
  });
  var axisName = el("text", { x: (L.left + L.right) / 2, y: L.bottom + 16, "class": "tick", "text-anchor": "middle" },
    lossSvg);
  axisName.textContent = "step" + (logScale ? " (loss on a log scale)" : "");
  el("polyline", { points: points(steps, losses, lx, ly), "class": "loss-line" }, lossSvg);
  nonFinite(steps, losses, data.loss, lx, L.top, L.bottom, lossSvg, true);
  var lossMark = el("line", { y1: L.top, y2: L.bottom, "class": "marker" }, lossSvg);
  var lossDot = el("circle", { r: 5, "class": "dot" }, lossSvg);

  // --- the parameters: one small chart each --------------------------------------------------------
  var W = 140, H = 46;
  var box = byId("params");
  var cards = names.map(function (name, i) {
    var card = html("div", "param", box);
    card.setAttribute("data-index", String(i));
    var head = html("div", "name", card, name);
    head.title = data.full[i];
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "aria-hidden": "true" }, card);
    var values = data.value.map(function (row) { return num(row[i]); });
    var grads = data.grad.map(function (row) { return num(row[i]); });
    var sx = scale(steps[0], Math.max(steps[count - 1], steps[0] + 1), 2, W - 2);
    var gr = range(grads.concat([0]));
    var gy = scale(gr[0], gr[1], H - 3, 3);
    el("line", { x1: 2, x2: W - 2, y1: gy(0), y2: gy(0), "class": "zero" }, svg);
    var vr = range(values);
    el("polyline", { points: points(steps, grads, sx, gy), "class": "spark-g" }, svg);
    el("polyline", { points: points(steps, values, sx, scale(vr[0], vr[1], H - 3, 3)), "class": "spark-v" }, svg);
    nonFinite(steps, values, null, sx, 1, H - 1, svg, false);
    nonFinite(steps, grads, null, sx, 1, H - 1, svg, false);
    var mark = el("line", { y1: 0, y2: H, "class": "marker" }, svg);
    var nums = html("div", "nums", card);
    html("span", "", nums, "value");
    var v = html("span", "v", nums);
    html("span", "", nums, "grad");
    var g = html("span", "g", nums);
    html("span", "", nums, "update");
    var u = html("span", "u", nums);
    return { card: card, mark: mark, sx: sx, v: v, g: g, u: u };
  });
  var sortBy = byId("sort");
  function sortCards() {
    var order = names.map(function (_, i) { return i; });
    var key = sortBy.value;
    if (key !== "name") {
      var row = (key === "grad" ? data.grad : data.update)[current];
      order.sort(function (a, b) {
        var x = Math.abs(num(row[a])), y = Math.abs(num(row[b]));
        x = isNaN(x) ? Infinity : x;
        y = isNaN(y) ? Infinity : y;
        return y - x || a - b;
      });
    }
    order.forEach(function (i) { box.appendChild(cards[i].card); });
  }
  sortBy.addEventListener("change", sortCards);

  // --- the decision boundary -----------------------------------------------------------------------
  var boundary = data.boundary, cellsGroup = null, lastFrame = null;
  if (boundary) {
    var n = boundary.n;
    byId("boundary-panel").hidden = false;
    var bsvg = byId("boundary");
    bsvg.setAttribute("viewBox", "0 0 " + n + " " + n);
    bsvg.setAttribute("preserveAspectRatio", "none");
    // The grid's cells, softened by a blur of under a cell: the boundary reads as a line, not as steps.
    var soft = el("filter", { id: "soft", x: 0, y: 0, width: 1, height: 1 }, el("defs", {}, bsvg));
    el("feGaussianBlur", { stdDeviation: 0.6, edgeMode: "duplicate" }, soft);
    cellsGroup = el("g", { id: "cells", "shape-rendering": "crispEdges", filter: "url(#soft)" }, bsvg);
    var px = scale(boundary.x[0], boundary.x[1], 0, n), py = scale(boundary.y[0], boundary.y[1], n, 0);
    var pts = el("g", { id: "points" }, bsvg);
    boundary.points.forEach(function (p) {
      el("circle", { cx: px(p[0]).toFixed(3), cy: py(p[1]).toFixed(3), r: 0.42, "class": "pt c" + p[2] }, pts);
    });
    byId("boundary-rule").textContent = "Shaded: the class the model gives each point of a " + n + " × " + n +
      " grid with this step's parameters (" + boundary.rule + "); dots: the data, by label (" +
      boundary.classes.join(", ") + ").";
  }
  function frameAt(s, frames) {  // the frame of step s, or of the nearest earlier step that has one
    for (var k = s; k >= 0; k--) { if (frames[k] !== null) { return k; } }
    return -1;
  }
  function drawBoundary() {
    var k = frameAt(current, boundary.frames);
    if (k === lastFrame) { return; }
    lastFrame = k;
    while (cellsGroup.firstChild) { cellsGroup.removeChild(cellsGroup.firstChild); }
    var frame = boundary.frames[k], n = boundary.n;
    for (var j = 0; j < n; j++) {  // one rectangle per run of equal cells in a row
      var start = 0;
      for (var i = 1; i <= n; i++) {
        if (i === n || frame[j * n + i] !== frame[j * n + start]) {
          var cls = frame[j * n + start];
          var r = el("rect", { x: start, y: j, width: i - start, height: 1, "class": "c" + parseInt(cls, 36) },
            cellsGroup);
          r.setAttribute("data-class", boundary.classes[parseInt(cls, 36)]);
          start = i;
        }
      }
    }
    cellsGroup.setAttribute("data-step", String(steps[k]));
    byId("boundary-note").textContent = k === current ? "at this step" : "as at step " + steps[k];
  }

  // --- a single neuron's error curve ---------------------------------------------------------------
  var curve = data.curve, curveParts = null;
  if (curve) {
    byId("curve-panel").hidden = false;
    var csvg = byId("curve");
    var C = { left: 30, right: 392, top: 12, bottom: 230 };
    var all = [];
    curve.frames.forEach(function (f) { if (f) { f.forEach(function (e) { if (e !== null) { all.push(e); } }); } });
    var er = range(all.concat(losses));
    var cx = scale(curve.w[0], curve.w[curve.w.length - 1], C.left, C.right);
    var cy = scale(Math.max(er[0] - 0.05 * (er[1] / 2 - er[0] / 2) * 2, -Number.MAX_VALUE), er[1], C.bottom, C.top);
    el("line", { x1: C.left, y1: C.bottom, x2: C.right, y2: C.bottom, "class": "axis" }, csvg);
    el("line", { x1: C.left, y1: C.top, x2: C.left, y2: C.bottom, "class": "axis" }, csvg);
    var wl = el("text", { x: C.right, y: C.bottom + 18, "class": "label", "text-anchor": "end" }, csvg);
    wl.textContent = curve.name + " →";
    var el_ = el("text", { x: C.left - 6, y: C.top + 10, "class": "label", "text-anchor": "end" }, csvg);
    el_.textContent = "E";
    curveParts = {
      cx: cx, cy: cy, C: C,
      line: el("polyline", { "class": "curve-line" }, csvg),
      tangent: el("line", { "class": "tangent" }, csvg),
      next: el("line", { "class": "next-w" }, csvg),
      dot: el("circle", { r: 6, "class": "dot" }, csvg),
    };
  }
  function place(node, attrs) {  // set a shape's coordinates, or hide it where one is not a number
    var ok = Object.keys(attrs).every(function (k) { return isFinite(attrs[k]); });
    node.style.display = ok ? "" : "none";
    if (ok) { Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); }); }
    return ok;
  }
  function drawCurve() {
    var p = curveParts, k = frameAt(current, curve.frames), frame = k < 0 ? null : curve.frames[k];
    var w = num(data.value[current][curve.param]), g = num(data.grad[current][curve.param]);
    var u = num(data.update[current][curve.param]), e = losses[current];
    if (!frame) {
      p.line.setAttribute("points", "");
      byId("curve-note").textContent = "(not kept for this step)";
    } else {
      p.line.setAttribute("points", points(curve.w, frame.map(function (v) { return v === null ? NaN : v; }),
        p.cx, p.cy));
      byId("curve-note").textContent = "E(" + curve.name + ") of " + (k === current ? "this step's loss" : "step " + steps[k] + "'s loss");
    }
    var half = curve.w[curve.w.length - 1] / 8 - curve.w[0] / 8;  // (halves: w may span ±1e308)
    place(p.tangent, { x1: p.cx(w - half), y1: p.cy(e - g * half), x2: p.cx(w + half), y2: p.cy(e + g * half) });
    place(p.dot, { cx: p.cx(w), cy: p.cy(e) });
    place(p.next, { x1: p.cx(w), x2: p.cx(w + u), y1: p.C.bottom - 4, y2: p.C.bottom - 4 });
    if (![w, g, u, e].every(function (v) { return isFinite(v); })) {  // a diverged step: its numbers are words (inf, nan), not places on the chart
      byId("curve-text").textContent = curve.name + " = " + data.value[current][curve.param] + ", E = " +
        data.loss[current] + ", dE/d" + curve.name + " = " + data.grad[current][curve.param] +
        ": not finite, so not drawn (the run diverged: a smaller learning rate keeps it finite).";
      return;
    }
    var name = curve.name;
    byId("curve-text").textContent = name + " = " + data.value[current][curve.param] + ", E = " +
      data.loss[current] + "; the dashed tangent has slope dE/d" + name + " = " + data.grad[current][curve.param] +
      "; the green bar is the update that followed, " + data.update[current][curve.param] + ".";
  }

  // --- one step ---------------------------------------------------------------------------------------
  function show(s) {
    current = Math.max(0, Math.min(count - 1, s));
    scrub.value = String(current);
    byId("step-now").textContent = "step " + steps[current] + " / " + (data.total - 1);
    byId("loss-now").textContent = data.loss[current];
    var x = lx(steps[current]);
    lossMark.setAttribute("x1", x); lossMark.setAttribute("x2", x);
    lossDot.setAttribute("cx", x); lossDot.setAttribute("cy", isFinite(losses[current]) ? ly(losses[current]) : L.top);
    cards.forEach(function (c, i) {
      c.v.textContent = data.value[current][i];
      c.g.textContent = data.grad[current][i];
      c.u.textContent = data.update[current][i];
      var mx = c.sx(steps[current]);
      c.mark.setAttribute("x1", mx); c.mark.setAttribute("x2", mx);
    });
    if (sortBy.value !== "name") { sortCards(); }
    if (boundary) { drawBoundary(); }
    if (curve) { drawCurve(); }
    byId("back").disabled = current === 0;
    byId("next").disabled = current === count - 1;
  }

  var playButton = byId("play");
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playButton.textContent = "▶ Play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (current === count - 1) { show(0); }
    playButton.textContent = "❚❚ Pause";
    timer = setInterval(function () {
      if (current >= count - 1) { stop(); } else { show(current + 1); }
    }, DELAY);
  }
  scrub.addEventListener("input", function () { stop(); show(Number(scrub.value)); });
  byId("back").addEventListener("click", function () { stop(); show(current - 1); });
  byId("next").addEventListener("click", function () { stop(); show(current + 1); });
  playButton.addEventListener("click", play);
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.target === scrub ||
        event.target instanceof HTMLSelectElement) { return; }
    var key = event.key;
    if (key === "ArrowRight") { stop(); show(current + 1); }
    else if (key === "ArrowLeft") { stop(); show(current - 1); }
    else if (key === "Home") { stop(); show(0); }
    else if (key === "End") { stop(); show(count - 1); }
    else if (key === " " && !(event.target instanceof HTMLButtonElement)) { play(); }
    else { return; }
    event.preventDefault();
  });
  show(0);
}());
