"""Campaign analytics (SPEC §7, §11.7-10): windowed numbers from the rollups, lead state live."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ..errors import CampaignNotFound
from ..models import (
    Campaign,
    CampaignBucket,
    CampaignLeads,
    Lead,
    RefreshState,
    Reply,
    Workspace,
)
from ..models.rollup import LEAD_COUNTS
from ..models.vocabulary import LeadStatus, Qualification, ReplyClass
from . import rates
from .facts import FactsQuery
from .lead_versions import lead_version
from .reading import REPLY_CLASSES, ROLLUP_CACHE, Counts, Engagement, by_day
from .windows import Grouping, Window, bucket_of, last_days

SUMMARY = {
    "emails_sent": "sent", "emails_delivered": "delivered", "emails_bounced": "bounced",
    "emails_opened": "opened", "emails_clicked": "clicked", "emails_replied": "replied",
    "spam_complaints": "spam_complaints", "unsubscribes": "unsubscribes",
    "emails_failed": "failed", "total_opens": "total_opens", "total_clicks": "total_clicks",
    "total_replies": "total_replies", "machine_opens": "machine_opened",
    "bot_clicks": "bot_clicked", "inferred_opens": "inferred_opens",
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


@dataclass(frozen=True)
class CampaignFacts:
    """What a campaign's analytics depend on besides the request, read in one statement:
    the campaign, the workspace's timezone, how far the rollups reach and the version of
    the live lead numbers. Equal facts and request give an equal answer."""

    workspace_id: str
    id: str
    name: str
    status: str
    created_at: datetime
    timezone: str
    refreshed_at: datetime | None
    as_of: datetime | None
    lead_version: Decimal  # a sum of bigints


# Built once: constructing the statement costs more Python time than running it.
CAMPAIGN_FACTS = FactsQuery(
    select(Campaign.workspace_id, Campaign.id, Campaign.name, Campaign.status,
           Campaign.created_at, Workspace.timezone, RefreshState.refreshed_at,
           RefreshState.as_of, lead_version(Campaign.id).label("lead_version"))
    .join(Workspace, Workspace.id == Campaign.workspace_id)
    .outerjoin(RefreshState, RefreshState.workspace_id == Campaign.workspace_id)
    .where(Campaign.id == bindparam("campaign_id"),
           Campaign.workspace_id == bindparam("workspace_id"), Campaign.deleted_at.is_(None)),
    CampaignFacts, lambda params: CampaignNotFound(params["campaign_id"]),
)


def answer_key(facts: CampaignFacts, window: Window, grouping: Grouping, now: datetime,
               engagement: Engagement) -> Hashable | None:
    """Under what a whole answer may be kept: everything ``campaign_analytics`` reads.
    None before the workspace's first refresh (the rollups carry no version yet)."""
    if facts.refreshed_at is None:
        return None
    return ("campaign", facts, window, grouping, last_days(7, window.timezone, now).start,
            engagement)


def campaign_analytics(
    session: Session, facts: CampaignFacts, window: Window, grouping: Grouping,
    now: datetime, engagement: Engagement = Engagement.ALL,
) -> dict[str, Any]:
    recent = last_days(7, window.timezone, now)
    rolled = ROLLUP_CACHE.get_or_compute(
        facts.workspace_id, facts.refreshed_at,
        ("campaign", facts.id, window, grouping, recent.start, engagement),
        lambda: _rolled_up(session, facts.workspace_id, facts.id, window, grouping, recent,
                           engagement))
    leads = lead_numbers(session, facts.id, recent, rolled["lead_messages"])
    return {
        "campaign": {"id": facts.id, "name": facts.name, "status": facts.status,
                     "created_at": facts.created_at},
        "time_range": window.as_dict(),
        "as_of": facts.as_of,
        **{name: rolled[name] for name in (
            "summary", "rates", "time_series", "replies_by_classification")},
        "leads": leads["numbers"],
        "progress": progress(leads["total"], rolled["lead_messages"]),
        "last_7_days": {**rolled["last_7_days"], "qualified": leads["qualified_recently"]},
    }


