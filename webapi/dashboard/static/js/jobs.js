// Jobs (exports, refreshes): which statuses are still running, and polling one until it
// ends — every second at first, then less often for a long job.

import * as api from "./api.js";

export const RUNNING = new Set(["queued", "processing"]);
const FIRST_POLL_MS = 1000;
const SLOWEST_POLL_MS = 5000;

export async function watchJob(path, onProgress) {
  const started = Date.now();
  for (;;) {
    const job = await api.get(path);
    if (!RUNNING.has(job.status)) return job;
    onProgress(job);
    const wait = Math.min(SLOWEST_POLL_MS, FIRST_POLL_MS + (Date.now() - started) / 20);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
