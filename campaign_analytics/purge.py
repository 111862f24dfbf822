"""Purging a deleted campaign: its rows go in batches, child tables first, then the campaign.

Runs as the ``campaign_purge`` job so a large campaign never holds a request open or locks
a table for long. Every batch commits, so a purge interrupted anywhere resumes where it was
when the job runs again, and running it twice removes nothing more.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .jobs.context import JobContext
from .models import Campaign, EmailEvent, Lead, Message, Reply

PURGE_BATCH = 20_000
# Children before parents: replies and messages point at leads.
TABLES: tuple[tuple[str, Any], ...] = (
    ("events", EmailEvent), ("replies", Reply), ("messages", Message), ("leads", Lead),
)


def purge_campaign(ctx: JobContext) -> dict[str, int]:
    campaign_id = ctx.params["campaign_id"]
    removed: dict[str, int] = {}
    with ctx.db.sessions() as session:
        for name, model in TABLES:
            removed[name] = _delete_in_batches(ctx, session, name, model, campaign_id, removed)
        session.execute(delete(Campaign).where(Campaign.id == campaign_id,
                                               Campaign.deleted_at.is_not(None)))
        session.commit()
    return removed


def _delete_in_batches(
    ctx: JobContext, session: Session, name: str, model: Any, campaign_id: str,
    done: dict[str, int],
) -> int:
    """Short transactions: the table stays writable for ingestion meanwhile."""
    total = 0
    while True:
        batch = select(model.id).where(model.campaign_id == campaign_id).limit(PURGE_BATCH)
        deleted = session.execute(delete(model).where(model.id.in_(batch.scalar_subquery())))
        session.commit()
        count = deleted.rowcount or 0  # type: ignore[attr-defined]
        total += count
        ctx.report_progress(**{**done, name: total})
        if count < PURGE_BATCH:
            return total
