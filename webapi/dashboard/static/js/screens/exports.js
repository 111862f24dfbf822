// Past exports with their status, size and expiry; download while the link is valid,
// cancel while running; a new workspace export.

import * as api from "../api.js";
import { el, empty, table } from "../dom.js";
import { download, EXPORTS_CHANGED, exportControl } from "../exporter.js";
import { describe, onLeave, section, toast } from "../feedback.js";
import { format } from "../format.js";
import { RUNNING } from "../jobs.js";
import { state } from "../state.js";

const POLL_MS = 2000;

function actions(row, reload) {
  if (RUNNING.has(row.status)) {
    return el("button", { type: "button", "data-cancel": row.export_id, onclick: async () => {
      try {
        await api.remove(`/analytics/exports/${row.export_id}`);
      } catch (error) {
        toast(`Could not cancel: ${describe(error)}`);
      }
      reload();
    } }, "Cancel");
  }
  if (row.status === "completed" && row.download_url) {
    // The listed link expires (an hour by default): each click asks for a fresh one.
    return el("a", { href: row.download_url, download: row.file_name, onclick: async (event) => {
      event.preventDefault();
      try {
        const fresh = await api.get(`/analytics/exports/${row.export_id}`);
        if (fresh.download_url) download(fresh.download_url, fresh.file_name);
        else toast(`The file is no longer available (${fresh.status}).`);
      } catch (error) {
        toast(`Could not download: ${describe(error)}`);
      }
      reload();
    } }, "Download");
  }
  return row.error ? el("span", { class: "muted" }, row.error.message) : "";
}

export function render(root) {
  root.append(el("div", { class: "screen-head" }, el("h1", {}, "Exports"),
    exportControl(null, "Export the whole workspace")));
  const list = section(root, "exports", "Past exports");
  let timer = null;
  const zone = () => state.filters.timezone;

  function reload() {
    clearTimeout(timer);
    if (!list.card.isConnected) return;  // a poll that outlived its screen
    list.load(async () => {
      const rows = await api.get("/analytics/exports", { limit: 50 });
      if (rows.some((row) => RUNNING.has(row.status))) timer = setTimeout(reload, POLL_MS);
      if (!rows.length) return empty("No exports yet. Pick a type and a format above, then Export.");
      return table({ caption: "The 50 newest exports", rows, columns: [
        { key: "status", render: (row) => el("span", { class: `badge ${row.status}` },
          RUNNING.has(row.status) ? `${row.status} ${Math.floor(row.progress.percent)} %`
            : row.status) },
        { key: "export_type", label: "Type" },
        { key: "format" },
        { key: "row_count", label: "Rows", num: true },
        { key: "file_size_bytes", label: "Size", num: true,
          render: (row) => format.bytes(row.file_size_bytes) },
        { key: "created_at", label: "Created", render: (row) => format.time(row.created_at, zone()) },
        { key: "file_expires_at", label: "Expires",
          render: (row) => format.time(row.file_expires_at, zone()) },
        { key: "actions", label: "", render: (row) => actions(row, reload) },
      ] });
    });
  }
  document.addEventListener(EXPORTS_CHANGED, reload);
  onLeave(() => {
    clearTimeout(timer);
    document.removeEventListener(EXPORTS_CHANGED, reload);
  });
  reload();
}
