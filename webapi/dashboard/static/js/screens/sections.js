// What several screens show: the engagement heatmap and deliverability (of a campaign or
// the whole workspace), and what to do when there are no campaigns yet.

import * as api from "../api.js";
import { barChart } from "../charts.js";
import { el, empty, metric, table } from "../dom.js";
import { format } from "../format.js";
import { seenAsOf, state, windowParams } from "../state.js";

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const PERIODS = [["nighttime", "Night 0–6"], ["early_morning", "Early 6–9"],
  ["office_hours", "Office 9–17"], ["evening", "Evening 17–24"]];
const HOURS = Array.from({ length: 24 }, (_, hour) => [hour, String(hour).padStart(2, "0")]);

function heatTable(cells, granularity) {
  const slots = granularity === "hour" ? HOURS : PERIODS;
  const slotOf = (cell) => (granularity === "hour" ? cell.hour : cell.time_period);
  const byKey = new Map(cells.map((cell) => [`${cell.day_of_week}|${slotOf(cell)}`, cell]));
  const top = Math.max(1, ...cells.map((cell) => cell.engagement_score));
  return el("div", { class: "table-wrap" }, el("table", { class: "heatmap",
    "data-granularity": granularity },
  el("caption", {}, "Engagement score (opens × 0.3 + clicks × 0.4 + replies × 0.3 per 100 "
      + "sends) by the local time the messages were sent"),
  el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Day"),
    slots.map(([, label]) => el("th", { scope: "col" }, label)))),
  el("tbody", {}, DAYS.map((day) => el("tr", {}, el("th", { scope: "row" }, day.slice(0, 3)),
    slots.map(([slot]) => {
      const cell = byKey.get(`${day}|${slot}`);
      const td = el("td", { class: "cell",
        title: `${format.int(cell.emails_sent)} sent, open rate ${format.pct(cell.open_rate)}` },
      cell.emails_sent ? cell.engagement_score.toFixed(1) : "·");
      const strength = cell.engagement_score / top;
      td.style.backgroundColor = `rgba(29, 78, 216, ${(0.08 + 0.6 * strength).toFixed(3)})`;
      return td;
    }))))));
}

function optimal(best) {
  if (!best) return el("p", { class: "muted" }, "Not enough sends yet for a best send time "
    + "(an hour needs at least 20).");
  return el("p", {}, "Best time to send: ",
    el("strong", {}, `${best.day_of_week} ${String(best.hour).padStart(2, "0")}:00`),
    ` (engagement score ${best.engagement_score.toFixed(2)})`);
}

export function heatmap(part, filter) {
  let granularity = "period";
  const toggle = el("div", { role: "group", "aria-label": "Heatmap detail" },
    [["period", "Day × period"], ["hour", "Day × hour"]].map(([value, label]) =>
      el("button", { type: "button", "data-granularity": value,
        "aria-pressed": String(value === granularity),
        onclick: () => { granularity = value; load(); } }, label)));
  function load() {
    for (const button of toggle.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.granularity === granularity));
    }
    part.load(async () => {
      const data = await api.get("/analytics/engagement-heatmap",
        { ...windowParams(), ...filter, granularity });
      seenAsOf(data.as_of);
      if (!data.heatmap.some((cell) => cell.emails_sent)) {
        return empty("No messages were sent in this period.");
      }
      return [heatTable(data.heatmap, granularity), optimal(data.optimal_send_time)];
    });
  }
  part.card.insertBefore(toggle, part.body);  // outside what reloads: it keeps the focus
  load();
}

export function deliverability(part, filter) {
  part.load(async ({ mount }) => {
    const data = await api.get("/analytics/deliverability", { ...windowParams(), ...filter });
    seenAsOf(data.as_of);
    const { overall, bounce_analysis: bounces, blacklist_status: blacklist } = data;
    if (overall.health_score === null) return empty("Nothing was sent in this period.");
    return [
      el("div", { class: "cards" },
        metric("health_score", overall.health_score, "0–100, higher is better"),
        metric("estimated_inbox_placement_rate", overall.estimated_inbox_placement_rate, null,
          "pct"),
        metric("bounce_rate", overall.bounce_rate,
          `${format.int(bounces.hard_bounces)} hard, ${format.int(bounces.soft_bounces)} soft`,
          "pct"),
        metric("spam_rate", overall.spam_rate, "complaints / delivered", "pct")),
      el("p", {}, blacklist.any_ip_blacklisted
        ? el("strong", { class: "bad" }, "A sending IP is blacklisted.")
        : `No sending IP blacklisted (${blacklist.ips_checked} checked).`),
      bounces.top_bounce_reasons.length
        ? barChart(mount, { label: "Top bounce reasons", horizontal: true, valueLabel: "Bounces",
          bars: bounces.top_bounce_reasons.map((r) => ({ label: r.reason, value: r.count })) })
        : el("p", { class: "muted" }, "No bounces in this period."),
      table({ caption: "By mailbox provider", rows: data.by_provider, columns: [
        { key: "provider" }, { key: "sent", num: true }, { key: "delivered", num: true },
        { key: "bounce_rate", num: true, pct: true }, { key: "open_rate", num: true, pct: true },
        { key: "reply_rate", num: true, pct: true }, { key: "spam_rate", num: true, pct: true },
      ] }),
    ];
  });
}

export function noCampaigns() {
  const workspace = state.workspace.id;
  return empty(
    el("p", {}, el("strong", {}, "No campaigns yet.")),
    el("p", {}, "Create one with ", el("code", {}, "POST /api/v1/workspaces/…/campaigns"),
      " and send its events to ", el("code", {}, "POST …/events"), ", or fill this workspace "
      + "with realistic demo data:"),
    el("p", {}, el("code", {}, `campaign-analytics generate --workspace ${workspace} `
      + "--events 100000")),
    el("p", {}, "then ", el("code", {}, `campaign-analytics refresh --workspace ${workspace} --wait`),
      " and reload this page."));
}
