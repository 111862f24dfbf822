"""Periodic housekeeping on the maintenance queue."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task

from campaign_analytics.exports import retention
from campaign_analytics.exports.storage import storage_from_settings
from campaign_analytics.jobs import sweeper
from worker.broker import lost_epoch, mark_swept

from .runtime import database, publisher, settings


@shared_task(name="maintenance.sweep_jobs", bind=True)
def sweep_jobs(self: Any) -> dict[str, int]:
    epoch = lost_epoch(self.app)
    lost_before = epoch.started if epoch is not None else None
    with database().sessions() as session:
        report = sweeper.sweep(session, publisher(), settings(), lost_before=lost_before)
    if epoch is not None and report.complete:
        mark_swept(self.app, epoch)
    return asdict(report)


@shared_task(name="maintenance.expire_exports")
def expire_exports() -> int:
    """Retention (EXPORT_RETENTION_DAYS) and leftover files of deleted exports."""
    config = settings()
    with database().sessions() as session:
        return retention.expire_old_exports(session, storage_from_settings(config), config)
