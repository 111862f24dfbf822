// Polls a job (export or refresh) until it ends, reporting each state on the way.

import * as api from "./api.js";

const POLL_MS = 1000;
const ENDED = new Set(["completed", "failed", "canceled", "expired"]);

export async function watchJob(path, onProgress) {
  for (;;) {
    const job = await api.get(path);
    if (ENDED.has(job.status)) return job;
    onProgress(job);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
