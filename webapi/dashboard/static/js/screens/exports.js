// Past exports with their status, size and expiry; download while the link is valid,
// cancel while running; a new workspace export. Export schedules with their cadence, next
// run and last runs (each an export, downloaded like the others); pause and resume.

import * as api from "../api.js";
import { el, empty, table } from "../dom.js";
import { download, EXPORTS_CHANGED, exportControl } from "../exporter.js";
import { describe, onLeave, section, toast } from "../feedback.js";
import { format } from "../format.js";
import { RUNNING } from "../jobs.js";
import { state } from "../state.js";

const POLL_MS = 2000;
const RUNS_SHOWN = 3;

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

// Polls while something is running; stops when the screen is left.
function poller(load) {
  let timer = null;
  const reload = () => {
    clearTimeout(timer);
    load((running) => { if (running) timer = setTimeout(reload, POLL_MS); });
  };
  onLeave(() => clearTimeout(timer));
  return reload;
}

function exportsSection(root, zone) {
  const list = section(root, "exports", "Past exports");
  const reload = poller((poll) => {
    if (!list.card.isConnected) return;  // a poll that outlived its screen
    list.load(async () => {
      const rows = await api.get("/analytics/exports", { limit: 50 });
      poll(rows.some((row) => RUNNING.has(row.status)));
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
  });
  return reload;
}

// A schedule's latest runs: status, when, and the export's own Download / Cancel.
function lastRuns(schedule, runs, zone, reload) {
  const items = runs.map((run) => el("li", { "data-run": run.export_id },
    el("span", { class: `badge ${run.status}` }, run.status), " ",
    format.time(run.created_at, zone()), " ", actions(run, reload)));
  return el("div", {},
    items.length ? el("ul", { class: "runs" }, items) : el("span", { class: "muted" }, "No runs yet"),
    schedule.last_error ? el("p", { class: "muted" }, `Last run refused: ${schedule.last_error}`)
      : null);
}

function toggle(schedule, reload) {
  const verb = schedule.status === "active" ? "pause" : "resume";
  return el("button", { type: "button", [`data-${verb}`]: schedule.id, onclick: async () => {
    try {
      await api.post(`/export-schedules/${schedule.id}/${verb}`);
    } catch (error) {
      toast(`Could not ${verb} the schedule: ${describe(error)}`);
    }
    reload();
  } }, verb === "pause" ? "Pause" : "Resume");
}

// A schedule's runs are fetched again only when they may have changed: a new last run,
// or one still running. Polling every schedule's runs every 2 s would spend the
// workspace's whole rate budget (SPEC §4) while a scheduled export runs.
function stale(schedule, cached) {
  if (!cached) return true;
  const newest = cached[0] ? cached[0].export_id : null;
  const last = schedule.last_run ? schedule.last_run.export_id : null;
  return newest !== last || cached.some((run) => RUNNING.has(run.status));
}

function schedulesSection(root, zone) {
  const list = section(root, "schedules", "Export schedules");
  const cache = new Map();  // schedule id -> its last runs, newest first
  const reload = poller((poll) => {
    if (!list.card.isConnected) return;
    list.load(async () => {
      const schedules = await api.get("/export-schedules", { limit: 50 });
      const runs = await Promise.all(schedules.map(async (schedule) => {
        if (stale(schedule, cache.get(schedule.id))) {
          cache.set(schedule.id,
            await api.get(`/export-schedules/${schedule.id}/runs`, { limit: RUNS_SHOWN }));
        }
        return cache.get(schedule.id);
      }));
      poll(runs.flat().some((run) => RUNNING.has(run.status)));
      if (!schedules.length) {
        return empty("No export schedules. Create one with POST /export-schedules or "
          + "`campaign-analytics schedule create`.");
      }
      const rows = schedules.map((schedule, index) => ({ ...schedule, runs: runs[index] }));
      return table({ caption: "Exports made on a schedule", rows, columns: [
        { key: "name" },
        { key: "cadence", render: (row) => row.schedule.description },
        { key: "timezone" },
        { key: "next_run_at", label: "Next run", render: (row) => (row.next_run_at
          ? format.time(row.next_run_at, row.timezone) : "–") },
        { key: "status", render: (row) => el("span", { class: `badge ${row.status}` }, row.status) },
        { key: "runs", label: "Last runs", render: (row) => lastRuns(row, row.runs, zone, reload) },
        { key: "actions", label: "", render: (row) => toggle(row, reload) },
      ] });
    });
  });
  return reload;
}

export function render(root) {
  root.append(el("div", { class: "screen-head" }, el("h1", {}, "Exports"),
    exportControl(null, "Export the whole workspace")));
  const zone = () => state.filters.timezone;
  const reloadExports = exportsSection(root, zone);
  const reloadSchedules = schedulesSection(root, zone);
  const reload = () => { reloadExports(); reloadSchedules(); };
  document.addEventListener(EXPORTS_CHANGED, reload);
  onLeave(() => document.removeEventListener(EXPORTS_CHANGED, reload));
  reload();
}
