"""Campaigns, the leads they contact and the mailboxes they send from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    String,
    Text,
    false,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at_column, one_of, updated_at_column
from .vocabulary import CampaignStatus, LeadStatus, Qualification, StatusSource


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        one_of("status", CampaignStatus),
        Index("ix_campaigns_workspace_created", "workspace_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    status: Mapped[str] = mapped_column(String(16), server_default=CampaignStatus.ACTIVE.value)
    # Set when a delete is accepted: the campaign vanishes at once, a job purges its rows.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class SendingAccount(Base):
    __tablename__ = "sending_accounts"
    __table_args__ = (Index("uq_sending_accounts_workspace_email", "workspace_id", "email",
                            unique=True),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    domain: Mapped[str] = mapped_column(String(255))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    blacklisted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    blacklist_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()


def _score(name: str) -> CheckConstraint:
    return CheckConstraint(f"{name} IS NULL OR ({name} >= 0 AND {name} <= 1)", name=name)


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        one_of("status", LeadStatus),
        one_of("qualification", Qualification),
        one_of("status_source", StatusSource),
        _score("quality_score"),
        _score("relevance_score"),
        _score("guest_post_likelihood"),
        Index("ix_leads_campaign_status", "campaign_id", "status"),
        Index("ix_leads_workspace_created", "workspace_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    website_url: Mapped[str | None] = mapped_column(Text)
    website_title: Mapped[str | None] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    quality_score: Mapped[float | None] = mapped_column(Double)
    relevance_score: Mapped[float | None] = mapped_column(Double)
    guest_post_likelihood: Mapped[float | None] = mapped_column(Double)
    source: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), server_default=LeadStatus.DISCOVERED.value)
    status_source: Mapped[str] = mapped_column(String(8), server_default=StatusSource.AUTO.value)
    qualification: Mapped[str] = mapped_column(
        String(16), server_default=Qualification.PENDING.value
    )
    qualified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("sending_accounts.id", ondelete="SET NULL")
    )
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Suppression(Base):
    """Addresses never to contact again in a workspace."""

    __tablename__ = "suppressions"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()


class LeadChange(Base):
    """A mark that a transaction changed a campaign's leads or replies, left by database
    triggers (migration 0009). The sum of the weights a snapshot sees grows with every
    change it can see: the version of the campaign's live lead numbers. Refresh folds a
    campaign's marks into one (``analytics.lead_versions``)."""

    __tablename__ = "lead_changes"

    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    xid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    weight: Mapped[int] = mapped_column(BigInteger, server_default="1")
