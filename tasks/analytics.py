"""Beat's refresh ticks, on the maintenance queue: each only requests refresh jobs (one
per workspace, in milliseconds); the refreshes themselves run on the analytics queue, so
a long refresh never delays the next tick."""

from __future__ import annotations

from celery import shared_task

from campaign_analytics.analytics.refresh import RefreshMode
from campaign_analytics.analytics.scheduling import schedule_refreshes as schedule

from .runtime import database, publisher


@shared_task(name="analytics.schedule_refreshes")
def schedule_refreshes(mode: str) -> dict[str, object]:
    with database().sessions() as session:
        return schedule(session, publisher(), RefreshMode(mode)).as_dict()
