// microgradx stepper: replays the steps embedded as JSON. Plain JavaScript, no network, no framework.
// Every number shown was formatted in Python (microgradx.formatting.fmt); this script only places it.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mgx-data").textContent);
  var steps = data.steps, nodes = data.nodes, edges = data.edges;
  var PHASES = { start: "Start", forward: "Forward pass", backward: "Backward pass", update: "Update" };
  var DELAY = 1100;
  var current = 0, timer = null;

  function byId(id) { return document.getElementById(id); }
  var nodeEls = nodes.map(function (_, i) { return byId("n" + i); });
  var dataEls = nodes.map(function (_, i) { return byId("n" + i + "-data"); });
  var gradEls = nodes.map(function (_, i) { return byId("n" + i + "-grad"); });
  var edgeEls = edges.map(function (_, k) { return byId("e" + k); });
  var playButton = byId("play");
  // A wide graph keeps a readable size and scrolls sideways (following the current node) rather
  // than shrinking to fit; a small one fits the stage.
  var stage = byId("stage");
  var graph = byId("graph");
  graph.style.minWidth = Math.round(graph.viewBox.baseVal.width * 0.6) + "px";
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

  // The state after step k: replay steps 0..k (a step only says what it changes).
  function stateAt(k) {
    var state = { data: [], dataMark: [], grad: [], gradMark: [], fwd: [], bwd: [] };
    for (var i = 0; i < nodes.length; i++) {
      state.data[i] = nodes[i].kind === "op" ? "?" : "";
      state.dataMark[i] = "";
      state.grad[i] = "";
      state.gradMark[i] = "";
    }
    for (var s = 0; s <= k; s++) {
      var step = steps[s];
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
    return state;
  }

  function show(k) {
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
    if (step.node !== null && stage.scrollWidth > stage.clientWidth) {
      nodeEls[step.node].scrollIntoView({ block: "nearest", inline: "center" });
    }
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
    ticks.forEach(function (tick, s) {
      tick.classList.toggle("done", s <= current);
      tick.classList.toggle("here", s === current);
    });
    byId("back").disabled = current === 0;
    byId("reset").disabled = current === 0;
    byId("next").disabled = current === steps.length - 1;
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
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var key = event.key;
    if (key === "ArrowRight" || key === "PageDown") { stop(); show(current + 1); }
    else if (key === "ArrowLeft" || key === "PageUp") { stop(); show(current - 1); }
    else if (key === "Home") { stop(); show(0); }
    else if (key === "End") { stop(); show(steps.length - 1); }
    else if (key === " " && !(event.target instanceof HTMLButtonElement)) { play(); }
    else { return; }
    event.preventDefault();
  });
  show(0);
}());
