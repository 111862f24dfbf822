// Building the page: an element builder, tables, metric cards, empty states.

import { format } from "./format.js";

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

function header(column, sort) {
  const label = column.label ?? format.label(column.key);
  const cls = column.num ? "num" : "";
  if (!sort || column.sortable === false) return el("th", { scope: "col", class: cls }, label);
  const active = sort.key === column.key;
  return el("th", {
    scope: "col", class: cls,
    "aria-sort": active ? (sort.descending ? "descending" : "ascending") : "none",
  }, el("button", { type: "button", onclick: () => sort.by(column.key), "data-sort": column.key },
    label, active ? (sort.descending ? " ▼" : " ▲") : ""));
}

function cell(column, row) {
  const value = column.render ? column.render(row) : row[column.key];
  const text = typeof value === "number" && !column.render
    ? (column.pct ? format.pct(value) : format.int(value)) : value;
  return el("td", { class: column.num ? "num" : "", "data-key": column.key }, text);
}

// A table; columns are {key, label?, num?, pct?, render?(row)}; with ``sort`` ({key,
// descending, by(key)}) the headers are buttons that sort.
export function table({ caption, columns, rows, sort }) {
  return el("div", { class: "table-wrap" }, el("table", {},
    caption ? el("caption", {}, caption) : null,
    el("thead", {}, el("tr", {}, columns.map((column) => header(column, sort)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((column) => cell(column, row)))))));
}

// One summary number: the value is also kept raw in data-value for exact reading.
export function metric(name, value, sub, kind = "int") {
  return el("div", { class: "metric", "data-metric": name },
    el("div", { class: "label" }, format.label(name)),
    el("div", { class: "value", "data-value": value ?? "" }, format[kind](value)),
    sub ? el("div", { class: "sub" }, sub) : null);
}

export function empty(...children) {
  return el("div", { class: "state empty" }, ...children);
}
