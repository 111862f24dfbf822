// What every screen reads: the caller's workspace, the chosen window (period, grouping,
// timezone) and how fresh the numbers are.

import { format } from "./ui.js";

const FILTERS = "campaign-analytics.filters";

export const state = {
  workspace: null,
  refresh: null,
  filters: { timeRange: "30d", groupBy: "day", timezone: null },
  asOf: null,
};

export function loadFilters() {
  const saved = JSON.parse(sessionStorage.getItem(FILTERS) || "{}");
  state.filters = { ...state.filters, ...saved };
  if (!state.filters.timezone) state.filters.timezone = state.workspace.timezone;
}

export function forgetFilters() {
  sessionStorage.removeItem(FILTERS);
  state.filters = { timeRange: "30d", groupBy: "day", timezone: null };
  state.asOf = null;
}

export function setFilters(change) {
  state.filters = { ...state.filters, ...change };
  sessionStorage.setItem(FILTERS, JSON.stringify(state.filters));
}

// The query parameters of every windowed read.
export function windowParams() {
  return { timeRange: state.filters.timeRange, timezone: state.filters.timezone };
}

function every(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

// Each response says up to when its numbers go; the header shows the latest.
export function seenAsOf(asOf) {
  const target = document.getElementById("as-of");
  const cadence = `refreshing every ${every(state.refresh.incremental_every_seconds)}`;
  if (!asOf) {
    target.textContent = `No data refreshed yet, ${cadence}`;
    return;
  }
  if (state.asOf && asOf < state.asOf) return;
  state.asOf = asOf;
  target.dataset.asOf = asOf;
  target.textContent = `Data as of ${format.clock(asOf, state.filters.timezone)}, ${cadence}`;
  target.title = format.time(asOf, state.filters.timezone);
}
