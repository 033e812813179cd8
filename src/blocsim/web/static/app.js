// blocsim dashboard: talks to the JSON API (/api). No external libraries.
"use strict";

function showMessage(text, ok) {
  const box = document.getElementById("message");
  if (!box) return;
  box.hidden = !text;
  box.textContent = text || "";
  box.classList.toggle("ok", !!ok);
  if (text) box.scrollIntoView({behavior: "smooth", block: "nearest"});
}

async function postJSON(url, payload) {
  const response = await fetch(url, {
    method: "POST",
    headers: {"Content-Type": "application/json", "Accept": "application/json"},
    body: JSON.stringify(payload),
  });
  let body = null;
  try { body = await response.json(); } catch (e) { body = {detail: response.statusText}; }
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail, null, 2);
    throw new Error(detail);
  }
  return body;
}

async function submitRun(payload, button) {
  if (button) button.disabled = true;
  showMessage("");
  try {
    const job = await postJSON("/api/runs", payload);
    window.location.assign("/jobs/" + job.id);
  } catch (error) {
    showMessage(error.message);
    if (button) button.disabled = false;
  }
}

async function validate(payload) {
  try {
    const result = await postJSON("/api/scenarios/validate", payload);
    showMessage("Scenario '" + result.name + "' (model " + result.model + ") is valid.", true);
  } catch (error) {
    showMessage(error.message);
  }
}

// ---------------------------------------------------------------- scenario form -> document
function leafValue(label) {
  const type = label.dataset.type;
  const input = label.querySelector("input, textarea, select");
  if (type === "bool") return input.checked;
  // a select of the values a [model] option allows: each option's value is the JSON of its value;
  // "" (not set) and the default of an option the file does not set are left out of the document
  if (type === "choice") return input.value === "" || input.value === label.dataset.omit ? undefined : JSON.parse(input.value);
  const raw = input.value;
  // an empty number, date or text field is left out: the scenario's default applies
  if ((type === "number" || type === "date" || type === "str") && raw.trim() === "") return undefined;
  // a number is shown rounded; unless the user changed it, the exact value is sent back
  if (type === "number") return raw === input.defaultValue && input.dataset.exact ? Number(input.dataset.exact) : Number(raw);
  if (type === "date" || type === "str") return raw;
  const parts = raw.split(type === "list:str" && input.tagName === "TEXTAREA" ? /\n/ : /,/)
    .map((s) => s.trim()).filter((s) => s.length > 0);
  return type === "list:number" ? parts.map(Number) : parts;
}

function collect(container) {
  const out = {};
  for (const child of container.querySelectorAll(":scope > [data-key]")) {
    const key = child.dataset.key;
    if (child.dataset.kind === "table") out[key] = collect(child);
    else if (child.dataset.kind === "array") out[key] = Array.from(child.querySelectorAll(":scope > .item")).map(collect);
    else {
      const value = leafValue(child);
      if (value !== undefined) out[key] = value;
    }
  }
  return out;
}

// Monte Carlo draws and seed, when the page has the inputs and they are filled in
function withDraws(payload) {
  const draws = document.getElementById("draws");
  const seed = document.getElementById("seed");
  if (draws && draws.value.trim() !== "") payload.draws = Number(draws.value);
  if (seed && seed.value.trim() !== "") payload.seed = Number(seed.value);
  return payload;
}

function formPayload() {
  const form = document.getElementById("scenario-form");
  const payload = {document: collect(document.getElementById("form-root"))};
  if (form.dataset.base) payload.scenario = form.dataset.base;
  return withDraws(payload);
}

const tomlPayload = () => withDraws({toml: document.getElementById("toml").value});

function wireToml() {
  const check = document.getElementById("validate-toml");
  if (!check) return;
  check.addEventListener("click", () => validate(tomlPayload()));
  document.getElementById("run-toml").addEventListener("click", (e) => submitRun(tomlPayload(), e.target));
  const upload = document.getElementById("upload");
  if (upload) {
    const load = () => {
      const file = upload.files[0];
      if (!file) return;
      if (file.size > 100000) { showMessage("File " + file.name + " is over 100,000 bytes; a scenario is a few kB."); return; }
      const reader = new FileReader();
      reader.onload = () => { document.getElementById("toml").value = reader.result; showMessage("Loaded " + file.name + "; Check or Run it.", true); };
      reader.onerror = () => showMessage("Could not read " + file.name + ".");
      reader.readAsText(file);
    };
    upload.addEventListener("change", load);
    // a file chosen before this script ran (page still loading, or restored by the back button)
    // fired its change event before the listener existed: load it now
    load();
  }
  const start = document.getElementById("start-from");
  if (start) {
    start.addEventListener("change", async () => {
      if (!start.value) return;
      const response = await fetch("/api/scenarios/" + encodeURIComponent(start.value), {headers: {"Accept": "application/json"}});
      const body = await response.json();
      if (response.ok) document.getElementById("toml").value = body.toml; else showMessage(body.detail);
    });
  }
}

