"""Event ingestion, replies and suppressions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from campaign_analytics.ingestion import MAX_EVENTS
from campaign_analytics.models import Reply, Suppression
from campaign_analytics.models.vocabulary import ClassifiedBy, ReplyClass

from .common import PageQuery, Strict, UtcDatetime
from .outreach import FailedItem


class EventBatch(Strict):
    events: list[Any] = Field(description=(
        f"Up to {MAX_EVENTS} events. Each has external_id (idempotency), type, occurred_at "
        "(ISO 8601 with offset), campaign_id, message_id; sent/failed also lead_id, "
        "account_id, recipient and optionally step, variant, subject; bounced bounce_type "
        "(hard|soft) and reason; clicked url; replied from, subject, body, headers; "
        "opened/clicked optionally ip and user_agent."
    ))


class IngestResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[FailedItem]


class ReplyOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    id: str
    campaign_id: str
    message_id: str
    lead_id: str | None
    received_at: UtcDatetime
    from_: str | None = Field(alias="from")
    subject: str | None
    body: str | None
    classification: ReplyClass
    classified_by: ClassifiedBy

    @classmethod
    def of(cls, reply: Reply) -> ReplyOut:
        return cls.model_validate({
            "id": reply.id, "campaign_id": reply.campaign_id, "message_id": reply.message_id,
            "lead_id": reply.lead_id, "received_at": reply.received_at,
            "from": reply.from_address, "subject": reply.subject, "body": reply.body,
            "classification": reply.classification, "classified_by": reply.classified_by,
        })


class ReplyListQuery(PageQuery):
    classification: ReplyClass | None = Field(None, description="Only replies of this class")


class ReplyChange(Strict):
    classification: ReplyClass


class SuppressionOut(BaseModel):
    email: str
    reason: str
    created_at: UtcDatetime

    @classmethod
    def of(cls, suppression: Suppression) -> SuppressionOut:
        return cls.model_validate(suppression, from_attributes=True)
