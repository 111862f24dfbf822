"""Every read and write of job rows. Writes made by a running attempt are fenced by
``attempts``: a worker whose lease was taken over can no longer change the row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ..errors import JobNotFound
from ..models import Job
from ..models.vocabulary import JobStatus
from ..pagination import DEFAULT_LIMIT, Page, paginate
from ..webhooks.events import enqueue_outcomes


@dataclass(frozen=True)
class Claim:
    job_id: str
    kind: str
    workspace_id: str | None
    params: dict[str, Any]
    attempt: int


class Lease(Enum):
    """What a heartbeat learns about its attempt."""

    OWNED = "owned"
    LOST = "lost"  # canceled, finished or taken over by a newer attempt
    HAND_BACK = "hand_back"  # still ours, but our worker is shutting down: stop and release


def get_job(session: Session, workspace_id: str, job_id: str) -> Job:
    job = session.scalar(select(Job).where(Job.id == job_id, Job.workspace_id == workspace_id))
    if job is None:
        raise JobNotFound(job_id)
    return job


def list_jobs(
    session: Session,
    workspace_id: str,
    *,
    kind: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Job]:
    query = select(Job).where(Job.workspace_id == workspace_id)
    if kind:
        query = query.where(Job.kind == kind)
    if status:
        query = query.where(Job.status == status)
    return paginate(session, query, Job.created_at, Job.id, limit=limit, cursor=cursor)


def mark_published(session: Session, job_id: str) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(published_at=func.now()))
    session.commit()


def claim(
    session: Session, job_id: str, worker: str, lease_seconds: int, max_attempts: int
) -> Claim | None:
    """Take the job for one attempt, or None if it is finished, another attempt holds it,
    or it has used up its attempts (the sweeper then fails it as abandoned).

    One UPDATE decides: concurrent claimers serialise on the row lock and the loser's
    WHERE no longer matches, so a redelivered message becomes a no-op.
    """
    lease = timedelta(seconds=lease_seconds)
    row = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.attempts < max_attempts,
            or_(
                Job.status == JobStatus.QUEUED,
                and_(Job.status == JobStatus.PROCESSING, Job.lease_expires_at < func.now()),
            ),
        )
        .values(
            status=JobStatus.PROCESSING,
            attempts=Job.attempts + 1,
            started_at=func.coalesce(Job.started_at, func.now()),
            claimed_at=func.now(),
            heartbeat_at=func.now(),
            lease_expires_at=func.now() + lease,
            claimed_by=worker,
            release_requested_at=None,
            error_code=None,
            error_message=None,
        )
        .returning(Job.id, Job.kind, Job.workspace_id, Job.params, Job.attempts)
    ).one_or_none()
    session.commit()
    return Claim(*row) if row else None


def _fenced(job_id: str, attempt: int) -> Any:
    return and_(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.PROCESSING)


def heartbeat(
    session: Session, job_id: str, attempt: int, lease_seconds: int,
    progress: dict[str, Any] | None = None,
) -> Lease:
    """Extend the lease (and record progress), and say whether the attempt may go on."""
    values: dict[str, Any] = {
        "heartbeat_at": func.now(),
        "lease_expires_at": func.now() + timedelta(seconds=lease_seconds),
    }
    if progress is not None:
        values["progress"] = progress
    row = session.execute(
        update(Job).where(_fenced(job_id, attempt)).values(**values)
        .returning(Job.release_requested_at)
    ).one_or_none()
    session.commit()
    if row is None:
        return Lease.LOST
    return Lease.OWNED if row.release_requested_at is None else Lease.HAND_BACK


def request_hand_back(session: Session, worker: str) -> list[str]:
    """Ask every attempt running on ``worker`` (its Celery node name) to stop and release its
    job: the worker is shutting down gracefully. Returns the job ids."""
    rows = session.execute(
        update(Job)
        .where(Job.status == JobStatus.PROCESSING, Job.claimed_by == worker)
        .values(release_requested_at=func.now())
        .returning(Job.id)
    ).all()
    session.commit()
    return [row.id for row in rows]


def hand_back(session: Session, job_id: str, attempt: int, *, refund: bool) -> bool:
    """Put a job its stopping attempt released back to ``queued`` for the next worker.

    ``refund`` gives the attempt back (a deploy is not the job's fault, so it must not use
    up ``job_max_attempts``). Only safe once the attempt can write nothing more (its handler
    returned, its heartbeat thread ended), as the next claim reuses the number.
    The caller publishes it at once; ``published_at`` stays empty so that, should that
    publish fail, the next sweep (or export dispatch) publishes it instead of waiting
    ``JOB_REDELIVER_AFTER_SECONDS``. A second message is a harmless no-op claim.
    """
    released = session.execute(
        update(Job)
        .where(_fenced(job_id, attempt))
        .values(
            status=JobStatus.QUEUED, attempts=Job.attempts - (1 if refund else 0),
            lease_expires_at=None, claimed_by=None, claimed_at=None,
            release_requested_at=None, published_at=None,
        )
        .returning(Job.id)
    ).one_or_none()
    session.commit()
    return released is not None


def complete(session: Session, job_id: str, attempt: int, result: dict[str, Any] | None) -> bool:
    done = session.execute(
        update(Job)
        .where(_fenced(job_id, attempt))
        .values(
            status=JobStatus.COMPLETED, result=result, finished_at=func.now(),
            lease_expires_at=None,
        )
        .returning(Job.id)
    ).one_or_none()
    if done is not None:
        enqueue_outcomes(session, [job_id])  # committed with the outcome, or not at all
    session.commit()
    return done is not None


def record_file(
    session: Session, job_id: str, attempt: int, *, key: str, size: int, sha256: str,
    row_count: int,
) -> bool:
    """Attach the file an attempt wrote (exports), fenced like ``complete``: False when this
    attempt no longer owns the job, so a canceled or superseded run records nothing."""
    recorded = session.execute(
        update(Job)
        .where(_fenced(job_id, attempt))
        .values(file_key=key, file_size=size, file_sha256=sha256, row_count=row_count)
        .returning(Job.id)
    ).one_or_none()
    session.commit()
    return recorded is not None


def status_of(session: Session, job_id: str) -> str | None:
    return session.scalar(select(Job.status).where(Job.id == job_id))


def fail(session: Session, job_id: str, attempt: int, code: str, message: str) -> bool:
    failed = session.execute(
        update(Job)
        .where(_fenced(job_id, attempt))
        .values(
            status=JobStatus.FAILED, error_code=code, error_message=message,
            finished_at=func.now(), lease_expires_at=None,
        )
        .returning(Job.id)
    ).one_or_none()
    if failed is not None:
        enqueue_outcomes(session, [job_id])
    session.commit()
    return failed is not None


def release_for_retry(session: Session, job_id: str, attempt: int, code: str, message: str) -> bool:
    """Hand the job back as ``queued`` while a delayed retry message is on its way.

    ``published_at`` is set to now so the sweeper waits its redelivery window before
    publishing again.
    """
    released = session.execute(
        update(Job)
        .where(_fenced(job_id, attempt))
        .values(
            status=JobStatus.QUEUED, error_code=code, error_message=message,
            lease_expires_at=None, claimed_by=None, claimed_at=None,
            release_requested_at=None, published_at=func.now(),
        )
        .returning(Job.id)
    ).one_or_none()
    session.commit()
    return released is not None


def unfinished_summary(session: Session) -> list[tuple[str, str, int, float]]:
    """(kind, status, count, age in seconds of the oldest) for queued and processing jobs."""
    rows = session.execute(
        select(
            Job.kind,
            Job.status,
            func.count(),
            func.extract("epoch", func.now() - func.min(Job.created_at)),
        )
        .where(Job.status.in_([JobStatus.QUEUED, JobStatus.PROCESSING]))
        .group_by(Job.kind, Job.status)
    ).all()
    return [(kind, status, count, float(age)) for kind, status, count, age in rows]
