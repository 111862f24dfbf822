"""Publishes job messages by task name, so the API needs no task imports."""

from __future__ import annotations

from celery import Celery

RUN_JOB_TASK = "jobs.run"


class CeleryPublisher:
    def __init__(self, celery: Celery) -> None:
        self._celery = celery

    def __call__(self, job_id: str, queue: str) -> None:
        # retry=False: a down broker raises at once; the job row is the outbox.
        self._celery.send_task(RUN_JOB_TASK, args=[job_id], queue=queue, retry=False)
