"""Exports on real Celery worker processes: the per-workspace cap and fairness, and a DELETE
that stops a running export within seconds and leaves nothing behind."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from campaign_analytics.db import Database
from campaign_analytics.models import Job
from tests.exports.big import BIG, request_export, tenant_with_events
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow


def jobs(db: Database, ids: list[str]) -> dict[str, Job]:
    with db.sessions() as session:
        return {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(ids)))}


def most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    """The largest number of [start, end) intervals that overlap."""
    edges = sorted(itertools.chain.from_iterable(((start, 1), (end, -1)) for start, end in spans),
                   key=lambda edge: (edge[0], edge[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_five_exports_run_three_at_a_time_and_another_workspace_goes_at_once(
    export_app: Flask, db: Database, worker_env: dict[str, str], celery_processes: Any
) -> None:
    client = export_app.test_client()
    busy = tenant_with_events(client, db, BIG)
    quiet = tenant_with_events(client, db, 1_000)
    for number in range(4):
        celery_processes("worker", worker_env, name=f"exporter{number}")

    mine = [request_export(busy) for _ in range(5)]
    theirs = request_export(quiet)
    assert load(db, theirs).published_at is not None  # not held back by the busy workspace
    waiting = jobs(db, mine)
    assert sum(job.published_at is not None for job in waiting.values()) == 3

    peak_processing = 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        current = jobs(db, [*mine, theirs])
        processing = sum(current[job_id].status == "processing" for job_id in mine)
        peak_processing = max(peak_processing, processing)
        if all(job.status in ("completed", "failed") for job in current.values()):
            break
        time.sleep(0.05)
    done = jobs(db, [*mine, theirs])
    assert {job.status for job in done.values()} == {"completed"}, {
        job.id: (job.status, job.error_message) for job in done.values()}
    assert peak_processing <= 3
    spans = [(done[job_id].started_at, done[job_id].finished_at) for job_id in mine]
    assert most_at_once(spans) == 3, spans  # the cap was reached, and never passed
    other = done[theirs]
    assert other.started_at is not None and other.finished_at is not None
    # The quiet workspace's export did not wait for the busy one's queue to drain.
    assert other.started_at < max(start for start, _ in spans)  # type: ignore[type-var]
    assert other.finished_at < max(end for _, end in spans)  # type: ignore[type-var]


def test_delete_stops_a_running_export_and_leaves_nothing(
    export_app: Flask, db: Database, worker_env: dict[str, str], celery_processes: Any,
    export_dir: Path
) -> None:
    client = export_app.test_client()
    tenant = tenant_with_events(client, db, BIG)
    worker = celery_processes("worker", worker_env)
    export_id = request_export(tenant)

    def running() -> bool:
        job = load(db, export_id)
        return job.status == "processing" and (job.progress or {}).get("rows_written", 0) > 0

    wait_until(running, 60, "the export to start writing", interval=0.05)
    response = client.delete(f"{tenant.prefix}/analytics/exports/{export_id}",
                             headers=tenant.headers)
    assert response.status_code == 200
    assert response.get_json()["data"]["status"] == "canceled"
    canceled_at = time.monotonic()
    wait_until(lambda: f"job {export_id} attempt 1 stopped" in worker.log(), 15, worker.log())
    assert time.monotonic() - canceled_at < 10
    time.sleep(1)
    job = load(db, export_id)
    assert job.status == "canceled" and job.file_key is None
    left = [path for path in export_dir.rglob("*") if path.is_file()]
    assert left == []
    status = tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert status["status"] == "canceled" and status["download_url"] is None
