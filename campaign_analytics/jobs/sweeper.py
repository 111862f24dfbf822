"""Finds jobs that fell between the cracks and puts them back on the broker.

* ``queued`` and never published (the broker was down when the API committed the row),
  or published long ago and still not started (the message was lost), or published before
  ``lost_before``: the caller knows the broker lost every message older (Redis restarted
  empty);
* ``processing`` whose lease expired: the worker died. Re-queued until ``job_max_attempts``,
  then failed with ``JOB_ABANDONED`` so a poison job cannot loop for ever. An attempt that
  was still alive at its hard time limit was killed by it: failed at once with
  ``TIME_LIMIT_EXCEEDED`` (running it again would only hit the limit again).

``FOR UPDATE SKIP LOCKED`` lets several sweepers (two beats by mistake) run at once
without taking the same job; publishing twice is harmless because claiming is atomic.

Exports waiting for one of their workspace's slots (never published) are not republished
here blindly: ``exports.dispatch`` publishes them only into free slots, under the
workspace's lock, so the sweeper never breaks EXPORT_MAX_PROCESSING_PER_WORKSPACE. An
export already published and lost in the broker holds its slot and is republished as usual.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ..exports import dispatch
from ..models import Job
from ..models.vocabulary import JobStatus
from ..settings import Settings
from ..webhooks.events import enqueue_outcomes
from .outbox import Publisher, try_publish

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class SweepReport:
    requeued: int
    abandoned: int
    published: int
    complete: bool  # every job due for publishing was published (none left for later)


def sweep(
    session: Session, publisher: Publisher, settings: Settings, *,
    lost_before: datetime | None = None,
) -> SweepReport:
    abandoned = _fail_timed_out(session, settings.task_time_limit_seconds)
    abandoned += _abandon_exhausted(session, settings.job_max_attempts)
    requeued = _requeue_expired(session, settings.job_max_attempts)
    published, complete = _publish_stale(session, publisher, settings, lost_before)
    published += dispatch.dispatch_waiting(session, publisher, settings)
    if requeued or abandoned or published:
        log.info("sweeper: requeued=%d abandoned=%d published=%d", requeued, abandoned, published)
    return SweepReport(requeued, abandoned, published, complete)


def _expired_lease() -> object:
    return and_(Job.status == JobStatus.PROCESSING, Job.lease_expires_at < func.now())


def _fail_timed_out(session: Session, time_limit_seconds: int) -> int:
    """Attempts whose lease outlived their hard time limit: still heartbeating when Celery
    killed them at the limit. (A crash earlier than one lease before the limit does not
    qualify; it is retried as usual.)"""
    killed = Job.lease_expires_at >= Job.claimed_at + timedelta(seconds=time_limit_seconds)
    return _fail_expired(
        session, killed, "TIME_LIMIT_EXCEEDED",
        f"The job ran past the hard time limit of {time_limit_seconds} seconds and was "
        "stopped; it will not be retried",
    )


def _abandon_exhausted(session: Session, max_attempts: int) -> int:
    return _fail_expired(
        session, Job.attempts >= max_attempts, "JOB_ABANDONED",
        f"The job stopped responding {max_attempts} times (its worker died or exceeded the "
        "time limit); it will not be retried",
    )


def _fail_expired(session: Session, condition: Any, code: str, message: str) -> int:
    """Fail every job whose lease expired and that meets ``condition``."""
    rows = session.execute(
        update(Job)
        .where(_expired_lease(), condition)
        .values(status=JobStatus.FAILED, error_code=code, error_message=message,
                finished_at=func.now(), lease_expires_at=None)
        .returning(Job.id)
    ).all()
    enqueue_outcomes(session, [row.id for row in rows])  # in the failures' transaction
    session.commit()
    return len(rows)


def _requeue_expired(session: Session, max_attempts: int) -> int:
    rows = session.execute(
        update(Job)
        .where(_expired_lease(), Job.attempts < max_attempts)
        .values(status=JobStatus.QUEUED, lease_expires_at=None, claimed_by=None,
                claimed_at=None, release_requested_at=None, published_at=None)
        .returning(Job.id)
    ).all()
    session.commit()
    return len(rows)


def _publish_stale(
    session: Session, publisher: Publisher, settings: Settings, lost_before: datetime | None
) -> tuple[int, bool]:
    """(published, whether that was all of them)."""
    never_published = and_(
        Job.published_at.is_(None),
        Job.created_at < func.now() - timedelta(seconds=settings.job_republish_after_seconds),
    )
    lost_in_broker = Job.published_at < func.now() - timedelta(
        seconds=settings.job_redeliver_after_seconds
    )
    if lost_before is not None:
        lost_in_broker = or_(lost_in_broker, Job.published_at < lost_before)
    requeued_now = and_(Job.published_at.is_(None), Job.attempts > 0)
    not_capped = Job.kind != dispatch.EXPORT_KIND  # waiting exports: dispatch_waiting
    stale = list(
        session.scalars(
            select(Job)
            .where(Job.status == JobStatus.QUEUED,
                   or_(and_(not_capped, or_(never_published, requeued_now)), lost_in_broker))
            .order_by(Job.created_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    published = 0
    for job in stale:
        if not try_publish(publisher, job):
            break  # the broker is down: the next sweep tries again
        job.published_at = func.now()
        published += 1
    session.commit()
    return published, published == len(stale) < BATCH
