"""Creating, reading, changing and deleting a workspace's webhooks.

The plain secret leaves this module only in ``Created`` (a new webhook, a rotated secret):
the API shows it that once; every other read returns the row, whose secret is ciphertext.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import ValidationFailed, WebhookNotFound
from ..fields import Changes, Text, Url
from ..ids import new_id
from ..models import Webhook
from ..models.webhook import WebhookStatus
from ..pagination import DEFAULT_LIMIT, Page, paginate
from ..settings import Settings
from . import addresses, keys
from .events import WebhookEvent


def _distinct(events: list[WebhookEvent]) -> list[WebhookEvent]:
    return list(dict.fromkeys(events))


Events = Annotated[list[WebhookEvent], Field(min_length=1, max_length=len(WebhookEvent)),
                   AfterValidator(_distinct)]
Description = Annotated[Text, Field(max_length=500)]


class WebhookFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Url = Field(description="http(s) URL receiving the POSTs; it must resolve to "
                                 "public addresses only (docs/webhooks.md)")
    events: Events = Field(description="The events to send, at least one")
    description: Description | None = None


class WebhookChanges(Changes):
    """Only the fields present change; ``description: null`` clears it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    CLEARABLE = frozenset({"description"})

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    status: WebhookStatus | None = Field(None, description="`disabled` queues no new "
                                                           "deliveries and holds the queued "
                                                           "ones until `active` again")


@dataclass(frozen=True)
class Created:
    """A webhook and its plain secret, which is never available again."""

    webhook: Webhook
    secret: str


def check_url(url: str, settings: Settings) -> None:
    try:
        addresses.check(url, allow_private=settings.webhook_allow_private_urls)
    except addresses.UnsafeUrl as exc:
        raise ValidationFailed("Invalid webhook URL", {"url": [str(exc)]}) from None


def create_webhook(
    session: Session, settings: Settings, workspace_id: str, fields: WebhookFields
) -> Created:
    check_url(fields.url, settings)
    secret = keys.new_secret()
    webhook = Webhook(
        id=new_id("wh"), workspace_id=workspace_id, url=fields.url,
        events=[event.value for event in fields.events], description=fields.description,
        secret_ciphertext=keys.encrypt(settings, secret),
    )
    session.add(webhook)
    session.commit()
    session.refresh(webhook)
    return Created(webhook, secret)


def get_webhook(session: Session, workspace_id: str, webhook_id: str) -> Webhook:
    webhook = session.scalar(select(Webhook).where(
        Webhook.id == webhook_id, Webhook.workspace_id == workspace_id))
    if webhook is None:
        raise WebhookNotFound(webhook_id)
    return webhook


def list_webhooks(
    session: Session, workspace_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Webhook]:
    query = select(Webhook).where(Webhook.workspace_id == workspace_id)
    return paginate(session, query, Webhook.created_at, Webhook.id, limit=limit, cursor=cursor)


def update_webhook(
    session: Session, settings: Settings, workspace_id: str, webhook_id: str,
    changes: WebhookChanges,
) -> Webhook:
    webhook = get_webhook(session, workspace_id, webhook_id)
    given = changes.model_dump(exclude_unset=True)
    if changes.url is not None:
        check_url(changes.url, settings)
        webhook.url = changes.url
    if changes.events is not None:
        webhook.events = [event.value for event in changes.events]
    if "description" in given:
        webhook.description = changes.description
    if changes.status is not None:
        webhook.status = changes.status.value
    session.commit()
    session.refresh(webhook)
    return webhook


def delete_webhook(session: Session, workspace_id: str, webhook_id: str) -> None:
    """Its deliveries and their attempts go with it (ON DELETE CASCADE)."""
    deleted = session.execute(delete(Webhook).where(
        Webhook.id == webhook_id, Webhook.workspace_id == workspace_id).returning(Webhook.id)
    ).one_or_none()
    if deleted is None:
        raise WebhookNotFound(webhook_id)
    session.commit()


def rotate_secret(
    session: Session, settings: Settings, workspace_id: str, webhook_id: str
) -> Created:
    """A new secret at once: attempts from now on are signed with it, retries included."""
    webhook = get_webhook(session, workspace_id, webhook_id)
    secret = keys.new_secret()
    webhook.secret_ciphertext = keys.encrypt(settings, secret)
    session.commit()
    session.refresh(webhook)
    return Created(webhook, secret)
