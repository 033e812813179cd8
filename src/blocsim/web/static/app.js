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
    showMessage("Scenario '" + result.name + "' is valid.", true);
  } catch (error) {
    showMessage(error.message);
  }
}

// ---------------------------------------------------------------- scenario form -> document
function leafValue(label) {
  const type = label.dataset.type;
  const input = label.querySelector("input, textarea");
  if (type === "bool") return input.checked;
  const raw = input.value;
  // an empty number, date or text field is left out: the scenario's default applies
  if ((type === "number" || type === "date" || type === "str") && raw.trim() === "") return undefined;
  if (type === "number") return Number(raw);
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

function formPayload() {
  const form = document.getElementById("scenario-form");
  return {scenario: form.dataset.base, document: collect(document.getElementById("form-root"))};
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
  const toml = () => ({toml: document.getElementById("toml").value});
  document.getElementById("validate-toml").addEventListener("click", () => validate(toml()));
  document.getElementById("run-toml").addEventListener("click", (e) => submitRun(toml(), e.target));
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
  wireForm();
  pollJob();
});
