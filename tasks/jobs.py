"""The one task that runs any job kind; the kind's queue was chosen when it was published.

Every line logged while it runs carries the job's id and the Celery task's id; each run
is counted and timed by kind and outcome (``worker/metrics.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import DBAPIError

from campaign_analytics.db import is_unavailable
from campaign_analytics.exports import dispatch
from campaign_analytics.jobs import runner
from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.logs.context import log_context
from campaign_analytics.webhooks.events import event_of
from worker import metrics
from worker.schedule import DELIVER_WEBHOOKS_TASK

from .runtime import database, publisher, settings

logger = logging.getLogger(__name__)


@shared_task(name="jobs.run", bind=True)
def run_job(self: Any, job_id: str) -> str:
    config = settings()
    with log_context(job_id=job_id, task_id=self.request.id):
        started = time.monotonic()
        try:
            outcome = runner.run(
                database(), config, job_id,
                worker=self.request.hostname or "worker",
                time_limit_errors=(SoftTimeLimitExceeded,),
            )
        except DBAPIError as exc:  # the database is away before the job could be claimed
            if not is_unavailable(exc):
                raise
            delay = runner.backoff_seconds(self.request.retries + 1,
                                           config.retry_backoff_max_seconds)
            raise self.retry(exc=exc, countdown=delay,
                             max_retries=config.job_max_attempts) from exc
        metrics.record_run(outcome.kind, outcome.status, time.monotonic() - started)
        if outcome.kind == dispatch.EXPORT_KIND:
            if outcome.result is not None:
                metrics.record_export(outcome.result)
            _next_export(job_id)
        if outcome.kind and event_of(outcome.kind, outcome.status):
            _deliver_webhooks_now(self.app)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.status


def _next_export(job_id: str) -> None:
    """A finished export frees its workspace's slot: publish the next one now rather than
    at the next sweep. Best effort: the sweeper does it anyway."""
    try:
        with database().sessions() as session:
            dispatch.after_run(session, publisher(), settings(), job_id)
    except Exception as exc:  # never fail the finished job for this
        logger.warning("dispatching after %s failed; the sweeper will: %s", job_id, exc)


def _deliver_webhooks_now(app: Any) -> None:
    """The outcome may have queued webhook deliveries: tick now rather than within
    ``WEBHOOK_TICK_SECONDS``. Best effort: beat's tick delivers them anyway."""
    try:
        app.send_task(DELIVER_WEBHOOKS_TASK, queue=Queue.MAINTENANCE.value,
                      expires=settings().webhook_tick_seconds)
    except Exception as exc:  # the broker blinked; never fail the finished job for this
        logger.warning("publishing a webhook tick failed; beat's tick will deliver: %s", exc)
