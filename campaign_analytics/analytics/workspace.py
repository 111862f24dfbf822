"""Workspace-wide analytics (SPEC §7, §11.11, §11.15): the overview, the all-time snapshot
and the sending accounts, read from the rollups of live (not deleted) campaigns."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, NamedTuple

from sqlalchemy import column, func, select, text
from sqlalchemy.orm import Session

from ..campaigns import lead_counts
from ..errors import WorkspaceNotFound
from ..models import (
    Campaign,
    CampaignBucket,
    DeliveryBucket,
    Lead,
    SendingAccount,
)
from ..models.vocabulary import CampaignStatus, LeadStatus
from ..workspaces import get_workspace, validate_timezone
from . import rates
from .facts import FactsQuery
from .reading import (
    ROLLUP_CACHE,
    Counts,
    Engagement,
    as_of,
    by_key,
    total,
    windowed,
)
from .windows import Window, last_days

TOP_CAMPAIGNS = 5
ACCOUNT_RECENT_DAYS = 30
OVERVIEW_SUMMARY = {
    "emails_sent": "sent", "emails_delivered": "delivered", "emails_opened": "opened",
    "emails_clicked": "clicked", "emails_replied": "replied",
    "machine_opens": "machine_opened", "bot_clicks": "bot_clicked",
    "inferred_opens": "inferred_opens",
}
OVERVIEW_RATES = ("delivery_rate", "open_rate", "click_rate", "reply_rate")


def _live_campaigns(workspace_id: str) -> Any:
    return (Campaign.workspace_id == workspace_id) & Campaign.deleted_at.is_(None)


def _campaign_counts(session: Session, workspace_id: str) -> tuple[int, int]:
    """Every live campaign (archived included) and the active ones."""
    everyone, active = session.execute(
        select(func.count(), func.count().filter(Campaign.status == CampaignStatus.ACTIVE.value))
        .where(_live_campaigns(workspace_id))
    ).one()
    return int(everyone), int(active)


class LiveCampaign(NamedTuple):
    id: str
    name: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class WorkspaceFacts:
    """What the workspace-wide answers depend on besides the request, read in one
    statement: the workspace's timezone, how far the rollups reach, and a digest of its
    live campaigns' ids, names and statuses (small keys however many campaigns)."""

    workspace_id: str
    timezone: str
    refreshed_at: datetime | None
    as_of: datetime | None
    campaigns: str


WORKSPACE_FACTS = FactsQuery(
    text("""
SELECT w.id AS workspace_id, w.timezone, r.refreshed_at, r.as_of,
       (SELECT encode(sha256(convert_to(coalesce(
                   json_agg(json_build_array(c.id, c.name, c.status) ORDER BY c.id)::text,
                   ''), 'UTF8')), 'hex')
        FROM campaigns c WHERE c.workspace_id = w.id AND c.deleted_at IS NULL) AS campaigns
FROM workspaces w LEFT JOIN refresh_state r ON r.workspace_id = w.id
WHERE w.id = :workspace_id
""").columns(*map(column, ("workspace_id", "timezone", "refreshed_at", "as_of", "campaigns"))),
    WorkspaceFacts, lambda params: WorkspaceNotFound(params["workspace_id"]),
)


def live_campaigns(session: Session, workspace_id: str) -> list[LiveCampaign]:
    rows = session.execute(
        select(Campaign.id, Campaign.name, Campaign.status, Campaign.created_at)
        .where(_live_campaigns(workspace_id)).order_by(Campaign.id))
    return [LiveCampaign(*row) for row in rows]


def _per_campaign(session: Session, facts: WorkspaceFacts, campaigns: list[LiveCampaign],
                  window: Window, engagement: Engagement) -> dict[str, Counts]:
    """The window's counts of every live campaign that has any."""
    every_campaign = ROLLUP_CACHE.get_or_compute(
        facts.workspace_id, facts.refreshed_at, ("overview", window, engagement),
        lambda: by_key(session, windowed(
            CampaignBucket, facts.workspace_id, window, key=CampaignBucket.campaign_id,
            live_only=False), engagement))
    return {campaign.id: every_campaign[campaign.id] for campaign in campaigns
            if campaign.id in every_campaign}


def overview_key(facts: WorkspaceFacts, window: Window, engagement: Engagement,
                 ) -> Hashable | None:
    """Under what a whole overview may be kept (None before the first refresh)."""
    return None if facts.refreshed_at is None else ("overview", facts, window, engagement)


def overview(session: Session, facts: WorkspaceFacts, window: Window,
             engagement: Engagement = Engagement.ALL) -> dict[str, Any]:
    campaigns = live_campaigns(session, facts.workspace_id)
    per_campaign = _per_campaign(session, facts, campaigns, window, engagement)
    totals = sum(per_campaign.values(), Counts())
    active = sum(campaign.status == CampaignStatus.ACTIVE.value for campaign in campaigns)
    return {
        "time_range": window.as_dict(),
        "as_of": facts.as_of,
        "summary": {"total_campaigns": len(campaigns), "active_campaigns": active,
                    **{name: totals[column] for name, column in OVERVIEW_SUMMARY.items()}},
        "rates": rates.rates(totals, OVERVIEW_RATES),
        "top_campaigns": top_campaigns(campaigns, per_campaign),
    }


