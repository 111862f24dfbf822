"""Rollups: counts per 15-minute UTC bucket, written only by refresh, read by analytics.

Every IANA offset is a whole number of quarter hours, so a local day, week or month is
always a whole number of buckets: boundaries are exact in Asia/Kolkata and across DST.
Unique counts (opened, clicked, replied, delivered, …) sit in the bucket of the message's
first such event; ``slot_*`` credit a message's engagement, whenever it came, to the
bucket the message was sent in (the send-time heatmap).

Rollup rows have no foreign keys: a full refresh writes millions of them at once, and each
key is a lookup per row (dropping the two cut a first full refresh at 10M events from
136.6 to 115.1 s).
They go with their campaign: its purge deletes them, and a statement trigger on
``campaigns`` (migration 0012) deletes those of a campaign deleted otherwise, as with its
workspace. A purge is ordered with refreshes so that none writes rows of a campaign it
removed (see ``purge``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

# Every counter column, in one place: refresh writes them all, readers pick what they need.
COUNTERS: tuple[str, ...] = (
    "sent", "failed", "delivered", "bounced_hard", "bounced_soft", "spam_complaints",
    "unsubscribes", "opened", "clicked", "replied", "total_opens", "total_clicks",
    "replies_interested", "replies_not_interested", "replies_out_of_office", "replies_other",
    "slot_opened", "slot_clicked", "slot_replied",
    # Engagement people can trust (SPEC §10): what is left when machine opens and bot
    # clicks are not counted (a human click implies an open), and the machines themselves.
    "human_opened", "human_clicked", "inferred_opens", "human_total_opens",
    "human_total_clicks", "slot_human_opened", "slot_human_clicked", "machine_opened",
    "bot_clicked",
)


def _counter() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, server_default="0")


class _Counters:
    sent: Mapped[int] = _counter()
    failed: Mapped[int] = _counter()
    delivered: Mapped[int] = _counter()
    bounced_hard: Mapped[int] = _counter()
    bounced_soft: Mapped[int] = _counter()
    spam_complaints: Mapped[int] = _counter()
    unsubscribes: Mapped[int] = _counter()
    opened: Mapped[int] = _counter()
    clicked: Mapped[int] = _counter()
    replied: Mapped[int] = _counter()
    total_opens: Mapped[int] = _counter()
    total_clicks: Mapped[int] = _counter()
    replies_interested: Mapped[int] = _counter()
    replies_not_interested: Mapped[int] = _counter()
    replies_out_of_office: Mapped[int] = _counter()
    replies_other: Mapped[int] = _counter()
    slot_opened: Mapped[int] = _counter()
    slot_clicked: Mapped[int] = _counter()
    slot_replied: Mapped[int] = _counter()
    human_opened: Mapped[int] = _counter()
    human_clicked: Mapped[int] = _counter()
    inferred_opens: Mapped[int] = _counter()
    human_total_opens: Mapped[int] = _counter()
    human_total_clicks: Mapped[int] = _counter()
    slot_human_opened: Mapped[int] = _counter()
    slot_human_clicked: Mapped[int] = _counter()
    machine_opened: Mapped[int] = _counter()
    bot_clicked: Mapped[int] = _counter()


class CampaignBucket(_Counters, Base):
    """Per campaign: what campaign analytics, overview, compare and the heatmap read."""

    __tablename__ = "rollup_campaign_buckets"
    __table_args__ = (Index("ix_rollup_campaign_buckets_workspace_bucket",
                            "workspace_id", "bucket"),)

    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(40))


class DeliveryBucket(_Counters, Base):
    """Per campaign, sending account and mailbox provider: deliverability and accounts.
    The key leads with the workspace and bucket, the way every reader filters; a message
    without an account (its account was removed) has ``account_id`` ''."""

    __tablename__ = "rollup_delivery_buckets"

    workspace_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), primary_key=True)


class BounceReasonBucket(Base):
    """Bounces by reason, counted like ``bounced_hard``/``bounced_soft``."""

    __tablename__ = "rollup_bounce_reasons"

    workspace_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bounce_type: Mapped[str] = mapped_column(String(8), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, primary_key=True)
    bounces: Mapped[int] = _counter()


class CampaignLeads(Base):
    """Per campaign, as of the watermark: messages sent and messages that failed without
    ever being sent to a lead, and its leads by what their messages did (only sent, only
    failed, some of each). Campaign progress and contacted leads read these; a refresh
    computes them from each lead's messages (``contributions.per_lead``)."""

    __tablename__ = "rollup_campaign_leads"

    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
    sent: Mapped[int] = _counter()
    failed: Mapped[int] = _counter()
    only_sent: Mapped[int] = _counter()
    only_failed: Mapped[int] = _counter()
    partial: Mapped[int] = _counter()


# What ``CampaignLeads`` counts, in the order refresh computes it.
LEAD_COUNTS: tuple[str, ...] = ("sent", "failed", "only_sent", "only_failed", "partial")


class VerdictReason(Base):
    """A verdict (``human|machine|unknown``) and the reason the rules gave it, numbered once
    and for all: a stored verdict is the number, two bytes instead of two texts, and it
    reads the same under any later rules. Rows are only ever added."""

    __tablename__ = "verdict_reasons"
    __table_args__ = (UniqueConstraint("verdict", "reason"),)

    id: Mapped[int] = mapped_column(SmallInteger, Identity(), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(40))


class EventVerdict(Base):
    """Who opened or clicked: each open and click of a sent message with its verdict and
    reason (``verdict_reasons``), as the last refresh that touched its message classified
    it under the rules of ``refresh_state.engagement_rules``.

    As narrow as a row gets, with no foreign key and no index but the key: a refresh writes
    a workspace's verdicts all at once (its first, or the first after a rules change), and
    every byte, index entry and key lookup is paid per row. The event says the rest
    (workspace, campaign), and a trigger on ``email_events`` (migration 0011) deletes the
    verdicts of deleted events, whether purged or gone with their workspace."""

    __tablename__ = "event_verdicts"

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reason_id: Mapped[int] = mapped_column(SmallInteger)


class RefreshState(Base):
    """How far a workspace's rollups reach: every event with ``id <= watermark`` is in
    them, and every event ingested before ``as_of`` has such an id."""

    __tablename__ = "refresh_state"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    full_refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Changes with every refresh that changes rollups (a campaign rebuild keeps ``as_of``):
    # what caches of rollup-derived numbers are keyed by.
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The engagement rules (their version) the rollups and verdicts were computed with: a
    # refresh under other rules rebuilds everything (SPEC §10: history is re-classified).
    engagement_rules: Mapped[str | None] = mapped_column(String(40))


class ReplyCorrection(Base):
    """A manual reclassification not yet folded into the rollups (see analytics.refresh)."""

    __tablename__ = "reply_corrections"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    reply_id: Mapped[str] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"))
    old_classification: Mapped[str] = mapped_column(String(16))
    new_classification: Mapped[str] = mapped_column(String(16))
