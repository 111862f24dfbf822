"""Periodic housekeeping on the maintenance queue."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from campaign_analytics.jobs import sweeper

from .runtime import database, publisher, settings


@shared_task(name="maintenance.sweep_jobs")
def sweep_jobs() -> dict[str, int]:
    with database().sessions() as session:
        return asdict(sweeper.sweep(session, publisher(), settings()))
