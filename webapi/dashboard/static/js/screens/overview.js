// The workspace at a glance: totals and rates, top campaigns, all-time snapshot,
// deliverability and the send-time heatmap of every campaign, and a workspace export.

import * as api from "../api.js";
import { el, metric, table } from "../dom.js";
import { exportControl } from "../exporter.js";
import { section, shared } from "../feedback.js";
import { format } from "../format.js";
import { seenAsOf, windowParams } from "../state.js";
import { deliverability, heatmap, noCampaigns } from "./sections.js";

const RATE_OF = { emails_delivered: "delivery_rate", emails_opened: "open_rate",
  emails_clicked: "click_rate", emails_replied: "reply_rate" };

export function render(root) {
  root.append(el("div", { class: "screen-head" }, el("h1", {}, "Overview"),
    exportControl(null, "Export the whole workspace")));
  const totals = section(root, "overview-summary", "Workspace summary");
  const grid = el("div", { class: "grid" });
  root.append(grid);
  const top = section(grid, "top-campaigns", "Top campaigns by reply rate");
  const allTime = section(grid, "snapshot", "All time");
  const heat = section(root, "heatmap", "Engagement heatmap");
  const health = section(root, "deliverability", "Deliverability");

  const overview = shared(() => api.get("/analytics/overview", windowParams()));
  totals.load(async () => {
    const data = await overview();
    seenAsOf(data.as_of);
    const { summary, rates } = data;
    if (!summary.total_campaigns) return noCampaigns();
    return el("div", { class: "cards" },
      metric("total_campaigns", summary.total_campaigns,
        `${format.int(summary.active_campaigns)} active`),
      metric("emails_sent", summary.emails_sent),
      Object.entries(RATE_OF).map(([name, rate]) =>
        metric(name, summary[name], `${format.label(rate)} ${format.pct(rates[rate])}`)));
  });
  top.load(async () => {
    const data = await overview();
    if (!data.top_campaigns.length) return el("p", { class: "muted" }, "No campaign delivered "
      + "anything in this period.");
    return table({ rows: data.top_campaigns, columns: [
      { key: "campaign_name", label: "Campaign", render: (row) => el("a", {
        href: `#/campaigns/${encodeURIComponent(row.campaign_id)}` }, row.campaign_name) },
      { key: "emails_sent", label: "Sent", num: true },
      { key: "open_rate", label: "Open rate", num: true, pct: true },
      { key: "reply_rate", label: "Reply rate", num: true, pct: true },
    ] });
  });
  allTime.load(async () => {
    const data = await api.get("/reporting/snapshot");
    seenAsOf(data.as_of);
    return el("div", { class: "cards" },
      metric("total_sends", data.total_sends), metric("total_replies", data.total_replies),
      metric("total_placements", data.total_placements),
      metric("overall_response_rate", data.overall_response_rate, "replies / sends", "pct"),
      metric("overall_placement_rate", data.overall_placement_rate, "placements / sends", "pct"));
  });
  heatmap(heat, {});
  deliverability(health, {});
}
