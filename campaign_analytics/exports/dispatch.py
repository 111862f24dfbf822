"""How many exports a workspace runs at once (SPEC §8: at most
``EXPORT_MAX_PROCESSING_PER_WORKSPACE``, the others wait ``queued``).

The cap is enforced where messages are made, not where they are consumed: an export is
*published* to the ``exports`` queue only while its workspace has fewer than the cap
**active** exports — ``processing``, or ``queued`` and already published (a message, or a
retry's delayed message, is on its way). The rest wait, ``queued`` with no
``published_at``, and are published oldest first as slots free up:

* when an export is submitted (``requests.submit_export``);
* when one finishes, is canceled or deleted (``tasks.jobs`` after each export run, the
  DELETE endpoint);
* on every sweep (``jobs.sweeper``), which catches whatever the two above missed (a broker
  that was down, a worker that died).

So one workspace can never fill the Celery queue: another workspace's export goes onto it
at once, behind at most ``cap`` messages of any one busy workspace, and the queue stays FIFO.

Race-freedom: every decision for a workspace runs in one transaction holding the
transaction-level advisory lock ``exports:<workspace>``, so two API processes, a worker
and a sweeper cannot both see a free slot and both fill it. The row is marked published
before the message is sent (and unmarked if the broker refuses), under the row lock, so a
fast worker's claim simply waits for the commit.
"""

from __future__ import annotations

import logging

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..jobs.outbox import Publisher, try_publish
from ..locks import lock_exports
from ..models import Job
from ..models.vocabulary import JobStatus
from ..settings import Settings

log = logging.getLogger(__name__)

EXPORT_KIND = "export"


def is_active() -> object:
    """Holds (or is about to hold) one of the workspace's slots."""
    return and_(
        Job.kind == EXPORT_KIND,
        or_(Job.status == JobStatus.PROCESSING,
            and_(Job.status == JobStatus.QUEUED, Job.published_at.is_not(None))),
    )


def is_waiting() -> object:
    """Queued for a slot: never published, or handed back by the sweeper."""
    return and_(Job.kind == EXPORT_KIND, Job.status == JobStatus.QUEUED,
                Job.published_at.is_(None))


def dispatch(
    session: Session, publisher: Publisher, settings: Settings, workspace_id: str
) -> list[str]:
    """Publish the workspace's oldest waiting exports into its free slots; their ids.

    Commits the session's transaction (the caller's pending work included) before and after.
    """
    session.commit()
    lock_exports(session, workspace_id)
    active = session.scalar(
        select(func.count()).select_from(Job).where(Job.workspace_id == workspace_id,
                                                    is_active())) or 0
    room = settings.export_max_processing_per_workspace - active
    published: list[str] = []
    if room > 0:
        waiting = list(session.scalars(
            select(Job).where(Job.workspace_id == workspace_id, is_waiting())
            .order_by(Job.created_at, Job.id).limit(room)))
        for job in waiting:
            job.published_at = func.now()
            session.flush()
            if not try_publish(publisher, job):
                job.published_at = None  # the broker is down: the sweeper tries again
                session.flush()
                break
            published.append(job.id)
    session.commit()  # ends the lock
    if published:
        log.info("exports of %s published: %s", workspace_id, ", ".join(published))
    return published


def dispatch_waiting(session: Session, publisher: Publisher, settings: Settings) -> int:
    """For the sweeper: fill the free slots of every workspace with waiting exports."""
    workspaces = list(session.scalars(
        select(Job.workspace_id).where(is_waiting(), Job.workspace_id.is_not(None)).distinct()))
    session.commit()
    return sum(len(dispatch(session, publisher, settings, workspace_id))
               for workspace_id in workspaces if workspace_id is not None)


def after_run(session: Session, publisher: Publisher, settings: Settings, job_id: str) -> None:
    """After an export's attempt: a finished one frees a slot for the next in line."""
    job = session.get(Job, job_id)
    if job is None or job.kind != EXPORT_KIND or job.workspace_id is None:
        return
    dispatch(session, publisher, settings, job.workspace_id)
