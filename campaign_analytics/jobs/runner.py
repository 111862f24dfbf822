"""Runs one attempt of a job: claim, keep the lease alive, call the handler, record the end.

Celery only carries the job id; everything a retry or a crash needs to know is on the row.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
from dataclasses import dataclass
from typing import Any

from ..db import Database
from ..logs.context import log_context
from ..settings import Settings
from . import store
from .catalog import get_kind
from .context import JobContext
from .errors import JobCanceled, JobFailure, JobHandedBack, classify

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 2.0


@dataclass(frozen=True)
class Outcome:
    """What the task should do next: nothing, or publish the job again after ``retry_in`` s.

    ``kind`` and ``result`` (the handler's, when it completed) are for metrics and logs.
    """

    status: str
    retry_in: float | None = None
    kind: str | None = None
    result: dict[str, Any] | None = None


class _Heartbeat(threading.Thread):
    """Extends the lease every third of it, so a long single statement keeps the job alive,
    and passes on what it learns: the job was lost, or must be handed back."""

    def __init__(self, ctx: JobContext) -> None:
        super().__init__(name=f"heartbeat-{ctx.job_id}", daemon=True)
        self._ctx = ctx
        self._stopping = threading.Event()
        self._log_fields = contextvars.copy_context()  # its lines carry the job's ids too

    def run(self) -> None:
        self._log_fields.run(self._beat)

    def _beat(self) -> None:
        ctx = self._ctx
        while not self._stopping.wait(ctx.lease_seconds / 3):
            try:
                with ctx.db.sessions() as session:
                    lease = store.heartbeat(session, ctx.job_id, ctx.attempt, ctx.lease_seconds)
            except Exception as exc:  # the database blinked; the next beat tries again
                log.warning("heartbeat for %s failed: %s", ctx.job_id, exc)
                continue
            if lease is store.Lease.LOST:
                ctx.lost = True
                self._interrupt("is no longer attempt %d's")
                return
            if lease is store.Lease.HAND_BACK and not ctx.handing_back:
                ctx.handing_back = True  # keep beating: the job stays ours until released
                self._interrupt("is handed back by attempt %d (the worker is stopping)")

    def _interrupt(self, why: str) -> None:
        ctx = self._ctx
        if ctx.interrupt is not None:
            log.info("job %s " + why + ": interrupting it", ctx.job_id, ctx.attempt)
            ctx.interrupt()

    def stop(self) -> bool:
        """Stop beating; True once the thread has ended (it can write nothing more)."""
        self._stopping.set()
        self.join(timeout=5)
        return not self.is_alive()


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
    with log_context(job_kind=claim.kind, attempt=claim.attempt):
        return _attempt(db, settings, claim, time_limit_errors)


def _attempt(
    db: Database, settings: Settings, claim: store.Claim,
    time_limit_errors: tuple[type[BaseException], ...],
) -> Outcome:
    ctx = JobContext(
        db, claim.job_id, claim.kind, claim.workspace_id, claim.params, claim.attempt,
        settings.job_lease_seconds,
    )
    heartbeat = _Heartbeat(ctx)
    heartbeat.start()
    result: dict[str, Any] | None = None
    error: BaseException | None = None
    try:
        result = get_kind(claim.kind).handler(ctx)
    except time_limit_errors as exc:
        error = exc
    except Exception as exc:
        error = exc
    finally:
        quiet = heartbeat.stop()
    if error is None:
        return _complete(db, claim, result)
    return _ended(db, settings, ctx, claim, error, quiet=quiet,
                  timed_out=isinstance(error, time_limit_errors))


def _complete(db: Database, claim: store.Claim, result: dict[str, Any] | None) -> Outcome:
    with db.sessions() as session:
        completed = store.complete(session, claim.job_id, claim.attempt, result)
    if not completed:
        log.info("job %s attempt %d finished after being superseded or canceled; discarded",
                 claim.job_id, claim.attempt)
        return Outcome("superseded", kind=claim.kind)
    log.info("job %s (%s) completed on attempt %d", claim.job_id, claim.kind, claim.attempt)
    return Outcome("completed", kind=claim.kind, result=result)


def _ended(
    db: Database, settings: Settings, ctx: JobContext, claim: store.Claim,
    error: BaseException, *, quiet: bool, timed_out: bool,
) -> Outcome:
    """An attempt that raised: canceled, handed back, timed out or failed. An interrupted
    statement's error counts as the reason it was interrupted for."""
    if ctx.lost or (isinstance(error, JobCanceled) and not isinstance(error, JobHandedBack)):
        log.info("job %s attempt %d stopped: canceled or taken over",
                 claim.job_id, claim.attempt)
        return Outcome("canceled", kind=claim.kind)
    if ctx.handing_back:
        return _hand_back(db, claim, refund=quiet)
    if timed_out:
        failure = JobFailure(
            "TIME_LIMIT_EXCEEDED",
            f"The job ran longer than {settings.task_soft_time_limit_seconds} seconds",
            recoverable=False,
        )
        return _record_failure(db, settings, claim, failure)
    return _record_failure(db, settings, claim, classify(error))


def _hand_back(db: Database, claim: store.Claim, *, refund: bool) -> Outcome:
    with db.sessions() as session:
        released = store.hand_back(session, claim.job_id, claim.attempt, refund=refund)
    if not released:
        log.info("job %s attempt %d stopped for shutdown but no longer owned it",
                 claim.job_id, claim.attempt)
        return Outcome("canceled", kind=claim.kind)
    log.info("job %s handed back by attempt %d: its worker is shutting down",
             claim.job_id, claim.attempt)
    return Outcome("handed_back", retry_in=0.0, kind=claim.kind)


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
            return Outcome("queued", retry_in=delay, kind=claim.kind)
        store.fail(session, claim.job_id, claim.attempt, failure.code, failure.message)
    log.warning("job %s failed on attempt %d: %s", claim.job_id, claim.attempt, failure.code)
    return Outcome("failed", kind=claim.kind)