function wireForm() {
  const form = document.getElementById("scenario-form");
  if (!form) return;
  form.addEventListener("click", (event) => {
    const target = event.target;
    if (target.matches("[data-add-template]")) {
      const fieldset = target.closest("fieldset");
      const template = document.getElementById(target.dataset.addTemplate);
      fieldset.insertBefore(template.content.cloneNode(true), fieldset.querySelector(":scope > template"));
    } else if (target.matches("[data-add]")) {
      const fieldset = target.closest("fieldset");
      const items = fieldset.querySelectorAll(":scope > .item");
      if (items.length) fieldset.appendChild(items[items.length - 1].cloneNode(true));
    } else if (target.matches("[data-remove]")) {
      const item = target.closest(".item");
      const fieldset = item.parentElement;
      if (fieldset.querySelector(":scope > legend [data-add]") && fieldset.querySelectorAll(":scope > .item").length < 2) {
        showMessage("Keep at least one entry here, or remove the whole list in the TOML tab.");
      } else {
        item.remove();
      }
    }
  });
  document.getElementById("validate-form").addEventListener("click", () => validate(formPayload()));
  document.getElementById("run-form").addEventListener("click", (e) => submitRun(formPayload(), e.target));
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".tab")) other.classList.toggle("active", other === tab);
      document.getElementById("tab-form").hidden = tab.dataset.tab !== "form";
      document.getElementById("tab-toml").hidden = tab.dataset.tab !== "toml";
    });
  }
}

// ---------------------------------------------------------------- job progress
function pollJob() {
  const card = document.getElementById("job");
  if (!card) return;
  const id = card.dataset.job;
  const tick = async () => {
    let job;
    try {
      const response = await fetch("/api/jobs/" + id, {headers: {"Accept": "application/json"}});
      job = await response.json();
      if (!response.ok) throw new Error(job.detail || response.statusText);
    } catch (error) {
      document.getElementById("error").hidden = false;
      document.getElementById("error").textContent = String(error.message || error);
      return;
    }
    document.getElementById("bar").style.width = Math.round(job.progress * 100) + "%";
    const state = document.getElementById("state");
    state.textContent = job.state;
    state.className = "state " + job.state;
    document.getElementById("stage").textContent = job.stage === job.state ? "" : job.stage;
    document.getElementById("progress").className = "progress " + job.state;
    if (job.state === "succeeded") {
      window.location.assign("/runs/" + encodeURIComponent(job.run_id));
    } else if (job.state === "failed") {
      document.getElementById("error").hidden = false;
      document.getElementById("error").textContent = job.error;
    } else {
      window.setTimeout(tick, 400);
    }
  };
  tick();
}

// ---------------------------------------------------------------- stored runs
async function deleteRun(button) {
  const id = button.dataset.deleteRun;
  if (!window.confirm("Delete run " + id + " and its results from the store?")) return;
  button.disabled = true;
  const response = await fetch("/api/runs/" + encodeURIComponent(id), {method: "DELETE", headers: {"Accept": "application/json"}});
  if (response.ok) {
    button.closest("tr").remove();
    showMessage("Run " + id + " deleted.", true);
  } else {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* keep the status text */ }
    showMessage(detail);
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-run]")) {
    button.addEventListener("click", () => submitRun({scenario: button.dataset.run}, button));
  }
  for (const button of document.querySelectorAll("[data-delete-run]")) {
    button.addEventListener("click", () => deleteRun(button));
  }
  const compare = document.getElementById("compare-selected");
  if (compare) {
    compare.addEventListener("click", () => {
      const ids = Array.from(document.querySelectorAll("[data-compare]:checked")).map((box) => box.dataset.compare);
      if (ids.length < 2) { showMessage("Select two or more runs to compare."); return; }
      window.location.assign("/compare?" + ids.map((id) => "run=" + encodeURIComponent(id)).join("&"));
    });
  }
  wireForm();
  wireToml();
  pollJob();
});
