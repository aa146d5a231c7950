// microgradx quiz: the stepper asks for each backward step's gradient before showing it.
// Every number and note comes from Python (microgradx.practice.quiz_data); this script compares numbers.
(function () {
  "use strict";
  var stepper = window.microgradxStepper;
  if (!stepper || !stepper.data.quiz) { return; }
  var steps = stepper.data.steps, tol = stepper.data.quiz;
  var answered = {};  // step index -> "right" or "shown"
  var lastNote = {};  // step index -> the note on the last wrong answer
  function byId(id) { return document.getElementById(id); }
  function close(given, expected) { return Math.abs(given - expected) <= tol.rtol * Math.abs(expected) + tol.atol; }
  function asking(k) { return steps[k].ask !== undefined && answered[k] === undefined; }

  var box = document.createElement("form");
  box.id = "quiz";
  box.setAttribute("autocomplete", "off");
  var label = document.createElement("label");
  label.htmlFor = "answer";
  var input = document.createElement("input");
  input.id = "answer";
  input.type = "text";
  input.setAttribute("inputmode", "decimal");
  input.setAttribute("spellcheck", "false");
  var check = document.createElement("button");
  check.type = "submit";
  check.className = "primary";
  check.textContent = "Check (Enter)";
  var reveal = document.createElement("button");
  reveal.type = "button";
  reveal.id = "show-me";
  reveal.textContent = "Show me (Esc)";
  var feedback = document.createElement("div");
  feedback.id = "feedback";
  feedback.setAttribute("role", "status");
  box.appendChild(label);
  box.appendChild(input);
  box.appendChild(check);
  box.appendChild(reveal);
  byId("panel").appendChild(box);
  byId("panel").appendChild(feedback);
  var score = document.createElement("span");
  score.id = "score";
  byId("meta").appendChild(score);
  var total = steps.filter(function (s) { return s.ask !== undefined; }).length;

  function parse(text) {
    var cleaned = text.replace(/\u2212/g, "-").replace(/[\s\u2009]/g, "").replace(/,/g, ".");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cleaned)) { return null; }
    return Number(cleaned);
  }
  function say(text, kind) {
    feedback.textContent = text;
    feedback.className = kind;
  }
  function target(step) { return step.rows[0][0][0]; }  // "grad(w)"
  function updateScore() {
    var right = 0, shown = 0;
    Object.keys(answered).forEach(function (k) { if (answered[k] === "right") { right++; } else { shown++; } });
    score.textContent = right + " right, " + shown + " shown, of " + total;
  }

  function gate(from, to) {
    if (asking(from)) { return from; }
    for (var s = from + 1; s < to; s++) { if (asking(s)) { return s; } }
    return to;
  }
  function shown(k, step) {
    var ask = asking(k);
    document.body.classList.toggle("asking", ask);
    box.hidden = !ask;
    if (!ask) {
      if (answered[k] === "right") { say("✓ Right: " + target(step) + " = " + step.set[0][2], "right"); }
      else if (answered[k] === "shown") { say("Shown: " + target(step) + " = " + step.set[0][2], "shown"); }
      else { say("", ""); }
      return;
    }
    stepper.stop();
    var grad = byId("n" + step.node + "-grad");
    if (grad) { grad.textContent = "?"; }
    var rows = byId("line").children;
    for (var r = 1; r < rows.length; r++) { rows[r].hidden = true; }
    byId("note").textContent = "Your turn: what is " + target(step) + " now? " +
      "(The upstream gradient times the local derivative, added to what it had.)";
    label.textContent = target(step) + " =";
    if (lastNote[k]) { say(lastNote[k], "wrong"); } else { say("", ""); }
    input.value = "";
    input.focus();
  }

  box.addEventListener("submit", function (event) {
    event.preventDefault();
    var k = stepper.current(), ask = steps[k].ask;
    if (!asking(k)) { return; }
    var given = parse(input.value);
    if (given === null) { say("Type a number, like -0.25.", "wrong"); input.select(); return; }
    if (close(given, ask.answer)) {
      answered[k] = "right";
      updateScore();
      stepper.show(k);
      byId("next").focus();
      return;
    }
    var note = "no usual slip found: check the local derivative and the upstream gradient";
    for (var i = 0; i < ask.notes.length; i++) {
      if (close(given, ask.notes[i][0])) { note = ask.notes[i][1]; break; }
    }
    lastNote[k] = "✗ " + input.value.trim() + ": " + note + ". Try again, or Show me.";
    say(lastNote[k], "wrong");
    input.select();
  });
  function showMe() {
    var k = stepper.current();
    if (!asking(k)) { return; }
    answered[k] = "shown";
    updateScore();
    stepper.show(k);
    byId("next").focus();
  }
  reveal.addEventListener("click", showMe);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); showMe(); }
  });
  byId("keys").textContent = "← → step · type the gradient, Enter checks · Esc shows it";
  updateScore();
  stepper.hook(gate, shown);
}());
