"""Webhooks and their deliveries. Request bodies are the domain's own input models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from campaign_analytics.models import Webhook, WebhookDelivery, WebhookDeliveryAttempt
from campaign_analytics.models.webhook import DeliveryStatus, WebhookStatus
from campaign_analytics.webhooks.events import WebhookEvent
from campaign_analytics.webhooks.subscriptions import Created, WebhookChanges, WebhookFields

from .common import UtcDatetime

__all__ = ["WebhookChanges", "WebhookFields"]


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[WebhookEvent]
    description: str | None
    status: WebhookStatus
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls.model_validate(webhook, from_attributes=True)


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_…`): shown only in this "
                                    "response, store it now (docs/webhooks.md)")

    @classmethod
    def created(cls, created: Created) -> WebhookWithSecret:
        return cls(**WebhookOut.of(created.webhook).model_dump(), secret=created.secret)


class AttemptOut(BaseModel):
    number: int
    attempted_at: UtcDatetime
    response_status: int | None = Field(description="The receiver's HTTP status; null when "
                                                     "no answer came (see error)")
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, attempt: WebhookDeliveryAttempt) -> AttemptOut:
        return cls.model_validate(attempt, from_attributes=True)


class DeliveryOut(BaseModel):
    id: str = Field(description="Sent as the webhook-id header, the same on every attempt")
    webhook_id: str
    event: WebhookEvent
    job_id: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: UtcDatetime | None = Field(
        description="When the next attempt is due (null once succeeded or failed)")
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    payload: dict[str, Any] = Field(description="The JSON body sent, the same every attempt")
    attempts: list[AttemptOut] = Field(description="Every attempt, oldest first")

    @classmethod
    def of(cls, delivery: WebhookDelivery, attempts: list[WebhookDeliveryAttempt]
           ) -> DeliveryOut:
        pending = delivery.status == DeliveryStatus.PENDING
        return cls(
            id=delivery.id, webhook_id=delivery.webhook_id, event=WebhookEvent(delivery.event),
            job_id=delivery.job_id, status=DeliveryStatus(delivery.status),
            attempt_count=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            created_at=delivery.created_at, finished_at=delivery.finished_at,
            payload=delivery.payload, attempts=[AttemptOut.of(a) for a in attempts],
        )
