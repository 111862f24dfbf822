"""Refreshes asked for by beat and by the CLI: one request per workspace (SPEC §7).

Every request goes through ``request_refresh``, so a tick joins a refresh of the same
mode still queued for the workspace instead of adding a second one.

Beat runs once (its PostgreSQL lock, worker/beat.py). Should a second beat fire the
nightly full refresh anyway, it finds tonight's full refresh already requested and leaves
the workspace alone: the check and the request happen under the lock ``request_refresh``
takes, so two ticks at once cannot both miss each other's job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..jobs import outbox
from ..locks import lock_refresh_request
from ..models import EmailEvent, Job, RefreshState, ReplyCorrection, Workspace
from ..models.vocabulary import JobStatus
from . import lead_versions
from .refresh import RefreshMode
from .requests import REFRESH_KIND, request_refresh

log = logging.getLogger(__name__)

# A workspace-wide full refresh requested (and not failed) this recently counts as the
# one a full tick asks for: two beats firing the same nightly entry do the work once.
FULL_REFRESH_GUARD = timedelta(minutes=10)


@dataclass(frozen=True)
class ScheduleReport:
    mode: RefreshMode
    jobs: dict[str, str] = field(default_factory=dict)  # workspace id -> job id
    skipped: list[str] = field(default_factory=list)  # nothing to do for these workspaces

    def as_dict(self) -> dict[str, object]:
        return {"mode": self.mode.value, "requested": len(self.jobs),
                "skipped": len(self.skipped)}


def request_refreshes(
    session: Session, publisher: outbox.Publisher, mode: RefreshMode,
    workspace_ids: Iterable[str] | None = None,
) -> dict[str, Job]:
    """A workspace-wide refresh of every workspace (or of those given): new or joined."""
    targets = list(workspace_ids) if workspace_ids is not None else _workspaces(session)
    return {ws: request_refresh(session, publisher, ws, mode) for ws in targets}


def schedule_refreshes(
    session: Session, publisher: outbox.Publisher, mode: RefreshMode
) -> ScheduleReport:
    """One beat tick: a workspace-wide refresh of ``mode`` for every workspace that needs
    one. An incremental tick skips workspaces whose rollups already hold every event and
    reclassification, then folds the lead versions; a full tick skips those whose full
    refresh was just requested."""
    report = ScheduleReport(mode)
    for workspace_id in _workspaces(session):
        job = _tick(session, publisher, workspace_id, mode)
        if job is None:
            report.skipped.append(workspace_id)
        else:
            report.jobs[workspace_id] = job.id
    log.info("scheduled %s refreshes: %d requested, %d skipped",
             mode.value, len(report.jobs), len(report.skipped))
    if mode is RefreshMode.INCREMENTAL:
        session.commit()
        lead_versions.fold(session.connection(
            execution_options={"isolation_level": "READ COMMITTED"}))
        session.commit()
    return report


def _tick(
    session: Session, publisher: outbox.Publisher, workspace_id: str, mode: RefreshMode
) -> Job | None:
    # The lock request_refresh takes (re-entrant within this transaction): no other
    # request for the workspace can slip in between the check and the request.
    lock_refresh_request(session, workspace_id)
    needed = (_has_news(session, workspace_id) if mode is RefreshMode.INCREMENTAL
              else not _full_requested_recently(session, workspace_id))
    if not needed:
        session.commit()  # releases the lock
        return None
    return request_refresh(session, publisher, workspace_id, mode)


def _workspaces(session: Session) -> list[str]:
    return list(session.scalars(select(Workspace.id).order_by(Workspace.id)))


def _has_news(session: Session, workspace_id: str) -> bool:
    """True unless the rollups already hold every event and reclassification. The event
    check walks the id index from the watermark: its cost is the events since then."""
    watermark = session.scalar(
        select(RefreshState.watermark).where(RefreshState.workspace_id == workspace_id))
    if watermark is None:
        return True
    newer = select(EmailEvent.id).where(
        EmailEvent.id > watermark, EmailEvent.workspace_id == workspace_id,
    ).order_by(EmailEvent.id).limit(1)
    if session.scalar(newer) is not None:
        return True
    return session.scalar(select(ReplyCorrection.id).where(
        ReplyCorrection.workspace_id == workspace_id).limit(1)) is not None


def _full_requested_recently(session: Session, workspace_id: str) -> bool:
    recent = select(Job.id).where(
        Job.workspace_id == workspace_id, Job.kind == REFRESH_KIND,
        Job.params["mode"].astext == RefreshMode.FULL.value,
        func.jsonb_array_length(Job.params["campaign_ids"]) == 0,
        Job.status.in_([JobStatus.QUEUED.value, JobStatus.PROCESSING.value,
                        JobStatus.COMPLETED.value]),
        Job.created_at > func.now() - FULL_REFRESH_GUARD,
    ).limit(1)
    return session.scalar(recent) is not None
