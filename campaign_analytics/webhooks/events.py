"""The events a webhook can subscribe to, and their deliveries, queued in the same
transaction as the job outcome they report (``jobs/store.py``, ``jobs/sweeper.py``): an
outcome that commits always has its deliveries, one that rolls back has none.

The payload is built once, when the event happens, and frozen on the delivery row: every
retry sends the same bytes. It carries no download link (one would expire while the
delivery is still being retried); the receiver follows ``data.status_path`` with its API key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..ids import new_id
from ..models import Job, Webhook, WebhookDelivery
from ..models.vocabulary import JobStatus
from ..models.webhook import WebhookStatus
from ..timestamps import utc_iso


class WebhookEvent(StrEnum):
    EXPORT_COMPLETED = "export.completed"
    EXPORT_FAILED = "export.failed"
    REFRESH_COMPLETED = "refresh.completed"
    REFRESH_FAILED = "refresh.failed"


# The job kinds that send events, and where their status is read in the API.
STATUS_PATHS = {
    "export": "/api/v1/workspaces/{workspace_id}/analytics/exports/{job_id}",
    "refresh": "/api/v1/workspaces/{workspace_id}/jobs/{job_id}",
}
# A canceled (or expired) job sends nothing.
OUTCOMES = {JobStatus.COMPLETED.value: "completed", JobStatus.FAILED.value: "failed"}

_COLUMNS = (Job.id, Job.kind, Job.workspace_id, Job.status, Job.params, Job.result,
            Job.error_code, Job.error_message, Job.row_count, Job.file_size, Job.file_sha256,
            Job.created_at, Job.finished_at)


def event_of(kind: str, status: str) -> WebhookEvent | None:
    if kind not in STATUS_PATHS or status not in OUTCOMES:
        return None
    return WebhookEvent(f"{kind}.{OUTCOMES[status]}")


def enqueue_outcomes(session: Session, job_ids: Iterable[str]) -> int:
    """Queue a delivery of each job's outcome to every active webhook of its workspace
    subscribed to it. Runs in the caller's transaction (no commit). Idempotent: a retried
    terminal transition finds its deliveries already there. Returns how many were new."""
    ids = list(job_ids)
    if not ids:
        return 0
    jobs = session.execute(select(*_COLUMNS).where(
        Job.id.in_(ids), Job.kind.in_(list(STATUS_PATHS)), Job.workspace_id.is_not(None)))
    queued = 0
    for job in jobs:
        event = event_of(job.kind, job.status)
        if event is not None:
            queued += _enqueue(session, job, event)
    return queued


def _enqueue(session: Session, job: Row[Any], event: WebhookEvent) -> int:
    hooks = list(session.scalars(select(Webhook.id).where(
        Webhook.workspace_id == job.workspace_id, Webhook.status == WebhookStatus.ACTIVE,
        Webhook.events.contains([event.value]))))
    if not hooks:
        return 0
    payload = payload_of(job, event)
    inserted = session.execute(
        insert(WebhookDelivery)
        .values([{"id": new_id("whd"), "webhook_id": hook, "workspace_id": job.workspace_id,
                  "event": event.value, "job_id": job.id, "payload": payload}
                 for hook in hooks])
        .on_conflict_do_nothing(index_elements=["webhook_id", "event", "job_id"])
        .returning(WebhookDelivery.id)
    ).all()
    return len(inserted)


def payload_of(job: Row[Any], event: WebhookEvent) -> dict[str, Any]:
    """``{"type", "timestamp", "data"}``: the job as its status endpoint would summarise it."""
    data: dict[str, Any] = {
        "id": job.id, "kind": job.kind, "status": job.status,
        "workspace_id": job.workspace_id,
        "created_at": utc_iso(job.created_at),
        "finished_at": utc_iso(job.finished_at) if job.finished_at else None,
        "status_path": STATUS_PATHS[job.kind].format(workspace_id=job.workspace_id,
                                                     job_id=job.id),
    }
    params: dict[str, Any] = job.params or {}
    result: dict[str, Any] = job.result or {}
    if job.kind == "export":
        data.update(export_type=params.get("export_type"), format=params.get("format"),
                    compression=params.get("compression"), row_count=job.row_count,
                    file_size_bytes=job.file_size, sha256=job.file_sha256)
    else:
        data.update(mode=params.get("mode"), campaign_ids=params.get("campaign_ids") or None,
                    as_of=result.get("as_of"), new_events=result.get("new_events"))
    data["error"] = ({"code": job.error_code, "message": job.error_message}
                     if job.status == JobStatus.FAILED else None)
    return {"type": event.value, "timestamp": utc_iso(job.finished_at or datetime.now(UTC)),
            "data": data}
