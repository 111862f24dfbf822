"""Job metrics: recorded by the worker processes that run the jobs, served by the worker's
main process.

Celery's prefork children cannot each be scraped, so they record into
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) and, with
``WORKER_METRICS_PORT`` set, the main process serves the sum of that directory at
``http://<host>:<port>/metrics``. Under ``campaign-analytics up`` the API and the worker
share one directory, so the API's ``/metrics`` shows these as well. docs/operations.md
lists every metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery.signals import worker_init
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

from campaign_analytics.settings import Settings

# Jobs last from milliseconds (a skipped duplicate) to the hour of the hard time limit.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# A run that never claimed its job (``skipped``) does not learn the job's kind.
UNKNOWN_KIND = "unknown"

JOB_RUNS = Counter(
    "job_runs_total", "Job attempts run by workers, by kind and how the attempt ended",
    ["kind", "outcome"],
)
JOB_DURATION = Histogram(
    "job_run_duration_seconds", "Wall time of one job attempt in a worker (jobs.run)",
    ["kind", "outcome"], buckets=DURATION_BUCKETS,
)
EXPORT_BYTES = Counter(
    "export_bytes_total", "Bytes of completed export files",
    ["export_type", "format", "compression"],
)
EXPORT_ROWS = Counter(
    "export_rows_total", "Rows written to completed export files",
    ["export_type", "format", "compression"],
)


def record_run(kind: str | None, outcome: str, seconds: float) -> None:
    labels = (kind or UNKNOWN_KIND, outcome)
    JOB_RUNS.labels(*labels).inc()
    JOB_DURATION.labels(*labels).observe(seconds)


def record_export(result: Mapping[str, Any]) -> None:
    """A completed export's file, from the export handler's result."""
    labels = (result["export_type"], result["format"], result["compression"])
    EXPORT_BYTES.labels(*labels).inc(result["file_size"])
    EXPORT_ROWS.labels(*labels).inc(result["row_count"])


def serve_from_the_main_process(settings: Settings) -> None:
    """With ``WORKER_METRICS_PORT`` set, the worker's main process serves its children's
    metrics once it starts (not beat, not Flower: only workers send ``worker_init``)."""
    port = settings.worker_metrics_port
    if port is None:
        return

    def serve(**_: Any) -> None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(port, registry=registry)

    worker_init.connect(serve, weak=False)
