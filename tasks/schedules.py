"""Beat's export-schedule tick, on the maintenance queue: it only submits the due runs
(export jobs, in milliseconds each); the exports themselves run on the exports queue."""

from __future__ import annotations

from celery import shared_task

from campaign_analytics.schedules.runs import run_due_schedules

from .runtime import database, publisher, settings


@shared_task(name="schedules.run_due")
def run_due() -> dict[str, int]:
    with database().sessions() as session:
        return run_due_schedules(session, publisher(), settings()).as_dict()
