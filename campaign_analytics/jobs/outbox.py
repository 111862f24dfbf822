"""Jobs as the outbox: the row is committed first, then published.

A failed publish is not an error for the caller: the row stays ``queued`` with no
``published_at`` and the sweeper publishes it once the broker is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import IdempotencyKeyReused
from ..ids import new_id
from ..models import Job
from . import store
from .catalog import get_kind

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Sends one message asking a worker to run ``job_id``; raises if the broker refuses."""

    def __call__(self, job_id: str, queue: str) -> None: ...


def try_publish(publisher: Publisher, job: Job) -> bool:
    """Send the job's message; False (logged) when the broker is unreachable."""
    try:
        publisher(job.id, get_kind(job.kind).queue)
    except Exception as exc:  # any broker failure: the sweeper retries later
        log.warning("publishing job %s failed, the sweeper will retry: %s", job.id, exc)
        return False
    return True


def submit(
    session: Session,
    publisher: Publisher,
    *,
    kind: str,
    workspace_id: str | None,
    params: dict[str, Any],
    idempotency_key: str | None = None,
    idempotency_window: timedelta | None = None,
    request_of: Callable[[dict[str, Any]], Any] | None = None,
    publish: bool = True,
) -> Job:
    """Create (commit) and publish a job; with a known idempotency key, return that job.

    ``idempotency_window``: a key older than this no longer names its job (its key is
    cleared, so the unique index admits a new one). ``request_of`` picks the part of the
    params that must match for a key's reuse (default: all of them), for kinds whose params
    also hold values resolved at submission. ``publish=False`` leaves publishing to the
    caller (exports are published by ``exports.dispatch`` under the workspace's cap).
    """
    job_kind = get_kind(kind)
    compare = request_of or (lambda value: value)
    if idempotency_key is not None:
        existing = _find_by_key(session, workspace_id, kind, idempotency_key)
        if existing is not None and _outlived(existing, idempotency_window):
            _forget_key(session, existing)
        elif existing is not None:
            return _same_request(existing, params, compare)
    job = Job(
        id=new_id(job_kind.id_prefix),
        workspace_id=workspace_id,
        kind=kind,
        params=params,
        idempotency_key=idempotency_key,
    )
    session.add(job)
    try:
        session.commit()
    except IntegrityError:  # a concurrent request with the same key won the insert
        session.rollback()
        existing = _find_by_key(session, workspace_id, kind, idempotency_key or "")
        if existing is None:
            raise
        return _same_request(existing, params, compare)
    session.refresh(job)  # load server defaults: status, created_at, progress
    if publish and try_publish(publisher, job):
        store.mark_published(session, job.id)
    return job


def _outlived(job: Job, window: timedelta | None) -> bool:
    return window is not None and job.created_at < datetime.now(UTC) - window


def _forget_key(session: Session, job: Job) -> None:
    """The old job keeps its history; only its claim on the key ends."""
    session.execute(update(Job).where(Job.id == job.id, Job.idempotency_key.is_not(None))
                    .values(idempotency_key=None))
    session.flush()


def _find_by_key(session: Session, workspace_id: str | None, kind: str, key: str) -> Job | None:
    return session.scalar(
        select(Job).where(
            Job.workspace_id == workspace_id, Job.kind == kind, Job.idempotency_key == key
        )
    )


def _same_request(
    job: Job, params: dict[str, Any], compare: Callable[[dict[str, Any]], Any]
) -> Job:
    if compare(job.params) != compare(params):
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body"
        )
    return job
