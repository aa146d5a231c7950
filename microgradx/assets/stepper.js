// microgradx stepper: replays the steps embedded as JSON. Plain JavaScript, no network, no framework.
// Every number shown was formatted in Python (microgradx.formatting.fmt); this script only places it.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mgx-data").textContent);
  var steps = data.steps, nodes = data.nodes, edges = data.edges;
  var PHASES = { start: "Start", forward: "Forward pass", backward: "Backward pass", update: "Update" };
  var DELAY = 1100;
  var current = 0, timer = null;
  // Hooks another script may set (the quiz's, see quiz.js): gate(from, to) returns the furthest step
  // a move may reach; shown(k, step) runs after step k is drawn.
  var gate = null, shown = null;

  function byId(id) { return document.getElementById(id); }
  var nodeEls = nodes.map(function (_, i) { return byId("n" + i); });
  var dataEls = nodes.map(function (_, i) { return byId("n" + i + "-data"); });
  var gradEls = nodes.map(function (_, i) { return byId("n" + i + "-grad"); });
  var edgeEls = edges.map(function (_, k) { return byId("e" + k); });
  var labelEls = edges.map(function (_, k) { return byId("l" + k); });
  var playButton = byId("play");
  // The graph is zoomed to fit the stage, but never below MIN_SCALE (a value's 22-unit text stays
  // 13 px or more). A graph too wide for that scrolls and pans (drag it), following the current
  // node, and then fills the stage's height (up to SCROLL_SCALE) rather than leaving it empty.
  // − / + / Fit (or the keys -, +, 0) zoom by hand.
  var MIN_SCALE = 0.6, MAX_FIT = 1.6, SCROLL_SCALE = 0.72;
  var stage = byId("stage");
  var graph = byId("graph");
  var zoom = null;  // null: fit the stage
  function fitScale() {
    var box = graph.viewBox.baseVal;
    var across = (stage.clientWidth - 16) / box.width, down = (stage.clientHeight - 16) / box.height;
    var fit = Math.min(across, down);
    if (fit >= MIN_SCALE) { return Math.min(MAX_FIT, fit); }
    return Math.max(MIN_SCALE, Math.min(SCROLL_SCALE, down));
  }
  function applyZoom() {
    var box = graph.viewBox.baseVal;
    var scale = zoom === null ? fitScale() : zoom;
    graph.style.width = Math.round(box.width * scale) + "px";
    graph.style.height = Math.round(box.height * scale) + "px";
    byId("zoom-level").textContent = Math.round(scale * 100) + "%";
  }
  function zoomBy(factor) {
    var scale = zoom === null ? fitScale() : zoom;
    zoom = Math.max(0.25, Math.min(3, scale * factor));
    applyZoom();
    follow();
  }
  window.addEventListener("resize", function () { if (zoom === null) { applyZoom(); } });
  var drag = null;
  stage.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) { return; }
    drag = { x: event.clientX, y: event.clientY, left: stage.scrollLeft, top: stage.scrollTop };
    stage.classList.add("dragging");
  });
  window.addEventListener("pointermove", function (event) {
    if (drag === null) { return; }
    stage.scrollLeft = drag.left - (event.clientX - drag.x);
    stage.scrollTop = drag.top - (event.clientY - drag.y);
  });
  window.addEventListener("pointerup", function () { drag = null; stage.classList.remove("dragging"); });
  var bar = byId("progress");
  var ticks = steps.map(function (step, s) {
    var tick = document.createElement("span");
    tick.className = step.phase;
    tick.title = PHASES[step.phase] + " · step " + (s + 1);
    tick.addEventListener("click", function () { stop(); show(s); });
    bar.appendChild(tick);
    return tick;
  });
  if (!steps.some(function (step) { return step.phase === "update"; })) {
    document.body.classList.add("no-update");
  }

  // Put a number in its card; squeeze it if this machine's font is wider than the room left for it.
  function place(text, value) {
    if (text.textContent === value) { return; }
    text.textContent = value;
    text.removeAttribute("textLength");
    var room = Number(text.getAttribute("data-room"));
    if (value && text.getComputedTextLength() > room) {
      text.setAttribute("textLength", String(room));
      text.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
  }

  // The state after step k: steps 0..k applied in turn (a step only says what it changes). The
  // state of the step shown last is kept, so Next applies one step instead of replaying them all.
  var cache = null, cacheStep = -1;
  function freshState() {
    var state = { data: [], dataMark: [], grad: [], gradMark: [], fwd: [], bwd: [] };
    for (var i = 0; i < nodes.length; i++) {
      state.data[i] = nodes[i].kind === "op" ? "?" : "";
      state.dataMark[i] = "";
      state.grad[i] = "";
      state.gradMark[i] = "";
    }
    return state;
  }
  function apply(state, step) {
    if (step.reset) {  // another round: every grad zeroed, every operation not computed yet
      for (var j = 0; j < nodes.length; j++) {
        if (nodes[j].kind === "op") { state.data[j] = "?"; state.dataMark[j] = ""; }
        state.grad[j] = "";
        state.gradMark[j] = "";
      }
      state.fwd = [];
      state.bwd = [];
    }
    step.set.forEach(function (change) {
      if (change[1] === "data") {
        state.data[change[0]] = change[2];
        state.dataMark[change[0]] = change[3];
      } else {
        state.grad[change[0]] = change[2];
        state.gradMark[change[0]] = change[3];
      }
    });
    step.edges.forEach(function (e) { (step.phase === "forward" ? state.fwd : state.bwd)[e] = true; });
  }
  function stateAt(k) {
    if (cache === null || k < cacheStep) { cache = freshState(); cacheStep = -1; }
    for (var s = cacheStep + 1; s <= k; s++) { apply(cache, steps[s]); }
    cacheStep = k;
    return cache;
  }

  function show(k) {
    if (gate !== null && k > current) { k = gate(current, k); }
    current = Math.max(0, Math.min(steps.length - 1, k));
    var step = steps[current];
    var state = stateAt(current);
    document.body.setAttribute("data-phase", step.phase);
    nodes.forEach(function (_, i) {
      if (dataEls[i]) { place(dataEls[i], state.data[i]); }
      if (gradEls[i]) { place(gradEls[i], state.grad[i]); }
      var cl = nodeEls[i].classList;
      cl.toggle("known", state.dataMark[i] !== "");
      cl.toggle("updated", state.dataMark[i] === "updated");
      cl.toggle("grad-partial", state.gradMark[i] === "partial");
      cl.toggle("grad-final", state.gradMark[i] === "final");
      cl.toggle("current", step.node === i);
      cl.toggle("source", step.from === i);
    });
    edges.forEach(function (_, e) {
      var cl = edgeEls[e].classList;
      var active = step.edges.indexOf(e) >= 0;
      cl.toggle("seen", !!state.fwd[e]);
      cl.toggle("bseen", !!state.bwd[e] && !active);
      cl.toggle("active-fwd", active && step.phase === "forward");
      cl.toggle("active-bwd", active && step.phase !== "forward");
    });
    edges.forEach(function (_, e) {
      if (step.ltext !== undefined && step.edges[0] === e && labelEls[e]) {
        labelEls[e].textContent = "×" + step.ltext;  // this round's local derivative
      }
    });
    follow();
    var line = byId("line");
    while (line.firstChild) { line.removeChild(line.firstChild); }
    step.rows.forEach(function (row) {
      var div = document.createElement("div");
      div.className = "row";
      row.forEach(function (part) {
        var span = document.createElement("span");
        if (part[1]) { span.className = "p-" + part[1]; }
        span.textContent = part[0];
        div.appendChild(span);
      });
      line.appendChild(div);
    });
    byId("note").textContent = step.note;
    byId("phase").textContent = PHASES[step.phase];
    byId("counter").textContent = "step " + (current + 1) + " of " + steps.length;
    byId("round").textContent = data.rounds > 1 ? "round " + step.round + " of " + data.rounds : "";
    ticks.forEach(function (tick, s) {
      tick.classList.toggle("done", s <= current);
      tick.classList.toggle("here", s === current);
    });
    byId("back").disabled = current === 0;
    byId("reset").disabled = current === 0;
    byId("next").disabled = current === steps.length - 1;
    if (shown !== null) { shown(current, step); }
  }

  // Keep the current node in view when the graph is larger than the stage.
  function follow() {
    var step = steps[current];
    if (step.node === null || drag !== null) { return; }
    if (stage.scrollWidth > stage.clientWidth || stage.scrollHeight > stage.clientHeight) {
      nodeEls[step.node].scrollIntoView({ block: "nearest", inline: "center" });
    }
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playButton.textContent = "▶ Play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (current === steps.length - 1) { show(0); }
    playButton.textContent = "❚❚ Pause";
    timer = setInterval(function () {
      if (current >= steps.length - 1) { stop(); } else { show(current + 1); }
    }, DELAY);
  }

  byId("next").addEventListener("click", function () { stop(); show(current + 1); });
  byId("back").addEventListener("click", function () { stop(); show(current - 1); });
  byId("reset").addEventListener("click", function () { stop(); show(0); });
  playButton.addEventListener("click", play);
  byId("zoom-out").addEventListener("click", function () { zoomBy(1 / 1.25); });
  byId("zoom-in").addEventListener("click", function () { zoomBy(1.25); });
  byId("zoom-fit").addEventListener("click", function () { zoom = null; applyZoom(); follow(); });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.target instanceof HTMLInputElement) { return; }  // typing an answer: keys are text
    var key = event.key;
    if (key === "ArrowRight" || key === "PageDown") { stop(); show(current + 1); }
    else if (key === "ArrowLeft" || key === "PageUp") { stop(); show(current - 1); }
    else if (key === "Home") { stop(); show(0); }
    else if (key === "End") { stop(); show(steps.length - 1); }
    else if (key === " " && !(event.target instanceof HTMLButtonElement)) { play(); }
    else if (key === "+" || key === "=") { zoomBy(1.25); }
    else if (key === "-") { zoomBy(1 / 1.25); }
    else if (key === "0") { zoom = null; applyZoom(); follow(); }
    else { return; }
    event.preventDefault();
  });
  applyZoom();
  show(0);
  window.microgradxStepper = {
    data: data,
    show: function (k) { stop(); show(k); },
    current: function () { return current; },
    stop: stop,
    hook: function (newGate, newShown) { gate = newGate; shown = newShown; show(current); }
  };
}());