def top_campaigns(campaigns: list[LiveCampaign], per_campaign: dict[str, Counts],
                  limit: int = TOP_CAMPAIGNS) -> list[dict[str, Any]]:
    """By the unrounded reply rate, then emails_sent (more first), then campaign id;
    a campaign needs a delivery in the window to be ranked at all."""
    ranked = sorted(
        ((campaign_id, counts) for campaign_id, counts in per_campaign.items()
         if counts["delivered"] > 0),
        key=lambda item: (-_reply_rate(item[1]), -item[1]["sent"], item[0]),
    )[:limit]
    by_id = {campaign.id: campaign for campaign in campaigns}
    return [_top_entry(by_id[campaign_id], counts) for campaign_id, counts in ranked]


def campaign_table(session: Session, facts: WorkspaceFacts, window: Window,
                   engagement: Engagement = Engagement.ALL) -> dict[str, Any]:
    """Every live campaign's window numbers, zeros included, newest first: the dashboard's
    campaign list reads all of them in one request instead of one per campaign."""
    campaigns = sorted(live_campaigns(session, facts.workspace_id),
                       key=lambda c: (c.created_at, c.id), reverse=True)
    per_campaign = _per_campaign(session, facts, campaigns, window, engagement)
    leads = lead_counts(session, facts.workspace_id, [campaign.id for campaign in campaigns])
    return {
        "time_range": window.as_dict(),
        "as_of": facts.as_of,
        "campaigns": [
            {**_top_entry(campaign, per_campaign.get(campaign.id, Counts())),
             "created_at": campaign.created_at, "leads": sum(leads[campaign.id].values())}
            for campaign in campaigns],
    }


def _reply_rate(counts: Counts) -> Fraction:
    numerator, denominator = rates.RATES["reply_rate"]
    return rates.fraction(counts[numerator], counts[denominator])


def _top_entry(campaign: LiveCampaign, counts: Counts) -> dict[str, Any]:
    return {
        "campaign_id": campaign.id,
        "campaign_name": campaign.name,
        "status": campaign.status,
        "emails_sent": counts["sent"],
        "emails_delivered": counts["delivered"],
        "emails_opened": counts["opened"],
        "emails_replied": counts["replied"],
        **rates.rates(counts, ("open_rate", "click_rate", "reply_rate")),
    }


def snapshot(session: Session, workspace_id: str) -> dict[str, Any]:
    """All time: sends and reply records from the rollups, placements from the leads."""
    everyone, _ = _campaign_counts(session, workspace_id)
    totals = total(session, windowed(CampaignBucket, workspace_id, None))
    placements = session.scalar(
        select(func.count()).select_from(Lead).join(Campaign, Campaign.id == Lead.campaign_id)
        .where(_live_campaigns(workspace_id), Lead.status == LeadStatus.PLACED.value)
    ) or 0
    return {
        "as_of": as_of(session, workspace_id),
        "total_campaigns": everyone,
        "total_sends": totals["sent"],
        "total_replies": totals["total_replies"],
        "total_placements": placements,
        "overall_response_rate": rates.percent(totals["total_replies"], totals["sent"]),
        "overall_placement_rate": rates.percent(placements, totals["sent"]),
    }


def account_analytics(session: Session, workspace_id: str, timezone: str | None,
                      now: datetime) -> dict[str, Any]:
    """Every sending account of the workspace, zeros included, oldest first; the 30 days
    are local to ``timezone`` (default the workspace's)."""
    timezone = validate_timezone(timezone or get_workspace(session, workspace_id).timezone)
    by_account = DeliveryBucket.account_id
    lifetime = by_key(session, windowed(DeliveryBucket, workspace_id, None, key=by_account))
    recent = by_key(session, windowed(
        DeliveryBucket, workspace_id, last_days(ACCOUNT_RECENT_DAYS, timezone, now),
        key=by_account))
    accounts = session.scalars(
        select(SendingAccount).where(SendingAccount.workspace_id == workspace_id)
        .order_by(SendingAccount.created_at, SendingAccount.id))
    return {
        "as_of": as_of(session, workspace_id),
        "timezone": timezone,
        "accounts": [_account_entry(account, lifetime.get(account.id, Counts()),
                                    recent.get(account.id, Counts()))
                     for account in accounts],
    }


def _account_entry(account: SendingAccount, lifetime: Counts, recent: Counts,
                   ) -> dict[str, Any]:
    sent, failed = lifetime["sent"], lifetime["failed"]
    return {
        "account_id": account.id,
        "email": account.email,
        "lifetime_sent": sent,
        "lifetime_failed": failed,
        "lifetime_bounced": lifetime["bounced"],
        "sent_last_30_days": recent["sent"],
        "success_rate": rates.percent(sent, sent + failed),
        "bounce_rate": rates.percent(lifetime["bounced"], sent),
        "health": rates.delivery_health(sent, failed),
    }
