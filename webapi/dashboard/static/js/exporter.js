// The Export control: pick a type and a format, submit, show "Exporting… N %" with the
// button disabled, poll the export, then download it through its signed URL.

import * as api from "./api.js";
import { watchJob } from "./jobs.js";
import { state, windowParams } from "./state.js";
import { describe, el, toast } from "./ui.js";

const TYPES = ["campaign_performance", "leads", "attempts", "replies", "events"];
const FORMATS = [["csv", "CSV"], ["jsonl", "JSON Lines"]];

let exportsChanged = () => {};
export function onExportsChanged(listener) { exportsChanged = listener; }

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

// campaignIds: null for the whole workspace.
export function exportControl(campaignIds, title) {
  const type = choice("Type", "export_type", TYPES.map((t) => [t, t.replaceAll("_", " ")]));
  const fmt = choice("Format", "format", FORMATS);
  const button = el("button", { type: "submit", class: "primary", "data-export": "start" },
    "Export");
  const status = el("span", { class: "export-status", role: "status", "aria-live": "polite" });

  async function submit(event) {
    event.preventDefault();
    button.disabled = true;
    status.textContent = "";
    try {
      const { timeRange, timezone } = windowParams();
      const accepted = await api.post("/analytics/export", {
        export_type: type.querySelector("select").value,
        format: fmt.querySelector("select").value,
        time_range: timeRange, timezone,
        ...(campaignIds ? { campaign_ids: campaignIds } : {}),
      });
      exportsChanged();
      button.textContent = "Exporting… 0 %";
      const done = await watchJob(`/analytics/exports/${accepted.export_id}`, (current) => {
        button.textContent = `Exporting… ${Math.floor(current.progress.percent)} %`;
      });
      exportsChanged();
      if (done.status === "completed") {
        status.textContent = `Ready: ${done.row_count} rows.`;
        download(done.download_url, done.file_name);
      } else if (done.status === "canceled") {
        status.textContent = "Export canceled.";
      } else {
        const reason = done.error ? done.error.message : `the export was ${done.status}`;
        status.textContent = `Export failed: ${reason}`;
        toast(`Export failed: ${reason}`);
      }
    } catch (error) {
      status.textContent = `Export failed: ${describe(error)}`;
      toast(`Export failed: ${describe(error)}`);
    } finally {
      button.textContent = "Export";
      button.disabled = false;
    }
  }

  return el("form", { class: "export-form", "aria-label": title, onsubmit: submit },
    type, fmt, button, status,
    el("span", { class: "muted" }, `${state.filters.timeRange}, ${state.filters.timezone}`));
}
