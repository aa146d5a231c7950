// microgradx explore: the view of a live exploration (an anywidget front-end module).
// Every number shown is computed and formatted in the kernel (microgradx.explore); this script only
// places it, and sends the inputs' numbers back when a slider moves. It draws into a shadow root so
// that the stepper's stylesheet and the graph's element ids stay inside the widget.

const SEND_EVERY_MS = 40; // while dragging, at most one recomputation request per this many ms
const MIN_TEXT_PX = 12; // the graph is never drawn so small that its smallest text is below this
const MAX_HEIGHT_SHARE = 0.75; // of the window's height, at most, so the inputs stay in reach

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined) { node.textContent = text; }
  return node;
}

// Put a number in its card; squeeze it if this machine's font is wider than the room left for it.
function place(text, value) {
  if (text.textContent === value) { return; }
  text.textContent = value;
  text.removeAttribute("textLength");
  const room = Number(text.getAttribute("data-room"));
  if (value && room && text.getComputedTextLength() > room) {
    text.setAttribute("textLength", String(room));
    text.setAttribute("lengthAdjust", "spacingAndGlyphs");
  }
}

function render({ model, el }) {
  const shadow = el.shadowRoot || el.attachShadow({ mode: "open" });
  shadow.replaceChildren();
  const style = element("style", "", model.get("styles"));
  const root = element("div", "mgx");
  shadow.append(style, root);

  const head = element("div", "mgx-head");
  const output = element("span", "mgx-output");
  const busy = element("span", "mgx-busy", "computing…");
  head.append(output, busy);
  const error = element("div", "mgx-error");
  const body = element("div", "mgx-body");
  const stage = element("div", "mgx-stage");
  const wideHint = element("div", "mgx-wide-hint", "the graph is wider than this view: scroll it sideways");
  const side = element("div", "mgx-side");
  body.append(stage, wideHint, side);
  root.append(head, error, body);
  // Keys typed into a slider or a number box are the widget's: JupyterLab and Notebook 7 would
  // take the arrow keys, Backspace and digits as notebook shortcuts. Lumino skips its shortcuts
  // for events from inside an element marked data-lm-suppress-shortcuts (our host, while an input
  // of ours has the focus; Shift+Enter elsewhere in the widget still runs the cell).
  root.addEventListener("focusin", (event) => {
    if (event.target instanceof HTMLInputElement) { el.setAttribute("data-lm-suppress-shortcuts", "true"); }
  });
  root.addEventListener("focusout", () => { el.removeAttribute("data-lm-suppress-shortcuts"); });

  // The inputs: a slider and an exact number box for each.
  const inputs = element("section", "mgx-inputs");
  inputs.append(element("h3", "", "Inputs"));
  const current = Object.assign({}, model.get("values"));
  const controls = {}; // name -> { range, box, row }
  let dragging = null;
  model.get("sliders").forEach((slider) => {
    const row = element("label", "mgx-slider" + (slider.wrt ? " wrt" : ""));
    row.dataset.name = slider.name;
    const name = element("span", "mgx-name", slider.name);
    const range = element("input");
    range.type = "range";
    const box = element("input", "mgx-box");
    box.type = "number";
    [range, box].forEach((input) => {
      input.setAttribute("aria-label", slider.name);
      input.addEventListener("input", () => {
        const x = Number(input.value);
        if (input.value === "" || !Number.isFinite(x)) { return; }
        current[slider.name] = x;
        (input === range ? box : range).value = String(x);
        send();
      });
    });
    range.addEventListener("pointerdown", () => { dragging = slider.name; });
    range.addEventListener("pointerup", () => { dragging = null; });
    row.append(name, range, box);
    inputs.append(row);
    controls[slider.name] = { range, box, row };
  });

  const derivatives = element("section", "mgx-derivatives");
  const descent = element("section", "mgx-descent");
  const lrLabel = element("label", "mgx-lr", "lr ");
  const lr = element("input", "mgx-box");
  lr.type = "number";
  lr.step = "any";
  lr.setAttribute("aria-label", "learning rate");
  lrLabel.append(lr);
  const stepButton = element("button", "primary mgx-step", "Take a gradient-descent step");
  stepButton.type = "button";
  const stepLog = element("div", "mgx-steplog");
  descent.append(element("h3", "", "Gradient descent"), lrLabel, stepButton, stepLog);
  side.append(inputs, derivatives, descent);

  // Sending: the first move at once, then the latest one every SEND_EVERY_MS while it goes on.
  let timer = null, dirty = false;
  function flush() {
    dirty = false;
    model.set("values", Object.assign({}, current));
    model.save_changes();
    root.classList.add("busy");
  }
  function send() {
    if (timer !== null) { dirty = true; return; }
    flush();
    timer = setTimeout(function again() {
      timer = null;
      if (dirty) { send(); }
    }, SEND_EVERY_MS);
  }

  lr.addEventListener("change", () => {
    const x = Number(lr.value);
    if (lr.value !== "" && Number.isFinite(x)) { model.set("lr", x); model.save_changes(); }
  });
  stepButton.addEventListener("click", () => {
    root.classList.add("busy");
    model.send({ type: "step" });
  });

  function showSliders() {
    model.get("sliders").forEach((slider) => {
      const c = controls[slider.name];
      if (!c) { return; }
      c.range.min = String(slider.min);
      c.range.max = String(slider.max);
      c.range.step = String(slider.step);
      c.box.step = "any";
    });
  }
  function showValues() {
    const values = model.get("values");
    Object.keys(values).forEach((name) => {
      const c = controls[name];
      if (!c) { return; }
      current[name] = values[name];
      if (dragging !== name && Number(c.range.value) !== values[name]) { c.range.value = String(values[name]); }
      if (shadow.activeElement !== c.box && Number(c.box.value) !== values[name]) {
        c.box.value = String(values[name]);
      }
    });
  }
  // The graph's size: as wide as the stage (never wider than its natural size), as tall as fits the
  // window, but never so small that its smallest text is under MIN_TEXT_PX: a wide graph then keeps
  // that size and the stage scrolls sideways (the hint says so), nothing is cut off.
  let smallest = 0; // the smallest font size of the graph's text, in the SVG's own units
  function fit() {
    const graph = stage.querySelector("svg");
    const room = stage.clientWidth - 2 * 6; // the stage's padding
    if (!graph || room <= 0) { return; }
    const box = graph.viewBox.baseVal;
    if (!smallest) {
      const sizes = Array.from(graph.querySelectorAll("text"), (t) => parseFloat(getComputedStyle(t).fontSize));
      smallest = Math.min(...sizes.filter((x) => x > 0), 22);
    }
    const tallest = Math.max(240, window.innerHeight * MAX_HEIGHT_SHARE);
    const least = MIN_TEXT_PX / smallest;
    const scale = Math.max(least, Math.min(1, room / box.width, tallest / box.height));
    graph.style.width = Math.ceil(box.width * scale) + "px";
    graph.style.height = Math.ceil(box.height * scale) + "px";
    root.classList.toggle("wide", box.width * scale > room + 1);
  }
  function showSvg() {
    stage.innerHTML = model.get("svg");
    smallest = 0;
    fit();
    showState();
  }
  const resized = typeof ResizeObserver === "function" ? new ResizeObserver(() => fit()) : null;
  if (resized) { resized.observe(stage); }
  function showLr() { lr.value = String(model.get("lr")); }

  function showDerivative(d) {
    const block = element("div", "mgx-derivative");
    block.dataset.name = d.name;
    const total = element("div", "mgx-total");
    total.append(element("span", "mgx-symbol", d.symbol + " = "), element("span", "mgx-value", d.text));
    total.append(element("span", "mgx-numeric", "  numeric " + d.numeric));
    block.append(total);
    d.paths.forEach((path, p) => {
      const one = element("div", "mgx-path");
      one.append(element("div", "mgx-route", "path " + (p + 1) + ": " + path.route));
      path.edges.forEach((edge) => {
        one.append(element("div", "mgx-edge", edge[0] + " = " + edge[1] + " = " + edge[2]));
      });
      const product = element("div", "mgx-product", "path product = " + (path.factors || "1") + " = ");
      product.append(element("b", "", path.product));
      one.append(product);
      block.append(one);
    });
    if (d.paths.length === 0) {
      const why = d.path_count === 0 ? "no path: the output does not depend on " + d.name
        : d.path_count + " paths (too many to list); the value is their sum";
      block.append(element("div", "mgx-route", why));
    } else if (d.paths.length > 1) {
      block.append(element("div", "mgx-route", d.symbol + " = the sum of the " + d.paths.length + " path products"));
    }
    if (d.hand) {
      const hand = element("div", "mgx-hand " + (d.hand.agrees ? "agrees" : "differs"));
      hand.append(element("span", "", "by hand: " + (d.hand.formula ? d.hand.formula + " = " : "")));
      hand.append(element("span", "mgx-hand-value", d.hand.text));
      hand.append(element("span", "mgx-verdict", d.hand.agrees ? " ✓ agrees" : " ✗ does not agree"));
      if (d.hand.note) { hand.append(element("div", "mgx-note", d.hand.note)); }
      block.append(hand);
    }
    return block;
  }

  function showState() {
    const state = model.get("state");
    const values = state.values || {};
    const settled = Object.keys(current).every((name) => values[name] === current[name]);
    if (settled) { root.classList.remove("busy"); }
    error.textContent = state.error || "";
    root.classList.toggle("failed", !!state.error);
    if (state.error) { return; } // keep the last good numbers on screen, marked stale
    output.textContent = state.output.name + " = " + state.output.text;
    state.data.forEach((text, i) => {
      const card = shadow.getElementById("n" + i);
      if (card) { card.classList.add("known", "grad-final"); }
      const data = shadow.getElementById("n" + i + "-data");
      if (data) { place(data, text); }
      const grad = shadow.getElementById("n" + i + "-grad");
      if (grad && state.grad[i] !== null) { place(grad, state.grad[i]); }
    });
    state.local.forEach((text, k) => {
      const edge = shadow.getElementById("e" + k);
      const label = edge && edge.nextElementSibling;
      if (label && label.classList.contains("elabel")) { label.textContent = text; }
    });
    derivatives.replaceChildren(element("h3", "", "Derivatives"), ...state.derivatives.map(showDerivative));
  }

  function showStep() {
    const step = model.get("last_step");
    stepLog.replaceChildren();
    root.classList.remove("busy");
    if (!step || Object.keys(step).length === 0) { return; }
    if (step.error) { stepLog.append(element("div", "mgx-error-line", step.error)); return; }
    stepLog.append(element("div", "mgx-step-output", step.text));
    step.updates.forEach((line) => stepLog.append(element("div", "mgx-update", line)));
  }

  const handlers = {
    "change:styles": () => { style.textContent = model.get("styles"); },
    "change:svg": showSvg,
    "change:sliders": showSliders,
    "change:values": showValues,
    "change:state": showState,
    "change:lr": showLr,
    "change:last_step": showStep,
  };
  Object.entries(handlers).forEach(([event, handler]) => model.on(event, handler));
  showSliders();
  showValues();
  showLr();
  showSvg();
  showStep();
  return () => {
    Object.entries(handlers).forEach(([event, handler]) => model.off(event, handler));
    if (timer !== null) { clearTimeout(timer); }
    if (resized) { resized.disconnect(); }
  };
}

export default { render };
