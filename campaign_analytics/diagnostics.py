"""The diagnostic job: walks a few timed steps, reporting progress.

It lets an operator (and the test suite) prove the whole path — API, outbox, broker,
worker, heartbeat, sweeper — without touching any customer data.
"""

from __future__ import annotations

import time
from typing import Any

from .jobs.context import JobContext

MAX_STEPS = 600
MAX_STEP_SECONDS = 10.0


def run_diagnostic(ctx: JobContext) -> dict[str, Any]:
    steps = int(ctx.params.get("steps", 1))
    step_seconds = float(ctx.params.get("step_seconds", 0))
    for done in range(1, steps + 1):
        time.sleep(step_seconds)
        percent = round(100 * done / steps, 2)
        ctx.report_progress(force=done == steps, done=done, total=steps, percent=percent)
    return {"steps": steps, "completed_by_attempt": ctx.attempt}
