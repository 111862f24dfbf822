// Small DOM helpers shared by the screens: an element builder, number formats, tables,
// toasts, and sections that load, fail and retry on their own.

import { ApiError } from "./api.js";

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

const integer = new Intl.NumberFormat("en-US");

export const format = {
  int: (value) => (value === null || value === undefined ? "–" : integer.format(value)),
  pct: (value) => (value === null || value === undefined ? "–" : `${value.toFixed(2)} %`),
  bytes(value) {
    if (value === null || value === undefined) return "–";
    const units = ["B", "KB", "MB", "GB"];
    let size = value;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
    return `${unit ? size.toFixed(1) : size} ${units[unit]}`;
  },
  time(iso, timezone) {
    if (!iso) return "–";
    return new Intl.DateTimeFormat("en-GB", {
      dateStyle: "medium", timeStyle: "short", timeZone: timezone,
    }).format(new Date(iso));
  },
  clock(iso, timezone) {
    return new Intl.DateTimeFormat("en-GB", { timeStyle: "short", timeZone: timezone })
      .format(new Date(iso));
  },
  label: (name) => name.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase()),
};

// A table; columns are {key, label, num?, render?(row)}; sortable columns get buttons.
export function table({ caption, columns, rows, sort }) {
  const head = columns.map((column) => {
    const label = column.label ?? format.label(column.key);
    if (!sort || column.sortable === false) {
      return el("th", { scope: "col", class: column.num ? "num" : "" }, label);
    }
    const active = sort.key === column.key;
    return el("th", {
      scope: "col", class: column.num ? "num" : "",
      "aria-sort": active ? (sort.descending ? "descending" : "ascending") : "none",
    }, el("button", {
      type: "button", onclick: () => sort.by(column.key),
      "data-sort": column.key,
    }, label, active ? (sort.descending ? " ▼" : " ▲") : ""));
  });
  const body = rows.map((row) => el("tr", {}, columns.map((column) => {
    const value = column.render ? column.render(row) : row[column.key];
    const text = typeof value === "number" && !column.render
      ? (column.pct ? format.pct(value) : format.int(value)) : value;
    return el("td", { class: column.num ? "num" : "", "data-key": column.key }, text);
  })));
  return el("div", { class: "table-wrap" }, el("table", {},
    caption ? el("caption", {}, caption) : null,
    el("thead", {}, el("tr", {}, head)),
    el("tbody", {}, body)));
}

// One summary number: the value is also kept raw in data-value for exact reading.
export function metric(name, value, sub, kind = "int") {
  return el("div", { class: "metric", "data-metric": name },
    el("div", { class: "label" }, format.label(name)),
    el("div", { class: "value", "data-value": value ?? "" }, format[kind](value)),
    sub ? el("div", { class: "sub" }, sub) : null);
}

export function toast(message, retry = null) {
  const box = el("div", { class: "toast", role: "alert" }, el("span", {}, message));
  const close = () => box.remove();
  if (retry) {
    box.append(el("button", { type: "button", onclick: () => { close(); retry(); } }, "Retry"));
  }
  box.append(el("button", { type: "button", class: "close", "aria-label": "Dismiss",
    onclick: close }, "✕"));
  document.getElementById("toasts").append(box);
  if (!retry) setTimeout(close, 8000);
}

let unauthorized = () => {};
export function onUnauthorized(handler) { unauthorized = handler; }

export function describe(error) {
  return error instanceof ApiError ? error.message : "Something went wrong in the page";
}

// A titled card whose body loads by itself: its own loading state, its own error state
// with a Retry button (and a toast). ``render({mount})`` returns the new content; each
// ``mount(start)`` runs once the content is in the page (a chart needs its canvas there)
// and returns what undoes it before the next render.
export function section(parent, name, title) {
  const body = el("div", { class: "section-body" });
  const card = el("section", { class: "card section", "data-section": name, "data-state": "idle",
    "aria-labelledby": `h-${name}` }, el("h2", { id: `h-${name}` }, title), body);
  parent.append(card);
  const cleanups = [];
  let generation = 0;

  async function load(render) {
    const mine = ++generation;
    body.setAttribute("aria-busy", "true");
    card.dataset.state = "loading";
    if (!body.childElementCount) {
      body.append(el("p", { class: "state loading" }, `Loading ${title.toLowerCase()}…`));
    }
    try {
      const mounts = [];
      const nodes = await render({ mount: (start) => mounts.push(start) });
      if (mine !== generation) return;
      cleanups.splice(0).forEach((cleanup) => cleanup());
      body.replaceChildren(...[nodes].flat());
      for (const start of mounts) {
        const undo = start();
        if (undo) cleanups.push(undo);
      }
      card.dataset.state = "ready";
    } catch (error) {
      if (mine !== generation) return;
      if (error instanceof ApiError && error.status === 401) { unauthorized(error); return; }
      if (!(error instanceof ApiError)) console.warn(error);
      cleanups.splice(0).forEach((cleanup) => cleanup());
      const retry = () => load(render);
      body.replaceChildren(el("div", { class: "state error", role: "alert" },
        el("span", {}, `Could not load ${title.toLowerCase()}: ${describe(error)}`),
        el("button", { type: "button", onclick: retry }, "Retry")));
      card.dataset.state = "error";
      toast(`${title}: ${describe(error)}`, retry);
    } finally {
      if (mine === generation) body.removeAttribute("aria-busy");
    }
  }

  return { card, body, load };
}

// One request feeds several sections; a failed one is fetched again on the next retry.
export function shared(fetch) {
  let pending = null;
  return () => {
    if (!pending) {
      pending = fetch();
      pending.catch(() => { pending = null; });
    }
    return pending;
  };
}

export function empty(...children) {
  return el("div", { class: "state empty" }, ...children);
}
