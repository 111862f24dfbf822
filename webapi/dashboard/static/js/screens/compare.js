// Compare 2–5 campaigns: their rates side by side with 95 % intervals, and for each rate
// the chi-square p-value in plain words.

import * as api from "../api.js";
import { el, empty } from "../dom.js";
import { section } from "../feedback.js";
import { format } from "../format.js";
import { seenAsOf, windowParams } from "../state.js";
import { noCampaigns } from "./sections.js";

const MAX_PICKED = 5;
const LOWER_IS_BETTER = new Set(["bounce_rate", "spam_rate", "unsubscribe_rate"]);

function pValue(p) {
  return p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`;
}

// "B's reply rate is higher; the difference is significant, p = 0.003".
export function verdict(test, names, count) {
  const rate = format.label(test.metric).toLowerCase();
  if (test.p_value === null) return `There is not enough data to compare the ${rate}.`;
  if (test.winner === null) return `The best ${rate} is a tie (${pValue(test.p_value)}).`;
  const winner = names[test.winner];
  const direction = LOWER_IS_BETTER.has(test.metric) ? "lower" : "higher";
  const claim = count === 2 ? `${winner}'s ${rate} is ${direction}`
    : `${winner} has the ${direction === "higher" ? "highest" : "lowest"} ${rate}`;
  const differences = count === 2 ? "the difference is" : "the differences are";
  return test.is_significant
    ? `${claim}; ${differences} significant, ${pValue(test.p_value)}.`
    : `${claim}, but ${differences} not significant (${pValue(test.p_value)}): it may be chance.`;
}

function results(data) {
  const names = Object.fromEntries(data.comparison.map((c) => [c.campaign_id, c.campaign_name]));
  const metrics = data.statistical_significance.map((test) => test.metric);
  const rows = metrics.map((name) => el("tr", {}, el("th", { scope: "row" }, format.label(name)),
    data.comparison.map((campaign) => {
      const interval = campaign.intervals[name];
      return el("td", { class: "num", "data-campaign": campaign.campaign_id, "data-metric": name },
        format.pct(campaign.metrics[name]),
        el("div", { class: "muted" }, interval
          ? `${interval.lower.toFixed(2)}–${interval.upper.toFixed(2)} (n = ${format.int(
            campaign.sample_sizes[name])})` : `n = ${format.int(campaign.sample_sizes[name])}`));
    })));
  return [
    el("div", { class: "table-wrap" }, el("table", {},
      el("caption", {}, "Rates with their 95 % Wilson intervals and sample sizes"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Rate"),
        data.comparison.map((c) => el("th", { scope: "col", class: "num" }, c.campaign_name)))),
      el("tbody", {}, rows))),
    el("h3", {}, "What the differences mean"),
    el("ul", { class: "verdicts" }, data.statistical_significance.map((test) =>
      el("li", { class: "verdict", "data-metric": test.metric },
        verdict(test, names, data.comparison.length)))),
  ];
}

export function render(root) {
  root.append(el("div", { class: "screen-head" }, el("h1", {}, "Compare campaigns")));
  const pick = section(root, "compare-pick", "Campaigns to compare");
  const outcome = section(root, "compare-result", "Comparison");
  outcome.body.replaceChildren(empty("Pick 2 to 5 campaigns above, then Compare."));

  pick.load(async () => {
    const data = await api.get("/analytics/campaigns", windowParams());
    seenAsOf(data.as_of);
    if (!data.campaigns.length) return noCampaigns();
    const boxes = data.campaigns.map((c) => el("input", { type: "checkbox", value: c.campaign_id,
      id: `pick-${c.campaign_id}`, onchange: limit }));
    const button = el("button", { type: "submit", class: "primary", disabled: true }, "Compare");
    function limit() {
      const picked = boxes.filter((box) => box.checked).length;
      for (const box of boxes) box.disabled = !box.checked && picked >= MAX_PICKED;
      button.disabled = picked < 2;
    }
    function submit(event) {
      event.preventDefault();
      const { timeRange, timezone, engagement } = windowParams();
      const ids = boxes.filter((box) => box.checked).map((box) => box.value);
      outcome.load(async () => results(await api.post("/analytics/compare",
        { campaign_ids: ids, time_range: timeRange, timezone, engagement })));
    }
    return el("form", { onsubmit: submit, "aria-label": "Pick campaigns" },
      el("div", { class: "pick" }, data.campaigns.map((c, index) => el("label", {
        for: boxes[index].id }, boxes[index], ` ${c.campaign_name} `,
      el("span", { class: "muted" }, `(${format.int(c.emails_sent)} sent)`)))),
      el("p", { class: "muted" }, `Pick 2 to ${MAX_PICKED}.`), button);
  });
}
