"""The closed sets of values stored in text columns, each defined once."""

from __future__ import annotations

from enum import StrEnum


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"
    ARCHIVED = "archived"


class LeadStatus(StrEnum):
    DISCOVERED = "discovered"
    CONTACTED = "contacted"
    REPLIED = "replied"
    PLACED = "placed"
    LOST = "lost"
    BOUNCED = "bounced"


class StatusSource(StrEnum):
    """Who made a lead's last status move: automatic moves never undo a person's."""

    AUTO = "auto"
    MANUAL = "manual"


class Qualification(StrEnum):
    PENDING = "pending"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"


class EventType(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    OPENED = "opened"
    CLICKED = "clicked"
    REPLIED = "replied"
    SPAM_COMPLAINT = "spam_complaint"
    UNSUBSCRIBED = "unsubscribed"


class BounceType(StrEnum):
    HARD = "hard"
    SOFT = "soft"


class MailboxProvider(StrEnum):
    GMAIL = "gmail"
    OUTLOOK = "outlook"
    YAHOO = "yahoo"
    ICLOUD = "icloud"
    OTHER = "other"


class MessageState(StrEnum):
    """A message's latest known state, advanced by its events."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    BOUNCED = "bounced"


class ReplyClass(StrEnum):
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    OUT_OF_OFFICE = "out_of_office"
    REPLIED = "replied"


class ClassifiedBy(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.PROCESSING)
