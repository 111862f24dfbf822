// The campaign list: every campaign with its window's numbers, sortable, searchable.

import * as api from "../api.js";
import { el, table } from "../dom.js";
import { section } from "../feedback.js";
import { format } from "../format.js";
import { seenAsOf, state, windowParams } from "../state.js";
import { noCampaigns } from "./sections.js";

const COLUMNS = [
  { key: "campaign_name", label: "Name",
    render: (row) => el("a", { href: `#/campaigns/${encodeURIComponent(row.campaign_id)}` },
      row.campaign_name) },
  { key: "status", label: "Status" },
  { key: "leads", label: "Leads", num: true },
  { key: "emails_sent", label: "Sent", num: true },
  { key: "reply_rate", label: "Reply rate", num: true, pct: true },
  { key: "created_at", label: "Created", render: (row) => format.time(row.created_at,
    state.filters.timezone) },
];

export function render(root) {
  root.append(el("div", { class: "screen-head" }, el("h1", {}, "Campaigns")));
  const list = section(root, "campaign-list", "Campaign list");
  const sort = { key: "created_at", descending: true };
  let query = "";
  let rows = [];

  const search = el("input", { type: "search", class: "search", placeholder: "Search by name",
    "aria-label": "Search campaigns by name",
    oninput: (event) => { query = event.target.value.toLowerCase(); draw(); } });
  const holder = el("div");

  function draw() {
    const shown = rows.filter((row) => row.campaign_name.toLowerCase().includes(query));
    shown.sort((a, b) => {
      const [x, y] = [a[sort.key], b[sort.key]];
      const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return sort.descending ? -order : order;
    });
    holder.replaceChildren(shown.length
      ? table({ caption: `${shown.length} of ${rows.length} campaigns`, columns: COLUMNS,
        rows: shown, sort })
      : el("p", { class: "state empty" }, `No campaign name contains “${query}”.`));
  }
  sort.by = (key) => {
    sort.descending = sort.key === key ? !sort.descending : key !== "campaign_name";
    sort.key = key;
    draw();
    holder.querySelector(`button[data-sort="${key}"]`).focus();  // the table was redrawn
  };

  list.load(async () => {
    const data = await api.get("/analytics/campaigns", windowParams());
    seenAsOf(data.as_of);
    rows = data.campaigns;
    if (!rows.length) return noCampaigns();
    draw();
    return [search, holder];
  });
}
