"""An independent model of the analytics numbers, straight from the raw rows in plain Python.

It shares nothing with the rollup code: it reads email_events, messages, replies and leads
as they are stored and applies SPEC §7 and §11 literally, one message at a time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from campaign_analytics.db import Database

FIRSTS = {
    "sent": lambda e: e["type"] == "sent",
    "delivered": lambda e: e["type"] == "delivered",
    "bounced_hard": lambda e: e["type"] == "bounced" and e["bounce_type"] == "hard",
    "bounced_soft": lambda e: e["type"] == "bounced" and e["bounce_type"] == "soft",
    "spam_complaints": lambda e: e["type"] == "spam_complaint",
    "unsubscribes": lambda e: e["type"] == "unsubscribed",
    "opened": lambda e: e["type"] == "opened",
    "clicked": lambda e: e["type"] == "clicked",
    "replied": lambda e: e["type"] == "replied",
}


def pct(numerator: int, denominator: int) -> float:
    if not denominator:
        return 0.0
    exact = Decimal(numerator * 100) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass
class Fact:
    """One countable occurrence: a metric of a message's campaign at an instant."""

    campaign_id: str
    account_id: str | None
    provider: str
    metric: str
    at: datetime
    reason: str | None = None


@dataclass
class Reference:
    campaigns: dict[str, dict[str, Any]]
    facts: list[Fact] = field(default_factory=list)
    sends: list[tuple[str, datetime, set[str]]] = field(default_factory=list)

    @classmethod
    def load(cls, db: Database, workspace_id: str) -> Reference:
        with db.engine.connect() as conn:
            rows = lambda sql: [dict(r._mapping) for r in conn.execute(  # noqa: E731
                text(sql), {"ws": workspace_id})]
            campaigns = {r["id"]: r for r in rows(
                "SELECT id, name, status FROM campaigns WHERE workspace_id = :ws "
                "AND deleted_at IS NULL")}
            messages = {r["message_id"]: r for r in rows(
                "SELECT message_id, campaign_id, account_id, mailbox_provider "
                "FROM messages WHERE workspace_id = :ws")}
            events = rows("SELECT id, message_id, external_id, type, occurred_at, bounce_type, "
                          "reason FROM email_events WHERE workspace_id = :ws ORDER BY id")
            classes = {r["event_external_id"]: r["classification"] for r in rows(
                "SELECT event_external_id, classification FROM replies "
                "WHERE workspace_id = :ws")}
        reference = cls(campaigns)
        by_message: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in events:
            by_message[event["message_id"]].append(event)
        for message_id, evs in by_message.items():
            message = messages.get(message_id)
            if message is not None and message["campaign_id"] in campaigns:
                reference._add_message(message, evs, classes)
        return reference

    def _add_message(self, message: dict[str, Any], evs: list[dict[str, Any]],
                     classes: dict[str, str]) -> None:
        def fact(metric: str, at: datetime, reason: str | None = None) -> None:
            self.facts.append(Fact(message["campaign_id"], message["account_id"],
                                   message["mailbox_provider"], metric, at, reason))

        for e in evs:
            if e["type"] == "failed":
                fact("failed", e["occurred_at"])
        sent_times = [e["occurred_at"] for e in evs if e["type"] == "sent"]
        if not sent_times:
            return  # never sent: only its failures count (SPEC §11.18)
        engaged = set()
        for metric, matches in FIRSTS.items():
            hits = sorted((e["occurred_at"], e["id"], e) for e in evs if matches(e))
            if hits:
                first = hits[0][2]
                reason = (first["reason"] or "").strip() or "unknown" \
                    if first["type"] == "bounced" else None
                fact(metric, hits[0][0], reason)
                engaged.add(metric)
        for e in evs:
            if e["type"] == "opened":
                fact("total_opens", e["occurred_at"])
            elif e["type"] == "clicked":
                fact("total_clicks", e["occurred_at"])
            elif e["type"] == "replied":
                fact("reply:" + classes.get(e["external_id"], "replied"), e["occurred_at"])
        self.sends.append((message["campaign_id"], min(sent_times),
                           engaged & {"opened", "clicked", "replied"}))

    def counts(self, start: datetime, end: datetime, campaign_id: str | None = None,
               account_id: str | None = None) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for f in self.facts:
            if start <= f.at < end and campaign_id in (None, f.campaign_id) \
                    and account_id in (None, f.account_id):
                totals[f.metric] += 1
        totals["bounced"] = totals["bounced_hard"] + totals["bounced_soft"]
        totals["total_replies"] = sum(v for k, v in list(totals.items())
                                      if k.startswith("reply:"))
        return totals

    def daily(self, start: datetime, end: datetime, timezone: str,
              campaign_id: str) -> dict[date, dict[str, int]]:
        zone = ZoneInfo(timezone)
        days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for f in self.facts:
            if start <= f.at < end and f.campaign_id == campaign_id:
                days[f.at.astimezone(zone).date()][f.metric] += 1
        return days


def bucket_start(day: date, group_by: str) -> date:
    if group_by == "week":
        return day - timedelta(days=day.weekday())
    if group_by == "month":
        return day.replace(day=1)
    return day
