// The one way the dashboard talks to the API: the key as a Bearer header, the JSON
// envelope unwrapped, one retry with backoff for reads that fail with a 5xx, and every
// failure turned into an ApiError with the API's code and message.

const KEY_STORAGE = "campaign-analytics.key";
const RETRY_DELAY_MS = 600;

export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let workspaceId = null;

export const session = {
  get key() { return sessionStorage.getItem(KEY_STORAGE); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY_STORAGE, value);
    else sessionStorage.removeItem(KEY_STORAGE);
  },
  get workspaceId() { return workspaceId; },
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function query(params = {}) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.append(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function send(method, url, body, key) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        Accept: "application/json",
        Authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, "NETWORK_ERROR", "The server could not be reached");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch (error) {
    payload = null;
  }
  if (response.ok && payload && payload.success) return payload;
  const failure = (payload && payload.error) || {};
  throw new ApiError(response.status, failure.code || `HTTP_${response.status}`,
    failure.message || `The server answered ${response.status}`, failure.details || null);
}

// Reads retry once after a pause when the server (not the request) failed.
async function read(url, key) {
  try {
    return await send("GET", url, undefined, key);
  } catch (error) {
    if (!(error instanceof ApiError) || !(error.status >= 500 || error.status === 0)) throw error;
    await sleep(RETRY_DELAY_MS + Math.random() * 200);
    return send("GET", url, undefined, key);
  }
}

function requireKey() {
  const key = session.key;
  if (!key) throw new ApiError(401, "UNAUTHORIZED", "Sign in with an API key first");
  return key;
}

function scoped(path) {
  return `/api/v1/workspaces/${encodeURIComponent(workspaceId)}${path}`;
}

// Checks a key by asking whose it is; keeps it only when the API accepts it.
export async function signIn(key) {
  const payload = await read("/api/v1/me", key);
  session.key = key;
  workspaceId = payload.data.workspace.id;
  return payload.data;
}

export function signOut() {
  session.key = null;
  workspaceId = null;
}

export async function get(path, params) {
  return (await read(scoped(path) + query(params), requireKey())).data;
}

export async function post(path, body) {
  return (await send("POST", scoped(path), body, requireKey())).data;
}

export async function patch(path, body) {
  return (await send("PATCH", scoped(path), body, requireKey())).data;
}

export async function remove(path) {
  return (await send("DELETE", scoped(path), undefined, requireKey())).data;
}
