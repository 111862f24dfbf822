"""Prometheus metrics of the API: request counts and latencies, and gauges read at scrape
time — unfinished jobs from PostgreSQL, waiting messages from Redis.

Under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` (``campaign-analytics up`` does) so every
worker process's counters are summed in one scrape. Job runs and exports are counted by
the Celery workers (``worker/metrics.py``). docs/operations.md lists every metric.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from flask import Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from campaign_analytics.db import Database
from campaign_analytics.jobs import store
from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.settings import Settings

from .request_logging import elapsed_seconds, route

REQUESTS = Counter(
    "http_requests_total", "HTTP requests", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["method", "endpoint"]
)


class JobQueueCollector(Collector):
    """Reads unfinished jobs from PostgreSQL at scrape time: the truth, not a cached guess."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("jobs_unfinished", "Queued and processing jobs",
                                 labels=["kind", "status"])
        oldest = GaugeMetricFamily("jobs_oldest_unfinished_age_seconds",
                                   "Age of the oldest unfinished job", labels=["kind", "status"])
        try:
            with self._db.sessions() as session:
                summary = store.unfinished_summary(session)
        except Exception:
            summary = []
        for kind, status, count, age in summary:
            jobs.add_metric([kind, status], count)
            oldest.add_metric([kind, status], age)
        yield jobs
        yield oldest


class BrokerQueueCollector(Collector):
    """Messages waiting in each Celery queue: the length of its Redis list, read at scrape
    time (no priorities are used, so each queue is one list). Messages a worker already
    holds are not waiting; their jobs show as ``processing``."""

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting = GaugeMetricFamily("broker_queue_messages",
                                    "Messages waiting in each Celery queue", labels=["queue"])
        client = redis.Redis.from_url(self._redis_url, socket_connect_timeout=1, socket_timeout=1)
        try:
            with client.pipeline(transaction=False) as pipe:
                for queue in Queue:
                    pipe.llen(queue.value)
                lengths = pipe.execute()
        except (redis.RedisError, OSError):
            lengths = []  # Redis is away: no samples, /readyz tells why
        finally:
            client.close()
        for queue, length in zip(Queue, lengths, strict=False):
            waiting.add_metric([queue.value], length)
        yield waiting


def _record(response: Response) -> Response:
    endpoint = route()
    REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    seconds = elapsed_seconds()
    if seconds is not None:
        LATENCY.labels(request.method, endpoint).observe(seconds)
    return response


def render(db: Database, multiprocess_mode: bool) -> Response:
    registry = CollectorRegistry()
    if multiprocess_mode:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(JobQueueCollector(db))
    settings: Settings = current_app.extensions["settings"]
    registry.register(BrokerQueueCollector(settings.require_redis_url()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Requests are timed from ``request_logging``'s start, so it is set up first."""
    app.after_request(_record)
