"""Webhooks: subscribe a URL to job outcomes, follow its deliveries (docs/webhooks.md)."""

from __future__ import annotations

from flask import Response

from campaign_analytics.webhooks import delivery, subscriptions

from ..auth import workspace_blueprint
from ..database import db_session
from ..openapi import operation
from ..responses import ok
from ..schemas.common import Deleted, PageQuery
from ..schemas.webhooks import (
    DeliveryOut,
    WebhookChanges,
    WebhookFields,
    WebhookOut,
    WebhookWithSecret,
)
from .downloads import settings

bp = workspace_blueprint("webhooks", __name__)
TAGS = ("webhooks",)
SECRET_ONCE = ("The response carries the signing `secret`, shown only this once. Receivers "
               "verify `webhook-signature` with it and reject stale `webhook-timestamp`s "
               "(docs/webhooks.md).")


@bp.post("/webhooks")
@operation("Subscribe a URL to job outcomes", response=WebhookWithSecret, body=WebhookFields,
           status=201, tags=TAGS,
           description="Events: `export.completed`, `export.failed`, `refresh.completed`, "
                       "`refresh.failed`. The URL must resolve to public addresses only "
                       "(else 400 VALIDATION_ERROR on `url`). " + SECRET_ONCE)
def create(workspace_id: str, body: WebhookFields) -> Response:
    created = subscriptions.create_webhook(db_session(), settings(), workspace_id, body)
    return ok(WebhookWithSecret.created(created), status=201)


@bp.get("/webhooks")
@operation("List webhooks, newest first", response=WebhookOut, query=PageQuery, tags=TAGS,
           paginated=True)
def index(workspace_id: str, query: PageQuery) -> Response:
    page = subscriptions.list_webhooks(db_session(), workspace_id, limit=query.limit,
                                       cursor=query.cursor)
    return ok([WebhookOut.of(w) for w in page.items], next_cursor=page.next_cursor)


@bp.get("/webhooks/<webhook_id>")
@operation("One webhook (never its secret)", response=WebhookOut, tags=TAGS)
def show(workspace_id: str, webhook_id: str) -> Response:
    return ok(WebhookOut.of(subscriptions.get_webhook(db_session(), workspace_id, webhook_id)))


@bp.patch("/webhooks/<webhook_id>")
@operation("Change a webhook's URL, events, description or status", response=WebhookOut,
           body=WebhookChanges, tags=TAGS,
           description="`disabled` queues nothing new and holds its pending deliveries "
                       "until it is `active` again.")
def change(workspace_id: str, webhook_id: str, body: WebhookChanges) -> Response:
    webhook = subscriptions.update_webhook(db_session(), settings(), workspace_id, webhook_id,
                                           body)
    return ok(WebhookOut.of(webhook))


@bp.delete("/webhooks/<webhook_id>")
@operation("Delete a webhook and its deliveries log", response=Deleted, tags=TAGS)
def destroy(workspace_id: str, webhook_id: str) -> Response:
    subscriptions.delete_webhook(db_session(), workspace_id, webhook_id)
    return ok(Deleted(id=webhook_id, deleted=True))


@bp.post("/webhooks/<webhook_id>/rotate-secret")
@operation("Replace a webhook's signing secret", response=WebhookWithSecret, tags=TAGS,
           description="Every attempt from now on, retries included, is signed with the new "
                       "secret. " + SECRET_ONCE)
def rotate_secret(workspace_id: str, webhook_id: str) -> Response:
    created = subscriptions.rotate_secret(db_session(), settings(), workspace_id, webhook_id)
    return ok(WebhookWithSecret.created(created))


@bp.get("/webhooks/<webhook_id>/deliveries")
@operation("A webhook's deliveries, newest first, each with its attempts",
           response=DeliveryOut, query=PageQuery, tags=TAGS, paginated=True)
def deliveries(workspace_id: str, webhook_id: str, query: PageQuery) -> Response:
    session = db_session()
    page = delivery.list_deliveries(session, workspace_id, webhook_id, limit=query.limit,
                                    cursor=query.cursor)
    attempts = delivery.attempts_of(session, [d.id for d in page.items])
    return ok([DeliveryOut.of(d, attempts[d.id]) for d in page.items],
              next_cursor=page.next_cursor)


@bp.post("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
@operation("Send a delivery again", response=DeliveryOut, status=202, tags=TAGS,
           description="The same id and payload, at the next delivery tick; one more "
                       "attempt if it had used up its retries.")
def redeliver(workspace_id: str, webhook_id: str, delivery_id: str) -> Response:
    session = db_session()
    again = delivery.redeliver(session, workspace_id, webhook_id, delivery_id)
    return ok(DeliveryOut.of(again, delivery.attempts_of(session, [again.id])[again.id]),
              status=202)
