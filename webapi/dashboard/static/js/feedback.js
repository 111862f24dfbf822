// How the page tells what it is doing: sections that load, fail and retry on their own,
// toasts, and the lifetime of a screen (what to undo when the person moves on).

import { ApiError } from "./api.js";
import { el } from "./dom.js";

const disposers = new Set();

// Run ``undo`` when the current screen is left (route change, filter change, sign-out).
export function onLeave(undo) { disposers.add(undo); }

export function leaveScreen() {
  for (const undo of disposers) undo();
  disposers.clear();
  document.getElementById("toasts").replaceChildren();
}

export function toast(message, retry = null) {
  const box = el("div", { class: "toast" }, el("span", {}, message));
  const close = () => box.remove();
  if (retry) {
    box.append(el("button", { type: "button", onclick: () => { close(); retry(); } }, "Retry"));
  }
  box.append(el("button", { type: "button", class: "close", "aria-label": "Dismiss",
    onclick: close }, "✕"));
  document.getElementById("toasts").append(box);
  setTimeout(close, retry ? 30000 : 8000);
  return box;
}

let unauthorized = () => {};
export function onUnauthorized(handler) { unauthorized = handler; }

export function describe(error) {
  return error instanceof ApiError ? error.message : "Something went wrong in the page";
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

// One toast per failed request, whose Retry reloads every section that request failed.
function reportFailure(error, title, retry) {
  if (!(error instanceof ApiError)) {
    toast(`${title}: ${describe(error)}`, retry);
    return;
  }
  if (!error.retries) {
    error.retries = [];
    toast(`Could not load ${title.toLowerCase()}: ${describe(error)}`,
      () => error.retries.forEach((again) => again()));
  }
  error.retries.push(retry);
}

// A titled card whose body loads by itself: its own loading state, its own error state
// with a Retry button. ``render({mount})`` returns the new content; each ``mount(start)``
// runs once the content is in the page (a chart needs its canvas there) and returns what
// undoes it, run before the next render and when the screen is left.
export function section(parent, name, title) {
  const body = el("div", { class: "section-body" });
  const card = el("section", { class: "card section", "data-section": name, "data-state": "idle",
    "aria-labelledby": `h-${name}` }, el("h2", { id: `h-${name}` }, title), body);
  parent.append(card);
  const cleanups = [];
  let generation = 0;
  const undo = () => cleanups.splice(0).forEach((cleanup) => cleanup());
  onLeave(() => { generation += 1; undo(); });

  async function load(render) {
    const mine = ++generation;
    const current = () => mine === generation && card.isConnected;
    body.setAttribute("aria-busy", "true");
    card.dataset.state = "loading";
    if (!body.childElementCount) {
      body.append(el("p", { class: "state loading" }, `Loading ${title.toLowerCase()}…`));
    }
    try {
      const mounts = [];
      const nodes = await render({ mount: (start) => mounts.push(start) });
      if (!current()) return;
      undo();
      body.replaceChildren(...[nodes].flat());
      for (const start of mounts) {
        const stop = start();
        if (stop) cleanups.push(stop);
      }
      card.dataset.state = "ready";
    } catch (error) {
      if (!current()) return;
      if (error instanceof ApiError && error.status === 401) { unauthorized(error); return; }
      if (!(error instanceof ApiError)) console.warn(error);
      undo();
      const retry = () => load(render);
      body.replaceChildren(el("div", { class: "state error", role: "alert" },
        el("span", {}, `Could not load ${title.toLowerCase()}: ${describe(error)}`),
        el("button", { type: "button", onclick: retry }, "Retry")));
      card.dataset.state = "error";
      reportFailure(error, title, retry);
    } finally {
      if (current()) body.removeAttribute("aria-busy");
    }
  }

  return { card, body, load };
}
