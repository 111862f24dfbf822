"""Prometheus metrics: request counts and latencies, and live job-queue gauges.

Under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` (``campaign-analytics up`` does) so every
worker process's counters are summed in one scrape.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Flask, Response, g, request
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


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _record(response: Response) -> Response:
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    started = g.get("request_started")
    if started is not None:
        LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
    return response


def render(db: Database, multiprocess_mode: bool) -> Response:
    registry = CollectorRegistry()
    if multiprocess_mode:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(JobQueueCollector(db))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_record)
