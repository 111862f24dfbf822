"""Outreach attempts, the raw event stream (the large fact table) and replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at_column, one_of
from .vocabulary import (
    BounceType,
    ClassifiedBy,
    EventType,
    MailboxProvider,
    MessageState,
    ReplyClass,
)


class Message(Base):
    """One e-mail sent to a lead; ``message_id`` is the sender's own identifier."""

    __tablename__ = "messages"
    __table_args__ = (
        one_of("mailbox_provider", MailboxProvider),
        one_of("state", MessageState),
        Index("uq_messages_workspace_message_id", "workspace_id", "message_id", unique=True),
        Index("ix_messages_campaign_sent", "campaign_id", "sent_at"),
        Index("ix_messages_lead", "lead_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # No foreign key to workspaces (migration 0008): ingestion writes messages under the
    # workspace's ingest lock, where each key costs a lookup per row. Messages go with their
    # campaign (the key below), always one of their own workspace: a purge deletes them,
    # and deleting a workspace deletes its campaigns.
    workspace_id: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200))
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("sending_accounts.id", ondelete="SET NULL")
    )
    step: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    variant: Mapped[str | None] = mapped_column(String(50))
    subject: Mapped[str | None] = mapped_column(Text)
    recipient: Mapped[str | None] = mapped_column(String(320))
    mailbox_provider: Mapped[str] = mapped_column(
        String(16), server_default=MailboxProvider.OTHER.value
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), server_default=MessageState.PENDING.value)
    created_at: Mapped[datetime] = created_at_column()


class EmailEvent(Base):
    """Append-only. ``message_id`` is the sender's identifier, not a foreign key:
    webhooks deliver events before the ``sent`` that creates their message."""

    __tablename__ = "email_events"
    __table_args__ = (
        one_of("type", EventType),
        one_of("bounce_type", BounceType),
        Index("uq_email_events_workspace_external", "workspace_id", "external_id", unique=True),
        Index("ix_email_events_campaign_occurred", "campaign_id", "occurred_at"),
        Index("ix_email_events_workspace_message", "workspace_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    # No foreign key to workspaces (migration 0008), as for messages: events go with their
    # campaign, always one of their own workspace.
    workspace_id: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    bounce_type: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(45))
    http_method: Mapped[str | None] = mapped_column(String(10))
    ingested_at: Mapped[datetime] = created_at_column()


class Reply(Base):
    __tablename__ = "replies"
    __table_args__ = (
        one_of("classification", ReplyClass),
        one_of("classified_by", ClassifiedBy),
        Index("ix_replies_campaign_received", "campaign_id", "received_at"),
        Index("ix_replies_lead", "lead_id"),
        Index("ix_replies_workspace_message", "workspace_id", "message_id"),
        Index("uq_replies_workspace_event", "workspace_id", "event_external_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200))
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    event_external_id: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    from_address: Mapped[str | None] = mapped_column("from", String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    classification: Mapped[str] = mapped_column(String(16))
    classified_by: Mapped[str] = mapped_column(String(8), server_default=ClassifiedBy.AUTO.value)
    created_at: Mapped[datetime] = created_at_column()
