"""Campaign analytics (SPEC §7, §11.7-10): windowed numbers from the rollups, lead state live."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..campaigns import get_campaign
from ..models import CampaignBucket, Lead, Message, Reply
from ..models.vocabulary import LeadStatus, Qualification, ReplyClass
from . import rates
from .reading import REPLY_CLASSES, Counts, as_of, by_day
from .windows import Grouping, Window, bucket_of, last_days

SUMMARY = {
    "emails_sent": "sent", "emails_delivered": "delivered", "emails_bounced": "bounced",
    "emails_opened": "opened", "emails_clicked": "clicked", "emails_replied": "replied",
    "spam_complaints": "spam_complaints", "unsubscribes": "unsubscribes",
    "emails_failed": "failed", "total_opens": "total_opens", "total_clicks": "total_clicks",
    "total_replies": "total_replies",
}
SERIES = {
    "sent": "sent", "delivered": "delivered", "opened": "opened", "clicked": "clicked",
    "replied": "replied", "bounced": "bounced", "spam_complaints": "spam_complaints",
}
POSITIVE = (ReplyClass.INTERESTED.value, ReplyClass.REPLIED.value)


def summary_of(counts: Counts) -> dict[str, int]:
    return {name: counts[column] for name, column in SUMMARY.items()}


def time_series(days: dict[date, Counts], window: Window, grouping: Grouping,
                ) -> list[dict[str, Any]]:
    """Every bucket of the window, zeros included; weeks and months clipped to it."""
    buckets = {bucket: Counts() for bucket in window.buckets(grouping)}
    for day, counts in days.items():
        key = bucket_of(day, grouping)
        buckets[key] = buckets[key] + counts
    return [{"date": bucket.isoformat(),
             **{name: counts[column] for name, column in SERIES.items()}}
            for bucket, counts in buckets.items()]


def campaign_analytics(
    session: Session, workspace_id: str, campaign_id: str, window: Window,
    grouping: Grouping, now: datetime,
) -> dict[str, Any]:
    campaign = get_campaign(session, workspace_id, campaign_id)
    freshness = as_of(session, workspace_id)  # first: a later refresh only adds to it
    in_campaign = CampaignBucket.campaign_id == campaign.id
    days = by_day(session, CampaignBucket, workspace_id, window, in_campaign)
    totals = sum(days.values(), Counts())
    recent = sum(by_day(session, CampaignBucket, workspace_id,
                        last_days(7, window.timezone, now), in_campaign).values(), Counts())
    leads = lead_numbers(session, campaign.id)
    return {
        "campaign": {"id": campaign.id, "name": campaign.name, "status": campaign.status,
                     "created_at": campaign.created_at},
        "time_range": window.as_dict(),
        "as_of": freshness,
        "summary": summary_of(totals),
        "rates": rates.rates(totals),
        "time_series": time_series(days, window, grouping),
        "replies_by_classification": {name: totals[column]
                                      for name, column in REPLY_CLASSES.items()},
        "leads": leads,
        "progress": progress(session, campaign.id),
        "last_7_days": {
            "messages": recent["sent"], "responses": recent["total_replies"],
            "qualified": _qualified_between(session, campaign.id,
                                            last_days(7, window.timezone, now)),
        },
    }


def lead_numbers(session: Session, campaign_id: str) -> dict[str, Any]:
    """Current state, all time: statuses, qualification, funnel and lead rates."""
    by_status = dict.fromkeys((s.value for s in LeadStatus), 0)
    by_qualification = dict.fromkeys((q.value for q in Qualification), 0)
    for status, qualification, count in session.execute(
        select(Lead.status, Lead.qualification, func.count())
        .where(Lead.campaign_id == campaign_id).group_by(Lead.status, Lead.qualification)
    ):
        by_status[status] += count
        by_qualification[qualification] += count
    total = sum(by_status.values())
    contacted, sent_messages = session.execute(
        select(func.count(func.distinct(Message.lead_id)), func.count())
        .where(Message.campaign_id == campaign_id, Message.sent_at.is_not(None))
    ).one()
    replied = session.scalar(
        select(func.count(func.distinct(Reply.lead_id)))
        .where(Reply.campaign_id == campaign_id, Reply.classification.in_(POSITIVE))
    ) or 0
    placed = by_status[LeadStatus.PLACED.value]
    qualified = by_qualification[Qualification.QUALIFIED.value]
    return {
        "total": total,
        "by_status": by_status,
        "by_qualification": by_qualification,
        "funnel": {"discovered": total, "contacted": contacted, "replied": replied,
                   "placed": placed},
        "response_rate": rates.percent(replied, total),
        "qualification_rate": rates.percent(qualified, replied),
        "conversion_rate": rates.percent(qualified, total),
        "placement_rate": rates.percent(placed, contacted),
        "messages_per_lead": rates.round_half_up(rates.fraction(sent_messages, total)),
    }


def progress(session: Session, campaign_id: str) -> dict[str, Any]:
    """Per lead: pending (no attempt), sent, failed (every attempt failed) or partial."""
    per_lead = (
        select(Lead.id,
               func.count(Message.id).filter(Message.sent_at.is_not(None)).label("sent"),
               func.count(Message.id).filter(Message.sent_at.is_(None)).label("failed"))
        .outerjoin(Message, Message.lead_id == Lead.id)
        .where(Lead.campaign_id == campaign_id).group_by(Lead.id).subquery()
    )
    sent, failed = per_lead.c.sent, per_lead.c.failed
    row = session.execute(select(
        func.count(),
        func.count().filter(sent + failed == 0),
        func.count().filter(sent > 0, failed == 0),
        func.count().filter(sent == 0, failed > 0),
        func.count().filter(sent > 0, failed > 0),
        func.coalesce(func.sum(sent), 0), func.coalesce(func.sum(failed), 0),
    )).one()
    total, pending, only_sent, only_failed, partial, messages_sent, messages_failed = row
    return {
        "total": total, "pending": pending, "sent": only_sent, "failed": only_failed,
        "partial": partial,
        "percent": rates.percent(only_sent + only_failed + partial, total),
        "delivery_health": rates.delivery_health(messages_sent, messages_failed),
    }


def _qualified_between(session: Session, campaign_id: str, window: Window) -> int:
    return session.scalar(
        select(func.count()).where(
            Lead.campaign_id == campaign_id, Lead.qualified_at >= window.start,
            Lead.qualified_at < window.end)
    ) or 0

