"""Notices that Redis lost its data (restarted without persistence, or failed over to an
empty replica): the messages of jobs published before it started went with it, and waiting
JOB_REDELIVER_AFTER_SECONDS to find out would leave those jobs idle for minutes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from celery import Celery

log = logging.getLogger(__name__)

EPOCH_KEY = "campaign-analytics:broker-epoch"


def restarted_empty_at(celery: Celery) -> datetime | None:
    """When the broker started, if it has lost the marker a complete sweep left in it.

    A missing marker alone does not tell a restart from a first start on a new database;
    the start time does: only messages published before it can be gone. None when the
    marker is there, or the broker cannot be reached (nothing can be published anyway).
    The marker is written back by ``mark_swept`` only once a sweep republished them all.
    """
    try:
        with celery.connection_for_write() as conn:
            client = conn.default_channel.client
            if client.exists(EPOCH_KEY):
                return None
            seconds, micros = client.time()
            uptime = int(client.info("server")["uptime_in_seconds"])
    except Exception as exc:
        log.warning("could not check the broker's epoch marker: %s", exc)
        return None
    started = datetime.fromtimestamp(seconds + micros / 1e6, UTC) - timedelta(seconds=uptime)
    log.warning("the broker has no epoch marker (it started at %s, or this database is new): "
                "republishing every queued job published before then", started.isoformat())
    return started


def mark_swept(celery: Celery) -> None:
    """Every job the broker lost has been published again: stop looking."""
    with celery.connection_for_write() as conn:
        conn.default_channel.client.set(EPOCH_KEY, "1")
