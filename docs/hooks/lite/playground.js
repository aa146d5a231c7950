// The playground: Pyodide (from this folder, never the network) runs microgradx on what is typed.
// The typed text goes to Python as a string argument of lite/playground.py's functions, which read it
// with microgradx's own expression parser; nothing typed is ever evaluated, in Python or here.
import { loadPyodide } from "./static/pyodide/pyodide.mjs";

const $ = (id) => document.getElementById(id);
const status = $("status");
let api = null;

function say(text, error = false) {
  status.textContent = text;
  status.className = error ? "error" : "";
}

function valueFields() {
  const answer = JSON.parse(api.inputs($("expr").value));
  const box = $("values");
  const old = Object.fromEntries([...box.querySelectorAll("input")].map((i) => [i.name, i.value]));
  const defaults = { w: "0.5", x: "1", y: "1" };
  box.replaceChildren();
  const wrt = $("wrt");
  const chosen = wrt.value;
  wrt.replaceChildren();
  if (answer.error) { say(answer.error, true); return false; }
  for (const name of answer.inputs) {
    const label = document.createElement("label");
    label.textContent = `${name} = `;
    const input = document.createElement("input");
    input.name = name; input.size = 6; input.inputMode = "decimal";
    input.value = old[name] ?? defaults[name] ?? "1";
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") $("go").click(); });
    label.append(input);
    box.append(label);
    const option = document.createElement("option");
    option.value = option.textContent = name;
    wrt.append(option);
  }
  if (answer.inputs.includes(chosen)) wrt.value = chosen;
  return true;
}

function compute() {
  if (!api || !valueFields()) return;
  const values = Object.fromEntries([...$("values").querySelectorAll("input")].map((i) => [i.name, i.value]));
  const answer = JSON.parse(api.run($("expr").value, JSON.stringify(values), $("wrt").value));
  if (answer.error) { say(answer.error, true); return; }
  const [name, value] = answer.output;
  const rows = answer.grads.map(([input, grad]) => {
    const row = document.createElement("tr");
    for (const text of [`d${name}/d${input}`, String(grad)]) {
      const cell = document.createElement("td"); cell.textContent = text; row.append(cell);
    }
    return row;
  });
  $("output").textContent = `${name} = ${value}`;
  $("grads").replaceChildren(...rows);
  $("explain").innerHTML = answer.explain;  // microgradx's own HTML: every name in it is escaped
  $("tree").textContent = answer.tree;
  $("stepper").srcdoc = answer.stepper;   // a sandboxed frame: the stepper's own page and script
  $("results").hidden = false;
  say("ready");
}

try {
  const started = performance.now();
  const pyodide = await loadPyodide({ indexURL: new URL("./static/pyodide/", location.href).href });
  await pyodide.loadPackage(["microgradx"]);
  pyodide.runPython(await (await fetch("playground.py")).text());
  api = { inputs: pyodide.globals.get("inputs"), run: pyodide.globals.get("run") };
  $("go").disabled = false;
  const safely = () => { try { compute(); } catch (error) { say(String(error), true); } };
  $("go").addEventListener("click", safely);
  $("expr").addEventListener("keydown", (e) => { if (e.key === "Enter") safely(); });
  $("expr").addEventListener("change", valueFields);
  compute();
  document.body.dataset.ready = `${Math.round(performance.now() - started)}`;
} catch (error) {
  say(`Python could not start in this browser: ${error}`, true);
}
