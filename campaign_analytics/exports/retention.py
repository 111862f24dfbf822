"""The end of an export's life: cancel, delete, retention and campaign deletion
(SPEC §8, §11.28, §11.30).

One rule keeps files and rows in step: **the status changes first, the file goes after**.
A download is served only while the export is ``completed`` (``downloads.downloadable``),
so the moment the row leaves ``completed`` the file is unreachable, even if removing it
fails or the process dies in between. ``file_key`` is cleared once the file is gone; an
export that is not ``completed`` but still has a ``file_key`` therefore still has a file
to remove, and ``remove_leftover_files`` (every retention tick) removes it.

* DELETE of a ``queued`` / ``processing`` export → ``canceled``. A queued one never runs
  (claiming needs ``queued``); a running one stops at its next progress report
  (``JobContext.report_progress`` sees the fenced row and raises ``JobCanceled``), and the
  export job removes its temporary object; anything it managed to store is removed here.
* DELETE of a ``completed`` export → ``expired``, its file removed.
* DELETE of a ``failed`` / ``canceled`` / ``expired`` export changes nothing (idempotent).
* Retention: a completed export whose file is older than ``EXPORT_RETENTION_DAYS``
  (``file_expires_at`` = completion + retention) → ``expired``, file removed.
* A deleted campaign: the exports scoped to it alone (``campaign_ids == [it]``) are
  canceled or expired the same way; exports of several campaigns stay.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import cast

from ..jobs.outbox import Publisher
from ..models import Job
from ..models.vocabulary import JobStatus
from ..settings import Settings
from . import dispatch
from .requests import get_export

log = logging.getLogger(__name__)

EXPORT_KIND = dispatch.EXPORT_KIND
BATCH = 200
UNFINISHED = (JobStatus.QUEUED, JobStatus.PROCESSING)


class FileStore(Protocol):
    """The part of ``exports.storage`` this module needs; deleting a missing key is fine."""

    def delete(self, key: str) -> None: ...

    def remove_stale_temporaries(self, older_than: timedelta) -> int: ...


def file_expires_at(job: Job, settings: Settings) -> datetime | None:
    """When retention removes (or removed) a completed export's file."""
    if job.finished_at is None or job.status not in (JobStatus.COMPLETED, JobStatus.EXPIRED):
        return None
    return job.finished_at + timedelta(days=settings.export_retention_days)


def delete_export(
    session: Session, storage: FileStore, publisher: Publisher, settings: Settings,
    workspace_id: str, export_id: str,
) -> Job:
    """DELETE /analytics/exports/{id}: cancel an unfinished export or expire a finished one."""
    job = get_export(session, workspace_id, export_id)
    canceled = session.execute(
        update(Job).where(Job.id == job.id, Job.status.in_(UNFINISHED))
        .values(status=JobStatus.CANCELED, finished_at=func.now(), lease_expires_at=None)
        .returning(Job.id)).one_or_none()
    if canceled is None:  # not (or no longer) unfinished: it may have completed meanwhile
        session.execute(update(Job).where(Job.id == job.id, Job.status == JobStatus.COMPLETED)
                        .values(status=JobStatus.EXPIRED))
    session.commit()
    session.refresh(job)
    _remove_file(session, storage, job)
    if canceled is not None:
        dispatch.dispatch(session, publisher, settings, workspace_id)  # its slot is free
    session.refresh(job)
    log.info("export %s deleted by request: now %s", job.id, job.status)
    return job


def expire_old_exports(
    session: Session, storage: FileStore, settings: Settings, now: datetime | None = None
) -> int:
    """The retention beat task: expire completed exports past retention, then remove every
    file whose export is no longer completed. Returns how many exports expired."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.export_retention_days)
    expired = session.execute(
        update(Job).where(Job.kind == EXPORT_KIND, Job.status == JobStatus.COMPLETED,
                          Job.finished_at < cutoff)
        .values(status=JobStatus.EXPIRED).returning(Job.id)).all()
    session.commit()
    removed = remove_leftover_files(session, storage)
    removed += storage.remove_stale_temporaries(
        timedelta(seconds=settings.task_time_limit_seconds))
    if expired or removed:
        log.info("retention: %d exports expired, %d files removed", len(expired), removed)
    return len(expired)


def remove_leftover_files(session: Session, storage: FileStore) -> int:
    """Remove the files of exports that are no longer completed (see the module's rule)."""
    removed = 0
    while True:
        jobs = list(session.scalars(
            select(Job).where(Job.kind == EXPORT_KIND, Job.file_key.is_not(None),
                              Job.status.in_([JobStatus.EXPIRED, JobStatus.CANCELED,
                                              JobStatus.FAILED]))
            .order_by(Job.id).limit(BATCH).with_for_update(skip_locked=True)))
        for job in jobs:
            storage.delete(str(job.file_key))
            job.file_key = None
        session.commit()
        removed += len(jobs)
        if len(jobs) < BATCH:
            return removed


def retire_campaign_exports(session: Session, workspace_id: str, campaign_id: str) -> int:
    """For campaign deletion (§11.30), inside its transaction (no commit here): the exports
    scoped to this campaign alone stop being downloadable now; their files go at the next
    retention tick and their slots are refilled by the next sweep."""
    alone = and_(Job.workspace_id == workspace_id, Job.kind == EXPORT_KIND,
                 Job.params["campaign_ids"] == cast([campaign_id], JSONB))
    canceled = session.execute(
        update(Job).where(alone, Job.status.in_(UNFINISHED))
        .values(status=JobStatus.CANCELED, finished_at=func.now(), lease_expires_at=None)
        .returning(Job.id)).all()
    expired = session.execute(
        update(Job).where(alone, Job.status == JobStatus.COMPLETED)
        .values(status=JobStatus.EXPIRED).returning(Job.id)).all()
    return len(canceled) + len(expired)


def _remove_file(session: Session, storage: FileStore, job: Job) -> None:
    """After the status left ``completed``: remove the file, then forget its key."""
    if job.status == JobStatus.COMPLETED or not job.file_key:
        return
    storage.delete(job.file_key)
    session.execute(update(Job).where(Job.id == job.id, Job.file_key == job.file_key,
                                      Job.status != JobStatus.COMPLETED)
                    .values(file_key=None))
    session.commit()
