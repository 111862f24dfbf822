"""Purging a deleted campaign: its rows go in batches, child tables first, then the campaign.

Runs as the ``campaign_purge`` job so a large campaign never holds a request open or locks
the event table for long.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .jobs.context import JobContext
from .models import Campaign, EmailEvent, Lead, Message, Reply

PURGE_BATCH = 20_000


def purge_campaign(ctx: JobContext) -> dict[str, int]:
    """Delete a deleted campaign's rows in batches, child tables first, then the campaign."""
    campaign_id = ctx.params["campaign_id"]
    removed: dict[str, int] = {}
    with ctx.db.sessions() as session:
        removed["events"] = _delete_events_in_batches(ctx, session, campaign_id)
        for name, model in (("replies", Reply), ("messages", Message), ("leads", Lead)):
            result = session.execute(delete(model).where(model.campaign_id == campaign_id))
            removed[name] = result.rowcount or 0  # type: ignore[attr-defined]
        session.execute(delete(Campaign).where(Campaign.id == campaign_id,
                                               Campaign.deleted_at.is_not(None)))
        session.commit()
    return removed


def _delete_events_in_batches(ctx: JobContext, session: Session, campaign_id: str) -> int:
    """Short transactions: the event table stays writable for ingestion meanwhile."""
    total = 0
    while True:
        batch = select(EmailEvent.id).where(EmailEvent.campaign_id == campaign_id)
        deleted = session.execute(
            delete(EmailEvent).where(EmailEvent.id.in_(batch.limit(PURGE_BATCH).scalar_subquery()))
        )
        session.commit()
        count = deleted.rowcount or 0  # type: ignore[attr-defined]
        total += count
        ctx.report_progress(events_deleted=total)
        if count < PURGE_BATCH:
            return total
