"""Publishing a job from the CLI: the same message the API sends (``worker.publisher``),
sent by a small Celery client, since the CLI never imports ``worker``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery
from kombu import Queue as KombuQueue

from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.jobs.outbox import Publisher
from campaign_analytics.settings import get_settings

from .stack import resolve_redis_url

# Pinned with the worker's name by tests/test_task_names.py.
RUN_JOB_TASK = "jobs.run"


def _no_broker(job_id: str, queue: str) -> None:
    raise ConnectionError("no REDIS_URL and no running dev stack")


@contextmanager
def command_publisher() -> Iterator[Publisher]:
    """Publishes to ``REDIS_URL`` (else the dev stack's). When it cannot, the job row stays
    queued and the sweeper publishes it once a beat and the broker are up."""
    redis_url = resolve_redis_url(get_settings())
    if redis_url is None:
        yield _no_broker
        return
    celery = Celery("campaign-analytics-cli", broker=redis_url, set_as_current=False)
    celery.conf.update(
        broker_connection_timeout=2, broker_transport_options={"socket_connect_timeout": 2},
        # The queues as the worker declares them (worker/config.py).
        task_queues=[KombuQueue(queue.value) for queue in Queue],
        task_create_missing_queues=False,
    )

    def publish(job_id: str, queue: str) -> None:
        celery.send_task(RUN_JOB_TASK, args=[job_id], queue=queue, retry=False)

    try:
        yield publish
    finally:
        celery.close()
