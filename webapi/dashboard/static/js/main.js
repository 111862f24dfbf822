// The shell: sign-in, the screen router (#/campaigns, #/campaigns/<id>, #/overview,
// #/compare, #/exports), the window controls, freshness and "Refresh now".

import * as api from "./api.js";
import { describe, leaveScreen, onUnauthorized, toast } from "./feedback.js";
import { format } from "./format.js";
import { watchJob } from "./jobs.js";
import * as campaignPage from "./screens/campaign.js";
import * as campaignList from "./screens/campaigns.js";
import * as compare from "./screens/compare.js";
import * as exportsScreen from "./screens/exports.js";
import * as overview from "./screens/overview.js";
import {
  forgetFilters, loadFilters, onFreshness, seenAsOf, setFilters, state,
} from "./state.js";

const $ = (id) => document.getElementById(id);

const ROUTES = [
  [/^#\/campaigns\/([^/]+)$/, campaignPage, "campaigns"],
  [/^#\/overview$/, overview, "overview"],
  [/^#\/compare$/, compare, "compare"],
  [/^#\/exports$/, exportsScreen, "exports"],
  [/^#\/campaigns$/, campaignList, "campaigns"],
];

function screenOf(hash) {
  for (const [pattern, screen, nav] of ROUTES) {
    const match = hash.match(pattern);
    if (match) return { screen, nav, id: match[1] ? decodeURIComponent(match[1]) : null };
  }
  return { screen: campaignList, nav: "campaigns", id: null };
}

// Draw the screen the URL names; ``moved``: the person went to another screen, so the
// focus goes to its content (a filter change keeps it on the control).
function route({ moved = false } = {}) {
  if (!api.session.workspaceId) return;
  const { screen, nav, id } = screenOf(window.location.hash);
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  $("group-by").closest("label").hidden = screen !== campaignPage;
  leaveScreen();
  const main = $("main");
  main.replaceChildren();
  screen.render(main, { id });
  if (moved) main.focus();
}

function showSignIn(message = "") {
  leaveScreen();
  $("main").replaceChildren();
  $("shell").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  $("sign-in-error").hidden = !message;
  $("api-key").focus();
}

function signOut(message = "") {
  api.signOut();
  forgetFilters();
  showSignIn(message);
}

// Browsers list ICU's names (Asia/Calcutta); people look for today's (Asia/Kolkata).
const COMMON_ZONES = ["UTC", "America/New_York", "America/Chicago", "America/Denver",
  "America/Los_Angeles", "America/Sao_Paulo", "Europe/London", "Europe/Paris", "Europe/Berlin",
  "Europe/Madrid", "Europe/Kyiv", "Africa/Lagos", "Asia/Dubai", "Asia/Kolkata",
  "Asia/Singapore", "Asia/Ho_Chi_Minh", "Asia/Tokyo", "Australia/Sydney"];

function timezones(current) {
  const zones = new Set([...COMMON_ZONES, current, state.workspace.timezone,
    ...(Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [])]);
  return [...zones].sort();
}

function showControls() {
  const { filters, workspace } = state;
  $("time-range").value = filters.timeRange;
  $("group-by").value = filters.groupBy;
  $("engagement").value = filters.engagement;
  const select = $("timezone");
  select.replaceChildren(...timezones(filters.timezone).map((zone) => {
    const option = new Option(zone === workspace.timezone ? `${zone} (workspace)` : zone, zone);
    option.selected = zone === filters.timezone;
    return option;
  }));
  $("save-timezone").hidden = filters.timezone === workspace.timezone;
  $("workspace-name").textContent = workspace.name;
}

function every(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function showFreshness(asOf) {
  const target = $("as-of");
  const cadence = `refreshing every ${every(state.refresh.incremental_every_seconds)}`;
  if (!asOf) {
    target.textContent = `No data refreshed yet, ${cadence}`;
    return;
  }
  target.dataset.asOf = asOf;
  target.textContent = `Data as of ${format.clock(asOf, state.filters.timezone)}, ${cadence}`;
  target.title = format.time(asOf, state.filters.timezone);
}

async function enter(key) {
  const me = await api.signIn(key);
  state.workspace = me.workspace;
  state.refresh = me.refresh;
  loadFilters();
  showControls();
  $("sign-in").hidden = true;
  $("shell").hidden = false;
  route({ moved: true });
}

async function signInSubmitted(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) { showSignIn("Paste your API key."); return; }
  const button = event.submitter || $("sign-in-form").querySelector("button");
  button.disabled = true;
  try {
    await enter(key);
    $("api-key").value = "";
  } catch (error) {
    api.signOut();
    showSignIn(error.status === 401
      ? "That key was not accepted. Check that you copied the whole key and that it was not revoked."
      : `Could not sign in: ${describe(error)}`);
  } finally {
    button.disabled = false;
  }
}

// A reload keeps the tab's key; only a refused key is forgotten, not a server away.
function resume(key) {
  enter(key).catch((error) => {
    if (error.status === 401) { signOut("Your key is no longer accepted; sign in again."); return; }
    showSignIn(`Could not reach the API: ${describe(error)}. Your key is kept: reload to retry.`);
  });
}

function filtersChanged(change) {
  setFilters(change);
  showControls();
  route();
}

async function saveTimezone() {
  try {
    state.workspace = await api.patch("", { timezone: state.filters.timezone });
    showControls();
    toast(`The workspace's timezone is now ${state.workspace.timezone}.`);
  } catch (error) {
    toast(`Could not change the timezone: ${describe(error)}`);
  }
}

async function refreshNow() {
  const button = $("refresh-now");
  const status = $("refresh-status");
  button.disabled = true;
  try {
    const job = await api.post("/analytics/refresh", { mode: "incremental" });
    const done = await watchJob(`/jobs/${job.job_id}`, (current) => {
      status.textContent = `Refreshing… (${current.status})`;
    });
    if (done.status === "completed") {
      status.textContent = "Up to date";
      if (done.result && done.result.as_of) seenAsOf(done.result.as_of);
      route();
    } else {
      status.textContent = "";
      toast(`The refresh ${done.status}: ${done.error ? done.error.message : "no reason given"}`);
    }
  } catch (error) {
    status.textContent = "";
    toast(`Could not refresh: ${describe(error)}`);
  } finally {
    button.disabled = false;
  }
}

function start() {
  $("sign-in-form").addEventListener("submit", signInSubmitted);
  $("sign-out").addEventListener("click", () => signOut());
  $("time-range").addEventListener("change", (e) => filtersChanged({ timeRange: e.target.value }));
  $("group-by").addEventListener("change", (e) => filtersChanged({ groupBy: e.target.value }));
  $("timezone").addEventListener("change", (e) => filtersChanged({ timezone: e.target.value }));
  $("engagement").addEventListener("change",
    (e) => filtersChanged({ engagement: e.target.value }));
  $("save-timezone").addEventListener("click", saveTimezone);
  $("refresh-now").addEventListener("click", refreshNow);
  window.addEventListener("hashchange", () => route({ moved: true }));
  onUnauthorized(() => signOut("Your key is no longer accepted; sign in again."));
  onFreshness(showFreshness);
  const key = api.session.key;
  if (key) resume(key);
  else showSignIn();
}

start();
