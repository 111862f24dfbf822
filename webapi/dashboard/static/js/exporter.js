// The Export control: pick a type and a format, submit, show "Exporting… N %" with the
// button disabled, poll the export, then download it through its signed URL. A running
// export outlives the screen that started it: a button drawn again for the same scope
// (after a filter or screen change) shows its progress and stays disabled.

import * as api from "./api.js";
import { el } from "./dom.js";
import { describe, toast } from "./feedback.js";
import { watchJob } from "./jobs.js";
import { state, windowParams } from "./state.js";

const TYPES = ["campaign_performance", "leads", "attempts", "replies", "events"];
const FORMATS = [["csv", "CSV"], ["jsonl", "JSON Lines"]];
export const EXPORTS_CHANGED = "exports-changed";  // a document event the panel listens to

const running = new Map();  // scope -> the button text while its export runs

function paint(scope) {
  const text = running.get(scope);
  for (const button of document.querySelectorAll(`[data-export-scope="${scope}"]`)) {
    button.textContent = text ?? "Export";
    button.disabled = text !== undefined;
  }
}

function changed() { document.dispatchEvent(new CustomEvent(EXPORTS_CHANGED)); }

export function download(url, fileName) {
  const link = el("a", { href: url, download: fileName || "" });
  document.body.append(link);
  link.click();
  link.remove();
}

function choice(label, name, options) {
  return el("label", {}, label, el("select", { name },
    options.map(([value, text]) => el("option", { value }, text))));
}

async function run(scope, request, say) {
  running.set(scope, "Exporting… 0 %");
  paint(scope);
  try {
    const accepted = await api.post("/analytics/export", request);
    changed();
    const done = await watchJob(`/analytics/exports/${accepted.export_id}`, (current) => {
      running.set(scope, `Exporting… ${Math.floor(current.progress.percent)} %`);
      paint(scope);
    });
    changed();
    if (done.status === "completed") {
      say(`Ready: ${done.row_count} rows.`);
      download(done.download_url, done.file_name);
    } else if (done.status === "canceled") {
      say("Export canceled.");
    } else {
      const reason = done.error ? done.error.message : `the export was ${done.status}`;
      say(`Export failed: ${reason}`);
      toast(`Export failed: ${reason}`);
    }
  } catch (error) {
    say(`Export failed: ${describe(error)}`);
    toast(`Export failed: ${describe(error)}`);
  } finally {
    running.delete(scope);
    paint(scope);
  }
}

// campaignIds: null for the whole workspace.
export function exportControl(campaignIds, title) {
  const scope = campaignIds ? campaignIds.join(",") : "workspace";
  const type = choice("Type", "export_type", TYPES.map((t) => [t, t.replaceAll("_", " ")]));
  const fmt = choice("Format", "format", FORMATS);
  const text = running.get(scope);
  const button = el("button", { type: "submit", class: "primary", "data-export": "start",
    "data-export-scope": scope, disabled: text !== undefined }, text ?? "Export");
  const status = el("span", { class: "export-status", role: "status" });
  const say = (message) => {
    for (const node of document.querySelectorAll(`[data-export-status="${scope}"]`)) {
      node.textContent = message;
    }
  };
  status.dataset.exportStatus = scope;

  function submit(event) {
    event.preventDefault();
    if (running.has(scope)) return;
    say("");
    const { timeRange, timezone } = windowParams();
    run(scope, {
      export_type: type.querySelector("select").value,
      format: fmt.querySelector("select").value,
      time_range: timeRange, timezone,
      ...(campaignIds ? { campaign_ids: campaignIds } : {}),
    }, say);
  }

  return el("form", { class: "export-form", "aria-label": title, onsubmit: submit },
    type, fmt, button, status,
    el("span", { class: "muted" }, `${state.filters.timeRange}, ${state.filters.timezone}`));
}
