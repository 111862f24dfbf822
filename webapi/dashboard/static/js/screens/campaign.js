// One campaign: summary cards, send volume, funnel, reply classes, heatmap, deliverability.

import * as api from "../api.js";
import { barChart, lineChart } from "../charts.js";
import { exportControl } from "../exporter.js";
import { seenAsOf, state, windowParams } from "../state.js";
import { el, empty, metric } from "../dom.js";
import { section, shared } from "../feedback.js";
import { format } from "../format.js";
import { deliverability, heatmap } from "./sections.js";

const CARDS = [
  ["emails_sent", null], ["emails_delivered", "delivery_rate"], ["emails_opened", "open_rate"],
  ["emails_clicked", "click_rate"], ["emails_replied", "reply_rate"],
  ["emails_bounced", "bounce_rate"],
];
const VOLUME = [["sent", "Sent"], ["delivered", "Delivered"], ["opened", "Opened"],
  ["replied", "Replied"]];

// How many messages machines opened or clicked, and what "People only" does with them.
function machines(counts) {
  const found = `${format.int(counts.machine_opens)} messages were opened by a machine `
    + `(privacy proxies, scanners) and ${format.int(counts.bot_clicks)} had their links `
    + "clicked by a bot (link scanners).";
  const effect = state.filters.engagement === "human"
    ? ` They are left out here; ${format.int(counts.inferred_opens)} opens are inferred from `
      + "a person's click."
    : " Choose \u201cPeople only\u201d to leave them out.";
  return el("p", { class: "muted", "data-note": "machines" }, found + effect);
}

function summary(data) {
  const { summary: counts, rates } = data;
  return [el("div", { class: "cards" }, CARDS.map(([name, rate]) =>
    metric(name, counts[name], rate ? `${format.label(rate)} ${format.pct(rates[rate])}` : null))),
  machines(counts)];
}

function funnel(data, mount) {
  const { leads } = data;
  const steps = ["discovered", "contacted", "replied", "placed"];
  return [
    barChart(mount, { label: "Lead funnel", horizontal: true, valueLabel: "Leads",
      bars: steps.map((step) => ({ label: format.label(step), value: leads.funnel[step] })) }),
    el("div", { class: "cards" },
      metric("response_rate", leads.response_rate, "replied / all leads", "pct"),
      metric("conversion_rate", leads.conversion_rate, "qualified / all leads", "pct"),
      metric("placement_rate", leads.placement_rate, "placed / contacted", "pct"),
      metric("messages_per_lead", leads.messages_per_lead, "all time")),
  ];
}

function replies(data, mount) {
  const classes = data.replies_by_classification;
  const total = Object.values(classes).reduce((sum, value) => sum + value, 0);
  if (!total) return empty("No replies in this period.");
  return barChart(mount, { label: "Replies by classification", valueLabel: "Replies",
    bars: Object.entries(classes).map(([name, value]) => ({ label: format.label(name), value })) });
}

export function render(root, { id }) {
  const title = el("h1", {}, "Campaign");
  const head = el("div", { class: "screen-head" }, title,
    exportControl([id], "Export this campaign"));
  root.append(el("p", {}, el("a", { href: "#/campaigns" }, "← All campaigns")), head);

  const analytics = shared(async () => {
    const data = await api.get(`/campaigns/${encodeURIComponent(id)}/analytics`,
      { ...windowParams(), groupBy: state.filters.groupBy });
    seenAsOf(data.as_of);
    title.textContent = data.campaign.name;
    title.dataset.status = data.campaign.status;
    return data;
  });

  const grid = el("div", { class: "grid" });
  const cards = section(root, "summary", "Summary");
  root.append(grid);
  const volume = section(grid, "volume", "Send volume");
  const funnelSection = section(grid, "funnel", "Funnel");
  const replySection = section(grid, "replies", "Reply classification");
  const heat = section(root, "heatmap", "Engagement heatmap");
  const health = section(root, "deliverability", "Deliverability");

  cards.load(async () => summary(await analytics()));
  volume.load(async ({ mount }) => {
    const data = await analytics();
    return [
      lineChart(mount, { label: `Messages per ${state.filters.groupBy}`, labelKey: "date",
        rows: data.time_series, series: VOLUME.map(([key, label]) => ({ key, label })) }),
    ];
  });
  funnelSection.load(async ({ mount }) => funnel(await analytics(), mount));
  replySection.load(async ({ mount }) => replies(await analytics(), mount));
  heatmap(heat, { campaignId: id });
  deliverability(health, { campaignId: id });
}
