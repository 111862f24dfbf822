"""Purging a deleted campaign: its rows go in batches, child tables first, then the campaign.

Runs as the ``campaign_purge`` job so a large campaign never holds a request open or locks
a table for long. Every batch commits, so a purge interrupted anywhere resumes where it was
when the job runs again, and running it twice removes nothing more.

Each batch takes the workspace's refresh lock, so no refresh runs across it: the events'
verdicts go with them (a trigger), and no refresh whose snapshot still holds them can
store their verdicts again afterwards. Rollup rows go in batches too, after the
events (a refresh between two batches still counts the events left). The campaign row
itself is deleted under the refresh lock too, after the rows such a refresh wrote: a
refresh that began before finishes first, and one that begins after sees neither the
campaign's messages nor its events, so no rollup row outlives its campaign (rollups have
no foreign keys to enforce it).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from .jobs.context import JobContext
from .locks import lock_refresh
from .models import (
    BounceReasonBucket,
    Campaign,
    CampaignBucket,
    CampaignLeads,
    DeliveryBucket,
    EmailEvent,
    Lead,
    Message,
    Reply,
)

log = logging.getLogger(__name__)

PURGE_BATCH = 20_000
# Children before parents: replies and messages point at leads.
TABLES: tuple[tuple[str, Any], ...] = (
    ("events", EmailEvent), ("replies", Reply), ("messages", Message), ("leads", Lead),
)
# Rollups are chosen by physical row address: rollup_campaign_buckets has no single id
# column.
ROLLUPS: tuple[tuple[str, Any], ...] = (
    ("rollup_campaign_buckets", CampaignBucket), ("rollup_delivery_buckets", DeliveryBucket),
    ("rollup_bounce_reasons", BounceReasonBucket), ("rollup_campaign_leads", CampaignLeads),
)


def purge_campaign(ctx: JobContext) -> dict[str, int]:
    """Result: rows removed per table (rollups in the progress record and the log)."""
    campaign_id = ctx.params["campaign_id"]
    removed: dict[str, int] = {}
    with ctx.db.sessions() as session:
        workspace_id = session.scalar(select(Campaign.workspace_id).where(
            Campaign.id == campaign_id))
        session.commit()
        for name, model in TABLES:
            removed[name] = _delete_in_batches(ctx, session, name, model, campaign_id,
                                               workspace_id, removed)
        for name, model in ROLLUPS:
            removed[name] = _delete_rollups(ctx, session, name, model, campaign_id, removed)
        if workspace_id is not None:
            # Transaction-level, it waits for a refresh's session-level lock of the same key.
            lock_refresh(session, workspace_id)
            for name, model in ROLLUPS:  # what a refresh wrote while the batches ran: few
                late = session.execute(delete(model).where(model.campaign_id == campaign_id))
                removed[name] += late.rowcount or 0  # type: ignore[attr-defined]
            session.execute(delete(Campaign).where(Campaign.id == campaign_id,
                                                   Campaign.deleted_at.is_not(None)))
        session.commit()
    log.info("purged campaign %s: %s", campaign_id, removed)
    return {name: removed[name] for name, _ in TABLES}


def _delete_in_batches(
    ctx: JobContext, session: Session, name: str, model: Any, campaign_id: str,
    workspace_id: str | None, done: dict[str, int],
) -> int:
    """Short transactions: the table stays writable for ingestion meanwhile. Batches go
    between refreshes (see the module's docstring); with no campaign row there is nothing
    left of it to refresh."""
    total = 0
    while True:
        if workspace_id is not None:
            lock_refresh(session, workspace_id)
        batch = select(model.id).where(model.campaign_id == campaign_id).limit(PURGE_BATCH)
        deleted = session.execute(delete(model).where(model.id.in_(batch.scalar_subquery())))
        session.commit()
        count = deleted.rowcount or 0  # type: ignore[attr-defined]
        total += count
        ctx.report_progress(**{**done, name: total})
        if count < PURGE_BATCH:
            return total


def _delete_rollups(
    ctx: JobContext, session: Session, name: str, model: Any, campaign_id: str,
    done: dict[str, int],
) -> int:
    total = 0
    while True:
        count = _delete_batch(session, model.__tablename__, campaign_id)
        session.commit()
        total += count
        ctx.report_progress(**{**done, name: total})
        if count < PURGE_BATCH:
            return total


def _delete_batch(session: Session, table: str, campaign_id: str) -> int:
    deleted = session.execute(text(
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {table} WHERE campaign_id = :campaign LIMIT :limit))"),
        {"campaign": campaign_id, "limit": PURGE_BATCH})
    return int(deleted.rowcount or 0)  # type: ignore[attr-defined]
