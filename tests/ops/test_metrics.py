"""``/metrics`` of the API and of a worker show what operators alert on: waiting messages,
unfinished jobs, job runs by kind and outcome, their durations, export bytes and rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import ValidationError

from campaign_analytics.db import Database
from campaign_analytics.exports.spec import Compression, ExportFormat, ExportType
from campaign_analytics.jobs import outbox
from campaign_analytics.settings import Settings
from tests.conftest import Tenant, free_port
from tests.exports.conftest import params
from tests.exports.seed import seed
from tests.jobs.helpers import load, wait_until
from tests.ops.helpers import parse_metrics, sample, scrape


def test_the_api_shows_waiting_messages_and_unfinished_jobs(
    client: FlaskClient, tenant: Tenant, quiet_queues: None,
) -> None:
    before = parse_metrics(client.get("/metrics").get_data(as_text=True))
    assert {before[sample("broker_queue_messages", queue=queue)]
            for queue in ("exports", "analytics", "maintenance")} == {0.0}

    for _ in range(2):  # no worker runs: the messages wait in Redis
        assert tenant.post("/jobs/diagnostics", json={"steps": 1}).status_code == 202
    after = parse_metrics(client.get("/metrics").get_data(as_text=True))
    assert after[sample("broker_queue_messages", queue="maintenance")] == 2
    assert after[sample("jobs_unfinished", kind="diagnostic", status="queued")] == 2
    assert after[sample("jobs_oldest_unfinished_age_seconds",
                        kind="diagnostic", status="queued")] >= 0
    requests_seen = after[sample("http_requests_total", method="POST", status="202",
                                 endpoint="/api/v1/workspaces/<workspace_id>/jobs/diagnostics")]
    assert requests_seen >= 2


def test_a_worker_metrics_port_needs_a_multiprocess_directory(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PROMETHEUS_MULTIPROC_DIR"):
        Settings(worker_metrics_port=9191)
    assert Settings(worker_metrics_port=9191, prometheus_multiproc_dir=tmp_path)


@pytest.mark.slow
def test_a_worker_serves_job_runs_durations_and_export_sizes(
    app: Flask, tenant: Tenant, db: Database, tmp_path: Path, process_env: dict[str, str],
    celery_processes: Any,
) -> None:
    metrics_dir, port = tmp_path / "prometheus", free_port()
    metrics_dir.mkdir()
    celery_processes("worker", {
        **process_env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "WORKER_METRICS_PORT": str(port), "STORAGE_URL": f"file://{tmp_path / 'files'}",
    })
    diagnostic = tenant.post("/jobs/diagnostics", json={"steps": 1}).get_json()["data"]["job_id"]
    seeded = seed(db)
    export_params = params(ExportType.REPLIES, ExportFormat.CSV, compression=Compression.GZIP)
    with db.sessions() as session:
        export = outbox.submit(session, app.extensions["job_publisher"], kind="export",
                               workspace_id=seeded.workspace_id,
                               params=export_params.to_params()).id
    for job_id in (diagnostic, export):
        wait_until(lambda job_id=job_id: load(db, job_id).status == "completed", 60,
                   f"{job_id} did not complete: {vars(load(db, job_id))}")

    metrics = scrape(f"http://127.0.0.1:{port}/metrics")
    for kind in ("diagnostic", "export"):
        assert metrics[sample("job_runs_total", kind=kind, outcome="completed")] == 1
        timed = sample("job_run_duration_seconds_count", kind=kind, outcome="completed")
        assert metrics[timed] == 1
        assert metrics[sample("job_run_duration_seconds_sum", kind=kind, outcome="completed")] > 0
    done = load(db, export)
    labels = {"export_type": "replies", "format": "csv", "compression": "gzip"}
    assert done.file_size and done.row_count
    assert metrics[sample("export_bytes_total", **labels)] == done.file_size
    assert metrics[sample("export_rows_total", **labels)] == done.row_count
