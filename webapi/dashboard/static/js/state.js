// What every screen reads: the caller's workspace, the chosen window (period, grouping,
// timezone) and how fresh the numbers are.

const FILTERS = "campaign-analytics.filters";
const DEFAULT_FILTERS = { timeRange: "30d", groupBy: "day", timezone: null, engagement: "all" };

export const state = {
  workspace: null,
  refresh: null,
  filters: { ...DEFAULT_FILTERS },
  asOf: null,
};

export function loadFilters() {
  const saved = JSON.parse(sessionStorage.getItem(FILTERS) || "{}");
  state.filters = { ...DEFAULT_FILTERS, ...saved };
  if (!state.filters.timezone) state.filters.timezone = state.workspace.timezone;
}

export function forgetFilters() {
  sessionStorage.removeItem(FILTERS);
  state.filters = { ...DEFAULT_FILTERS };
  state.asOf = null;
}

export function setFilters(change) {
  state.filters = { ...state.filters, ...change };
  sessionStorage.setItem(FILTERS, JSON.stringify(state.filters));
}

// The query parameters of every windowed read: ``engagement=human`` leaves machine opens
// and bot clicks out (a person's click counts as an open).
export function windowParams() {
  const { timeRange, timezone, engagement } = state.filters;
  return { timeRange, timezone, engagement };
}

let freshnessShown = () => {};
export function onFreshness(show) { freshnessShown = show; }

// Each response says up to when its numbers go; the newest one is what the page shows.
export function seenAsOf(asOf) {
  if (asOf && state.asOf && Date.parse(asOf) < Date.parse(state.asOf)) return;
  state.asOf = asOf || state.asOf;
  freshnessShown(state.asOf);
}
