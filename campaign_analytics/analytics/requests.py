"""Asking for a refresh: one queued job per scope and mode (SPEC §11.16)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..campaigns import get_campaign
from ..errors import ValidationFailed
from ..jobs import outbox
from ..locks import lock_refresh_request
from ..models import Job
from ..models.vocabulary import JobStatus
from .refresh import RefreshMode

REFRESH_KIND = "refresh"


def request_refresh(
    session: Session, publisher: outbox.Publisher, workspace_id: str, mode: RefreshMode,
    campaign_ids: list[str] | None = None,
) -> Job:
    """A new refresh job, or the queued one of the same scope and mode. A running one is
    never joined: it may already have read its watermark and miss the newest events."""
    if campaign_ids and mode is RefreshMode.INCREMENTAL:
        raise ValidationFailed(
            "campaign_ids need mode=full: an incremental refresh always covers the workspace",
            {"campaign_ids": ["only with mode=full"]})
    scope = sorted({get_campaign(session, workspace_id, cid).id for cid in campaign_ids or ()})
    params: dict[str, object] = {"mode": mode.value, "campaign_ids": scope}
    # Two requests at once must not both miss each other's queued job.
    lock_refresh_request(session, workspace_id)
    queued = session.scalars(
        select(Job).where(Job.workspace_id == workspace_id, Job.kind == REFRESH_KIND,
                          Job.status == JobStatus.QUEUED.value)
        .order_by(Job.created_at)
    ).all()
    for job in queued:
        if job.params == params:
            session.commit()
            return job
    return outbox.submit(session, publisher, kind=REFRESH_KIND, workspace_id=workspace_id,
                         params=params)