def _rolled_up(
    session: Session, workspace_id: str, campaign_id: str, window: Window,
    grouping: Grouping, recent: Window, engagement: Engagement,
) -> dict[str, Any]:
    """Everything that comes from the rollups: it changes only when a refresh does."""
    in_campaign = CampaignBucket.campaign_id == campaign_id
    days = by_day(session, CampaignBucket, workspace_id, window, in_campaign,
                  engagement=engagement)
    totals = sum(days.values(), Counts())
    last7 = sum(by_day(session, CampaignBucket, workspace_id, recent, in_campaign).values(),
                Counts())
    return {
        "summary": summary_of(totals),
        "rates": rates.rates(totals),
        "time_series": time_series(days, window, grouping),
        "replies_by_classification": {name: totals[column]
                                      for name, column in REPLY_CLASSES.items()},
        "last_7_days": {"messages": last7["sent"], "responses": last7["total_replies"]},
        "lead_messages": lead_messages(session, campaign_id),
    }


def lead_messages(session: Session, campaign_id: str) -> dict[str, int]:
    """Messages sent and failed, and the contacted leads: those whose attempts were all
    sent, all failed, or some of each."""
    row = session.get(CampaignLeads, campaign_id)
    counts = {name: getattr(row, name) if row is not None else 0 for name in LEAD_COUNTS}
    return {"contacted": counts["only_sent"] + counts["partial"], **counts}


def lead_numbers(session: Session, campaign_id: str, recent: Window,
                 messages: dict[str, int]) -> dict[str, Any]:
    """Lead state, live: statuses, qualification, the funnel and lead rates."""
    by_status = dict.fromkeys((s.value for s in LeadStatus), 0)
    by_qualification = dict.fromkeys((q.value for q in Qualification), 0)
    qualified_recently = 0
    for status, qualification, count, recently in session.execute(
        select(Lead.status, Lead.qualification, func.count(),
               func.count().filter(Lead.qualified_at >= recent.start,
                                   Lead.qualified_at < recent.end))
        .where(Lead.campaign_id == campaign_id).group_by(Lead.status, Lead.qualification)
    ):
        by_status[status] += count
        by_qualification[qualification] += count
        qualified_recently += recently
    total = sum(by_status.values())
    replied = session.scalar(
        select(func.count(func.distinct(Reply.lead_id)))
        .where(Reply.campaign_id == campaign_id, Reply.classification.in_(POSITIVE))
    ) or 0
    contacted = messages["contacted"]
    placed = by_status[LeadStatus.PLACED.value]
    qualified = by_qualification[Qualification.QUALIFIED.value]
    numbers = {
        "total": total,
        "by_status": by_status,
        "by_qualification": by_qualification,
        "funnel": {"discovered": total, "contacted": contacted, "replied": replied,
                   "placed": placed},
        "response_rate": rates.percent(replied, total),
        "qualification_rate": rates.percent(qualified, replied),
        "conversion_rate": rates.percent(qualified, total),
        "placement_rate": rates.percent(placed, contacted),
        "messages_per_lead": rates.round_half_up(rates.fraction(messages["sent"], total)),
    }
    return {"numbers": numbers, "total": total, "qualified_recently": qualified_recently}


def progress(total: int, messages: dict[str, int]) -> dict[str, Any]:
    """Per lead: pending (no attempt), sent, failed (every attempt failed) or partial."""
    attempted = messages["only_sent"] + messages["only_failed"] + messages["partial"]
    return {
        "total": total, "pending": total - attempted, "sent": messages["only_sent"],
        "failed": messages["only_failed"], "partial": messages["partial"],
        "percent": rates.percent(attempted, total),
        "delivery_health": rates.delivery_health(messages["sent"], messages["failed"]),
    }
