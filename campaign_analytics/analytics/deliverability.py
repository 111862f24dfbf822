"""Workspace deliverability (SPEC §7, §11.12): bounces, complaints, reputation and the
mailbox providers, read from the delivery and bounce-reason rollups.

Filters: ``campaign_id`` and ``account_id`` narrow every windowed number. The blacklist
status is the sending accounts' current state (not windowed): every account of the
workspace, or the one ``account_id`` names, or — with ``campaign_id`` — the accounts that
have ever sent a message of that campaign (all time, so a quiet window still shows the
campaign's infrastructure); with both filters, their intersection.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ..accounts import get_account
from ..campaigns import get_campaign
from ..models import BounceReasonBucket, Campaign, DeliveryBucket, SendingAccount
from . import rates
from .reading import Counts, Engagement, as_of, by_day, by_key, windowed
from .windows import Window

TOP_REASONS = 5
PROVIDER_RATES = ("bounce_rate", "open_rate", "reply_rate", "spam_rate")


def deliverability(
    session: Session, workspace_id: str, window: Window, *,
    campaign_id: str | None = None, account_id: str | None = None,
    engagement: Engagement = Engagement.ALL,
) -> dict[str, Any]:
    """The deliverability report; unknown ids are CAMPAIGN_NOT_FOUND / ACCOUNT_NOT_FOUND."""
    if campaign_id is not None:
        campaign_id = get_campaign(session, workspace_id, campaign_id).id
    if account_id is not None:
        account_id = get_account(session, workspace_id, account_id).id
    # Freshness first: a refresh committing while we read can only make the numbers newer
    # than as_of claims, never older.
    fresh = as_of(session, workspace_id)
    filters = _filters(DeliveryBucket, campaign_id, account_id)
    days = by_day(session, DeliveryBucket, workspace_id, window, *filters)
    totals = sum(days.values(), Counts())
    providers = by_key(session, windowed(DeliveryBucket, workspace_id, window, *filters,
                                         key=DeliveryBucket.provider), engagement)
    return {
        "time_range": window.as_dict(),
        "as_of": fresh,
        "overall": overall(totals),
        "bounce_analysis": {
            "hard_bounces": totals["bounced_hard"],
            "soft_bounces": totals["bounced_soft"],
            "hard_bounce_rate": rates.percent(totals["bounced_hard"], totals["sent"]),
            "soft_bounce_rate": rates.percent(totals["bounced_soft"], totals["sent"]),
            "top_bounce_reasons": top_bounce_reasons(
                session, workspace_id, window, campaign_id, account_id, totals["bounced"]),
        },
        "reputation_trend": reputation_trend(days),
        "blacklist_status": blacklist_status(session, workspace_id, campaign_id, account_id),
        "by_provider": by_provider(providers),
    }


def overall(counts: Counts) -> dict[str, Any]:
    """Inbox placement is an estimate: what was neither bounced nor reported as spam.

    Floored at 0, which only matters if one message both bounced and drew a complaint."""
    sent = counts["sent"]
    placed = max(0, sent - counts["bounced"] - counts["spam_complaints"])
    return {
        "estimated_inbox_placement_rate": rates.percent(placed, sent),
        "spam_rate": rates.percent(counts["spam_complaints"], counts["delivered"]),
        "bounce_rate": rates.percent(counts["bounced"], sent),
        "health_score": _health(counts),
    }


def top_bounce_reasons(
    session: Session, workspace_id: str, window: Window, campaign_id: str | None,
    account_id: str | None, bounces: int,
) -> list[dict[str, Any]]:
    """The five most frequent reasons (hard and soft together), ties by reason in code-point
    order (``COLLATE "C"``: the same on every server); each as a share of the window's
    bounces."""
    model = BounceReasonBucket
    count = func.sum(model.bounces)
    rows = session.execute(
        select(model.reason, count.label("count"))
        .join(Campaign, Campaign.id == model.campaign_id)
        .where(model.workspace_id == workspace_id, Campaign.deleted_at.is_(None),
               model.bucket >= window.start, model.bucket < window.end,
               *_filters(model, campaign_id, account_id))
        .group_by(model.reason)
        .having(count > 0)
        .order_by(count.desc(), model.reason.collate("C"))
        .limit(TOP_REASONS)
    )
    return [{"reason": reason, "count": int(n), "percentage": rates.percent(int(n), bounces)}
            for reason, n in rows]


def reputation_trend(days: dict[date, Counts]) -> list[dict[str, Any]]:
    """The health score of each local day with sends, oldest first."""
    return [{"date": day.isoformat(), "score": _health(counts)}
            for day, counts in sorted(days.items()) if counts["sent"]]


def blacklist_status(
    session: Session, workspace_id: str, campaign_id: str | None, account_id: str | None,
) -> dict[str, Any]:
    """Current state of the filtered accounts (see the module docstring)."""
    conditions: list[ColumnElement[bool]] = [SendingAccount.workspace_id == workspace_id]
    if account_id is not None:
        conditions.append(SendingAccount.id == account_id)
    if campaign_id is not None:
        senders = (select(DeliveryBucket.account_id)
                   .where(DeliveryBucket.workspace_id == workspace_id,
                          DeliveryBucket.campaign_id == campaign_id,
                          DeliveryBucket.account_id.is_not(None))
                   .group_by(DeliveryBucket.account_id)
                   .having(func.sum(DeliveryBucket.sent) > 0))
        conditions.append(SendingAccount.id.in_(senders))
    blacklisted, ips, last_check = session.execute(
        select(func.bool_or(SendingAccount.blacklisted),
               func.count(func.distinct(SendingAccount.ip_address)),
               func.max(SendingAccount.blacklist_checked_at))
        .where(*conditions)
    ).one()
    checked: datetime | None = last_check
    return {"any_ip_blacklisted": bool(blacklisted), "ips_checked": int(ips),
            "last_check": checked}


def by_provider(providers: dict[str, Counts]) -> list[dict[str, Any]]:
    """Providers with sends, most sends first, ties by name."""
    rows = sorted(((name, counts) for name, counts in providers.items() if counts["sent"]),
                  key=lambda item: (-item[1]["sent"], item[0]))
    return [{"provider": name, "sent": counts["sent"], "delivered": counts["delivered"],
             **rates.rates(counts, PROVIDER_RATES)} for name, counts in rows]


def _health(counts: Counts) -> int | None:
    return rates.health_score(counts["sent"], counts["bounced_hard"], counts["bounced_soft"],
                              counts["spam_complaints"])


def _filters(model: Any, campaign_id: str | None, account_id: str | None,
             ) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if campaign_id is not None:
        conditions.append(model.campaign_id == campaign_id)
    if account_id is not None:
        conditions.append(model.account_id == account_id)
    return conditions
