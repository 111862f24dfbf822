"""Runs one attempt of a job: claim, keep the lease alive, call the handler, record the end.

Celery only carries the job id; everything a retry or a crash needs to know is on the row.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass

from ..db import Database
from ..settings import Settings
from . import store
from .catalog import get_kind
from .context import JobContext
from .errors import JobCanceled, JobFailure, classify

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 2.0


@dataclass(frozen=True)
class Outcome:
    """What the task should do next: nothing, or publish a retry after ``retry_in`` s."""

    status: str
    retry_in: float | None = None


class _Heartbeat(threading.Thread):
    """Extends the lease every third of it, so a long single statement keeps the job alive."""

    def __init__(self, ctx: JobContext) -> None:
        super().__init__(name=f"heartbeat-{ctx.job_id}", daemon=True)
        self._ctx = ctx
        self._stopping = threading.Event()

    def run(self) -> None:
        ctx = self._ctx
        while not self._stopping.wait(ctx.lease_seconds / 3):
            try:
                with ctx.db.sessions() as session:
                    if not store.heartbeat(session, ctx.job_id, ctx.attempt, ctx.lease_seconds):
                        ctx.lost = True
                        if ctx.interrupt is not None:
                            log.info("job %s is no longer attempt %d's: interrupting it",
                                     ctx.job_id, ctx.attempt)
                            ctx.interrupt()
                        return
            except Exception as exc:  # the database blinked; the next beat tries again
                log.warning("heartbeat for %s failed: %s", ctx.job_id, exc)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)


def backoff_seconds(attempt: int, cap: int) -> float:
    """Exponential backoff, jittered to between half and all of the step."""
    return random.uniform(0.5, 1.0) * min(cap, RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def run(
    db: Database,
    settings: Settings,
    job_id: str,
    *,
    worker: str,
    time_limit_errors: tuple[type[BaseException], ...] = (),
) -> Outcome:
    with db.sessions() as session:
        claim = store.claim(session, job_id, worker, settings.job_lease_seconds,
                            settings.job_max_attempts)
    if claim is None:
        log.info("job %s is finished or held by another attempt; nothing to do", job_id)
        return Outcome("skipped")
    ctx = JobContext(
        db, claim.job_id, claim.kind, claim.workspace_id, claim.params, claim.attempt,
        settings.job_lease_seconds,
    )
    heartbeat = _Heartbeat(ctx)
    heartbeat.start()
    try:
        result = get_kind(claim.kind).handler(ctx)
    except JobCanceled:
        log.info("job %s attempt %d stopped: canceled or taken over", job_id, claim.attempt)
        return Outcome("canceled")
    except time_limit_errors:
        failure = JobFailure(
            "TIME_LIMIT_EXCEEDED",
            f"The job ran longer than {settings.task_soft_time_limit_seconds} seconds",
            recoverable=False,
        )
        return _record_failure(db, settings, claim, failure)
    except Exception as exc:
        if ctx.lost:  # the interrupted statement's error: the job is no longer ours
            log.info("job %s attempt %d stopped: canceled or taken over", job_id, claim.attempt)
            return Outcome("canceled")
        return _record_failure(db, settings, claim, classify(exc))
    finally:
        heartbeat.stop()
    with db.sessions() as session:
        completed = store.complete(session, job_id, claim.attempt, result)
    if not completed:
        log.info("job %s attempt %d finished after being superseded or canceled; discarded",
                 job_id, claim.attempt)
        return Outcome("superseded")
    log.info("job %s (%s) completed on attempt %d", job_id, claim.kind, claim.attempt)
    return Outcome("completed")


def _record_failure(
    db: Database, settings: Settings, claim: store.Claim, failure: JobFailure
) -> Outcome:
    with db.sessions() as session:
        if failure.recoverable and claim.attempt < settings.job_max_attempts:
            store.release_for_retry(
                session, claim.job_id, claim.attempt, failure.code, failure.message
            )
            delay = backoff_seconds(claim.attempt, settings.retry_backoff_max_seconds)
            log.warning("job %s attempt %d: %s; retrying in %.1fs",
                        claim.job_id, claim.attempt, failure.code, delay)
            return Outcome("queued", retry_in=delay)
        store.fail(session, claim.job_id, claim.attempt, failure.code, failure.message)
    log.warning("job %s failed on attempt %d: %s", claim.job_id, claim.attempt, failure.code)
    return Outcome("failed")
