// The shell: sign-in, the screen router (#/campaigns, #/campaigns/<id>, #/overview,
// #/compare, #/exports), the window controls, freshness and "Refresh now".

import * as api from "./api.js";
import * as campaignList from "./screens/campaigns.js";
import * as campaignPage from "./screens/campaign.js";
import * as compare from "./screens/compare.js";
import * as exportsScreen from "./screens/exports.js";
import * as overview from "./screens/overview.js";
import { forgetFilters, loadFilters, seenAsOf, setFilters, state } from "./state.js";
import { describe, onUnauthorized, toast } from "./ui.js";
import { watchJob } from "./jobs.js";

const $ = (id) => document.getElementById(id);

const ROUTES = [
  [/^#\/campaigns\/([^/]+)$/, campaignPage, "campaigns"],
  [/^#\/overview$/, overview, "overview"],
  [/^#\/compare$/, compare, "compare"],
  [/^#\/exports$/, exportsScreen, "exports"],
  [/^#\/campaigns$/, campaignList, "campaigns"],
];

function route() {
  if (!api.session.workspaceId) return;
  const hash = window.location.hash || "#/campaigns";
  const [, screen, nav, match] = ROUTES.map(([pattern, module, name]) =>
    [pattern, module, name, hash.match(pattern)]).find(([, , , found]) => found)
    || [null, campaignList, "campaigns", []];
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  $("group-by").closest("label").hidden = screen !== campaignPage;
  const main = $("main");
  main.replaceChildren();
  screen.render(main, { id: match[1] ? decodeURIComponent(match[1]) : null });
}

function showSignIn(message = "") {
  $("shell").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  $("sign-in-error").hidden = !message;
  $("api-key").focus();
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
  const select = $("timezone");
  select.replaceChildren(...timezones(filters.timezone).map((zone) => {
    const option = new Option(zone === workspace.timezone ? `${zone} (workspace)` : zone, zone);
    option.selected = zone === filters.timezone;
    return option;
  }));
  $("save-timezone").hidden = filters.timezone === workspace.timezone;
  $("workspace-name").textContent = workspace.name;
}

async function enter(key) {
  const me = await api.signIn(key);
  state.workspace = me.workspace;
  state.refresh = me.refresh;
  loadFilters();
  showControls();
  $("sign-in").hidden = true;
  $("shell").hidden = false;
  route();
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
      const percent = current.progress && current.progress.percent;
      status.textContent = percent ? `Refreshing… ${Math.round(percent)} %` : "Refreshing…";
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
  $("sign-out").addEventListener("click", () => { api.signOut(); forgetFilters(); showSignIn(); });
  $("time-range").addEventListener("change", (e) => filtersChanged({ timeRange: e.target.value }));
  $("group-by").addEventListener("change", (e) => filtersChanged({ groupBy: e.target.value }));
  $("timezone").addEventListener("change", (e) => filtersChanged({ timezone: e.target.value }));
  $("save-timezone").addEventListener("click", saveTimezone);
  $("refresh-now").addEventListener("click", refreshNow);
  window.addEventListener("hashchange", route);
  onUnauthorized(() => { api.signOut(); showSignIn("Your key is no longer accepted; sign in again."); });
  const key = api.session.key;
  if (!key) { showSignIn(); return; }
  enter(key).catch((error) => {
    api.signOut();
    showSignIn(error.status === 401 ? "" : `Could not sign in: ${describe(error)}`);
  });
}

start();
