"""Bulk, idempotent event ingestion; replies; suppressions."""

from __future__ import annotations

from flask import Response

from campaign_analytics import replies
from campaign_analytics.errors import PayloadTooLarge
from campaign_analytics.ingestion import MAX_EVENTS, ingest_batch

from ..auth import workspace_blueprint
from ..database import database, db_session
from ..openapi import operation
from ..responses import ok
from ..schemas.common import PageQuery
from ..schemas.ingestion import (
    EventBatch,
    IngestResult,
    ReplyChange,
    ReplyListQuery,
    ReplyOut,
    SuppressionOut,
)
from ..schemas.outreach import FailedItem

bp = workspace_blueprint("ingestion", __name__)


@bp.post("/events")
@operation(
    f"Ingest up to {MAX_EVENTS} events; repeats are counted, never stored twice",
    response=IngestResult, body=EventBatch, status=202, tags=("events",), errors=("413",),
    description="Each bad event is rejected alone with its index and code; the rest are "
                "stored. Events may arrive in any order.",
)
def ingest(workspace_id: str, body: EventBatch) -> Response:
    if len(body.events) > MAX_EVENTS:
        raise PayloadTooLarge(f"At most {MAX_EVENTS} events per request, got {len(body.events)}")
    with database().engine.begin() as conn:
        result = ingest_batch(conn, workspace_id, body.events)
    return ok(IngestResult(
        accepted=result.accepted, duplicates=result.duplicates,
        rejected=[FailedItem(index=i, code=code, message=msg) for i, code, msg in result.rejected],
    ), status=202)


@bp.get("/campaigns/<campaign_id>/replies")
@operation("A campaign's replies with their classification", response=ReplyOut,
           query=ReplyListQuery, tags=("replies",), paginated=True)
def list_replies(workspace_id: str, campaign_id: str, query: ReplyListQuery) -> Response:
    page = replies.list_replies(db_session(), workspace_id, campaign_id,
                                classification=query.classification, limit=query.limit,
                                cursor=query.cursor)
    return ok([ReplyOut.of(reply) for reply in page.items], next_cursor=page.next_cursor)


@bp.patch("/replies/<reply_id>")
@operation("Correct a reply's classification; the lead follows", response=ReplyOut,
           body=ReplyChange, tags=("replies",))
def reclassify(workspace_id: str, reply_id: str, body: ReplyChange) -> Response:
    reply = replies.reclassify(db_session(), workspace_id, reply_id, body.classification)
    return ok(ReplyOut.of(reply))


@bp.get("/suppressions")
@operation("Addresses never to contact again", response=SuppressionOut, query=PageQuery,
           tags=("suppressions",), paginated=True)
def list_suppressions(workspace_id: str, query: PageQuery) -> Response:
    page = replies.list_suppressions(db_session(), workspace_id, limit=query.limit,
                                     cursor=query.cursor)
    return ok([SuppressionOut.of(s) for s in page.items], next_cursor=page.next_cursor)


@bp.delete("/suppressions/<path:email>")
@operation("Allow an address again", response=None, tags=("suppressions",))
def remove_suppression(workspace_id: str, email: str) -> Response:
    replies.remove_suppression(db_session(), workspace_id, email)
    return ok({"email": email.strip().lower(), "deleted": True})
