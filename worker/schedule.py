"""The beat schedule, in UTC. Every periodic task is idempotent as well as single-run."""

from __future__ import annotations

from typing import Any

from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.settings import Settings


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    interval = settings.sweeper_interval_seconds
    return {
        "sweep-jobs": {
            "task": "maintenance.sweep_jobs",
            "schedule": interval,
            # A sweep nobody ran in time is superseded by the next one; never pile them up.
            "options": {"queue": Queue.MAINTENANCE.value, "expires": interval},
        },
    }
