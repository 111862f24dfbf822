"""The beat schedule, in UTC. Every periodic task is idempotent as well as single-run.

``expire-exports`` runs retention (exports/retention.py); it only changes rows still
``completed`` past retention and removes files whose key is still recorded, so a double
run does nothing twice.

Refresh ticks run ``analytics.schedule_refreshes`` on the maintenance queue: it only
requests one refresh job per workspace (joining a queued one), so a second beat by
mistake cannot double the work (see campaign_analytics/analytics/scheduling.py).
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from campaign_analytics.analytics.refresh import RefreshMode
from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.settings import Settings

SCHEDULE_REFRESHES_TASK = "analytics.schedule_refreshes"
EXPIRE_EXPORTS_TASK = "maintenance.expire_exports"
# Sends the webhook deliveries that are due; a tick not started before the next one is due
# is dropped (the next one does its work).
DELIVER_WEBHOOKS_TASK = "webhooks.deliver_due"
# Submits the runs of due export schedules (docs/schedules.md); a tick not started before
# the next one is due is dropped, the next one makes the same runs.
RUN_EXPORT_SCHEDULES_TASK = "schedules.run_due"
# Retention is counted in days; checking every few minutes also removes the files of
# deleted exports (and of a deleted campaign's exports) soon after.
EXPIRE_EXPORTS_SECONDS = 300.0
# A nightly tick still waiting for a worker this long after it was due gives way to the
# next night's; a late one is still worth running.
FULL_TICK_EXPIRES_SECONDS = 12 * 3600


def cron(expression: str) -> crontab:
    """``minute hour day-of-month month day-of-week``, in the app's timezone (UTC)."""
    minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                   month_of_year=month_of_year, day_of_week=day_of_week)


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    interval = settings.sweeper_interval_seconds
    incremental = settings.refresh_incremental_seconds
    return {
        # Run inside the sending beat itself (worker/beat.py), never queued behind a purge.
        "sweep-jobs": {"task": "maintenance.sweep_jobs", "schedule": interval},
        "refresh-full": {
            "task": SCHEDULE_REFRESHES_TASK,
            "schedule": cron(settings.refresh_full_cron),
            "args": (RefreshMode.FULL.value,),
            "options": {"queue": Queue.MAINTENANCE.value,
                        "expires": FULL_TICK_EXPIRES_SECONDS},
        },
        "expire-exports": {
            "task": EXPIRE_EXPORTS_TASK,
            "schedule": EXPIRE_EXPORTS_SECONDS,
            "options": {"queue": Queue.MAINTENANCE.value, "expires": EXPIRE_EXPORTS_SECONDS},
        },
        "refresh-incremental": {
            "task": SCHEDULE_REFRESHES_TASK,
            "schedule": incremental,
            "args": (RefreshMode.INCREMENTAL.value,),
            "options": {"queue": Queue.MAINTENANCE.value, "expires": incremental},
        },
        "deliver-webhooks": {
            "task": DELIVER_WEBHOOKS_TASK,
            "schedule": settings.webhook_tick_seconds,
            "options": {"queue": Queue.MAINTENANCE.value,
                        "expires": settings.webhook_tick_seconds},
        },
        "run-export-schedules": {
            "task": RUN_EXPORT_SCHEDULES_TASK,
            "schedule": settings.export_schedule_tick_seconds,
            "options": {"queue": Queue.MAINTENANCE.value,
                        "expires": settings.export_schedule_tick_seconds},
        },
    }
