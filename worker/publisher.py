"""Publishes job messages by task name, so the API needs no task imports."""

from __future__ import annotations

from celery import Celery

RUN_JOB_TASK = "jobs.run"


class CeleryPublisher:
    def __init__(self, celery: Celery) -> None:
        self._celery = celery

    def __call__(self, job_id: str, queue: str) -> None:
        # retry=False: a down broker raises at once; the job row is the outbox.
        # time_limit/soft_time_limit=None: the message carries no time limits, so the
        # consuming worker's TASK_*_TIME_LIMIT_SECONDS decide, as the runner's and the
        # sweeper's time-out handling assume. Since Celery 5.7, send_task() stamps the
        # publisher's own limits into the message (which a worker obeys over its settings)
        # whenever this process has the task registered: a worker republishing, the API
        # once anything imported the task modules. An explicit None clears them.
        self._celery.send_task(RUN_JOB_TASK, args=[job_id], queue=queue, retry=False,
                               time_limit=None, soft_time_limit=None)
